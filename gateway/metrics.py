"""The gateway's counters, in one object every flow is given and ``/metrics`` reads.

Each flow counts what it did (a part sent, a report received, a webhook given up) here rather
than in counters of its own, so the observer reads one object and no flow needs to know who
looks. Counters count from the gateway's start, as Prometheus expects (it sees a restart as a
reset). Gauges (a modem's state, the queue) are not here: they are read where they live.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Metrics:
    # --- a message out (the dispatcher) -------------------------------------------------------
    parts_sent: Counter[str] = field(default_factory=Counter)  # by modem
    refusals: Counter[tuple[str, int | None]] = field(default_factory=Counter)  # modem, +CMS
    expired: int = 0  # messages failed with 30036: not sent within their validity period

    routed: int = 0  # Messaging Service messages given a sender
    moved: int = 0  # service messages moved off a modem that stayed away (failover)

    # --- a message in, a delivery report (the receiver) ----------------------------------------
    parts_received: Counter[str] = field(default_factory=Counter)  # committed, by modem
    duplicates: int = 0  # parts and reports read again (not committed twice)
    reports: Counter[str] = field(default_factory=Counter)  # status reports committed, by modem
    unmatched_reports: int = 0  # of them, matching no part
    # A modem said a storage is full (+CMS ERROR: 322, ^SMMEMFULL...), by modem.
    storage_full: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)  # voice calls that rang, by modem
    reports_given_up: int = 0  # sent messages no longer waiting for a report (report_timeout)
    messages_pruned: int = 0  # finished messages deleted by the retention policy

    # --- webhooks (the sender) -----------------------------------------------------------------
    webhooks_delivered: int = 0  # the receiver took it (2xx)
    webhook_retries: int = 0  # an attempt failed and another is scheduled
    webhook_give_ups: int = 0  # the last attempt failed

    # --- HTTP (the API's middleware) -----------------------------------------------------------
    # Requests answered, by (route, method, status).
    http_requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)

    @property
    def received(self) -> int:
        """Inbound parts committed, from every modem."""
        return sum(self.parts_received.values())

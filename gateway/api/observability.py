"""``GET /healthz`` and ``GET /metrics``: what a person or a monitoring system asks of a
gateway left alone in a cupboard.

``/healthz`` answers 200 when the gateway can do its job (the database answers and takes a
commit, every long-lived task runs, and at least one modem is in service) and 503 otherwise,
with the reasons, so that a supervisor or a load balancer can act on it; it turns 200 again by
itself once the cause is gone. ``/metrics`` is the Prometheus text format (version 0.0.4): per modem
its state, signal, registration, the use of each storage, parts sent, refusals by ``+CMS ERROR``
code, reports, parts received and recoveries; the queue by status; webhook deliveries, retries and
give-ups, deliveries under way (in all and by destination) and destinations at their limit;
HTTP requests by route, method and status; the system clock (synchronised, jumps). Counters count
from the gateway's start, as Prometheus expects (it sees the restart as a reset).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from drivers import Network, rssi_dbm
from gateway.api.connections import ConnectionGuard
from gateway.clock_state import JUMP_TOLERANCE, ClockWatcher, clock_json
from gateway.domain.errors import StoreError
from gateway.metrics import Metrics
from gateway.modems.pool import ModemPool
from gateway.modems.supervisor import ModemHandle, ModemState
from gateway.outbound.quotas import Quotas
from gateway.store import QueueHealth
from gateway.tasks import Tasks
from gateway.webhooks.sender import WebhookSender

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_QUEUE_STATUSES: Final = ("accepted", "scheduled", "queued", "sending")
UNMATCHED: Final = "unmatched"  # the route label (and route name) of a request no route takes


def counting(metrics: Metrics) -> Middleware:
    """The middleware that counts each answer by (route, method, status)."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        resource = request.match_info.route.resource
        matched = resource is not None and resource.name != UNMATCHED
        route = resource.canonical if resource is not None and matched else UNMATCHED
        metrics.http_requests[route, request.method, response.status] += 1
        return response

    return count


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Observability:
    """What ``/healthz`` and ``/metrics`` read: the counters (:class:`Metrics`), and the
    gauges where they live (the modems, the queue in the store, the webhook sender's flights,
    the tasks, the HTTP connections)."""

    store: QueueHealth
    modems: ModemPool
    webhooks: WebhookSender
    counters: Metrics
    tasks: Tasks = field(default_factory=Tasks)
    connections: ConnectionGuard | None = None
    quotas: Quotas | None = None  # what each modem's plan caps have used
    clock: ClockWatcher | None = None  # the system clock's state and jumps (issue 20)

    async def health(self) -> tuple[bool, dict[str, object]]:
        reasons: list[str] = []
        try:
            queue = await self.store.queue_counts()
        except StoreError as exc:
            queue = {}
            reasons.append(f"the database does not answer: {exc}")
        trouble = await self.store.health()
        if trouble is not None:
            reasons.append(f"the database cannot commit: {trouble}")
        reasons += [
            f"task {name} is down, restarting: {error}" for name, error in self.tasks.down.items()
        ]
        modems = {}
        for handle in self.modems.handles.values():
            modems[handle.id] = {"state": handle.state.value, "error": handle.error}
        ready = [h for h in self.modems.handles.values() if h.state is ModemState.READY]
        if self.modems.handles and not ready:
            states = ", ".join(
                f"{h.id} {h.state.value}" + (f" ({h.error})" if h.error else "")
                for h in self.modems.handles.values()
            )
            reasons.append(f"no modem is in service: {states}")
        ok = not reasons
        body: dict[str, object] = {
            "status": "ready" if ok else "not ready",
            "reasons": reasons,
            "modems": modems,
            "queue": queue,
            # Told, not judged: an unsynchronised clock does not stop the gateway's work (a Pi
            # in a cupboard may never reach an NTP server), so it leaves the verdict alone.
            "clock": clock_json(self.clock),
        }
        return ok, body

    async def metrics(self) -> str:
        lines: list[str] = []
        handles = list(self.modems.handles.values())

        def family(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{_labels(labels)} {value}" for value, labels in samples)

        def per_modem(name: str, kind: str, help_text: str, values: Mapping[str, object]) -> None:
            """One sample per modem that has a value (``values`` by modem id)."""
            samples = [(values[h.id], {"modem": h.id}) for h in handles if h.id in values]
            family(name, kind, help_text, samples)

        per_modem(
            "smsgw_modem_up",
            "gauge",
            "1 when the modem is in service (registered and answering).",
            {h.id: int(h.state is ModemState.READY) for h in handles},
        )
        family(
            "smsgw_modem_state",
            "gauge",
            "1 for the state the modem is in.",
            (
                (int(h.state is state), {"modem": h.id, "state": state.value})
                for h in handles
                for state in ModemState
            ),
        )
        rssi = {h.id: value for h in handles if (value := _rssi(h)) is not None}
        dbm = {m: value for m, r in rssi.items() if (value := rssi_dbm(r)) is not None}
        health = {h.id: h.health for h in handles if h.health is not None}
        per_modem("smsgw_modem_signal_rssi", "gauge", "AT+CSQ <rssi> (0-31, 99 unknown).", rssi)
        per_modem("smsgw_modem_signal_dbm", "gauge", "Signal strength in dBm.", dbm)
        per_modem(
            "smsgw_modem_registration",
            "gauge",
            "+CREG/+CEREG <stat> at the last health check (1 home, 5 roaming).",
            {m: c.registration.stat for m, c in health.items() if c.registration is not None},
        )
        # Each storage AT+CPMS? told of at the last health check (SM, ME, SR...): a storage
        # of reports fills while the one new messages go to stays empty (issue 17).
        storages = [(m, use) for m, c in health.items() for use in c.storages]
        family(
            "smsgw_modem_storage_used",
            "gauge",
            "Messages (or reports) in each of the modem's storages, at the last health check.",
            ((use.used, {"modem": m, "storage": use.storage}) for m, use in storages),
        )
        family(
            "smsgw_modem_storage_total",
            "gauge",
            "Capacity of each of the modem's storages.",
            ((use.total, {"modem": m, "storage": use.storage}) for m, use in storages),
        )
        every = {h.id: 0 for h in handles}  # a counter shows 0 for a modem that did nothing yet
        per_modem(
            "smsgw_modem_parts_sent_total",
            "counter",
            "SMS parts the modem's network accepted.",
            every | self.counters.parts_sent,
        )
        family(
            "smsgw_modem_refusals_total",
            "counter",
            "Parts refused with +CMS ERROR, by code.",
            (
                (count, {"modem": modem, "code": str(code)})
                for (modem, code), count in sorted(self.counters.refusals.items(), key=str)
            ),
        )
        per_modem(
            "smsgw_modem_reports_total",
            "counter",
            "Delivery reports received.",
            every | self.counters.reports,
        )
        per_modem(
            "smsgw_modem_storage_full_total",
            "counter",
            "Times the modem said a message storage was full (each emptied at once).",
            every | self.counters.storage_full,
        )
        per_modem(
            "smsgw_modem_parts_received_total",
            "counter",
            "Inbound SMS parts received (duplicates not counted).",
            every | self.counters.parts_received,
        )
        per_modem(
            "smsgw_modem_calls_total",
            "counter",
            "Voice calls that rang the modem (each hung up, or left to ring: hangup_calls).",
            every | self.counters.calls,
        )
        per_modem(
            "smsgw_modem_recoveries_total",
            "counter",
            "Times the modem was brought back into service.",
            {h.id: h.recoveries for h in handles},
        )
        self._sim_families(handles, family, per_modem)
        try:
            queue = await self.store.queue_counts()
        except StoreError:
            queue = {}
        family(
            "smsgw_messages",
            "gauge",
            "Outbound messages not yet sent, by status.",
            ((queue.get(status, 0), {"status": status}) for status in _QUEUE_STATUSES),
        )
        totals = (
            (
                "smsgw_messages_expired_total",
                "Messages failed for their validity period (30036).",
                self.counters.expired,
            ),
            (
                "smsgw_reports_given_up_total",
                "Sent messages whose delivery report did not come within report_timeout.",
                self.counters.reports_given_up,
            ),
            (
                "smsgw_messages_pruned_total",
                "Finished messages deleted because they were older than retention_days.",
                self.counters.messages_pruned,
            ),
            (
                "smsgw_webhook_deliveries_total",
                "Webhooks the receiver took (2xx).",
                self.counters.webhooks_delivered,
            ),
            (
                "smsgw_webhook_retries_total",
                "Webhook attempts that failed and were scheduled again.",
                self.counters.webhook_retries,
            ),
            (
                "smsgw_webhook_give_ups_total",
                "Webhooks given up after their last attempt.",
                self.counters.webhook_give_ups,
            ),
        )
        for name, help_text, value in totals:
            family(name, "counter", help_text, [(value, {})])
        self._webhook_gauges(family)
        self._clock_families(family)
        family(
            "smsgw_task_restarts_total",
            "counter",
            "Times a long-lived task failed and was started again, by task.",
            ((count, {"task": task}) for task, count in sorted(self.tasks.restarts.items())),
        )
        family(
            "smsgw_task_down",
            "gauge",
            "1 while a failed task waits to be started again.",
            ((1, {"task": task}) for task in sorted(self.tasks.down)),
        )
        family(
            "smsgw_http_requests_total",
            "counter",
            "HTTP requests answered, by route, method and status.",
            (
                (count, {"route": route, "method": method, "status": str(status)})
                for (route, method, status), count in sorted(self.counters.http_requests.items())
            ),
        )
        if self.connections is not None:
            self._connection_families(self.connections, family)
        return "\n".join(lines) + "\n"

    def _sim_families(
        self, handles: Sequence[ModemHandle], family: Family, per_modem: PerModem
    ) -> None:
        """What each SIM is on and has: its network, SMSC, lock, balance and plan caps."""
        networks = {h.id: network for h in handles if (network := _network(h)) is not None}
        per_modem(
            "smsgw_modem_roaming",
            "gauge",
            "1 when the modem is registered on a visited network (+CREG <stat> 5).",
            {m: int(n.roaming) for m, n in networks.items() if n.registered},
        )
        family(
            "smsgw_modem_network_info",
            "gauge",
            "1, labelled with the network the modem is on: operator (AT+COPS long name), "
            "mcc_mnc, technology (TS 27.007 <AcT>).",
            (
                (
                    1,
                    {
                        "modem": m,
                        "operator": n.operator or "",
                        "mcc_mnc": n.code or "",
                        "technology": n.technology or "",
                    },
                )
                for m, n in networks.items()
                if n.registered
            ),
        )
        infos = {h.id: h.modem.info for h in handles if h.modem is not None and h.modem.info}
        family(
            "smsgw_modem_smsc_info",
            "gauge",
            "1, labelled with the SMSC the modem sends through (AT+CSCA).",
            ((1, {"modem": m, "smsc": i.smsc}) for m, i in infos.items() if i.smsc),
        )
        sims = {h.id: h.sim for h in handles if h.sim is not None}
        family(
            "smsgw_modem_sim_state",
            "gauge",
            "1 for the state the SIM was last found in (ready, missing, pin_required, ...).",
            ((1, {"modem": m, "state": sim.state}) for m, sim in sims.items()),
        )
        per_modem(
            "smsgw_modem_sim_pin_attempts",
            "gauge",
            "PIN tries the SIM has left, where the modem says.",
            {m: sim.pin_attempts for m, sim in sims.items() if sim.pin_attempts is not None},
        )
        per_modem(
            "smsgw_modem_sim_puk_attempts",
            "gauge",
            "PUK tries the SIM has left, where the modem says.",
            {m: sim.puk_attempts for m, sim in sims.items() if sim.puk_attempts is not None},
        )
        per_modem(
            "smsgw_modem_balance",
            "gauge",
            "The SIM's balance as balance_ussd last read it.",
            {m: w.latest.value for m, w in self.modems.balances.items() if w.latest is not None},
        )
        if self.quotas is not None:
            caps = [(h.id, cap) for h in handles for cap in self.quotas.standing(h.config)]
            family(
                "smsgw_modem_quota_used",
                "gauge",
                "What the modem's plan cap counts in its current period: parts (day, month) "
                "or distinct recipients (recipients, per month).",
                ((cap.used, {"modem": m, "period": cap.period}) for m, cap in caps),
            )
            family(
                "smsgw_modem_quota_limit",
                "gauge",
                "The modem's plan cap for the period (daily_limit, monthly_limit, "
                "monthly_recipients).",
                ((cap.limit, {"modem": m, "period": cap.period}) for m, cap in caps),
            )

    def _clock_families(self, family: Family) -> None:
        state = self.clock.state if self.clock is not None else None
        family(
            "smsgw_clock_synchronised",
            "gauge",
            "1 when the system clock is synchronised (timesyncd, or adjtimex), 0 when not; "
            "absent when unknown.",
            [(int(state.synchronised), {})]
            if state is not None and state.synchronised is not None
            else [],
        )
        family(
            "smsgw_clock_jumps_total",
            "counter",
            "Times the wall clock jumped (disagreed with the monotonic clock by over "
            f"{JUMP_TOLERANCE:g} s).",
            [(self.clock.jumps if self.clock is not None else 0, {})],
        )

    @staticmethod
    def _connection_families(guard: ConnectionGuard, family: Family) -> None:
        family("smsgw_http_connections", "gauge", "Open HTTP connections.", [(guard.open, {})])
        family(
            "smsgw_http_connections_limit",
            "gauge",
            "HTTP connections open at once at most (max_connections).",
            [(guard.limits.max_connections, {})],
        )
        family(
            "smsgw_http_connections_evicted_total",
            "counter",
            "Idle HTTP connections closed to make room for a new one.",
            [(guard.evicted, {})],
        )
        family(
            "smsgw_http_connections_refused_total",
            "counter",
            "New HTTP connections refused (503): every connection was answering a request.",
            [(guard.refused, {})],
        )
        family(
            "smsgw_http_timeouts_total",
            "counter",
            "HTTP connections closed for a timeout, by phase: idle (no request), head (408). "
            "A body not sent in time is a 408 in smsgw_http_requests_total.",
            ((guard.timeouts[phase], {"phase": phase}) for phase in ("idle", "head")),
        )
        family(
            "smsgw_http_malformed_requests_total",
            "counter",
            "Requests refused as malformed HTTP (400) before reaching a route.",
            [(guard.malformed, {})],
        )

    def _webhook_gauges(self, family: Family) -> None:
        family(
            "smsgw_webhook_requests_in_flight",
            "gauge",
            "Webhook requests under way (a delivery makes one at a time).",
            [(self.webhooks.in_flight, {})],
        )
        family(
            "smsgw_webhook_destination_requests_in_flight",
            "gauge",
            "Webhook requests under way, by destination (scheme://host:port) with any.",
            (
                (count, {"destination": destination})
                for destination, count in sorted(self.webhooks.load().items())
            ),
        )
        family(
            "smsgw_webhook_destinations_saturated",
            "gauge",
            "Destinations with as many webhook requests under way as they may have "
            f"({self.webhooks.per_destination}): their other webhooks wait.",
            [(len(self.webhooks.saturated()), {})],
        )


Sample = tuple[object, Mapping[str, str]]  # a value and its labels
Family = Callable[[str, str, str, Iterable[Sample]], None]  # name, type, help, samples
# name, type, help, values by modem id
PerModem = Callable[[str, str, str, Mapping[str, object]], None]


def _rssi(handle: ModemHandle) -> int | None:
    """The latest signal reading: the health check's, else the one taken at initialisation."""
    if handle.health is not None:
        return handle.health.rssi
    info = handle.modem.info if handle.modem is not None else None
    return info.rssi if info is not None else None


def _network(handle: ModemHandle) -> Network | None:
    """The latest network reading: the health check's, else the one taken at initialisation."""
    if handle.health is not None and handle.health.network is not None:
        return handle.health.network
    info = handle.modem.info if handle.modem is not None else None
    return info.network if info is not None else None


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{name}="{_escape(value)}"' for name, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    # The text format: backslash, double quote and line feed are escaped in label values.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


OBSERVABILITY: Final = web.AppKey("observability", Observability)


async def healthz(request: web.Request) -> web.Response:
    ok, body = await request.app[OBSERVABILITY].health()
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    text = await request.app[OBSERVABILITY].metrics()
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/healthz", healthz, allow_head=False),
        web.get("/metrics", metrics, allow_head=False),
    ]

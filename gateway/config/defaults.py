"""The configuration's defaults and limits: what a key is when the file does not give it, and
the values it may take."""

from __future__ import annotations

from typing import Final

from gateway.logs import FORMATS

DEFAULT_LISTEN: Final = "127.0.0.1:8080"
# Parts of a long SMS normally come within seconds of each other; a network that holds one
# back does so for minutes. Ten minutes (gammu-smsd's choice too) and then the message goes
# out with what came, marked 30009.
DEFAULT_REASSEMBLY_TIMEOUT: Final = 600.0
# The slow safety sweep lists every storage: +CMTI is acted on at once, so this only catches
# what a modem stored without saying so.
DEFAULT_SWEEP_INTERVAL: Final = 600.0
DEFAULT_WEBHOOK_TIMEOUT: Final = 15.0  # Twilio's own webhook timeout
DEFAULT_WEBHOOK_ATTEMPTS: Final = 10
DAY: Final = 24 * 3600.0  # the longest pause between two parts (min_interval, jitter)
WEEK: Final = 7 * 24 * 3600.0  # the longest wait any timing key takes
MAX_WEBHOOK_TIMEOUT: Final = 600.0
DEFAULT_MAX_CONCURRENT_REQUESTS: Final = 256
# HTTP connections (gateway/api/connections.py), for a Raspberry Pi on a LAN: a client has 10 s
# from a request's first byte to send its head, 30 s for its body once read, and a connection
# with no request under way is closed after 60 s.
DEFAULT_HEAD_TIMEOUT: Final = 10.0
DEFAULT_BODY_TIMEOUT: Final = 30.0
DEFAULT_IDLE_TIMEOUT: Final = 60.0
MAX_HTTP_TIMEOUT: Final = 3600.0
DEFAULT_HEALTH_INTERVAL: Final = 60.0
# On SIGTERM, how long the part on the air may take to be answered: AT+CMGS usually answers in
# seconds; past this, the part may be sent again after the restart.
DEFAULT_SHUTDOWN_GRACE: Final = 30.0
# Hours a sent message waits for its delivery reports before it is given up (it stays `sent`;
# a later report still settles it): 48 h, about the longest validity networks keep trying to
# deliver for. At most the REPORT_WINDOW_DAYS a report can still be matched in; 0: for ever.
DEFAULT_REPORT_TIMEOUT: Final = 48.0
# The original Messages documentation: more than four hours of a sender's traffic is refused.
BACKLOG_HOURS: Final = 4
# A SIM's balance ([[modems]] balance_ussd) is asked once a day unless balance_interval says
# otherwise; hours, from a minute to four weeks.
DEFAULT_BALANCE_INTERVAL: Final = 24.0
BALANCE_INTERVALS: Final = (1 / 60, 4 * 7 * 24.0)
ASSUMED_SEND_RATE: Final = 1.0  # parts per second of a modem with no send_rate: a fast one
DRIVERS: Final = ("serial", "tcp", "simulated")
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
LOG_FORMATS: Final = FORMATS
METHODS: Final = ("GET", "POST")

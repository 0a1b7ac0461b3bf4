"""``GET /healthz`` and ``GET /metrics``: what a person or a monitoring system asks of a
gateway left alone in a cupboard.

``/healthz`` answers 200 when the gateway can do its job (the database answers and at least
one modem is in service) and 503 otherwise, with the reasons, so that a supervisor or a load
balancer can act on it. ``/metrics`` is the Prometheus text format (version 0.0.4): per modem
its state, signal, registration, storage use, parts sent, refusals by ``+CMS ERROR`` code,
reports, parts received and recoveries; the queue by status; webhook deliveries, retries and
give-ups; HTTP requests by route, method and status. Counters count from the gateway's start,
as Prometheus expects (it sees the restart as a reset).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from drivers.at_replies import rssi_dbm
from gateway.dispatcher import Dispatcher
from gateway.errors import StoreError
from gateway.inbound import InboundReceiver
from gateway.modems import ModemPool, ModemState
from gateway.store import Store
from gateway.webhooks import WebhookSender

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_QUEUE_STATUSES: Final = ("accepted", "scheduled", "queued", "sending")


@dataclass
class HttpCounts:
    """Requests answered, by (route, method, status); the middleware feeds it."""

    counts: Counter[tuple[str, str, int]] = field(default_factory=Counter)

    def middleware(self) -> Middleware:
        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            response = await handler(request)
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            self.counts[route, request.method, response.status] += 1
            return response

        return count


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Observability:
    store: Store
    modems: ModemPool
    dispatcher: Dispatcher
    inbound: InboundReceiver
    webhooks: WebhookSender
    http: HttpCounts = field(default_factory=HttpCounts)

    async def health(self) -> tuple[bool, dict[str, object]]:
        reasons: list[str] = []
        try:
            queue = await self.store.queue_counts()
        except StoreError as exc:
            queue = {}
            reasons.append(f"the database does not answer: {exc}")
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
        }
        return ok, body

    async def metrics(self) -> str:
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(samples)

        handles = list(self.modems.handles.values())
        family(
            "smsgw_modem_up",
            "gauge",
            "1 when the modem is in service (registered and answering).",
            (
                _sample("smsgw_modem_up", int(h.state is ModemState.READY), modem=h.id)
                for h in handles
            ),
        )
        family(
            "smsgw_modem_state",
            "gauge",
            "1 for the state the modem is in.",
            (
                _sample("smsgw_modem_state", int(h.state is state), modem=h.id, state=state.value)
                for h in handles
                for state in ModemState
            ),
        )
        signal, dbm, registration, used, total = [], [], [], [], []
        for h in handles:
            health = h.health
            rssi = (
                health.rssi if health else (h.modem.info.rssi if h.modem and h.modem.info else None)
            )
            if rssi is not None:
                signal.append(_sample("smsgw_modem_signal_rssi", rssi, modem=h.id))
                value = rssi_dbm(rssi)
                if value is not None:
                    dbm.append(_sample("smsgw_modem_signal_dbm", value, modem=h.id))
            if health and health.registration is not None:
                registration.append(
                    _sample("smsgw_modem_registration", health.registration.stat, modem=h.id)
                )
            if health and health.storage and health.storage_used is not None:
                labels = _labels(modem=h.id, storage=health.storage)
                used.append(f"smsgw_modem_storage_used{labels} {health.storage_used}")
                total.append(f"smsgw_modem_storage_total{labels} {health.storage_total}")
        family("smsgw_modem_signal_rssi", "gauge", "AT+CSQ <rssi> (0-31, 99 unknown).", signal)
        family("smsgw_modem_signal_dbm", "gauge", "Signal strength in dBm.", dbm)
        family(
            "smsgw_modem_registration",
            "gauge",
            "+CREG/+CEREG <stat> at the last health check (1 home, 5 roaming).",
            registration,
        )
        family("smsgw_modem_storage_used", "gauge", "Messages in the modem's storage.", used)
        family("smsgw_modem_storage_total", "gauge", "Capacity of the modem's storage.", total)
        family(
            "smsgw_modem_parts_sent_total",
            "counter",
            "SMS parts the modem's network accepted.",
            (
                _sample(
                    "smsgw_modem_parts_sent_total", self.dispatcher.parts_sent[h.id], modem=h.id
                )
                for h in handles
            ),
        )
        family(
            "smsgw_modem_refusals_total",
            "counter",
            "Parts refused with +CMS ERROR, by code.",
            (
                _sample("smsgw_modem_refusals_total", count, modem=modem, code=str(code))
                for (modem, code), count in sorted(self.dispatcher.refusals.items(), key=str)
            ),
        )
        family(
            "smsgw_modem_reports_total",
            "counter",
            "Delivery reports received.",
            (
                _sample(
                    "smsgw_modem_reports_total", self.inbound.reports_by_modem[h.id], modem=h.id
                )
                for h in handles
            ),
        )
        family(
            "smsgw_modem_parts_received_total",
            "counter",
            "Inbound SMS parts received (duplicates not counted).",
            (
                _sample(
                    "smsgw_modem_parts_received_total",
                    self.inbound.parts_by_modem[h.id],
                    modem=h.id,
                )
                for h in handles
            ),
        )
        family(
            "smsgw_modem_recoveries_total",
            "counter",
            "Times the modem was brought back into service.",
            (_sample("smsgw_modem_recoveries_total", h.recoveries, modem=h.id) for h in handles),
        )
        try:
            queue = await self.store.queue_counts()
        except StoreError:
            queue = {}
        family(
            "smsgw_messages",
            "gauge",
            "Outbound messages not yet sent, by status.",
            (
                _sample("smsgw_messages", queue.get(status, 0), status=status)
                for status in _QUEUE_STATUSES
            ),
        )
        family(
            "smsgw_messages_expired_total",
            "counter",
            "Messages failed for their validity period (30036).",
            [f"smsgw_messages_expired_total {self.dispatcher.expired}"],
        )
        family(
            "smsgw_webhook_deliveries_total",
            "counter",
            "Webhooks the receiver took (2xx).",
            [f"smsgw_webhook_deliveries_total {self.webhooks.delivered}"],
        )
        family(
            "smsgw_webhook_retries_total",
            "counter",
            "Webhook attempts that failed and were scheduled again.",
            [f"smsgw_webhook_retries_total {self.webhooks.retries}"],
        )
        family(
            "smsgw_webhook_give_ups_total",
            "counter",
            "Webhooks given up after their last attempt.",
            [f"smsgw_webhook_give_ups_total {self.webhooks.give_ups}"],
        )
        family(
            "smsgw_http_requests_total",
            "counter",
            "HTTP requests answered, by route, method and status.",
            (
                _sample(
                    "smsgw_http_requests_total",
                    count,
                    route=route,
                    method=method,
                    status=str(status),
                )
                for (route, method, status), count in sorted(self.http.counts.items())
            ),
        )
        return "\n".join(lines) + "\n"


def _sample(name: str, value: object, **labels: str) -> str:
    return f"{name}{_labels(**labels)} {value}"


def _labels(**labels: str) -> str:
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

"""``/healthz`` and ``/metrics`` of a running gateway, read as a monitoring system would: the
metrics through Prometheus's own parser of its text format (``prometheus_client``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.metrics_core import Metric

from drivers.codec.pdu import fields
from drivers.simulated.network import Fate, HandsetRule
from drivers.simulated.pdus import status_report_pdu
from drivers.simulated.state import Slot
from gateway.domain.models import Status
from gateway.modems.supervisor import ModemState
from gateway.runtime import Gateway
from tests.e2e.rig import scrape, value
from tests.fakes.clock import T0, Clock
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    Statuses,
    basic_auth,
    config,
    modems_json,
    running,
)

HANDSET = "+447700900123"


async def health(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(gateway.base_url) as http,
        http.get("/healthz") as response,
    ):
        body: dict[str, Any] = await response.json()
        return response.status, body


async def create(gateway: Gateway, **form: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http:
        reply = await http.post(f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json", data=form)
        body: dict[str, Any] = await reply.json()
        return reply.status, body


def names(families: Iterable[Metric]) -> set[str]:
    return {family.name for family in families}


async def test_metrics_count_what_happened(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        statuses = Statuses(gateway)
        gateway.modems.network.set_rule(HANDSET, HandsetRule(Fate.DELIVERED))
        gateway.modems.simulated["alice"].fail_sends(1)  # one refusal: +CMS ERROR: 1
        status, refused = await create(gateway, To=HANDSET, From=ALICE, Body="nobody")
        assert status == 201
        status, sent = await create(gateway, To=BOB, From=ALICE, Body="Long " * 40)  # 2 parts
        assert status == 201
        status, _ = await create(gateway, To=HANDSET, From=ALICE, Body="")  # a 400
        assert status == 400
        await statuses.reached(refused["sid"], Status.FAILED)
        await statuses.reached(sent["sid"], Status.DELIVERED)
        await gateway.inbound.settled()
        for handle in gateway.modems.handles.values():
            await handle.check_health()

        families = await scrape(gateway.base_url)

    assert {
        "smsgw_modem_up",
        "smsgw_modem_state",
        "smsgw_modem_signal_rssi",
        "smsgw_modem_signal_dbm",
        "smsgw_modem_registration",
        "smsgw_modem_storage_used",
        "smsgw_modem_storage_total",
        "smsgw_modem_parts_sent",
        "smsgw_modem_refusals",
        "smsgw_modem_reports",
        "smsgw_modem_parts_received",
        "smsgw_modem_recoveries",
        "smsgw_messages",
        "smsgw_webhook_deliveries",
        "smsgw_webhook_retries",
        "smsgw_webhook_give_ups",
        "smsgw_reports_given_up",
        "smsgw_http_requests",
    } <= names(families.values())
    assert value(families, "smsgw_reports_given_up") == 0  # its report came
    assert families["smsgw_modem_parts_sent"].type == "counter"
    assert families["smsgw_modem_up"].type == "gauge"
    assert value(families, "smsgw_modem_up", modem="alice") == 1
    assert value(families, "smsgw_modem_state", modem="alice", state="ready") == 1
    assert value(families, "smsgw_modem_state", modem="alice", state="lost") == 0
    assert value(families, "smsgw_modem_registration", modem="alice") == 1
    assert value(families, "smsgw_modem_storage_total", modem="bob", storage="SR") > 0
    assert value(families, "smsgw_modem_parts_sent", modem="alice") == 2
    assert value(families, "smsgw_modem_refusals", modem="alice", code="1") == 1
    assert value(families, "smsgw_modem_reports", modem="alice") == 2  # one per part
    assert value(families, "smsgw_modem_parts_received", modem="bob") == 2
    assert value(families, "smsgw_messages", status="queued") == 0
    route = "/2010-04-01/Accounts/{account}/Messages.json"
    assert value(families, "smsgw_http_requests", route=route, method="POST", status="201") == 2
    assert value(families, "smsgw_http_requests", route=route, method="POST", status="400") == 1


async def test_metrics_show_how_full_each_storage_is(tmp_path: Path) -> None:
    """Each storage the modem lists (SM, ME, SR: AT+CPMS?) has its own use and capacity,
    read at each health check: reports kept in SR show, with the storage new messages go to
    empty (issue 17: only that one was shown)."""
    async with running(config(tmp_path / "data")) as gateway:
        await gateway.inbound.settled()  # the first connection's sweep emptied every storage
        sim = gateway.modems.simulated["alice"]
        recipient = fields.encode_address(HANDSET, "TP-RA")
        now = gateway.modems.network.clock()
        pdu, length = status_report_pdu(
            sim.smsc, reference=7, recipient=recipient, scts=now, discharge=now, status=0x00
        )
        for _ in range(3):  # kept in SR, unannounced (as with +CNMI ds=0)
            assert sim.storages["SR"].store(Slot(0, pdu, length)) is not None
        health = await gateway.modems.handles["alice"].check_health()
        families = await scrape(gateway.base_url)
        modems = await modems_json(gateway)
    assert health is not None and health.storage not in (None, "SR")
    capacities = {name: storage.capacity for name, storage in sim.storages.items()}
    assert len(capacities) == 3
    for name, capacity in capacities.items():
        used = 3 if name == "SR" else 0
        assert value(families, "smsgw_modem_storage_used", modem="alice", storage=name) == used
        labels = {"modem": "alice", "storage": name}
        assert value(families, "smsgw_modem_storage_total", **labels) == capacity
    assert modems["alice"]["health"]["storages"] == [
        {"storage": name, "used": 3 if name == "SR" else 0, "total": capacities[name]}
        for name in sorted(capacities)
    ]
    # The storage new messages go to, as before: its use beside the others'.
    assert (health.storage_used, health.storage_total) == (0, capacities[str(health.storage)])


async def test_healthz_says_ready_and_why_not(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        status, body = await health(gateway)
        assert status == 200
        assert body["status"] == "ready" and body["reasons"] == []
        assert body["modems"]["alice"]["state"] == "ready"
        assert body["queue"] == {"accepted": 0, "scheduled": 0, "queued": 0, "sending": 0}
        statuses = Statuses(gateway)
        for sim in gateway.modems.simulated.values():
            await sim.unplug()
        for modem in gateway.modems.handles:
            await statuses.modem_reached(modem, ModemState.LOST)
        status, body = await health(gateway)
        assert status == 503
        assert body["status"] == "not ready"
        (reason,) = body["reasons"]
        assert reason.startswith("no modem is in service: alice lost")
        families = await scrape(gateway.base_url)
        assert value(families, "smsgw_modem_up", modem="alice") == 0
        assert value(families, "smsgw_modem_state", modem="alice", state="lost") == 1
        gateway.modems.simulated["alice"].plug()
        await statuses.modem_reached("alice", ModemState.READY)
        status, _ = await health(gateway)
        assert status == 200  # one modem in service is enough to do the job
        families = await scrape(gateway.base_url)
        assert value(families, "smsgw_modem_recoveries", modem="alice") == 1


async def test_the_modems_list_shows_each_health_check(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        await gateway.modems.handles["alice"].check_health()
        modems = await modems_json(gateway)
    health = modems["alice"]["health"]
    assert health["registration"]["stat"] == 1
    assert health["storage_total"] > 0
    assert health["checked_at"].endswith("+00:00")  # ISO 8601, UTC
    assert modems["bob"]["health"] is None  # not checked yet
    assert modems["alice"]["recoveries"] == 0


async def test_healthz_and_metrics_tell_the_clock_without_judging_it(tmp_path: Path) -> None:
    wall, monotonic = Clock(T0), [1000.0]
    reading: list[tuple[bool | None, str]] = [(None, "unknown")]

    def inject(gateway: Gateway) -> None:
        # The system clock as the test says (issue 20): no root, no real clock change.
        watcher = gateway.clock_watcher
        watcher.wall, watcher.monotonic = wall, lambda: monotonic[0]
        watcher.read = lambda: reading[0]
        watcher.every = 3600.0  # the test drives each look itself (check())

    async with running(config(tmp_path / "data"), prepare=inject) as gateway:
        status, body = await health(gateway)
        assert status == 200  # an unknown clock leaves the verdict alone
        assert body["clock"] == {
            "synchronised": None,
            "source": "unknown",
            "since": T0.isoformat(),
            "last_jump": None,
        }
        families = await scrape(gateway.base_url)
        assert families["smsgw_clock_synchronised"].samples == []  # absent while unknown
        assert value(families, "smsgw_clock_jumps") == 0

        reading[0] = (False, "adjtimex")
        monotonic[0] += 30
        wall.advance(30 + 3 * 86400)  # fake-hwclock three days behind, NTP answered
        gateway.clock_watcher.check()
        status, body = await health(gateway)
        assert status == 200 and body["reasons"] == []  # not synchronised: told, not judged
        now = (T0 + timedelta(seconds=30 + 3 * 86400)).isoformat()
        assert body["clock"] == {
            "synchronised": False,
            "source": "adjtimex",
            "since": now,
            "last_jump": {"at": now, "seconds": 259200.0},
        }
        families = await scrape(gateway.base_url)
        assert value(families, "smsgw_clock_synchronised") == 0
        assert value(families, "smsgw_clock_jumps") == 1

        reading[0] = (True, "timesyncd")
        monotonic[0] += 30
        wall.advance(30)
        gateway.clock_watcher.check()
        families = await scrape(gateway.base_url)
        assert value(families, "smsgw_clock_synchronised") == 1
        assert value(families, "smsgw_clock_jumps") == 1

"""A SIM plan's caps through the HTTP API of a running gateway (real sockets, a real SQLite
file): what the caps would hold back past the queue limit's four hours is refused with 429
(21611), and ``/smsgw/modems.json`` and ``/metrics`` show each cap used and left."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from gateway.config import ModemConfig
from gateway.domain.models import Status
from gateway.domain.quota import Quota
from tests.e2e.rig import scrape, value
from tests.fakes.clock import Clock
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
WAIT = 10.0
TWO_PARTS = "Long " * 40


async def create(http: aiohttp.ClientSession, **form: str) -> tuple[int, dict[str, Any]]:
    reply = await http.post(f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json", data=form)
    body: dict[str, Any] = await reply.json()
    return reply.status, body


async def test_the_caps_refuse_what_they_would_hold_and_show_what_is_left(tmp_path: Path) -> None:
    # The test clock: 12:34 UTC, the next day more than the queue limit's four hours away.
    plan = Quota(daily_limit=3, monthly_recipients=10)
    alice = ModemConfig("alice", "simulated", (ALICE,), quota=plan)
    configuration = config(tmp_path / "data", alice, ModemConfig("bob", "simulated", (BOB,)))
    async with (
        running(configuration, clock=Clock()) as gateway,
        aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http,
    ):
        statuses = Statuses(gateway)
        status, sent = await create(http, To=HANDSET, From=ALICE, Body=TWO_PARTS)
        assert status == 201
        await statuses.reached(sent["sid"], Status.SENT)

        status, refused = await create(http, To=HANDSET, From=ALICE, Body=TWO_PARTS)
        assert (status, refused["code"], refused["status"]) == (429, 21611, 429)
        assert "its plan's caps let 1 go in the next four hours" in refused["message"]
        status, _ = await create(http, To=HANDSET, From=BOB, Body=TWO_PARTS)  # bob: no caps
        assert status == 201

        modems = await modems_json(gateway)
        assert modems["bob"]["quota"] is None
        assert modems["alice"]["quota"] == {
            "day": {"limit": 3, "used": 2, "left": 1, "resets_at": "2026-03-02T00:00:00+00:00"},
            "month": None,
            "recipients": {
                "limit": 10,
                "used": 1,
                "left": 9,
                "resets_at": "2026-04-01T00:00:00+00:00",
            },
        }
        families = await scrape(gateway.base_url)
    used, limit = "smsgw_modem_quota_used", "smsgw_modem_quota_limit"
    assert value(families, used, modem="alice", period="day") == 2
    assert value(families, limit, modem="alice", period="day") == 3
    assert value(families, used, modem="alice", period="recipients") == 1
    assert value(families, limit, modem="alice", period="recipients") == 10
    assert all(sample.labels["modem"] == "alice" for sample in families[used].samples)


async def test_a_cap_raised_by_a_reload_lets_what_it_held_go_at_once(tmp_path: Path) -> None:
    # 21:34 in the modem's zone (UTC+9): the next day is within the queue limit's four hours,
    # so the second message is taken and held for it, not refused.
    zone = ZoneInfo("Etc/GMT-9")
    alice = ModemConfig("alice", "simulated", (ALICE,), quota=Quota(daily_limit=1, zone=zone))
    async with (
        running(config(tmp_path / "data", alice), clock=Clock()) as gateway,
        aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http,
    ):
        statuses = Statuses(gateway)
        held = asyncio.Event()
        gateway.outbound.dispatcher.on_held(lambda sid, modem: held.set())
        status, first = await create(http, To=HANDSET, From=ALICE, Body="today")
        status, second = await create(http, To=HANDSET, From=ALICE, Body="tonight, after all")
        assert status == 201, second
        await statuses.reached(first["sid"], Status.SENT)
        await asyncio.wait_for(held.wait(), WAIT)

        (running_alice,) = gateway.config.modems
        raised = replace(running_alice, quota=replace(alice.quota, daily_limit=2))
        changes = await gateway.reload(replace(gateway.config, modems=(raised,)))
        assert changes.describe() == "modems: changed alice (quota)"
        # The user raised the cap for this message: it goes now, not tomorrow.
        await statuses.reached(second["sid"], Status.SENT)

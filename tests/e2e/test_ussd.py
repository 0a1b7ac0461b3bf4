"""USSD end to end: ``POST /smsgw/modems/{id}/ussd.json`` through a running gateway to its
simulated modems and back, the guard between USSD sessions and sends, and the balance read
every few hours into the modem JSON and ``/metrics``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from drivers import AtCommandError
from drivers.simulated.ussd import UssdRule
from gateway.config import ModemConfig
from gateway.domain.models import Status
from gateway.modems.balance import Balance
from gateway.modems.supervisor import ModemState
from gateway.runtime import Gateway
from tests.e2e.rig import scrape, value
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    OTHER_ACCOUNT,
    Statuses,
    basic_auth,
    config,
    modems_json,
    running,
)

HANDSET = "+447700900123"
WAIT = 10.0


async def ussd(
    gateway: Gateway, modem: str, form: list[tuple[str, str]], account: Any = ACCOUNT
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(gateway.base_url, headers=basic_auth(account)) as http,
        http.post(f"/smsgw/modems/{modem}/ussd.json", data=form) as reply,
    ):
        body: dict[str, Any] = await reply.json()
        return reply.status, body


def asked(gateway: Gateway, modem: str) -> asyncio.Event:
    """Set once the simulated modem receives an AT+CUSD request."""
    event = asyncio.Event()
    gateway.modems.simulated[modem].command_observers.append(
        lambda line: event.set() if line.startswith("AT+CUSD=1") else None
    )
    return event


async def test_a_balance_and_a_menu(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        status, body = await ussd(gateway, "alice", [("Code", "*100#")])
        assert status == 200, body
        assert body["status"] == "done"
        assert body["text"] == "Your balance is 12.34 EUR. Valid until 31.12.2026."
        assert body["dcs"] == 15 and body["menu_closed"] is False
        assert [step["sent"] for step in body["steps"]] == ["*100#"]

        form = [("Code", "*101#"), ("Reply", "2"), ("Reply", "1")]
        status, body = await ussd(gateway, "alice", form)
        assert status == 200
        assert [(s["sent"], s["status"]) for s in body["steps"]] == [
            ("*101#", "action_required"),
            ("2", "action_required"),
            ("1", "done"),
        ]
        assert body["steps"][0]["text"] == "1. Balance\n2. Bundles"
        assert (body["status"], body["text"]) == ("done", "1 GB added.")

        # A menu with no Reply left for it is closed, so the modem is free again.
        status, body = await ussd(gateway, "alice", [("Code", "*101#")])
        assert (status, body["status"], body["menu_closed"]) == (200, "action_required", True)
        sim = gateway.modems.simulated["alice"]
        assert sim.ussd.open is None and sim.received_commands[-1] == "AT+CUSD=2"

        # Replies past the end of the dialogue are not sent.
        status, body = await ussd(gateway, "alice", [("Code", "*100#"), ("Reply", "1")])
        assert (status, len(body["steps"])) == (200, 1)


@pytest.mark.parametrize(
    ("personality", "dcs"), [("huawei", 15), ("zte", 72), ("quectel", 15), ("wavecom", 15)]
)
async def test_every_vendor_s_way_of_printing_the_answer(
    tmp_path: Path, personality: str, dcs: int
) -> None:
    modem = ModemConfig("alice", "simulated", (ALICE,), personality=personality)
    async with running(config(tmp_path / "data", modem)) as gateway:
        gateway.modems.simulated["alice"].ussd.set_rule("*5#", UssdRule("Баланс: 5 руб."))
        status, body = await ussd(gateway, "alice", [("Code", "*100#")])
        assert (status, body["status"], body["dcs"]) == (200, "done", dcs)
        assert body["text"].startswith("Your balance is 12.34 EUR.")
        status, body = await ussd(gateway, "alice", [("Code", "*5#")])
        assert (body["text"], body["dcs"]) == ("Баланс: 5 руб.", 72)


async def test_what_the_network_says_besides_an_answer(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        status, body = await ussd(gateway, "alice", [("Code", "*999#")])
        assert (status, body["status"], body["text"]) == (
            200,
            "network_cancelled",
            "Unknown service code.",
        )
        gateway.modems.simulated["alice"].ussd.set_rule("*7#", UssdRule(silent=True))
        status, body = await ussd(gateway, "alice", [("Code", "*7#"), ("Timeout", "1")])
        assert (status, body["status"], body["text"]) == (200, "timed_out", None)


@pytest.mark.parametrize(
    ("form", "code", "message"),
    [
        ([], 21790, "Code is required"),
        ([("Code", "balance")], 21790, "'balance' is not a USSD code"),
        ([("Code", "*100")], 21790, "is not a USSD code"),
        ([("Code", "*100#"), ("Reply", "")], 21791, "1 to 182 characters"),
        ([("Code", "*100#"), ("Reply", "日本")], 21791, "characters a USSD string cannot carry"),
        ([("Code", "*100#"), *[("Reply", "1")] * 11], 21791, "At most 10"),
        ([("Code", "*100#"), ("Timeout", "0")], 21792, "from 1 to 120"),
        ([("Code", "*100#"), ("Timeout", "soon")], 21792, "from 1 to 120"),
        # str.isdigit() takes these, int() refuses the first and chokes on the second.
        ([("Code", "*100#"), ("Timeout", "²")], 21792, "from 1 to 120"),
        ([("Code", "*100#"), ("Timeout", "9" * 5000)], 21792, "from 1 to 120"),
    ],
)
async def test_bad_input(
    tmp_path: Path, form: list[tuple[str, str]], code: int, message: str
) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        status, body = await ussd(gateway, "alice", form)
        assert (status, body["code"], body["status"]) == (400, code, 400)
        assert message in body["message"]
        assert gateway.modems.simulated["alice"].ussd.requests == []


async def test_only_the_account_s_modems_and_only_ready_ones(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        for modem, account in [("nobody", ACCOUNT), ("carol", ACCOUNT), ("alice", OTHER_ACCOUNT)]:
            status, body = await ussd(gateway, modem, [("Code", "*100#")], account)
            assert (status, body["code"]) == (404, 20404), modem
        status, _ = await ussd(gateway, "carol", [("Code", "*100#")], OTHER_ACCOUNT)
        assert status == 200

        gateway.modems.simulated["alice"].set_registration(0)
        handle = gateway.modems.handles["alice"]
        await handle.check_health()
        assert handle.state is ModemState.NO_SERVICE
        status, body = await ussd(gateway, "alice", [("Code", "*100#")])
        assert (status, body["code"]) == (503, 20503)
        assert body["message"] == "alice is no_service"


async def test_one_session_at_a_time_per_modem(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        sim = gateway.modems.simulated["alice"]
        sim.ussd.set_rule("*7#", UssdRule(silent=True))
        request = asked(gateway, "alice")
        first = asyncio.create_task(ussd(gateway, "alice", [("Code", "*7#")]))
        await asyncio.wait_for(request.wait(), WAIT)
        status, body = await ussd(gateway, "alice", [("Code", "*100#")])
        assert (status, body["code"]) == (409, 20409)
        status, _ = await ussd(gateway, "bob", [("Code", "*100#")])  # another modem: free
        assert status == 200
        sim.answer_ussd('+CUSD: 0,"Late, but here.",15')  # the network answers at last
        status, body = await asyncio.wait_for(first, WAIT)
        assert (status, body["text"]) == (200, "Late, but here.")


async def test_a_send_waits_while_a_session_runs(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        statuses = Statuses(gateway)
        handle = gateway.modems.handles["alice"]
        sim = gateway.modems.simulated["alice"]
        async with handle.exclusive.ussd():  # as a session holds it, from AT+CUSD=1 to the end
            async with (
                aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http,
                http.post(
                    f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json",
                    data={"From": ALICE, "To": HANDSET, "Body": "after the USSD"},
                ) as reply,
            ):
                sid = (await reply.json())["sid"]
            await handle.exclusive.part_waiting()  # the worker is at its part
            async with (
                aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http,
                http.get(f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages/{sid}.json") as reply,
            ):
                assert (await reply.json())["status"] == "queued"  # not granted: it waits
            assert not any(line.startswith("AT+CMGS") for line in sim.received_commands)
        await statuses.reached(sid, Status.SENT)


async def test_the_balance_every_few_hours(tmp_path: Path) -> None:
    modem = ModemConfig(
        "alice",
        "simulated",
        (ALICE,),
        balance_ussd="*100#",
        balance_pattern=r"balance is ([0-9]+[.,][0-9]+)",
        balance_interval=24.0,
    )
    checked: asyncio.Queue[Balance | None] = asyncio.Queue()

    def prepare(gateway: Gateway) -> None:
        watch = gateway.modems.balances["alice"]
        watch.checked.subscribe(checked.put_nowait)

    async with running(config(tmp_path / "data", modem), prepare=prepare) as gateway:
        balance = await asyncio.wait_for(checked.get(), WAIT)
        assert balance is not None and balance.value == 12.34
        (listed,) = (await modems_json(gateway)).values()
        assert listed["balance"] == {
            "value": 12.34,
            "at": balance.at.isoformat(),
            "text": "Your balance is 12.34 EUR. Valid until 31.12.2026.",
        }
        families = await scrape(gateway.base_url)
        assert value(families, "smsgw_modem_balance", modem="alice") == 12.34

        # A later answer the pattern cannot read keeps the last balance.
        watch = gateway.modems.balances["alice"]
        gateway.modems.simulated["alice"].ussd.set_rule("*100#", UssdRule("Try again later."))
        assert await watch.check(gateway.modems.handles["alice"]) is None
        (listed,) = (await modems_json(gateway)).values()
        assert listed["balance"]["value"] == 12.34


async def test_a_modem_removed_by_a_reload_mid_session_ends_it(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        gateway.modems.simulated["alice"].ussd.set_rule("*7#", UssdRule(silent=True))
        request = asked(gateway, "alice")
        session = asyncio.create_task(ussd(gateway, "alice", [("Code", "*7#")]))
        await asyncio.wait_for(request.wait(), WAIT)
        others = tuple(modem for modem in gateway.config.modems if modem.id != "alice")
        await gateway.reload(replace(gateway.config, modems=others))
        # Answered at once, not after the 30 s the network had to answer.
        status, body = await asyncio.wait_for(session, WAIT)
        assert (status, body["code"]) == (503, 20503), body


async def test_a_client_gone_mid_session_leaves_no_menu_open_and_the_modem_free(
    tmp_path: Path,
) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        sim = gateway.modems.simulated["alice"]
        sim.ussd.set_rule("*7#", UssdRule(silent=True))
        request = asked(gateway, "alice")
        http = aiohttp.ClientSession(gateway.base_url, headers=basic_auth())
        session = asyncio.create_task(
            http.post("/smsgw/modems/alice/ussd.json", data=[("Code", "*7#")])
        )
        await asyncio.wait_for(request.wait(), WAIT)
        session.cancel()
        await http.close()  # the client is gone, its connection closed
        closed = asyncio.Event()
        sim.command_observers.append(lambda line: closed.set() if line == "AT+CUSD=2" else None)
        # The network opens a menu for the client that left: the gateway closes it.
        sim.answer_ussd('+CUSD: 1,"1. Yes\n2. No",15')
        await asyncio.wait_for(closed.wait(), WAIT)
        status, body = await ussd(gateway, "alice", [("Code", "*100#")])
        assert (status, body["status"]) == (200, "done")


async def test_a_menu_the_modem_will_not_close_still_gives_its_answer(tmp_path: Path) -> None:
    """AT+CUSD=2 refused (ERROR: some firmware, once the network ended the session itself):
    the answer the network gave is the user's all the same, not a 503 that loses it."""
    async with running(config(tmp_path / "data")) as gateway:
        modem = gateway.modems.handles["alice"].modem
        assert modem is not None

        async def refused() -> None:
            raise AtCommandError("AT+CUSD=2", "ERROR")

        modem.ussd_cancel = refused  # type: ignore[method-assign]
        status, body = await ussd(gateway, "alice", [("Code", "*101#")])
        assert (status, body["status"], body["text"]) == (
            200,
            "action_required",
            "1. Balance\n2. Bundles",
        )
        assert body["menu_closed"] is False  # not closed: the gateway says so
        assert gateway.modems.handles["alice"].state is ModemState.READY

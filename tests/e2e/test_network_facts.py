"""Network facts end to end: a real gateway over simulated modems shows the operator, its code,
the access technology, home or roaming, the cell and the SIM's lock in ``/smsgw/modems.json``,
in ``/metrics`` and in ``smsgw modems``; a modem with ``hold_when_roaming`` sends nothing while
it roams and resumes once home."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.cli.client import _print_modem
from gateway.config import ModemConfig
from gateway.domain.models import Status
from gateway.modems.supervisor import ModemState
from gateway.runtime import Gateway
from tests.e2e.rig import scrape, value
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    CAROL,
    OTHER_ACCOUNT,
    Statuses,
    basic_auth,
    config,
    modems_json,
    running,
)

HANDSET = "+447700900123"


async def create(gateway: Gateway, body: str, sender: str = ALICE) -> str:
    async with aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http:
        reply = await http.post(
            f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json",
            data={"To": HANDSET, "From": sender, "Body": body},
        )
        assert reply.status == 201
        sid: str = (await reply.json())["sid"]
        return sid


def state(gateway: Gateway, modem: str) -> ModemState:
    return gateway.modems.handles[modem].state


def submitted(gateway: Gateway, body: str) -> int:
    return sum(1 for item in gateway.modems.network.submissions if item.submit.text == body)


def held_config(data: Path) -> Any:
    return config(
        data,
        ModemConfig("alice", "simulated", (ALICE,), hold_when_roaming=True),
        ModemConfig("bob", "simulated", (BOB,), personality="quectel", smsc="+15559990000"),
        ModemConfig("carol", "simulated", (CAROL,), account=OTHER_ACCOUNT.sid),
    )


async def test_roaming_holds_sending_until_home_and_shows_the_network(tmp_path: Path) -> None:
    async with running(held_config(tmp_path / "data")) as gateway:
        statuses = Statuses(gateway)
        alice, bob = gateway.modems.simulated["alice"], gateway.modems.simulated["bob"]
        alice.set_operator("Vodafone.de", "voda DE", "26202", 2)
        alice.set_registration(5)  # +CREG: 5 and +CEREG: 5, with the cell (AT+CREG=2)
        await statuses.modem_reached("alice", ModemState.ROAMING)
        bob.set_registration(5)  # roaming too, and not held: bob sends
        sid = await create(gateway, "wait until home")
        bobs = await create(gateway, "bob roams and sends", BOB)
        await statuses.reached(bobs, Status.DELIVERED)
        await gateway.inbound.settled()
        for handle in gateway.modems.handles.values():
            await handle.check_health()  # a poll: still roaming, still held
        assert state(gateway, "alice") is ModemState.ROAMING
        assert state(gateway, "bob") is ModemState.READY

        modems = await modems_json(gateway)
        assert modems["alice"]["state"] == "roaming"
        assert modems["alice"]["health"]["network"] == {
            "operator": "Vodafone.de",
            "code": "26202",
            "act": 2,
            "technology": "UTRAN",
            "stat": 5,
            "registered": True,
            "roaming": True,
            "lac": "00C3",
            "ci": "0000A1B2",
        }
        assert modems["alice"]["sim"] == {"state": "ready", "pin_attempts": 3, "puk_attempts": 10}
        assert modems["bob"]["sim"] == modems["alice"]["sim"]  # Quectel's AT+QPINC?
        assert modems["alice"]["info"]["smsc"] == "+15550000000"  # the SIM's own
        assert modems["bob"]["info"]["smsc"] == "+15559990000"  # set from the config
        assert bob.smsc == "+15559990000"
        families = await scrape(gateway.base_url)
        assert value(families, "smsgw_modem_state", modem="alice", state="roaming") == 1
        assert value(families, "smsgw_modem_up", modem="alice") == 0
        assert value(families, "smsgw_modem_roaming", modem="alice") == 1
        assert value(families, "smsgw_modem_roaming", modem="bob") == 1
        info = {"operator": "Vodafone.de", "mcc_mnc": "26202", "technology": "UTRAN"}
        assert value(families, "smsgw_modem_network_info", modem="alice", **info) == 1
        assert value(families, "smsgw_modem_sim_state", modem="alice", state="ready") == 1
        assert value(families, "smsgw_modem_sim_pin_attempts", modem="alice") == 3
        assert value(families, "smsgw_modem_sim_puk_attempts", modem="bob") == 10
        assert value(families, "smsgw_modem_smsc_info", modem="alice", smsc="+15550000000") == 1

        # Held: queued, never handed to the modem, nothing counted against it.
        fetched = await gateway.store.get_message(ACCOUNT.sid, sid)
        assert fetched is not None and fetched.status is Status.QUEUED
        assert submitted(gateway, "wait until home") == 0
        assert gateway.modems.handles["alice"].troubles == 0

        alice.set_registration(1)  # home again
        await statuses.reached(sid, Status.DELIVERED)
        assert state(gateway, "alice") is ModemState.READY
        await gateway.modems.handles["alice"].check_health()
        families = await scrape(gateway.base_url)
        assert value(families, "smsgw_modem_roaming", modem="alice") == 0


async def test_a_sim_wanting_its_pin_shows_the_tries_left(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        statuses = Statuses(gateway)
        alice = gateway.modems.simulated["alice"]
        alice.pin = "1234"  # a SIM that now wants a PIN nobody configured
        alice.set_sim(pin_attempts=2)
        alice.reboot()
        failed = statuses.entering("alice", ModemState.FAILED)
        await alice.drop_line()
        await failed
        modems = await modems_json(gateway)
        error = modems["alice"]["error"]
        assert "the SIM needs a PIN (set pin in the config)" in error
        assert "pin_required (2 PIN attempts left, 10 PUK attempts left)" in error
        assert modems["alice"]["sim"] == {
            "state": "pin_required",
            "pin_attempts": 2,
            "puk_attempts": 10,
        }
        families = await scrape(gateway.base_url)
        assert value(families, "smsgw_modem_sim_state", modem="alice", state="pin_required") == 1
        assert value(families, "smsgw_modem_sim_pin_attempts", modem="alice") == 2


async def test_a_wrong_pin_is_sent_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gateway.modems.supervisor.BACKOFF_FIRST", 0.01)
    monkeypatch.setattr("gateway.modems.supervisor.BACKOFF_MAX", 0.01)

    def wants_4321(gateway: Gateway) -> None:
        alice = gateway.modems.simulated["alice"]
        alice.pin = "4321"
        alice.reboot()  # wants it now: the configured one (1234) is wrong

    configuration = config(
        tmp_path / "data",
        ModemConfig("alice", "simulated", (ALICE,), pin="1234"),
        ModemConfig("bob", "simulated", (BOB,)),
    )
    gateway = Gateway(configuration)
    wants_4321(gateway)
    statuses = Statuses(gateway)
    await gateway.start()
    try:
        await statuses.modem_reached("alice", ModemState.FAILED, 3)  # tried, and again twice
        alice = gateway.modems.simulated["alice"]
        assert [line for line in alice.received_commands if line.startswith("AT+CPIN=")] == [
            'AT+CPIN="1234"'
        ]
        assert alice.pin_attempts == 2
        error = gateway.modems.handles["alice"].error
        assert error is not None and "not sent again until the pin in the config changes" in error
    finally:
        await gateway.stop()


async def test_a_missing_sim(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        statuses = Statuses(gateway)
        alice = gateway.modems.simulated["alice"]
        alice.set_sim(inserted=False)
        failed = statuses.entering("alice", ModemState.FAILED)
        await alice.drop_line()
        await failed
        modems = await modems_json(gateway)
        assert "no SIM card inserted" in modems["alice"]["error"]
        assert modems["alice"]["sim"] == {
            "state": "missing",
            "pin_attempts": None,
            "puk_attempts": None,
        }


def test_smsgw_modems_prints_the_network_and_the_sim(capsys: pytest.CaptureFixture[str]) -> None:
    roaming = {
        "operator": "Vodafone.de",
        "code": "26202",
        "act": 2,
        "technology": "UTRAN",
        "stat": 5,
        "registered": True,
        "roaming": True,
        "lac": "0502",
        "ci": "0404736D",
    }
    _print_modem(
        {
            "id": "alice",
            "state": "roaming",
            "driver": "serial",
            "port": "/dev/ttyUSB2",
            "numbers": [ALICE],
            "info": None,
            "health": {"rssi": 20, "network": roaming},
            "sim": {"state": "pin_required", "pin_attempts": 1, "puk_attempts": 10},
        }
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed[1:] == [
        "  network: Vodafone.de (26202), UTRAN, roaming, LAC 0502 cell 0404736D",
        "  SIM: PIN required, 1 PIN attempt left, 10 PUK attempts left",
    ]

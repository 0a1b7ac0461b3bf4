"""``smsgw detect`` as its own process against simulated modems on real ptys, beside a pty that
is not a modem: it finds the modems, groups a modem's two AT ports, prints a configuration
block the gateway accepts, and leaves every port as it found it; on a Raspberry Pi's UART
(ptys linked as ``serial0`` and ``ttyAMA0`` in a stand-in for /dev), it finds a HAT that answers
only at 9600 baud. And the ids it gives modems, from what real ones say of themselves."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import termios
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from drivers.at.channel import AtChannel
from drivers.at.transport import open_link
from drivers.modem.detect import Found
from drivers.modem.driver import GsmModem
from drivers.simulated import SimulatedModem, SimulatedNetwork, personality
from drivers.simulated.serve import PtyServer
from gateway.cli.detect import modem_id, modem_ids, port_ranges
from gateway.config import parse

ALICE = "+15550001001"
BOB = "+15550002002"
CAROL = "+15550003003"
WAIT = 30.0
IDENTITIES = Path(__file__).parents[1] / "data" / "modem_identities.json"
# What a SIM7600G-H says of itself (tests/data/modem_identities.json).
SIM7600 = replace(
    personality("generic"),
    manufacturer="SIMCOM INCORPORATED",
    model="SIMCOM_SIM7600G-H",
    revision="SIM7600M22_V2.0",
)


async def run_detect(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "detect",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def mode(sim: SimulatedModem) -> tuple[object, ...]:
    """What a probe must not change: echo, PDU/text mode, storages, notifications."""
    return (sim.echo, sim.cmgf, tuple(sim.mem), tuple(sim.cnmi), sim.cmee)


async def test_detect_finds_the_modems_and_changes_nothing(tmp_path: Path) -> None:
    network = SimulatedNetwork()
    alice = SimulatedModem([ALICE])
    bob = SimulatedModem([BOB], personality("huawei"))
    # Bob's modem has a second AT port: another interpreter of the same modem (same IMEI).
    bob_second = SimulatedModem([BOB], personality("huawei"), imei=bob.imei, imsi=bob.imsi)
    network.attach(alice, ALICE)
    network.attach(bob, BOB)
    servers = [
        PtyServer(alice, tmp_path / "usb-alice-if02"),
        PtyServer(bob, tmp_path / "usb-bob-if00"),
        PtyServer(bob_second, tmp_path / "usb-bob-if02"),
    ]
    for server in servers:
        await server.start()
    # A port that is there but is not a modem: nobody answers on it.
    master, slave = os.openpty()
    silent = tmp_path / "usb-gps-if01"
    silent.symlink_to(os.ttyname(slave))
    before = {"alice": mode(alice), "bob": mode(bob)}
    try:
        ports = [
            str(tmp_path / name)
            for name in ("usb-alice-if02", "usb-gps-if01", "usb-bob-if00", "usb-bob-if02")
        ]
        args = [arg for port in ports for arg in ("--port", port)]
        status, out, err = await run_detect(*args, "--timeout", "0.5")
        assert (status, err) == (0, "")
        assert out.startswith("Found 2 modems.")
        assert f"{tmp_path}/usb-gps-if01: no answer to AT" in out
        assert f"also answers AT: {tmp_path}/usb-bob-if02" in out
        assert "E1752" in out and "IMEI" in out and "signal -" in out
        # The blocks it prints make a configuration the gateway takes as it is.
        blocks = out.split("For the configuration file:")[1]
        configuration = parse(tomllib.loads(blocks))
        assert [m.port for m in configuration.modems] == [ports[0], ports[2]]
        assert [m.numbers for m in configuration.modems] == [(ALICE,), (BOB,)]
        assert {"alice": mode(alice), "bob": mode(bob)} == before  # nothing was set

        status, out, _ = await run_detect(*args, "--timeout", "0.5", "--json")
        found = json.loads(out)
        assert [m["ports"][0]["numbers"] for m in found["modems"]] == [[ALICE], [BOB]]
        assert [p["port"] for p in found["not_modems"]] == [ports[1]]

        # And the gateway's driver sets the modem up on it afterwards as usual.
        modem = GsmModem(AtChannel(await open_link(ports[0])))
        info = await asyncio.wait_for(modem.initialize(), WAIT)
        assert info.identity.numbers == (ALICE,)
        await modem.close()
    finally:
        for server in servers:
            await server.close()
        os.close(master)
        os.close(slave)


async def test_no_modem_is_exit_status_1(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        status, out, _ = await run_detect("--port", os.ttyname(slave), "--timeout", "0.3")
        assert status == 1
        assert out.startswith("Found 0 modems.")
        status, _, err = await run_detect("--port", str(tmp_path / "nothing"), "--timeout", "0")
        assert status == 2 and "must be positive" in err
    finally:
        os.close(master)
        os.close(slave)


def speed(device: str) -> list[int]:
    """The line speeds (input, output) a tty is set to, as the next program to open it gets."""
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return list(termios.tcgetattr(fd)[4:6])
    finally:
        os.close(fd)


async def test_detect_finds_a_hat_on_a_pis_uart_at_its_own_speed(tmp_path: Path) -> None:
    dev = tmp_path / "dev"  # a Pi's /dev: a HAT on the GPIO UART, a USB modem, dead UARTs
    dev.mkdir()
    network = SimulatedNetwork()
    hat = SimulatedModem([ALICE], SIM7600)
    usb = SimulatedModem([CAROL], SIM7600)
    network.attach(hat, ALICE)
    network.attach(usb, CAROL)
    servers = [PtyServer(hat, dev / "ttyAMA0", baud=9600), PtyServer(usb, dev / "ttyUSB2")]
    for server in servers:
        await server.start()
    (dev / "serial0").symlink_to("ttyAMA0")  # as udev links the GPIO header's UART
    # UARTs with nothing behind them: four that open and stay silent, 28 that do not open.
    silent = [os.openpty() for _ in range(4)]
    for number, (_, slave) in enumerate(silent):
        (dev / f"ttyS{number}").symlink_to(os.ttyname(slave))
    for number in range(4, 32):
        (dev / f"ttyS{number}").symlink_to(dev / "gone" / f"ttyS{number}")
    devices = [servers[0].device] + [os.ttyname(slave) for _, slave in silent]
    before = [speed(device) for device in devices]
    try:
        status, out, err = await run_detect("--dev", str(dev), "--timeout", "0.3")
        assert (status, err) == (0, ""), out
        assert out.startswith("Found 2 modems.")
        assert f"{dev}/serial0\n  SIMCOM INCORPORATED SIMCOM_SIM7600G-H, firmware" in out
        assert "at 9600 baud" in out
        assert f"{dev}/ttyAMA0" not in out  # the same device as serial0: probed once
        assert f"  {dev}/ttyS{{0..3}}: no answer to AT at 115200, 9600, 57600 baud\n" in out
        assert f"  {dev}/ttyS{{4..31}}: cannot open: No such file or directory\n" in out
        blocks = out.split("For the configuration file:")[1]
        assert blocks.count("baud =") == 1  # only where it is not the default
        configuration = parse(tomllib.loads(blocks))
        modems = [(m.id, m.port, m.baud, m.numbers) for m in configuration.modems]
        assert modems == [
            ("sim7600", f"{dev}/ttyUSB2", 115200, (CAROL,)),
            ("sim7600-2", f"{dev}/serial0", 9600, (ALICE,)),
        ]
        # Whatever speeds it tried, every port is left at the one it had.
        assert [speed(device) for device in devices] == before

        status, out, _ = await run_detect("--dev", str(dev), "--timeout", "0.3", "--json")
        found = json.loads(out)
        assert [m["ports"][0]["baud"] for m in found["modems"]] == [115200, 9600]
        assert len(found["not_modems"]) == 32

        # Asked for one speed, it tries that one only.
        status, out, _ = await run_detect(
            "--port", str(dev / "serial0"), "--baud", "115200", "--timeout", "0.3"
        )
        assert status == 1
        assert f"{dev}/serial0: no answer to AT\n" in out + "\n"
        # And the gateway's driver runs the HAT at the speed the block names.
        modem = GsmModem(AtChannel(await open_link(str(dev / "serial0"), 9600)))
        info = await asyncio.wait_for(modem.initialize(), WAIT)
        assert info.identity.numbers == (ALICE,)
        await modem.close()
    finally:
        for server in servers:
            await server.close()
        for master, slave in silent:
            os.close(master)
            os.close(slave)


async def test_no_ports_at_all(tmp_path: Path) -> None:
    status, out, _ = await run_detect("--dev", str(tmp_path))
    assert status == 1
    assert out.startswith(f"no serial ports found under {tmp_path}")


@pytest.mark.parametrize(
    "identity", json.loads(IDENTITIES.read_text())["identities"], ids=lambda i: i["device"]
)
def test_a_modem_is_named_after_its_model_else_its_maker(identity: dict[str, str]) -> None:
    assert modem_id(identity["manufacturer"], identity["model"]) == identity["id"]


def test_modems_of_one_model_are_numbered() -> None:
    def found(manufacturer: str, model: str) -> Found:
        return Found("/dev/x", manufacturer, model, "", "", None, (), None, None)

    modems = [
        found("SIMCOM INCORPORATED", "SIMCOM_SIM7600G-H"),
        found("huawei", "E3372"),
        found("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H"),
        found("SIMCOM INCORPORATED", "SIMCOM_SIM7600G-H"),
    ]
    assert modem_ids(modems) == ["sim7600", "e3372", "sim7600-2", "sim7600-3"]


def test_ports_that_failed_alike_are_written_short() -> None:
    assert port_ranges([f"/dev/ttyS{n}" for n in range(32)]) == "/dev/ttyS{0..31}"
    ports = ["/dev/ttyS1", "/dev/ttyS2", "/dev/serial1", "/dev/ttyS5", "/dev/ttyS7", "/dev/ttyS8"]
    assert port_ranges(ports) == "/dev/ttyS{1..2,5,7..8}, /dev/serial1"
    assert port_ranges(["/dev/ttyS01", "/dev/gps"]) == "/dev/ttyS01, /dev/gps"

"""``smsgw detect`` as its own process against simulated modems on real ptys, beside a pty that
is not a modem: it finds the modems, groups a modem's two AT ports, prints a configuration
block the gateway accepts, and leaves every port as it found it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tomllib
from pathlib import Path

from drivers.at_channel import AtChannel
from drivers.modem import GsmModem
from drivers.simulated import SimulatedModem, SimulatedNetwork, personality
from drivers.simulated.serve import PtyServer
from drivers.transport import open_link
from gateway.config import parse

ALICE = "+15550001001"
BOB = "+15550002002"
WAIT = 30.0


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

"""``smsgw simulate`` as a real process: a pty other software opens like a modem, a control port."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from drivers import MessageStored
from drivers.at.channel import AtChannel
from drivers.at.transport import open_link
from drivers.codec.pdu import Deliver, decode, encode_text
from drivers.modem.driver import GsmModem
from tests.drivers.simulator_rig import SETTINGS, WAIT, Events

SMSGW = Path(sys.executable).parent / "smsgw"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_standalone_simulator_on_a_pty(tmp_path: Path) -> None:
    device = tmp_path / "ttySIM0"
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(SMSGW),
        *("simulate", "--pty", str(device), "--number", "+15550009999"),
        *("--personality", "huawei", "--control", f"127.0.0.1:{port}"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = await asyncio.wait_for(process.stdout.readline(), WAIT)
        assert banner.decode().startswith(f"simulated modem +15550009999 on {device}")
        await asyncio.wait_for(process.stdout.readline(), WAIT)  # the control URL line
        modem = GsmModem(AtChannel(await open_link(str(device))), SETTINGS)
        info = await asyncio.wait_for(modem.initialize(), WAIT)
        assert (info.profile, info.identity.numbers) == ("huawei", ("+15550009999",))
        events = Events(modem, MessageStored)
        (part,) = encode_text("+4915112345678", "Hallo!")
        assert await modem.send_parts([(part.pdu, part.tpdu_length)]) == [0]
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            reply = await http.post("/inject", json={"from": "+4915112345678", "text": "Antwort"})
            assert reply.status == 200
            stored = await events.next(MessageStored)
            entry = await modem.read_message(stored.storage, stored.index)
            assert entry is not None
            message = decode(entry.pdu, entry.length)
            assert isinstance(message, Deliver) and message.text == "Antwort"
            submissions = await (await http.get("/submissions")).json()
            assert [(s["to"], s["text"]) for s in submissions] == [("+4915112345678", "Hallo!")]
        await modem.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, err.decode()
    assert not device.exists()  # the "device" goes away with the simulator


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate"], "one of the arguments --pty --tcp --pty-dir is required"),
        (["simulate", "--tcp", "nonsense"], "--tcp must be HOST:PORT, not 'nonsense'"),
        (["simulate", "--pty", "/nonexistent/dir/tty"], "cannot create /nonexistent/dir/tty"),
        (["simulate", "--tcp", "127.0.0.1:1", "--personality", "nokia"], "invalid choice: 'nokia'"),
        (["simulate", "--tcp", "127.0.0.1:1", "--baud", "9600"], "--baud goes with --pty"),
        (["simulate", "--tcp", "127.0.0.1:1", "--report-delay", "-1"], "--report-delay must"),
        (["simulate", "--tcp", "127.0.0.1:1", "--report-delay", "nan"], "--report-delay must"),
        (["simulate", "--tcp", "127.0.0.1:1", "--ack-timeout", "-1"], "--ack-timeout must"),
        (["simulate", "--tcp", "127.0.0.1:1", "--ack-timeout", "inf"], "--ack-timeout must"),
        (["simulate", "--pty", "/tmp/x", "--baud", "12345"], "12345 is not a line speed"),
        (["simulate", "--pty-dir", "/tmp", "--count", "0"], "--count must be from 1 to 64"),
        (["simulate", "--pty-dir", "/tmp", "--count", "100000"], "--count must be from 1 to"),
        (["simulate", "--pty-dir", "/nonexistent/dir"], "--pty-dir /nonexistent/dir is not a"),
        (["simulate", "--pty-dir", "/etc/hostname"], "--pty-dir /etc/hostname is not a dir"),
        (["simulate", "--pty", "/tmp/x", "--count", "3"], "--count goes with --pty-dir"),
        (["simulate", "--pty-dir", "/tmp", "--number", "alice"], "--number must be digits"),
        (["simulate", "--pty-dir", "/tmp", "--count", "3", "--number", "+98"], "do not fit"),
    ],
)
def test_bad_arguments_are_one_line(argv: list[str], message: str) -> None:
    result = subprocess.run(
        [str(SMSGW), *argv, "--control", f"127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr


async def test_two_simulators_started_alike_each_get_a_control_port(tmp_path: Path) -> None:
    # Once both took 127.0.0.1:8765 by default, and the second one stopped there: as the
    # README's two examples did, run one after the other.
    started = [
        await asyncio.create_subprocess_exec(
            str(SMSGW),
            *("simulate", "--pty", str(tmp_path / f"ttySIM{n}")),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(2)
    ]
    try:
        controls = []
        for process in started:
            assert process.stdout is not None
            await asyncio.wait_for(process.stdout.readline(), WAIT)  # the modem's line
            line = (await asyncio.wait_for(process.stdout.readline(), WAIT)).decode()
            assert line.startswith("control: http://127.0.0.1:"), line
            controls.append(line.removeprefix("control: ").strip())
        assert controls[0] != controls[1]
        async with aiohttp.ClientSession() as http:
            for url in controls:
                async with http.get(url) as state:
                    assert state.status == 200
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):  # one that could not start is gone
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.communicate(), WAIT)
    assert [process.returncode for process in started] == [0, 0]


async def test_a_fleet_of_modems_on_ptys_texts_itself(tmp_path: Path) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(SMSGW),
        *("simulate", "--pty-dir", str(tmp_path), "--count", "3"),
        *("--number", "+15550001001", "--control", f"127.0.0.1:{port}"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = [
            (await asyncio.wait_for(process.stdout.readline(), WAIT)).decode() for _ in "1234"
        ]
        for i, line in enumerate(banner[:3]):
            assert line.startswith(f"simulated modem +1555000100{i + 1} on {tmp_path}/ttySIM{i}")
        assert banner[3].strip() == f"control: http://127.0.0.1:{port}/modems"
        first, third = [
            GsmModem(AtChannel(await open_link(str(tmp_path / f"ttySIM{i}"))), SETTINGS)
            for i in (0, 2)
        ]
        for modem in (first, third):
            await asyncio.wait_for(modem.initialize(), WAIT)
        events = Events(third, MessageStored)
        (part,) = encode_text("+15550001003", "Hello, neighbour")
        assert await first.send_parts([(part.pdu, part.tpdu_length)]) == [0]
        assert await _received(third, events) == ("+15550001001", "Hello, neighbour")
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            listing = await (await http.get("/modems")).json()
            assert [(m["index"], m["numbers"], m["path"]) for m in listing] == [
                (i, [f"+1555000100{i + 1}"], str(tmp_path / f"ttySIM{i}")) for i in range(3)
            ]
            for i in range(3):
                state = await (await http.get(f"/modems/{i}/state")).json()
                assert state["numbers"] == [f"+1555000100{i + 1}"]
            reply = await http.post(
                "/modems/2/inject", json={"from": "+447700900123", "text": "Hi"}
            )
            assert reply.status == 200
            assert await _received(third, events) == ("+447700900123", "Hi")
            commands = await (await http.get("/modems/1/commands")).json()
            assert commands == []  # nobody opened the middle one
            assert (await http.get("/modems/3/state")).status == 404
        for modem in (first, third):
            await modem.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, err.decode()
    assert list(tmp_path.iterdir()) == []  # every "device" goes away with the simulator


async def _received(modem: GsmModem, events: Events) -> tuple[str, str | None]:
    stored = await events.next(MessageStored)
    entry = await modem.read_message(stored.storage, stored.index)
    assert entry is not None
    message = decode(entry.pdu, entry.length)
    assert isinstance(message, Deliver)
    return message.originator.number, message.text

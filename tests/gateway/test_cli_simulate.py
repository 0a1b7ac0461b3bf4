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
        (["simulate"], "one of the arguments --pty --tcp is required"),
        (["simulate", "--tcp", "nonsense"], "--tcp must be HOST:PORT, not 'nonsense'"),
        (["simulate", "--pty", "/nonexistent/dir/tty"], "cannot create /nonexistent/dir/tty"),
        (["simulate", "--tcp", "127.0.0.1:1", "--personality", "nokia"], "invalid choice: 'nokia'"),
        (["simulate", "--tcp", "127.0.0.1:1", "--baud", "9600"], "--baud goes with --pty"),
        (["simulate", "--tcp", "127.0.0.1:1", "--report-delay", "-1"], "--report-delay must"),
        (["simulate", "--tcp", "127.0.0.1:1", "--report-delay", "nan"], "--report-delay must"),
        (["simulate", "--pty", "/tmp/x", "--baud", "12345"], "12345 is not a line speed"),
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

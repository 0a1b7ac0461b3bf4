"""``SIGHUP`` under load, with the gateway as its own process (``smsgw serve``): messages are
created all the time through the API while the configuration changes its numbers, services
and modems (one reopened on a real pty, one added, one removed, one left alone), then while a
file with a mistake is refused. Every message answered 201 is sent, each part once; the
webhook added by the reload works; the refused file changes nothing."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import aiohttp

from tests.e2e.served import SMSGW, WAIT, GatewayToml, free_port, listed, process
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, CAROL, basic_auth
from tests.gateway.webhook_receiver import Receiver

DAVE: Final = "+15550004004"
SERVICE: Final = "MG" + "d4" * 16
MESSAGES: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"
MISTAKE: Final = 'modems[3].port: required when driver = "serial" (e.g. /dev/ttyUSB2)'
BATCH: Final = 25  # messages created between two steps of the test, at least
LATENCY: Final = 0.02  # seconds each of alice's AT+CMGS takes


def configuration(api: int, data_dir: Path, device: Path, receiver: Receiver, step: int) -> str:
    """The file at each step: 1 at start; 2 reloaded (alice's send_rate changed, carol
    removed, dave added, bob's webhook set, dave in the service); 3 step 2 with a mistake, and
    bob's webhook gone (which must not take effect)."""
    toml = GatewayToml(f"127.0.0.1:{api}", data_dir, {"shutdown_grace": 5})
    alice = toml.modem("alice", "serial", [ALICE], port=str(device))
    toml.modem("bob", "simulated", [BOB])
    pool = [ALICE, BOB]
    if step == 1:
        toml.modem("carol", "simulated", [CAROL])
    else:
        alice["send_rate"] = 50.0
        toml.modem("dave", "simulated", [DAVE])
        pool.append(DAVE)
    if step == 3:
        toml.modem("erin", "serial", ["+15550005005"])  # modems[3], and no port
    toml.service(SERVICE, "Load", pool)
    if step == 2:
        toml.number(BOB, sms_url=receiver.url("/sms"))
    return toml.text()


class Output:
    """Every line a process writes, as it comes, to await."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.get_running_loop().create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode().rstrip("\n"))
            async with self._changed:
                self._changed.notify_all()

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    async def line(self, text: str, after: int = 0) -> str:
        """The first line containing ``text`` past the first ``after`` lines, once written."""

        def found() -> str | None:
            return next((line for line in self.lines[after:] if text in line), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(found), WAIT)
        line = found()
        assert line is not None
        return line

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


class Load:
    """Messages created one after another through the API until stopped: from alice (on the
    pty), bob, and the service; from dave once he is there. Each body is its own."""

    def __init__(self, http: aiohttp.ClientSession, receiver: Receiver) -> None:
        self.http = http
        self.callback = receiver.url("/status")
        self.senders: list[dict[str, str]] = [
            {"From": ALICE},
            {"From": BOB},
            {"MessagingServiceSid": SERVICE},
        ]
        self.created: list[str] = []  # SIDs answered 201
        self.refused: list[tuple[int, str]] = []
        self._stop = asyncio.Event()
        self._grown = asyncio.Condition()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            form = {
                "To": f"+4477009{n % 100000:05d}",
                "Body": f"load message {n}",
                "StatusCallback": self.callback,
                **self.senders[n % len(self.senders)],
            }
            reply = await self.http.post(MESSAGES, data=form)
            if reply.status == 201:
                self.created.append((await reply.json())["sid"])
            else:
                self.refused.append((reply.status, await reply.text()))
            n += 1
            async with self._grown:
                self._grown.notify_all()

    async def more(self, count: int = BATCH) -> None:
        """Returns once ``count`` more messages have been created."""
        target = len(self.created) + count
        async with self._grown:
            await asyncio.wait_for(self._grown.wait_for(lambda: len(self.created) >= target), WAIT)

    async def stop(self) -> None:
        self._stop.set()
        await self._task


@asynccontextmanager
async def serving(path: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, Output]]:
    serve = ("serve", "--config", str(path))
    async with process(*serve, ready="smsgw is listening", drain=False) as gateway:
        assert gateway.stdout is not None
        output = Output(gateway.stdout)  # read on: a full pipe would stall its logging
        try:
            yield gateway, output
        finally:
            gateway.send_signal(signal.SIGTERM)
            await gateway.wait()
            await output.close()


async def sent_by_number(http: aiohttp.ClientSession) -> dict[str, tuple[str, str, str]]:
    """Each outbound message's (body, status, From), as the API lists them. The From is the
    number its modem sent it from: each modem here has one number of its own."""
    return {
        m["sid"]: (m["body"], m["status"], m["from"])
        for m in await listed(http)
        if m["direction"] != "inbound"
    }


def sms(receiver: Receiver, body: str) -> bool:
    """Whether the inbound webhook for ``body`` came, signed."""
    return any(
        r.path == "/sms" and r.params.get("Body") == body and r.signed for r in receiver.requests
    )


async def test_sighup_under_load_loses_nothing_and_a_mistake_changes_nothing(
    tmp_path: Path,
) -> None:
    device, control, api = tmp_path / "ttySIM0", free_port(), free_port()
    data_dir, path = tmp_path / "data", tmp_path / "gateway.toml"
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()

    def write(step: int) -> None:
        path.write_text(configuration(api, data_dir, device, receiver, step))

    write(1)
    simulator = ("simulate", "--pty", str(device), "--number", ALICE)
    try:
        async with (
            process(*simulator, "--control", f"127.0.0.1:{control}", ready="simulated modem"),
            aiohttp.ClientSession(f"http://127.0.0.1:{control}") as sim,
            serving(path) as (gateway, output),
            aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
        ):
            # A part of alice's is always on the air: her reopening must let it land first.
            await sim.post("/latency", json={"seconds": LATENCY})
            load = Load(http, receiver)
            await load.more()

            write(2)
            seen = len(output.lines)
            gateway.send_signal(signal.SIGHUP)  # while the load goes on
            reloaded = await output.line("configuration reloaded:", after=seen)
            assert reloaded.endswith(
                f"configuration reloaded: numbers: {BOB} sms_url set; services: changed "
                f"{SERVICE} (Load) (numbers); modems: added dave, removed carol, changed alice "
                "(send_rate)"
            )
            load.senders.append({"From": DAVE})
            await load.more()
            # The webhook the reload set: dave texts bob on the gateway's simulated network.
            await http.post(MESSAGES, data={"To": BOB, "From": DAVE, "Body": "webhook, at once"})
            await receiver.until(lambda: sms(receiver, "webhook, at once"), WAIT)

            write(3)
            seen = len(output.lines)
            gateway.send_signal(signal.SIGHUP)
            refused = await output.line(MISTAKE, after=seen)
            assert refused.endswith(
                f"ERROR gateway.cli.serve: configuration: {MISTAKE}; not reloaded: the gateway "
                "runs on as it was"
            )
            await load.more()
            await http.post(MESSAGES, data={"To": BOB, "From": DAVE, "Body": "webhook, still"})
            await load.stop()
            await receiver.until(lambda: sms(receiver, "webhook, still"), WAIT)
            finals = await _all_sent(receiver, load.created)
            submissions = await (await sim.get("/submissions")).json()
            sent_by = await sent_by_number(http)
        assert output.count("configuration reloaded:") == 1  # the refused file changed nothing
        assert (output.count("alice: ready"), output.count("bob: ready")) == (2, 1)
    finally:
        await receiver.stop()

    assert load.refused == []
    assert len(load.created) >= 3 * BATCH
    assert set(finals.values()) <= {"sent", "delivered"}
    assert set(sent_by) >= set(load.created)  # every 201 was committed, and sent
    assert all(sent_by[sid][1] in ("sent", "delivered") for sid in load.created)
    # Each part through the pty once: none lost, none repeated across alice's reopening.
    texts = sorted(item["text"] for item in submissions)
    assert texts == sorted(body for body, _, number in sent_by.values() if number == ALICE)


async def _all_sent(receiver: Receiver, sids: list[str]) -> dict[str, str]:
    """Each message's last status by its callbacks, once every one has said sent (or
    further)."""

    def finals() -> dict[str, str]:
        last: dict[str, str] = {}
        for request in receiver.requests:
            if request.path == "/status":
                status = request.params["MessageStatus"]
                if status in ("sent", "delivered", "undelivered", "failed"):
                    last[request.params["MessageSid"]] = status
        return last

    await receiver.until(lambda: set(sids) <= set(finals()), timeout=6 * WAIT)
    return finals()


async def test_a_mistake_at_start_is_the_same_line(tmp_path: Path) -> None:
    """The line a refused reload logs is the one a start with that file prints."""
    receiver = Receiver(ACCOUNT.auth_token)  # only its URL is written in the file
    receiver.port = free_port()
    path = tmp_path / "gateway.toml"
    path.write_text(configuration(free_port(), tmp_path, tmp_path / "tty", receiver, 3))
    child = await asyncio.create_subprocess_exec(
        str(SMSGW), "serve", "--config", str(path), stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(child.communicate(), WAIT)
    assert (child.returncode, stderr.decode()) == (2, f"smsgw serve: configuration: {MISTAKE}\n")

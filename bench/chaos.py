"""Chaos run: the gateway as its own process against two simulated modems in processes of
their own (one on a pty, one over TCP), messages created and received all the time, and, at
moments drawn from a seed, the gateway killed (``kill -9``, the ``> `` prompt included), its disk
filled and freed (on a tmpfs, where one can be mounted), and faults put on the lines.

Each round starts the gateway, creates messages through the API (single and two-part, each with
a status callback) and has handsets text both modems, then injects the round's line faults
(garbage bytes, the line dropped and back, the network lost and back), fills the disk and frees
it, and kills the gateway at the round's moment (:mod:`bench.simulator_control`) on one modem.
After the last round a gateway drains everything and is stopped with SIGTERM.

Then it checks, from the simulators' networks, the gateway's database (read-only) and what the
webhook receiver got:

- every create answered 201 is stored and was sent (``sent`` or ``delivered``), each of its
  parts accepted by its modem's network; a part went twice only where a kill (or a line drop,
  or the disk refusing the commit of its TP-MR) caught it on the air: at most one each;
- every message a handset sent was made once;
- every webhook is confirmed (delivered, none pending or given up), and the receiver got each
  inbound message's webhook, signed; one went again only where a kill came before its
  confirmation was committed (same ``I-Twilio-Idempotency-Token``): at most the requests in
  flight to the receiver at each kill.

``python -m bench.chaos --minutes N [--seed S]`` runs rounds for N minutes and prints a report
for BENCHMARKS.md; tests/e2e/test_chaos.py runs three rounds in ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import math
import random
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bench.disk import fill, tmpfs
from bench.harness import markdown_table, run_header
from bench.simulator_control import MOMENTS, await_moment, counts, prepare_moment
from gateway.webhooks.sender import PER_DESTINATION

ACCOUNT_SID: Final = "AC" + "ca05" * 8
AUTH_TOKEN: Final = "chaos-auth-token-0123456789abcdef"
DATABASE: Final = "smsgw.sqlite3"  # gateway.store.sqlite.DATABASE_NAME, read from outside
SMSGW: Final = Path(sys.executable).parent / "smsgw"
LINE_FAULTS: Final = ("garbage", "drop", "no_service")
MODEMS: Final = (("pty", "+15550007001", "serial"), ("tcp", "+15550007002", "tcp"))
LATENCY_S: Final = 0.02  # each AT+CMGS in the simulators: a part is on the air a while
WAIT_S: Final = 20.0  # the bound on any one wait for a process to do something
DRAIN_S: Final = 120.0  # the bound on the last gateway's catching up


@dataclass(frozen=True, slots=True)
class Sim:
    """A simulated modem in its own process: its number, the gateway's ``port`` for it, and
    its control interface."""

    name: str
    number: str
    driver: str  # "serial" or "tcp"
    port: str
    control: str
    process: asyncio.subprocess.Process


@dataclass
class Round:
    moment: str
    modem: str
    line_faults: list[tuple[str, str]]  # (fault, modem)
    disk: bool
    refused_creates: int = 0  # 503s while the disk was full


@dataclass
class Run:
    seed: int
    rounds: list[Round] = field(default_factory=list)
    created: dict[str, tuple[str, int]] = field(default_factory=dict)  # SID -> (to, parts)
    injected: list[str] = field(default_factory=list)
    disk_possible: bool = False
    started: float = field(default_factory=time.monotonic)
    drained_s: float = 0.0
    submissions: list[dict[str, Any]] = field(default_factory=list)
    outbound: dict[str, str] = field(default_factory=dict)  # SID -> status
    inbound: dict[str, str] = field(default_factory=dict)  # SID -> body, of those received
    receiving: int = 0  # inbound messages still waiting for a part
    webhook_states: Counter[str] = field(default_factory=Counter)
    received: list[tuple[str, str, str, bool]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)  # moments that did not come (killed anyway)

    @property
    def kills(self) -> int:
        return len(self.rounds)

    def allowed_repeats(self) -> int:
        """Parts that may have gone twice: one per kill, per line drop, per modem at each full
        disk (a part accepted whose TP-MR could not be committed goes again)."""
        drops = sum(fault == "drop" for r in self.rounds for fault, _ in r.line_faults)
        return self.kills + drops + 2 * sum(r.disk for r in self.rounds)


# --- the webhook receiver --------------------------------------------------------------------


class Receiver:
    """Takes every webhook (200, no TwiML), checks its signature with twilio's validator."""

    def __init__(self) -> None:
        self.validator = RequestValidator(AUTH_TOKEN)
        self.received: list[tuple[str, str, str, bool]] = []  # path, token, MessageSid, signed
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path}", self._take)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def _take(self, request: web.Request) -> web.Response:
        params = {
            key: value for key, value in (await request.post()).items() if isinstance(value, str)
        }
        signed = self.validator.validate(
            self.url(request.match_info["path"]),
            params,
            request.headers.get("X-Twilio-Signature", ""),
        )
        token = request.headers.get("I-Twilio-Idempotency-Token", "")
        self.received.append((request.path, token, params.get("MessageSid", ""), signed))
        return web.Response(text="<Response/>", content_type="application/xml")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _until_line(process: asyncio.subprocess.Process, text: str) -> None:
    assert process.stdout is not None
    async with asyncio.timeout(WAIT_S):
        while text not in (line := (await process.stdout.readline()).decode()):
            if not line:
                raise RuntimeError(f"a process ended before printing {text!r}")


async def start_simulator(name: str, number: str, driver: str, directory: Path) -> Sim:
    control = f"127.0.0.1:{free_port()}"
    if driver == "serial":
        where = ("--pty", str(directory / f"tty{name}"))
        port = where[1]
    else:
        listen = f"127.0.0.1:{free_port()}"
        where, port = ("--tcp", listen), f"tcp://{listen}"
    process = await asyncio.create_subprocess_exec(
        str(SMSGW),
        *("simulate", *where, "--number", number, "--control", control),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await _until_line(process, "simulated modem")
    return Sim(name, number, driver, port, f"http://{control}", process)


def write_config(
    path: Path, api: int, data_dir: Path, sims: Sequence[Sim], sms_url: str, *, log_level: str
) -> None:
    modems = "\n".join(
        f'[[modems]]\nid = "{sim.name}"\ndriver = "{sim.driver}"\nport = "{sim.port}"\n'
        f'numbers = ["{sim.number}"]\nmax_backlog = 0\n\n'
        f'[[numbers]]\nnumber = "{sim.number}"\nsms_url = "{sms_url}"\n'
        for sim in sims
    )
    path.write_text(
        f'[gateway]\nlisten = "127.0.0.1:{api}"\ndata_dir = "{data_dir}"\n'
        f'log_level = "{log_level}"\nhealth_interval = 0\nwebhook_timeout = 5\n\n'
        f'[[accounts]]\nsid = "{ACCOUNT_SID}"\nauth_token = "{AUTH_TOKEN}"\n\n{modems}'
    )


@contextlib.asynccontextmanager
async def gateway(config: Path, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """``smsgw serve`` until it says it listens, everything it writes appended to ``log``;
    killed (not stopped) on the way out unless the caller ended it."""
    process = await asyncio.create_subprocess_exec(
        str(SMSGW),
        *("serve", "--config", str(config)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    listening = asyncio.Event()
    copying = asyncio.create_task(_copy(process, log, listening))
    try:
        async with asyncio.timeout(WAIT_S):
            await asyncio.wait(
                [copying, asyncio.ensure_future(listening.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        if not listening.is_set():
            raise RuntimeError(f"smsgw serve ended before it listened: see {log}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await copying


async def _copy(process: asyncio.subprocess.Process, log: Path, listening: asyncio.Event) -> None:
    """What the gateway writes (its log, its banner), read as it comes so that its pipe never
    fills, into ``log``."""
    assert process.stdout is not None
    with log.open("ab") as sink:
        while line := await process.stdout.readline():
            sink.write(line)
            if b"smsgw is listening" in line:
                listening.set()
                sink.flush()


# --- load and faults -------------------------------------------------------------------------


async def health(http: aiohttp.ClientSession) -> int:
    async with http.get("/healthz") as reply:
        await reply.read()
        return reply.status


async def until_ready(http: aiohttp.ClientSession, modem: str) -> None:
    # Another process: its modems' states are what `smsgw modems` shows.
    async with asyncio.timeout(WAIT_S):
        while True:
            async with http.get("/smsgw/modems.json") as reply:
                states = {item["id"]: item["state"] for item in await reply.json()}
            if states.get(modem) == "ready":
                return
            await asyncio.sleep(0.05)


async def until_health(http: aiohttp.ClientSession, status: int) -> None:
    # The gateway is another process: /healthz is what a supervisor would poll.
    async with asyncio.timeout(WAIT_S):
        while await health(http) != status:
            await asyncio.sleep(0.05)


def plan_round(rng: random.Random, sims: Sequence[Sim], disk: bool) -> Round:
    faults = [(fault, rng.choice(sims).name) for fault in LINE_FAULTS if rng.random() < 0.5]
    return Round(rng.choice(MOMENTS), rng.choice(sims).name, faults, disk and rng.random() < 0.4)


@dataclass
class Bench:
    """What every round works with: the run so far, the simulators and their controls, the
    gateway's configuration, and where its data and log are."""

    run: Run
    sims: dict[str, Sim]
    controls: dict[str, aiohttp.ClientSession]
    api: int
    config: Path
    log: Path
    data_dir: Path
    hooks: str

    async def create(self, http: aiohttp.ClientSession, sim: Sim, to: str, parts: int) -> int:
        body = f"{to} " + ("chaos " * 30) * (parts - 1) + "end"
        form = {
            "To": to,
            "From": sim.number,
            "Body": body,
            "StatusCallback": f"{self.hooks}/status",
        }
        path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        async with http.post(path, data=form) as reply:
            answer = await reply.json()
        if reply.status == 201:
            self.run.created[answer["sid"]] = (to, int(answer["num_segments"]))
        elif reply.status != 503:  # 503: the disk is full, nothing was accepted
            raise AssertionError(f"create answered {reply.status}: {answer}")
        return reply.status

    async def load(self, http: aiohttp.ClientSession, number: int) -> None:
        """Four messages from each modem (every other one two parts long), and two texts to
        each (one two parts long) from handsets."""
        for index, sim in enumerate(self.sims.values()):
            for n in range(4):
                await self.create(http, sim, f"+4477{number % 1000:03d}{index}{n:04d}", 1 + n % 2)
            for n in range(2):
                text = f"inbound {number}.{index}.{n} " + ("part " * 40) * (n % 2)
                handset = f"+4478{number % 1000:03d}{index}{n:04d}"
                inject = {"from": handset, "text": text}
                async with self.controls[sim.name].post("/inject", json=inject) as reply:
                    assert reply.status == 200, await reply.text()
                self.run.injected.append(text)

    async def line_fault(self, name: str, fault: str) -> None:
        control, sim = self.controls[name], self.sims[name]
        if fault == "garbage":
            await (await control.post("/garbage")).read()
        elif fault == "drop":
            await (await control.post("/drop")).read()
            if sim.driver == "serial":
                await (await control.post("/plug")).read()  # the pty comes back at its path
        else:  # the network lost, then back
            await (await control.post("/registration", json={"stat": 0})).read()
            await (await control.post("/registration", json={"stat": 1})).read()

    async def disk_fault(self, http: aiohttp.ClientSession, sim: Sim, number: int) -> int:
        """Fill the disk, create while it is full (201, or a clean 503), free it, and wait
        for the gateway to say it is ready again; returns the creates refused."""
        filler = fill(self.data_dir)
        refused = 0
        try:
            for n in range(20):
                to = f"+4479{number % 1000:03d}0{n:04d}"
                refused += await self.create(http, sim, to, 1) == 503
            await until_health(http, 503)
        finally:
            filler.unlink()
        await until_health(http, 200)
        return refused

    async def round(self, plan: Round, number: int) -> None:
        """Start the gateway, load it, put the round's faults on it, kill it at its moment."""
        sim, control = self.sims[plan.modem], self.controls[plan.modem]
        credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        headers = {"Authorization": f"Basic {credentials}"}
        async with (
            gateway(self.config, self.log) as process,
            aiohttp.ClientSession(f"http://127.0.0.1:{self.api}", headers=headers) as http,
        ):
            await self.load(http, number)
            for fault, name in plan.line_faults:
                await self.line_fault(name, fault)
            if plan.disk:
                plan.refused_creates = await self.disk_fault(http, sim, number)
            # The moment is the modem's next of its kind, whatever the backlog is doing: one
            # more message (and, for AT+CMGL, one more text to read, besides that message's
            # delivery report) makes sure it comes once the modem is back in service from the
            # round's faults ("ready" may still be from before a drop the gateway has not yet
            # noticed; a sweep of the next connection lists with AT+CMGL too).
            await until_ready(http, plan.modem)
            target = (await counts(control)).get(plan.moment, 0) + 1
            await prepare_moment(control, plan.moment)
            if plan.moment == "cmgl":  # a text to read; the message's report is one too
                text = f"inbound {number} at the kill"
                inject = {"from": f"+4478{number % 1000:03d}9{number:04d}", "text": text}
                async with control.post("/inject", json=inject) as reply:
                    assert reply.status == 200, await reply.text()
                self.run.injected.append(text)
            await self.create(http, sim, f"+4476{number % 1000:03d}00000", 1)
            try:
                await await_moment(control, plan.moment, target)
            except AssertionError as exc:  # the kill lands all the same, elsewhere
                async with http.get("/smsgw/modems.json") as reply:
                    states = {
                        item["id"]: (item["state"], item["error"]) for item in await reply.json()
                    }
                now = await _modem_now(control)
                self.run.missed.append(f"round {number}: {exc}; {now}; the gateway's {states}")
            process.send_signal(signal.SIGKILL)  # right there
            await process.wait()
        await (await control.post("/latency", json={"seconds": LATENCY_S})).read()


async def _modem_now(control: aiohttp.ClientSession) -> str:
    """What the simulated modem was doing: its state's flags and its last commands."""
    async with control.get("/state") as reply:
        state = await reply.json()
    async with control.get("/commands") as reply:
        commands = await reply.json()
    flags = {key: state[key] for key in ("data_mode", "prompt_held", "submitting", "registration")}
    return f"modem {flags}, {state['faults']}, last commands {commands[-8:]}"


def read_database(run: Run, data_dir: Path) -> None:
    with sqlite3.connect(f"file:{data_dir / DATABASE}?mode=ro", uri=True) as db:
        run.outbound = dict(
            db.execute("SELECT sid, status FROM messages WHERE direction != 'inbound'").fetchall()
        )
        # Received only: a long message still 'receiving' its parts is not made yet.
        run.inbound = dict(
            db.execute(
                "SELECT sid, body FROM messages WHERE direction = 'inbound' AND status = 'received'"
            ).fetchall()
        )
        (run.receiving,) = db.execute(
            "SELECT count(*) FROM messages WHERE direction = 'inbound' AND status = 'receiving'"
        ).fetchone()
        run.webhook_states = Counter(
            dict(db.execute("SELECT state, count(*) FROM webhooks GROUP BY state").fetchall())
        )


def drained(run: Run) -> bool:
    return (
        set(run.outbound) == set(run.created)
        and all(status in ("sent", "delivered") for status in run.outbound.values())
        and len(run.inbound) >= len(run.injected)
        and run.receiving == 0
        and run.webhook_states.get("pending", 0) == 0
    )


async def drain(run: Run, config: Path, log: Path, data_dir: Path) -> None:
    began = time.monotonic()
    async with gateway(config, log) as process:
        async with asyncio.timeout(DRAIN_S):  # another process: read its database
            while True:
                read_database(run, data_dir)
                if drained(run):
                    break
                await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        if await process.wait() != 0:
            run.problems.append(f"the last gateway exited {process.returncode} on SIGTERM")
    run.drained_s = time.monotonic() - began


def check(run: Run) -> None:
    """Every invariant of the module's docstring; what fails goes into ``run.problems``."""
    problems = run.problems
    if set(run.outbound) != set(run.created):
        problems.append(f"stored {len(run.outbound)} outbound messages, created {len(run.created)}")
    unsent = [sid for sid, status in run.outbound.items() if status not in ("sent", "delivered")]
    if unsent:
        problems.append(f"{len(unsent)} messages not sent: {unsent[:3]}")
    parts: Counter[tuple[str, int]] = Counter()
    for item in run.submissions:
        parts[item["to"], item["concatenation"][0] if item["concatenation"] else 1] += 1
    expected = {(to, n) for to, total in run.created.values() for n in range(1, total + 1)}
    if missing := expected - set(parts):
        problems.append(f"{len(missing)} parts never went: {sorted(missing)[:3]}")
    repeats = sum(count - 1 for key, count in parts.items() if key in expected)
    if repeats > run.allowed_repeats():
        problems.append(f"{repeats} parts went twice, more than {run.allowed_repeats()} allowed")
    made = Counter(run.inbound.values())
    if sorted(made.elements()) != sorted(run.injected):
        wrong = [text for text in run.injected if made[text] != 1]
        problems.append(f"{len(wrong)} inbound messages not made exactly once: {wrong[:2]}")
    if run.receiving:
        problems.append(f"{run.receiving} inbound messages still receiving a part")
    if set(run.webhook_states) - {"delivered"}:
        problems.append(f"webhooks not all confirmed: {dict(run.webhook_states)}")
    sms = [(token, sid, signed) for path, token, sid, signed in run.received if path == "/sms"]
    if not all(signed for *_, signed in run.received):
        problems.append("a webhook came without a valid X-Twilio-Signature")
    if missing_hooks := set(run.inbound) - {sid for _, sid, _ in sms}:
        problems.append(f"{len(missing_hooks)} inbound messages never reached the receiver")
    repeated_hooks = sum(count - 1 for count in Counter(token for token, *_ in sms).values())
    # A kill catches every request in flight to the receiver: up to PER_DESTINATION of them
    # (inbound messages listed together from a storage, issue 17, go out together).
    if repeated_hooks > run.kills * PER_DESTINATION:
        problems.append(
            f"{repeated_hooks} inbound webhooks went twice, more than {PER_DESTINATION} a kill"
        )


async def chaos(
    seed: int,
    *,
    rounds: int | None = None,
    minutes: float | None = None,
    directory: Path,
    log_level: str = "warning",
) -> Run:
    """Run the chaos in ``directory`` until ``rounds`` rounds or ``minutes`` have passed."""
    rng = random.Random(seed)
    run = Run(seed)
    receiver = Receiver()
    await receiver.start()
    data_dir = directory / "data"
    sims: dict[str, Sim] = {}
    try:
        # Room for the database of the run (about 3 MB a minute of rounds), and no more: each
        # full disk is filled to its last byte.
        with tmpfs(data_dir, f"{64 + 4 * math.ceil(minutes or 0)}m") as refused:
            run.disk_possible = refused is None
            for name, number, driver in MODEMS:
                sims[name] = await start_simulator(name, number, driver, directory)
            api, config = free_port(), directory / "gateway.toml"
            sms_url = receiver.url("sms")
            write_config(config, api, data_dir, list(sims.values()), sms_url, log_level=log_level)
            async with contextlib.AsyncExitStack() as stack:
                controls = {
                    name: await stack.enter_async_context(aiohttp.ClientSession(sim.control))
                    for name, sim in sims.items()
                }
                bench = Bench(
                    run,
                    sims,
                    controls,
                    api,
                    config,
                    directory / "gateway.log",
                    data_dir,
                    f"http://127.0.0.1:{receiver.port}",
                )
                for control in controls.values():
                    await (await control.post("/latency", json={"seconds": LATENCY_S})).read()
                deadline = None if minutes is None else time.monotonic() + minutes * 60
                while (rounds is None or len(run.rounds) < rounds) and (
                    deadline is None or time.monotonic() < deadline
                ):
                    plan = plan_round(rng, list(sims.values()), run.disk_possible)
                    run.rounds.append(plan)
                    await bench.round(plan, len(run.rounds))
                await drain(run, config, bench.log, data_dir)
                for control in controls.values():
                    async with control.get("/submissions") as reply:
                        run.submissions += await reply.json()
    finally:
        for sim in sims.values():
            if sim.process.returncode is None:
                sim.process.terminate()
            await sim.process.wait()
        await receiver.stop()
    run.received = list(receiver.received)
    check(run)
    return run


def report(run: Run, command: str | None = None) -> str:
    moments = Counter(r.moment for r in run.rounds)
    faults = Counter(fault for r in run.rounds for fault, _ in r.line_faults)
    disks = sum(r.disk for r in run.rounds)
    parts = sum(total for _, total in run.created.values())
    rows = [
        [
            "rounds (each ended by a kill -9)",
            f"{run.kills}: " + ", ".join(f"{m} {n}" for m, n in sorted(moments.items())),
        ],
        ["line faults", ", ".join(f"{f} {n}" for f, n in sorted(faults.items())) or "none"],
        [
            "disk filled and freed",
            f"{disks}" + ("" if run.disk_possible else " (no tmpfs: not root)"),
        ],
        ["creates refused 503 while full", f"{sum(r.refused_creates for r in run.rounds)}"],
        ["messages created (201), parts", f"{len(run.created)}, {parts}"],
        [
            "parts accepted by the networks",
            f"{len(run.submissions)} ({len(run.submissions) - parts} again, "
            f"at most {run.allowed_repeats()} allowed)",
        ],
        ["inbound injected, made", f"{len(run.injected)}, {len(run.inbound)}"],
        ["webhooks", ", ".join(f"{s} {n}" for s, n in sorted(run.webhook_states.items()))],
        ["drain after the last kill", f"{run.drained_s:.1f} s"],
        ["moments that did not come (killed anyway)", "; ".join(run.missed) or "none"],
        ["verdict", "every invariant held" if not run.problems else "; ".join(run.problems)],
    ]
    return "\n".join(
        [
            "## Chaos: kills, a full disk and line faults, against processes on a pty and TCP",
            "",
            run_header(command, method=f"seed {run.seed}, {time.monotonic() - run.started:.0f} s"),
            "",
            markdown_table(["", "this run"], rows),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to run rounds")
    parser.add_argument("--seed", type=int, default=12, help="the seed of every choice")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="work in DIR and keep it (the gateway's log)"
    )
    parser.add_argument("--log-level", default="warning", help="the gateway's (default warning)")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        directory = args.keep or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="smsgw-chaos-"))
        )
        directory.mkdir(exist_ok=True)
        run = asyncio.run(
            chaos(args.seed, minutes=args.minutes, directory=directory, log_level=args.log_level)
        )
    print(report(run))
    if run.problems:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Delivery reports through the gateway: the modem's report notification to the status
callback, one report at a time and in a burst.

Set up as :mod:`bench.gateway_inbound`: the gateway runs as its own process (``smsgw serve``,
:mod:`bench.gateway_process`) with one ``[[modems]] driver = "serial"`` on a real pty, and the
simulated modem and its network run in this process (:mod:`bench.inbound_simulator`), so both
ends are timed on one clock. Messages are created through the API with a ``StatusCallback``
pointing at an aiohttp receiver in this process, which checks every request's
``X-Twilio-Signature`` with the twilio package's ``RequestValidator`` and notes when each
``(MessageSid, MessageStatus)`` arrived.

Reports are held back and released at a known moment: every virtual handset is switched off
(``HandsetRule(Fate.PHONE_OFF)``, the network's default rule). A message to one is accepted
and its part held; the network at once sends a TP-ST 0x30 report ("still trying": the gateway
records the part as pending, the message stays ``sent``, no callback).
``SimulatedNetwork.switch_on(handset)`` then delivers the part and sends the final report
(TP-ST 0x00), which the modem stores in ``SR`` and announces with ``+CDSI`` in the next turns
of this process's event loop. t0 is just before ``switch_on``; t1 when the receiver's handler
starts on the message's ``delivered`` callback. Between them: the pty, the driver's
``AT+CMGL`` of ``SR``, one commit (the report, its part, the message ``delivered`` and its
callback), the webhook sender reading its queue, and an HTTP request.

- Latency: 30 warm-up messages, then 1000 one-part messages one at a time, each to a handset of
  its own: created, its ``sent`` callback awaited, its 0x30 report read and deleted from ``SR``,
  20 ms, then released; 20 ms after its ``delivered`` callback, the next. The moment
  ``AT+CMGL`` reached the modem splits the latency into the notification's way to the gateway
  and the rest.
- Burst: 1000 messages to 1000 other handsets, created through the API (16 connections) and
  sent, their 0x30 reports taken, every webhook delivered; then every handset switched on in one
  go, and timed until the last ``delivered`` callback. ``SR`` holds 20 reports in the
  simulator; the network holds the rest and delivers each one as a slot is freed, as a service
  centre retries a full memory.
- Afterwards, for every message: its callbacks must be exactly ``queued``, ``sent``,
  ``delivered``, in that order (counted again 2 s after the last one), with valid signatures;
  the SQLite file must hold every message ``delivered`` and every report (two per message)
  matched to its part; ``GET /smsgw/webhooks.json`` must report every webhook delivered.

Run alone with ``.venv/bin/python -m bench.gateway_reports`` (about a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bench.gateway_inbound import (
    PROBLEM_LINE,
    SIGNATURE_HEADER,
    Commands,
    format_ms,
    percentile,
    webhook_states,
)
from bench.gateway_process import (
    AUTH_TOKEN,
    ModemSpec,
    RunningGateway,
    authorization,
    connect_read_only,
    cpu_times,
    free_port,
    gateway_process,
    status_counts,
)
from bench.harness import markdown_table, run_header
from bench.inbound_simulator import PtyModem, modem_on_pty
from bench.load_client import Body, drive
from bench.simulator import cancelled_by_sigterm
from bench.smsd_inbound import NUMBER
from drivers.simulated.network import Fate, HandsetRule

WARM_UP: Final = 30
MESSAGES: Final = 1000
PAUSE_S: Final = 0.02  # before each release, and after each delivered callback
BURST: Final = 1000
REPORT_STORAGE: Final = "SR"  # where the simulated modem stores reports (AT+CNMI ds=2)
# How the modem hands reports over (python -m bench.gateway_reports [stored|routed]): stored
# (+CDSI; AT+CMGL, the commits, an AT+CMGD each) on a modem that offers no ds=1, or routed
# (+CDS, the commit, AT+CNMA) on a generic one; the command that splits the latency in each.
PATHS: Final = {"stored": ("stored", "AT+CMGL"), "routed": ("generic", "AT+CNMA")}
QUIET_S: Final = 2.0  # after the last callback, for late duplicates
MESSAGE_TIMEOUT_S: Final = 10.0
BURST_TIMEOUT_S: Final = 300.0  # to create and send the burst's messages
RELEASE_TIMEOUT_S: Final = 60.0  # for the burst's callbacks once released
TEXT: Final = "Benchmark message: one part, its delivery report held until released."
LOG_LINES_SHOWN: Final = 5  # of the warnings and errors in the gateway's log
EXPECTED: Final = ("queued", "sent", "delivered")  # each message's callbacks, in order
_BURST_FIRST_HANDSET: Final = 50_000


def handset(index: int) -> str:
    """A virtual handset of its own for each message, so that no two reports share a TP-MR
    and a recipient (TP-MR wraps every 256 parts)."""
    return f"+4477009{index:05d}"


# --- the receiver --------------------------------------------------------------------------------


@dataclass
class CallbackReceiver:
    """The user's application: takes status callbacks, checks their signature, and notes when
    each message's each status arrived (``time.perf_counter``)."""

    port: int = field(default_factory=free_port)
    arrivals: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # by MessageSid
    invalid: int = 0  # requests whose signature RequestValidator rejected
    delivered_without_done_date: int = 0  # delivered callbacks lacking RawDlrDoneDate
    _validator: RequestValidator = field(default_factory=lambda: RequestValidator(AUTH_TOKEN))
    _waiting: dict[tuple[str, str], asyncio.Future[float]] = field(default_factory=dict)
    _sids: dict[str, set[str]] = field(default_factory=dict)  # by status
    _target: tuple[str, int] | None = None
    _reached: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/status"

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()  # before anything else: the callback is here
        params = {name: str(value) for name, value in (await request.post()).items()}
        if not self._validator.validate(
            self.url, params, request.headers.get(SIGNATURE_HEADER, "")
        ):
            self.invalid += 1
        sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
        if status == "delivered" and not params.get("RawDlrDoneDate"):
            self.delivered_without_done_date += 1
        self.arrivals.setdefault(sid, []).append((status, arrived))
        self._sids.setdefault(status, set()).add(sid)
        waiter = self._waiting.pop((sid, status), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrived)
        if self._target is not None and self.count(self._target[0]) >= self._target[1]:
            self._reached.set()
        return web.Response(status=204)

    def count(self, status: str) -> int:
        """How many messages had a callback with ``status``."""
        return len(self._sids.get(status, ()))

    def first(self, sid: str, status: str) -> float | None:
        """When ``sid``'s first callback with ``status`` arrived, if one did."""
        return next((at for seen, at in self.arrivals.get(sid, ()) if seen == status), None)

    async def arrival(self, sid: str, status: str, timeout_s: float) -> float:
        """When ``sid``'s callback with ``status`` arrived (the first one), waiting for it."""
        if (at := self.first(sid, status)) is not None:
            return at
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[(sid, status)] = future
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation (SIGTERM,
        # Ctrl-C) that comes as the callback arrives.
        async with asyncio.timeout(timeout_s):
            return await future

    async def wait_count(self, status: str, count: int, timeout_s: float) -> None:
        """Until ``count`` messages (this run's and earlier) had a callback with ``status``."""
        self._target = (status, count)
        self._reached.clear()
        try:
            if self.count(status) < count:
                async with asyncio.timeout(timeout_s):
                    await self._reached.wait()
        finally:
            self._target = None

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[CallbackReceiver]:
        app = web.Application()
        app.router.add_post("/status", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            yield self
        finally:
            await runner.cleanup()


# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    total_ms: tuple[float, ...]  # release to the delivered callback
    to_read_ms: tuple[float, ...]  # release to AT+CMGL reaching the modem
    gateway_cpu_ms: float  # per report, the gateway's process (all threads)
    timeouts: int  # messages whose sent or delivered callback did not come in time


@dataclass(frozen=True, slots=True)
class Burst:
    reports: int  # released
    delivered: int  # of them, with a delivered callback by the end of the wait
    capacity: int  # of the modem's report storage
    first_s: float  # release of the burst to the first delivered callback
    median_s: float  # to the median one
    last_s: float  # to the last
    reads_s: tuple[float, float]  # release to the first and the last AT+CMGL reaching the modem
    gateway_cpu_ms: float  # per report
    setup_s: float  # creating and sending the burst's messages, before the release

    @property
    def per_second(self) -> float:
        return self.delivered / self.last_s


@dataclass(frozen=True, slots=True)
class Reports:
    """The ``status_reports`` table of the SQLite file."""

    total: int
    matched: int
    by_status: dict[int, int]  # TP-ST -> reports


@dataclass(frozen=True, slots=True)
class Callbacks:
    """Each message's callbacks against :data:`EXPECTED`."""

    messages: int
    as_expected: int  # exactly queued, sent, delivered, in that order
    duplicates: int  # callbacks beyond the first of their status, for their message
    missing: int  # expected callbacks that never came
    out_of_order: int  # messages whose callbacks came in another order
    other: Counter[str]  # statuses outside EXPECTED, with how many callbacks


@dataclass(frozen=True, slots=True)
class Run:
    latency: Latency
    burst: Burst
    callbacks: Callbacks
    invalid_signatures: int
    delivered_without_done_date: int
    statuses: dict[str, int]  # messages by status in the SQLite file
    reports: Reports
    webhooks: dict[str, Any]  # GET /smsgw/webhooks.json after everything
    log_lines: tuple[str, ...]  # warnings and errors in the gateway's log
    created: int
    left_in_storage: int  # reports still in the modem's report storage at the end
    path: str = "stored"  # PATHS


async def _create(
    session: aiohttp.ClientSession, gateway: RunningGateway, to: str, text: str, callback: str
) -> str:
    form = {"To": to, "From": NUMBER, "Body": text, "StatusCallback": callback}
    headers = {"Authorization": authorization()}
    async with session.post(gateway.messages_url, data=form, headers=headers) as response:
        answer: dict[str, Any] = await response.json()
        if response.status != 201:
            raise RuntimeError(f"create answered {response.status}: {answer}")
        return str(answer["sid"])


def _in_storage(modem: PtyModem) -> int:
    """How many reports the modem holds now: in its report storage, or routed and not yet
    acknowledged (the one awaiting AT+CNMA, those queued behind it, those the network kept)."""
    return len(modem.modem.storages[REPORT_STORAGE].slots) + modem.modem.routed_waiting


async def _reports_taken(modem: PtyModem, timeout_s: float, left: int = 0) -> bool:
    """Until the modem's report storage holds no more than the ``left`` reports the gateway
    had already left there: it read, committed and deleted every report it was given since
    (the network fills a freed slot at once from those it holds). False after ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            while _in_storage(modem) > left:
                await asyncio.sleep(0.001)
    except TimeoutError:
        return False
    return True


async def _webhooks_idle(gateway: RunningGateway, timeout_s: float) -> None:
    """Until the gateway has no webhook pending (every callback so far delivered)."""
    async with asyncio.timeout(timeout_s):
        while (await webhook_states(gateway)).get("pending"):
            await asyncio.sleep(0.05)


async def _one_by_one(
    gateway: RunningGateway,
    receiver: CallbackReceiver,
    modem: PtyModem,
    commands: Commands,
    indices: range,
    *,
    marker: str,
) -> Latency:
    totals: list[float] = []
    reads: list[float] = []
    cpu_s = 0.0
    timeouts = 0
    async with aiohttp.ClientSession() as session:
        for index in indices:
            number = handset(index)
            left = _in_storage(modem)
            sid = await _create(session, gateway, number, f"{TEXT} #{index:05d}", receiver.url)
            try:
                await receiver.arrival(sid, "sent", MESSAGE_TIMEOUT_S)
            except TimeoutError:
                timeouts += 1  # the callbacks' check at the end says which is missing
                continue
            # Its 0x30 "still trying" report; one the gateway leaves behind shows at the end.
            await _reports_taken(modem, MESSAGE_TIMEOUT_S, left)
            await asyncio.sleep(PAUSE_S)
            before = cpu_times(gateway.pid)
            mark = len(commands.log)
            released = time.perf_counter()
            modem.network.switch_on(number)
            try:
                arrived = await receiver.arrival(sid, "delivered", MESSAGE_TIMEOUT_S)
            except TimeoutError:
                timeouts += 1
                continue
            totals.append((arrived - released) * 1000)
            read = commands.first_from(mark, marker)
            reads.append(math.nan if read is None else (read - released) * 1000)
            await asyncio.sleep(PAUSE_S)  # the gateway deletes the report, marks the callback
            cpu_s += (cpu_times(gateway.pid) - before).total_s
    cpu_ms = cpu_s / max(1, len(totals)) * 1000
    return Latency(tuple(totals), tuple(reads), cpu_ms, timeouts)


def _burst_body(callback: str) -> Body:
    def body(index: int) -> str:
        number = handset(_BURST_FIRST_HANDSET + index)
        text = f"{TEXT} burst #{index:05d}"
        return urlencode({"To": number, "From": NUMBER, "Body": text, "StatusCallback": callback})

    return body


async def _burst(
    gateway: RunningGateway,
    receiver: CallbackReceiver,
    modem: PtyModem,
    commands: Commands,
    marker: str,
) -> Burst:
    sent_before = receiver.count("sent")
    delivered_before = receiver.count("delivered")
    left = _in_storage(modem)
    started = time.perf_counter()
    load = await drive(
        gateway.messages_url, authorization(), _burst_body(receiver.url), count=BURST
    )
    if load.created != BURST:
        raise RuntimeError(f"the burst's creates: {dict(load.statuses)}, {dict(load.errors)}")
    await receiver.wait_count("sent", sent_before + BURST, BURST_TIMEOUT_S)
    await _reports_taken(modem, MESSAGE_TIMEOUT_S, left)  # their 0x30 reports
    left = _in_storage(modem)
    await _webhooks_idle(gateway, BURST_TIMEOUT_S)
    setup_s = time.perf_counter() - started
    await asyncio.sleep(0.5)  # the gateway's last commits
    sids = set(load.sids)
    before = cpu_times(gateway.pid)
    mark = len(commands.log)
    released = time.perf_counter()
    for index in range(BURST):
        modem.network.switch_on(handset(_BURST_FIRST_HANDSET + index))
    with contextlib.suppress(TimeoutError):  # what did not come shows in the checks
        await receiver.wait_count("delivered", delivered_before + BURST, RELEASE_TIMEOUT_S)
        await _reports_taken(modem, RELEASE_TIMEOUT_S, left)
    cpu = (cpu_times(gateway.pid) - before).total_s
    firsts = (receiver.first(sid, "delivered") for sid in sids)
    stamps = sorted(at for at in firsts if at is not None)
    reads = [at for at, command in commands.log[mark:] if command.upper().startswith(marker)]
    if not stamps or not reads:
        raise RuntimeError(f"no report of the burst reached the gateway ({len(reads)} read)")
    return Burst(
        reports=BURST,
        delivered=len(stamps),
        capacity=modem.modem.storages[REPORT_STORAGE].capacity,
        first_s=stamps[0] - released,
        median_s=statistics.median(stamps) - released,
        last_s=stamps[-1] - released,
        reads_s=(reads[0] - released, reads[-1] - released),
        gateway_cpu_ms=cpu / BURST * 1000,
        setup_s=setup_s,
    )


def _check_callbacks(arrivals: dict[str, list[tuple[str, float]]]) -> Callbacks:
    as_expected = duplicates = missing = out_of_order = 0
    other: Counter[str] = Counter()
    for calls in arrivals.values():
        statuses = [status for status, _ in sorted(calls, key=lambda call: call[1])]
        if tuple(statuses) == EXPECTED:
            as_expected += 1
            continue
        counts = Counter(statuses)
        duplicates += sum(count - 1 for count in counts.values() if count > 1)
        missing += sum(1 for status in EXPECTED if status not in counts)
        other.update({status: count for status, count in counts.items() if status not in EXPECTED})
        firsts = [status for index, status in enumerate(statuses) if status not in statuses[:index]]
        if [status for status in firsts if status in EXPECTED] != [
            status for status in EXPECTED if status in counts
        ]:
            out_of_order += 1
    return Callbacks(len(arrivals), as_expected, duplicates, missing, out_of_order, other)


def _committed_reports(gateway: RunningGateway) -> Reports:
    connection = connect_read_only(gateway.database)
    try:
        rows = connection.execute(
            "SELECT status, count(*), count(matched_sid) FROM status_reports GROUP BY status"
        ).fetchall()
    finally:
        connection.close()
    return Reports(
        total=sum(count for _, count, _ in rows),
        matched=sum(matched for _, _, matched in rows),
        by_status={int(status): int(count) for status, count, _ in rows},
    )


async def measure(path: str = "stored") -> Run:
    receiver = CallbackReceiver()
    commands = Commands()
    with cancelled_by_sigterm():  # SIGTERM stops the gateway and closes the pty too
        return await _measure(receiver, commands, path)


async def _measure(receiver: CallbackReceiver, commands: Commands, path: str) -> Run:
    personality, marker = PATHS[path]
    async with receiver.listening(), modem_on_pty(NUMBER, personality) as modem:
        modem.network.set_rule("*", HandsetRule(Fate.PHONE_OFF))
        undo = modem.observe(commands)
        spec = ModemSpec("gsm", "serial", NUMBER, port=modem.device)
        try:
            async with gateway_process([spec]) as gateway:
                await gateway.wait_modems_ready()
                await asyncio.sleep(1.0)  # the sweep on connecting is over
                await _one_by_one(gateway, receiver, modem, commands, range(WARM_UP), marker=marker)
                latency = await _one_by_one(
                    gateway,
                    receiver,
                    modem,
                    commands,
                    range(WARM_UP, WARM_UP + MESSAGES),
                    marker=marker,
                )
                burst = await _burst(gateway, receiver, modem, commands, marker)
                await asyncio.sleep(QUIET_S)
                await _webhooks_idle(gateway, BURST_TIMEOUT_S)
                webhooks = await webhook_states(gateway)
                statuses = status_counts(gateway.database)
                reports = _committed_reports(gateway)
                left_in_storage = _in_storage(modem)
                log = gateway.log.read_text(errors="replace").splitlines()
                log_lines = tuple(line for line in log if PROBLEM_LINE.match(line))
        finally:
            undo()
    return Run(
        latency=latency,
        burst=burst,
        callbacks=_check_callbacks(receiver.arrivals),
        invalid_signatures=receiver.invalid,
        delivered_without_done_date=receiver.delivered_without_done_date,
        statuses=statuses,
        reports=reports,
        webhooks=webhooks,
        log_lines=log_lines,
        created=WARM_UP + MESSAGES + BURST,
        left_in_storage=left_in_storage,
        path=path,
    )


# --- the report ----------------------------------------------------------------------------------


def _counts(items: Iterable[tuple[Any, int]]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in items) or "none"


def _latency_row(values_ms: Sequence[float], cpu_ms: float, timeouts: int) -> list[str]:
    return [
        f"{len(values_ms):,}",
        f"{timeouts}",
        format_ms(percentile(values_ms, 0.5)),
        format_ms(percentile(values_ms, 0.9)),
        format_ms(percentile(values_ms, 0.99)),
        format_ms(max(values_ms)),
        format_ms(statistics.fmean(values_ms)),
        f"{cpu_ms:,.2f}",
    ]


def report(run: Run) -> str:
    latency, burst, callbacks, reports = run.latency, run.burst, run.callbacks, run.reports
    marker = PATHS[run.path][1]
    routed = run.path == "routed"
    handed = (
        "routes the TP-ST 0x00 report as `+CDS` to the pty (`AT+CSMS=1`: it waits for `AT+CNMA`)"
        if routed
        else "stores the TP-ST 0x00 report in `SR` and writes `+CDSI` to the pty"
    )
    split = (
        "notification to acknowledgement (after the commit)" if routed else "notification to read"
    )
    after = "acknowledgement" if routed else "read"
    reads = [value for value in latency.to_read_ms if not math.isnan(value)]
    rest = [
        total - read
        for total, read in zip(latency.total_ms, latency.to_read_ms, strict=True)
        if not math.isnan(read)
    ]
    method = (
        f"{WARM_UP} warm-up messages, then {MESSAGES} one at a time (each report released "
        f"{PAUSE_S * 1000:g} ms after the previous callbacks), then a burst of {BURST} reports "
        "released at once"
    )
    webhooks = run.webhooks
    by_status = _counts(
        (f"0x{status:02X}", count) for status, count in sorted(reports.by_status.items())
    )
    lines = [
        f"## Delivery reports ({run.path}): notification to status callback",
        "",
        run_header(method=method),
        "",
        markdown_table(
            (
                "one at a time",
                "reports",
                f"no callback in {MESSAGE_TIMEOUT_S:g} s",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "mean ms",
                "gateway CPU ms per report",
            ),
            [
                [
                    "smsgw gateway (status callback)",
                    *_latency_row(latency.total_ms, latency.gateway_cpu_ms, latency.timeouts),
                ]
            ],
        ),
        "",
        "- Latency: from just before `SimulatedNetwork.switch_on` releases the held part (the "
        f"modem {handed} in the next turns of the benchmark's event loop) to the moment the "
        "receiver's handler starts on the `delivered` callback (the signature is checked "
        "after).",
        f"- Split at `{marker}` reaching the modem: {split} p50 "
        f"{format_ms(percentile(reads, 0.5))} ms (p99 {format_ms(percentile(reads, 0.99))}); "
        f"{after} to callback p50 {format_ms(percentile(rest, 0.5))} ms (p99 "
        f"{format_ms(percentile(rest, 0.99))}).",
        "",
        markdown_table(
            (
                "burst",
                "report storage (network holds the rest)",
                "delivered callbacks",
                "first callback",
                "median callback",
                "last callback",
                "reports/s",
                "gateway CPU ms per report",
            ),
            [
                [
                    f"{burst.reports:,} reports",
                    "routed: one awaits AT+CNMA at a time"
                    if routed
                    else f"{REPORT_STORAGE}, {burst.capacity:,} slots",
                    f"{burst.delivered:,} of {burst.reports:,}",
                    f"{burst.first_s * 1000:,.1f} ms",
                    f"{burst.median_s:,.2f} s",
                    f"{burst.last_s:,.2f} s",
                    f"{burst.per_second:,.0f}",
                    f"{burst.gateway_cpu_ms:,.2f}",
                ]
            ],
        ),
        "",
        f"- Burst: {BURST:,} messages created through the API and sent (their `sent` "
        f"callbacks, their 0x30 reports and every webhook done: {burst.setup_s:,.1f} s), then "
        "every handset switched on in one go; from just before the first `switch_on` to each "
        f"message's `delivered` callback. `{marker}` of the first report reached the modem "
        f"{burst.reads_s[0] * 1000:,.1f} ms after the release, of the last one "
        f"{burst.reads_s[1]:,.2f} s after.",
        f"- Callbacks, per message ({callbacks.messages:,} messages, {run.created:,} created): "
        f"exactly {', '.join(EXPECTED)} in that order {callbacks.as_expected:,}; duplicates "
        f"{callbacks.duplicates}, missing {callbacks.missing}, out of order "
        f"{callbacks.out_of_order}, other statuses {_counts(callbacks.other.items())}; "
        f"`delivered` without `RawDlrDoneDate` {run.delivered_without_done_date}; signatures "
        f"rejected by RequestValidator: {run.invalid_signatures}.",
        f"- The SQLite file: messages {_counts(sorted(run.statuses.items()))}; status reports "
        f"{reports.total:,} (TP-ST {by_status}), matched to a part {reports.matched:,}; "
        f"webhooks delivered {webhooks.get('delivered')}, pending {webhooks.get('pending')}, "
        f"failed {webhooks.get('failed')}, with a failed attempt "
        f"{len(webhooks.get('troubled', []))}; warnings and errors in the gateway's log: "
        f"{len(run.log_lines)}; reports left in the modem's `{REPORT_STORAGE}` at the end: "
        f"{run.left_in_storage}.",
        *(f"- Gateway log: `{line}`" for line in run.log_lines[:LOG_LINES_SHOWN]),
    ]
    return "\n".join(lines)


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "stored"
    if path not in PATHS:
        raise SystemExit(f"usage: python -m bench.gateway_reports [{'|'.join(PATHS)}]")
    print(report(asyncio.run(measure(path))))


if __name__ == "__main__":
    main()

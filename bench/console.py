"""Server time of the console's pages with 100,000 stored messages.

``smsgw serve`` runs as its own process (:mod:`bench.gateway_process`) with two simulated
modems (``alice``, ``bob``). It is started once on a fresh data directory, so that it makes its
database, account and numbers as a user's first start does, and stopped. The 100,000 messages
are then written straight into that SQLite file, in one transaction, through the store's own
row writer (``gateway.store.sqlite.transitions.insert_outbound``, the function every create and
every TwiML reply goes through: the same columns, list positions and triggers): creating them
through the API and sending them takes minutes (:mod:`bench.gateway_list` does that), and the
console's pages only read. The mix: three quarters outbound (delivered, one in ten failed with
30005), a quarter inbound (received), spread over the last 30 days, between alice's and bob's
numbers and 1,000 handsets; each with a delivered status callback, and 100 webhooks given up
and 100 failing (retried tomorrow), to fill the webhooks page.

The gateway is then started again on that directory, and this process signs in through the
console's form (one session, its cookie) and asks, over one keep-alive connection,
sequentially, for each page of :func:`pages` :data:`REPEATS` times, in rounds of one request
per page (the order rotating from round to round, so that a noisy neighbour hits every page
alike), each timed from sending the request to having read the whole body: the server's time
and a loopback round trip (tens of microseconds). Every answer is checked: 200 and HTML.

Target (issue 18): every page under 100 ms p99 on this machine.

Run alone with ``.venv/bin/python -m bench.console`` (about a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import aiohttp

from bench.gateway_process import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    ModemSpec,
    RunningGateway,
    database_bytes,
    gateway_process,
)
from bench.harness import markdown_table, run_header
from gateway.domain.models import Direction, Message, Segment, Status, new_sid
from gateway.domain.records import Webhook
from gateway.store.sqlite import SqliteStore
from gateway.store.sqlite.rows import insert_webhook
from gateway.store.sqlite.transitions import insert_outbound

TOTAL: Final = 100_000
REPEATS: Final = 200
TARGET_MS: Final = 100.0
ALICE: Final = "+15550001001"
BOB: Final = "+15550002002"
HANDSETS: Final = 1000
GIVEN_UP: Final = 100
FAILING: Final = 100
SPREAD: Final = timedelta(days=30)
# One GSM 7-bit part, as the store keeps a sent one (its text need not match: no page decodes it).
PDU: Final = "0011000B914477009001F20000AA0CC8329BFD065DDF72363904"
RECEIVER: Final = "http://127.0.0.1:9/status"  # the discard port: nothing is ever sent there


def handset(index: int) -> str:
    return f"+447700900{index % HANDSETS:03d}"


def message(index: int, now: datetime) -> Message:
    """The ``index``-th message: newest first, one every 26 s back over :data:`SPREAD`."""
    at = now - SPREAD * index / TOTAL
    ours = ALICE if index % 2 else BOB
    inbound = index % 4 == 0
    failed = not inbound and index % 10 == 1
    status = Status.RECEIVED if inbound else Status.FAILED if failed else Status.DELIVERED
    return Message(
        sid=new_sid("SM"),
        account_sid=ACCOUNT_SID,
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND_API,
        status=status,
        to=ours if inbound else handset(index),
        from_=handset(index) if inbound else ours,
        body=f"Benchmark message #{index:06d}: one part of plain GSM 7-bit text.",
        num_segments=1,
        num_media=0,
        error_code=30005 if failed else None,
        error_message="Unknown destination handset" if failed else None,
        price=None,
        price_unit="USD",
        messaging_service_sid=None,
        date_created=at,
        date_updated=at,
        date_sent=at,
        modem="bob" if ours == BOB else "alice",
    )


def callback(sent: Message) -> Webhook:
    return Webhook(
        account_sid=ACCOUNT_SID,
        message_sid=sent.sid,
        kind="inbound" if sent.direction is Direction.INBOUND else "status",
        url=RECEIVER,
        method="POST",
        params=(("MessageSid", sent.sid), ("MessageStatus", str(sent.status))),
    )


async def populate(data_dir: Path) -> tuple[float, str]:
    """The messages and their webhooks, written into the gateway's database (stopped): the
    seconds it took, and a sent message's SID (for its page)."""
    start = time.monotonic()
    now = datetime.now(UTC)
    store = SqliteStore(data_dir)
    await store.open()
    try:

        def job(db: sqlite3.Connection) -> str:
            sample = ""
            for index in range(TOTAL):
                made = message(index, now)
                segments = [] if made.direction is Direction.INBOUND else [Segment(1, PDU, 24)]
                insert_outbound(db, made, segments)
                insert_webhook(db, callback(made), made.date_created)
                if index == TOTAL // 2:
                    sample = made.sid
            # Delivered, but for the newest: given up, and failing (due again tomorrow).
            db.execute(
                "UPDATE webhooks SET state = 'delivered' WHERE id <= "
                "(SELECT max(id) FROM webhooks) - ?",
                (GIVEN_UP + FAILING,),
            )
            tomorrow = (now + timedelta(days=1) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
                microseconds=1
            )
            db.execute(
                "UPDATE webhooks SET state = 'failed', attempts = 10, "
                "last_error = 'ClientConnectorError' WHERE state = 'pending' AND id % 2 = 0"
            )
            db.execute(
                "UPDATE webhooks SET attempts = 3, last_error = 'HTTP 503 from receiver', "
                "next_attempt_at = ? WHERE state = 'pending'",
                (tomorrow,),
            )
            return sample

        sample = await store._write(job)  # the store's own writer thread and connection
    finally:
        await store.close()
    return time.monotonic() - start, sample


def pages(sample: str, older: str) -> dict[str, str]:
    return {
        "sign-in": "/console/sign-in",
        "overview": "/console/",
        "messages": "/console/messages",
        "messages, older page": older,
        "messages to one handset": f"/console/messages?to={handset(123).replace('+', '%2B')}",
        "messages failed": "/console/messages?status=failed",
        "message": f"/console/messages/{sample}",
        "webhooks": "/console/webhooks",
        "numbers": "/console/numbers",
    }


async def sign_in(http: aiohttp.ClientSession, base_url: str) -> None:
    form = {"username": ACCOUNT_SID, "secret": AUTH_TOKEN}
    async with http.post(f"{base_url}/console/sign-in", data=form, allow_redirects=False) as r:
        if r.status != 303:
            raise RuntimeError(f"sign-in refused: {r.status} {await r.text()}")


async def older_page(http: aiohttp.ClientSession, base_url: str) -> str:
    """The list's second page, by its own link."""
    async with http.get(f"{base_url}/console/messages") as response:
        found = re.search(r'<a href="(\?[^"]+)" rel="next">', await response.text())
    if found is None:
        raise RuntimeError("the messages page has no link to older messages")
    return "/console/messages" + found.group(1).replace("&amp;", "&")


async def measure(gateway: RunningGateway, sample: str) -> tuple[dict[str, list[float]], str]:
    """Each page's times in ms (REPEATS each, interleaved), and the account's page sizes."""
    timings: dict[str, list[float]] = {}
    sizes: list[str] = []
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1: an IP
    connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection
    async with (
        aiohttp.ClientSession(cookie_jar=jar, connector=connector) as http,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as stranger,
    ):
        await sign_in(http, gateway.base_url)
        targets = pages(sample, await older_page(http, gateway.base_url))
        names = list(targets)
        for name in names:
            timings[name] = []
        for round_ in range(REPEATS + 1):  # the first round warms up, and is left out
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                # The sign-in page as someone not signed in sees it (a session is sent on).
                client = stranger if name == "sign-in" else http
                start = time.perf_counter()
                async with client.get(gateway.base_url + targets[name]) as response:
                    body = await response.read()
                elapsed = (time.perf_counter() - start) * 1000
                if response.status != 200 or response.content_type != "text/html":
                    raise RuntimeError(f"{name}: {response.status} {body[:200]!r}")
                if round_:
                    timings[name].append(elapsed)
                elif name in ("messages", "webhooks"):
                    sizes.append(f"{name} {len(body) // 1024} KiB")
    return timings, ", ".join(sizes)


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def run() -> str:
    modems = [ModemSpec("alice", "simulated", ALICE), ModemSpec("bob", "simulated", BOB)]
    with tempfile.TemporaryDirectory(prefix="smsgw-console-") as temporary:
        directory = Path(temporary)
        async with gateway_process(modems, directory=directory) as first:
            database = first.database
        populate_s, sample = await populate(database.parent)
        async with gateway_process(modems, directory=directory) as gateway:
            await gateway.wait_modems_ready()
            timings, sizes = await measure(gateway, sample)
        mib = database_bytes(database) / 2**20
    rows = []
    for name, values in timings.items():
        p99 = percentile(values, 99)
        rows.append(
            [
                name,
                f"{statistics.median(values):.1f}",
                f"{p99:.1f}",
                f"{max(values):.1f}",
                "yes" if p99 < TARGET_MS else "**no**",
            ]
        )
    table = markdown_table(
        ["page", "p50 ms", "p99 ms", "max ms", f"p99 < {TARGET_MS:.0f} ms"], rows
    )
    method = (
        f"{REPEATS} requests per page in interleaved rounds after one warm-up round, one "
        "keep-alive connection, timed request to last byte"
    )
    return "\n".join(
        [
            "## The console's pages with 100,000 stored messages",
            "",
            run_header(method=method),
            f"- set-up: {TOTAL:,} messages and their webhooks written in {populate_s:.1f} s "
            f"(the store's row writer, one transaction); database {mib:.0f} MiB; {sizes}",
            "",
            table,
        ]
    )


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        print(asyncio.run(run()))


if __name__ == "__main__":
    main()

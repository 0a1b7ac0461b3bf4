"""A Python load generator for the gateway's create endpoint: N keep-alive connections, each
sending ``POST .../Messages.json`` back to back (a closed loop, as ``wrk`` does).

Used in-process by the benchmarks that only need messages queued (:mod:`bench.gateway_send`),
and as a process of its own (``python -m bench.load_client``) where its CPU must not be this
benchmark's, or as the fallback of :mod:`bench.gateway_create` on a machine without ``wrk``.
It records every response's status, the latency of each request and the SID of every 201, so
that the benchmark can check each acknowledged message against the SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp

CONNECTIONS: Final = 16
# The SID of a 201 body; cheaper for this client's CPU than parsing the whole JSON document.
_SID: Final = re.compile(rb'"sid": "(SM[0-9a-f]{32})"')

Body = Callable[[int], str]


def form(to: str, from_: str, text: str) -> str:
    """An ``application/x-www-form-urlencoded`` body as Twilio's clients send it."""
    return urlencode({"To": to, "From": from_, "Body": text})


def numbered(to: str, from_: str, text: str) -> Body:
    """Bodies whose text carries the request's number, so a lost or doubled message shows."""
    return lambda index: form(to, from_, f"{text} #{index:06d}")


@dataclass(slots=True)
class LoadResult:
    started: float = 0.0  # wall clock (time.time()) when the first request was sent
    elapsed_s: float = 0.0  # from the first request sent to the last response read
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    sids: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # connection errors, by exception

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def per_second(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, percent: float) -> float:
        ordered = sorted(self.latencies_s)
        if not ordered:
            return 0.0
        index = min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies_s) * 1000 if self.latencies_s else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "elapsed_s": self.elapsed_s,
            "statuses": {str(status): count for status, count in self.statuses.items()},
            "latencies_s": self.latencies_s,
            "sids": self.sids,
            "errors": dict(self.errors),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadResult:
        return cls(
            started=float(data["started"]),
            elapsed_s=float(data["elapsed_s"]),
            statuses=Counter({int(status): count for status, count in data["statuses"].items()}),
            latencies_s=[float(value) for value in data["latencies_s"]],
            sids=list(data["sids"]),
            errors=Counter(data["errors"]),
        )


async def drive(
    url: str,
    authorization: str,
    body: Body,
    *,
    connections: int = CONNECTIONS,
    duration_s: float | None = None,
    count: int | None = None,
) -> LoadResult:
    """Send creates over ``connections`` keep-alive connections until ``duration_s`` has passed
    or ``count`` requests were sent, whichever comes first (at least one must be given)."""
    if duration_s is None and count is None:
        raise ValueError("give a duration or a count")
    result = LoadResult()
    headers = {
        "Authorization": authorization,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    issued = 0
    deadline = float("inf")

    def next_index() -> int | None:
        nonlocal issued
        if (count is not None and issued >= count) or time.perf_counter() >= deadline:
            return None
        issued += 1
        return issued - 1

    async def worker(session: aiohttp.ClientSession) -> None:
        while (index := next_index()) is not None:
            data = body(index)
            sent = time.perf_counter()
            try:
                async with session.post(url, data=data, headers=headers) as response:
                    payload = await response.read()
                    status = response.status
            except aiohttp.ClientError as exc:
                result.errors[type(exc).__name__] += 1
                continue
            result.latencies_s.append(time.perf_counter() - sent)
            result.statuses[status] += 1
            if status == 201 and (match := _SID.search(payload)):
                result.sids.append(match.group(1).decode())

    # One connection per worker, kept alive; no per-host cap below that.
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        result.started = time.time()
        start = time.perf_counter()
        if duration_s is not None:
            deadline = start + duration_s
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        result.elapsed_s = time.perf_counter() - start
    return result


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load_client", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--authorization", required=True, help="the Authorization header value")
    parser.add_argument("--to", required=True)
    parser.add_argument("--from", dest="from_", required=True)
    parser.add_argument("--text", default="Benchmark message")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--duration", type=float, help="seconds to run")
    parser.add_argument("--count", type=int, help="requests to send")
    parser.add_argument("--numbered", action="store_true", help="number each message's text")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if args.numbered:
        body = numbered(args.to, args.from_, args.text)
    else:
        fixed = form(args.to, args.from_, args.text)
        body = lambda _: fixed  # noqa: E731 - the same body every time, built once
    result = asyncio.run(
        drive(
            args.url,
            args.authorization,
            body,
            connections=args.connections,
            duration_s=args.duration,
            count=args.count,
        )
    )
    args.out.write_text(json.dumps(result.to_json()))


if __name__ == "__main__":
    main(sys.argv[1:])

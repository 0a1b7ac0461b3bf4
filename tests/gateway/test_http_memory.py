"""Refusals cost nothing that stays: 10,000 failed authentications, or requests for a path
that does not exist, leave the gateway's memory where it was.

Measured with :mod:`tracemalloc` in this process (the gateway runs in-process on a real port;
the client is a bare socket that keeps nothing). The cyclic garbage collector is paused while
the requests are made, so that the figure is what reference counting alone gives back: a leak
shows, and so does garbage that waits for the collector (on a gateway whose heap is large, a
full collection is rare, and such garbage builds up between them).
"""

from __future__ import annotations

import base64
import gc
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest

from gateway.runtime import Gateway
from tests.gateway.gateway_rig import ACCOUNT, config, running
from tests.gateway.raw_http import Connection, request

# Enough that a leak of 25 bytes a request passes BOUND (the defects found were 3-7 KB).
REQUESTS: Final = 3_000
WARM_UP: Final = 200  # lazily made objects, caches and counters come into being here
# Growth allowed over all REQUESTS: a few bytes a request would already exceed it (a shared
# exception's traceback was ~7 KB a request, a 404's reference cycle ~3 KB).
BOUND: Final = 64 * 1024

MESSAGES: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"
WRONG_TOKEN: Final = "Basic " + base64.b64encode(f"{ACCOUNT.sid}:wrong".encode()).decode()


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(config(tmp_path)) as started:
        yield started


async def growth(
    gateway: Gateway, data: bytes, status: int, requests: int = REQUESTS
) -> tuple[int, str]:
    """Bytes still allocated after ``requests`` times ``data`` on one keep-alive connection,
    and the largest growths by line, to say where it went."""
    connection = await Connection.open("127.0.0.1", gateway.port)
    try:
        for _ in range(WARM_UP):
            assert (await connection.exchange(data)).status == status
        gc.collect()
        gc.disable()
        tracemalloc.start(1)
        try:
            before = tracemalloc.take_snapshot()
            for _ in range(requests):
                assert (await connection.exchange(data)).status == status
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
            gc.enable()
    finally:
        await connection.close()
    stats = after.compare_to(before, "lineno")
    where = "\n".join(str(stat) for stat in stats[:5])
    return sum(stat.size_diff for stat in stats), where


async def test_failed_authentications_leave_no_memory_behind(gateway: Gateway) -> None:
    data = request("GET", MESSAGES, f"Authorization: {WRONG_TOKEN}")
    grown, where = await growth(gateway, data, 401)
    assert grown < BOUND, where


async def test_requests_with_no_credentials_leave_no_memory_behind(gateway: Gateway) -> None:
    grown, where = await growth(gateway, request("POST", MESSAGES, body=b"To=%2B1"), 401)
    assert grown < BOUND, where


async def test_unknown_paths_leave_no_memory_behind(gateway: Gateway) -> None:
    grown, where = await growth(gateway, request("GET", "/no/such/resource"), 404)
    assert grown < BOUND, where


async def test_a_method_a_path_does_not_take_leaves_no_memory_behind(gateway: Gateway) -> None:
    grown, where = await growth(gateway, request("PUT", "/healthz"), 405)
    assert grown < BOUND, where


async def test_what_no_route_takes_is_answered_as_before(gateway: Gateway) -> None:
    connection = await Connection.open("127.0.0.1", gateway.port)
    try:
        missing = await connection.exchange(request("GET", "/no/such/resource"))
        wrong_method = await connection.exchange(request("PUT", "/healthz"))
    finally:
        await connection.close()
    assert (missing.status, missing.json()) == (
        404,
        {
            "code": 20404,
            "message": "The requested resource /no/such/resource was not found",
            "more_info": "https://www.twilio.com/docs/errors/20404",
            "status": 404,
        },
    )
    assert (wrong_method.status, wrong_method.json()["code"]) == (405, 20004)
    assert wrong_method.headers["allow"] == "GET"  # RFC 9110 §15.5.6
    counts = gateway.metrics.http_requests
    assert counts["unmatched", "GET", 404] == 1
    assert counts["unmatched", "PUT", 405] == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/console/no/such/page", 404),  # what anyone on the network may ask
        ("GET", "/console/", 303),  # a page without a session
        ("POST", "/console/sign-out", 403),  # a POST without one
        ("DELETE", "/console/sign-in", 405),
    ],
)
async def test_console_refusals_leave_no_memory_behind(
    gateway: Gateway, method: str, path: str, status: int
) -> None:
    # A third of REQUESTS: a page a request is rendered (a slower request than the API's
    # JSON), and a leak of 64 bytes a request still passes BOUND (the console's was ~3 KB).
    grown, where = await growth(gateway, request(method, path), status, REQUESTS // 3)
    assert grown < BOUND, where

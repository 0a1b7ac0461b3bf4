"""When the database cannot be written (a full disk, a file deleted under the gateway, a fault
of its own), nothing dies silently: the API answers Twilio's 503, ``/healthz`` says why, every
failed task is restarted and counted, and once the cause is gone the gateway is ready again by
itself and sends every message it accepted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import aiohttp
import pytest

from bench.disk import fill, tmpfs
from drivers.simulated.network import Fate, HandsetRule
from gateway.domain.errors import StoreError
from gateway.domain.models import Status
from gateway.inbound import receiver as inbound
from gateway.runtime import Gateway
from gateway.store.sqlite import DATABASE_NAME, SqliteStore
from gateway.tasks import Tasks
from tests.gateway.gateway_rig import ACCOUNT, ALICE, Inbox, Statuses, basic_auth, config

WAIT: Final = 10.0
HANDSET: Final = "+447700900123"
MESSAGES: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"
PROBE_EVERY: Final = 0.05  # seconds between two health probes of the database (gateway: 1)


async def all_sent(statuses: Statuses, sids: set[str]) -> None:
    """Returns once every message of ``sids`` is sent (or delivered)."""

    def sent(sid: str) -> bool:
        return not {Status.SENT, Status.DELIVERED}.isdisjoint(statuses.seen[sid])

    await statuses.until(lambda: all(sent(sid) for sid in sids), WAIT * 3)


@contextlib.asynccontextmanager
async def gateway_on(
    data_dir: Path, *, store: SqliteStore | None = None, tasks: Tasks | None = None
) -> AsyncIterator[tuple[Gateway, aiohttp.ClientSession]]:
    # The database's health probed every 50 ms, not every second: /healthz sees a fault, and
    # its end, as soon as a commit would (each test waits for both).
    store = store or SqliteStore(data_dir, probe_every=PROBE_EVERY)
    gateway = Gateway(config(data_dir), store=store, tasks=tasks or Tasks(backoff=(0.05, 0.2)))
    gateway.modems.network.set_rule("*", HandsetRule(Fate.NO_REPORT))
    await gateway.start()
    try:
        for handle in gateway.modems.handles.values():
            await handle.ready()
        async with aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http:
            yield gateway, http
    finally:
        await gateway.stop()


async def create(http: aiohttp.ClientSession, n: int) -> tuple[int, dict[str, Any]]:
    form = {"To": HANDSET, "From": ALICE, "Body": f"message {n} " + "x" * 600}
    async with http.post(MESSAGES, data=form) as reply:
        return reply.status, await reply.json()


async def health(http: aiohttp.ClientSession) -> tuple[int, dict[str, Any]]:
    async with http.get("/healthz") as reply:
        return reply.status, await reply.json()


async def until_health(
    http: aiohttp.ClientSession, status: int, reason: str | None = None
) -> dict[str, Any]:
    """/healthz once it answers ``status`` (and, if given, a reason containing ``reason``:
    a task the fault stopped may be reported first)."""

    def reached(answer: tuple[int, dict[str, Any]]) -> bool:
        reasons = answer[1].get("reasons", [])
        return answer[0] == status and (reason is None or any(reason in r for r in reasons))

    # /healthz is what a supervisor polls; so does the test, with a bound.
    async with asyncio.timeout(WAIT):
        while not reached(answer := await health(http)):
            await asyncio.sleep(0.05)
    return answer[1]


def assert_unavailable(status: int, body: dict[str, Any]) -> None:
    assert (status, body["code"], body["status"]) == (503, 20503, 503), body
    assert set(body) == {"code", "message", "more_info", "status"}


# --- a real full disk ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB filesystem (tmpfs), where the test can mount one (as root)."""
    with tmpfs(tmp_path / "disk", "16m") as refused:
        if refused is not None:
            pytest.skip(f"cannot mount a small filesystem here: {refused}")
        yield tmp_path / "disk"


async def test_a_full_disk_is_refused_cleanly_and_forgotten_once_freed(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound, "RETRY", 0.1)  # the SIM is read again soon after a refusal
    async with gateway_on(small_disk / "data") as (gateway, http):
        statuses = Statuses(gateway)
        inbox = Inbox(gateway)
        accepted: set[str] = set()
        for n in range(3):
            status, body = await create(http, n)
            assert status == 201, body
            accepted.add(body["sid"])

        filler = fill(small_disk)
        refused = 0
        for n in range(3, 400):  # the WAL's free frames run out, then every create is refused
            status, body = await create(http, n)
            if status == 201:
                accepted.add(body["sid"])
                continue
            assert_unavailable(status, body)
            refused += 1
            if refused == 5:
                break
        assert refused == 5
        code, state = await health(http)
        assert code == 503
        assert any("database cannot commit" in reason for reason in state["reasons"]), state
        # An SMS that comes now stays on the SIM until it can be committed.
        gateway.modems.network.inject(ALICE, HANDSET, "sent while the disk was full")

        filler.unlink()
        ready = await until_health(http, 200)
        assert ready["reasons"] == []
        status, body = await create(http, 1000)
        assert status == 201, body
        accepted.add(body["sid"])
        await all_sent(statuses, accepted)  # every message accepted, before and during, went
        (received,) = await inbox.wait(1, timeout=WAIT)
        assert received.body == "sent while the disk was full"


# --- a store that fails where the test says --------------------------------------------------


T = TypeVar("T")


class FaultyStore(SqliteStore):
    """The real SQLite store, whose writes fail (as on a full disk) while ``failing`` is set."""

    failing = False

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        if self.failing:
            raise StoreError("the database could not commit: database or disk is full")
        return await super()._write(job)


class HeldSleep:
    """A backoff the test ends: a failed task stays down until :meth:`release`."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self._released = asyncio.Event()

    async def __call__(self, _seconds: float) -> None:
        self.waiting.set()
        await self._released.wait()

    def release(self) -> None:
        self._released.set()

    async def until_down(self, tasks: Tasks, name: str) -> None:
        """Until the task ``name`` waits in its backoff (another task may fail first: the
        webhook sender commits too)."""
        while name not in tasks.down:
            self.waiting.clear()  # no await since the look: a failure now still wakes us
            await asyncio.wait_for(self.waiting.wait(), WAIT)


async def test_a_worker_whose_error_branch_fails_too_is_restarted(tmp_path: Path) -> None:
    """Was: the dispatcher's exception branch wrote to the store, that failed as well, the task
    ended, nothing restarted it, new messages got 201 and never went; /healthz said ready."""
    store = FaultyStore(tmp_path, probe_every=PROBE_EVERY)
    held = HeldSleep()
    async with gateway_on(tmp_path, store=store, tasks=Tasks(sleep=held)) as (gateway, http):
        statuses = Statuses(gateway)
        alice = gateway.modems.simulated["alice"]
        accepted: set[str] = set()

        def full_disk_at_the_prompt(command: str) -> None:
            if command.startswith("AT+CMGS="):
                store.failing = True  # the grant, and everything after it, fails

        alice.command_observers.append(full_disk_at_the_prompt)
        status, body = await create(http, 0)
        assert status == 201
        accepted.add(body["sid"])
        await held.until_down(gateway.tasks, "send alice")
        alice.command_observers.clear()
        code, state = await health(http)
        assert code == 503
        assert any(r.startswith("task send alice is down") for r in state["reasons"]), state
        assert any("database cannot commit" in r for r in state["reasons"]), state
        status, body = await create(http, 1)
        assert_unavailable(status, body)
        async with http.get("/metrics") as reply:
            metrics = await reply.text()
        assert 'smsgw_task_restarts_total{task="send alice"} 1' in metrics
        assert 'smsgw_task_down{task="send alice"} 1' in metrics

        store.failing = False
        held.release()
        await until_health(http, 200)
        status, body = await create(http, 2)
        assert status == 201
        accepted.add(body["sid"])
        await all_sent(statuses, accepted)
    # The first was refused at the prompt (ESC): it went once, after the restart; each of its
    # four parts once, like the other message's.
    texts = [item.submit.text or "" for item in gateway.modems.network.submissions]
    assert sorted(text[:9] for text in texts if text.startswith("message ")) == [
        "message 0",
        "message 2",
    ]
    assert len(texts) == 8


# --- the database file deleted or replaced under the gateway ---------------------------------


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_database_file_gone_from_under_the_gateway(tmp_path: Path, how: str) -> None:
    database = tmp_path / DATABASE_NAME
    aside = tmp_path / "aside.sqlite3"
    async with gateway_on(tmp_path) as (_gateway, http):
        assert (await health(http))[0] == 200
        os.rename(database, aside)
        if how == "replaced":
            shutil.copyfile(aside, database)  # the same bytes in another file
        # The store's own check says why (a worker that hit the fault may be down first).
        await until_health(http, 503, f"was {how} under the running gateway")
        # What would be accepted now would be lost at the next start: nothing is.
        status, body = await create(http, 0)
        assert_unavailable(status, body)
        if how == "replaced":
            database.unlink()
        os.rename(aside, database)  # put back: the cause is gone
        await until_health(http, 200)
        status, body = await create(http, 1)
        assert status == 201, body

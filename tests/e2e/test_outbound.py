"""End to end: an API call becomes PDUs on the simulated network, the message goes
``queued`` -> ``sending`` -> ``sent`` (or ``failed``), and arrives at the other modem."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import aiohttp
import pytest

from gateway.domain.models import Status
from gateway.runtime import Gateway
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, Inbox, basic_auth, config, running

WAIT = 10.0


class StatusLog:
    """Every status change the dispatcher commits, to await rather than poll."""

    def __init__(self, gateway: Gateway) -> None:
        self.seen: dict[str, list[Status]] = defaultdict(list)
        self._changed = asyncio.Condition()
        gateway.dispatcher.on_status(self._record)

    def _record(self, sid: str, status: Status) -> None:
        self.seen[sid].append(status)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, sid: str, status: Status) -> list[Status]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: status in self.seen[sid]), WAIT)
        return self.seen[sid]


async def create(gateway: Gateway, **form: str) -> dict[str, object]:
    async with aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http:
        reply = await http.post(f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json", data=form)
        body: dict[str, object] = await reply.json()
        assert reply.status == 201, body
        return body


@pytest.mark.parametrize(
    ("body", "segments"),
    [("Hello Bob!", 1), ("Long " * 80, 3), ("Привет 😀 " * 20, 3), ("€[]{}" * 40, 3)],
)
async def test_api_to_the_other_modem(tmp_path: Path, body: str, segments: int) -> None:
    async with running(config(tmp_path)) as gateway:
        statuses = StatusLog(gateway)
        inbox = Inbox(gateway)
        created = await create(gateway, To=BOB, From=ALICE, Body=body)
        assert (created["status"], created["num_segments"]) == ("queued", str(segments))
        sid = str(created["sid"])
        # Bob's modem is on the same simulated network, which reports each part delivered.
        expected = [Status.SENDING, Status.SENT, Status.DELIVERED]
        assert await statuses.until(sid, Status.DELIVERED) == expected
        message = await gateway.store.get_message(ACCOUNT.sid, sid)
        assert message is not None and message.date_sent is not None
        submissions = [s for s in gateway.modems.network.submissions if s.destination == BOB]
        assert len(submissions) == segments
        # Bob's modem is the gateway's too: the parts come back in as one inbound message.
        (received,) = await inbox.wait()
        assert (received.from_, received.to, received.body) == (ALICE, BOB, body)
        assert received.num_segments == segments
        concatenations = [s.submit.concatenation for s in submissions]
        references = {c.reference for c in concatenations if c is not None}
        assert len(references) == (1 if segments > 1 else 0)  # one reference for the message


async def test_status_reports_are_requested(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        statuses = StatusLog(gateway)
        created = await create(gateway, To="+447700900123", From=ALICE, Body="report please")
        await statuses.until(str(created["sid"]), Status.SENT)
        (submission,) = gateway.modems.network.submissions
        assert submission.submit.status_report_request


async def test_a_permanent_error_fails_the_message(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        statuses = StatusLog(gateway)
        gateway.modems.simulated["alice"].fail_sends(1)  # unassigned number
        created = await create(gateway, To="+447700900123", From=ALICE, Body="x")
        sid = str(created["sid"])
        assert await statuses.until(sid, Status.FAILED) == [Status.SENDING, Status.FAILED]
        failed = await gateway.store.get_message(ACCOUNT.sid, sid)
        assert failed is not None
        assert (failed.error_code, failed.error_message) == (30005, "Unknown destination handset")


async def test_a_temporary_error_is_retried(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        gateway.dispatcher.retry_delays = (0.0,)
        statuses = StatusLog(gateway)
        gateway.modems.simulated["alice"].fail_sends(42, count=2)  # congestion, twice
        created = await create(gateway, To="+447700900123", From=ALICE, Body="x")
        sid = str(created["sid"])
        await statuses.until(sid, Status.SENT)
        assert len(gateway.modems.network.submissions) == 1


async def test_modems_send_independently(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        statuses = StatusLog(gateway)
        gateway.modems.simulated["alice"].hang()  # alice's modem stops answering
        stuck = await create(gateway, To="+447700900123", From=ALICE, Body="stuck")
        moving = await create(gateway, To="+447700900123", From=BOB, Body="moving")
        await statuses.until(str(moving["sid"]), Status.SENT)
        assert Status.SENT not in statuses.seen[str(stuck["sid"])]


async def test_new_messages_are_picked_up_at_once_and_in_order(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        statuses = StatusLog(gateway)
        sids = [
            str((await create(gateway, To="+447700900123", From=ALICE, Body=f"#{n}"))["sid"])
            for n in range(10)
        ]
        await statuses.until(sids[-1], Status.SENT)
        texts = [s.submit.text for s in gateway.modems.network.submissions]
        assert texts == [f"#{n}" for n in range(10)]


async def test_a_graceful_restart_resends_nothing(tmp_path: Path) -> None:
    configuration = config(tmp_path)
    async with running(configuration) as gateway:
        statuses = StatusLog(gateway)
        created = await create(gateway, To=BOB, From=ALICE, Body="before the restart")
        await statuses.until(str(created["sid"]), Status.DELIVERED)
    async with running(configuration) as again:
        # A fresh simulated network: anything sent now would show up here.
        assert again.modems.network.submissions == []
        message = await again.store.get_message(ACCOUNT.sid, str(created["sid"]))
        assert message is not None and message.status is Status.DELIVERED

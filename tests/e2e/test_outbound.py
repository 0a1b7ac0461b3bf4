"""End to end: an API call becomes PDUs on the simulated network, the message goes
``queued`` -> ``sending`` -> ``sent`` (or ``failed``), and arrives at the other modem."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.domain.models import Status
from tests.e2e.rig import started_rig
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB


@pytest.mark.parametrize(
    ("body", "segments"),
    [("Hello Bob!", 1), ("Long " * 80, 3), ("Привет 😀 " * 20, 3), ("€[]{}" * 40, 3)],
)
async def test_api_to_the_other_modem(tmp_path: Path, body: str, segments: int) -> None:
    async with started_rig(tmp_path) as r:
        created = await r.post(To=BOB, From=ALICE, Body=body)
        assert (created["status"], created["num_segments"]) == ("queued", str(segments))
        sid = str(created["sid"])
        # Bob's modem is on the same simulated network, which reports each part delivered.
        expected = [Status.SENDING, Status.SENT, Status.DELIVERED]
        assert await r.statuses.reached(sid, Status.DELIVERED) == expected
        message = await r.gateway.store.get_message(ACCOUNT.sid, sid)
        assert message is not None and message.date_sent is not None
        submissions = [s for s in r.network.submissions if s.destination == BOB]
        assert len(submissions) == segments
        # Bob's modem is the gateway's too: the parts come back in as one inbound message.
        (received,) = await r.inbox.wait()
        assert (received.from_, received.to, received.body) == (ALICE, BOB, body)
        assert received.num_segments == segments
        concatenations = [s.submit.concatenation for s in submissions]
        references = {c.reference for c in concatenations if c is not None}
        assert len(references) == (1 if segments > 1 else 0)  # one reference for the message


async def test_status_reports_are_requested(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        created = await r.post(To="+447700900123", From=ALICE, Body="report please")
        await r.statuses.reached(str(created["sid"]), Status.SENT)
        (submission,) = r.network.submissions
        assert submission.submit.status_report_request


async def test_a_permanent_error_fails_the_message(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.alice.fail_sends(1)  # unassigned number
        created = await r.post(To="+447700900123", From=ALICE, Body="x")
        sid = str(created["sid"])
        assert await r.statuses.reached(sid, Status.FAILED) == [Status.SENDING, Status.FAILED]
        failed = await r.gateway.store.get_message(ACCOUNT.sid, sid)
        assert failed is not None
        assert (failed.error_code, failed.error_message) == (30005, "Unknown destination handset")


async def test_a_temporary_error_is_retried(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.gateway.dispatcher.outcomes.retry_delays = (0.0,)
        r.alice.fail_sends(42, count=2)  # congestion, twice
        created = await r.post(To="+447700900123", From=ALICE, Body="x")
        sid = str(created["sid"])
        await r.statuses.reached(sid, Status.SENT)
        assert len(r.network.submissions) == 1


async def test_modems_send_independently(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.alice.hang()  # alice's modem stops answering
        stuck = await r.post(To="+447700900123", From=ALICE, Body="stuck")
        moving = await r.post(To="+447700900123", From=BOB, Body="moving")
        await r.statuses.reached(str(moving["sid"]), Status.SENT)
        assert Status.SENT not in r.statuses.seen[str(stuck["sid"])]


async def test_new_messages_are_picked_up_at_once_and_in_order(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        sids = [
            str((await r.post(To="+447700900123", From=ALICE, Body=f"#{n}"))["sid"])
            for n in range(10)
        ]
        await r.statuses.reached(sids[-1], Status.SENT)
        texts = [s.submit.text for s in r.network.submissions]
        assert texts == [f"#{n}" for n in range(10)]


async def test_a_graceful_restart_resends_nothing(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        created = await r.post(To=BOB, From=ALICE, Body="before the restart")
        await r.statuses.reached(str(created["sid"]), Status.DELIVERED)
    async with started_rig(tmp_path) as again:
        # A fresh simulated network: anything sent now would show up here.
        assert again.network.submissions == []
        message = await again.gateway.store.get_message(ACCOUNT.sid, str(created["sid"]))
        assert message is not None and message.status is Status.DELIVERED

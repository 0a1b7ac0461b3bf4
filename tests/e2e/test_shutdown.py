"""A clean stop (what SIGTERM does): no new part is started, the one on the air is answered and
committed, and the next start sends the rest, none twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from drivers.simulated.network import Fate, HandsetRule, Submission
from gateway.domain.models import Status
from gateway.store.sqlite import SqliteStore
from tests.gateway.gateway_rig import ACCOUNT, ALICE, Statuses, config, running

HANDSET = "+447700900123"
BODY = "Three parts, stopped in the middle, each sent exactly once in the end. " * 6


async def parts_sent(data_dir: Path, sid: str) -> int:
    """The parts of ``sid`` the store keeps as sent, read with the gateway stopped."""
    store = SqliteStore(data_dir)
    await store.open()
    try:
        trail = await store.message_trail(sid)
    finally:
        await store.close()
    assert trail is not None
    return sum(part.sent_at is not None for part in trail.parts)


async def test_a_stop_lets_the_part_on_the_air_finish(tmp_path: Path) -> None:
    configuration = config(tmp_path / "data", shutdown_grace=10.0)
    on_air = asyncio.Event()
    async with running(configuration) as gateway:
        sim = gateway.modems.simulated["alice"]
        sim.faults.latency = 0.3  # each AT+CMGS takes this long to be answered
        gateway.modems.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))

        def first(_: Submission) -> None:
            on_air.set()

        gateway.modems.network.on_submission(first)
        message = await gateway.outbound.create(
            ACCOUNT.sid, {"To": HANDSET, "From": ALICE, "Body": BODY}
        )
        assert message.num_segments == 3
        # The first part is on the air: a part's AT+CMGS answer is 0.3 s away.
        await asyncio.wait_for(on_air.wait(), 10)
        await gateway.stop()  # what SIGTERM does; the context's own stop is then a no-op
        before = [_sequence(s) for s in gateway.modems.network.submissions]
    sent_before = await parts_sent(tmp_path / "data", message.sid)
    assert sent_before == len(before) >= 1  # every part that went was committed
    async with running(configuration) as again:
        statuses = Statuses(again)
        again.modems.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        await statuses.reached(message.sid, Status.SENT)
        after = [_sequence(s) for s in again.modems.network.submissions]
    assert sorted(before + after) == [1, 2, 3]  # each part once, across the stop


def _sequence(submission: Submission) -> int:
    concatenation = submission.submit.concatenation
    assert concatenation is not None
    return concatenation.sequence

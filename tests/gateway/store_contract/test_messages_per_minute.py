"""The account's messages counted by the minute of their DateSent (the console's chart): from
a moment on, another account's not counted, one not sent yet not counted."""

from __future__ import annotations

from datetime import timedelta

from gateway.domain.models import Direction, Status
from gateway.store import Store
from tests.fakes.clock import T0
from tests.fakes.records import ACCOUNT
from tests.gateway.store_contract.records import queued

OTHER_ACCOUNT = "AC" + "c3" * 16
MINUTE = T0.replace(second=0, microsecond=0) + timedelta(hours=1)


async def test_messages_count_by_the_minute_they_were_sent_or_received(store: Store) -> None:
    sent = Status.SENT
    await queued(store, date_sent=MINUTE - timedelta(microseconds=1), status=sent)  # before since
    await queued(store, date_sent=MINUTE, status=sent)
    await queued(store, date_sent=MINUTE + timedelta(seconds=59, microseconds=999_999), status=sent)
    await queued(
        store,
        date_sent=MINUTE + timedelta(minutes=2, seconds=1),
        status=Status.RECEIVED,
        direction=Direction.INBOUND,
    )
    await queued(store)  # queued: not sent yet, no DateSent
    await queued(store, date_sent=MINUTE, account_sid=OTHER_ACCOUNT, status=sent)
    counts = await store.messages_per_minute(ACCOUNT, MINUTE)
    assert counts == {MINUTE: 2, MINUTE + timedelta(minutes=2): 1}
    assert await store.messages_per_minute(OTHER_ACCOUNT, MINUTE) == {MINUTE: 1}
    assert await store.messages_per_minute(ACCOUNT, MINUTE + timedelta(minutes=3)) == {}

"""What each modem's plan caps have used (gateway.domain.quota), as the store keeps it apart from
the messages: parts by quarter hour from a local midnight on, recipients by keyed hash, counted
in the transaction that records a part sent. A message deleted, or its recipient masked by
AddressRetention=obfuscate, still counts; what is older than a month is forgotten; a restart
reads the same counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.domain.models import Status
from gateway.domain.quota import KEPT, recipient_key
from gateway.store import Store
from tests.fakes.records import ACCOUNT, HANDSET
from tests.gateway.store_contract.records import queued, report, stored
from tests.gateway.store_rig import opened

MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC)  # the day's start, and a quarter hour's
OTHER = "+447700900999"


async def keys(store: Store, *numbers: str) -> frozenset[str]:
    secret = await store.recipient_secret()
    return frozenset(recipient_key(secret, number) for number in numbers)


async def test_a_modems_parts_and_recipients_count_from_a_midnight_on(store: Store) -> None:
    early = await queued(store, 2)
    await store.record_part_sent(early.sid, 1, 1, MIDNIGHT - timedelta(microseconds=1))
    await store.record_part_sent(early.sid, 2, 2, MIDNIGHT)
    late = await queued(store, 1, to=OTHER)
    await store.message_sent(late.sid, MIDNIGHT + timedelta(hours=2), last_part=(1, 3))
    unsent = await queued(store, 4, to="+447700900555")  # nothing went: no recipient
    elsewhere = await queued(store, 1, modem="bob")
    await store.record_part_sent(elsewhere.sid, 1, 4, MIDNIGHT + timedelta(hours=2))
    assert unsent.modem == "alice"
    month = await store.parts_sent("alice", MIDNIGHT - timedelta(days=1))
    assert (month.parts, month.recipients) == (3, await keys(store, HANDSET, OTHER))
    today = await store.parts_sent("alice", MIDNIGHT)  # the part a microsecond before: not
    assert (today.parts, today.recipients) == (2, await keys(store, HANDSET, OTHER))
    later = await store.parts_sent("alice", MIDNIGHT + timedelta(hours=1))
    assert (later.parts, later.recipients) == (1, await keys(store, OTHER))
    assert (await store.parts_sent("bob", MIDNIGHT)).parts == 1
    assert (await store.parts_sent("carol", MIDNIGHT)).parts == 0


async def test_the_recipients_are_kept_keyed_never_as_numbers(store: Store) -> None:
    going = await queued(store, 1)
    await store.message_sent(going.sid, MIDNIGHT, last_part=(1, 1))
    (key,) = (await store.parts_sent("alice", MIDNIGHT)).recipients
    assert HANDSET not in key and HANDSET[1:] not in key
    secret = await store.recipient_secret()
    assert len(secret) == 32 and secret == await store.recipient_secret()


async def test_a_deleted_messages_parts_still_count(store: Store) -> None:
    going = await queued(store, 2)
    await store.record_part_sent(going.sid, 1, 1, MIDNIGHT)
    assert await store.message_sent(going.sid, MIDNIGHT, last_part=(2, 2)) is Status.SENT
    deleted = await store.delete_message(ACCOUNT, going.sid)
    assert deleted is not None and await store.get_message(ACCOUNT, going.sid) is None
    counted = await store.parts_sent("alice", MIDNIGHT)
    assert (counted.parts, counted.recipients) == (2, await keys(store, HANDSET))


async def test_an_obfuscated_recipient_still_counts_once(store: Store) -> None:
    masked = await queued(store, 1, address_retention="obfuscate")
    await store.message_sent(masked.sid, MIDNIGHT, last_part=(1, 6))
    await store.add_status_report(report("r", 6, at=MIDNIGHT))
    assert (await stored(store, masked.sid)).to == "+1555XXXXX02"  # the number is gone
    again = await queued(store, 1)  # the same number, kept this time
    await store.message_sent(again.sid, MIDNIGHT + timedelta(minutes=1), last_part=(1, 7))
    counted = await store.parts_sent("alice", MIDNIGHT)
    assert (counted.parts, counted.recipients) == (2, await keys(store, HANDSET))


async def test_what_is_older_than_a_month_is_forgotten(store: Store) -> None:
    old = await queued(store, 1)
    await store.message_sent(old.sid, MIDNIGHT - KEPT - timedelta(minutes=15), last_part=(1, 1))
    kept = await queued(store, 1, to=OTHER)
    await store.message_sent(kept.sid, MIDNIGHT - timedelta(days=31), last_part=(1, 2))
    since = MIDNIGHT - timedelta(days=60)
    assert (await store.parts_sent("alice", since)).parts == 2  # nothing newer yet
    new = await queued(store, 1, to="+447700900555")
    await store.message_sent(new.sid, MIDNIGHT, last_part=(1, 3))  # a new quarter hour's row
    counted = await store.parts_sent("alice", since)
    assert (counted.parts, counted.recipients) == (2, await keys(store, OTHER, "+447700900555"))


async def test_a_restart_reads_the_same_counts(tmp_path: Path) -> None:
    """SQLite's alone: the in-memory store keeps nothing across a restart."""
    async with opened(tmp_path) as store:
        going = await queued(store, 3, address_retention="obfuscate")
        await store.record_part_sent(going.sid, 1, 1, MIDNIGHT)
        await store.record_part_sent(going.sid, 2, 2, MIDNIGHT + timedelta(hours=1))
        await store.message_sent(going.sid, MIDNIGHT + timedelta(hours=1), last_part=(3, 3))
        before = await store.parts_sent("alice", MIDNIGHT)
        secret = await store.recipient_secret()
        await store.delete_message(ACCOUNT, going.sid)
    async with opened(tmp_path) as again:
        assert await again.recipient_secret() == secret
        assert await again.parts_sent("alice", MIDNIGHT) == before
        assert before.parts == 3 and before.recipients == await keys(again, HANDSET)

"""The receiver alone (``gateway/inbound/receiver.py``): every PDU on the SIM becomes an inbound
message exactly once, committed before it is deleted; the parts of a long message are shown
``receiving`` and then reassembled under one SID, or given up with 30009 after the reassembly
timeout; a stop in between is resumed; a delivery report settles the message it is for. Over
the in-memory store, the test clock and a simulated modem."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import pytest

from drivers.codec.pdu import Deliver, decode, fields
from drivers.simulated import SimulatedNetwork
from drivers.simulated.pdus import status_report_pdu
from gateway.domain.assembly import received_part
from gateway.domain.models import Direction, Status
from gateway.domain.records import ReportMatch
from tests.fakes.clock import T0, Clock
from tests.fakes.store import MemoryStore
from tests.gateway.units.receiving_rig import Receiving, receiving
from tests.gateway.units.rig import ACCOUNT, ALICE, HANDSET, SENDER, SMS_URL, prepared

TIMEOUT: Final = 60.0  # reassembly_timeout in these tests
LONG: Final = "".join(f"[part {n}: " + "x" * 140 + "]" for n in range(1, 4))  # three parts


def waiting(unit: Receiving) -> int:
    """Parts committed and in no message yet."""
    return sum(1 for row in unit.store.inbound_parts.values() if row.message_sid is None)


async def shown_with(unit: Receiving, parts: int) -> str:
    """The SID of the message shown ``receiving``, once ``parts`` parts of it are committed."""
    groups = unit.store.receiving_groups
    await unit.store.until(lambda: waiting(unit) == parts and len(groups) == 1)
    (sid,) = groups.values()
    return sid


async def test_an_sms_becomes_a_message_with_its_webhook_then_leaves_the_sim() -> None:
    async with receiving() as unit:
        unit.text("hello there")
        (message,) = await unit.inbox.wait()
        assert (message.direction, message.status) == (Direction.INBOUND, Status.RECEIVED)
        assert (message.from_, message.to, message.body) == (SENDER, ALICE, "hello there")
        assert (message.num_segments, message.date_sent, message.account_sid) == (
            1,
            T0,
            ACCOUNT.sid,
        )
        assert await unit.stored(message.sid) == message
        (hook,) = unit.store.webhook_rows(message.sid)
        params = dict(hook.params)
        assert (hook.webhook.url, hook.webhook.kind) == (SMS_URL, "inbound")
        assert (params["Body"], params["From"], params["SmsStatus"]) == (
            "hello there",
            SENDER,
            "received",
        )
        await unit.commands.until("AT+CMGD")  # deleted from the SIM once committed
        assert unit.receiver.metrics.received == 1


async def test_a_pdu_read_again_adds_nothing() -> None:
    async with receiving() as unit:
        ((pdu, length),) = unit.modems.network.inbound_pdus(SENDER, "once")
        unit.sim.receive(pdu, length)
        await unit.commands.until("AT+CMGD", 1)
        unit.sim.receive(pdu, length)  # the network sent it again, or a sweep read it again
        await unit.commands.until("AT+CMGD", 2)
        assert len(unit.inbox.messages) == 1
        assert (unit.receiver.metrics.received, unit.receiver.metrics.duplicates) == (1, 1)
        assert await unit.store.count_messages() == 1


async def test_parts_out_of_order_are_shown_receiving_then_received_under_one_sid() -> None:
    async with receiving(reassembly_timeout=TIMEOUT) as unit:
        unit.text(LONG, order=[3])
        shown = await shown_with(unit, 1)
        receiving_now = await unit.stored(shown)
        assert (receiving_now.status, receiving_now.num_segments) == (Status.RECEIVING, 3)
        assert receiving_now.body == "[part 3: " + "x" * 140 + "]"
        assert unit.store.webhook_rows() == []  # its webhook waits for the whole message
        unit.text(LONG, order=[1, 2])
        (message,) = await unit.inbox.wait()
        assert (message.sid, message.body, message.num_segments) == (shown, LONG, 3)
        assert (message.status, message.error_code) == (Status.RECEIVED, None)
        assert len(unit.store.webhook_rows(message.sid)) == 1


async def test_a_missing_part_gives_the_message_up_with_30009_after_the_timeout() -> None:
    async with receiving(reassembly_timeout=TIMEOUT) as unit:
        unit.text(LONG, order=[1, 3])
        await shown_with(unit, 2)
        unit.clock.advance(TIMEOUT / 2)
        assert await unit.receiver.expire_due() == 0  # not yet
        unit.clock.advance(TIMEOUT / 2 + 1)
        await unit.receiver.expire_due()  # what the expiry timer does when it is due
        (given_up,) = await unit.inbox.wait()
        assert (given_up.error_code, given_up.error_message) == (30009, "Missing segment")
        assert given_up.num_segments == 2
        assert given_up.body == LONG.replace("[part 2: " + "x" * 140 + "]", "")
        # The part arriving late, within another timeout, is a message of its own: never
        # dropped, and the message whose webhook went is not changed.
        unit.text(LONG, order=[2])
        (_, late) = await unit.inbox.wait(2)
        assert (late.body, late.error_code) == ("[part 2: " + "x" * 140 + "]", 30009)
        assert (await unit.stored(given_up.sid)).body == given_up.body
        assert len(unit.store.webhook_rows(given_up.sid)) == 1


async def test_a_stop_while_parts_arrive_is_resumed_under_the_same_sid() -> None:
    store, clock = MemoryStore(), Clock()
    async with receiving(store=store, clock=clock, reassembly_timeout=TIMEOUT) as before:
        before.text(LONG, order=[1, 2])
        shown = await shown_with(before, 2)
    async with receiving(store=store, clock=clock, reassembly_timeout=TIMEOUT) as after:
        after.text(LONG, order=[3])  # the same sender, reference and count: the same group
        (message,) = await after.inbox.wait()
        assert (message.sid, message.body, message.error_code) == (shown, LONG, None)


async def test_a_group_that_timed_out_during_a_stop_is_given_up_at_the_start() -> None:
    store, clock = MemoryStore(), Clock()
    async with receiving(store=store, clock=clock, reassembly_timeout=TIMEOUT) as before:
        before.text(LONG, order=[2])
        shown = await shown_with(before, 1)
    clock.advance(3600)  # the gateway was down an hour
    async with receiving(store=store, clock=clock, reassembly_timeout=TIMEOUT) as after:
        (message,) = await after.inbox.wait()  # its expiry timer is due at once
        assert (message.sid, message.error_code, message.date_sent) == (shown, 30009, clock())


async def test_a_part_committed_just_before_a_crash_becomes_its_message_at_the_start() -> None:
    # Committed, and not yet made into its message, when the gateway stopped.
    store = MemoryStore()
    ((pdu, length),) = prepared_deliver("left behind")
    deliver = decode(pdu, length)
    assert isinstance(deliver, Deliver)
    tpdu = pdu[len(pdu) - 2 * deliver.tpdu_length :]
    await store.add_inbound_part(received_part("alice", ALICE, deliver, tpdu, T0))
    async with receiving(store=store) as unit:
        (message,) = await unit.inbox.wait()  # the start's resume made it
        assert (message.body, message.status) == ("left behind", Status.RECEIVED)
        assert len(unit.store.webhook_rows(message.sid)) == 1


def prepared_deliver(text: str) -> list[tuple[str, int]]:
    """The SMS-DELIVER PDUs of ``text`` from the handset, as the network would bring them."""
    return SimulatedNetwork().inbound_pdus(SENDER, text)


@pytest.mark.parametrize(
    ("personality", "done"),
    [("generic", "AT+CNMA"), ("stored", "AT+CMGD")],  # routed (+CDS) or stored (+CDSI)
)
async def test_a_status_report_settles_the_message_it_is_for(personality: str, done: str) -> None:
    async with receiving(personality=personality) as unit:
        new = prepared(Body="report me")
        await unit.store.create_message(new.message, new.segments)
        await unit.store.message_sent(new.message.sid, T0, last_part=(1, 77))
        report = status_report_pdu(
            "+15550000000",
            reference=77,
            recipient=fields.encode_address(HANDSET, "TP-RA"),
            scts=T0,
            discharge=T0 + timedelta(seconds=3),
            status=0x00,
        )
        unit.sim.receive_report(*report)
        assert await unit.inbox.report() == ReportMatch(new.message.sid, 1, Status.DELIVERED)
        delivered = await unit.stored(new.message.sid)
        assert delivered.status is Status.DELIVERED
        await unit.commands.until(done, 1)  # acknowledged, or deleted, once committed
        unit.sim.receive_report(*report)  # the same report again: kept once
        await unit.commands.until(done, 2)
        assert (sum(unit.receiver.metrics.reports.values()), unit.receiver.metrics.duplicates) == (
            1,
            1,
        )
        assert unit.receiver.metrics.unmatched_reports == 0
        assert len(unit.inbox.reports) == 1


async def test_an_unreadable_pdu_is_kept_and_deleted_from_the_sim() -> None:
    async with receiving() as unit:
        unit.sim.receive("0791", 1)  # an SMSC address, and nothing after it
        await unit.store.until(lambda: len(unit.store.unreadable) == 1)
        (kept,) = unit.store.unreadable
        assert (kept.modem, kept.pdu, kept.received_at) == ("alice", "0791", T0)
        await unit.commands.until("AT+CMGD")
        assert unit.inbox.messages == []

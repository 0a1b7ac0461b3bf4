"""The inbound receiver (``gateway.inbound.receiver``) on a real SQLite file: a sender that uses a
concatenation reference again for a later long message.

TS 23.040 §9.2.3.24.1 makes the 8-bit reference "a modulo 256 counter": after 256 long messages
from one sender it comes back, and phones often start again from 0 after a reboot; a bank or a
carrier sending many two-part texts to one number uses every reference within days. Each
PDU here is an SMS-DELIVER that the simulated network builds, decoded and committed by
``InboundReceiver.accept`` as a modem's ``+CMT``/``AT+CMGR`` would hand it over; time is the
test's clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from drivers.codec.pdu import Deliver, decode
from drivers.simulated import SimulatedNetwork
from gateway.accounts.applications import Applications
from gateway.accounts.numbers import PhoneNumbers
from gateway.config import Config, ModemConfig
from gateway.domain.assembly import generation_of, received_part
from gateway.domain.models import Message, Status
from gateway.inbound.receiver import InboundReceiver
from gateway.modems.pool import ModemPool
from gateway.outbound.accept import Outbound
from gateway.outbound.dispatcher import Dispatcher
from gateway.store import MessageQuery
from gateway.store.sqlite import SqliteStore
from gateway.webhooks.replies import TwimlReplies
from gateway.webhooks.sender import WebhookSender
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import ACCOUNT, BOB, config
from tests.gateway.store_rig import opened

HANDSET = "+447700900123"
TIMEOUT = 600.0  # reassembly_timeout
FIRST = "Your card ending 1234 was charged 25.00 GBP at GROCER. " * 3  # 2 parts
SECOND = "Your card ending 1234 was charged 99.99 GBP at AIRLINE. " * 3  # 2 parts
THIRD = "Your card ending 1234 was refunded 12.50 GBP by GROCER. " * 3  # 2 parts


@dataclass
class Rig:
    store: SqliteStore
    receiver: InboundReceiver
    clock: Clock
    network: SimulatedNetwork
    made: list[Message] = field(default_factory=list)

    def pdus(self, text: str, reference: int) -> list[tuple[str, int]]:
        """What the handset's network delivers for ``text`` sent now under ``reference``."""
        return self.network.inbound_pdus(HANDSET, text, reference=reference)

    async def deliver(self, pdus: list[tuple[str, int]], *order: int) -> None:
        """The modem hands the gateway these parts (1-based), in this order."""
        handle = self.receiver.modems.handles["bob"]
        for number in order or range(1, len(pdus) + 1):
            await self.receiver.accept(handle, *pdus[number - 1])

    async def send(self, text: str, reference: int, *order: int) -> list[tuple[str, int]]:
        pdus = self.pdus(text, reference)
        await self.deliver(pdus, *order)
        return pdus

    async def listed(self) -> list[Message]:
        """The handset's messages as the Messages API lists them, newest first."""
        page = await self.store.list_messages(ACCOUNT.sid, MessageQuery(from_=HANDSET))
        assert page is not None
        return page.messages


def configuration(tmp_path: Path) -> Config:
    return config(
        tmp_path / "data",
        ModemConfig("bob", "simulated", (BOB,)),
        reassembly_timeout=TIMEOUT,
    )


@asynccontextmanager
async def receiving(tmp_path: Path, clock: Clock | None = None) -> AsyncIterator[Rig]:
    """A receiver over the SQLite file in ``tmp_path`` (the same file again for a restart)."""
    settings = configuration(tmp_path)
    clock = clock or Clock()
    async with opened(settings.data_dir) as store:
        modems = ModemPool(settings.modems)
        applications = Applications(store, clock)
        dispatcher = Dispatcher(store, modems, clock)
        outbound = Outbound(settings, store, modems, dispatcher, clock, applications=applications)
        webhooks = WebhookSender(store, TwimlReplies(outbound), clock)
        numbers = PhoneNumbers(settings, store, clock, applications)
        receiver = InboundReceiver(
            settings,
            store,
            modems,
            webhooks,
            numbers,
            clock=clock,
            account_of=lambda _: ACCOUNT.sid,
        )
        rig = Rig(store, receiver, clock, SimulatedNetwork(clock=clock))
        receiver.on_message(rig.made.append)
        yield rig


def decoded(pdu: str, length: int) -> Deliver:
    message = decode(pdu, length)
    assert isinstance(message, Deliver)
    return message


def received(message: Message) -> tuple[str, int, int | None]:
    return message.body, message.num_segments, message.error_code


async def test_a_reference_used_again_after_a_complete_message_makes_a_second_message(
    tmp_path: Path,
) -> None:
    """A bank texts two long messages under the same 8-bit reference, minutes apart (its
    counter wrapped, TS 23.040 §9.2.3.24.1 "modulo 256"): two messages, each whole, neither
    30009, the second ``receiving`` under a SID of its own from its first part."""
    async with receiving(tmp_path) as rig:
        await rig.send(FIRST, 7)
        rig.clock.advance(180)
        await rig.send(SECOND, 7, 2)
        (first,) = rig.made
        (shown, listed_first) = await rig.listed()
        assert shown.sid != first.sid and listed_first.sid == first.sid
        assert (shown.status, shown.body, shown.num_segments) == (
            Status.RECEIVING,
            SECOND[153:],
            2,
        )
        await rig.deliver(rig.pdus(SECOND, 7), 1)
        assert [received(m) for m in rig.made] == [(FIRST, 2, None), (SECOND, 2, None)]
        assert rig.made[1].sid == shown.sid
        assert [(m.sid, m.status) for m in await rig.listed()] == [
            (shown.sid, Status.RECEIVED),
            (first.sid, Status.RECEIVED),
        ]


async def test_a_reference_used_again_after_a_message_given_up_makes_a_whole_message(
    tmp_path: Path,
) -> None:
    """A phone's part 2 never came: its message was given up with 30009 ("Missing segment").
    The next day the phone, rebooted and counting from 0 again, sends another two-part text
    under the same reference, part 2 first: it is one whole message, not the old message's
    late part 2 and a lone part 1."""
    async with receiving(tmp_path) as rig:
        await rig.send(FIRST, 0, 1)
        rig.clock.advance(TIMEOUT + 1)
        assert await rig.receiver.expire_due() == 1
        (given_up,) = rig.made
        assert received(given_up) == (FIRST[:153], 1, 30009)

        rig.clock.advance(86_400)
        await rig.send(SECOND, 0, 2, 1)
        assert [received(m) for m in rig.made] == [(FIRST[:153], 1, 30009), (SECOND, 2, None)]
        assert [m.sid for m in await rig.listed()] == [rig.made[1].sid, given_up.sid]


async def test_a_part_missing_from_a_message_given_up_is_late_within_the_timeout(
    tmp_path: Path,
) -> None:
    """The network held part 2 back past ``reassembly_timeout``: the message went with 30009,
    and part 2 comes a little later. It is that message's, late: a message of its own with
    30009 at once, the message already reported unchanged. A new message under the reference
    after that is a message of its own."""
    async with receiving(tmp_path) as rig:
        pdus = await rig.send(FIRST, 9, 1)
        rig.clock.advance(TIMEOUT + 1)
        assert await rig.receiver.expire_due() == 1
        rig.clock.advance(TIMEOUT - 2)  # still within the timeout of the give-up
        await rig.deliver(pdus, 2)
        assert [received(m) for m in rig.made] == [
            (FIRST[:153], 1, 30009),
            (FIRST[153:], 1, 30009),
        ]
        assert await rig.store.get_message(ACCOUNT.sid, rig.made[0].sid) == rig.made[0]

        rig.clock.advance(60)
        await rig.send(SECOND, 9)
        assert received(rig.made[2]) == (SECOND, 2, None)
        assert len({m.sid for m in rig.made}) == 3


async def test_a_part_later_than_the_timeout_after_the_give_up_waits_as_a_new_message(
    tmp_path: Path,
) -> None:
    """Part 2 comes more than ``reassembly_timeout`` after its message was given up: it may as
    well be the first part of a new message under the same reference, so it waits as one
    (``receiving``) and, when nothing joins it, becomes the same 30009 message of its own one
    timeout later. Taking it for late would split a new message in two."""
    async with receiving(tmp_path) as rig:
        pdus = await rig.send(FIRST, 9, 1)
        rig.clock.advance(TIMEOUT + 1)
        assert await rig.receiver.expire_due() == 1
        rig.clock.advance(TIMEOUT + 1)
        await rig.deliver(pdus, 2)
        assert len(rig.made) == 1
        (waiting, _) = await rig.listed()
        assert (waiting.status, waiting.body, waiting.num_segments) == (
            Status.RECEIVING,
            FIRST[153:],
            2,
        )
        rig.clock.advance(TIMEOUT + 1)
        assert await rig.receiver.expire_due() == 1
        assert (rig.made[1].sid, received(rig.made[1])) == (waiting.sid, (FIRST[153:], 1, 30009))


async def test_a_part_read_again_after_its_message_adds_nothing(tmp_path: Path) -> None:
    """The network resends a part of a message already received (no RP-ACK seen), or a
    restart reads it again off the SIM: the same PDU, the same key; it is not a new message
    under a reference used again, neither before nor after the sender's next message."""
    async with receiving(tmp_path) as rig:
        pdus = await rig.send(FIRST, 7)
        await rig.deliver(pdus, 2, 1)
        assert rig.receiver.metrics.duplicates == 2
        rig.clock.advance(60)
        await rig.send(SECOND, 7, 1)
        await rig.deliver(pdus, 1, 2)
        assert rig.receiver.metrics.duplicates == 4
        assert [received(m) for m in rig.made] == [(FIRST, 2, None)]
        shown, _ = await rig.listed()
        assert (shown.status, shown.body) == (Status.RECEIVING, SECOND[:153])
        await rig.send(SECOND, 7, 2)
        assert [received(m) for m in rig.made] == [(FIRST, 2, None), (SECOND, 2, None)]
        assert rig.made[1].sid == shown.sid


async def test_two_long_texts_sent_at_once_under_one_reference_stay_apart(
    tmp_path: Path,
) -> None:
    """A bulk sender that picks references at random gives two texts sent in the same second
    the same one (1 in 256), and the network interleaves their parts: the second text's
    part 1 cannot be in the first one's message, which has a part 1 already, so each text is
    a message of its own."""
    async with receiving(tmp_path) as rig:
        first, second = rig.pdus(FIRST, 42), rig.pdus(SECOND, 42)
        await rig.deliver(first, 1)
        await rig.deliver(second, 1)
        shown = await rig.listed()
        assert [(m.status, m.body) for m in shown] == [
            (Status.RECEIVING, SECOND[:153]),
            (Status.RECEIVING, FIRST[:153]),
        ]
        await rig.deliver(first, 2)
        await rig.deliver(second, 2)
        assert [received(m) for m in rig.made] == [(FIRST, 2, None), (SECOND, 2, None)]
        assert [m.sid for m in rig.made] == [shown[1].sid, shown[0].sid]


async def test_a_later_message_under_a_reference_survives_a_restart(tmp_path: Path) -> None:
    """The gateway restarts between the parts of the second message under a reference: it is
    still ``receiving`` under its own SID, and its last part makes it ``received`` with that
    SID; the first message is untouched."""
    clock = Clock()
    async with receiving(tmp_path, clock) as rig:
        await rig.send(FIRST, 7)
        (first,) = rig.made
        rig.clock.advance(60)
        pdus = await rig.send(SECOND, 7, 1)
        shown, _ = await rig.listed()
    async with receiving(tmp_path, clock) as rig:
        await rig.receiver.resume()
        assert await rig.listed() == [shown, first]
        await rig.deliver(pdus, 2)
        (second,) = rig.made
        assert (second.sid, received(second)) == (shown.sid, (SECOND, 2, None))
        assert await rig.store.get_message(ACCOUNT.sid, first.sid) == first


async def test_a_later_message_committed_before_a_crash_is_shown_at_the_next_start(
    tmp_path: Path,
) -> None:
    """The crash came after the second message's part 1 was committed (to the next message
    under the reference), before it was shown: the next start shows it ``receiving`` as a
    message of its own, not joined to the first, however often it resumes, and its part 2
    makes it ``received``."""
    clock = Clock()
    async with receiving(tmp_path, clock) as rig:
        await rig.send(FIRST, 7)
        (first,) = rig.made
        rig.clock.advance(60)
        pdus = rig.pdus(SECOND, 7)
        # What accept() commits of part 1, and nothing after it.
        part = received_part("bob", BOB, decoded(*pdus[0]), pdus[0][0][-2 * pdus[0][1] :], clock())
        generations = await rig.store.generations(part.group or "")
        placed = replace(part, generation=generation_of(part, generations, timedelta(TIMEOUT)))
        assert placed.generation == 1
        assert await rig.store.add_inbound_part(placed)
    async with receiving(tmp_path, clock) as rig:
        await rig.receiver.resume()
        await rig.receiver.resume()
        shown, listed_first = await rig.listed()
        assert listed_first == first
        assert (shown.status, shown.body, shown.num_segments) == (
            Status.RECEIVING,
            SECOND[:153],
            2,
        )
        await rig.deliver(pdus, 2)
        assert [(m.sid, received(m)) for m in rig.made] == [(shown.sid, (SECOND, 2, None))]

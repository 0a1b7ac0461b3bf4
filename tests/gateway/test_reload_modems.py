"""Modems added, removed and changed by a reload, in-process: only those are opened or closed;
an untouched modem keeps its connection; nothing accepted is lost."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from drivers.simulated.network import Fate, HandsetRule, Submission
from gateway.config import ModemConfig, ServiceConfig
from gateway.domain.models import Status
from gateway.domain.quota import Quota
from gateway.modems.supervisor import ModemHandle
from gateway.runtime import Gateway
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    OTHER_ACCOUNT,
    Inbox,
    Statuses,
    config,
    running,
)

HANDSET = "+447700900123"
DAVE = "+15550004004"
SERVICE = "MG" + "d4" * 16
LONG = "Three parts, the reload in the middle, each sent exactly once in the end. " * 6
WAIT = 10.0

# Reports at once, as the rig would make them: a reload to these changes nothing else.
ALICE_MODEM = ModemConfig("alice", "simulated", (ALICE,), report_delay=0.0)
BOB_MODEM = ModemConfig("bob", "simulated", (BOB,), report_delay=0.0)


class Logged(logging.Handler):
    """Set once the gateway logs a line starting with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        super().__init__(logging.INFO)
        self.prefix = prefix
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix):
            self.seen.set()

    async def wait(self) -> None:
        await self.seen.wait()

    def __enter__(self) -> Logged:
        root = logging.getLogger()
        self.level_before = root.level
        root.setLevel(logging.INFO)
        root.addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self.level_before)


class Untouched:
    """What shows that a modem was left alone: its handle, its connection, its recoveries."""

    def __init__(self, handle: ModemHandle) -> None:
        self.handle, self.modem, self.recoveries = handle, handle.modem, handle.recoveries

    def check(self, gateway: Gateway) -> None:
        handle = gateway.modems.handles[self.handle.id]
        assert handle is self.handle
        assert handle.modem is self.modem and self.modem is not None
        assert self.modem.lost is None
        assert handle.recoveries == self.recoveries


async def test_a_modem_added_sends_at_once_and_the_others_are_left_alone(
    tmp_path: Path,
) -> None:
    async with running(config(tmp_path, ALICE_MODEM, BOB_MODEM)) as gateway:
        untouched = [Untouched(handle) for handle in gateway.modems.handles.values()]
        statuses = Statuses(gateway)
        dave = ModemConfig("dave", "simulated", (DAVE,), report_delay=0.0)
        changes = await gateway.reload(
            replace(gateway.config, modems=(*gateway.config.modems, dave))
        )

        assert changes.describe() == "modems: added dave"
        assert list(gateway.modems.handles) == ["alice", "bob", "dave"]
        await asyncio.wait_for(gateway.modems.handles["dave"].ready(), WAIT)
        message = await gateway.outbound.create(
            ACCOUNT.sid, {"To": HANDSET, "From": DAVE, "Body": "from the new modem"}
        )
        await statuses.reached(message.sid, Status.DELIVERED)
        for modem in untouched:
            modem.check(gateway)


async def test_a_modem_removed_keeps_its_queue_until_it_comes_back(tmp_path: Path) -> None:
    async with running(config(tmp_path, ALICE_MODEM, BOB_MODEM)) as gateway:
        alice = Untouched(gateway.modems.handles["alice"])
        statuses = Statuses(gateway)
        await gateway.modems.simulated["bob"].unplug()  # its messages wait for it
        sids = [
            (
                await gateway.outbound.create(
                    ACCOUNT.sid, {"To": HANDSET, "From": BOB, "Body": f"waits {n}"}
                )
            ).sid
            for n in range(2)
        ]
        changes = await gateway.reload(replace(gateway.config, modems=(ALICE_MODEM,)))

        assert changes.describe() == "modems: removed bob"
        assert list(gateway.modems.handles) == ["alice"]
        for sid in sids:
            message = await gateway.store.get_message(ACCOUNT.sid, sid)
            assert message is not None and message.status is Status.QUEUED
        # Its number is no longer the gateway's to send from.
        numbers = [n.number for n in gateway.numbers.of_account(ACCOUNT.sid)]
        assert numbers == [ALICE]

        await gateway.reload(replace(gateway.config, modems=(ALICE_MODEM, BOB_MODEM)))
        for sid in sids:
            await statuses.reached(sid, Status.DELIVERED)
        alice.check(gateway)
        sent = sorted(str(s.submit.text) for s in gateway.modems.network.submissions)
        assert sent == ["waits 0", "waits 1"]  # each once


async def test_a_removed_modems_service_messages_move_to_the_others(tmp_path: Path) -> None:
    pool = ServiceConfig(SERVICE, "Alerts", (ALICE, BOB), sticky_sender=False)
    async with running(config(tmp_path, ALICE_MODEM, BOB_MODEM, services=(pool,))) as gateway:
        statuses = Statuses(gateway)
        await gateway.modems.simulated["bob"].unplug()
        # The service gave it bob just before he went away (as gateway.outbound.routing does).
        form = {"To": HANDSET, "MessagingServiceSid": SERVICE, "Body": "moves"}
        accepted = gateway.outbound.prepare(ACCOUNT.sid, form).message
        routed = gateway.outbound.encode(
            replace(accepted, status=Status.QUEUED, from_=BOB), gateway.modems.handles["bob"]
        )
        await gateway.store.create_message(routed.message, routed.segments)
        # Given with its From, a message of the service is sent from that number alone.
        pinned = await gateway.outbound.create(ACCOUNT.sid, {**form, "From": BOB})
        assert (pinned.status, pinned.from_, pinned.modem) == (Status.ACCEPTED, BOB, None)

        await gateway.reload(
            replace(
                gateway.config, modems=(ALICE_MODEM,), services=(replace(pool, numbers=(ALICE,)),)
            )
        )
        await statuses.reached(routed.message.sid, Status.DELIVERED)
        moved = await gateway.store.get_message(ACCOUNT.sid, routed.message.sid)
        assert moved is not None and (moved.modem, moved.from_) == ("alice", ALICE)
        waiting = await gateway.store.get_message(ACCOUNT.sid, pinned.sid)
        assert waiting is not None and (waiting.status, waiting.from_) == (Status.ACCEPTED, BOB)

        await gateway.reload(replace(gateway.config, modems=(ALICE_MODEM, BOB_MODEM)))
        await statuses.reached(pinned.sid, Status.DELIVERED)
        sent = await gateway.store.get_message(ACCOUNT.sid, pinned.sid)
        assert sent is not None and (sent.modem, sent.from_) == ("bob", BOB)


async def test_a_changed_modem_lets_its_part_on_the_air_land_then_reopens(
    tmp_path: Path,
) -> None:
    """alice's send_rate changes while the first of three parts is on the air: the part is
    answered and committed, the connection closed and opened again, the rest sent; each part
    once. bob is not touched."""
    async with running(config(tmp_path, ALICE_MODEM, BOB_MODEM, shutdown_grace=10.0)) as gateway:
        bob = Untouched(gateway.modems.handles["bob"])
        old = gateway.modems.handles["alice"]
        statuses = Statuses(gateway)
        network = gateway.modems.network
        network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        gateway.modems.simulated["alice"].faults.latency = 0.3  # each AT+CMGS takes this long
        on_air = asyncio.Event()

        def first(_: Submission) -> None:
            on_air.set()

        network.on_submission(first)
        message = await gateway.outbound.create(
            ACCOUNT.sid, {"To": HANDSET, "From": ALICE, "Body": LONG}
        )
        await asyncio.wait_for(on_air.wait(), WAIT)
        faster = replace(ALICE_MODEM, send_rate=50.0)
        changes = await gateway.reload(replace(gateway.config, modems=(faster, BOB_MODEM)))

        assert changes.describe() == "modems: changed alice (send_rate)"
        assert gateway.modems.handles["alice"] is not old and old.modem is None
        assert gateway.metrics.parts_sent["alice"] >= 1  # the part on the air landed
        await statuses.reached(message.sid, Status.SENT)
        assert sorted(map(_sequence, network.submissions)) == [1, 2, 3]
        # No part was begun on the old connection after the reload came (and cut short).
        commands = gateway.modems.simulated["alice"].received_commands
        assert len([c for c in commands if c.upper().startswith("AT+CMGS=")]) == 3
        bob.check(gateway)


async def test_a_removed_modems_waiting_parts_become_a_message_of_its_account(
    tmp_path: Path,
) -> None:
    """The part of a long message a modem received before a reload removed it: once the
    reassembly timeout ends, a message (30009) of the account that owned the modem."""
    bob = replace(BOB_MODEM, account=OTHER_ACCOUNT.sid)
    async with running(config(tmp_path, ALICE_MODEM, bob, reassembly_timeout=1.0)) as gateway:
        inbox = Inbox(gateway)
        gateway.modems.network.inject(
            BOB, HANDSET, "a long text of which one part came " * 6, order=[1]
        )
        await gateway.inbound.settled()
        await gateway.reload(replace(gateway.config, modems=(ALICE_MODEM,)))
        (message,) = await inbox.wait(1)
        assert (message.account_sid, message.modem, message.error_code) == (
            OTHER_ACCOUNT.sid,
            "bob",
            30009,
        )


async def test_a_stop_during_a_reload_ends_it_and_loses_nothing(tmp_path: Path) -> None:
    configuration = config(tmp_path / "data", ALICE_MODEM, BOB_MODEM, shutdown_grace=10.0)
    on_air = asyncio.Event()
    async with running(configuration) as gateway:
        network = gateway.modems.network
        network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        gateway.modems.simulated["alice"].faults.latency = 0.3
        network.on_submission(lambda _: on_air.set())
        message = await gateway.outbound.create(
            ACCOUNT.sid, {"To": HANDSET, "From": ALICE, "Body": LONG}
        )
        await asyncio.wait_for(on_air.wait(), WAIT)
        faster = replace(ALICE_MODEM, send_rate=50.0)
        with Logged("configuration reloaded") as swapped:
            reload = asyncio.create_task(gateway.reload(replace(gateway.config, modems=(faster,))))
            await asyncio.wait_for(swapped.wait(), WAIT)  # it waits for the part on the air
        await gateway.stop()
        assert reload.cancelled()
        before = [_sequence(s) for s in network.submissions]
    async with running(configuration) as again:
        statuses = Statuses(again)
        again.modems.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        await statuses.reached(message.sid, Status.SENT)
        after = [_sequence(s) for s in again.modems.network.submissions]
    assert sorted(before + after) == [1, 2, 3]


def _sequence(submission: Submission) -> int:
    concatenation = submission.submit.concatenation
    assert concatenation is not None
    return concatenation.sequence


async def test_a_reload_that_lowers_a_modems_caps_counts_what_it_sent_today(
    tmp_path: Path,
) -> None:
    """alice sent two parts today under a cap of five; a reload makes it two: the next message
    waits for tomorrow, past its validity (the test clock: 12:34 UTC), so it fails (30001)."""
    plan = Quota(daily_limit=5)
    alice = replace(ALICE_MODEM, quota=plan, max_backlog=0)  # no 429: what the dispatcher does
    async with running(config(tmp_path, alice, BOB_MODEM), clock=Clock()) as gateway:
        statuses = Statuses(gateway)
        for body in ("one", "two"):
            sent = await gateway.outbound.create(
                ACCOUNT.sid, {"To": HANDSET, "From": ALICE, "Body": body}
            )
            await statuses.reached(sent.sid, Status.SENT)
        lowered = replace(alice, quota=replace(plan, daily_limit=2))
        changes = await gateway.reload(replace(gateway.config, modems=(lowered, BOB_MODEM)))
        assert changes.describe() == "modems: changed alice (quota)"
        late = await gateway.outbound.create(
            ACCOUNT.sid, {"To": HANDSET, "From": ALICE, "Body": "three"}
        )
        await statuses.reached(late.sid, Status.FAILED)
        failed = await gateway.store.get_message(ACCOUNT.sid, late.sid)
        assert failed is not None and failed.error_code == 30001
        (day,) = gateway.dispatcher.quotas.standing(lowered)
        assert (day.limit, day.used, day.left) == (2, 2, 0)


async def test_a_reload_that_raises_a_modems_caps_lets_what_they_held_go_at_once(
    tmp_path: Path,
) -> None:
    """22:00 UTC: the day's one part is used, the second message waits for midnight; a reload
    to two parts a day sends it now."""
    plan = Quota(daily_limit=1)
    alice = replace(ALICE_MODEM, quota=plan, max_backlog=0)
    clock = Clock(datetime(2026, 3, 1, 22, tzinfo=UTC))
    async with running(config(tmp_path, alice, BOB_MODEM), clock=clock) as gateway:
        statuses = Statuses(gateway)
        held = asyncio.Event()
        gateway.dispatcher.on_held(lambda _sid, _modem: held.set())
        form = {"To": HANDSET, "From": ALICE}
        first = await gateway.outbound.create(ACCOUNT.sid, {**form, "Body": "one"})
        await statuses.reached(first.sid, Status.SENT)
        second = await gateway.outbound.create(ACCOUNT.sid, {**form, "Body": "two"})
        await asyncio.wait_for(held.wait(), WAIT)
        raised = replace(alice, quota=replace(plan, daily_limit=2))
        await gateway.reload(replace(gateway.config, modems=(raised, BOB_MODEM)))
        await statuses.reached(second.sid, Status.SENT)
        sent = await gateway.store.get_message(ACCOUNT.sid, second.sid)
        assert sent is not None and sent.date_sent == clock.now

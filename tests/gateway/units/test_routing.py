"""The Messaging Service router alone (``gateway/outbound/routing.py``): a service message is
given a sender (sticky per recipient, else the least-loaded ready number), a scheduled one is
queued when its SendAt comes, and a modem's unsent service messages move when it goes away or
is removed. Over the in-memory store, the test clock and simulated modems."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import pytest

from drivers.codec import MessagePlan, plan_text
from gateway.config import ServiceConfig
from gateway.domain.models import Status
from gateway.modems.supervisor import ModemState
from gateway.outbound import routing
from tests.fakes.clock import T0
from tests.gateway.units.rig import ALICE, BOB, HANDSET, config, entering
from tests.gateway.units.sending_rig import Sending, sending

SERVICE: Final = "MG" + "5" * 32
OTHER_HANDSET: Final = "+447700900456"
CALLBACK: Final = "https://example.com/status"


def pool(*numbers: str, sticky: bool = True) -> ServiceConfig:
    return ServiceConfig(SERVICE, "pool", numbers or (ALICE, BOB), sticky_sender=sticky)


async def via_service(unit: Sending, to: str = HANDSET, **form: str) -> str:
    created = await unit.outbound.create(
        unit.config.accounts[0].sid,
        {
            "To": to,
            "MessagingServiceSid": SERVICE,
            "Body": "hi",
            "StatusCallback": CALLBACK,
            **form,
        },
    )
    return created.sid


async def away(unit: Sending, modem: str) -> None:
    """``modem``'s SIM loses the network: connected, and unable to send."""
    unit.modems.simulated[modem].set_registration(0)
    await entering(unit.modems.handles[modem], ModemState.NO_SERVICE)


async def test_no_body_is_planned_into_parts_for_a_pool_without_caps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parts a service's message will be matter to a plan's caps only: without any, the
    router does not encode the body to count them (the dispatcher's encoder does, once)."""
    planned: list[str] = []

    def counted(body: str) -> MessagePlan:
        planned.append(body)
        return plan_text(body)

    monkeypatch.setattr(routing, "plan_text", counted)
    async with sending(config(services=(pool(),)), routing=True) as unit:
        sid = await via_service(unit)
        await unit.statuses.until(sid, Status.SENT)
    assert planned == []


async def test_the_least_loaded_ready_number_sends() -> None:
    async with sending(config(services=(pool(sticky=False),)), routing=True) as unit:
        await unit.dispatcher.detach("alice", 0.0)  # alice's queue stays as it is
        for n in range(2):
            await unit.send(body=f"alice's own #{n}")
        sid = await via_service(unit)
        assert await unit.statuses.until(sid, Status.SENT) == [
            Status.QUEUED,
            Status.SENDING,
            Status.SENT,
        ]
        sent = await unit.stored(sid)
        assert (sent.from_, sent.modem, sent.num_segments) == (BOB, "bob", 1)
        assert unit.store.callbacks(sid) == ["queued", "sent"]  # never "accepted"


async def test_a_recipient_keeps_its_sender_whatever_the_load() -> None:
    async with sending(config(services=(pool(),)), routing=True) as unit:
        first = await via_service(unit)
        await unit.statuses.until(first, Status.SENT)
        assert (await unit.stored(first)).from_ == ALICE  # equally loaded: the pool's first
        await unit.dispatcher.detach("alice", 0.0)
        await unit.send(body="alice's own")
        again = await via_service(unit)
        await unit.statuses.until(again, Status.QUEUED)
        queued = await unit.stored(again)
        assert (queued.from_, queued.status) == (ALICE, Status.QUEUED)  # sticky: alice waits
        other = await via_service(unit, OTHER_HANDSET)
        await unit.statuses.until(other, Status.SENT)
        assert (await unit.stored(other)).from_ == BOB


async def test_a_scheduled_message_is_queued_when_its_send_at_comes() -> None:
    async with sending(config(services=(pool(),)), routing=True) as unit:
        send_at = T0 + timedelta(minutes=20)
        sid = await via_service(unit, ScheduleType="fixed", SendAt=send_at.isoformat())
        assert (await unit.stored(sid)).status is Status.SCHEDULED
        assert unit.router is not None
        assert await unit.router.route_due() == 0  # not yet
        unit.advance(20 * 60)
        await unit.statuses.until(sid, Status.SENT)
        sent = await unit.stored(sid)
        assert (sent.from_, sent.date_sent) == (ALICE, send_at)
        assert unit.store.callbacks(sid) == ["queued", "sent"]  # never "scheduled"


async def test_a_service_message_waits_accepted_while_no_number_is_ready() -> None:
    async with sending(config(services=(pool(ALICE),)), routing=True) as unit:
        await away(unit, "alice")
        sid = await via_service(unit)
        assert unit.router is not None
        assert await unit.router.route_due() == 0
        assert (await unit.stored(sid)).status is Status.ACCEPTED
        unit.modems.simulated["alice"].set_registration(1)  # back: the router looks again
        await unit.statuses.until(sid, Status.SENT)
        assert (await unit.stored(sid)).from_ == ALICE


async def test_a_modem_gone_away_hands_its_unsent_service_messages_on() -> None:
    async with sending(config(services=(pool(),)), routing=True) as unit:
        first = await via_service(unit)
        await unit.statuses.until(first, Status.SENT)
        await unit.dispatcher.detach("alice", 0.0)
        chosen = await via_service(unit)  # sticky: alice's, and it waits there
        pinned = await via_service(unit, OTHER_HANDSET, From=ALICE)  # alice's and no other's
        await unit.statuses.until(pinned, Status.QUEUED)
        await away(unit, "alice")  # failover_after is 0 in the rig
        await unit.statuses.until(chosen, Status.SENT)
        moved = await unit.stored(chosen)
        assert (moved.from_, moved.modem, moved.messaging_service_sid) == (BOB, "bob", SERVICE)
        assert unit.store.callbacks(chosen) == ["queued", "sent"]  # queued once
        stays = await unit.stored(pinned)
        assert (stays.status, stays.from_, stays.modem) == (Status.QUEUED, ALICE, "alice")
        assert unit.router is not None and unit.router.metrics.moved == 1


async def test_a_removed_modems_unsent_service_messages_move_at_once() -> None:
    async with sending(config(services=(pool(),)), routing=True) as unit:
        first = await via_service(unit)
        await unit.statuses.until(first, Status.SENT)
        await unit.dispatcher.detach("alice", 0.0)  # as a reload does, first
        chosen = await via_service(unit)
        await unit.statuses.until(chosen, Status.QUEUED)
        assert unit.router is not None
        assert await unit.router.removed("alice") == 1
        await unit.statuses.until(chosen, Status.SENT)
        assert (await unit.stored(chosen)).from_ == BOB

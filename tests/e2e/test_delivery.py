"""End to end, delivery: status reports from the simulated network matched to the parts they
report on, the message's status from all its parts, status callbacks (signed, in order) to a
real receiver, and the send-error policy that never blocks the queue."""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from drivers.simulated import SimulatedNetwork
from drivers.simulated.network import Fate, HandsetRule, Submission
from drivers.simulated.pdus import status_report_pdu
from gateway.config import Config, ModemConfig, NumberConfig
from gateway.domain.models import API_VERSION, Status
from gateway.domain.pricing import PriceTable
from gateway.domain.records import ReportMatch
from gateway.runtime import Gateway
from tests.e2e.rig import HANDSET, HANDSET_2, Rig, started_rig
from tests.fakes.clock import T0, Clock
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, WAIT, config, running
from tests.gateway.webhook_receiver import Answer, Received, Receiver

OTHER = HANDSET_2


def statuses_of(callbacks: list[Received]) -> list[str]:
    return [callback.params["MessageStatus"] for callback in callbacks]


async def parts_reported(r: Rig, sid: str) -> list[tuple[str | None, int | None]]:
    """What the store keeps of each part's latest report: its delivery and TP-ST."""
    return [(part.delivery, part.report_status) for part in (await r.trail(sid)).parts]


def report(
    submission: Submission, status: int, network: SimulatedNetwork, recipient: str | None = None
) -> tuple[str, int]:
    """The SMS-STATUS-REPORT the network would send for ``submission`` with TP-ST ``status``."""
    digits = (recipient or submission.destination).lstrip("+")
    international = (recipient or submission.destination).startswith("+")
    ra = bytes((len(digits), 0x91 if international else 0x81)) + _bcd(digits)
    return status_report_pdu(
        network.smsc,
        reference=submission.reference,
        recipient=ra,
        scts=submission.at,
        discharge=network.clock(),
        status=status,
    )


def _bcd(digits: str) -> bytes:
    padded = digits + "F" * (len(digits) % 2)
    return bytes.fromhex("".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2)))


# --- delivered, undelivered, still trying, never reported ------------------------------------


@pytest.mark.parametrize("personality", ["generic", "quectel", "cds", "routed", "zte"])
async def test_delivered_with_callbacks_in_order(tmp_path: Path, personality: str) -> None:
    """However the modem hands reports over: stored in SR (+CDSI), stored in SM among the
    messages (Quectel), routed (+CDS), routed and acknowledged (AT+CNMA)."""
    alice = ModemConfig("alice", "simulated", (ALICE,), personality=personality)
    async with started_rig(tmp_path, alice) as r:
        sid = await r.send()
        callbacks = await r.callbacks(sid, 3)
        assert statuses_of(callbacks) == ["queued", "sent", "delivered"]
        assert all(callback.signed and callback.method == "POST" for callback in callbacks)
        assert all(callback.path == "/status" for callback in callbacks)
        delivered = callbacks[2].params
        assert {key: delivered[key] for key in delivered if key != "RawDlrDoneDate"} == {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": "delivered",
            "SmsStatus": "delivered",
            "AccountSid": ACCOUNT.sid,
            "From": ALICE,
            "To": HANDSET,
            "ApiVersion": API_VERSION,
        }
        # The discharge time of the report, the way Twilio passes a carrier's on.
        assert re.fullmatch(r"\d{10}", delivered["RawDlrDoneDate"])
        assert "RawDlrDoneDate" not in callbacks[1].params  # only on delivered/undelivered
        assert "ErrorCode" not in delivered
        fetched = await r.get(sid)
        assert (fetched["status"], fetched["error_code"]) == ("delivered", None)


@pytest.mark.parametrize(
    ("tp_st", "code"),
    [(0x41, 30006), (0x42, 30004), (0x43, 30005), (0x46, 30003), (0x62, 30003), (0x02, 30008)],
)
async def test_undelivered_with_the_mapped_error(tmp_path: Path, tp_st: int, code: int) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.UNDELIVERED, status=tp_st))
        sid = await r.send()
        callbacks = await r.callbacks(sid, 3)
        assert statuses_of(callbacks) == ["queued", "sent", "undelivered"]
        assert callbacks[2].params["ErrorCode"] == str(code)
        assert re.fullmatch(r"\d{10}", callbacks[2].params["RawDlrDoneDate"])
        fetched = await r.get(sid)
        assert (fetched["status"], fetched["error_code"]) == ("undelivered", code)
        assert fetched["error_message"]
        # The part keeps what its report said.
        assert [part.report_status for part in (await r.trail(sid)).parts] == [tp_st]


async def test_phone_off_then_delivered(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.PHONE_OFF))
        sid = await r.send()
        (first,) = await r.statuses.reported(1)  # "still trying" (TP-ST 0x30)
        assert (first.sid, first.sequence, first.status) == (sid, 1, None)
        await r.statuses.reached(sid, Status.SENT)
        assert (await r.get(sid))["status"] == "sent"
        # The intermediate state is recorded on the part.
        assert await parts_reported(r, sid) == [("pending", 0x30)]
        r.network.switch_on(HANDSET)
        await r.statuses.reached(sid, Status.DELIVERED)
        callbacks = await r.callbacks(sid, 3)
        assert statuses_of(callbacks) == ["queued", "sent", "delivered"]
        assert await parts_reported(r, sid) == [("delivered", 0x00)]


async def test_a_report_that_never_comes_leaves_it_sent(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        sid = await r.send()
        await r.statuses.reached(sid, Status.SENT)
        # Another message's report comes after (one modem's notifications are taken in
        # order), so whatever the first could have had has been dealt with by then.
        other = await r.send(to=OTHER)
        await r.statuses.reached(other, Status.DELIVERED)
        await r.gateway.inbound.settled()
        assert (await r.get(sid))["status"] == "sent"
        assert statuses_of(await r.callbacks(sid, 2)) == ["queued", "sent"]
        assert [m.sid for m in r.statuses.reports] == [other]


async def test_three_parts_one_failing_makes_it_undelivered(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        sid = await r.send(body="Three parts, and the second one never arrives. " * 8)
        await r.statuses.reached(sid, Status.SENT)
        parts = [s for s in r.network.submissions if s.destination == HANDSET]
        assert len(parts) == 3
        for submission, tp_st in zip(parts, (0x00, 0x43, 0x00), strict=True):
            r.alice.receive_report(*report(submission, tp_st, r.network))
        await r.statuses.reported(3)
        assert [(m.sid, m.sequence) for m in r.statuses.reports] == [(sid, 1), (sid, 2), (sid, 3)]
        # Undelivered at the failing part's report; the third changes nothing more.
        assert [m.status for m in r.statuses.reports] == [None, Status.UNDELIVERED, None]
        callbacks = await r.callbacks(sid, 3)
        assert statuses_of(callbacks) == ["queued", "sent", "undelivered"]
        assert callbacks[2].params["ErrorCode"] == "30005"
        assert (await r.get(sid))["status"] == "undelivered"


async def test_a_multipart_message_is_delivered_when_every_part_is(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        sid = await r.send(body="Two parts, each reported on its own. " * 6)
        await r.statuses.reached(sid, Status.SENT)
        first, second = [s for s in r.network.submissions if s.destination == HANDSET]
        r.alice.receive_report(*report(second, 0x00, r.network))
        await r.statuses.reported(1)
        assert (await r.get(sid))["status"] == "sent"  # one part of two: not yet
        # Reported back in national form: the same handset.
        r.alice.receive_report(*report(first, 0x00, r.network, recipient="07700900123"))
        await r.statuses.reached(sid, Status.DELIVERED)
        assert statuses_of(await r.callbacks(sid, 3)) == ["queued", "sent", "delivered"]


async def test_a_report_for_another_recipient_or_no_part_is_kept_unmatched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        sid = await r.send()
        await r.statuses.reached(sid, Status.SENT)
        (submission,) = r.network.submissions
        stray = report(submission, 0x00, r.network, recipient="+15559999999")
        r.alice.receive_report(*stray)
        (match,) = await r.statuses.reported(1)
        assert match == ReportMatch(None, None, None)
        assert (await r.get(sid))["status"] == "sent"
        assert f"(TP-MR {submission.reference}, to +15559999999, TP-ST 0x00)" in caplog.text
        assert "matches no message" in caplog.text
        # Kept: the same report read again (the modem hands it over twice, say) is the one
        # committed, a duplicate. Another message's report comes after it (one modem's
        # notifications are taken in order), so by then it has been dealt with.
        r.alice.receive_report(*stray)
        other = await r.send(to=OTHER)
        await r.statuses.reached(other, Status.DELIVERED)
        assert r.gateway.metrics.duplicates == 1
        assert [m.sid for m in r.statuses.reports] == [None, other]


# --- TP-MR wrapping around -------------------------------------------------------------------


async def test_600_messages_to_one_number_every_report_on_its_message(tmp_path: Path) -> None:
    """TP-MR is one octet: 600 parts use each value two or three times. The reports of the
    first 200 are lost, so their parts stay waiting: a report must go to the most recent part
    with its TP-MR, never to a stale one."""
    async with started_rig(tmp_path) as r:
        # A real modem sends a part a second at best, so two parts with one TP-MR are minutes
        # apart and their reports differ in their time stamps; this network is faster than
        # that, so its clock moves a second at each reading. (Identical reports are one
        # report read twice, and counted once.)
        ticks = itertools.count()
        r.network.clock = lambda: T0 + timedelta(seconds=next(ticks))
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        given: dict[str | None, int] = {}  # each body's TP-MR, as the network gave it
        r.network.on_submission(lambda s: given.__setitem__(s.submit.text, s.reference))
        lost = [await r.post(To=HANDSET, From=ALICE, Body=f"#{n}") for n in range(200)]
        await r.statuses.reached(str(lost[-1]["sid"]), Status.SENT)
        r.network.set_rule(HANDSET, HandsetRule(Fate.DELIVERED))
        sids = [
            str((await r.post(To=HANDSET, From=ALICE, Body=f"#{n}"))["sid"])
            for n in range(200, 600)
        ]
        await r.statuses.until(lambda: all(Status.DELIVERED in r.statuses.seen[s] for s in sids))
        # Each report matched a part of the message it was for, each message's once...
        matched = [str(match.sid) for match in r.statuses.reports]
        assert len(matched) == 400
        assert sorted(matched) == sorted(sids)
        # ...the part that carried its TP-MR: the one the network gave its submission.
        trails = [await r.trail(str(created["sid"])) for created in lost]
        trails += [await r.trail(sid) for sid in sids]
        for trail in trails[200:]:
            (part,) = trail.parts
            assert (part.reference, part.delivery) == (given[trail.message.body], "delivered")
        assert len({trail.parts[0].reference for trail in trails}) == 256  # it did wrap
        for created in lost:
            assert (await r.get(str(created["sid"])))["status"] == "sent"


# --- restarts --------------------------------------------------------------------------------


async def test_a_report_after_a_restart_finds_its_message(tmp_path: Path) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    clock = Clock()
    async with started_rig(tmp_path, receiver=receiver, clock=clock) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        sid = await r.send()
        await r.statuses.reached(sid, Status.SENT)
        (submission,) = r.network.submissions
        # "queued" and "sent" delivered, and known to be (else they would go again).
        assert await r.statuses.webhook_outcomes(2) == [None, None]
    async with started_rig(tmp_path, receiver=receiver, clock=clock) as r:
        # The report the network kept for the part sent before the restart.
        r.alice.receive_report(*report(submission, 0x00, r.network))
        await r.statuses.reached(sid, Status.DELIVERED)
        assert statuses_of(await r.callbacks(sid, 3)) == ["queued", "sent", "delivered"]


async def test_callbacks_wait_for_the_receiver_and_keep_their_order(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        await r.receiver.stop()  # the user's server is down
        sid = await r.send()
        await r.statuses.reached(sid, Status.DELIVERED)
        (error,) = await r.statuses.webhook_outcomes(1)  # "queued" failed; the rest wait
        assert error is not None
        await r.receiver.start()
        r.clock.advance(5)  # the first retry is 5 s after the failure
        r.gateway.webhooks.wake()
        callbacks = await r.callbacks(sid, 3)
        assert statuses_of(callbacks) == ["queued", "sent", "delivered"]
        assert (await r.statuses.webhook_outcomes(4))[1:] == [None] * 3  # each delivered once


# --- send errors -----------------------------------------------------------------------------


async def test_a_permanent_error_fails_at_once_with_its_code(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.alice.fail_sends(1)  # +CMS ERROR: 1, unassigned number
        sid = await r.send()
        callbacks = await r.callbacks(sid, 2)
        assert statuses_of(callbacks) == ["queued", "failed"]
        assert callbacks[1].params["ErrorCode"] == "30005"
        fetched = await r.get(sid)
        assert (fetched["status"], fetched["error_code"]) == ("failed", 30005)
        assert fetched["date_sent"] is None


async def test_a_bad_number_between_good_ones_does_not_hold_them_up(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(OTHER, HandsetRule(Fate.REJECTED, cms_error=42))  # congestion
        good = [await r.send(body="first")]
        bad = await r.send(to=OTHER, body="bad")
        good += [await r.send(body=f"after {n}") for n in range(3)]
        for sid in good:
            await r.statuses.reached(sid, Status.DELIVERED)
        assert r.statuses.deferred == [(bad, 1)]  # deferred, not failed, and not in the way
        assert r.statuses.seen[bad] == [Status.SENDING]
        assert (await r.get(bad))["status"] == "sending"
        # Retried with backoff (30 s, 2 min, 10 min, 30 min) until the attempt limit (5),
        # then failed with the table's code.
        for attempts, delay in enumerate((30, 120, 600), start=2):
            r.clock.advance(delay)
            r.gateway.dispatcher.wake("alice")
            await r.statuses.until(lambda: len(r.statuses.deferred) == attempts)  # noqa: B023
        assert r.statuses.deferred == [(bad, n) for n in (1, 2, 3, 4)]
        r.clock.advance(1800)
        r.gateway.dispatcher.wake("alice")
        await r.statuses.reached(bad, Status.FAILED)
        fetched = await r.get(bad)
        assert (fetched["status"], fetched["error_code"]) == ("failed", 30008)
        assert (await r.trail(bad)).attempts == 5


async def test_modem_trouble_keeps_the_message_queued_and_recovers(tmp_path: Path) -> None:
    def no_pause(gateway: Gateway) -> None:
        gateway.dispatcher.local_delays = (0.0,)

    async with started_rig(tmp_path, prepare=no_pause) as r:
        handle = r.gateway.modems.handles["alice"]
        connections: list[object] = []
        handle.on_connected(connections.append)
        r.alice.fail_sends(331)  # no network service: the modem's trouble, not the message's
        sid = await r.send()
        await r.statuses.reached(sid, Status.DELIVERED)
        assert handle.troubles == 1
        # Initialised again before it sent, on the same connection (the ladder's first rung).
        assert (handle.recoveries, connections) == (1, [])
        assert (await r.trail(sid)).attempts == 0  # not counted against it
        assert statuses_of(await r.callbacks(sid, 3)) == ["queued", "sent", "delivered"]


async def test_trouble_is_visible_while_it_lasts(tmp_path: Path) -> None:
    def no_pause(gateway: Gateway) -> None:
        gateway.dispatcher.local_delays = (0.0,)

    async with started_rig(tmp_path, prepare=no_pause) as r:
        handle = r.gateway.modems.handles["alice"]
        troubled = asyncio.Event()
        handle.on_recovered(troubled.set)
        r.alice.fail_sends(314, count=2)  # SIM busy, twice
        sid = await r.send()
        await asyncio.wait_for(troubled.wait(), WAIT)
        status = handle.status()
        assert status.troubles >= 1 and status.trouble is not None
        assert "+CMS ERROR: 314" in status.trouble
        await r.statuses.reached(sid, Status.DELIVERED)
        assert handle.status().trouble is None  # it sends again
        assert handle.status().troubles == 2


async def test_rejected_duplicate_counts_as_sent(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.alice.fail_sends(197)  # the SC already has this part
        sid = await r.send()
        await r.statuses.reached(sid, Status.SENT)
        assert (await r.get(sid))["status"] == "sent"
        # Sent, with no TP-MR: the SC had it already.
        parts = (await r.trail(sid)).parts
        assert [(part.reference, part.sent_at is not None) for part in parts] == [(None, True)]


# --- validity period and price ---------------------------------------------------------------


async def test_not_sent_within_its_validity_period_fails_30036(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.alice.hang()  # alice's modem stops answering: nothing leaves
        sid = await r.send(ValidityPeriod="60")
        r.clock.advance(59)
        assert await r.gateway.dispatcher.expire_due() == 0
        r.clock.advance(2)
        assert await r.gateway.dispatcher.expire_due() == 1
        callbacks = await r.callbacks(sid, 2)
        assert statuses_of(callbacks) == ["queued", "failed"]
        assert callbacks[1].params["ErrorCode"] == "30036"
        fetched = await r.get(sid)
        assert (fetched["status"], fetched["error_code"]) == ("failed", 30036)
        assert fetched["error_message"] == "Validity Period Expired"


async def test_the_default_validity_period_is_four_hours(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.alice.hang()
        sid = await r.send()
        r.clock.advance(14399)
        assert await r.gateway.dispatcher.expire_due() == 0
        r.clock.advance(2)
        assert await r.gateway.dispatcher.expire_due() == 1
        assert (await r.get(sid))["error_code"] == 30036


async def test_a_message_with_a_part_on_the_air_does_not_expire(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        sid = await r.send(body="Two parts, the second held up. " * 8, ValidityPeriod="60")
        await r.statuses.reached(sid, Status.SENT)
        r.clock.advance(3600)
        assert await r.gateway.dispatcher.expire_due() == 0
        assert (await r.get(sid))["status"] == "sent"


async def test_a_message_that_expires_at_the_prompt_never_goes(tmp_path: Path) -> None:
    """Was: marked failed (30036, with its callback), then transmitted all the same by a
    modem slow to give its prompt. The grant of a part and the validity check are one
    transaction, at the prompt: the modem is told ESC and the message never goes."""
    async with started_rig(tmp_path) as r:

        def expire_at_the_prompt(command: str) -> None:
            if command.startswith("AT+CMGS="):
                r.clock.advance(61)  # the validity ends while the modem holds its prompt
                r.gateway.dispatcher.expiry_changed(r.clock())  # and the expiry timer looks

        r.alice.command_observers.append(expire_at_the_prompt)
        sid = await r.send(ValidityPeriod="60")
        callbacks = await r.callbacks(sid, 2)
        assert statuses_of(callbacks) == ["queued", "failed"]
        assert callbacks[1].params["ErrorCode"] == "30036"
        r.alice.command_observers.clear()
        later = await r.send(to=OTHER, body="the next one goes")  # the modem left the prompt
        await r.statuses.reached(later, Status.SENT)
        await r.statuses.until(lambda: Status.FAILED in r.statuses.seen[sid])
        fetched = await r.get(sid)
        assert (fetched["status"], fetched["error_code"]) == ("failed", 30036)
    assert [s.destination for s in r.network.submissions] == [OTHER]  # never the expired one
    # Both went as far as the prompt: the first was ended there with ESC.
    assert sum(command.startswith("AT+CMGS=") for command in r.alice.received_commands) == 2


async def test_a_message_refused_for_now_still_expires_while_it_waits(tmp_path: Path) -> None:
    # The part was granted at the prompt, then refused (+CMS ERROR: 42, congestion): it did
    # not go, so the grant is given back and the validity period counts again.
    async with started_rig(tmp_path) as r:
        r.alice.fail_sends(42)
        sid = await r.send(ValidityPeriod="60")
        await r.statuses.until(lambda: r.statuses.deferred == [(sid, 1)])
        r.clock.advance(61)
        assert await r.gateway.dispatcher.expire_due() == 1
        callbacks = await r.callbacks(sid, 2)
        assert statuses_of(callbacks) == ["queued", "failed"]
        assert callbacks[1].params["ErrorCode"] == "30036"


async def test_a_part_goes_with_the_validity_it_has_left(tmp_path: Path) -> None:
    # TS 23.040 §9.2.3.12.1: the network keeps it no longer than the gateway would have.
    async with started_rig(tmp_path) as r:

        def half_an_hour_later(command: str) -> None:
            if command.startswith("AT+CMGS="):
                r.clock.advance(1800)

        r.alice.command_observers.append(half_an_hour_later)
        sid = await r.send(ValidityPeriod="3600")
        await r.statuses.reached(sid, Status.SENT)
        plain = await r.send(to=OTHER)  # no ValidityPeriod: no TP-VP, as before
        await r.statuses.reached(plain, Status.SENT)
    first, second = r.network.submissions
    assert first.submit.validity is not None and first.submit.validity.seconds == 1800
    assert second.submit.validity is None


PRICES = PriceTable("USD", (("+447", Decimal("0.04")), ("+44", Decimal("0.05"))))


async def test_price_is_set_when_sent(tmp_path: Path) -> None:
    async with started_rig(tmp_path, prices=PRICES) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        sid = await r.send(body="Three parts at four cents each. " * 10)
        assert (await r.get(sid))["price"] is None  # not known until sent
        await r.statuses.reached(sid, Status.SENT)
        fetched = await r.get(sid)
        assert (fetched["num_segments"], fetched["price"], fetched["price_unit"]) == (
            "3",
            "-0.12000",
            "USD",
        )
        unpriced = await r.send(to="+15557654321")
        await r.statuses.reached(unpriced, Status.SENT)
        assert (await r.get(unpriced))["price"] is None  # no prefix for it in the table


async def test_over_max_price_fails_30010_without_sending(tmp_path: Path) -> None:
    async with started_rig(tmp_path, prices=PRICES) as r:
        sid = await r.send(body="Three parts at four cents each. " * 10, MaxPrice="0.10")
        callbacks = await r.callbacks(sid, 2)
        assert statuses_of(callbacks) == ["queued", "failed"]
        assert callbacks[1].params["ErrorCode"] == "30010"
        fetched = await r.get(sid)
        assert (fetched["status"], fetched["error_code"]) == ("failed", 30010)
        assert r.network.submitted == 0  # never sent
        cheap = await r.send(MaxPrice="0.04")  # one part: exactly the maximum
        await r.statuses.reached(cheap, Status.DELIVERED)


async def test_an_invalid_max_price_is_refused(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        for bad in ("-1", "0", "abc", "0.00001", "1e3"):
            error = await r.post(400, To=HANDSET, From=ALICE, Body="x", MaxPrice=bad)
            assert error["code"] == 21627, bad


# --- TwiML replies ---------------------------------------------------------------------------


async def test_a_twiml_replys_callbacks_go_to_its_action(tmp_path: Path) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    action = receiver.url("/reply-status")
    receiver.answers["/sms"] = Answer(
        body=f'<Response><Message action="{action}">Got it</Message></Response>'
    )
    settings = replace_number(config(tmp_path / "data"), receiver.url("/sms"))
    try:
        async with running(settings) as gateway:
            gateway.modems.network.inject(BOB, HANDSET, "Hello?")
            (inbound, *_) = await receiver.wait(1)
            assert inbound.path == "/sms"
            callbacks = await receiver.wait(4)
            assert [(c.path, c.params.get("MessageStatus")) for c in callbacks[1:]] == [
                ("/reply-status", "queued"),
                ("/reply-status", "sent"),
                ("/reply-status", "delivered"),
            ]
            assert all(c.signed for c in callbacks)
    finally:
        await receiver.stop()


def replace_number(configuration: Config, sms_url: str) -> Config:
    return replace(configuration, numbers=(NumberConfig(BOB, sms_url=sms_url),))


# --- privacy settings ------------------------------------------------------------------------


async def test_content_retention_discard_keeps_no_text_once_sent(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))
        secret = "The code is 4711. " * 10  # two parts
        sid = await r.send(body=secret, ContentRetention="discard")
        await r.statuses.reached(sid, Status.SENT)
        fetched = await r.get(sid)
        assert (fetched["body"], fetched["status"], fetched["num_segments"]) == ("", "sent", "2")
        # Nothing the store keeps has it: the body, the parts' PDUs, the callbacks.
        trail = await r.trail(sid)
        assert (trail.message.body, {part.pdu for part in trail.parts}) == ("", {""})
        assert not any("4711" in value for w in trail.webhooks for _, value in w.params)
        assert "4711" in str(r.network.submissions[0].submit.text)  # it went, all the same


async def test_address_retention_obfuscate_masks_the_recipient_once_final(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        sid = await r.send(AddressRetention="obfuscate")
        callbacks = await r.callbacks(sid, 3)
        assert statuses_of(callbacks) == ["queued", "sent", "delivered"]
        fetched = await r.get(sid)
        assert fetched["to"] == "+4477XXXXXX23"
        trail = await r.trail(sid)  # nothing the store keeps has it: the message, the callbacks
        assert HANDSET not in str((trail.message.to, [w.params for w in trail.webhooks]))
        # The report was matched on the full number, before the mask.
        assert [part.delivery for part in trail.parts] == ["delivered"]


async def test_privacy_settings_are_checked(tmp_path: Path) -> None:
    async with started_rig(tmp_path) as r:
        for name, value in (("ContentRetention", "forget"), ("AddressRetention", "hide")):
            error = await r.post(400, To=HANDSET, From=ALICE, Body="x", **{name: value})
            assert error["code"] == 20001 and name in error["message"]
        kept = await r.send(ContentRetention="retain", AddressRetention="retain")
        await r.statuses.reached(kept, Status.DELIVERED)
        fetched = await r.get(kept)
        assert (fetched["body"], fetched["to"]) == ("Hello", HANDSET)

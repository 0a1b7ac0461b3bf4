"""A message's life as pure rules (:mod:`gateway.domain.lifecycle`): each takes the message as
it stands and returns the transition the store applies (the message after, the callback queued
with it, what retention erases or masks), or ``None`` when the message cannot move. No store:
the records are the domain's own, the reports real ones from the shared corpus."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from gateway.domain import lifecycle
from gateway.domain.delivery import PartReport, PartState, report_of
from gateway.domain.lifecycle import UNSENT, WAITING, Claim, Transition
from gateway.domain.models import (
    API_VERSION,
    FINAL_STATUSES,
    Message,
    Status,
    obfuscate,
)
from gateway.domain.records import Application, Webhook
from tests.drivers.codec.test_pdu_vectors import BY_ID
from tests.fakes import records
from tests.fakes.records import ACCOUNT
from tests.gateway.test_delivery import real_report

SID: Final = "SM" + "1" * 32
CALLBACK: Final = "https://example.com/status"
APP_URL: Final = "https://example.com/app-status"
TO: Final = "+27829200000"
T0: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T1: Final = T0 + timedelta(minutes=1)


def message(status: Status = Status.QUEUED, **changes: Any) -> Message:
    """A message of two parts with a StatusCallback and an hour's validity."""
    base = records.message(
        at=T0,
        sid=SID,
        status=status,
        to=TO,
        from_="+27829200001",
        num_segments=2,
        status_callback=CALLBACK,
        validity_period=3600,
        expires_at=T0 + timedelta(hours=1),
    )
    return replace(base, **changes)


def application() -> Application:
    app = Application.new("AP" + "3" * 32, ACCOUNT, API_VERSION, T0)
    return replace(app, message_status_callback=APP_URL)


def reported(transition: Transition) -> list[tuple[str, str]]:
    """The status and URL of each callback the transition queues."""
    return [(dict(w.params)["MessageStatus"], w.url) for w in transition.webhooks]


def moved_to(transition: Transition | None) -> Transition:
    assert transition is not None
    assert transition.after.date_updated >= transition.before.date_updated
    return transition


# Real reports of the corpus: oFono's two-part message (MR 4 and 5, both delivered), and a
# "not obtainable" one (TP-ST 0x43, 30005).
FIRST, SECOND = (report_of(real_report(BY_ID[number])) for number in (132, 133))
NOT_OBTAINABLE: Final = report_of(real_report(BY_ID[89]))


def part(sequence: int, report: PartReport | None) -> PartState:
    """A part as the store holds it: with what its report said, or none yet."""
    if report is None:
        return PartState(sequence, None, None)
    return PartState(sequence, report.delivery, report.error_code)


# --- a new message ------------------------------------------------------------------------------


def test_a_new_queued_message_is_committed_with_its_queued_callback() -> None:
    (webhook,) = lifecycle.created(message(Status.QUEUED))
    assert isinstance(webhook, Webhook) and webhook.kind == "status"
    assert (dict(webhook.params)["MessageStatus"], webhook.url) == ("queued", CALLBACK)


@pytest.mark.parametrize("status", [Status.ACCEPTED, Status.SCHEDULED])
def test_a_message_waiting_for_a_sender_or_its_send_at_has_no_callback_yet(
    status: Status,
) -> None:
    assert lifecycle.created(message(status)) == ()


def test_a_message_sent_with_an_application_reports_sent_and_failed_only() -> None:
    app = application()
    new = message(Status.QUEUED, application_sid=app.sid)
    assert lifecycle.created(new, app) == ()
    sent = moved_to(lifecycle.sent(new, T1, "-0.0075", application=app))
    assert reported(sent) == [("sent", APP_URL)]


# --- moving an unsent message -------------------------------------------------------------------


def test_sending_is_not_reported() -> None:
    t = moved_to(lifecycle.moved(message(), Status.SENDING, T1))
    assert (t.after.status, t.after.date_updated, t.webhooks) == (Status.SENDING, T1, ())
    assert not t.erase_text and t.webhook_params == {}


def test_a_failure_carries_twilios_code_and_message_into_its_callback() -> None:
    t = moved_to(lifecycle.moved(message(Status.SENDING), Status.FAILED, T1, error_code=30008))
    assert (t.after.error_code, t.after.error_message) == (30008, "Unknown error")
    (webhook,) = t.webhooks
    assert dict(webhook.params)["ErrorCode"] == "30008"


@pytest.mark.parametrize("status", sorted(set(Status) - UNSENT))
def test_only_an_unsent_message_moves(status: Status) -> None:
    if status not in WAITING:
        assert lifecycle.moved(message(status), Status.FAILED, T1, error_code=30008) is None
    assert lifecycle.moved(message(status), Status.SENDING, T1) is None
    assert lifecycle.sent(message(status), T1) is None


@pytest.mark.parametrize("status", sorted(WAITING))
def test_a_waiting_message_its_sender_cannot_send_fails_with_its_callback(
    status: Status,
) -> None:
    """Routing found the Messaging Service message (or the scheduled one) cannot be sent from
    the sender it chose: it fails (30008) instead of waiting to be tried again for ever."""
    t = moved_to(lifecycle.moved(message(status), Status.FAILED, T1, error_code=30008))
    assert (t.after.status, t.after.error_code) == (Status.FAILED, 30008)
    (webhook,) = t.webhooks
    assert dict(webhook.params)["MessageStatus"] == "failed"


# --- the claim and the validity period ----------------------------------------------------------


def claim(status: Status = Status.QUEUED, **facts: Any) -> Claim:
    owner = facts.pop("owner", "alice")
    facts = {"expires_at": T0 + timedelta(hours=1), "underway": False, "now": T1, **facts}
    return lifecycle.claim(status, owner, "alice", **facts)


def test_a_part_is_granted_to_its_modem_while_the_message_is_valid() -> None:
    assert claim() is Claim.GRANTED
    assert claim(Status.SENDING, expires_at=None) is Claim.GRANTED


def test_a_part_of_another_modem_or_of_a_message_no_longer_unsent_is_gone() -> None:
    assert claim(owner="bob") is Claim.GONE
    assert claim(owner=None) is Claim.GONE
    for status in set(Status) - UNSENT:
        assert claim(status) is Claim.GONE


def test_the_message_expires_instead_once_its_validity_ended_unless_a_part_went() -> None:
    assert claim(expires_at=T1) is Claim.EXPIRED  # its last moment is past
    assert claim(expires_at=T0) is Claim.EXPIRED
    assert claim(expires_at=T0, underway=True) is Claim.GRANTED  # past expiring


@pytest.mark.parametrize("status", sorted(UNSENT | WAITING))
def test_an_expired_message_fails_with_30036_and_its_callback(status: Status) -> None:
    expiring = message(status, expires_at=T1)
    t = moved_to(lifecycle.expired(expiring, T1))
    assert (t.after.status, t.after.error_code) == (Status.FAILED, 30036)
    assert t.after.error_message == "Validity Period Expired"
    assert reported(t) == [("failed", CALLBACK)]


def test_no_expiry_before_the_end_without_one_with_a_part_on_its_way_or_once_sent() -> None:
    assert lifecycle.expired(message(expires_at=T1 + timedelta(microseconds=1)), T1) is None
    assert lifecycle.expired(message(expires_at=None), T1) is None
    assert lifecycle.expired(message(expires_at=T0), T1, underway=True) is None
    assert lifecycle.expired(message(Status.SENT, expires_at=T0), T1) is None


# --- sent, then settled by the reports ----------------------------------------------------------


def test_sent_takes_its_date_sent_and_price_and_clears_an_earlier_error() -> None:
    retried = message(Status.SENDING, error_code=30001, error_message="Queue overflow")
    t = moved_to(lifecycle.sent(retried, T1, "-0.0075"))
    after = t.after
    assert (after.status, after.date_sent, after.price, after.price_unit) == (
        Status.SENT,
        T1,
        "-0.0075",
        "USD",
    )
    assert (after.error_code, after.error_message) == (None, None)
    assert moved_to(lifecycle.sent(retried, T1, "-0.05", "EUR")).after.price_unit == "EUR"
    assert reported(t) == [("sent", CALLBACK)]


def test_a_two_part_message_is_delivered_once_both_real_reports_came() -> None:
    sent = message(Status.SENT, date_sent=T0)
    assert lifecycle.settled(sent, [part(1, FIRST), part(2, None)], T1, FIRST.done_date) is None
    t = moved_to(lifecycle.settled(sent, [part(1, FIRST), part(2, SECOND)], T1, "1006211403"))
    assert (t.after.status, t.after.error_code) == (Status.DELIVERED, None)
    (webhook,) = t.webhooks
    assert dict(webhook.params)["RawDlrDoneDate"] == "1006211403"


def test_a_real_failed_report_makes_the_message_undelivered_with_its_code() -> None:
    sent = message(Status.SENT, date_sent=T0)
    t = moved_to(lifecycle.settled(sent, [part(1, FIRST), part(2, NOT_OBTAINABLE)], T1))
    assert (t.after.status, t.after.error_code) == (Status.UNDELIVERED, 30005)
    assert t.after.error_message == "Unknown destination handset"
    assert reported(t) == [("undelivered", CALLBACK)]


@pytest.mark.parametrize("status", [Status.SENDING, Status.DELIVERED, Status.UNDELIVERED])
def test_reports_settle_only_a_sent_message(status: Status) -> None:
    both = [part(1, FIRST), part(2, SECOND)]
    assert lifecycle.settled(message(status), both, T1) is None


# --- retention ----------------------------------------------------------------------------------


def test_content_retention_discard_erases_the_text_once_sent_and_only_once() -> None:
    discard = message(Status.SENDING, content_retention="discard")
    t = moved_to(lifecycle.sent(discard, T1))
    assert (t.after.body, t.erase_text, t.webhook_params) == ("", True, {"Body": ""})
    both = [part(1, FIRST), part(2, SECOND)]
    later = moved_to(lifecycle.settled(t.after, both, T1))
    assert (later.after.body, later.erase_text) == ("", False)  # nothing left to erase


def test_content_retention_discard_keeps_the_text_while_it_may_still_go() -> None:
    t = moved_to(lifecycle.moved(message(content_retention="discard"), Status.SENDING, T1))
    assert (t.after.body, t.erase_text) == ("hello", False)


def test_address_retention_obfuscate_masks_the_recipient_once_final_in_its_callback_too() -> None:
    masked = obfuscate(TO)
    assert masked != TO
    obfuscated = message(Status.SENDING, address_retention="obfuscate")
    sent = moved_to(lifecycle.sent(obfuscated, T1))
    assert (sent.after.to, sent.masked_to) == (TO, None)  # a report is matched on it still
    both = [part(1, FIRST), part(2, SECOND)]
    delivered = moved_to(lifecycle.settled(sent.after, both, T1))
    assert (delivered.after.to, delivered.masked_to) == (masked, masked)
    assert delivered.webhook_params == {"To": masked}
    (webhook,) = delivered.webhooks
    assert dict(webhook.params)["To"] == masked


def test_a_canceled_message_with_both_retentions_keeps_neither() -> None:
    kept = message(Status.SCHEDULED, content_retention="discard", address_retention="obfuscate")
    t = moved_to(lifecycle.canceled(kept, T1))
    assert (t.after.status, t.after.body, t.after.to) == (Status.CANCELED, "", obfuscate(TO))
    assert t.webhook_params == {"Body": "", "To": obfuscate(TO)}
    assert reported(t) == [("canceled", CALLBACK)]


# --- cancel, a sender, redaction, deletion ------------------------------------------------------


@pytest.mark.parametrize("status", sorted(set(Status) - WAITING))
def test_only_a_message_not_gone_yet_is_canceled(status: Status) -> None:
    assert lifecycle.canceled(message(status), T1) is None


def test_a_waiting_message_is_given_its_sender_and_queued_with_its_callback() -> None:
    waiting = message(
        Status.ACCEPTED, from_=None, modem=None, messaging_service_sid="MG" + "2" * 32
    )
    chosen = replace(waiting, from_="+27829200001", modem="bob", num_segments=1, body="hi")
    t = moved_to(lifecycle.assigned(waiting, chosen, T1, underway=False))
    after = t.after
    assert (after.status, after.from_, after.modem, after.num_segments, after.body) == (
        Status.QUEUED,
        "+27829200001",
        "bob",
        1,
        "hi",
    )
    assert reported(t) == [("queued", CALLBACK)]


def test_a_queued_message_moves_to_another_modem_without_a_second_queued_callback() -> None:
    queued = message(Status.QUEUED)
    chosen = replace(queued, modem="bob")
    t = moved_to(lifecycle.assigned(queued, chosen, T1, underway=False))
    assert (t.after.modem, t.webhooks) == ("bob", ())
    assert lifecycle.assigned(queued, chosen, T1, underway=True) is None  # a part went
    assert lifecycle.assigned(message(Status.SENT), chosen, T1, underway=False) is None


def test_a_redaction_erases_the_text_everywhere_and_reports_nothing() -> None:
    final = message(Status.DELIVERED, date_sent=T0)
    t = lifecycle.redacted(final, T1)
    assert (t.after.body, t.after.date_updated, t.after.status) == ("", T1, Status.DELIVERED)
    assert (t.erase_text, t.webhooks, t.webhook_params) == (True, (), {"Body": ""})


def test_only_a_final_message_is_deleted() -> None:
    for status in Status:
        assert lifecycle.deletable(message(status)) is (status in FINAL_STATUSES)

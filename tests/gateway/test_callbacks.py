"""Status callbacks: the request Twilio makes to a message's StatusCallback when its status
changes (``../shared/docs/twilio-messages-api.md`` §5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

import pytest

from gateway.domain.callbacks import REPORTED, REPORTED_TO_APPLICATION, status_callback
from gateway.domain.models import API_VERSION, Message, Status
from gateway.domain.records import Application, Webhook
from tests.fakes import records
from tests.fakes.records import ACCOUNT

SID: Final = "SM" + "1" * 32
SERVICE: Final = "MG" + "2" * 32
URL: Final = "https://example.com/status?key=1&x=%20"
T0: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def message(status: Status = Status.SENT, **changes: Any) -> Message:
    base = records.message(
        at=T0,
        sid=SID,
        status=status,
        to="+15550002002",
        from_="+15550001001",
        status_callback=URL,
    )
    return replace(base, **changes)


def params(webhook: Webhook | None) -> dict[str, str]:
    assert webhook is not None
    names = [name for name, _ in webhook.params]
    assert len(names) == len(set(names)), f"a parameter given twice: {names}"
    return dict(webhook.params)


def test_a_sent_callback() -> None:
    webhook = status_callback(message(Status.SENT))
    assert webhook is not None
    assert (webhook.account_sid, webhook.message_sid, webhook.kind) == (ACCOUNT, SID, "status")
    assert (webhook.url, webhook.method) == (URL, "POST")  # the URL exactly as given
    assert (webhook.fallback_url, webhook.fallback_method) == (None, None)
    assert params(webhook) == {
        "MessageSid": SID,
        "SmsSid": SID,
        "MessageStatus": "sent",
        "SmsStatus": "sent",
        "AccountSid": ACCOUNT,
        "From": "+15550001001",
        "To": "+15550002002",
        "ApiVersion": "2010-04-01",
    }
    assert API_VERSION == "2010-04-01"


@pytest.mark.parametrize(
    "status",
    [
        Status.QUEUED,
        Status.SENT,
        Status.FAILED,
        Status.DELIVERED,
        Status.UNDELIVERED,
        Status.CANCELED,
    ],
)
def test_every_status_twilio_reports(status: Status) -> None:
    sent = params(status_callback(message(status)))
    assert sent["MessageStatus"] == sent["SmsStatus"] == status.value


@pytest.mark.parametrize(
    "status",
    [Status.SENDING, Status.ACCEPTED, Status.SCHEDULED, Status.RECEIVING, Status.RECEIVED],
)
def test_statuses_twilio_does_not_report(status: Status) -> None:
    assert status_callback(message(status)) is None
    assert status_callback(message(status, error_code=30008), "2403011200") is None


def test_reported_is_every_status_but_those() -> None:
    assert set(Status) - REPORTED == {
        Status.SENDING,
        Status.ACCEPTED,
        Status.SCHEDULED,
        Status.RECEIVING,
        Status.RECEIVED,
    }


@pytest.mark.parametrize("url", [None, ""])
def test_no_callback_without_a_url(url: str | None) -> None:
    for status in Status:
        assert status_callback(message(status, status_callback=url), "2403011200") is None


@pytest.mark.parametrize(
    ("status", "error_code"),
    [(Status.UNDELIVERED, 30003), (Status.UNDELIVERED, 30005), (Status.FAILED, 30008)],
)
def test_error_code_on_a_failure(status: Status, error_code: int) -> None:
    assert params(status_callback(message(status, error_code=error_code)))["ErrorCode"] == str(
        error_code
    )


@pytest.mark.parametrize("status", [Status.QUEUED, Status.SENT, Status.DELIVERED, Status.CANCELED])
def test_no_error_code_otherwise(status: Status) -> None:
    # Even if the message still carries one (a status that moved on keeps the column).
    assert "ErrorCode" not in params(status_callback(message(status, error_code=30008)))


@pytest.mark.parametrize("status", [Status.FAILED, Status.UNDELIVERED])
def test_a_failure_without_a_code_has_no_error_code(status: Status) -> None:
    assert "ErrorCode" not in params(status_callback(message(status, error_code=None)))


@pytest.mark.parametrize("status", [Status.DELIVERED, Status.UNDELIVERED])
def test_raw_dlr_done_date_with_a_final_delivery(status: Status) -> None:
    sent = params(status_callback(message(status, error_code=30003), "1307261429"))
    assert sent["RawDlrDoneDate"] == "1307261429"
    assert "RawDlrDoneDate" not in params(status_callback(message(status, error_code=30003)))
    assert "RawDlrDoneDate" not in params(status_callback(message(status), ""))


@pytest.mark.parametrize("status", [Status.QUEUED, Status.SENT, Status.FAILED, Status.CANCELED])
def test_no_raw_dlr_done_date_otherwise(status: Status) -> None:
    assert "RawDlrDoneDate" not in params(status_callback(message(status), "1307261429"))


def test_an_undelivered_callback_in_full() -> None:
    webhook = status_callback(
        message(Status.UNDELIVERED, error_code=30005, messaging_service_sid=SERVICE),
        "1002181147",
    )
    assert params(webhook) == {
        "MessageSid": SID,
        "SmsSid": SID,
        "MessageStatus": "undelivered",
        "SmsStatus": "undelivered",
        "AccountSid": ACCOUNT,
        "From": "+15550001001",
        "To": "+15550002002",
        "ApiVersion": API_VERSION,
        "MessagingServiceSid": SERVICE,
        "ErrorCode": "30005",
        "RawDlrDoneDate": "1002181147",
    }


def test_messaging_service_sid_only_when_set() -> None:
    assert (
        params(status_callback(message(messaging_service_sid=SERVICE)))["MessagingServiceSid"]
        == SERVICE
    )
    assert "MessagingServiceSid" not in params(status_callback(message()))
    assert "MessagingServiceSid" not in params(status_callback(message(messaging_service_sid="")))


def test_the_message_fields_are_the_messages_own() -> None:
    other = message(
        Status.QUEUED,
        sid="SM" + "f" * 32,
        account_sid="AC" + "b" * 32,
        to="0829200000",
        from_="+27829200001",
        status_callback="http://hooks.example.net/s",
    )
    webhook = status_callback(other)
    assert webhook is not None
    assert (webhook.account_sid, webhook.message_sid, webhook.url) == (
        "AC" + "b" * 32,
        "SM" + "f" * 32,
        "http://hooks.example.net/s",
    )
    sent = params(webhook)
    assert (sent["MessageSid"], sent["SmsSid"], sent["AccountSid"]) == (
        "SM" + "f" * 32,
        "SM" + "f" * 32,
        "AC" + "b" * 32,
    )
    assert (sent["To"], sent["From"]) == ("0829200000", "+27829200001")


def test_a_message_without_a_sender_sends_an_empty_from() -> None:
    assert params(status_callback(message(Status.QUEUED, from_=None)))["From"] == ""


# --- ApplicationSid -----------------------------------------------------------------------------

APP_URL: Final = "https://example.com/app-status"


def application(**changes: Any) -> Application:
    base = replace(
        Application.new("AP" + "3" * 32, ACCOUNT, API_VERSION, T0), message_status_callback=APP_URL
    )
    return replace(base, **changes)


@pytest.mark.parametrize("status", sorted(REPORTED))
def test_an_application_hears_sent_and_failed_only_and_the_status_callback_nothing(
    status: Status,
) -> None:
    """The seed (application_sid): "We POST a message_sid parameter and a message_status
    parameter with a value of sent or failed to the application's message_status_callback. If a
    status_callback parameter is also passed, it will be ignored"."""
    app = application()
    sent_with = message(status, application_sid=app.sid, error_code=30008)
    webhook = status_callback(sent_with, None, app)
    if status in REPORTED_TO_APPLICATION:
        assert webhook is not None and (webhook.url, webhook.method) == (APP_URL, "POST")
        assert params(webhook)["MessageStatus"] == status.value
    else:
        assert webhook is None
    assert {Status.SENT, Status.FAILED} == REPORTED_TO_APPLICATION


def test_an_application_deleted_or_without_a_callback_hears_nothing() -> None:
    app = application()
    sent_with = message(Status.SENT, application_sid=app.sid)
    assert status_callback(sent_with, None, None) is None  # deleted
    assert status_callback(sent_with, None, application(message_status_callback=None)) is None
    # Another application than the message's is never used.
    other = application(sid="AP" + "4" * 32)
    assert status_callback(sent_with, None, other) is None


def test_sms_status_callback_stands_in_for_an_unset_message_status_callback() -> None:
    """twilio-oai UpdateApplication SmsStatusCallback: "Same as message_status_callback ...
    Deprecated, included for backwards compatibility"."""
    old = "https://example.com/old-name"
    app = application(message_status_callback=None, sms_status_callback=old)
    webhook = status_callback(message(Status.SENT, application_sid=app.sid), None, app)
    assert webhook is not None and webhook.url == old
    both = application(sms_status_callback=old)
    webhook = status_callback(message(Status.SENT, application_sid=both.sid), None, both)
    assert webhook is not None and webhook.url == APP_URL

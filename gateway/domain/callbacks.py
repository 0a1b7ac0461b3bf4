"""Status callbacks: the request Twilio makes to a message's ``StatusCallback`` when its
status changes (``../shared/docs/twilio-messages-api.md`` §5).

Built in the same transaction as the status change it reports, so that a crash can neither
lose one nor send one for a change that was not committed; the webhook queue then delivers a
message's callbacks in order.
"""

from __future__ import annotations

from typing import Final

from gateway.domain.models import API_VERSION, Message, Status
from gateway.domain.records import Application, Webhook

# Where the sender and the recipient are: Twilio sends them "if available", often present but
# empty, in the inbound message webhook and the voice request alike; a SIM says nothing of it.
UNKNOWN_GEOGRAPHY: Final = tuple(
    (f"{side}{field}", "")
    for side in ("From", "To")
    for field in ("City", "State", "Zip", "Country")
)
# The changes Twilio reports (the seed documentation: "queued, failed, sent, delivered, or
# undelivered", and canceled); never sending, accepted or scheduled.
REPORTED: Final = frozenset(
    {
        Status.QUEUED,
        Status.SENT,
        Status.FAILED,
        Status.DELIVERED,
        Status.UNDELIVERED,
        Status.CANCELED,
    }
)
# A message sent with ApplicationSid. The seed documentation (application_sid): "We POST a
# message_sid parameter and a message_status parameter with a value of sent or failed to the
# application's message_status_callback. If a status_callback parameter is also passed, it
# will be ignored and the application's message_status_callback parameter will be used."
REPORTED_TO_APPLICATION: Final = frozenset({Status.SENT, Status.FAILED})
_WITH_ERROR: Final = frozenset({Status.FAILED, Status.UNDELIVERED})
_WITH_DONE_DATE: Final = frozenset({Status.DELIVERED, Status.UNDELIVERED})


def status_callback(
    message: Message, done_date: str | None = None, application: Application | None = None
) -> Webhook | None:
    """The callback reporting ``message``'s current status, if it has a ``StatusCallback``
    and Twilio reports that status. ``done_date`` is the report's discharge time
    (``RawDlrDoneDate``, ``YYMMDDhhmm``).

    A message sent with ``ApplicationSid`` reports to that ``application`` (as it is now:
    ``None`` once deleted) instead: to its ``message_status_callback``, or else its
    ``sms_status_callback`` (twilio-oai UpdateApplication: "Same as message_status_callback
    ... Deprecated, included for backwards compatibility"), and only sent and failed."""
    url, reported = message.status_callback, REPORTED
    if message.application_sid is not None:
        url, reported = None, REPORTED_TO_APPLICATION
        if application is not None and application.sid == message.application_sid:
            url = application.message_status_callback or application.sms_status_callback
    if not url or message.status not in reported:
        return None
    status = message.status.value
    params = [
        ("MessageSid", message.sid),
        ("SmsSid", message.sid),
        ("MessageStatus", status),
        ("SmsStatus", status),
        ("AccountSid", message.account_sid),
        ("From", message.from_ or ""),
        ("To", message.to),
        ("ApiVersion", API_VERSION),
    ]
    if message.messaging_service_sid:
        params.append(("MessagingServiceSid", message.messaging_service_sid))
    if message.status in _WITH_ERROR and message.error_code is not None:
        params.append(("ErrorCode", str(message.error_code)))
    if message.status in _WITH_DONE_DATE and done_date:
        params.append(("RawDlrDoneDate", done_date))
    return Webhook(
        account_sid=message.account_sid,
        message_sid=message.sid,
        kind="status",
        url=url,
        method="POST",
        params=tuple(params),
    )

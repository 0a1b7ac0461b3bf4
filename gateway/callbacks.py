"""Status callbacks: the request Twilio makes to a message's ``StatusCallback`` when its
status changes (``../shared/docs/twilio-messages-api.md`` §5).

Built in the same transaction as the status change it reports, so that a crash can neither
lose one nor send one for a change that was not committed; the webhook queue then delivers a
message's callbacks in order.
"""

from __future__ import annotations

from typing import Final

from gateway.models import API_VERSION, Message, Status
from gateway.store import Webhook

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
_WITH_ERROR: Final = frozenset({Status.FAILED, Status.UNDELIVERED})
_WITH_DONE_DATE: Final = frozenset({Status.DELIVERED, Status.UNDELIVERED})


def status_callback(message: Message, done_date: str | None = None) -> Webhook | None:
    """The callback reporting ``message``'s current status, if it has a ``StatusCallback``
    and Twilio reports that status. ``done_date`` is the report's discharge time
    (``RawDlrDoneDate``, ``YYMMDDhhmm``)."""
    if not message.status_callback or message.status not in REPORTED:
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
        url=message.status_callback,
        method="POST",
        params=tuple(params),
    )

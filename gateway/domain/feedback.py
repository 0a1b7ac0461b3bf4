"""Twilio's Message Feedback subresource: the outcome a sender reports for a message.

``POST /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Feedback.json`` with ``Outcome``
(Twilio's "Feedback subresource" reference, www.twilio.com/docs/messaging/api/
message-feedback-resource, and twilio-python 9.x ``rest/api/v2010/account/message/feedback.py``):

* only for a message created with ``ProvideFeedback=true``; its outcome is ``unconfirmed`` from
  then on ("Upon Message creation, the outcome of the Message Feedback will then initially be
  treated as unconfirmed") until Feedback is created with ``confirmed``;
* answered 201 (twilio-python's generated test of ``feedback.create()`` mocks a 201) with
  ``account_sid``, ``message_sid``, ``outcome``, ``date_created``, ``date_updated`` and ``uri``;
* ``Outcome`` is optional in Twilio's description (``CreateMessageFeedbackRequest``): creating
  Feedback is the confirmation ("Create Feedback to confirm that the recipient of the associated
  Message performed a tracked user action"), so without one the outcome is ``confirmed``.

What it does here: the outcome is kept with the message for whoever reads it back (Twilio uses
it for its delivery analytics, the "OTP Conversion" report, which a modem gateway has not). It
changes nothing else: not the message's status, nor its ``date_updated``, nor its sending.

Pure: no I/O, nothing of aiohttp.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateway.domain.errors import ApiError

CONFIRMED: Final = "confirmed"
UNCONFIRMED: Final = "unconfirmed"
# twilio-oai ``message_feedback_enum_outcome``.
OUTCOMES: Final = (CONFIRMED, UNCONFIRMED)


@dataclass(frozen=True, slots=True)
class Feedback:
    """The Feedback of one message, once created (dates UTC)."""

    account_sid: str
    message_sid: str
    outcome: str
    date_created: datetime
    date_updated: datetime


def outcome(form: Mapping[str, str]) -> str:
    """The ``Outcome`` asked for: ``confirmed`` when not given, 20001 for anything but Twilio's
    two values (no code of Twilio's names a bad Outcome; 20001 is what Twilio's 2010 API
    answers for a bad parameter, as ``PageToken is required for paging.`` shows)."""
    raw = form.get("Outcome")
    if raw is None or raw == "":
        return CONFIRMED
    if raw not in OUTCOMES:
        raise ApiError(20001, f"Invalid Outcome {raw!r}: expected confirmed or unconfirmed")
    return raw

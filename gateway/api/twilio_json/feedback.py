"""Twilio's JSON for the Message Feedback subresource (:mod:`gateway.domain.feedback` says what
Feedback is here), key for key."""

from __future__ import annotations

from typing import Any

from gateway.api.twilio_json.dates import rfc2822
from gateway.domain.feedback import Feedback
from gateway.domain.models import API_VERSION


def feedback_uri(account_sid: str, message_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{message_sid}/Feedback.json"


def feedback_json(feedback: Feedback) -> dict[str, Any]:
    """``api.v2010.account.message.message_feedback``, key for key."""
    return {
        "account_sid": feedback.account_sid,
        "message_sid": feedback.message_sid,
        "outcome": feedback.outcome,
        "date_created": rfc2822(feedback.date_created),
        "date_updated": rfc2822(feedback.date_updated),
        "uri": feedback_uri(feedback.account_sid, feedback.message_sid),
    }

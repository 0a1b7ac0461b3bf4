"""TwiML ``<Message>`` replies become ``outbound-reply`` messages on the normal queue.

A reply goes, unless its attributes say otherwise, from the number that received the inbound
message to its sender, and its status callbacks go to ``action``. It is checked exactly like a
message created over the API; a reply that is refused is logged with the TwiML error code
Twilio gives for it (14101 "To", 14102 "From", 14103 Body, 14105 statusCallback, 14108 a From
number that cannot send) and the other replies still go.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from gateway.domain.errors import ApiError
from gateway.domain.models import Direction
from gateway.domain.records import NewMessage, Webhook
from gateway.outbound.accept import Outbound

if TYPE_CHECKING:
    from gateway.webhooks.twiml import ReplyMessage

log = logging.getLogger(__name__)

# The API's refusal → the TwiML error for the same fault in a <Message> verb.
_TWIML_CODES: Final = {
    21604: 14101,
    21211: 14101,
    21212: 14102,
    21660: 14102,
    21606: 14108,
    21266: 14101,
    21602: 14103,
    21617: 14103,
    21609: 14105,
}


class TwimlReplies:
    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound
        self.refused = 0

    def prepare(self, webhook: Webhook, replies: Sequence[ReplyMessage]) -> list[NewMessage]:
        """The replies to the inbound message ``webhook`` reported, checked and encoded; the
        webhook sender commits them with the webhook's delivery, then calls :meth:`queued`."""
        params = dict(webhook.params)
        queued = []
        for reply in replies:
            form = {
                "To": reply.to or params.get("From", ""),
                "From": reply.from_ or params.get("To", ""),
                "Body": reply.body,
            }
            if reply.action:
                form["StatusCallback"] = reply.action
            try:
                new = self.outbound.prepare(
                    webhook.account_sid, form, direction=Direction.OUTBOUND_REPLY
                )
            except ApiError as exc:
                self.refused += 1
                code = _TWIML_CODES.get(exc.code, exc.code)
                log.error(
                    "TwiML reply to %s refused: error %d (%s)", webhook.message_sid, code, exc
                )
                continue
            queued.append(new)
        return queued

    def queued(self, messages: Sequence[NewMessage]) -> None:
        for new in messages:
            log.info("TwiML reply %s to %s queued", new.message.sid, new.message.to)
        self.outbound.wake_for(*messages)

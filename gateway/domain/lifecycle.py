"""A message's life after its acceptance: which status may follow which, and what each change
brings with it.

Each rule takes the message as it stands (and what else it needs: whether a part is on its
way, its parts' reports, the application it was sent with, as the store holds them now) and
returns a :class:`Transition`: the message as it will stand, the status callback to queue with
it (:mod:`gateway.domain.callbacks`), and what its retention settings erase or mask; or
``None`` when the message cannot move. The store reads what a rule needs, calls it, and applies
the transition in the same transaction, only if the message still has the status the rule
decided from: no Twilio rule is written in SQL, and a second engine applies the same
transitions.

The statuses (the seed's Message resource, "Message Status values"): an outbound message is
``accepted`` (a Messaging Service's, waiting for a sender) or ``scheduled`` (waiting for its
SendAt), then ``queued`` and ``sending`` on a modem, then ``sent``, and ``delivered`` or
``undelivered`` by its status reports; it may fail (``failed``, with its code) or be canceled
before it goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final

from gateway.domain import delivery
from gateway.domain.callbacks import status_callback
from gateway.domain.delivery import PartState
from gateway.domain.models import ERROR_MESSAGES, FINAL_STATUSES, Message, Status, obfuscate
from gateway.domain.records import Application, Webhook

# In the queue of a modem, no part of it sent yet or some (a message that may still fail).
UNSENT: Final = frozenset({Status.QUEUED, Status.SENDING})
# Waiting for a sender (a Messaging Service's) or for its SendAt: cancelable.
WAITING: Final = frozenset({Status.ACCEPTED, Status.SCHEDULED})
VALIDITY_EXPIRED: Final = 30036  # Twilio's "Validity Period Expired"

# ContentRetention=discard: nothing of the text once it has gone (or will never go);
# AddressRetention=obfuscate: the recipient masked once nothing more can happen to the message
# (a delivery report is matched on the full number until then).
_TEXT_DONE: Final = frozenset(
    {Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED}
)
_ADDRESS_DONE: Final = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED}
)


class Claim(StrEnum):
    """What :func:`claim` decided for a part about to be handed to the modem."""

    GRANTED = "granted"  # send it now
    # Send it now, and the message moved from queued to sending in the same transaction: its
    # first part is what makes it `sending` (gateway.store.roles.SendQueue.claim_part).
    STARTED = "started"
    EXPIRED = "expired"  # its validity period ended first: failed (30036), with its callback
    GONE = "gone"  # no longer this modem's to send (failed, canceled, given to another modem)


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of a message, as the store applies it in one transaction.

    ``before`` is the message the rule decided from: the change applies only while the message
    still has its status. ``after`` is the message as it then stands (each field that differs
    is written). ``webhooks`` are queued with it (its status callback). ``erase_text``: its
    text goes from everything that kept it besides the message itself: its parts' PDUs, the
    parts it was received in, and the ``Body`` of its webhooks (ContentRetention=discard, or a
    redaction).
    """

    before: Message
    after: Message
    webhooks: tuple[Webhook, ...] = ()
    erase_text: bool = False

    @property
    def masked_to(self) -> str | None:
        """The recipient as AddressRetention=obfuscate now keeps it, if this change masks it:
        in the message and in the ``To`` of its webhooks."""
        return self.after.to if self.after.to != self.before.to else None

    @property
    def webhook_params(self) -> dict[str, str]:
        """The parameters every webhook of the message, queued or sent, takes from now on."""
        params = {"Body": ""} if self.erase_text else {}
        if (masked := self.masked_to) is not None:
            params["To"] = masked
        return params


def created(message: Message, application: Application | None = None) -> tuple[Webhook, ...]:
    """The webhooks a new outbound message is committed with: the callback of its first status
    (``queued``; an accepted or scheduled one has none yet)."""
    callback = status_callback(message, None, application)
    return () if callback is None else (callback,)


def moved(
    message: Message,
    status: Status,
    at: datetime,
    *,
    error_code: int | None = None,
    application: Application | None = None,
) -> Transition | None:
    """An unsent (queued or sending) message moved to ``status`` (``sending``, or ``failed``
    with ``error_code``), or a waiting one (accepted, scheduled) failed: its sender's modem
    cannot send it after all (routing, 30008); ``None`` if it can no longer move so."""
    failing_while_waiting = status is Status.FAILED and message.status in WAITING
    if message.status not in UNSENT and not failing_while_waiting:
        return None
    return _changed(message, _status(message, status, at, error_code), application)


def claim(
    status: Status,
    owner: str | None,
    modem: str,
    *,
    expires_at: datetime | None,
    underway: bool,
    now: datetime,
) -> Claim:
    """Whether a part of a message (``status``, queued on modem ``owner``, valid until
    ``expires_at``; ``underway``: a part of it went or may have gone) may go to ``modem`` now.
    A message none of whose parts went expires instead once its validity period ended, so that
    the expiry and the send can never both happen."""
    if owner != modem or status not in UNSENT:
        return Claim.GONE
    if not underway and expires_at is not None and expires_at <= now:
        return Claim.EXPIRED
    return Claim.GRANTED


def expired(
    message: Message,
    now: datetime,
    *,
    underway: bool = False,
    application: Application | None = None,
) -> Transition | None:
    """A message not sent within its validity period (ValidityPeriod) fails with 30036: one
    waiting for a sender or its SendAt, or queued with no part on its way (``underway``: one
    went or may have gone, and the message is past expiring whatever the time says)."""
    if message.status not in UNSENT | WAITING or underway:
        return None
    if message.expires_at is None or message.expires_at > now:
        return None
    return _changed(message, _status(message, Status.FAILED, now, VALIDITY_EXPIRED), application)


def sent(
    message: Message,
    at: datetime,
    price: str | None = None,
    price_unit: str | None = None,
    *,
    application: Application | None = None,
) -> Transition | None:
    """Every part of an unsent message was accepted: ``sent`` at ``at`` (its DateSent), at
    ``price`` (in ``price_unit``, or the message's own); ``None`` if it is no longer unsent."""
    if message.status not in UNSENT:
        return None
    after = replace(
        _status(message, Status.SENT, at, None),
        date_sent=at,
        price=price,
        price_unit=price_unit or message.price_unit,
    )
    return _changed(message, after, application)


def settled(
    message: Message,
    parts: Sequence[PartState],
    at: datetime,
    done_date: str | None = None,
    *,
    application: Application | None = None,
) -> Transition | None:
    """The status its parts' reports now give a ``sent`` message (:func:`delivery.settle`),
    with ``done_date`` (the latest report's TP-DT) in its callback; ``None`` to stay."""
    outcome = delivery.settle(message.status, parts)
    if outcome is None:
        return None
    status, error_code = outcome
    return _changed(message, _status(message, status, at, error_code), application, done_date)


def canceled(
    message: Message, at: datetime, *, application: Application | None = None
) -> Transition | None:
    """A message that has not gone yet (scheduled, or waiting for a sender) canceled, with its
    callback; ``None`` if it cannot be any more."""
    if message.status not in WAITING:
        return None
    return _changed(message, _status(message, Status.CANCELED, at, None), application)


def assigned(
    message: Message,
    chosen: Message,
    at: datetime,
    *,
    underway: bool,
    application: Application | None = None,
) -> Transition | None:
    """A waiting message (or a queued one none of whose parts is ``underway``, moving to
    another modem) given the sender, modem and text of ``chosen`` and queued, with its
    "queued" callback the first time only; ``None`` if it went already."""
    queued_before = message.status is Status.QUEUED
    if not (message.status in WAITING or (queued_before and not underway)):
        return None
    after = replace(
        _status(message, Status.QUEUED, at, None),
        from_=chosen.from_,
        modem=chosen.modem,
        num_segments=chosen.num_segments,
        body=chosen.body,
    )
    return _changed(message, after, application, report=not queued_before)


def redacted(message: Message, at: datetime) -> Transition:
    """The text of a message gone from everything that kept it (Body=""): only a final one is
    redacted (:mod:`gateway.outbound.accept` checks), so nothing of it is still to go."""
    return Transition(message, replace(message, body="", date_updated=at), erase_text=True)


def deletable(message: Message) -> bool:
    """A message is deleted only in a final state: one still in progress keeps its record."""
    return message.status in FINAL_STATUSES


def _status(message: Message, status: Status, at: datetime, error_code: int | None) -> Message:
    """``message`` at ``status``, with Twilio's error message for ``error_code`` (a status
    without one has none)."""
    return replace(
        message,
        status=status,
        date_updated=at,
        error_code=error_code,
        error_message=None if error_code is None else ERROR_MESSAGES.get(error_code),
    )


def _changed(
    before: Message,
    after: Message,
    application: Application | None,
    done_date: str | None = None,
    *,
    report: bool = True,
) -> Transition:
    """The change to ``after`` with its retention applied, and the callback reporting it (to
    ``application``, as it is now, for a message sent with one)."""
    erase = after.content_retention == "discard" and after.status in _TEXT_DONE and bool(after.body)
    if erase:
        after = replace(after, body="")
    if after.address_retention == "obfuscate" and after.status in _ADDRESS_DONE:
        after = replace(after, to=obfuscate(after.to))
    callback = status_callback(after, done_date, application) if report else None
    return Transition(before, after, () if callback is None else (callback,), erase)

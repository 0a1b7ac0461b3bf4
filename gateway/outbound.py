"""Accepting an outbound message: Twilio's validation, the SMS plan, the PDUs, the commit.

:meth:`Outbound.create` checks the form parameters in the order Twilio does and raises
:class:`~gateway.errors.ApiError` with Twilio's code; an accepted message is encoded into its
SMS-SUBMIT parts at once (so ``num_segments`` is what will be sent), committed with them, and
its modem's worker woken.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from drivers.errors import PduError
from drivers.pdu import SubmitOptions, encode_submit, plan_text
from gateway.config import Config
from gateway.dispatcher import Dispatcher
from gateway.errors import ApiError
from gateway.models import (
    MAX_BODY_CHARS,
    Direction,
    Message,
    Segment,
    Status,
    is_sid,
    new_sid,
    normalise_number,
)
from gateway.modems import ModemPool
from gateway.pricing import parse_max_price
from gateway.store import NewMessage, Store

# Seconds; the product's specification (the seed documentation): also the default, after
# which a message not yet sent fails with 30036.
MAX_VALIDITY: Final = 14400
MAX_URL: Final = 4000
_SMALL_NUMBER: Final = re.compile(r"[0-9]{1,9}")
_CHANNEL_PREFIXES: Final = ("whatsapp:", "messenger:", "rcs:", "fbm:", "instagram:")

Form = Mapping[str, str]


def _flag(form: Form, name: str) -> bool:
    return form.get(name, "").strip().lower() == "true"


def _check_callback(url: str | None) -> str | None:
    """21609 for anything that is not an http(s) URL with a valid host and no underscore."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if (
        parts.scheme not in ("http", "https")
        or not host
        or "_" in host
        or len(url) > MAX_URL
        or any(char.isspace() for char in url)
    ):
        raise ApiError(21609, f"Invalid 'StatusCallback': {url!r} is not a valid http(s) URL")
    return url


def _validity(form: Form) -> int | None:
    raw = form.get("ValidityPeriod")
    if raw is None or raw == "":
        return None
    # Not str.isdigit(): it accepts "²", which int() refuses, and unbounded lengths.
    if not _SMALL_NUMBER.fullmatch(raw.strip()) or not 1 <= int(raw) <= MAX_VALIDITY:
        raise ApiError(
            21624,
            f"Invalid validity period value {raw!r}: an integer from 1 to {MAX_VALIDITY} seconds",
        )
    return int(raw)


def _max_price(form: Form) -> str | None:
    raw = form.get("MaxPrice")
    if raw is None or raw == "":
        return None
    value = parse_max_price(raw)
    if value is None:
        raise ApiError(
            21627, f"Max Price must be a valid positive float (up to 4 decimals), got {raw!r}"
        )
    return str(value)


class Outbound:
    def __init__(
        self,
        config: Config,
        store: Store,
        modems: ModemPool,
        dispatcher: Dispatcher,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.store = store
        self.modems = modems
        self.dispatcher = dispatcher
        self.clock = clock
        self._references: dict[str, int] = {}
        self.callbacks_committed: Callable[[], None] = lambda: None  # wakes the webhook sender
        self._default_account = config.accounts[0].sid if config.accounts else None

    async def start(self, default_account: str | None = None) -> None:
        if default_account is not None:
            self._default_account = default_account
        for modem_id in self.modems.handles:
            last = await self.store.last_concat_reference(modem_id)
            # Consecutive long messages to a handset must not share a reference: continue
            # after the last one used, or start anywhere.
            start = random.randrange(256) if last is None else last + 1
            self._references[modem_id] = start % 256

    def _reference(self, modem_id: str) -> int:
        reference = self._references.get(modem_id, 0)
        self._references[modem_id] = (reference + 1) % 256
        return reference

    def owner(self, modem_account: str | None) -> str:
        """The account owning a modem whose config names ``modem_account`` (or none)."""
        owner = modem_account or self._default_account
        assert owner is not None, "start() first"
        return owner

    async def create(self, account_sid: str, form: Form, media: int = 0) -> Message:
        """Accept a message as ``POST …/Messages.json`` does: checked, encoded, committed, and
        its modem woken; raises :class:`ApiError` with Twilio's code."""
        new = self.prepare(account_sid, form, media)
        await self.store.create_message(new.message, new.segments)
        self.queued(new)
        return new.message

    def queued(self, *messages: NewMessage) -> None:
        """``messages`` were committed: their modems' workers take them now, and their
        ``queued`` status callbacks (committed with them) go."""
        for new in messages:
            if new.message.modem is not None:
                self.dispatcher.wake(new.message.modem)
            if new.message.status_callback:
                self.callbacks_committed()

    def prepare(
        self,
        account_sid: str,
        form: Form,
        media: int = 0,
        *,
        direction: Direction = Direction.OUTBOUND_API,
    ) -> NewMessage:
        """Check and encode a message (an API request's, or a TwiML reply as ``direction``
        says) without committing it; raises :class:`ApiError` with Twilio's code."""
        to = self._to(form)
        from_raw = form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        if not from_raw and not service:
            raise ApiError(
                21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message"
            )
        if service or from_raw.startswith("MG"):
            self._service(service or from_raw)
        if media or _flag(form, "SendAsMms"):
            raise ApiError(
                21621,
                f"The 'From' number {from_raw} has not been enabled for MMS: this gateway's GSM "
                "modems send SMS only; send the text in Body",
            )
        if form.get("ContentSid"):
            raise ApiError(
                21619,
                "Content templates (ContentSid) are not available on this gateway; send Body",
            )
        body = form.get("Body")
        if body is None or body == "":
            raise ApiError(21602, "Message body is required.")
        if len(body) > MAX_BODY_CHARS:
            raise ApiError(21617, "The concatenated message body exceeds the 1600 character limit")
        if form.get("ScheduleType") or form.get("SendAt"):
            raise ApiError(35118, "MessagingServiceSid is required to schedule a message")
        from_ = self._from(account_sid, from_raw, to)
        callback = _check_callback(form.get("StatusCallback"))
        validity = _validity(form)
        max_price = _max_price(form)
        new = self._encode(
            account_sid,
            to,
            from_,
            body,
            smart=_flag(form, "SmartEncoded"),
            callback=callback,
            validity=validity,
            direction=direction,
        )
        message = new.message
        expires = message.date_created + timedelta(seconds=validity or MAX_VALIDITY)
        return NewMessage(replace(message, max_price=max_price, expires_at=expires), new.segments)

    def _to(self, form: Form) -> str:
        raw = form.get("To", "")
        if not raw.strip():
            raise ApiError(21604, "A 'To' phone number is required.")
        if raw.startswith(_CHANNEL_PREFIXES):
            raise ApiError(
                21211,
                f"The 'To' number {raw} is not a valid phone number: this gateway sends SMS "
                "through GSM modems, not to messaging channels",
            )
        to = normalise_number(raw)
        if to is None:
            raise ApiError(21211, f"The 'To' number {raw} is not a valid phone number.")
        return to

    def _service(self, sid: str) -> None:
        if not is_sid(sid, "MG"):
            raise ApiError(21705, f"The Messaging Service {sid} is invalid")
        raise ApiError(21701, f"The Messaging Service {sid} does not exist")

    def _from(self, account_sid: str, raw: str, to: str) -> str:
        if raw.startswith(_CHANNEL_PREFIXES):
            raise ApiError(
                21212, f"Invalid From Number (caller ID): {raw} is a channel address, not a SIM"
            )
        from_ = normalise_number(raw)
        if from_ is None:
            raise ApiError(21212, f"Invalid From Number (caller ID): {raw}")
        handle = self.modems.for_number(from_)
        if handle is None:
            raise ApiError(
                21606,
                f"The 'From' phone number provided ({from_}) is not a valid message-capable "
                "phone number for this destination: no modem of this gateway owns it",
            )
        if self.owner(handle.config.account) != account_sid:
            raise ApiError(21660, f"Mismatch between the 'From' number {from_} and the account")
        if from_ == to:
            raise ApiError(21266, "'To' and 'From' number cannot be the same")
        return from_

    def _encode(
        self,
        account_sid: str,
        to: str,
        from_: str,
        body: str,
        *,
        smart: bool,
        callback: str | None,
        validity: int | None,
        direction: Direction,
    ) -> NewMessage:
        handle = self.modems.for_number(from_)
        assert handle is not None
        plan = plan_text(body, smart_encoded=smart)
        reference = self._reference(handle.id) if plan.num_segments > 1 else 0
        options = SubmitOptions(status_report=handle.config.status_reports, validity=validity)
        try:
            parts = encode_submit(to, plan, options, reference)
        except PduError as exc:
            raise ApiError(21211, f"The 'To' number {to} is not a valid phone number.") from exc
        now = self.clock()
        message = Message(
            sid=new_sid("SM"),
            account_sid=account_sid,
            direction=direction,
            status=Status.QUEUED,
            to=to,
            from_=from_,
            body=plan.text,  # what goes on the air (smart encoding may have changed it)
            num_segments=plan.num_segments,
            num_media=0,
            error_code=None,
            error_message=None,
            price=None,
            price_unit="USD",
            messaging_service_sid=None,
            date_created=now,
            date_updated=now,
            date_sent=None,
            status_callback=callback,
            modem=handle.id,
            validity_period=validity,
        )
        concat_reference = reference if len(parts) > 1 else None
        segments = tuple(
            Segment(part.sequence, part.pdu, part.tpdu_length, concat_reference=concat_reference)
            for part in parts
        )
        return NewMessage(message, segments)

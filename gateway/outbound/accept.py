"""Accepting an outbound message: Twilio's validation in Twilio's order, then the commit.

:meth:`Outbound.create` checks the form parameters in the order Twilio does
(:meth:`Outbound.prepare`: the checks of one parameter each are in
:mod:`gateway.outbound.parameters`) and raises :class:`~gateway.domain.errors.ApiError` with
Twilio's code; an accepted message is encoded into its SMS-SUBMIT parts at once
(:mod:`gateway.outbound.encoding`, so ``num_segments`` is what will be sent), committed with
them, and its modem's worker woken.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from drivers.codec import plan_text
from gateway.accounts.applications import Applications
from gateway.config import Config, ServiceConfig
from gateway.domain.errors import ApiError
from gateway.domain.models import (
    FINAL_STATUSES,
    MAX_BODY_CHARS,
    Direction,
    Message,
    Status,
    is_sid,
    new_sid,
    obfuscate,
)
from gateway.domain.numbering import Number, NumberError
from gateway.domain.numbering import parse as parse_number
from gateway.domain.records import NewMessage
from gateway.listeners import Listeners
from gateway.logs import fields
from gateway.modems.pool import ModemPool
from gateway.modems.supervisor import ModemHandle
from gateway.outbound import parameters
from gateway.outbound.backlog import Backlog
from gateway.outbound.dispatcher import Dispatcher
from gateway.outbound.encoding import PartEncoder
from gateway.outbound.parameters import CHANNEL_PREFIXES, MAX_MEDIA, MAX_VALIDITY, Form
from gateway.outbound.scheduling import send_at
from gateway.store import OutboundMessages

log = logging.getLogger(__name__)


def _log_accepted(message: Message) -> None:
    """One line: who sends what to whom (never the text), with the recipient masked when the
    message asked for AddressRetention=obfuscate, as the database keeps it."""
    to = obfuscate(message.to) if message.address_retention else message.to
    if message.modem is not None:
        how = f"from {message.from_}, {message.num_segments} part(s) on {message.modem}"
    else:  # a Messaging Service gives it its modem (and its sender, unless pinned) to send it
        how = f"for {message.messaging_service_sid}"
        how += f" from {message.from_}" if message.from_ else ""
    when = f", to go at {message.send_at.isoformat()}" if message.send_at else ""
    log.info(
        "%s: accepted to %s %s%s",
        message.sid,
        to,
        how,
        when,
        extra=fields(
            sid=message.sid,
            status=message.status,
            modem=message.modem,
            service=message.messaging_service_sid,
            parts=message.num_segments if message.modem else None,
        ),
    )


class Outbound:
    def __init__(
        self,
        config: Config,
        store: OutboundMessages,
        modems: ModemPool,
        dispatcher: Dispatcher,
        clock: Callable[[], datetime],
        *,
        applications: Applications,
    ) -> None:
        self.config = config
        self.store = store
        self.modems = modems
        self.dispatcher = dispatcher
        self.clock = clock
        self.encoder = PartEncoder(store)
        # Who hears that status callbacks were committed (the webhook sender), and that
        # messages wait for a sender (the Messaging Service router).
        self.callbacks_committed: Listeners[[]] = Listeners("status callbacks committed")
        self.senders_wanted: Listeners[[]] = Listeners("messages waiting for a sender")
        self.backlog = Backlog(store, dispatcher.quotas)
        self.applications = applications  # for ApplicationSid
        self._default_account = config.accounts[0].sid if config.accounts else None

    async def start(self, default_account: str | None = None) -> None:
        if default_account is not None:
            self._default_account = default_account
        await self.add_modems(self.modems.handles)

    async def add_modems(self, modem_ids: Iterable[str]) -> None:
        """Read where each new modem's concatenation references go on (at start, and before a
        reload adds modems)."""
        await self.encoder.add_modems(modem_ids)

    def reconfigure(self, config: Config, default_account: str) -> None:
        """Check and price new messages by a reloaded configuration (its services, prices)
        and accounts (the owner of modems that name none)."""
        self.config = config
        self._default_account = default_account

    def owner(self, modem_account: str | None) -> str:
        """The account owning a modem whose config names ``modem_account`` (or none)."""
        owner = modem_account or self._default_account
        assert owner is not None, "start() first"
        return owner

    async def create(self, account_sid: str, form: Form, media: int = 0) -> Message:
        """Accept a message as ``POST …/Messages.json`` does: checked, encoded, committed, and
        its modem woken; raises :class:`ApiError` with Twilio's code."""
        new = self.prepare(account_sid, form, media)
        modem, parts = new.message.modem, new.message.num_segments
        if modem is not None:
            await self.backlog.check(self.modems.handles[modem], parts)
        elif new.message.sender_pinned and new.message.from_ is not None:
            # Its sender is known (the From given with the service): its queue limit too,
            # for the parts it will be (its body is what goes on the air already).
            pinned = self.modems.for_number(new.message.from_)
            assert pinned is not None
            await self.backlog.check(pinned, plan_text(new.message.body).num_segments)
        await self.store.create_message(new.message, new.segments)
        if modem is not None:
            self.backlog.added(modem, parts)
        self.wake_for(new)
        _log_accepted(new.message)
        return new.message

    async def cancel(self, account_sid: str, sid: str) -> Message:
        """``Status=canceled``: a message not sent yet (scheduled, or waiting for its
        Messaging Service to pick a sender) is canceled, with its callback; 30409 otherwise."""
        message = await self.store.cancel(account_sid, sid, self.clock())
        if message is None or message.status is not Status.CANCELED:
            status = message.status if message else "unknown"
            raise ApiError(30409, f"This message cannot be canceled: it is {status}")
        self.dispatcher.announce(sid, Status.CANCELED)
        log.info("%s: canceled", sid, extra=fields(sid=sid, status=Status.CANCELED))
        if message.status_callback or message.application_sid:
            self.callbacks_committed.announce()
        return message

    async def redact(self, account_sid: str, message: Message) -> Message:
        """``Body=""``: the text is removed from everything that kept it; only once the
        message is final (its text is still needed to send it)."""
        if message.status not in FINAL_STATUSES:
            raise ApiError(
                20009,
                f"Cannot redact this message before it is complete: it is {message.status}",
                409,
            )
        redacted = await self.store.redact(account_sid, message.sid, self.clock())
        assert redacted is not None
        return redacted

    def wake_for(self, *messages: NewMessage) -> None:
        """``messages`` were committed: wake what acts on them. Their modems' workers take them
        now (the service router, for a Messaging Service's or a scheduled one), and their
        ``queued`` status callbacks (committed with them) go."""
        for new in messages:
            if new.message.status in (Status.ACCEPTED, Status.SCHEDULED):
                self.senders_wanted.announce()
                if new.message.expires_at is not None:
                    self.dispatcher.expiry_changed(new.message.expires_at)
            elif new.message.modem is not None:
                self.dispatcher.wake(new.message.modem, new.message.expires_at)
            if new.message.status_callback or new.message.application_sid:
                self.callbacks_committed.announce()

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
        to = parameters.recipient(form, self.config.default_region)
        from_raw = form.get("From", "")
        service_sid = form.get("MessagingServiceSid", "")
        if not from_raw and not service_sid:
            raise ApiError(
                21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message"
            )
        if from_raw.startswith("MG") and not service_sid:
            service_sid, from_raw = from_raw, ""
        service = self._service(account_sid, service_sid) if service_sid else None
        if media > MAX_MEDIA:
            # Counted before the media are refused (21621): the count is wrong on Twilio too.
            raise ApiError(
                21623,
                f"Number of media files exceeds allowed limit: {media} MediaUrl given, "
                f"at most {MAX_MEDIA}",
            )
        if media or parameters.is_true(form, "SendAsMms"):
            raise ApiError(
                21621,
                f"The 'From' number {from_raw or service_sid} has not been enabled for MMS: this "
                "gateway's GSM modems send SMS only; send the text in Body",
            )
        if form.get("ContentSid"):
            raise ApiError(
                21619,
                "Content templates (ContentSid) are not available on this gateway; send Body",
            )
        parameters.refuse_link_shortening(form)
        body = form.get("Body")
        if body is None or body == "":
            raise ApiError(21602, "Message body is required.")
        if len(body) > MAX_BODY_CHARS:
            raise ApiError(21617, "The concatenated message body exceeds the 1600 character limit")
        now = self.clock()
        scheduled = send_at(form, now, service=service is not None)
        application = self._application(account_sid, form)
        # The seed documentation (application_sid): "If a status_callback parameter is also
        # passed, it will be ignored and the application's message_status_callback parameter
        # will be used" (when each callback is made: gateway.domain.callbacks).
        callback = None if application else parameters.status_callback(form.get("StatusCallback"))
        if callback is None and service is not None and application is None:
            callback = service.status_callback
        validity = parameters.validity(form)
        parameters.check_attempt(form)
        provide_feedback = parameters.strict_boolean(form, "ProvideFeedback")
        smart = parameters.is_true(form, "SmartEncoded")
        content = parameters.choice(form, "ContentRetention", ("retain", "discard"))
        address = parameters.choice(form, "AddressRetention", ("retain", "obfuscate"))
        message = Message(
            sid=new_sid("SM"),
            account_sid=account_sid,
            direction=direction,
            status=Status.QUEUED,
            to=to.value,
            from_=None,
            body=body,
            num_segments=0,
            num_media=0,
            error_code=None,
            error_message=None,
            price=None,
            price_unit=self.config.prices.unit,
            messaging_service_sid=service.sid if service else None,
            date_created=now,
            date_updated=now,
            date_sent=None,
            status_callback=callback,
            validity_period=validity,
            max_price=parameters.max_price(form),
            expires_at=(scheduled or now) + timedelta(seconds=validity or MAX_VALIDITY),
            send_at=scheduled,
            content_retention=content if content == "discard" else None,
            address_retention=address if address == "obfuscate" else None,
            application_sid=application,
            provide_feedback=provide_feedback,
        )
        if service is not None:
            return self._for_service(message, service, from_raw, to, smart=smart)
        from_ = self._from(account_sid, from_raw, to.value)
        handle = self.modems.for_number(from_)
        assert handle is not None
        self._check_short_code(to, [handle])
        if scheduled is not None:
            message = replace(message, status=Status.SCHEDULED)
        return self.encode(replace(message, from_=from_), handle, smart=smart)

    def _for_service(
        self, message: Message, service: ServiceConfig, from_raw: str, to: Number, *, smart: bool
    ) -> NewMessage:
        """A message of a Messaging Service: committed ``accepted`` (or ``scheduled``), with
        ``num_segments`` 0 (the seed: "When using a Messaging Service to send messages,
        num_segments will always be 0 in Twilio's response to your API request"), and
        encoded when the router gives it its modem (gateway.outbound.routing). With a ``From`` too
        (the seed: "you can choose a specific number in a messaging service to set as the
        From"), that number of the pool sends it, and no other: the router waits for its
        modem, as for a message sent without a service, and never moves it (failover)."""
        pinned = None
        if from_raw:
            pinned = self._from(message.account_sid, from_raw, to.value)
            if pinned not in service.numbers:
                raise ApiError(
                    21606,
                    f"The 'From' phone number {pinned} is not in the Messaging Service "
                    f"{service.sid}",
                )
        senders = [pinned] if pinned is not None else list(service.numbers)
        self._check_short_code(
            to, [h for h in map(self.modems.for_number, senders) if h is not None]
        )
        # The text is smart-encoded already, so that it is what will go.
        plan = plan_text(message.body, smart_encoded=smart)
        status = Status.SCHEDULED if message.send_at is not None else Status.ACCEPTED
        return NewMessage(
            replace(
                message,
                status=status,
                body=plan.text,
                from_=pinned,
                sender_pinned=pinned is not None,
            ),
            (),
        )

    def encode(self, message: Message, handle: ModemHandle, *, smart: bool = False) -> NewMessage:
        """``message`` to be sent by ``handle``'s modem from ``message.from_``: its parts
        (:class:`~gateway.outbound.encoding.PartEncoder`), or a 21211 for a number no PDU
        holds."""
        return self.encoder.encode(message, handle, smart=smart)

    @staticmethod
    def _check_short_code(to: Number, senders: list[ModemHandle]) -> None:
        """A short code goes only from a modem whose ``allow_short_codes`` is on (for a
        Messaging Service without a From: every modem of its pool, any of which may send)."""
        if not to.short_code:
            return
        refusing = [handle.id for handle in senders if not handle.config.allow_short_codes]
        if refusing or not senders:
            raise ApiError(
                21211,
                f"The 'To' number {to.value} is not a valid phone number: a short code, and "
                f"the sending modem ({', '.join(refusing) or 'none'}) does not text short "
                "codes (allow_short_codes = true in its [[modems]] configuration)",
            )

    def number_filter(self, value: str) -> str:
        """A ``To``/``From`` list filter as the numbers are stored: E.164 (a national number
        read in ``default_region``), a short code's digits; anything else as given (it then
        matches nothing, or an inbound sender kept as the network gave it)."""
        try:
            return parse_number(value, self.config.default_region).value
        except NumberError:
            return value

    def _application(self, account_sid: str, form: Form) -> str | None:
        """``ApplicationSid``: one of the account's applications, or 21218 ("Invalid
        ApplicationSid": "The application may not exist anymore or may not be available within
        your account", ERRJSON; Twilio's code for an ApplicationSid parameter that names no
        application of the account, as on the Calls resource, the Messages resource having
        none of its own)."""
        sid = form.get("ApplicationSid", "")
        if not sid:
            return None
        return self.applications.named(account_sid, sid, 21218, "ApplicationSid").sid

    def _service(self, account_sid: str, sid: str) -> ServiceConfig:
        if not is_sid(sid, "MG"):
            raise ApiError(21705, f"The Messaging Service {sid} is invalid")
        service = self.config.service(sid)
        if service is None or self.service_owner(service) != account_sid:
            raise ApiError(21701, f"The Messaging Service {sid} does not exist")
        return service

    def service_owner(self, service: ServiceConfig) -> str:
        handle = self.modems.for_number(service.numbers[0])
        assert handle is not None  # the configuration checked that a modem owns it
        return self.owner(handle.config.account)

    def _from(self, account_sid: str, raw: str, to: str) -> str:
        if raw.startswith(CHANNEL_PREFIXES):
            raise ApiError(
                21212, f"Invalid From Number (caller ID): {raw} is a channel address, not a SIM"
            )
        try:
            number = parse_number(raw, self.config.default_region)
        except NumberError as exc:
            raise ApiError(21212, f"Invalid From Number (caller ID): {raw}: {exc.reason}") from None
        from_ = number.value
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

"""The gateway's phone numbers: what the IncomingPhoneNumbers API shows, and where each
number's inbound messages and missed calls go.

Every number a modem owns is a phone number with a ``PN`` SID, kept in the database. Its
settings start as the configuration's ``[[numbers]]`` entry says; once they are changed over the
API (``client.incoming_phone_numbers(sid).update(sms_url=...)``) the API's values are kept and
win over the configuration from then on, across restarts. A number in a Messaging Service with
an inbound URL sends its messages there instead, with ``MessagingServiceSid``; otherwise a
number whose ``sms_application_sid`` names an application (``SmsApplicationSid``, see
:mod:`gateway.accounts.applications`) sends them to that application's SMS URLs, not its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Protocol

from gateway.accounts.applications import Applications
from gateway.config import Config, NumberConfig
from gateway.domain.errors import ApiError
from gateway.domain.models import new_sid
from gateway.domain.records import Application, PhoneNumber
from gateway.domain.urls import url_problem
from gateway.store import Numbers

_METHODS: Final = ("GET", "POST")
_URL_FIELDS: Final = {
    "SmsUrl": ("sms_url", 21502),
    "SmsFallbackUrl": ("sms_fallback_url", 21502),
    "StatusCallback": ("status_callback", 21609),
    "VoiceUrl": ("voice_url", 21502),
    "VoiceFallbackUrl": ("voice_fallback_url", 21502),
}
_METHOD_FIELDS: Final = {
    "SmsMethod": "sms_method",
    "SmsFallbackMethod": "sms_fallback_method",
    "VoiceMethod": "voice_method",
    "VoiceFallbackMethod": "voice_fallback_method",
}


class SmsUrls(Protocol):
    """Where inbound messages go, as a number, its application, its Messaging Service or a
    ``[[numbers]]`` entry says it."""

    @property
    def sms_url(self) -> str | None: ...
    @property
    def sms_method(self) -> str: ...
    @property
    def sms_fallback_url(self) -> str | None: ...
    @property
    def sms_fallback_method(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an inbound message to a number goes: its SMS URL (``None``: nowhere), its fallback,
    and the Messaging Service it is reported for (``MessagingServiceSid``), if any."""

    sms_url: str | None
    sms_method: str
    sms_fallback_url: str | None
    sms_fallback_method: str
    service_sid: str | None = None

    @classmethod
    def of(cls, urls: SmsUrls, service_sid: str | None = None) -> Destination:
        return cls(
            urls.sms_url,
            urls.sms_method,
            urls.sms_fallback_url,
            urls.sms_fallback_method,
            service_sid,
        )


@dataclass(frozen=True, slots=True)
class VoiceDestination:
    """Where a missed call to a number is reported: its VoiceUrl and fallback, and the account
    that owns the number."""

    account_sid: str
    url: str
    method: str
    fallback_url: str | None
    fallback_method: str


class PhoneNumbers:
    def __init__(
        self,
        config: Config,
        store: Numbers,
        clock: Callable[[], datetime],
        applications: Applications,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.applications = applications
        self._numbers: dict[str, PhoneNumber] = {}
        applications.on_delete(self.application_deleted)

    async def load(self, default_account: str) -> None:
        """Give every modem's number its record (new, or refreshed from the configuration
        unless the API changed it); a modem that names no account is ``default_account``'s."""
        self._numbers = await self.records(self.config, default_account)

    def reconfigure(self, config: Config, records: dict[str, PhoneNumber]) -> None:
        """A reloaded configuration, with its numbers' :meth:`records` (read before it, so a
        record changed over the API meanwhile is kept)."""
        self.config = config
        changed = {number: r for number, r in self._numbers.items() if r.api_updated}
        self._numbers = {number: changed.get(number, r) for number, r in records.items()}

    async def records(self, config: Config, default_account: str) -> dict[str, PhoneNumber]:
        """The record of each of ``config``'s modems' numbers, saved as :meth:`load` says."""
        stored = {number.number: number for number in await self.store.phone_numbers()}
        now = self.clock()
        records = {}
        for modem in config.modems:
            owner = modem.account or default_account
            for number in modem.numbers:
                configured = config.number_settings(number) or NumberConfig(number)
                record = _record(stored.get(number), configured, owner, now)
                if record is not stored.get(number):
                    await self.store.save_phone_number(record)
                records[number] = record
        return records

    def of_account(self, account_sid: str) -> list[PhoneNumber]:
        return [n for n in self._numbers.values() if n.account_sid == account_sid]

    def page(
        self,
        account_sid: str,
        *,
        phone_number: str | None,
        friendly_name: str | None,
        origin: str | None,
        token: str | None,
        size: int,
    ) -> tuple[list[PhoneNumber], bool]:
        """A page of the account's numbers (those the filters given match), and whether more
        follow it. ``token``: ``PA`` and the SID of the number the page starts after (its first
        two letters are not read; a SID not listed: the first page)."""
        numbers = self.of_account(account_sid)
        if phone_number:
            # Twilio matches any part of the number: "555" finds +15550001001.
            digits = "".join(char for char in phone_number if char.isdigit() or char == "*")
            numbers = [n for n in numbers if digits.replace("*", "") in n.number]
        if friendly_name:
            numbers = [n for n in numbers if n.friendly_name == friendly_name]
        if origin not in (None, "", "hosted"):
            numbers = []  # these numbers are hosted on the gateway's SIMs, none is Twilio's
        after = (token or "")[2:]
        start = next((i + 1 for i, n in enumerate(numbers) if n.sid == after), 0) if after else 0
        return numbers[start : start + size], start + size < len(numbers)

    def by_sid(self, account_sid: str, sid: str) -> PhoneNumber | None:
        for number in self._numbers.values():
            if number.sid == sid and number.account_sid == account_sid:
                return number
        return None

    def destination(self, number: str) -> Destination | None:
        """Where an inbound message to ``number`` goes, if anywhere."""
        service = self.config.service_of(number)
        if service is not None and service.sms_url:
            return Destination.of(service, service.sid)
        record = self._numbers.get(number)
        if record is None:
            configured = self.config.number_settings(number)
            return None if configured is None else Destination.of(configured)
        service_sid = service.sid if service else None
        application = self._application(record)
        if application is not None:
            # twilio-oai, IncomingPhoneNumber sms_application_sid: "If an sms_application_sid
            # is present, we ignore all sms_*_url values and use those of the application."
            return Destination.of(application, service_sid)
        return Destination.of(record, service_sid)

    def voice_destination(self, number: str) -> VoiceDestination | None:
        """Where a missed call to ``number`` is reported, if anywhere (its VoiceUrl)."""
        record = self._numbers.get(number)
        if record is None or not record.voice_url:
            return None
        return VoiceDestination(
            record.account_sid,
            record.voice_url,
            record.voice_method,
            record.voice_fallback_url,
            record.voice_fallback_method,
        )

    def _application(self, record: PhoneNumber) -> Application | None:
        if record.sms_application_sid is None:
            return None
        return self.applications.get(record.account_sid, record.sms_application_sid)

    def application_deleted(self, application: Application, at: datetime) -> None:
        """The store dropped every number's reference to ``application`` as it deleted it
        ``at``: so do the records kept here."""
        for number, record in self._numbers.items():
            if record.sms_application_sid == application.sid:
                self._numbers[number] = replace(record, sms_application_sid=None, date_updated=at)

    async def update(self, record: PhoneNumber, form: Mapping[str, str]) -> PhoneNumber:
        """``POST …/IncomingPhoneNumbers/{Sid}.json``: the SMS settings and the voice URLs it
        names (a missed call's webhook goes to ``VoiceUrl``), checked, kept; other parameters
        (voice applications, addresses...) are ignored as no modem has a use for them. Raises
        :class:`ApiError`."""
        changes: dict[str, str | None] = {}
        if "SmsApplicationSid" in form:
            changes["sms_application_sid"] = self._sms_application(record, form)
        for name, (field_name, code) in _URL_FIELDS.items():
            if name in form:
                changes[field_name] = _url(form[name], name, code)
        for name, field_name in _METHOD_FIELDS.items():
            if name in form:
                method = form[name].strip().upper() or "POST"
                if method not in _METHODS:
                    raise ApiError(20001, f"Invalid {name} {form[name]!r}: expected GET or POST")
                changes[field_name] = method
        if "FriendlyName" in form:
            name = form["FriendlyName"]
            if len(name) > 64:
                raise ApiError(20001, "FriendlyName is at most 64 characters")
            changes["friendly_name"] = name or record.number
        if not changes:
            return record
        updated = replace(record, **changes, api_updated=True, date_updated=self.clock())  # type: ignore[arg-type]
        await self.store.save_phone_number(updated)
        if updated.sms_application_sid and self._application(updated) is None:
            # Its application was deleted while this was saved (the deletion cleared the
            # references committed before it): no reference to it is left behind either.
            updated = replace(updated, sms_application_sid=None)
            await self.store.save_phone_number(updated)
        self._numbers[updated.number] = updated
        return updated

    def _sms_application(self, record: PhoneNumber, form: Mapping[str, str]) -> str | None:
        """``SmsApplicationSid``: '' clears it; else one of the account's applications, or
        22108 ("Invalid Application SID", Twilio's code for configuring a phone number with
        one that "is not a 34-character string that is prefixed with 'AP'" or "does not exist
        anymore or does not belong to your account", twilio.com/docs/api/errors/22108)."""
        sid = form["SmsApplicationSid"]
        if sid == "":
            return None
        named = self.applications.named(record.account_sid, sid, 22108, "SmsApplicationSid")
        return named.sid


def _record(
    record: PhoneNumber | None, configured: NumberConfig, owner: str, now: datetime
) -> PhoneNumber:
    """A number's record: ``record`` if it needs no change, else a new one or one refreshed
    with its configured settings. The one place a ``[[numbers]]`` entry becomes a record."""
    if record is None:
        return PhoneNumber(
            number=configured.number,
            sid=new_sid("PN"),
            account_sid=owner,
            friendly_name=configured.number,
            sms_url=configured.sms_url,
            sms_method=configured.sms_method,
            sms_fallback_url=configured.sms_fallback_url,
            sms_fallback_method=configured.sms_fallback_method,
            status_callback=configured.status_callback,
            api_updated=False,
            date_created=now,
            date_updated=now,
            voice_url=configured.voice_url,
            voice_method=configured.voice_method,
            voice_fallback_url=configured.voice_fallback_url,
            voice_fallback_method=configured.voice_fallback_method,
        )
    if record.api_updated:
        return record  # the API's values win over the configuration's
    refreshed = replace(
        record,
        account_sid=owner,
        sms_url=configured.sms_url,
        sms_method=configured.sms_method,
        sms_fallback_url=configured.sms_fallback_url,
        sms_fallback_method=configured.sms_fallback_method,
        status_callback=configured.status_callback,
        voice_url=configured.voice_url,
        voice_method=configured.voice_method,
        voice_fallback_url=configured.voice_fallback_url,
        voice_fallback_method=configured.voice_fallback_method,
    )
    return record if refreshed == record else replace(refreshed, date_updated=now)


def _url(value: str, name: str, code: int) -> str | None:
    """An empty value clears the URL; anything else must be requestable as given (webhooks are
    signed over it and sent exactly as signed)."""
    if value == "":
        return None
    problem = url_problem(value)
    if problem is not None:
        raise ApiError(code, f"Invalid {name}: {value!r} {problem}")
    return value

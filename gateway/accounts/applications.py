"""Applications (``AP…``): the URLs an account's numbers and messages can refer to, as Twilio's
Applications resource keeps them (create, fetch, list, update, delete).

What they are for here (the rest, voice, is kept and shown but has no use on a modem):

* A number whose ``sms_application_sid`` names one sends its inbound messages to the
  application's ``sms_url`` (with ``sms_method``, and ``sms_fallback_url`` when that fails), not
  to its own (twilio-oai, IncomingPhoneNumber ``sms_application_sid``: "If an
  ``sms_application_sid`` is present, we ignore all ``sms_*_url`` values and use those of the
  application"). See :meth:`gateway.accounts.numbers.PhoneNumbers.destination`.
* A message created with ``ApplicationSid`` has its status callbacks made to the application's
  ``message_status_callback`` (the seed documentation; see :mod:`gateway.domain.callbacks`).

Both look the application up when they use it, so that an application's new URL applies from
then on to every number and message that refers to it, as a reference (not a copy) does. A
deleted application leaves no reference behind: the numbers that named it go back to their own
URLs (see :meth:`Applications.delete`).

Every application is kept in the database and, for the inbound path, in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from gateway.domain.booleans import boolean
from gateway.domain.errors import ApiError
from gateway.domain.models import API_VERSION, is_sid, new_sid
from gateway.domain.records import Application
from gateway.domain.urls import url_problem
from gateway.listeners import Listeners
from gateway.store import Numbers

METHODS: Final = ("GET", "POST")
# twilio-oai CreateApplication ``ApiVersion``: "Can be: 2010-04-01 or 2008-08-01".
API_VERSIONS: Final = (API_VERSION, "2008-08-01")
MAX_FRIENDLY_NAME: Final = 64  # characters (twilio-oai CreateApplication FriendlyName)
# Twilio's codes for a URL it cannot use: 21502 "Invalid callback url" (a webhook's URL, as
# for an IncomingPhoneNumber's SmsUrl here), 21609 "Invalid 'StatusCallback'" for the
# status callbacks (ERRJSON: ../shared/docs/twilio-messages-api.md).
_URLS: Final = {
    "SmsUrl": ("sms_url", 21502),
    "SmsFallbackUrl": ("sms_fallback_url", 21502),
    "VoiceUrl": ("voice_url", 21502),
    "VoiceFallbackUrl": ("voice_fallback_url", 21502),
    "StatusCallback": ("status_callback", 21609),
    "SmsStatusCallback": ("sms_status_callback", 21609),
    "MessageStatusCallback": ("message_status_callback", 21609),
}
_METHODS: Final = {
    "SmsMethod": "sms_method",
    "SmsFallbackMethod": "sms_fallback_method",
    "VoiceMethod": "voice_method",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallbackMethod": "status_callback_method",
}
_FLAGS: Final = {
    "VoiceCallerIdLookup": "voice_caller_id_lookup",
    "PublicApplicationConnectEnabled": "public_application_connect_enabled",
}

Form = Mapping[str, str]


class Applications:
    def __init__(self, store: Numbers, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._by_sid: dict[str, Application] = {}  # in creation order
        # Where each application stands in the lists, deleted ones too: a page token naming
        # an application deleted since still finds its place.
        self._positions: dict[str, int] = {}
        self._deleted: Listeners[[Application, datetime]] = Listeners("an application's deletion")
        self._writing = asyncio.Lock()  # one change at a time: none undoes another

    async def load(self) -> None:
        self._by_sid = {a.sid: a for a in await self.store.applications()}
        self._positions = {sid: position for position, sid in enumerate(self._by_sid)}

    def on_delete(self, listener: Callable[[Application, datetime], None]) -> None:
        """Call ``listener(application, at)`` once an application's deletion is committed
        (``at``: when, as the store recorded it)."""
        self._deleted.subscribe(listener)

    def of_account(self, account_sid: str) -> list[Application]:
        """The account's applications, oldest first."""
        return [a for a in self._by_sid.values() if a.account_sid == account_sid]

    def get(self, account_sid: str, sid: str) -> Application | None:
        application = self._by_sid.get(sid)
        if application is None or application.account_sid != account_sid:
            return None  # another account's application is none of this one's business
        return application

    def named(self, account_sid: str, sid: str, code: int, parameter: str) -> Application:
        """The application ``sid`` given as ``parameter``, or ``code`` (Twilio's for that
        parameter) if it is not an ``AP`` SID of one of the account's applications."""
        application = self.get(account_sid, sid) if is_sid(sid, "AP") else None
        if application is None:
            raise ApiError(
                code,
                f"Invalid {parameter} {sid!r}: no application of this account has that SID",
            )
        return application

    def page(
        self, account_sid: str, friendly_name: str | None, token: str | None, size: int
    ) -> tuple[list[Application], bool]:
        """A page of the account's applications (of that name, if given), and whether more
        follow it. ``token``: ``PA<sid>`` for those after that application, ``PB<sid>`` for
        those before it (the page before a page)."""
        listed = self.of_account(account_sid)
        if friendly_name:
            listed = [a for a in listed if a.friendly_name == friendly_name]
        if not token:
            return listed[:size], len(listed) > size
        where = self._positions.get(token[2:])
        if token[:2] not in ("PA", "PB") or where is None:
            raise ApiError(20001, f"Invalid PageToken {token!r}")
        if token.startswith("PA"):
            after = [a for a in listed if self._positions[a.sid] > where]
            return after[:size], len(after) > size
        before = [a for a in listed if self._positions[a.sid] < where]
        return before[-size:], True  # the page it came from follows

    async def create(self, account_sid: str, form: Form) -> Application:
        """``POST …/Applications.json``; raises :class:`ApiError`."""
        now = self.clock()
        blank = Application.new(new_sid("AP"), account_sid, API_VERSION, now)
        application = replace(blank, **_changes(form))
        await self.store.add_application(application)
        self._by_sid[application.sid] = application
        self._positions[application.sid] = len(self._positions)
        return application

    async def update(self, application: Application, form: Form) -> Application | None:
        """``POST …/Applications/{Sid}.json``: what the form names, checked; raises
        :class:`ApiError`. ``None`` if the application was deleted meanwhile."""
        changes = _changes(form)
        async with self._writing:
            # As it is now: another request may have changed (or deleted) it meanwhile, and
            # what that one set and this one does not name stays.
            current = self._by_sid.get(application.sid)
            if current is None:
                return None
            if not changes:
                return current
            updated = replace(current, **changes, date_updated=self.clock())
            if not await self.store.update_application(updated):
                return None
            self._by_sid[updated.sid] = updated
            return updated

    async def delete(self, application: Application) -> bool:
        """``DELETE …/Applications/{Sid}.json``. Twilio's reference answers a deletion with
        204 and documents no refusal for an application still in use, so none is made: the
        numbers that named it lose the reference in the same transaction, and from then on
        use their own URLs; a message created with it makes no more status callbacks.
        ``False`` if it was deleted already."""
        at = self.clock()
        async with self._writing:
            if not await self.store.delete_application(
                application.account_sid, application.sid, at
            ):
                return False
            self._by_sid.pop(application.sid, None)
        self._deleted.announce(application, at)
        return True


def _changes(form: Form) -> dict[str, Any]:
    """The settings ``form`` gives, checked (Twilio's error otherwise)."""
    changes: dict[str, Any] = {}
    if "FriendlyName" in form:
        name = form["FriendlyName"]
        if len(name) > MAX_FRIENDLY_NAME:
            raise ApiError(20001, f"FriendlyName is at most {MAX_FRIENDLY_NAME} characters")
        changes["friendly_name"] = name or None
    if form.get("ApiVersion"):
        if form["ApiVersion"] not in API_VERSIONS:
            versions = " or ".join(API_VERSIONS)
            raise ApiError(20001, f"Invalid ApiVersion {form['ApiVersion']!r}: {versions}")
        changes["api_version"] = form["ApiVersion"]
    for name, (field_name, code) in _URLS.items():
        if name in form:
            changes[field_name] = _url(form[name], name, code)
    for name, field_name in _METHODS.items():
        if name in form:
            method = form[name].strip().upper() or "POST"
            if method not in METHODS:
                raise ApiError(20001, f"Invalid {name} {form[name]!r}: expected GET or POST")
            changes[field_name] = method
    for name, field_name in _FLAGS.items():
        if form.get(name):
            changes[field_name] = boolean(form[name], name)
    return changes


def _url(value: str, name: str, code: int) -> str | None:
    """An empty value clears the URL; anything else must be requestable exactly as given
    (webhooks are signed over it: see :mod:`gateway.domain.urls`)."""
    if value == "":
        return None
    problem = url_problem(value)
    if problem is not None:
        raise ApiError(code, f"Invalid {name}: {value!r} {problem}")
    return value

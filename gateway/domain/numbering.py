"""Phone numbers as a carrier sees them: E.164 numbers a network could route, national numbers
read in the gateway's ``default_region``, and short codes (Google's libphonenumber data).

The rule for a number (README: "Phone numbers"):

* ``+`` and digits (spaces, dashes, dots and brackets as people type them are dropped): an
  E.164 number, taken when its country code exists, its length is one the country's numbering
  plan dials from abroad (``is_possible_number_with_reason`` is ``IS_POSSIBLE``: not too short,
  not too long, not a number dialled only locally without its area code) and it begins as the
  plan's numbers begin (the plan's general pattern: ``+1`` numbers have no area code starting
  with 0 or 1). So ``+12``, ``+1555`` and ``+15551234`` are refused (21211).
* Not :func:`phonenumbers.is_valid_number`: that also asks whether the range is allocated to a
  carrier today, which refuses the ranges set aside for fiction and tests (the NANP's 555
  numbers, Ofcom's +44 7700 900xxx, which this project's tests, README and example
  configuration use) and any range allocated after the installed metadata was made. A
  gateway on a Raspberry Pi is not upgraded every month; for a number that nobody owns the
  network answers itself (30003, 30005), as it would for a valid number switched off.
* Digits alone: a national number, turned into E.164 with ``default_region`` (``07700 900123``
  with "GB" is ``+447700900123``); with no ``default_region`` it is refused.
* 3 to 8 digits: a short code (a carrier's balance or opt-out service), kept as given (without
  the spaces), never made E.164. With a ``default_region``, only those of a length the
  region's short codes have (libphonenumber's short-number data; a region it has none for:
  those that are no national number). Whether a modem may text one is its
  ``allow_short_codes``: the caller decides.

Inbound senders are never put through this: they are kept as the network gave them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, ValidationResult

_FORMATTING: Final = re.compile(r"[\s().\-]")
_DIGITS: Final = re.compile(r"\+?[0-9]{1,20}")
_SHORT_CODE: Final = re.compile(r"[0-9]{3,8}")

_LENGTH_PROBLEMS: Final = {
    ValidationResult.TOO_SHORT: "too short for a +{cc} number",
    ValidationResult.TOO_LONG: "too long for a +{cc} number",
    ValidationResult.INVALID_LENGTH: "no +{cc} number has this length",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: (
        "+{cc} numbers of this length are dialled only locally, without their area code"
    ),
    ValidationResult.INVALID_COUNTRY_CODE: "no country has the code +{cc}",
}


class NumberError(ValueError):
    """A number no network could route; ``reason`` says why, for the API's error message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Number:
    value: str  # E.164, or a short code's digits
    short_code: bool = False


def region(value: str) -> str | None:
    """``value`` as a region libphonenumber knows (ISO 3166-1 alpha-2, any case), or ``None``."""
    code = value.strip().upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


# libphonenumber takes 30-40 us a number, twice a create (To and From); senders are a few
# modems' numbers and recipients repeat, so the answers are kept (a pure function of its
# arguments; a refusal is not kept, and costs its parse again).
@functools.lru_cache(maxsize=4096)
def parse(raw: str, default_region: str | None) -> Number:
    """The number ``raw`` names, by the rule above; raises :class:`NumberError`."""
    text = _FORMATTING.sub("", raw)
    if not _DIGITS.fullmatch(text):
        raise NumberError("a phone number is a + and digits, or digits alone")
    if text.startswith("+"):
        return Number(_e164(text, None))
    short = _SHORT_CODE.fullmatch(text) is not None
    if default_region is None:
        if short:
            return Number(text, short_code=True)
        if len(text) < 3:
            raise NumberError("too short to be a phone number or a short code")
        raise NumberError(
            "a national number, and no [gateway] default_region is configured to read it; "
            "give it in E.164 (+ and the country code)"
        )
    # A short code first where the region's short-number data has codes of its length:
    # Australia's 13 xx xx and 19xx xxxx are national numbers too, but texted as dialled.
    known = PhoneMetadata.short_metadata_for_region(default_region) is not None
    if short and known and _possible_short_code(text, default_region):
        return Number(text, short_code=True)
    try:
        return Number(_e164(text, default_region))
    except NumberError as exc:
        if short and not known:  # no data on the region's short codes: 3 to 8 digits
            return Number(text, short_code=True)
        raise NumberError(f"read as a national number of {default_region}: {exc}") from None


def e164(raw: str, default_region: str | None) -> str | None:
    """``raw`` in E.164 by the rule above, or ``None`` (a short code, or no number)."""
    try:
        number = parse(raw, default_region)
    except NumberError:
        return None
    return None if number.short_code else number.value


def _e164(text: str, default_region: str | None) -> str:
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise NumberError("no country has this code") from None
        raise NumberError("too short to be a phone number") from None
    code = number.country_code
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != ValidationResult.IS_POSSIBLE:
        problem = _LENGTH_PROBLEMS.get(reason, "not a possible +{cc} number")
        raise NumberError(problem.format(cc=code))
    if not _plan_begins_so(number):
        raise NumberError(f"no +{code} number begins so")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _possible_short_code(text: str, default_region: str) -> bool:
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException:
        return False
    return phonenumbers.is_possible_short_number_for_region(number, default_region)


def _plan_begins_so(number: phonenumbers.PhoneNumber) -> bool:
    """Whether ``number`` matches the general pattern of its country code's numbering plan in
    any region that shares the code (+1: the US, Canada, the Caribbean; +44: GB, the Channel
    Islands, the Isle of Man): the first check of ``is_valid_number``, without the next one,
    which asks for an allocated range."""
    national = phonenumbers.national_significant_number(number)
    country_code = number.country_code or 0  # parse() always sets it
    for code in phonenumbers.region_codes_for_country_code(country_code):
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, code)
        general = metadata.general_desc if metadata is not None else None
        pattern = general.national_number_pattern if general is not None else None
        if pattern is None or re.fullmatch(pattern, national):
            return True
    return False

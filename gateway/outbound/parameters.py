"""Twilio's checks of a message's parameters that need only the form: each reads one parameter
and raises :class:`~gateway.domain.errors.ApiError` with Twilio's code for a value Twilio
refuses. :meth:`gateway.outbound.accept.Outbound.prepare` runs them in Twilio's order, with the
checks that need the gateway's numbers, services and applications.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from gateway.domain.booleans import boolean
from gateway.domain.errors import ApiError
from gateway.domain.integers import small_integer
from gateway.domain.numbering import Number, NumberError
from gateway.domain.numbering import parse as parse_number
from gateway.domain.pricing import parse_max_price
from gateway.domain.urls import url_problem

# Seconds; the product's specification (the seed documentation): also the default, after
# which a message not yet sent fails with 30036.
MAX_VALIDITY: Final = 14400
# The seed documentation: "You can include up to 10 media_url parameters per message".
MAX_MEDIA: Final = 10
# Addresses of messaging channels, not of a SIM: refused as To (21211) and From (21212).
CHANNEL_PREFIXES: Final = ("whatsapp:", "messenger:", "rcs:", "fbm:", "instagram:")
_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,10}")
_INT32: Final = range(-(2**31), 2**31)  # what an API "integer" holds (twilio-oai: no format)

Form = Mapping[str, str]


def recipient(form: Form, default_region: str | None) -> Number:
    """``To`` as a carrier sees it (gateway.domain.numbering): E.164 (a national number read in
    ``default_region``), or a short code that the sender's modem must allow
    (:meth:`gateway.outbound.accept.Outbound.prepare`); 21211 otherwise."""
    raw = form.get("To", "")
    if not raw.strip():
        raise ApiError(21604, "A 'To' phone number is required.")
    if raw.startswith(CHANNEL_PREFIXES):
        raise ApiError(
            21211,
            f"The 'To' number {raw} is not a valid phone number: this gateway sends SMS "
            "through GSM modems, not to messaging channels",
        )
    try:
        return parse_number(raw, default_region)
    except NumberError as exc:
        raise ApiError(
            21211, f"The 'To' number {raw} is not a valid phone number: {exc.reason}"
        ) from None


def is_true(form: Form, name: str) -> bool:
    """A flag that only ``true`` (any case) sets; any other value is false."""
    return form.get(name, "").strip().lower() == "true"


def strict_boolean(form: Form, name: str) -> bool:
    """A boolean parameter: absent or empty is false, else :func:`gateway.domain.booleans.
    boolean` (``true`` or ``false``, 20001 for anything else)."""
    raw = form.get(name)
    if raw is None or raw == "":
        return False
    return boolean(raw, name)


def check_attempt(form: Form) -> None:
    """``Attempt``: "Total number of attempts made (including this) to send out the message
    regardless of the provider used", an integer (the seed documentation). Checked, then not
    used: this gateway is the only provider a message goes through."""
    raw = form.get("Attempt")
    if raw is None or raw == "":
        return
    if not _INTEGER.fullmatch(raw.strip()) or int(raw) not in _INT32:
        raise ApiError(
            20001,
            f"Invalid Attempt {raw!r}: expected an integer, the number of attempts made to "
            "send this message (this one included)",
        )


def refuse_link_shortening(form: Form) -> None:
    """``ShortenUrls=true`` needs Twilio's Link Shortening: a domain of the sender's, set up on
    a Messaging Service. There is no such domain here, and a message is not sent with its
    links left long when shortened ones were asked for (``../shared/docs/
    twilio-messages-api.md``: refuse what GSM modems cannot serve). 30106 is Twilio's "Domain
    has not been set up for this account" (its error dictionary: "Domain has not been setup
    for click tracking")."""
    if strict_boolean(form, "ShortenUrls"):
        raise ApiError(
            30106,
            "Domain has not been set up for this account: ShortenUrls=true needs a link "
            "shortening domain, and this gateway has none (it sends links as they are "
            "written); send the message without ShortenUrls, or with ShortenUrls=false",
        )


def status_callback(url: str | None) -> str | None:
    """21609 for a URL that cannot be requested as given (see :mod:`gateway.domain.urls`)."""
    if not url:
        return None
    problem = url_problem(url)
    if problem is not None:
        raise ApiError(21609, f"Invalid 'StatusCallback': {url!r} {problem}")
    return url


def validity(form: Form) -> int | None:
    raw = form.get("ValidityPeriod")
    if raw is None or raw == "":
        return None
    value = small_integer(raw.strip())
    if value is None or not 1 <= value <= MAX_VALIDITY:
        raise ApiError(
            21624,
            f"Invalid validity period value {raw!r}: an integer from 1 to {MAX_VALIDITY} seconds",
        )
    return value


def choice(form: Form, name: str, values: tuple[str, ...]) -> str | None:
    """A privacy setting (the seed documentation: honour them): one of ``values``."""
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    if raw not in values:
        raise ApiError(20001, f"Invalid {name} {raw!r}: expected {' or '.join(values)}")
    return raw


def max_price(form: Form) -> str | None:
    raw = form.get("MaxPrice")
    if raw is None or raw == "":
        return None
    value = parse_max_price(raw)
    if value is None:
        raise ApiError(
            21627, f"Max Price must be a valid positive float (up to 4 decimals), got {raw!r}"
        )
    return str(value)

"""Rows and records for the PostgreSQL store: the same columns as SQLite's
(:mod:`gateway.store.sqlite.rows`), the same microseconds since the epoch for times (so a
database copied from one to the other keeps every moment exactly), and booleans as booleans."""

from __future__ import annotations

from typing import Any, Final

from gateway.domain.records import Application, PhoneNumber
from gateway.store.sqlite.numbers import APPLICATION_COLUMNS, application_row
from gateway.store.sqlite.rows import NUMBER_COLUMNS, from_micros, phone_number_row, to_micros

__all__ = [
    "APPLICATION_COLUMNS",
    "APPLICATION_NAMES",
    "NUMBER_COLUMNS",
    "NUMBER_NAMES",
    "application_row",
    "application_values",
    "from_micros",
    "number_values",
    "phone_number_row",
    "placeholders",
    "to_micros",
]


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def number_values(number: PhoneNumber) -> tuple[Any, ...]:
    """``number``'s columns (:data:`NUMBER_COLUMNS`, in order) as the table keeps them."""
    return (
        number.number,
        number.sid,
        number.account_sid,
        number.friendly_name,
        number.sms_url,
        number.sms_method,
        number.sms_fallback_url,
        number.sms_fallback_method,
        number.status_callback,
        number.api_updated,
        to_micros(number.date_created),
        to_micros(number.date_updated),
        number.sms_application_sid,
        number.voice_url,
        number.voice_method,
        number.voice_fallback_url,
        number.voice_fallback_method,
    )


def application_values(a: Application) -> tuple[Any, ...]:
    """``a``'s columns (:data:`APPLICATION_COLUMNS`, in order) as the table keeps them."""
    return (
        a.sid,
        a.account_sid,
        a.friendly_name,
        a.api_version,
        a.sms_url,
        a.sms_method,
        a.sms_fallback_url,
        a.sms_fallback_method,
        a.sms_status_callback,
        a.message_status_callback,
        a.voice_url,
        a.voice_method,
        a.voice_fallback_url,
        a.voice_fallback_method,
        a.status_callback,
        a.status_callback_method,
        a.voice_caller_id_lookup,
        a.public_application_connect_enabled,
        to_micros(a.date_created),
        to_micros(a.date_updated),
    )


NUMBER_NAMES: Final = tuple(name.strip() for name in NUMBER_COLUMNS.split(","))
APPLICATION_NAMES: Final = tuple(name.strip() for name in APPLICATION_COLUMNS.split(","))

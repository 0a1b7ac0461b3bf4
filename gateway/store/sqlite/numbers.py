"""The Numbers role (:class:`gateway.store.Numbers`): the phone numbers, and the
``applications`` table (:mod:`gateway.store.sqlite.schema` migration 10) with the statements run
on it inside the store's transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from gateway.domain.records import Application, PhoneNumber
from gateway.store.sqlite.engine import Engine
from gateway.store.sqlite.rows import NUMBER_COLUMNS, from_micros, phone_number_row, to_micros

APPLICATION_COLUMNS: Final = (
    "sid, account_sid, friendly_name, api_version, sms_url, sms_method, sms_fallback_url, "
    "sms_fallback_method, sms_status_callback, message_status_callback, voice_url, "
    "voice_method, voice_fallback_url, voice_fallback_method, status_callback, "
    "status_callback_method, voice_caller_id_lookup, public_application_connect_enabled, "
    "date_created, date_updated"
)
_NAMES: Final = [name.strip() for name in APPLICATION_COLUMNS.split(",")]
_COUNT: Final = len(_NAMES)


def application_row(row: Sequence[Any]) -> Application:
    created, updated = from_micros(row[18]), from_micros(row[19])
    assert created is not None and updated is not None
    return Application(
        sid=row[0],
        account_sid=row[1],
        friendly_name=row[2],
        api_version=row[3],
        sms_url=row[4],
        sms_method=row[5],
        sms_fallback_url=row[6],
        sms_fallback_method=row[7],
        sms_status_callback=row[8],
        message_status_callback=row[9],
        voice_url=row[10],
        voice_method=row[11],
        voice_fallback_url=row[12],
        voice_fallback_method=row[13],
        status_callback=row[14],
        status_callback_method=row[15],
        voice_caller_id_lookup=bool(row[16]),
        public_application_connect_enabled=bool(row[17]),
        date_created=created,
        date_updated=updated,
    )


def all_applications(db: sqlite3.Connection) -> list[Application]:
    rows = db.execute(f"SELECT {APPLICATION_COLUMNS} FROM applications ORDER BY id")
    return [application_row(row) for row in rows]


def find_application(db: sqlite3.Connection, account_sid: str, sid: str) -> Application | None:
    """The application ``sid`` of ``account_sid`` as committed now (another account's is none
    of this one's)."""
    row = db.execute(
        f"SELECT {APPLICATION_COLUMNS} FROM applications WHERE sid = ? AND account_sid = ?",
        (sid, account_sid),
    ).fetchone()
    return None if row is None else application_row(row)


def _values(a: Application) -> tuple[Any, ...]:
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
        int(a.voice_caller_id_lookup),
        int(a.public_application_connect_enabled),
        to_micros(a.date_created),
        to_micros(a.date_updated),
    )


def add_application(db: sqlite3.Connection, application: Application) -> None:
    db.execute(
        f"INSERT INTO applications ({APPLICATION_COLUMNS}) VALUES ({', '.join('?' * _COUNT)})",
        _values(application),
    )


def update_application(db: sqlite3.Connection, application: Application) -> bool:
    """Every column but the SID, the account and the creation date; the row keeps its id, and
    so its place in the list. ``False`` if there is no such row (deleted)."""
    names = [*_NAMES[2:-2], "date_updated"]
    values = _values(application)
    changed = [*values[2:-2], values[-1]]
    cursor = db.execute(
        f"UPDATE applications SET {', '.join(f'{name} = ?' for name in names)} "
        "WHERE sid = ? AND account_sid = ?",
        (*changed, application.sid, application.account_sid),
    )
    return cursor.rowcount == 1


def delete_application(db: sqlite3.Connection, account_sid: str, sid: str, at: datetime) -> bool:
    cursor = db.execute(
        "DELETE FROM applications WHERE sid = ? AND account_sid = ?", (sid, account_sid)
    )
    if cursor.rowcount != 1:
        return False
    db.execute(
        "UPDATE phone_numbers SET sms_application_sid = NULL, date_updated = ? "
        "WHERE sms_application_sid = ? AND account_sid = ?",
        (to_micros(at), sid, account_sid),
    )
    return True


class SqliteNumbers(Engine):
    """:class:`gateway.store.Numbers`."""

    async def phone_numbers(self) -> list[PhoneNumber]:
        def job(db: sqlite3.Connection) -> list[PhoneNumber]:
            return [
                phone_number_row(row)
                for row in db.execute(f"SELECT {NUMBER_COLUMNS} FROM phone_numbers ORDER BY rowid")
            ]

        return await self._read(job)

    async def save_phone_number(self, number: PhoneNumber) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                f"INSERT OR REPLACE INTO phone_numbers ({NUMBER_COLUMNS}) "
                f"VALUES ({', '.join('?' * 17)})",
                (
                    number.number,
                    number.sid,
                    number.account_sid,
                    number.friendly_name,
                    number.sms_url,
                    number.sms_method,
                    number.sms_fallback_url,
                    number.sms_fallback_method,
                    number.status_callback,
                    int(number.api_updated),
                    to_micros(number.date_created),
                    to_micros(number.date_updated),
                    number.sms_application_sid,
                    number.voice_url,
                    number.voice_method,
                    number.voice_fallback_url,
                    number.voice_fallback_method,
                ),
            )

        await self._write(job)

    async def applications(self) -> list[Application]:
        return await self._read(all_applications)

    async def add_application(self, application: Application) -> None:
        await self._write(lambda db: add_application(db, application))

    async def update_application(self, application: Application) -> bool:
        return await self._write(lambda db: update_application(db, application))

    async def delete_application(self, account_sid: str, sid: str, at: datetime) -> bool:
        return await self._write(lambda db: delete_application(db, account_sid, sid, at))

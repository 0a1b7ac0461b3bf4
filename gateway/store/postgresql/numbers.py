"""The Numbers role (:class:`gateway.store.Numbers`) on PostgreSQL: the phone numbers' settings
and the applications, shared by every node on the database."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from gateway.domain.records import Application, PhoneNumber
from gateway.store.postgresql.engine import Db, Engine
from gateway.store.postgresql.rows import (
    APPLICATION_COLUMNS,
    APPLICATION_NAMES,
    NUMBER_COLUMNS,
    NUMBER_NAMES,
    application_row,
    application_values,
    number_values,
    phone_number_row,
    placeholders,
    to_micros,
)

# A number saved again takes every new value and the next position: it is then listed last,
# as SQLite's INSERT OR REPLACE gives it a new rowid. One statement, so that two nodes saving
# the same number at once both succeed (the later wins), where a delete and an insert would
# have the second fail on the primary key.
_SAVE_NUMBER: Final = (
    f"INSERT INTO phone_numbers ({NUMBER_COLUMNS}) VALUES ({placeholders(len(NUMBER_NAMES))}) "
    "ON CONFLICT (number) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in NUMBER_NAMES[1:])
    + ", position = nextval('phone_numbers_position')"
)
# Every column but the SID, the account and the creation date; the row keeps its id, and so
# its place in the list.
_CHANGED: Final = (*APPLICATION_NAMES[2:-2], "date_updated")
_UPDATE_APPLICATION: Final = (
    "UPDATE applications SET "
    + ", ".join(f"{name} = %s" for name in _CHANGED)
    + " WHERE sid = %s AND account_sid = %s"
)


class PostgresNumbers(Engine):
    """:class:`gateway.store.Numbers`."""

    async def phone_numbers(self) -> list[PhoneNumber]:
        async def job(db: Db) -> list[PhoneNumber]:
            got = await db.execute(f"SELECT {NUMBER_COLUMNS} FROM phone_numbers ORDER BY position")
            return [phone_number_row(row) for row in await got.fetchall()]

        return await self._read(job)

    async def save_phone_number(self, number: PhoneNumber) -> None:
        async def job(db: Db) -> None:
            # A number under another's SID (which SQLite's REPLACE would delete) is let go
            # first: each number's SID is its own, and the last save of one wins.
            await db.execute(
                "DELETE FROM phone_numbers WHERE sid = %s AND number <> %s",
                (number.sid, number.number),
            )
            await db.execute(_SAVE_NUMBER, number_values(number))

        await self._write(job)

    async def applications(self) -> list[Application]:
        async def job(db: Db) -> list[Application]:
            got = await db.execute(f"SELECT {APPLICATION_COLUMNS} FROM applications ORDER BY id")
            return [application_row(row) for row in await got.fetchall()]

        return await self._read(job)

    async def add_application(self, application: Application) -> None:
        async def job(db: Db) -> None:
            await db.execute(
                f"INSERT INTO applications ({APPLICATION_COLUMNS}) "
                f"VALUES ({placeholders(len(APPLICATION_NAMES))})",
                application_values(application),
            )

        await self._write(job)

    async def update_application(self, application: Application) -> bool:
        values = application_values(application)
        changed = (*values[2:-2], values[-1])

        async def job(db: Db) -> bool:
            got = await db.execute(
                _UPDATE_APPLICATION, (*changed, application.sid, application.account_sid)
            )
            return got.rowcount == 1

        return await self._write(job)

    async def delete_application(self, account_sid: str, sid: str, at: datetime) -> bool:
        async def job(db: Db) -> bool:
            got = await db.execute(
                "DELETE FROM applications WHERE sid = %s AND account_sid = %s", (sid, account_sid)
            )
            if got.rowcount != 1:
                return False
            await db.execute(
                "UPDATE phone_numbers SET sms_application_sid = NULL, date_updated = %s "
                "WHERE sms_application_sid = %s AND account_sid = %s",
                (to_micros(at), sid, account_sid),
            )
            return True

        return await self._write(job)

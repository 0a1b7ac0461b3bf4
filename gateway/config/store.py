"""``[store]``: where the gateway keeps its messages. Left out, the SQLite file in
``data_dir``; ``url = "postgresql://USER@HOST/DATABASE"``, a PostgreSQL database that several
gateways share (issue 19).

Only the URL's shape is checked here, without the PostgreSQL adapter (an optional extra,
imported only by the PostgreSQL store): libpq reads the rest when the store connects (its
query parameters, several hosts), and says what it cannot read then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit

from gateway.config.tables import Table
from gateway.domain.errors import ConfigError

# libpq's two URI schemes (PostgreSQL's manual, 34.1.1.2 "Connection URIs").
SCHEMES: Final = ("postgresql", "postgres")
_PASSWORD: Final = re.compile(r"([?&]password=)[^&]*")
_EXPECTED: Final = (
    "expected postgresql://USER@HOST/DATABASE (leave [store] url out to keep the SQLite file "
    "in data_dir)"
)


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """``[store]``: a PostgreSQL database's URL, or ``None`` for the SQLite file in
    ``data_dir``. Read at start only."""

    url: str | None = None

    @property
    def engine(self) -> str:
        return "sqlite" if self.url is None else "postgresql"

    def __str__(self) -> str:  # as a reload's log line names a change: never the password
        return "sqlite (data_dir)" if self.url is None else redacted(self.url)


def read_store(root: Table) -> StoreConfig:
    section = root.section("store")
    url: str | None = section.get("url", str)
    section.finish()
    if not url:
        return StoreConfig()
    key = section.key("url")
    parts = _split(url, key)
    if parts.scheme not in SCHEMES:
        raise ConfigError(key, f"{redacted(url)!r}: {_EXPECTED}")
    database = parts.path.removeprefix("/")
    if not database:
        # libpq would take the user's name for it: a shared store's database is named.
        raise ConfigError(key, f"{redacted(url)!r} names no database: {_EXPECTED}")
    return StoreConfig(url=url)


def _split(url: str, key: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:
        raise ConfigError(key, f"{redacted(url)!r} is not a URL ({exc}): {_EXPECTED}") from None


def redacted(url: str) -> str:
    """``url`` without its password, if it has one (in its user information, or as libpq's
    ``password`` parameter): what a log line or an error may show."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    place, tail = rest[:end], rest[end:]
    user, at, hosts = place.rpartition("@")
    if at and ":" in user:
        place = f"{user.partition(':')[0]}:***@{hosts}"
    return f"{scheme}://{place}" + _PASSWORD.sub(r"\1***", tail)

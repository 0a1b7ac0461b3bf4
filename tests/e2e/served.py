"""``smsgw serve`` as its own process, as a user runs it: the configuration file a user writes
(:class:`GatewayToml`, built rather than pasted), the process started and awaited until it
listens, and what the tests read of it from outside: its API and its metrics (another process
offers no notification of its commits, so these are polled, with a bound)."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

import aiohttp

from gateway.config import Account
from tests.e2e.rig import scrape, value
from tests.gateway.gateway_rig import ACCOUNT

T = TypeVar("T")
SMSGW: Final = Path(sys.executable).parent / "smsgw"
WAIT: Final = 15.0  # seconds: the bound on a wait for another process
MESSAGES: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"

TomlValue: TypeAlias = str | int | float | bool | Path | Sequence[str]
Table: TypeAlias = dict[str, TomlValue]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class GatewayToml:
    """A ``gateway.toml``: ``[gateway]`` (``listen``, ``data_dir`` and the ``settings``
    given), one ``[[accounts]]`` table for each of ``accounts``, then the ``[[modems]]``,
    ``[[services]]`` and ``[[numbers]]`` tables, each in the order it was added."""

    listen: str
    data_dir: Path
    settings: Table = field(default_factory=dict)
    accounts: tuple[Account, ...] = (ACCOUNT,)
    modems: list[Table] = field(default_factory=list)
    services: list[Table] = field(default_factory=list)
    numbers: list[Table] = field(default_factory=list)

    def modem(self, id: str, driver: str, numbers: Sequence[str], **keys: TomlValue) -> Table:
        """Adds a ``[[modems]]`` table; returns it, for the test to change. A simulated modem
        reports deliveries at once unless ``report_delay`` is given: the tests await them."""
        if driver == "simulated":
            keys.setdefault("report_delay", 0)
        table: Table = {"id": id, "driver": driver, "numbers": list(numbers), **keys}
        self.modems.append(table)
        return table

    def service(self, sid: str, name: str, numbers: Sequence[str], **keys: TomlValue) -> Table:
        table: Table = {"sid": sid, "name": name, "numbers": list(numbers), **keys}
        self.services.append(table)
        return table

    def number(self, number: str, **keys: TomlValue) -> Table:
        table: Table = {"number": number, **keys}
        self.numbers.append(table)
        return table

    def text(self) -> str:
        gateway: Table = {"listen": self.listen, "data_dir": self.data_dir, **self.settings}
        blocks = [_table("[gateway]", gateway)]
        blocks += [
            _table("[[accounts]]", {"sid": account.sid, "auth_token": account.auth_token})
            for account in self.accounts
        ]
        for name, tables in (
            ("modems", self.modems),
            ("services", self.services),
            ("numbers", self.numbers),
        ):
            blocks += [_table(f"[[{name}]]", table) for table in tables]
        return "\n".join(blocks)

    def write(self, path: Path) -> Path:
        path.write_text(self.text())
        return path


def _table(header: str, table: Table) -> str:
    return "".join([f"{header}\n", *(f"{key} = {_value(item)}\n" for key, item in table.items())])


def _value(item: TomlValue) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return repr(item)
    if isinstance(item, str | Path):
        return json.dumps(str(item))  # a TOML basic string: JSON's escapes are TOML's
    return "[" + ", ".join(_value(element) for element in item) + "]"


@asynccontextmanager
async def process(
    *argv: str, ready: str, drain: bool = True
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start ``smsgw argv`` and wait until it prints a line containing ``ready``; what it
    prints after is read (and dropped) as it comes, so that a full pipe never stops it,
    unless the caller reads it (``drain=False``)."""
    child = await asyncio.create_subprocess_exec(
        str(SMSGW), *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout
    draining: asyncio.Task[None] | None = None
    try:
        while ready not in (line := (await asyncio.wait_for(output.readline(), WAIT)).decode()):
            assert line, "the process ended before it was ready"
        if drain:
            draining = asyncio.create_task(_drain(output))
        yield child
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
        if draining is not None:
            await draining


async def _drain(output: asyncio.StreamReader) -> None:
    while await output.read(65536):
        pass


# --- a gateway in another process, read through its API -------------------------------------


async def until(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = WAIT
) -> T:
    """What ``read()`` gives once ``done`` with it, read again and again, briefly apart: the
    gateway is another process and offers no notification of its commits (with a bound)."""
    async with asyncio.timeout(timeout):
        while not done(got := await read()):
            await asyncio.sleep(0.005)
    return got


async def fetch(http: aiohttp.ClientSession, sid: str) -> dict[str, Any]:
    """``GET …/Messages/{sid}.json`` of ACCOUNT (``http`` carries its credentials)."""
    async with http.get(f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages/{sid}.json") as reply:
        body: dict[str, Any] = await reply.json()
        assert reply.status == 200, body
        return body


async def listed(http: aiohttp.ClientSession, **filters: str) -> list[dict[str, Any]]:
    """Every message of ACCOUNT the list shows (``filters``: ``To``, ``From``...), every
    page, in list order (``http`` carries ACCOUNT's credentials)."""
    url, params = MESSAGES, {"PageSize": "1000", **filters}
    messages: list[dict[str, Any]] = []
    while True:
        async with http.get(url, params=params) as reply:
            page = await reply.json()
            assert reply.status == 200, page
        messages += page["messages"]
        if not page["next_page_uri"]:
            return messages
        url, params = page["next_page_uri"], {}


async def parts_sent(base_url: str, modem: str) -> int:
    """The parts ``modem``'s network accepted and the gateway committed, since it started
    (``smsgw_modem_parts_sent_total``)."""
    return int(value(await scrape(base_url), "smsgw_modem_parts_sent", modem=modem))

"""HTTP/1.1 spoken by hand over a real socket: what a hostile or broken client sends (a
malformed request, a head a byte at a time, nothing at all), and a client that allocates next
to nothing of its own, so that a memory measurement in the same process sees the server.

Only what the tests need: requests are bytes written as given; a response is read by its
``Content-Length`` (every answer of the gateway has one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from dataclasses import dataclass
from typing import Any, Final

WAIT: Final = 10.0  # seconds: the bound on any wait for the gateway to answer or close


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
    """A request as bytes; ``headers`` are ``"Name: value"`` lines (Host is always sent)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: gateway", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One TCP (or TLS) connection to the gateway."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int, tls: ssl.SSLContext | None = None) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, ssl=tls)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self) -> Reply:
        """The next response: status line, headers, and a body of ``Content-Length`` bytes."""
        async with asyncio.timeout(WAIT):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return Reply(int(status_line.split()[1]), headers, body)

    async def exchange(self, data: bytes) -> Reply:
        await self.send(data)
        return await self.reply()

    async def closed_by_server(self) -> bool:
        """Whether the server closes this connection (within :data:`WAIT`), reading and
        dropping whatever it sends first."""
        try:
            async with asyncio.timeout(WAIT):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        return True

    async def close(self) -> None:
        self.writer.close()
        # The server may have closed it first, or reset it: closed either way.
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()

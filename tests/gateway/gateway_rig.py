"""A real gateway in-process: SQLite in a temporary folder, simulated modems, a real port."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.config import Account, ApiKey, Config, ModemConfig
from gateway.domain.models import Message
from gateway.runtime import Gateway

ACCOUNT = Account(
    "AC" + "a1" * 16,
    "test-auth-token-alice",
    (ApiKey("SK" + "b2" * 16, "test-api-key-secret"),),
)
OTHER_ACCOUNT = Account("AC" + "c3" * 16, "test-auth-token-carol")
ALICE = "+15550001001"
BOB = "+15550002002"
CAROL = "+15550003003"


def basic_auth(account: Account = ACCOUNT) -> dict[str, str]:
    """The Authorization header a Twilio client sends for ``account``."""
    token = base64.b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def config(
    data_dir: Path,
    *modems: ModemConfig,
    accounts: tuple[Account, ...] = (),
    **changes: Any,
) -> Config:
    """The test configuration: three simulated modems (alice, bob and carol's, the last for
    the other account) unless ``modems`` are given; ``changes`` set other fields."""
    changes.setdefault("shutdown_grace", 1.0)  # a hung modem's part is not waited for long
    return Config(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        accounts=accounts or (ACCOUNT, OTHER_ACCOUNT),
        modems=modems
        or (
            ModemConfig("alice", "simulated", (ALICE,)),
            ModemConfig("bob", "simulated", (BOB,)),
            ModemConfig("carol", "simulated", (CAROL,), account=OTHER_ACCOUNT.sid),
        ),
        **changes,
    )


class Inbox:
    """Every inbound message the gateway commits, to await rather than poll."""

    def __init__(self, gateway: Gateway) -> None:
        self.messages: list[Message] = []
        self._arrived = asyncio.Condition()
        gateway.inbound.on_message(self._record)

    def _record(self, message: Message) -> None:
        self.messages.append(message)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list[Message]:
        """The first ``count`` messages, once they have come."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.messages) >= count), timeout
            )
        return self.messages[:count]


@contextlib.asynccontextmanager
async def running(
    configuration: Config,
    *,
    clock: Callable[[], datetime] | None = None,
    prepare: Callable[[Gateway], None] | None = None,
) -> AsyncIterator[Gateway]:
    """A started gateway whose modems are all ready; ``prepare`` sees it before it starts
    (e.g. to put messages on a simulated SIM)."""
    gateway = Gateway(configuration, clock=clock) if clock else Gateway(configuration)
    if prepare is not None:
        prepare(gateway)
    await gateway.start()
    try:
        for handle in gateway.modems.handles.values():
            await handle.ready()
        yield gateway
    finally:
        await gateway.stop()

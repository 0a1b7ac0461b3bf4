"""A real gateway in-process: SQLite in a temporary folder, simulated modems, a real port."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.config import Account, ApiKey, Config, ModemConfig
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


def config(data_dir: Path, *modems: ModemConfig, accounts: tuple[Account, ...] = ()) -> Config:
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
    )


@contextlib.asynccontextmanager
async def running(configuration: Config) -> AsyncIterator[Gateway]:
    gateway = Gateway(configuration)
    await gateway.start()
    try:
        for handle in gateway.modems.handles.values():
            await handle.ready()
        yield gateway
    finally:
        await gateway.stop()

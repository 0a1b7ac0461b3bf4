"""The Accounts role, on each engine (PostgreSQL's too): the accounts the gateway generated,
listed in the order they were added."""

from __future__ import annotations

from gateway.config import Account
from gateway.domain.models import new_sid
from gateway.store import Accounts
from tests.gateway.store_contract.conftest import POSTGRESQL_TOO

ENGINES = POSTGRESQL_TOO


async def test_accounts_are_listed_in_the_order_they_were_added(store: Accounts) -> None:
    assert await store.accounts() == []
    first, second = Account(new_sid("AC"), "first-token"), Account(new_sid("AC"), "2nd-token")
    await store.add_account(first)
    await store.add_account(second)
    assert await store.accounts() == [first, second]

"""A SIM's balance, asked by USSD every few hours (``[[modems]] balance_ussd``).

Each modem with a ``balance_ussd`` has a :class:`BalanceWatch`: once the modem is in service
it runs the code (a USSD session like any other: :mod:`gateway.modems.ussd`), reads the number
out of the answer with ``balance_pattern``'s one group, and keeps it with the time it was read.
``smsgw modems`` and the modem JSON show it, ``/metrics`` exports it
(``smsgw_modem_balance``). A check that fails (the modem away or busy, no answer, an answer
the pattern does not match) is logged and tried again after a short pause.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from drivers import USSD_TIMEOUT
from gateway.listeners import Listeners
from gateway.modems import ussd
from gateway.modems.exclusive import UssdBusy

if TYPE_CHECKING:
    from gateway.config import ModemConfig
    from gateway.modems.supervisor import ModemHandle

log = logging.getLogger(__name__)

RETRY: Final = 300.0  # seconds before a failed check is tried again (or the interval, if shorter)


@dataclass(frozen=True, slots=True)
class Balance:
    value: float
    at: datetime
    text: str  # the answer it was read from


def read_balance(text: str, pattern: re.Pattern[str]) -> float | None:
    """The number ``pattern``'s group finds in ``text`` (a decimal comma is read as a point,
    thousands separators are left out); ``None`` when it finds none."""
    match = pattern.search(text)
    if match is None or match.group(1) is None:
        return None
    number = match.group(1).replace(" ", "").replace("\u00a0", "")
    if "," in number and "." in number:
        number = number.replace(",", "")  # 1,234.56
    try:
        return float(number.replace(",", "."))
    except ValueError:
        return None


class BalanceWatch:
    def __init__(self, config: ModemConfig) -> None:
        assert config.balance_ussd is not None and config.balance_pattern is not None
        self.code = config.balance_ussd
        self.pattern = re.compile(config.balance_pattern)
        self.interval = config.balance_interval * 3600.0
        self.latest: Balance | None = None
        self.checked: Listeners[[Balance | None]] = Listeners(f"{config.id}'s balance")

    async def run(self, handle: ModemHandle) -> None:
        """Check now (once the modem is in service), then every interval."""
        while True:
            await handle.ready()
            balance = await self.check(handle)
            await asyncio.sleep(self.interval if balance is not None else min(RETRY, self.interval))

    async def check(self, handle: ModemHandle) -> Balance | None:
        """One check: the balance read, kept and announced; ``None`` (announced too) when it
        could not be read."""
        balance = None
        try:
            session = await ussd.run(handle, self.code, (), USSD_TIMEOUT)
        except (UssdBusy, ussd.UssdUnavailable) as exc:
            log.warning("%s: balance %s not asked: %s", handle.id, self.code, exc or "busy")
        else:
            text = session.answer.text or ""
            value = read_balance(text, self.pattern)
            if value is None:
                log.warning(
                    "%s: balance %s: %s, %r does not match balance_pattern",
                    handle.id,
                    self.code,
                    session.answer.state.value,
                    text,
                )
            else:
                balance = self.latest = Balance(value, datetime.now(UTC), text)
                log.info("%s: balance %g", handle.id, value)
        self.checked.announce(balance)
        return balance

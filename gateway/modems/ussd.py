"""A USSD session through one of the gateway's modems: a code, the replies to its menus, and
the network's answers (``POST /smsgw/modems/{id}/ussd.json``, ``smsgw ussd``, the balance).

One request is one whole session: the code, then each reply in turn while the network waits
for one (TS 27.007 §7.15 ``<m>`` 1). A menu still open when the replies run out is closed
(``AT+CUSD=2``), so that the modem is free for the next session and for sends: its answer is
returned, and a new request with more replies walks it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivers import (
    AtCommandError,
    AtReplyError,
    AtTimeout,
    Modem,
    ModemLost,
    UssdAnswer,
    UssdState,
)

if TYPE_CHECKING:
    from gateway.modems.supervisor import ModemHandle

log = logging.getLogger(__name__)


class UssdUnavailable(Exception):
    """The modem cannot take a USSD session now (not ready, or it refused or failed it)."""


@dataclass(frozen=True, slots=True)
class UssdStep:
    """One string sent, and the answer it got."""

    sent: str
    answer: UssdAnswer


@dataclass(frozen=True, slots=True)
class UssdSession:
    modem: str
    steps: tuple[UssdStep, ...]
    closed: bool  # a menu was left open by the network and closed by the gateway

    @property
    def answer(self) -> UssdAnswer:
        """The last answer: how the session ended."""
        return self.steps[-1].answer


async def run(
    handle: ModemHandle, code: str, replies: tuple[str, ...], timeout: float
) -> UssdSession:
    """``code``, then ``replies`` while the network asks for them, through ``handle``'s modem.

    Raises :class:`~gateway.modems.exclusive.UssdBusy` when a session runs on it already,
    :class:`UssdUnavailable` when it is not in service or fails the session, ``ValueError``
    for a string no USSD request can carry."""
    async with handle.exclusive.ussd():
        modem = handle.in_service()
        if modem is None:
            raise UssdUnavailable(f"{handle.id} is {handle.state.value}")
        steps: list[UssdStep] = []
        try:
            for text in (code, *replies):
                if steps and not steps[-1].answer.open:
                    break  # the network asks nothing more: the other replies go unsent
                steps.append(UssdStep(text, await modem.ussd(text, timeout)))
            closed = steps[-1].answer.open and await _close(handle, modem)
        except AtCommandError as exc:
            raise UssdUnavailable(f"{handle.id} refused the USSD request: {exc}") from exc
        except (AtTimeout, AtReplyError) as exc:
            handle.lost(f"USSD: {type(exc).__name__}: {exc}")
            raise UssdUnavailable(f"{handle.id} did not answer the USSD request") from exc
        except ModemLost as exc:
            raise UssdUnavailable(f"{handle.id} was lost during the USSD session") from exc
    if steps[-1].answer.state is UssdState.TIMED_OUT:
        log.info("%s: USSD %s: no answer from the network", handle.id, code)
    return UssdSession(handle.id, tuple(steps), closed)


async def _close(handle: ModemHandle, modem: Modem) -> bool:
    """``AT+CUSD=2`` for a menu left open; ``False`` if the modem refused it (some firmware
    does once the network ended the session itself): the answers stand all the same."""
    try:
        await modem.ussd_cancel()
    except AtCommandError as exc:
        log.warning("%s: the USSD menu left open was not closed: %s", handle.id, exc)
        return False
    return True

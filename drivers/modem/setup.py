"""The steps of a modem's initialisation that choose among what the modem offers.

Each step asks the modem through its :class:`~drivers.at.channel.AtChannel` and returns what it
chose; :meth:`GsmModem.initialize <drivers.modem.driver.GsmModem.initialize>` runs them in
order. A command the modem refuses, or does not answer, often only means the feature is
missing (:func:`attempt`); a step raises :class:`~drivers.errors.ModemSetupError` only when the
modem cannot be used without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from drivers.at import replies
from drivers.at.channel import AtChannel
from drivers.at.parse import Response
from drivers.at.replies import Registration
from drivers.codec.pdu.fields import toa_of
from drivers.errors import (
    AtCommandError,
    AtReplyError,
    AtTimeout,
    CmeError,
    CmsError,
    ModemSetupError,
    PinRejected,
)
from drivers.modem import network
from drivers.modem.info import ModemSettings
from drivers.modem.network import SimState
from drivers.modem.quirks import VendorProfile
from drivers.modem.storage import Storages

log = logging.getLogger(__name__)

# TS 27.007 §9.2.1 / TS 27.005 §3.2.5: the SIM is busy (right after boot): ask again.
_CME_SIM_BUSY: Final = 14
_CME_SIM_NOT_INSERTED: Final = 10
_CMS_SIM_BUSY: Final = 314
# Preferred storage for new messages: the modem's own memory is larger and survives SIM swaps.
_STORAGE_PREFERENCE: Final = ("ME", "MT", "SM")
# (mode, mt, bm, ds, bfr) in order of preference, TS 27.005 §3.4.1. Store and notify (+CMTI,
# +CDSI) survives a host restart; routed reports (+CDS) next; routed messages (+CMT) last,
# because they are lost if the host is not listening. ModemManager's order for modems that
# refuse ds=1 although AT+CNMI=? lists it is the same minus the ds=1 entries.
CNMI_CANDIDATES: Final[tuple[tuple[int, int, int, int, int], ...]] = (
    (2, 1, 0, 2, 0),
    (2, 1, 0, 1, 0),
    (2, 1, 0, 0, 0),
    (1, 1, 0, 2, 0),
    (1, 1, 0, 1, 0),
    (1, 1, 0, 0, 0),
    (2, 2, 0, 2, 0),
    (2, 2, 0, 1, 0),
    (2, 2, 0, 0, 0),
)
# Where the profile routes reports (VendorProfile.routes_reports) and AT+CSMS=1 is taken: +CDS
# for reports, each acknowledged after our commit (no AT+CMGR/AT+CMGD per part); messages
# still stored and announced (+CMTI), as above.
ROUTED_REPORTS: Final[tuple[tuple[int, int, int, int, int], ...]] = (
    (2, 1, 0, 1, 0),
    (1, 1, 0, 1, 0),
)


async def attempt(
    channel: AtChannel, command: str, timeout: float | None = None
) -> Response | None:
    """Run a command whose failure only means the feature is missing."""
    try:
        return await channel.command(command, timeout)
    except (AtCommandError, AtTimeout) as exc:
        log.info("%s: %s not available: %s", channel.name, command, exc)
        return None


async def read_text(channel: AtChannel, command: str, prefix: str) -> str:
    reply = await attempt(channel, command)
    return replies.parse_text(reply.lines, prefix) if reply else ""


async def _cpin(channel: AtChannel, settings: ModemSettings, profile: VendorProfile) -> str:
    timeout = settings.cpin_quirk_timeout if profile.cpin_without_ok else None
    try:
        return replies.parse_cpin((await channel.command("AT+CPIN?", timeout)).lines)
    except AtTimeout as exc:
        # Old Wavecom firmware sends +CPIN: READY and never OK (python-gsmmodem).
        if any(line.upper().startswith("+CPIN:") for line in exc.lines):
            return replies.parse_cpin(exc.lines)
        raise


async def unlock_sim(
    channel: AtChannel,
    settings: ModemSettings,
    profile: VendorProfile,
    report: Callable[[SimState], None],
) -> SimState:
    """Enter the configured PIN if the SIM asks for one; the SIM's state once it is ready.
    ``report`` hears each state the SIM is found in, a locked or missing one too: a
    :class:`~drivers.errors.ModemSetupError` follows, naming it and the tries left."""
    name = channel.name
    pin_sent = False
    for _ in range(settings.sim_busy_retries):
        try:
            code = await _cpin(channel, settings, profile)
        except (CmeError, CmsError) as exc:
            if exc.code in (_CME_SIM_BUSY, _CMS_SIM_BUSY):
                await asyncio.sleep(settings.sim_busy_delay)
                continue
            if exc.code == _CME_SIM_NOT_INSERTED:
                report(SimState(network.MISSING))
                raise ModemSetupError(f"{name}: no SIM card inserted") from exc
            raise ModemSetupError(f"{name}: the SIM is not usable: {exc}") from exc
        # The tries left are read at each state: a wrong PIN just used one.
        sim = await network.sim_state(channel, network.state_name(code), profile.pin_counter)
        report(sim)
        if code == "READY":
            return sim
        if code == "SIM PIN" and not pin_sent:
            if not settings.pin:
                raise ModemSetupError(
                    f"{name}: the SIM needs a PIN (set pin in the config): {sim.describe()}"
                )
            if settings.pin_rejected:
                raise PinRejected(
                    f"{name}: the SIM refused the configured PIN before; it is not sent again "
                    f"until the pin in the config changes: {sim.describe()}"
                )
            if sim.pin_attempts == 1:
                # The last try: a wrong PIN would lock the SIM until its PUK is entered.
                raise ModemSetupError(
                    f"{name}: the SIM has one PIN attempt left; enter the PIN in a phone "
                    f"to be sure of it: {sim.describe()}"
                )
            pin_sent = True  # never again: three wrong PINs lock the SIM
            try:
                await channel.command(f'AT+CPIN="{settings.pin}"')
            except (CmeError, CmsError) as exc:
                after = await network.sim_state(channel, sim.state, profile.pin_counter)
                report(after)
                raise PinRejected(
                    f"{name}: the SIM did not accept the configured PIN ({exc}): {after.describe()}"
                ) from exc
            continue
        if code == "SIM PIN":
            raise PinRejected(
                f"{name}: the SIM did not accept the configured PIN: {sim.describe()}"
            )
        raise ModemSetupError(
            f"{name}: the SIM wants {code}; unlock it in a phone: {sim.describe()}"
        )
    raise ModemSetupError(f"{name}: the SIM stayed busy")


async def message_service(channel: AtChannel) -> bool | None:
    """Whether each ``+CMT``/``+CDS`` needs ``AT+CNMA`` (``AT+CSMS=1`` in effect); ``None``
    when phase 2 was set or the modem does not say."""
    # Phase 2 (AT+CSMS=0): the modem acknowledges +CMT/+CDS itself (TS 27.005 §3.2.1).
    if await attempt(channel, "AT+CSMS=0") is not None:
        return None
    reply = await attempt(channel, "AT+CSMS?")
    if reply is not None:
        with contextlib.suppress(AtReplyError):
            service = replies.fields(replies.parse_text(reply.lines, "+CSMS:"))[0]
            return service == "1"
    return None


async def choose_storage(
    channel: AtChannel, storages: Storages, wanted: str | None
) -> tuple[str, str | None, tuple[str, ...]]:
    """(the storage for new messages, the one for status reports, every one to list)."""
    reply = await attempt(channel, "AT+CPMS=?")
    empty: frozenset[str] = frozenset()
    mem1, _, mem3 = replies.parse_cpms_test(reply.lines) if reply else (empty,) * 3
    offered = set(mem3) or set(mem1)
    storage = wanted if wanted and (not offered or wanted in offered) else None
    if storage is None:
        storage = next((s for s in _STORAGE_PREFERENCE if s in offered), "SM")
    quoted = f'"{storage}"'
    async with storages.selecting(storage):
        if await attempt(channel, f"AT+CPMS={quoted},{quoted},{quoted}") is None:
            await channel.command(f"AT+CPMS={quoted}")
    # MT is ME and SM together: listing it as well would only read them twice. BM holds
    # cell broadcasts, not SMS.
    readable = {m for m in mem1 if m != "BM" and not (m == "MT" and {"ME", "SM"} <= mem1)}
    listed = tuple(sorted(readable | {storage}))
    return storage, "SR" if "SR" in mem1 else None, listed


@dataclass(frozen=True, slots=True)
class Notifications:
    """What :func:`choose_notifications` set: the ``AT+CNMI`` tuple, and whether each
    ``+CMT``/``+CDS`` needs ``AT+CNMA`` (``AT+CSMS=1`` in effect; ``None``: phase 2 was set,
    or the modem does not say)."""

    cnmi: tuple[int, int, int, int, int]
    acknowledge: bool | None

    @property
    def routes_reports(self) -> bool:
        """Status reports come as ``+CDS``, each acknowledged after its commit."""
        return self.cnmi[3] == 1 and self.acknowledge is True


async def choose_notifications(channel: AtChannel, profile: VendorProfile) -> Notifications:
    """The message service (``AT+CSMS``) and the notifications (``AT+CNMI``), chosen together:
    routed status reports only where each waits for our ``AT+CNMA`` (:func:`routed_reports`),
    else today's stored ones (:data:`CNMI_CANDIDATES` after :func:`message_service`)."""
    reply = await attempt(channel, "AT+CNMI=?")
    allowed: tuple[frozenset[int], ...] = ()
    if reply is not None:
        with contextlib.suppress(AtReplyError):
            allowed = replies.parse_cnmi_test(reply.lines)
    if profile.routes_reports:
        routed = await routed_reports(channel, allowed)
        if routed is not None:
            log.info(
                "%s: status reports routed (+CDS), each acknowledged (AT+CNMA) once committed",
                channel.name,
            )
            return Notifications(routed, True)
    acknowledge = await message_service(channel)
    for candidate in CNMI_CANDIDATES:
        if profile.refuses_ds1 and candidate[3] == 1:
            continue
        if await _set_cnmi(channel, candidate, allowed):
            chosen = Notifications(candidate, acknowledge)
            log.info(
                "%s: status reports %s",
                channel.name,
                "routed (+CDS)" if candidate[3] == 1 else "stored (+CDSI)",
            )
            return chosen
    raise ModemSetupError(f"{channel.name}: the modem accepts no new-message notification")


async def routed_reports(
    channel: AtChannel, allowed: tuple[frozenset[int], ...]
) -> tuple[int, int, int, int, int] | None:
    """``AT+CSMS=1`` and a :data:`ROUTED_REPORTS` tuple; ``None`` when the modem offers or
    takes neither (the caller then sets the message service again)."""
    candidates = [c for c in ROUTED_REPORTS if _offered(c, allowed)]
    if not candidates:
        return None
    # TS 27.005 §3.2.1: <service> 1 (phase 2+) makes every +CMT/+CDS wait for AT+CNMA
    # (§3.4.4). With phase 2 the modem would acknowledge a +CDS itself, and a crash before our
    # commit would lose it: routed reports are never taken without it when stored ones exist.
    reply = await attempt(channel, "AT+CSMS=1")
    if reply is None:
        return None
    with contextlib.suppress(AtReplyError):
        if replies.parse_csms(reply.lines)[0] != 1:
            return None  # +CSMS: <mt> 0: the service is not supported after all
    for candidate in candidates:
        if await _set_cnmi(channel, candidate, allowed):
            return candidate
    return None


def _offered(
    candidate: tuple[int, int, int, int, int], allowed: tuple[frozenset[int], ...]
) -> bool:
    return not allowed or all(
        value in values for value, values in zip(candidate, allowed, strict=False)
    )


async def _set_cnmi(
    channel: AtChannel,
    candidate: tuple[int, int, int, int, int],
    allowed: tuple[frozenset[int], ...],
) -> bool:
    if not _offered(candidate, allowed):
        return False
    return await attempt(channel, cnmi_command(candidate)) is not None


def cnmi_command(cnmi: tuple[int, int, int, int, int]) -> str:
    return "AT+CNMI=" + ",".join(map(str, cnmi))


async def service_centre(channel: AtChannel, wanted: str | None) -> str | None:
    """The SMSC the modem sends through: ``wanted`` set with ``AT+CSCA`` where the SIM's
    differs (TS 27.005 §3.3.1; <tosca> 145 international, 129 otherwise); the SIM's own
    when ``wanted`` is ``None`` or the modem refuses it."""
    reply = await attempt(channel, "AT+CSCA?")
    found = replies.parse_csca(reply.lines) if reply else None
    current = found[0] if found else None
    if wanted is None or wanted == current:
        return current
    if await attempt(channel, f'AT+CSCA="{wanted}",{toa_of(wanted)}') is None:
        log.warning("%s: the modem refused the SMSC %s; it keeps %s", channel.name, wanted, current)
        return current
    return wanted


async def enable_registration_reports(channel: AtChannel) -> Registration | None:
    found: Registration | None = None
    for command in ("+CREG", "+CEREG"):
        # n=2 adds the location area and cell (TS 27.007 §7.2); n=1 where it is refused.
        if await attempt(channel, f"AT{command}=2") is None:
            await attempt(channel, f"AT{command}=1")
        reply = await attempt(channel, f"AT{command}?")
        if reply is None:
            continue
        with contextlib.suppress(AtReplyError):
            registration = replies.parse_registration(reply.lines, f"{command}:")
            if found is None or (registration.registered and not found.registered):
                found = registration
    return found


async def call_reports(channel: AtChannel) -> bool:
    """Ask for the caller's number after each ``RING`` (``AT+CLIP=1``, TS 27.007 §7.6) and for
    the call's type in it (``+CRING: VOICE``, ``AT+CRC=1``, §6.11: a fax or data call is told
    apart); whether caller ID is on. A modem without them still rings: the call is hung up all
    the same, its caller unknown."""
    await attempt(channel, "AT+CRC=1")
    return await attempt(channel, "AT+CLIP=1") is not None

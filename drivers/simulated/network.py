"""A simulated GSM network joining simulated modems, with virtual handsets that follow rules.

A SUBMIT from one simulated modem to a number another one owns arrives there as SMS-DELIVER
PDUs with the sender's user data (and so its concatenation header) intact; a status report
goes back for each part whose SUBMIT asked for one. A number no simulated modem owns is a
virtual handset whose fate follows the rule set for it: delivered after a delay, undelivered
with a chosen TP-ST, switched off (a "still trying" report, then delivered once switched on),
or refused at submission with a ``+CMS ERROR``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Final

from drivers.codec.pdu import Submit, decode, plan_text, plan_ucs2
from drivers.codec.pdu.encode import part_user_data
from drivers.codec.pdu.fields import encode_dcs
from drivers.errors import PduError
from drivers.simulated.pdus import deliver_for_submit, deliver_pdu, status_report_pdu
from drivers.simulated.state import SubmitRejected

if TYPE_CHECKING:
    from drivers.simulated.modem import SimulatedModem

log = logging.getLogger(__name__)

DEFAULT_SMSC: Final = "+15550000000"
_DELIVERED: Final = 0x00
_STILL_TRYING: Final = 0x30  # TS 23.040 §9.2.3.15: temporary error, SC still trying (SC specific)
# Seconds from a part's acceptance (+CMGS) to its status report. A network takes seconds, never
# the millisecond a report scheduled at once takes: the SC pages the handset, waits for its
# acknowledgement, then reports (TS 23.040 §3.2.9; the Multi-Tech C1 reference's +CDS example
# has the discharge 1 s after the SC timestamp, and the report travels back after that).
# python-gsmmodem waits up to 15 s for one (GsmModem.sendSms deliveryTimeout): 3 s is a handset
# in coverage. Each modem has its own (SimulatedModem.report_delay), 0 for tests that await it.
DEFAULT_REPORT_DELAY: Final = 3.0
# Seconds the network waits for the RP-ACK of a routed +CMT/+CDS, which the ME sends once the
# host's AT+CNMA comes (AT+CSMS=1): TS 24.011 §10 TR2M, 12 to 20 s; then the ME turns routing
# off (TS 27.005 §3.4.1) and the network delivers again later. `smsgw simulate` uses it, as a
# host killed between a +CDS and its AT+CNMA would otherwise stop every later one; tests
# drive it with SimulatedModem.miss_ack().
DEFAULT_ACK_TIMEOUT: Final = 15.0


class Fate(Enum):
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    PHONE_OFF = "phone_off"
    REJECTED = "rejected"  # +CMS ERROR at submission
    NO_REPORT = "no_report"  # accepted, and no status report ever comes


@dataclass(frozen=True, slots=True)
class HandsetRule:
    """What happens to messages for a virtual handset.

    ``status`` is the TP-ST of the final report for ``UNDELIVERED``; ``cms_error`` the code of
    the ``+CMS ERROR`` for ``REJECTED``; ``delay`` the seconds before the report (``None``: the
    sending modem's :attr:`~drivers.simulated.modem.SimulatedModem.report_delay`).
    """

    fate: Fate = Fate.DELIVERED
    status: int = 0x41
    cms_error: int = 21
    delay: float | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """One SUBMIT the network accepted (what tests and the control interface look at)."""

    sender: str
    destination: str
    reference: int
    submit: Submit
    at: datetime


@dataclass(frozen=True, slots=True)
class HandsetMessage:
    """A part that reached a virtual handset."""

    sender: str
    destination: str
    submit: Submit
    at: datetime


@dataclass
class _Held:
    """A part waiting for a switched-off handset."""

    submission: Submission
    recipient: bytes


@dataclass
class SimulatedNetwork:
    smsc: str = DEFAULT_SMSC
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    default_rule: HandsetRule = field(default_factory=HandsetRule)
    submissions: list[Submission] = field(default_factory=list)
    handset_inbox: dict[str, list[HandsetMessage]] = field(default_factory=dict)
    # How many submissions and handset messages to remember (None: all). A gateway running
    # the simulator for weeks (``make run``) must not keep every message it ever sent.
    history: int | None = None
    submitted: int = 0  # every submission accepted, remembered or not
    _modems: dict[str, SimulatedModem] = field(default_factory=dict)
    _rules: dict[str, HandsetRule] = field(default_factory=dict)
    _held: dict[str, list[_Held]] = field(default_factory=dict)
    _listeners: list[Callable[[Submission], None]] = field(default_factory=list)
    _references: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- topology and rules ------------------------------------------------------------------

    def attach(self, modem: SimulatedModem, number: str) -> None:
        self._modems[_key(number)] = modem
        modem.network = self
        if number not in modem.numbers:
            modem.numbers.append(number)

    def detach(self, number: str) -> None:
        self._modems.pop(_key(number), None)

    def modem_for(self, number: str) -> SimulatedModem | None:
        return self._modems.get(_key(number))

    def set_rule(self, number: str, rule: HandsetRule) -> None:
        """Rule for one virtual handset; ``"*"`` sets the default for all of them."""
        if number == "*":
            self.default_rule = rule
        else:
            self._rules[_key(number)] = rule

    def rule_for(self, number: str) -> HandsetRule:
        return self._rules.get(_key(number), self.default_rule)

    def on_submission(self, listener: Callable[[Submission], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def next_concat_reference(self) -> int:
        return next(self._references) % 256

    # --- traffic -----------------------------------------------------------------------------

    def submit(self, sender: SimulatedModem, tpdu: bytes, reference: int) -> Submission:
        """Accept a SUBMIT from ``sender`` (TPDU octets, SCA removed) under TP-MR ``reference``.

        Raises :class:`SubmitRejected` when the destination's rule refuses it.
        """
        try:
            message = decode(tpdu, len(tpdu))
        except PduError:
            raise SubmitRejected(304) from None  # the modem checked it; keep the network honest
        if not isinstance(message, Submit):
            raise SubmitRejected(304)
        destination = message.destination.number
        recipient_modem = self.modem_for(destination)
        rule = self.rule_for(destination)
        if recipient_modem is None and rule.fate is Fate.REJECTED:
            raise SubmitRejected(rule.cms_error)
        now = self.clock()
        origin = sender.numbers[0] if sender.numbers else "+10000000000"
        submission = Submission(origin, destination, reference, message, now)
        self.submissions.append(submission)
        self.submitted += 1
        if self.history is not None and len(self.submissions) > 2 * self.history:
            del self.submissions[: -self.history]  # now and then, not at every append
        for listener in list(self._listeners):
            listener(submission)
        recipient = _recipient_field(tpdu, message)
        if recipient_modem is not None:
            pdu, length = deliver_for_submit(self.smsc, origin, now, message, tpdu)
            recipient_modem.receive(pdu, length)
            self._report_later(sender, submission, recipient, _DELIVERED)
        else:
            self._to_handset(sender, submission, recipient, rule)
        return submission

    def _to_handset(
        self, sender: SimulatedModem, submission: Submission, recipient: bytes, rule: HandsetRule
    ) -> None:
        destination = submission.destination
        if rule.fate is Fate.PHONE_OFF:
            self._report_later(sender, submission, recipient, _STILL_TRYING, rule.delay)
            self._held.setdefault(_key(destination), []).append(_Held(submission, recipient))
            return
        if rule.fate is not Fate.UNDELIVERED:
            self._inbox(submission)
        if rule.fate is Fate.DELIVERED:
            self._report_later(sender, submission, recipient, _DELIVERED, rule.delay)
        elif rule.fate is Fate.UNDELIVERED:
            self._report_later(sender, submission, recipient, rule.status, rule.delay)

    def switch_on(self, number: str) -> None:
        """A switched-off handset comes back: held parts are delivered and reported."""
        for held in self._held.pop(_key(number), []):
            self._inbox(held.submission)
            sender = self.modem_for(held.submission.sender)
            if sender is not None:
                self._report_later(sender, held.submission, held.recipient, _DELIVERED)

    def _inbox(self, submission: Submission) -> None:
        message = HandsetMessage(
            submission.sender, submission.destination, submission.submit, self.clock()
        )
        inbox = self.handset_inbox.setdefault(_key(submission.destination), [])
        inbox.append(message)
        if self.history is not None:
            if len(inbox) > 2 * self.history:
                del inbox[: -self.history]
            while len(self.handset_inbox) > self.history:  # the handsets heard from longest ago
                del self.handset_inbox[next(iter(self.handset_inbox))]

    def _report_later(
        self,
        sender: SimulatedModem,
        submission: Submission,
        recipient: bytes,
        status: int,
        delay: float | None = None,
    ) -> None:
        if not submission.submit.status_report_request:
            return
        if delay is None:
            delay = sender.report_delay

        def report() -> None:
            pdu, length = status_report_pdu(
                self.smsc,
                reference=submission.reference,
                recipient=recipient,
                scts=submission.at,
                discharge=self.clock(),
                status=status,
            )
            sender.receive_report(pdu, length)

        loop = asyncio.get_running_loop()
        if delay > 0:
            loop.call_later(delay, report)
        else:
            loop.call_soon(report)

    # --- messages from outside ---------------------------------------------------------------

    def inbound_pdus(
        self,
        sender: str,
        text: str,
        *,
        ref16: bool = False,
        reference: int | None = None,
        ucs2: bool = False,
    ) -> list[tuple[str, int]]:
        """The DELIVER PDUs (hex, TPDU length) a handset ``sender`` sending ``text`` produces."""
        plan = plan_ucs2(text, ref16) if ucs2 else plan_text(text, ref16=ref16)
        if reference is None:
            reference = self.next_concat_reference()
        dcs = encode_dcs(plan.alphabet)
        now = self.clock()
        pdus = []
        for sequence in range(1, plan.num_segments + 1):
            udhi, udl, ud = part_user_data(plan, reference, sequence)
            pdus.append(
                deliver_pdu(
                    self.smsc, sender, now, dcs=dcs, user_data_length=udl, user_data=ud, udhi=udhi
                )
            )
        return pdus

    def inject(
        self,
        to: str,
        sender: str,
        text: str,
        *,
        order: Sequence[int] | None = None,
        ref16: bool = False,
        reference: int | None = None,
        ucs2: bool = False,
    ) -> list[tuple[str, int]]:
        """A handset ``sender`` texts the simulated modem that owns ``to``.

        ``order`` lists the 1-based parts to deliver, in delivery order: ``[2, 1]`` reverses a
        two-part message, ``[1, 1, 2]`` duplicates a part, ``[1]`` never sends the second.
        """
        modem = self.modem_for(to)
        if modem is None:
            raise KeyError(f"no simulated modem owns {to}")
        pdus = self.inbound_pdus(sender, text, ref16=ref16, reference=reference, ucs2=ucs2)
        for sequence in order or range(1, len(pdus) + 1):
            pdu, length = pdus[sequence - 1]
            modem.receive(pdu, length)
        return pdus


def _key(number: str) -> str:
    """Numbers compare on their digits: ``+15551234567`` and ``15551234567`` are one."""
    return number.lstrip("+")


def _recipient_field(tpdu: bytes, message: Submit) -> bytes:
    # TP-DA as sent (its octets follow TP-MR), reused as the report's TP-RA.
    digits = tpdu[2]
    return bytes(tpdu[2 : 4 + (digits + 1) // 2])

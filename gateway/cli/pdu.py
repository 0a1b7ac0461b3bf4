"""``smsgw pdu``: decode a PDU, encode a message into PDUs, or size a message before sending."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any, Final

from drivers.codec import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    Alphabet,
    Concatenation,
    Deliver,
    MessagePlan,
    NationalLanguageShift,
    Pdu,
    PduError,
    PortAddressing,
    StatusReport,
    Submit,
    SubmitOptions,
    UnknownElement,
    decode,
    encode_submit,
    plan_text,
)
from gateway.cli.common import EXIT_USAGE, Parser, UsageError, to_jsonable
from gateway.domain.delivery import error_code, message_status
from gateway.domain.sizing import UNIT_NAMES, plan_summary

# Twilio's limit on a message body (Message resource, Body parameter), counted in characters.
MAX_BODY_CHARS: Final = 1600

LANGUAGES: Final = {
    name: language for language, name in LANGUAGE_NAMES.items() if language != DEFAULT_LANGUAGE
}

_TAGS: Final[dict[type, str]] = {
    Deliver: "SMS-DELIVER",
    Submit: "SMS-SUBMIT",
    StatusReport: "SMS-STATUS-REPORT",
    Concatenation: "concatenation",
    PortAddressing: "port_addressing",
    NationalLanguageShift: "national_language_shift",
    UnknownElement: "unknown",
}


def register(commands: Any) -> None:
    group: Parser = commands.add_parser(
        "pdu",
        help="decode, encode and size SMS PDUs",
        description="Decode a PDU, encode a message into PDUs, or see how a message is sent.",
    )
    group.set_defaults(handler=lambda _args: _print_help(group), prog=group.prog)
    actions = group.add_subparsers(metavar="ACTION", parser_class=Parser)

    dec = actions.add_parser("decode", help="print a PDU as JSON", description=_decode.__doc__)
    dec.add_argument("hex", metavar="HEX", help="the PDU in hexadecimal, as the modem gives it")
    dec.add_argument(
        "--length",
        type=int,
        metavar="N",
        help="the <length> the modem reported (TPDU octets, SMSC address excluded)",
    )
    dec.set_defaults(handler=_decode, prog=dec.prog)

    enc = actions.add_parser("encode", help="print the SMS-SUBMIT PDUs of a message")
    enc.description = _encode.__doc__
    enc.add_argument("--to", required=True, metavar="NUMBER", help="destination number")
    _add_body_options(enc)
    enc.add_argument("--status-report", action="store_true", help="request a status report")
    enc.add_argument("--validity", type=int, metavar="SECONDS", help="relative validity period")
    enc.add_argument("--reference", type=int, metavar="N", help="concatenation reference")
    enc.add_argument("--smsc", metavar="NUMBER", help="SMSC address (default: the SIM's)")
    enc.add_argument("--flash", action="store_true", help="class 0: shown, not stored")
    enc.set_defaults(handler=_encode, prog=enc.prog)

    info = actions.add_parser("info", help="show the encoding and segments of a message")
    info.description = _info.__doc__
    _add_body_options(info)
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_info, prog=info.prog)


def _add_body_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--body", required=True, metavar="TEXT", help="the message text")
    parser.add_argument(
        "--smart-encoded", action="store_true", help="replace Unicode look-alikes (Twilio's)"
    )
    parser.add_argument(
        "--national",
        action="append",
        default=[],
        choices=sorted(LANGUAGES),
        metavar="LANG",
        help="allow a national language shift table: " + ", ".join(sorted(LANGUAGES)),
    )
    parser.add_argument("--ref16", action="store_true", help="16-bit concatenation references")


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _print_json(data: object) -> None:
    # A part may end in half a surrogate pair; write it as the JSON escape it is.
    text = json.dumps(data, ensure_ascii=False, indent=2)
    print(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def _plan(args: argparse.Namespace) -> MessagePlan:
    body: str = args.body
    if len(body) > MAX_BODY_CHARS:
        raise UsageError(f"the body is {len(body)} characters; the limit is {MAX_BODY_CHARS}")
    languages = [LANGUAGES[name] for name in args.national]
    try:
        return plan_text(
            body, smart_encoded=args.smart_encoded, languages=languages, ref16=args.ref16
        )
    except PduError as exc:
        raise UsageError(str(exc)) from None


def _decode(args: argparse.Namespace) -> int:
    """Decode an SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT PDU and print it as JSON."""
    if args.length is not None and args.length < 0:
        raise UsageError(f"--length must not be negative, not {args.length}")
    try:
        decoded = decode(args.hex, args.length)
    except PduError as exc:
        raise UsageError(f"cannot decode the PDU: {exc}") from None
    _print_json(_with_twilio_meaning(decoded, to_jsonable(decoded, _TAGS)))
    return 0


def _with_twilio_meaning(decoded: Pdu, data: dict[str, Any]) -> dict[str, Any]:
    """A status report's JSON with, after its ``delivery``, what it means to a Twilio client:
    the message status and error code one part's report gives (:mod:`gateway.domain.delivery`)."""
    if not isinstance(decoded, StatusReport):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = value
        if key == "delivery":
            out["twilio_status"] = str(message_status(decoded.delivery))
            out["error_code"] = error_code(decoded.status, decoded.delivery)
    return out


def _encode(args: argparse.Namespace) -> int:
    """Print one line per part: the length for AT+CMGS=<n>, a space, and the PDU in hex."""
    plan = _plan(args)
    limit = 0x10000 if args.ref16 else 0x100
    reference = secrets.randbelow(limit) if args.reference is None else args.reference
    options = SubmitOptions(
        status_report=args.status_report,
        validity=args.validity,
        message_class=0 if args.flash else None,
        sca=args.smsc,
    )
    try:
        parts = encode_submit(args.to, plan, options, reference)
    except PduError as exc:
        raise UsageError(str(exc)) from None
    for part in parts:
        print(part.tpdu_length, part.pdu)
    return 0


def _info(args: argparse.Namespace) -> int:
    """Show how a message would be sent: alphabet, number of segments, and room left."""
    plan = _plan(args)
    unit = UNIT_NAMES[plan.alphabet]
    last = plan.segments[-1]
    if args.json:
        _print_json(plan_summary(plan, args.body))
        return 0
    print(f"encoding: {plan.alphabet.value}")
    if plan.locking_shift or plan.single_shift:
        tables = [
            f"{LANGUAGE_NAMES[language]} {kind} shift"
            for language, kind in ((plan.locking_shift, "locking"), (plan.single_shift, "single"))
            if language
        ]
        print(f"national language tables: {', '.join(tables)}")
    if plan.text != args.body:
        print(f"smart encoding: sent as {plan.text!r}")
    print(f"segments: {plan.num_segments}")
    costly = " (€, [, ], {, }, ~, ^, \\ and | count 2)" if plan.alphabet is Alphabet.GSM7 else ""
    if plan.alphabet is Alphabet.UCS2:
        costly = " (emoji and other characters outside the BMP count 2)"
    print(f"characters left: {last.left}{costly}")
    for number, segment in enumerate(plan.segments, 1):
        print(f"segment {number}: {segment.units}/{segment.capacity} {unit}")
    return 0

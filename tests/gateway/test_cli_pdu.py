"""``smsgw pdu``: decode, encode and info, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.codec.pdu import Submit, decode
from gateway.cli import main

SMSGW = Path(sys.executable).parent / "smsgw"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_decode_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, "pdu", "decode", "07917248014000F506B70AA18092020000317071518590803170715185418000"
    )
    assert (status, err) == (0, "")
    report = json.loads(out)
    assert report["type"] == "SMS-STATUS-REPORT"
    assert report["message_reference"] == 183
    assert report["recipient"]["number"] == "0829200000"
    assert report["discharge"]["value"] == "2013-07-17T15:58:14+02:00"
    assert (report["twilio_status"], report["status_class"]) == (
        "delivered",
        "transaction completed",
    )


def test_decode_shows_header_elements(capsys: pytest.CaptureFixture[str]) -> None:
    pdu = "0791361907002004440C9136093631073200F58050826182902311060504D903FDE80000000B3C746578743E"
    status, out, _ = run(capsys, "pdu", "decode", pdu)
    assert status == 0
    header = json.loads(out)["user_data"]["header"]
    assert header["elements"] == [
        {"type": "port_addressing", "destination": 55555, "source": 65000, "ports16": True}
    ]


def test_decode_with_length_reads_a_tpdu_without_sca(capsys: pytest.CaptureFixture[str]) -> None:
    tpdu = "06130C91527420121670110172111332E11101721113322100"
    status, out, _ = run(capsys, "pdu", "decode", tpdu, "--length", str(len(tpdu) // 2))
    assert status == 0
    assert json.loads(out)["sca"] is None


def test_decode_escapes_half_a_surrogate_pair(capsys: pytest.CaptureFixture[str]) -> None:
    tpdu = "04" + "0B918100551512F2" + "00" + "08" + "11101021436500" + "04" + "0061D83D"
    status, out, _ = run(capsys, "pdu", "decode", tpdu, "--length", str(len(tpdu) // 2))
    assert status == 0
    assert '"text": "a\\ud83d"' in out
    assert json.loads(out)["user_data"]["text"] == "a\ud83d"


def test_encode_prints_length_and_pdu_per_part(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        *("pdu", "encode", "--to", "+15555551234", "--body", "x" * 200),
        *("--status-report", "--validity", "3600", "--reference", "42"),
    )
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 2
    for number, line in enumerate(lines, 1):
        length, pdu = line.split(" ")
        message = decode(pdu, int(length))
        assert isinstance(message, Submit)
        assert message.status_report_request
        assert message.validity is not None and message.validity.seconds == 3600
        assert message.concatenation is not None
        assert (message.concatenation.reference, message.concatenation.sequence) == (42, number)


def test_encode_options(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        *("pdu", "encode", "--to", "+905551234567", "--body", "ığşĞİŞ" * 30),
        *("--national", "turkish", "--ref16", "--smsc", "+905320000000", "--flash"),
    )
    assert status == 0
    first_length, first_pdu = out.splitlines()[0].split(" ")
    message = decode(first_pdu, int(first_length))
    assert isinstance(message, Submit)
    assert message.sca is not None and message.sca.number == "+905320000000"
    assert message.dcs.message_class == 0
    assert message.concatenation is not None and message.concatenation.ref16


def test_info_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "pdu", "info", "--body", "a" * 152 + "€" + "b" * 10)
    assert status == 0
    assert out.splitlines() == [
        "encoding: GSM-7",
        "segments: 2",
        "characters left: 141 (€, [, ], {, }, ~, ^, \\ and | count 2)",
        "segment 1: 152/153 septets",
        "segment 2: 12/153 septets",
    ]


def test_info_json_agrees_with_encode(capsys: pytest.CaptureFixture[str]) -> None:
    body = "Hello 😀 " * 20
    _, out, _ = run(capsys, "pdu", "info", "--body", body, "--json")
    info = json.loads(out)
    _, encoded, _ = run(capsys, "pdu", "encode", "--to", "+1555", "--body", body)
    assert info["encoding"] == "UCS-2"
    assert info["segments"] == len(encoded.splitlines()) == 3
    assert info["characters_left"] == info["parts"][-1]["left"]


def test_info_smart_encoded(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "pdu", "info", "--body", "“Hi” — ok…", "--smart-encoded")
    assert status == 0
    assert "smart encoding: sent as '\"Hi\" - ok...'" in out.splitlines()
    assert "encoding: GSM-7" in out.splitlines()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["pdu", "decode", "zz"],
            "smsgw pdu decode: cannot decode the PDU: PDU: not a hexadecimal string",
        ),
        (
            ["pdu", "decode", "123"],
            "smsgw pdu decode: cannot decode the PDU: PDU: odd number of hex digits (3)",
        ),
        (
            ["pdu", "decode", "00", "--length", "-1"],
            "smsgw pdu decode: --length must not be negative, not -1",
        ),
        (
            ["pdu", "decode", "00", "--length", "x"],
            "smsgw pdu decode: argument --length: invalid int value: 'x'",
        ),
        (["pdu", "decode"], "smsgw pdu decode: the following arguments are required: HEX"),
        (
            ["pdu", "encode", "--to", "+1-555", "--body", "x"],
            "smsgw pdu encode: TP-DA: '-' is not a digit",
        ),
        (
            ["pdu", "encode", "--to", "+1555", "--body", "x", "--validity", "0"],
            "smsgw pdu encode: TP-VP: a validity period must be positive, not 0 s",
        ),
        (
            ["pdu", "encode", "--to", "+1555", "--body", "x" * 300, "--reference", "300"],
            "smsgw pdu encode: concatenation reference: 300 is not in 0..255",
        ),
        (
            ["pdu", "info", "--body", "x" * 1601],
            "smsgw pdu info: the body is 1601 characters; the limit is 1600",
        ),
        (
            ["pdu", "info", "--body", "x", "--national", "klingon"],
            "smsgw pdu info: argument --national: invalid choice: 'klingon'",
        ),
        (["pdu", "frobnicate"], "smsgw pdu: argument ACTION: invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own checks exit from inside parse_args
        status = int(str(exc.code))
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(message)


def test_the_installed_command() -> None:
    good = subprocess.run(
        [str(SMSGW), "pdu", "encode", "--to", "+27820001111", "--body", "Hello World!"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (good.returncode, good.stdout) == (
        0,
        "24 0001000B917228001011F100000CC8329BFD065DDF72363904\n",
    )
    bad = subprocess.run(
        [str(SMSGW), "pdu", "decode", "0791"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr

"""Multipart reassembly (``gateway.domain.assembly``) on real SMS-DELIVER PDUs.

The PDUs come from the simulated network (which builds them with the same field codecs as
the decoder), from hand-made plans where a sender does what our encoder never does (split a
surrogate pair, use a national language table), and from the real-vector corpus
(``tests/data/pdu_vectors.json``): concatenated messages recorded from real phones and networks.
Every PDU is decoded with :func:`drivers.codec.pdu.decode`, as the gateway does, before it becomes a
part.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drivers.codec import gsm7
from drivers.codec.pdu import (
    Alphabet,
    Concatenation,
    Deliver,
    MessagePlan,
    NationalLanguageShift,
    Segment,
    decode,
    plan_data,
    plan_text,
    plan_ucs2,
)
from drivers.codec.pdu import fields as pdu_fields
from drivers.codec.pdu.encode import part_user_data
from drivers.simulated.network import DEFAULT_SMSC, SimulatedNetwork
from drivers.simulated.pdus import deliver_pdu
from gateway.domain.assembly import assemble, generation_of, received_part
from gateway.domain.records import Generation, InboundPart
from tests.drivers.codec.test_pdu_vectors import BY_ID, tpdu_length

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MODEM = "alice"
RECIPIENT = "+15550001001"
SENDER = "+15557654321"
LONG = "The quick brown fox jumps over the lazy dog. " * 8  # 360 GSM 7-bit characters: 3 parts
GRINNING = "\U0001f600"  # UTF-16: D83D DE00
PARTY = "\U0001f389"  # UTF-16: D83C DF89
# TS 23.038 Annex A national language identifiers: 1 Turkish, 2 Spanish, 3 Portuguese.
TURKISH = "Işığı söndür, ağaç gölgesinde uyuşuk kuşlar şakıyor; şimdi ğ ş ı. "
SPANISH = "¿Dónde está la estación? Mañana á las ocho, él llegará. Núñez. "
PORTUGUESE = (
    "Não sei se você vem amanhã; a reunião começa às três. Ótimo, obrigação cumprida! "
    "Irmã, mãe, pão, leões. "
)
UCS2_PART = 67  # UTF-16 units per part next to an 8-bit concatenation header (134 octets)


def network() -> SimulatedNetwork:
    return SimulatedNetwork(clock=lambda: T0)  # the SC time stamp is the test's, not the wall's


def part(pdu: str, length: int | None, *, modem: str = MODEM, at: datetime = T0) -> InboundPart:
    """What the gateway makes of a PDU a modem gave: decode it, cut the SCA off, as
    ``InboundReceiver.accept`` does."""
    message = decode(pdu, length)
    assert isinstance(message, Deliver)
    tpdu = pdu[len(pdu) - 2 * message.tpdu_length :]
    return received_part(modem, RECIPIENT, message, tpdu, at)


def parts_of(
    text: str,
    *,
    sender: str = SENDER,
    reference: int = 7,
    ref16: bool = False,
    ucs2: bool = False,
    modem: str = MODEM,
) -> list[InboundPart]:
    pdus = network().inbound_pdus(sender, text, ref16=ref16, reference=reference, ucs2=ucs2)
    return [part(pdu, length, modem=modem) for pdu, length in pdus]


def delivered(plan: MessagePlan, *, reference: int = 9) -> list[tuple[str, int]]:
    """The DELIVER PDUs (hex with SCA, TPDU length) a handset sends for a plan made by hand."""
    dcs = pdu_fields.encode_dcs(plan.alphabet)
    pdus = []
    for sequence in range(1, plan.num_segments + 1):
        udhi, udl, ud = part_user_data(plan, reference, sequence)
        pdus.append(
            deliver_pdu(
                DEFAULT_SMSC, SENDER, T0, dcs=dcs, user_data_length=udl, user_data=ud, udhi=udhi
            )
        )
    return pdus


def parts_of_plan(plan: MessagePlan, *, reference: int = 9) -> list[InboundPart]:
    return [part(pdu, length) for pdu, length in delivered(plan, reference=reference)]


def vector_part(number: int, *, modem: str = MODEM) -> InboundPart:
    vector = BY_ID[number]
    return part(vector["pdu"], tpdu_length(vector), modem=modem)


def ucs2_plan(chunks: Sequence[bytes]) -> MessagePlan:
    """A UCS-2 plan cut exactly at the given UTF-16-BE octet chunks (a pair may be split)."""
    segments = tuple(
        Segment(gsm7.decode_ucs2(chunk), chunk, len(chunk) // 2, UCS2_PART) for chunk in chunks
    )
    text = gsm7.join_texts(segment.text for segment in segments)
    return MessagePlan(text, Alphabet.UCS2, 0, 0, False, segments)


# --- what a part is --------------------------------------------------------------------------


def test_a_lone_sms_is_a_part_of_no_group() -> None:
    ((pdu, length),) = network().inbound_pdus(SENDER, "Hello there")
    alone = part(pdu, length, at=T0 + timedelta(seconds=3))
    assert (alone.group, alone.sequence, alone.total) == (None, 1, 1)
    assert (alone.modem, alone.recipient, alone.sender) == (MODEM, RECIPIENT, SENDER)
    assert alone.text == "Hello there"
    assert alone.received_at == T0 + timedelta(seconds=3)
    assert pdu.endswith(alone.pdu) and len(alone.pdu) == 2 * length  # the TPDU, SCA cut off
    made = assemble([alone])
    assert (made.text, made.parts, made.missing, made.complete) == (
        "Hello there",
        (alone,),
        (),
        True,
    )


def test_the_same_pdu_read_again_has_the_same_key() -> None:
    (pdu, length), _, _ = network().inbound_pdus(SENDER, LONG)
    first = part(pdu, length, at=T0)
    # Re-read after a restart, an hour later, and the modem printed the hex in lower case.
    again = part(pdu.lower(), length, at=T0 + timedelta(hours=1))
    assert again.key == first.key
    assert again.group == first.group and again.pdu == first.pdu


def test_a_real_pdu_listed_twice_in_the_corpus_has_one_key() -> None:
    # smslib asserts the same two real PDUs in two tests (vectors 157/158 and 168/169).
    assert BY_ID[157]["pdu"] == BY_ID[168]["pdu"]
    assert vector_part(157).key == vector_part(168).key
    assert vector_part(158).key == vector_part(169).key
    assert vector_part(157).key != vector_part(158).key


def test_parts_of_one_message_share_a_group_and_differ_in_key() -> None:
    parts = parts_of(LONG)
    assert [(p.sequence, p.total) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    assert len({p.group for p in parts}) == 1 and parts[0].group is not None
    assert len({p.key for p in parts}) == 3


@pytest.mark.parametrize(
    "other",
    [
        {"reference": 8},
        {"reference": 7 + 256, "ref16": True},  # 16 bits: 263, not 7 modulo 256
        {"sender": "+15550009999"},
        {"modem": "bob"},
    ],
    ids=["reference", "reference16", "sender", "modem"],
)
def test_another_reference_sender_or_modem_is_another_group(other: dict[str, Any]) -> None:
    first = parts_of(LONG)[0]
    different = parts_of(LONG, **other)[0]
    assert different.sequence == first.sequence == 1
    assert different.key != first.key
    assert different.group != first.group


def test_the_same_pdu_on_two_modems_is_two_parts() -> None:
    ((pdu, length),) = network().inbound_pdus(SENDER, "to both SIMs")
    assert part(pdu, length, modem="alice").key != part(pdu, length, modem="bob").key


def test_8_and_16_bit_references_of_the_same_number_are_different_groups() -> None:
    narrow = parts_of(LONG, reference=76)
    wide = parts_of(LONG, reference=76, ref16=True)
    assert {p.group for p in narrow}.isdisjoint({p.group for p in wide})
    assert {p.key for p in narrow}.isdisjoint({p.key for p in wide})
    # Each joins into the whole text on its own, even when they arrive mixed together.
    assert assemble(narrow).text == assemble(wide).text == LONG


def test_an_out_of_range_sequence_number_makes_the_part_stand_alone() -> None:
    # TS 23.040 §9.2.3.24.1: a receiver ignores a concatenation element whose sequence number
    # is 0 or exceeds the number of parts. A sender that gets it wrong still gets read.
    header = pdu_fields.encode_udh([Concatenation(reference=5, total=2, sequence=3, ref16=False)])
    body = gsm7.encode_ucs2("stray")
    pdu, length = deliver_pdu(
        DEFAULT_SMSC,
        SENDER,
        T0,
        dcs=pdu_fields.encode_dcs(Alphabet.UCS2),
        user_data_length=len(header) + len(body),
        user_data=header + body,
        udhi=True,
    )
    stray = part(pdu, length)
    assert (stray.group, stray.sequence, stray.total, stray.text) == (None, 1, 1, "stray")


# --- which message of its group a part is in --------------------------------------------------

WINDOW = timedelta(minutes=10)  # reassembly_timeout
GIVEN_UP = T0 - timedelta(minutes=1)  # when a message was made with 30009


def arriving(number: int, *waiting: int) -> Generation:
    return Generation(number, frozenset(waiting), frozenset(), None)


def made(number: int, *sequences: int, at: datetime = GIVEN_UP) -> Generation:
    return Generation(number, frozenset(), frozenset(sequences), at)


@pytest.mark.parametrize(
    ("sequence", "generations", "expected"),
    [
        (1, [], 0),  # the first message under the reference
        (2, [arriving(0, 1)], 0),  # its next part
        # TS 23.040 §9.2.3.24.1 "modulo 256 counter": the reference came back after a message
        # that was complete: whatever its sequence number, a new message.
        (1, [made(0, 1, 2)], 1),
        (2, [made(3, 1, 2, at=T0 - timedelta(days=30))], 4),
        # The message was given up without part 2: part 2 is late within the window...
        (2, [made(0, 1)], 0),
        (2, [made(0, 1, at=T0 - WINDOW)], 0),
        # ...a new message after it, and part 1 (in the given-up message) always.
        (2, [made(0, 1, at=T0 - WINDOW - timedelta(microseconds=1))], 1),
        (1, [made(0, 1)], 1),
        # A message arriving takes the parts it lacks, before a late part is thought of.
        (2, [arriving(5, 1)], 5),
        # Its sequence number is taken in the message arriving: another message at once.
        (1, [arriving(0, 1)], 1),
        (1, [arriving(0, 1), arriving(1, 1)], 2),
        (2, [arriving(0, 1, 2), arriving(1, 1)], 1),
    ],
    ids=[
        "first",
        "joins",
        "after-complete",
        "after-complete-much-later",
        "late",
        "late-at-the-window's-end",
        "after-the-window",
        "already-in-the-given-up-one",
        "arriving-first",
        "taken-in-the-arriving-one",
        "taken-twice",
        "oldest-lacking-it",
    ],
)
def test_a_part_joins_the_message_it_can_be_in(
    sequence: int, generations: list[Generation], expected: int
) -> None:
    incoming = parts_of(LONG)[sequence - 1]  # received at T0
    assert generation_of(incoming, generations, WINDOW) == expected


# --- joining parts ---------------------------------------------------------------------------


def test_parts_in_any_order_make_the_text_in_sequence_order() -> None:
    first, second, third = parts_of(LONG)
    made = assemble([third, first, second])
    assert made.text == LONG
    assert made.parts == (first, second, third)
    assert made.complete and made.missing == ()


def test_a_duplicate_sequence_number_keeps_the_part_that_came_first() -> None:
    # Two different messages that happen to share sender, reference and part count: the
    # second one's part 1 must neither replace the first one's nor be joined twice.
    mine = parts_of(LONG, reference=33)
    theirs = parts_of(LONG.upper(), reference=33)
    assert mine[0].group == theirs[0].group and mine[0].key != theirs[0].key
    made = assemble([mine[0], theirs[0], mine[1], mine[2]])
    assert made.text == LONG
    assert made.parts == tuple(mine)
    other_way = assemble([theirs[0], mine[0], mine[1], mine[2]])
    assert other_way.parts == (theirs[0], mine[1], mine[2])
    assert theirs[0].text != mine[0].text
    assert other_way.text == theirs[0].text + mine[1].text + mine[2].text


def test_missing_parts_are_reported_and_the_rest_joined_in_order() -> None:
    first, _, third = parts_of(LONG)
    made = assemble([third, first])
    assert made.missing == (2,) and not made.complete
    assert made.parts == (first, third)
    assert made.text == first.text + third.text
    only_last = assemble([third])
    assert only_last.missing == (1, 2) and only_last.text == third.text


def test_ucs2_parts_of_the_simulated_network_join() -> None:
    text = "Привет! " * 20 + GRINNING * 10  # UCS-2, 3 parts, pairs kept whole by our encoder
    parts = parts_of(text, ucs2=True)
    assert len(parts) == 3
    assert assemble(list(reversed(parts))).text == text


def test_a_surrogate_pair_split_between_two_parts_is_mended() -> None:
    # Some phones cut a UCS-2 message every 67 units even in the middle of a surrogate pair;
    # our encoder never does (plan_ucs2 moves the pair), so the parts are cut here by hand.
    text = "a" * 66 + GRINNING + "b" * 10
    assert plan_ucs2(text).segments[0].units == 66  # our encoder keeps the pair whole
    payload = gsm7.encode_ucs2(text)
    split = ucs2_plan([payload[: 2 * UCS2_PART], payload[2 * UCS2_PART :]])
    first, second = parts_of_plan(split)
    assert first.text == "a" * 66 + "\ud83d"  # each part decodes with its half of the pair
    assert second.text == "\ude00" + "b" * 10
    made = assemble([second, first])
    assert made.text == text and made.complete
    assert made.text.encode("utf-8")  # a valid string: no lone surrogate is left


def test_half_a_pair_whose_other_part_never_came_is_a_replacement_character() -> None:
    text = "a" * 66 + GRINNING + "b" * 10
    payload = gsm7.encode_ucs2(text)
    first, _ = parts_of_plan(ucs2_plan([payload[: 2 * UCS2_PART], payload[2 * UCS2_PART :]]))
    made = assemble([first])
    assert made.missing == (2,)
    assert made.text == "a" * 66 + "\ufffd"
    assert made.text.encode("utf-8")


def test_halves_on_either_side_of_a_missing_part_are_not_joined() -> None:
    # Part 1 ends in the first half of 😀, part 2 ends in the first half of 🎉 and part 3
    # starts with its second half. Part 2 never comes: joining 1 and 3 directly pairs D83D
    # with DF89, U+1F789, a character nobody sent.
    one = "a" * 66 + GRINNING
    two = "b" * 65 + PARTY
    payload = gsm7.encode_ucs2(one + two + "c" * 5)
    unit = 2 * UCS2_PART
    cuts = [payload[:unit], payload[unit : 2 * unit], payload[2 * unit :]]
    first, _, third = parts_of_plan(ucs2_plan(cuts))
    assert third.text.startswith("\udf89")
    made = assemble([first, third])
    assert made.missing == (2,)
    assert made.text == "a" * 66 + "\ufffd" + "\ufffd" + "c" * 5


@pytest.mark.parametrize(
    ("text", "locking", "single"),
    [
        (TURKISH * 4, 1, 0),
        (TURKISH * 3, 0, 1),
        (SPANISH * 4, 0, 2),  # Spanish has a single shift table only
        (PORTUGUESE * 4, 3, 0),
        (PORTUGUESE * 3, 0, 3),
    ],
    ids=[
        "turkish-locking",
        "turkish-single",
        "spanish-single",
        "portuguese-locking",
        "portuguese-single",
    ],
)
def test_national_language_tables_decode_and_join(text: str, locking: int, single: int) -> None:
    plan = plan_text(text, languages=[locking or single])
    # The premise: the sender really used the national table, in a concatenated message.
    assert plan.alphabet is Alphabet.GSM7
    assert (plan.locking_shift, plan.single_shift) == (locking, single)
    assert plan.num_segments > 1
    parts = parts_of_plan(plan)
    shift = NationalLanguageShift(locking or single, locking=bool(locking))
    for pdu, length in delivered(plan):
        message = decode(pdu, length)
        assert isinstance(message, Deliver) and message.user_data.header is not None
        assert shift in message.user_data.header.elements
    made = assemble(list(reversed(parts)))
    assert made.text == text and made.complete


def test_8_bit_data_parts_keep_every_octet() -> None:
    data = bytes(range(256)) * 2  # every octet value, 4 parts of 134 octets
    plan = plan_data(data)
    assert plan.num_segments == 4
    parts = parts_of_plan(plan)
    made = assemble([parts[2], parts[0], parts[3], parts[1]])
    assert made.complete
    assert made.text.encode("latin-1") == data


# --- real concatenated messages --------------------------------------------------------------


def test_real_16_bit_reference_message_joins_into_the_text_its_source_asserts() -> None:
    # frontlinesms/smslib SmsDeliverPduTest.testDecodeMultipartGsm7bit (UK, reference 47579).
    first, second = vector_part(157), vector_part(158)
    assert first.group == second.group and first.group is not None
    assert first.group.endswith("|47579|2|16")
    made = assemble([second, first])
    assert made.complete
    assert made.text == BY_ID[157]["expected"]["assembled_text"]


def test_real_parts_through_different_smscs_are_one_message() -> None:
    # ModemManager test_pdu_multipart: the two parts carry different SMSC addresses.
    first, second = vector_part(50), vector_part(51)
    assert first.group == second.group
    made = assemble([first, second])
    assert made.complete
    assert made.text == BY_ID[50]["expected"]["text"] + BY_ID[51]["expected"]["text"]


def test_real_parts_delivered_last_first_are_one_message() -> None:
    # ModemManager test_mbim_multipart_unstored (Dell 5821e): part 2 arrives before part 1 and
    # the list must hold ONE message.
    late_first = [vector_part(80), vector_part(81)]
    assert [p.sequence for p in late_first] == [2, 1]
    made = assemble(late_first)
    assert made.complete and [p.sequence for p in made.parts] == [1, 2]
    assert made.text.startswith("Vintage tupperware game")
    assert made.text.endswith(late_first[0].text)


def test_real_three_part_ucs2_message_is_complete_only_with_its_last_part() -> None:
    # oFono test_assembly: a 3-part Russian UCS-2 message; complete once part 3 is added.
    parts = [vector_part(n) for n in (129, 130, 131)]
    for count, part_number in enumerate((129, 130, 131), 1):
        made = assemble(parts[:count])
        expected = BY_ID[part_number]["expected"]["assembly_complete_after_this"]
        assert made.complete is expected
    whole = assemble(parts).text
    assert whole.startswith("Итак, Александр") and whole.endswith("был наг.")
    assert whole == "".join(p.text for p in parts)


@pytest.mark.parametrize(
    "numbers",
    [(90, 91), (144, 145), (154, 155, 156), (159, 160, 161), (182, 183)],
    ids=["vodafone-de", "android", "smslib-3", "smslib-keywords", "smslib-ucs2"],
)
def test_real_concatenated_messages_join(numbers: tuple[int, ...]) -> None:
    parts = [vector_part(n) for n in numbers]
    assert len({p.group for p in parts}) == 1 and parts[0].group is not None
    made = assemble(list(reversed(parts)))
    assert made.complete
    assert made.text == "".join(p.text for p in parts)
    for number, item in zip(numbers, parts, strict=True):
        asserted = BY_ID[number]["expected"].get("text")
        if asserted is not None:  # the source's own assertion on this part's text
            assert item.text == asserted


def test_real_8_bit_data_parts_with_ports_join() -> None:
    # Android GsmSmsTest.testUdh: a real MMS notification, 8-bit data with 16-bit ports.
    first, second = vector_part(141), vector_part(142)
    assert first.group == second.group and first.total == 2
    made = assemble([second, first])
    assert made.complete
    octets = made.text.encode("latin-1")
    assert octets.startswith(b"\x01\x06'application/vnd.wap.mms-message\x00")
    # The URL runs across the part boundary ("http://6" | "6.102...").
    assert octets.endswith(b"http://66.102.171.150/RNE9U0Jmq5QAABflAAAAMwAAB6QAAAAA\x00")

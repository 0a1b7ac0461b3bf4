"""How a body is sent, in figures a person reads: the alphabet, the segments, the room left in
the last one, and what smart encoding changed. ``smsgw pdu info --json`` prints them, and the
console's compose page shows them as the operator types (one logic, one set of figures)."""

from __future__ import annotations

from typing import Any, Final

from drivers.codec import LANGUAGE_NAMES, Alphabet, MessagePlan

UNIT_NAMES: Final = {
    Alphabet.GSM7: "septets",
    Alphabet.UCS2: "UCS-2 units",
    Alphabet.DATA8: "octets",
}


def plan_summary(plan: MessagePlan, body: str) -> dict[str, Any]:
    """``plan`` (the codec's ``plan_text(body, ...)``) as JSON's values."""
    last = plan.segments[-1]
    return {
        "encoding": plan.alphabet.value,
        "segments": plan.num_segments,
        "units": UNIT_NAMES[plan.alphabet],
        "characters_left": last.left,
        "smart_encoded": plan.text != body,
        "text": plan.text,
        "locking_shift": LANGUAGE_NAMES.get(plan.locking_shift),
        "single_shift": LANGUAGE_NAMES.get(plan.single_shift),
        "parts": [
            {"used": segment.units, "capacity": segment.capacity, "left": segment.left}
            for segment in plan.segments
        ],
    }

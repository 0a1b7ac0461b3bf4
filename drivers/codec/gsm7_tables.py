"""GSM 7-bit alphabet tables, transcribed from 3GPP TS 23.038.

Each locking-shift table is 128 characters indexed by septet value; position 0x1B is the escape
to the single-shift (extension) table and is written as ``"\\x1b"``. Single-shift tables map the
septet that follows an escape to its character.

Language identifiers are those of TS 23.038 §6.2.1.2.4 (the value carried in the national
language shift information elements, TS 23.040 §9.2.3.24.15/16).
"""

from __future__ import annotations

from typing import Final

ESC: Final = 0x1B

DEFAULT: Final = 0
TURKISH: Final = 1
SPANISH: Final = 2
PORTUGUESE: Final = 3

LANGUAGE_NAMES: Final[dict[int, str]] = {
    DEFAULT: "default",
    TURKISH: "turkish",
    SPANISH: "spanish",
    PORTUGUESE: "portuguese",
}

# TS 23.038 §6.2.1: the GSM 7 bit default alphabet.
_DEFAULT_LOCKING: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# TS 23.038 §A.3.1: Turkish national language locking shift table.
_TURKISH_LOCKING: Final = (
    "@£$¥€éùıòÇ\nĞğ\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bŞşßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "İABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "çabcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# TS 23.038 §A.3.3: Portuguese national language locking shift table.
_PORTUGUESE_LOCKING: Final = (
    "@£$¥êéúíóç\nÔô\rÁá"
    "Δ_ªÇÀ∞^\\€Ó|\x1bÂâÊÉ"
    " !\"#º%&'()*+,-./"
    "0123456789:;<=>?"
    "ÍABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÃÕÚÜ§"
    "~abcdefghijklmno"
    "pqrstuvwxyzãõ`üà"
)

# Spanish has a single-shift table only (TS 23.038 §A.2.2; there is no Spanish locking table).
LOCKING_TABLES: Final[dict[int, str]] = {
    DEFAULT: _DEFAULT_LOCKING,
    TURKISH: _TURKISH_LOCKING,
    PORTUGUESE: _PORTUGUESE_LOCKING,
}

# Characters common to every single-shift table (TS 23.038 §6.2.1.1 and Annex A.2).
_COMMON_SHIFT: Final[dict[int, str]] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# TS 23.038 §A.2.1: Turkish national language single shift table.
_TURKISH_SHIFT: Final[dict[int, str]] = {
    **_COMMON_SHIFT,
    0x47: "Ğ",
    0x49: "İ",
    0x53: "Ş",
    0x63: "ç",
    0x67: "ğ",
    0x69: "ı",
    0x73: "ş",
}

# TS 23.038 §A.2.2: Spanish national language single shift table.
_SPANISH_SHIFT: Final[dict[int, str]] = {
    **_COMMON_SHIFT,
    0x09: "ç",
    0x41: "Á",
    0x49: "Í",
    0x4F: "Ó",
    0x55: "Ú",
    0x61: "á",
    0x69: "í",
    0x6F: "ó",
    0x75: "ú",
}

# TS 23.038 §A.2.3: Portuguese national language single shift table.
_PORTUGUESE_SHIFT: Final[dict[int, str]] = {
    **_COMMON_SHIFT,
    0x05: "ê",
    0x09: "ç",
    0x0B: "Ô",
    0x0C: "ô",
    0x0E: "Á",
    0x0F: "á",
    0x12: "Φ",
    0x13: "Γ",
    0x15: "Ω",
    0x16: "Π",
    0x17: "Ψ",
    0x18: "Σ",
    0x19: "Θ",
    0x1F: "Ê",
    0x41: "À",
    0x49: "Í",
    0x4F: "Ó",
    0x55: "Ú",
    0x5B: "Ã",
    0x5C: "Õ",
    0x61: "Â",
    0x69: "í",
    0x6F: "ó",
    0x75: "ú",
    0x7B: "ã",
    0x7C: "õ",
    0x7F: "â",
}

SHIFT_TABLES: Final[dict[int, dict[int, str]]] = {
    DEFAULT: _COMMON_SHIFT,
    TURKISH: _TURKISH_SHIFT,
    SPANISH: _SPANISH_SHIFT,
    PORTUGUESE: _PORTUGUESE_SHIFT,
}

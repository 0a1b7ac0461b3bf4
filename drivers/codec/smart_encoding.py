"""Smart encoding: Unicode look-alikes replaced by GSM 7-bit characters (Twilio's ``SmartEncoded``).

Word processors and phones slip in curly quotes, long dashes, ellipses and unusual spaces; any one
of them forces the whole message into UCS-2, which fits 70 characters per SMS instead of 160.
Twilio's ``SmartEncoded=true`` swaps them for their plain equivalents. The groups below follow
Twilio's published list of transliterated characters, reviewed character by character against
the Unicode names; every replacement is plain GSM 7-bit text (checked by the tests).
"""

from __future__ import annotations

from typing import Final

_GROUPS: Final[dict[str, str]] = {
    # Double quotation marks and their look-alikes.
    '"': "«»“”„‟″‶ʺˮ❝❞〝〞〟",
    # Single quotation marks, apostrophes, primes and spacing accents. The backtick is not in the
    # GSM alphabet either.
    "'": "‘’‛′‵ʹʻʼʽˈˊˋ´`❛❜︐︑",
    ",": "‚、﹐﹑",
    # Hyphens, dashes, minus signs and the bullet people use as a dash.
    "-": "‐‑‒–—―−⁃﹘﹣⎼⎽•",
    # Spaces of every width (no-break, en/em, thin, hair, ideographic) and line separators.
    " ": "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\u2028\u2029\t",
    # Invisible format characters: soft hyphen, zero width space/joiners, word joiner, BOM.
    "": "\u00ad\u200b\u200c\u200d\u2060\ufeff",
    "/": "÷⁄∕⧸",
    "\\": "⧵⧹﹨",
    "|": "∣⎸⎹⏐",
    "*": "⁎∗✱✲✳﹡",
    "^": "ˆ",
    "~": "˜˷∼",
    ":": "ː˸꞉︓",
    ";": "⁏︔﹔",
    ".": "。﹒｡",
    "!": "ǃ︕﹗",
    "?": "︖﹖",
    "<": "‹﹤",
    ">": "›﹥",
    "(": "❨❪﹙",
    ")": "❩❫﹚",
    "{": "❴﹛",
    "}": "❵﹜",
    "#": "﹟",
    "$": "﹩",
    "%": "﹪",
    "&": "﹠",
    "+": "˖﹢",
    "=": "꞊﹦",
    "@": "﹫",
}

_MULTI: Final[dict[str, str]] = {
    "…": "...",
    "‼": "!!",
    "¼": "1/4",
    "½": "1/2",
    "¾": "3/4",
}

_FULLWIDTH_FIRST, _FULLWIDTH_LAST = 0xFF01, 0xFF5E  # FULLWIDTH EXCLAMATION MARK .. TILDE
_FULLWIDTH_OFFSET: Final = 0xFF01 - 0x21


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for replacement, chars in _GROUPS.items():
        for char in chars:
            table[ord(char)] = replacement
    for char, replacement in _MULTI.items():
        table[ord(char)] = replacement
    # Fullwidth ASCII forms (Unicode block Halfwidth and Fullwidth Forms) map to their ASCII
    # counterparts, themselves smart-encoded where ASCII is not GSM (the backtick).
    for code in range(_FULLWIDTH_FIRST, _FULLWIDTH_LAST + 1):
        ascii_char = chr(code - _FULLWIDTH_OFFSET)
        table[code] = table.get(ord(ascii_char), ascii_char)
    return table


SMART_TABLE: Final[dict[int, str]] = _build_table()


def smart_encode(text: str) -> str:
    """Replace the look-alikes in ``text``; everything else is left as it is."""
    return text.translate(SMART_TABLE)

"""Booleans as form parameters give them (``ProvideFeedback``, ``VoiceCallerIdLookup``...)."""

from __future__ import annotations

from typing import Final

from gateway.domain.errors import ApiError

# Twilio's clients send lowercase "true"/"false" (twilio-messages-api.md §2); twilio-python
# sent str(bool), "True" and "False", until its boolean_to_string (twilio-python PR #753,
# 2024), and Twilio took them.
_BOOLEANS: Final = {"true": True, "false": False}


def boolean(raw: str, name: str) -> bool:
    """``raw``, the value of parameter ``name``: ``true`` or ``false`` in any case; 20001 for
    anything else, as Twilio's 2010 API answers a bad parameter (no code of Twilio's is for a
    bad boolean)."""
    value = _BOOLEANS.get(raw.strip().lower())
    if value is None:
        raise ApiError(20001, f"Invalid {name} {raw!r}: expected true or false")
    return value

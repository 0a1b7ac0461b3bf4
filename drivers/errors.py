"""The one error tree of the :mod:`drivers` package.

::

    DriverError
     └── PduError (also ValueError)   a PDU that cannot be decoded or encoded; names the field

Callers translate these at their boundary (the gateway maps them to Twilio error codes);
nothing else escapes the codec.
"""

from __future__ import annotations


class DriverError(Exception):
    """Base class of every error raised by :mod:`drivers`."""


class PduError(DriverError, ValueError):
    """A PDU (or the input to the encoder) is malformed.

    ``field`` names the TS 23.040 field (or the input argument) at fault, e.g. ``"TP-UDL"``,
    so that a log line says where a PDU went wrong, not just that it did.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

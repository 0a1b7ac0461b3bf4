"""The one error tree of the :mod:`drivers` package.

::

    DriverError
     ├── PduError (also ValueError)     a PDU that cannot be decoded or encoded; names the field
     ├── TransportError                 a port could not be opened, or reading/writing it failed
     │    └── ModemLost                 the link to the modem is gone (end of file, unplug, I/O)
     ├── AtTimeout (also TimeoutError)  no final result code in time
     ├── AtCommandError                 the final result code was not OK
     │    ├── CmeError                  +CME ERROR: <code>   (TS 27.007 §9.2)
     │    └── CmsError                  +CMS ERROR: <code>   (TS 27.005 §3.2.5)
     ├── AtReplyError (also ValueError)  a reply the driver cannot make sense of
     ├── ModemSetupError                the modem cannot be made ready (PIN, PDU mode, ...)
     └── SendError                      a part of a message was not accepted; carries which one

Callers translate these at their boundary (the gateway maps them to Twilio error codes and
modem states); nothing else escapes the driver. Every layer raises from this one module; a host
takes them from the face (:mod:`drivers`), or ``PduError`` from the codec (:mod:`drivers.codec`).
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


class TransportError(DriverError):
    """Opening, reading or writing the port failed."""


class ModemLost(TransportError):
    """The link to the modem ended: end of file, the device unplugged, or an I/O error."""


class AtTimeout(DriverError, TimeoutError):
    """No final result code arrived in time. ``lines`` holds what did arrive meanwhile."""

    def __init__(self, command: str, timeout: float, lines: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command}: no final result code within {timeout:g} s")
        self.command = command
        self.timeout = timeout
        self.lines = lines


class AtCommandError(DriverError):
    """The modem answered a command with a final result code other than OK."""

    def __init__(self, command: str, result: str, lines: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command}: {result}")
        self.command = command
        self.result = result
        self.lines = lines


class CmeError(AtCommandError):
    """``+CME ERROR`` (TS 27.007 §9.2): a mobile equipment or SIM error.

    ``code`` is the numeric error (also when the modem answered with its text form and the text
    is a known one), or ``None``; ``text`` is the text form when the modem gave one.
    """

    def __init__(
        self,
        command: str,
        result: str,
        code: int | None,
        text: str | None = None,
        lines: tuple[str, ...] = (),
    ) -> None:
        super().__init__(command, result, lines)
        self.code = code
        self.text = text


class CmsError(AtCommandError):
    """``+CMS ERROR`` (TS 27.005 §3.2.5): a message service error, e.g. 304 invalid PDU."""

    def __init__(
        self,
        command: str,
        result: str,
        code: int | None,
        text: str | None = None,
        lines: tuple[str, ...] = (),
    ) -> None:
        super().__init__(command, result, lines)
        self.code = code
        self.text = text


class AtReplyError(DriverError, ValueError):
    """A reply that does not have the shape the command's specification gives it."""

    def __init__(self, command: str, reason: str, lines: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.lines = lines


class ModemSetupError(DriverError):
    """The modem cannot be made ready: a PIN is needed, the SIM is missing, no PDU mode..."""


class PinRejected(ModemSetupError):
    """The SIM refused the configured PIN. Each try uses one of the few the SIM allows before
    it wants its PUK: the host should not send that PIN again (``ModemSettings.pin_rejected``)."""


class SendError(DriverError):
    """Part ``part`` (0-based) of a message was not accepted; ``cause`` says why.

    ``accepted`` holds the TP-MR of every part accepted before it, in order.
    """

    def __init__(self, part: int, cause: DriverError, accepted: tuple[int, ...] = ()) -> None:
        super().__init__(f"part {part + 1} was not sent: {cause}")
        self.part = part
        self.cause = cause
        self.accepted = accepted

    @property
    def cms_code(self) -> int | None:
        return self.cause.code if isinstance(self.cause, CmsError) else None

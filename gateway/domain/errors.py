"""The one error tree of the :mod:`gateway` package.

::

    GatewayError
     ├── ConfigError        the configuration file is wrong; names the key (exit status 2)
     ├── StoreError         the database cannot be opened, migrated or written
     └── ApiError           a request the API refuses: Twilio error code, HTTP status, message

The HTTP layer turns :class:`ApiError` into Twilio's error body and nothing else into anything:
an unexpected exception there is a bug, logged with its traceback and answered with a
Twilio-shaped 500.
"""

from __future__ import annotations

from typing import Final

MORE_INFO: Final = "https://www.twilio.com/docs/errors/{code}"


class GatewayError(Exception):
    """Base class of every error raised by :mod:`gateway`."""


class ConfigError(GatewayError):
    """A configuration problem; ``key`` is where in the file (``modems[1].port``)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


class StoreError(GatewayError):
    """The store cannot do what was asked (open, migrate, write)."""


class ApiError(GatewayError):
    """A refused request, as Twilio would refuse it.

    ``code`` is the Twilio error code (21211...), ``status`` the HTTP status. With ``close``,
    the connection is closed after the answer: what the client sent after it cannot be read as
    a request (a body cut short, or not sent in time).
    """

    def __init__(self, code: int, message: str, status: int = 400, *, close: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.close = close

    def body(self) -> dict[str, object]:
        """Twilio's legacy error body; both official clients read exactly these keys."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": MORE_INFO.format(code=self.code),
            "status": self.status,
        }

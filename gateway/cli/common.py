"""What every ``smsgw`` subcommand shares: the one-line error convention and JSON output.

A command that cannot go on raises one of two errors, reported as one line on stderr:

- :class:`UsageError`, exit status 2: a mistake in the command line or the configuration;
- :class:`Failure`, exit status 1: the command was right but its job could not be done (the
  gateway cannot be reached or refuses the credentials, there is no account to use yet).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_STATUSES = (
    "exit status: 0 done; 1 the job could not be done (the gateway unreachable, the "
    "credentials refused, no account yet); 2 a mistake in the command or the configuration"
)


class UsageError(Exception):
    """Bad input from the command line, reported as one line on stderr with exit status 2."""


class Failure(Exception):
    """The job could not be done, reported as one line on stderr with exit status 1."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the whole usage block; one line that says what is wrong, and
        # where to look, is easier to read and to grep.
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def to_jsonable(value: Any, tags: Mapping[type, str] | None = None) -> Any:
    """Plain JSON data for the codec's dataclasses.

    Bytes become upper-case hex, dates ISO 8601, integer enums their lower-case name and other
    enums their value. A dataclass whose class is in ``tags`` gets a leading ``type`` key.
    """
    tags = tags or {}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": tags[type(value)]} if type(value) in tags else {}
        for field in dataclasses.fields(value):
            out[field.name] = to_jsonable(getattr(value, field.name), tags)
        return out
    if isinstance(value, tuple | list):
        return [to_jsonable(item, tags) for item in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, enum.IntEnum):
        return value.name.lower()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, datetime):
        return value.isoformat()
    return value

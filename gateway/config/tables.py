"""A TOML table being read: each lookup checks its value's type and names its key path for the
error (``modems[2].port: required when driver = "serial"``), and a key nobody read is refused
as misspelt."""

from __future__ import annotations

from typing import Any

from gateway.domain.errors import ConfigError


class Table:
    """A TOML table being read: every lookup names its key path for the error message."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
            raise ConfigError(self.key(name), f"expected {_describe(kind)}, got {value!r}")
        return value

    def required(self, name: str, kind: type | tuple[type, ...]) -> Any:
        value = self.get(name, kind)
        if value is None or value == "":
            raise ConfigError(self.key(name), "required")
        return value

    def tables(self, name: str) -> list[Table]:
        self.used.add(name)
        items = self.data.get(name, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ConfigError(self.key(name), f"expected [[{name}]] tables")
        return [Table(item, f"{self.key(name)}[{index}]") for index, item in enumerate(items)]

    def section(self, name: str) -> Table:
        self.used.add(name)
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(self.key(name), f"expected a [{name}] table")
        return Table(value, self.key(name))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key (misspelt?)")


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    names |= {list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in _kinds(kind))

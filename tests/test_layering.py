"""The import contracts name every part of the gateway they are meant to cover.

``lint-imports`` checks a forbidden contract only for the source modules it lists, so a new
top-level module of ``gateway`` left off the list would escape it without a word."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import gateway

ROOT = Path(__file__).parents[1]


def _contract(name_start: str) -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["name"].startswith(name_start)]
    return {key: value for key, value in contract.items() if isinstance(value, list)}


def test_only_the_command_line_may_import_the_simulator_covers_every_other_module() -> None:
    contract = _contract("of gateway, only the command line imports the simulator")
    parts = {f"gateway.{info.name}" for info in pkgutil.iter_modules(gateway.__path__)}
    # The command line serves one; __main__ is the command line's entry point.
    assert set(contract["source_modules"]) == parts - {"gateway.cli", "gateway.__main__"}

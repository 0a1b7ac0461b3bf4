"""Finding a number's modem in the pool (:meth:`ModemPool.for_number`), before and after a
reload changes the modems; no modem is started."""

from __future__ import annotations

from pathlib import Path

from gateway.config import ModemConfig
from gateway.modems.pool import ModemPool


def _serial(modem_id: str, *numbers: str, tmp_path: Path) -> ModemConfig:
    return ModemConfig(modem_id, "serial", numbers, port=str(tmp_path / f"tty-{modem_id}"))


def test_each_number_finds_its_modem_and_an_unknown_one_none(tmp_path: Path) -> None:
    pool = ModemPool(
        (
            _serial("a", "+15550001000", "+15550001009", tmp_path=tmp_path),
            _serial("b", "+15550001001", tmp_path=tmp_path),
        )
    )
    assert pool.for_number("+15550001009") is pool.handles["a"]
    assert pool.for_number("+15550001001") is pool.handles["b"]
    assert pool.for_number("+15550009999") is None


def test_a_number_two_modems_claim_is_the_first_ones(tmp_path: Path) -> None:
    pool = ModemPool(
        (
            _serial("a", "+15550001000", tmp_path=tmp_path),
            _serial("b", "+15550001000", tmp_path=tmp_path),
        )
    )
    assert pool.for_number("+15550001000") is pool.handles["a"]


def test_a_reload_that_moves_adds_and_removes_numbers_is_seen_at_once(tmp_path: Path) -> None:
    pool = ModemPool(
        (
            _serial("a", "+15550001000", tmp_path=tmp_path),
            _serial("b", "+15550001001", tmp_path=tmp_path),
        )
    )
    assert pool.for_number("+15550001001") is pool.handles["b"]  # the index is built now
    pool.reconfigure(
        (
            _serial("a", "+15550001001", tmp_path=tmp_path),  # replaced: b's number now
            _serial("c", "+15550001002", tmp_path=tmp_path),  # added
        )
    )
    assert pool.for_number("+15550001001") is pool.handles["a"]
    assert pool.for_number("+15550001002") is pool.handles["c"]
    assert pool.for_number("+15550001000") is None  # a's old number
    pool.remove("c")
    assert pool.for_number("+15550001002") is None
    added = pool.add(_serial("d", "+15550001003", tmp_path=tmp_path))
    assert pool.for_number("+15550001003") is added

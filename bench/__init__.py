"""Benchmarks of smsgw: ``make bench`` (``python -m bench``) runs them all and prints the figures.

Each benchmark is a module of this package with a ``main() -> None`` that measures and prints a
Markdown section ready to paste into ``BENCHMARKS.md``; it can also run alone with
``python -m bench.<module>``. To add one, write the module and list it in :data:`BENCHMARKS`.
"""

from __future__ import annotations

import importlib
from typing import Final, Protocol, cast

# Module names in the order ``make bench`` runs them. Imported one at a time, when their turn
# comes, so one benchmark's imports and set-up never run inside another's measurements.
BENCHMARKS: Final = (
    "bench.pdu_codec",
    "bench.log_lines",
    "bench.modem_send",
    "bench.gateway_create",
    "bench.gateway_send",
    "bench.gateway_memory",
    "bench.startup",
    "bench.gateway_inbound",
    "bench.gateway_reports",
    "bench.webhook_isolation",
    "bench.pool",  # five minutes: 1 to 64 modems
    "bench.gateway_list",
    "bench.console",  # a minute: 100,000 messages written, each page 200 times
    "bench.console_live",  # 13 minutes: 50 open live consoles, and a baseline without
    "bench.sd_writes",  # two minutes at one message a second, then SMSTools3 the same
    "bench.http_hostile",
    "bench.soak",  # ten minutes of it
    "bench.chaos",  # five minutes of kills, a full disk and line faults
)


class Benchmark(Protocol):
    """What a benchmark module offers: one entry point that measures and prints."""

    def main(self) -> None: ...


def load(name: str) -> Benchmark:
    return cast(Benchmark, importlib.import_module(name))


def run_all(names: tuple[str, ...] = BENCHMARKS) -> None:
    for index, name in enumerate(names):
        if index:
            print()
        load(name).main()

"""Shared timing and reporting helpers for the benchmarks in :mod:`bench`.

Every candidate in a comparison is timed in the same process and the same run, interleaved round
by round, so that CPU frequency changes, a noisy neighbour on the VM or a warming cache hit all
of them alike instead of whichever happened to run last.
"""

from __future__ import annotations

import datetime
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# A workload is one pass over its inputs; it is called in a loop, so it must be repeatable.
Workload = Callable[[], None]

ROUNDS: Final = 15  # samples per candidate; the best and the median are reported
SAMPLE_NS: Final = 20_000_000  # a sample lasts at least 20 ms, far above timer resolution
_NS_PER_S: Final = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Candidate:
    """A named workload and how many items (PDUs, messages) one call of it processes."""

    name: str
    workload: Workload
    items: int


@dataclass(frozen=True, slots=True)
class Timing:
    """Nanoseconds per item of each sample of one candidate."""

    name: str
    items: int
    samples_ns: tuple[float, ...]

    @property
    def best_ns(self) -> float:
        return min(self.samples_ns)

    @property
    def median_ns(self) -> float:
        return statistics.median(self.samples_ns)

    @property
    def best_us(self) -> float:
        return self.best_ns / 1000

    @property
    def median_us(self) -> float:
        return self.median_ns / 1000

    @property
    def per_second(self) -> float:
        """Items per second at the best sample."""
        return _NS_PER_S / self.best_ns


def _calibrate(workload: Workload, target_ns: int) -> int:
    """Calls per sample so that one sample lasts at least ``target_ns`` (warms up on the way)."""
    loops = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(loops):
            workload()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= target_ns:
            return loops
        # Aim a little past the target so the next try usually ends the search.
        loops = max(loops * 2, int(loops * target_ns * 1.2 / max(elapsed, 1)))


def _sample(workload: Workload, loops: int) -> int:
    # Collect garbage left by the previous candidate so it is not billed to this one; the
    # collector stays enabled because a real decoder pays for its own allocations.
    gc.collect()
    start = time.perf_counter_ns()
    for _ in range(loops):
        workload()
    return time.perf_counter_ns() - start


def measure(
    candidates: Sequence[Candidate], rounds: int = ROUNDS, sample_ns: int = SAMPLE_NS
) -> list[Timing]:
    """Time the candidates interleaved: in each round every candidate gives one sample.

    The order rotates from round to round so no candidate always follows the same neighbour.
    """
    loops = [_calibrate(candidate.workload, sample_ns) for candidate in candidates]
    samples: list[list[float]] = [[] for _ in candidates]
    count = len(candidates)
    for round_index in range(rounds):
        for offset in range(count):
            index = (round_index + offset) % count
            candidate = candidates[index]
            elapsed = _sample(candidate.workload, loops[index])
            samples[index].append(elapsed / (loops[index] * candidate.items))
    return [
        Timing(candidate.name, candidate.items, tuple(times))
        for candidate, times in zip(candidates, samples, strict=True)
    ]


def _cpu_model() -> str:
    """The CPU as /proc/cpuinfo names it (Linux), else whatever :mod:`platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        fields: dict[str, str] = {}
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        if "model name" in fields:
            family, model = fields.get("cpu family", "?"), fields.get("model", "?")
            return f"{fields['model name']} (family {family}, model {model})"
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_description() -> str:
    """One line naming the interpreter and the machine, for the header of a results table."""
    implementation = platform.python_implementation()
    return (
        f"{implementation} {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {_cpu_model()}"
    )


def code_version() -> str:
    """The commit measured, marked ``-dirty`` when tracked files differ from it."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):  # no git, or not a checkout: say so
        return "unknown (not a git checkout)"
    return f"git {described}"


def run_header(command: str | None = None, method: str | None = None) -> str:
    """Command, code, machine and date lines; ``command`` defaults to how this process was
    started, ``method`` to the interleaved sampling :func:`measure` does."""
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    method = method or (
        f"{ROUNDS} interleaved rounds per candidate, samples of at least "
        f"{SAMPLE_NS // 1_000_000} ms; best and median reported"
    )
    return "\n".join(
        [
            f"- command: `{command or invocation()}`",
            f"- code: {code_version()}",
            f"- machine: {machine_description()}",
            f"- date: {today} (UTC); {method}",
        ]
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with columns padded to equal width, so it reads well unrendered too."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def invocation() -> str:
    """How this run was started, as someone would type it from the repository root."""
    executable = Path(sys.executable)
    try:
        shown = str(executable.relative_to(Path.cwd()))
    except ValueError:
        shown = str(executable)
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is None:  # started as a script path rather than with -m
        return f"{shown} {sys.argv[0]}"
    return f"{shown} -m {spec.name.removesuffix('.__main__')}"

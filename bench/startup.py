"""The gateway's footprint: what ``smsgw serve`` imports, how soon a modem is ready, and what an
idle gateway keeps resident (issue 17, part 4).

Three figures, each from fresh processes of a checkout's own interpreter:

- imports: ``python -X importtime -m gateway serve --help`` (the modules ``smsgw serve`` imports
  before it reads its configuration; ``--help`` makes argparse exit there): the total of the
  top-level cumulative times, the number of modules, and the biggest cumulative ones. The
  modules a running gateway imports later (the simulator when a modem is simulated) are in the
  next two figures, not here;
- start-up: ``smsgw serve`` as a user starts it (:mod:`bench.gateway_process`'s configuration,
  two in-process simulated modems as in ``config/gateway.toml``, ``log_level = "info"``), timed
  from just before the exec to the log line ``<id>: ready (...)`` of the first modem and of the
  last, read from the process's stdout as it comes (no polling);
- idle memory: :data:`SETTLE_S` after both modems are ready, ``/proc/<pid>/smaps_rollup`` of the
  same process: Rss, Pss (shared pages divided among the processes sharing them: what this
  process costs the machine), and Pss split into anonymous and file-backed pages.

With ``--compare OTHER`` the same is measured for the checkout in ``OTHER`` (its
``.venv/bin/python``, run in ``OTHER`` so that its own ``gateway`` package is imported), the
two alternated run by run so that a busy machine hits both alike: the A/B of a change against
its base. ``--python``/``--cwd`` measure one other checkout alone.

Run alone with ``.venv/bin/python -m bench.startup [--runs 5] [--compare /path/to/base]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.gateway_process import ModemSpec, config_text, free_port, stop_process
from bench.harness import markdown_table, run_header

RUNS: Final = 5
SETTLE_S: Final = 3.0  # idle after ready before memory is read: late allocations settle
READY_TIMEOUT_S: Final = 30.0
TOP: Final = 12
MODEMS: Final = (
    ModemSpec("alice", "simulated", "+15550001001"),
    ModemSpec("bob", "simulated", "+15550002002"),
)
# The targets: start-up to a ready modem under 0.5 s, idle RSS under 36 MB (10^6 bytes).
TARGET_READY_S: Final = 0.5
TARGET_RSS_MB: Final = 36.0
_READY: Final = re.compile(r"\b(?P<id>[\w.-]+): ready \(")
_IMPORT_LINE: Final = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")
_ROLLUP_KEYS: Final = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Anonymous")
ROOT: Final = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Checkout:
    """An interpreter and the directory it runs in (whose ``gateway`` package it imports), and
    the environment its processes get (where their bytecode caches go)."""

    label: str
    python: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)


def bytecode_env(cache: Path | None) -> dict[str, str]:
    """The environment of the measured processes. With ``cache``, bytecode is cached there
    (``PYTHONPYCACHEPREFIX``, so no checkout is written to), as a release pip-installed in a
    virtual environment has it compiled: the first, unmeasured pass writes it. Without, every
    module is compiled from source at every start (``PYTHONDONTWRITEBYTECODE``, as in some
    development shells): a start-up figure that says more about the compiler than the code."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


@dataclass(frozen=True, slots=True)
class Imports:
    total_us: int  # the sum of the top-level cumulative times
    modules: int
    top: tuple[tuple[str, int], ...]  # (module, cumulative us), biggest first


@dataclass(frozen=True, slots=True)
class Start:
    first_ready_s: float
    all_ready_s: float
    cpu_to_ready_s: float  # CPU time of all its threads until both were ready
    memory_kib: dict[str, int]  # the smaps_rollup keys of _ROLLUP_KEYS
    threads: int


@dataclass(slots=True)
class Results:
    checkout: Checkout
    imports: list[Imports] = field(default_factory=list)
    starts: list[Start] = field(default_factory=list)


# --- imports -------------------------------------------------------------------------------------


def parse_importtime(text: str) -> Imports:
    """The ``-X importtime`` lines of ``text`` (stderr) summed up."""
    total = 0
    modules: dict[str, int] = {}
    for line in text.splitlines():
        match = _IMPORT_LINE.match(line)
        if match is None:
            continue  # the header line, or the command's own output
        cumulative, indent, name = int(match[2]), match[3], match[4]
        modules[name] = max(modules.get(name, 0), cumulative)
        if len(indent) == 1:  # "| name": imported by the script itself, not by a module
            total += cumulative
    top = sorted(modules.items(), key=lambda item: -item[1])[:TOP]
    return Imports(total, len(modules), tuple(top))


async def measure_imports(checkout: Checkout) -> Imports:
    process = await asyncio.create_subprocess_exec(
        str(checkout.python),
        *("-X", "importtime", "-m", "gateway", "serve", "--help"),
        cwd=checkout.cwd,
        env=checkout.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{checkout.label}: importtime run failed: {stderr.decode()[-500:]}")
    return parse_importtime(stderr.decode(errors="replace"))


# --- start-up and idle memory --------------------------------------------------------------------


def smaps_rollup(pid: int) -> dict[str, int]:
    """The kB figures of ``/proc/<pid>/smaps_rollup`` (proc(5), Linux 4.14+) named in
    :data:`_ROLLUP_KEYS`."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in _ROLLUP_KEYS:
            figures[key] = int(rest.split()[0])
    return figures


def cpu_seconds(pid: int) -> float:
    """CPU time the process's threads have run, from ``/proc/<pid>/task/*/schedstat`` (its
    first field, in ns): a start-up figure that a busy machine inflates far less than the
    wall-clock one (a thread that ended is left out: the gateway's live as long as it does)."""
    total_ns = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total_ns += int((task / "schedstat").read_text().split()[0])
    return total_ns / 1e9


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


async def _until_ready(stdout: asyncio.StreamReader, started: float) -> tuple[float, float]:
    """Seconds from ``started`` to the first and to the last modem's ``ready`` log line."""
    waiting = {modem.id for modem in MODEMS}
    first: float | None = None
    seen: list[str] = []
    while waiting:
        line = (await stdout.readline()).decode(errors="replace")
        if not line:
            raise RuntimeError("smsgw serve ended before its modems were ready: " + "".join(seen))
        seen = [*seen[-9:], line]
        match = _READY.search(line)
        if match is not None and match["id"] in waiting:
            now = time.perf_counter() - started
            first = now if first is None else first
            waiting.discard(match["id"])
    assert first is not None
    return first, time.perf_counter() - started


async def _drain(stdout: asyncio.StreamReader) -> None:
    # Read on, so that a chatty gateway never blocks on a full pipe while it is measured.
    while await stdout.readline():
        pass


async def measure_start(checkout: Checkout, settle_s: float = SETTLE_S) -> Start:
    with tempfile.TemporaryDirectory(prefix="smsgw-startup-") as name:
        directory = Path(name)
        config = directory / "gateway.toml"
        text = config_text(free_port(), directory / "data", MODEMS, log_level="info")
        config.write_text(text)
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            str(checkout.python),
            *("-m", "gateway", "serve", "--config", str(config)),
            cwd=checkout.cwd,
            env=checkout.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        drain: asyncio.Task[None] | None = None
        try:
            first, last = await asyncio.wait_for(
                _until_ready(process.stdout, started), READY_TIMEOUT_S
            )
            cpu = cpu_seconds(process.pid)
            drain = asyncio.create_task(_drain(process.stdout))
            await asyncio.sleep(settle_s)  # the idle gateway is what is measured
            return Start(first, last, cpu, smaps_rollup(process.pid), thread_count(process.pid))
        finally:
            await stop_process(process)
            if drain is not None:
                drain.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drain


# --- the run and its report ----------------------------------------------------------------------


async def measure(checkouts: Sequence[Checkout], runs: int) -> list[Results]:
    results = [Results(checkout) for checkout in checkouts]
    for checkout in checkouts:
        # A first, unmeasured pass: bytecode written (the simulator's too, imported only once a
        # modem is simulated), the page cache warm.
        await measure_imports(checkout)
        await measure_start(checkout, settle_s=0)
    for index in range(runs):
        # Alternated, and the order flipped every run, so neither checkout always goes first.
        order = results if index % 2 == 0 else results[::-1]
        for result in order:
            result.imports.append(await measure_imports(result.checkout))
            result.starts.append(await measure_start(result.checkout))
    return results


def _spread(values: Sequence[float], unit: str, digits: int = 3) -> str:
    return (
        f"{statistics.median(values):.{digits}f} {unit} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def _mb(kib: float) -> float:
    return kib * 1024 / 1e6


def _row(result: Results) -> list[str]:
    def kib(key: str) -> list[float]:
        return [start.memory_kib[key] / 1024 for start in result.starts]

    return [
        result.checkout.label,
        _spread([imports.total_us / 1e6 for imports in result.imports], "s"),
        str(result.imports[-1].modules),
        _spread([start.first_ready_s for start in result.starts], "s"),
        _spread([start.all_ready_s for start in result.starts], "s"),
        _spread([start.cpu_to_ready_s for start in result.starts], "s"),
        _spread(kib("Rss"), "MiB", 1),
        _spread(kib("Pss"), "MiB", 1),
        f"{statistics.median(kib('Pss_Anon')):.1f} / {statistics.median(kib('Pss_File')):.1f}",
        str(max(start.threads for start in result.starts)),
    ]


_HEADER: Final = (
    "checkout",
    "imports (serve --help)",
    "modules",
    "exec to first modem ready",
    "to both ready",
    "CPU to both ready",
    "idle RSS",
    "idle PSS",
    "PSS anon / file (MiB)",
    "threads",
)


def _top(result: Results) -> str:
    # The medians of each module over the runs, for the modules of the last run's top list.
    names = [name for name, _ in result.imports[-1].top]
    medians = []
    for name in names:
        values = [dict(imports.top).get(name) for imports in result.imports]
        medians.append((name, statistics.median(value for value in values if value is not None)))
    rows = [[name, f"{us / 1000:.1f}"] for name, us in sorted(medians, key=lambda m: -m[1])]
    return markdown_table(("module", "cumulative ms (median)"), rows)


def report(results: Sequence[Results], runs: int, *, cached: bool) -> str:
    method = (
        f"{runs} runs per checkout, alternated; per run one `python -X importtime -m gateway "
        f"serve --help` and one `smsgw serve` with {len(MODEMS)} in-process simulated modems "
        f"and a fresh data directory, its memory read {SETTLE_S:g} s after both were ready; "
        "median (min-max); "
        + (
            "bytecode cached (as a pip-installed release has it)"
            if cached
            else "no bytecode cache: every module compiled from source at every start"
        )
    )
    lines = [
        "## Start-up and idle footprint (`smsgw serve`, two simulated modems)",
        "",
        run_header(method=method),
        *(
            f"- {r.checkout.label}: `{r.checkout.python}` in `{r.checkout.cwd}` "
            f"({_commit(r.checkout.cwd)})"
            for r in results
        ),
        "",
        markdown_table(_HEADER, [_row(result) for result in results]),
        "",
        "- imports: the sum of the top-level cumulative times of `-X importtime` (the "
        "interpreter's own start-up not included); modules: how many it listed.",
        "- ready: from just before the exec to the modem's `ready` log line on stdout; CPU: "
        "what the gateway's threads ran until then (`/proc/<pid>/task/*/schedstat`), less "
        "inflated by a busy machine than the wall clock.",
        "- RSS/PSS: `/proc/<pid>/smaps_rollup`, MiB (2^20 bytes); PSS divides shared pages "
        "among the processes sharing them.",
        "",
        f"Targets (issue 17): a modem ready under {TARGET_READY_S:g} s; idle RSS under "
        f"{TARGET_RSS_MB:g} MB ({TARGET_RSS_MB * 1e6 / 2**20:.1f} MiB).",
    ]
    for result in results:
        lines += ["", f"Biggest imports, {result.checkout.label}:", "", _top(result)]
    return "\n".join(lines)


def _commit(directory: Path) -> str:
    """The commit a checkout is at, ``-dirty`` when its tracked files differ from it."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"


def _checkout(label: str, python: str | None, cwd: str | None, caches: Path | None) -> Checkout:
    directory = Path(cwd).resolve() if cwd else ROOT
    interpreter = Path(python) if python else directory / ".venv" / "bin" / "python"
    if not python and not interpreter.exists():
        interpreter = Path(sys.executable)
    # One bytecode cache per checkout: the same paths are never shared between two trees.
    cache = caches / directory.as_posix().strip("/").replace("/", "_") if caches else None
    return Checkout(label, interpreter, directory, bytecode_env(cache))


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--python", help="the interpreter (default: CWD/.venv/bin/python)")
    parser.add_argument("--cwd", help="the checkout to measure (default: this one)")
    parser.add_argument("--compare", metavar="OTHER", help="also measure the checkout OTHER")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="compile every module from source at every start (PYTHONDONTWRITEBYTECODE=1)",
    )
    args = parser.parse_args(argv)  # none when `python -m bench` runs every benchmark
    with tempfile.TemporaryDirectory(prefix="smsgw-pycache-") as name:
        caches = None if args.no_bytecode_cache else Path(name)
        label = "this" if not args.cwd else Path(args.cwd).name
        checkouts = [_checkout(label, args.python, args.cwd, caches)]
        if args.compare:
            checkouts.insert(0, _checkout(f"base ({args.compare})", None, args.compare, caches))
        results = asyncio.run(measure(checkouts, args.runs))
    print(report(results, args.runs, cached=caches is not None))


if __name__ == "__main__":
    main(sys.argv[1:])

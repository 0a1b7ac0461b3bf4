"""How long a new user waits: from ``git clone`` to the README's first message ``delivered``.

Each run clones this repository afresh (committed work only, as a user would get it), runs
``make run`` in the clone (which creates ``.venv`` and installs the runtime from the package
index), reads the account the gateway prints on its first start, and then does what the README's
Python snippet does: ``client.messages.create`` from alice to bob with the unmodified ``twilio``
client, and ``fetch`` until the status is ``delivered``. Three phases are timed: the clone, the
clone's ``make run`` until it is listening, and the first message until it is delivered.

The ``twilio`` package is this benchmark's own (the user's ``pip install twilio`` is their
machine's, not the gateway's, and is not counted). Port 8080 must be free, as ``make run`` uses
the example configuration. Run it with ``python -m bench.first_delivery [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Final

from twilio.rest import Client  # the client the README tells the user to install

from bench.harness import markdown_table, run_header

REPOSITORY: Final = Path(__file__).resolve().parent.parent
URL: Final = "http://127.0.0.1:8080"
DEADLINE: Final = 300.0  # seconds for one phase: far beyond any healthy run
_SID = re.compile(r"Account SID:\s+(AC[0-9a-f]{32})")
_TOKEN = re.compile(r"Auth token:\s+([0-9a-f]{32})")


class Failed(Exception):
    """A run that did not reach its first delivered message; the text says where it stopped."""


def _clone(target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["git", "clone", "--quiet", f"file://{REPOSITORY}", str(target)],
        check=True,
        timeout=DEADLINE,
    )
    return time.perf_counter() - started


def _read_until_account(process: subprocess.Popen[str]) -> tuple[str, str, float]:
    """The credentials the first start prints, and when ``make run`` said it was listening."""
    assert process.stdout is not None
    started = time.perf_counter()
    listening: float | None = None
    sid = token = None
    seen: list[str] = []
    timer = threading.Timer(DEADLINE, process.kill)
    timer.start()
    try:
        for line in process.stdout:
            seen.append(line)
            if listening is None and "is listening on" in line:
                listening = time.perf_counter() - started
            if found := _SID.search(line):
                sid = found.group(1)
            if found := _TOKEN.search(line):
                token = found.group(1)
            if sid and token and listening is not None:
                return sid, token, listening
    finally:
        timer.cancel()
    raise Failed("make run ended before printing its account:\n" + "".join(seen[-20:]))


def _drain(process: subprocess.Popen[str]) -> None:
    """Keep reading the gateway's output, so that its logging never blocks on a full pipe."""
    assert process.stdout is not None
    for _ in process.stdout:
        pass


def _first_delivered(sid: str, token: str) -> float:
    client = Client(sid, token)
    client.api.base_url = URL
    started = time.perf_counter()
    message = client.messages.create(to="+15550002002", from_="+15550001001", body="Hello Bob!")
    while (status := client.messages(message.sid).fetch().status) != "delivered":
        if status in ("failed", "undelivered", "canceled"):
            raise Failed(f"the first message ended {status}")
        if time.perf_counter() - started > DEADLINE:
            raise Failed(f"the first message was still {status} after {DEADLINE:.0f} s")
        time.sleep(0.02)  # the README's loop, polled finer: this is what is measured
    return time.perf_counter() - started


def one_run() -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="smsgw-first-") as directory:
        clone = Path(directory) / "smsgw"
        cloned = _clone(clone)
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        environment.pop("VIRTUAL_ENV", None)
        process = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
            start_new_session=True,  # make and the gateway it starts are stopped together
        )
        try:
            sid, token, listening = _read_until_account(process)
            threading.Thread(target=_drain, args=(process,), daemon=True).start()
            delivered = _first_delivered(sid, token)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        return cloned, listening, delivered


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.first_delivery", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="fresh clones to time (3)")
    arguments = parser.parse_args(argv)
    rows = []
    for number in range(1, arguments.runs + 1):
        try:
            cloned, listening, delivered = one_run()
        except (Failed, subprocess.SubprocessError, OSError) as exc:
            sys.exit(f"run {number}: {exc}")
        total = cloned + listening + delivered
        rows.append(
            [
                str(number),
                f"{cloned:.2f} s",
                f"{listening:.2f} s",
                f"{delivered * 1000:.0f} ms",
                f"{total:.1f} s",
            ]
        )
    print("## From `git clone` to the first message delivered")
    print()
    print(run_header(method="a fresh clone and a fresh .venv each run; package index local"))
    print()
    header = ["run", "git clone", "make run to listening", "first message delivered", "total"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()

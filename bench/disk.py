"""A small real filesystem to fill: a tmpfs mounted for a run (as root, as in CI), and a file
that takes every byte left on it. Shared by the full-disk tests and the chaos run."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def tmpfs(directory: Path, size: str) -> Iterator[str | None]:
    """Mount a tmpfs of ``size`` (``"16m"``) at ``directory`` (made here) for the block;
    yields ``None``, or why it could not be mounted (this process may not mount)."""
    directory.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory)],
        capture_output=True,
        check=False,
    )
    try:
        yield None if mounted.returncode == 0 else mounted.stderr.decode().strip() or "refused"
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", "-l", str(directory)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem holding ``disk`` has no room left, not one byte."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            with contextlib.suppress(OSError):  # ENOSPC: on to smaller writes
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler

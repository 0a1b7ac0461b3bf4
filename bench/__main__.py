"""``python -m bench`` (``make bench``): run every benchmark listed in :data:`bench.BENCHMARKS`."""

from __future__ import annotations

from bench import run_all

if __name__ == "__main__":
    run_all()

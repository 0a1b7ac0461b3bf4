"""The PostgreSQL store's tests fail, never skip, when the server is unreachable: CI must not
pass by leaving them out (issue 19)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_an_unreachable_server_fails_the_tests_that_need_it(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    test = tmp_path / "test_needs_postgresql.py"
    test.write_text(
        "from tests.postgres import postgresql_url\n\n"
        "__all__ = ['postgresql_url']\n\n"
        "def test_it(postgresql_url: str) -> None:\n"
        "    pass\n"
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--rootdir",
            str(tmp_path),
            str(test),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "SMSGW_TEST_POSTGRESQL": url, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode == 1, done.stdout
    assert "1 error" in done.stdout and "skipped" not in done.stdout
    assert f"PostgreSQL is unreachable at {url}" in done.stdout

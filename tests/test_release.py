"""The release as a Raspberry Pi installs it: ``python -m build`` makes the sdist and the wheel,
the wheel goes into a fresh virtual environment with pip (its dependencies from the package
index), and everything after that runs outside the checkout: ``smsgw init`` writes the
configuration and the systemd files from the installed package, and ``smsgw serve`` answers
``/healthz``."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parent.parent
WAIT = 30.0
# The files a release carries for `smsgw init`, and the checkout's copies they must equal.
SHIPPED = {
    "gateway/deploy/gateway.toml": ROOT / "config" / "gateway.toml",
    "gateway/deploy/smsgw.service": ROOT / "systemd" / "smsgw.service",
    "gateway/deploy/smsgw.sysusers": ROOT / "systemd" / "smsgw.sysusers",
    "gateway/deploy/99-smsgw-modems.rules": ROOT / "systemd" / "99-smsgw-modems.rules",
    # The console's pages and style sheet (package data: no CDN, nothing fetched at run time).
    "gateway/console/templates/base.html": ROOT / "gateway" / "console" / "templates" / "base.html",
    "gateway/console/static/console.css": ROOT / "gateway" / "console" / "static" / "console.css",
}


def run(*argv: str | Path, cwd: Path, timeout: float = 300) -> str:
    # Not this checkout's environment: nothing of it may leak into the installed release.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    result = subprocess.run(
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=env,
    )
    assert result.returncode == 0, (argv, result.stdout, result.stderr)
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv of a machine that installed the wheel and nothing else of the project."""
    where = tmp_path_factory.mktemp("release")
    dist = where / "dist"
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=where)
    wheels = list(dist.glob("smsgw-*-py3-none-any.whl"))
    assert len(wheels) == 1 and list(dist.glob("smsgw-*.tar.gz")), list(dist.iterdir())
    with zipfile.ZipFile(wheels[0]) as wheel:
        for name, source in SHIPPED.items():
            assert wheel.read(name) == source.read_bytes(), name
    venv = where / "opt" / "smsgw" / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=where)
    run(venv / "bin" / "pip", "install", "--quiet", wheels[0], cwd=where)
    return venv


@pytest.mark.network
def test_the_wheel_runs_from_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    python, smsgw = installed / "bin" / "python", installed / "bin" / "smsgw"
    imported = run(python, "-c", "import gateway, drivers; print(gateway.__file__)", cwd=tmp_path)
    assert Path(imported.strip()).is_relative_to(installed), imported
    assert "init" in run(smsgw, "--help", cwd=tmp_path)

    run(smsgw, "init", "etc/gateway.toml", "--data-dir", "var/smsgw", cwd=tmp_path)
    written = (tmp_path / "etc" / "gateway.toml").read_text()
    assert f'data_dir = "{tmp_path / "var" / "smsgw"}"' in written
    run(smsgw, "init", "--systemd", "units", cwd=tmp_path)
    unit = (tmp_path / "units" / "smsgw.service").read_text()
    assert f"ExecStart={smsgw} serve --config /etc/smsgw/gateway.toml " in unit
    for name in ("smsgw.sysusers", "99-smsgw-modems.rules"):
        assert (tmp_path / "units" / name).read_bytes() == (ROOT / "systemd" / name).read_bytes()
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:  # the installed unit names a program that exists: verify passes
        run(analyze, "verify", tmp_path / "units" / "smsgw.service", cwd=tmp_path)


@pytest.mark.network
async def test_the_installed_gateway_serves(installed: Path, tmp_path: Path) -> None:
    smsgw = installed / "bin" / "smsgw"
    await asyncio.to_thread(run, smsgw, "init", "gateway.toml", cwd=tmp_path)
    port = free_port()
    child = await asyncio.create_subprocess_exec(
        smsgw,
        "serve",
        "--config",
        "gateway.toml",
        "--listen",
        f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env={key: value for key, value in os.environ.items() if not key.startswith("PYTHON")},
    )
    assert child.stdout is not None
    try:
        printed: list[str] = []
        while not printed or not printed[-1].startswith("  modem bob"):  # the banner's end
            line = (await asyncio.wait_for(child.stdout.readline(), WAIT)).decode()
            assert line, f"the gateway stopped: {''.join(printed)}"
            printed.append(line)
        assert f"smsgw is listening on http://127.0.0.1:{port}\n" in printed
        log = asyncio.create_task(child.stdout.read())  # read as it comes: a full pipe stalls
        # Ready once the simulated modems are in service: /healthz is what a supervisor polls,
        # and so does the test, with a bound.
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with asyncio.timeout(WAIT):
                while True:
                    async with http.get("/healthz") as reply:
                        if reply.status == 200:
                            health = await reply.json()
                            break
                    await asyncio.sleep(0.05)
            # The console's page and style sheet, from the installed package's data.
            for path in ("/console/sign-in", "/console/static/console.css"):
                async with http.get(path) as reply:
                    assert reply.status == 200, path
        assert health["status"] == "ready", health
        assert (tmp_path / "data" / "smsgw.sqlite3").is_file()  # data_dir: beside the file
    finally:
        child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), WAIT)
    assert child.returncode == 0
    output = "".join(printed) + (await log).decode()
    assert "modem alice (simulated): +15550001001" in output
    assert "ERROR" not in output and "Traceback" not in output, output

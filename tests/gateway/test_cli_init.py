"""``smsgw init`` as a person runs it: a real process writing real files, the configuration it
writes read by the gateway's own loader."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from gateway import config as configuration

ROOT = Path(__file__).resolve().parent.parent.parent
SMSGW = Path(sys.executable).parent / "smsgw"
EXAMPLE = ROOT / "config" / "gateway.toml"
SYSTEMD = ROOT / "systemd"
WAIT = 30.0


def init(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SMSGW), "init", *argv],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        cwd=cwd,
    )


def lines_but(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith(prefix)]


def test_init_writes_the_example_configuration(tmp_path: Path) -> None:
    result = init("etc/gateway.toml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "wrote etc/gateway.toml\n"
    written = tmp_path / "etc" / "gateway.toml"
    text = written.read_text()
    # The example, word for word, but for where the data goes: beside the file.
    assert lines_but(text, "data_dir =") == lines_but(EXAMPLE.read_text(), "data_dir =")
    loaded = configuration.load(written)
    assert loaded.data_dir == tmp_path / "etc" / "data"
    assert [modem.id for modem in loaded.modems] == ["alice", "bob"]


def test_init_sets_the_data_directory_given(tmp_path: Path) -> None:
    # Relative on the command line means relative to where the command runs, as for serve.
    result = init("gateway.toml", "--data-dir", "state/smsgw", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert configuration.load(tmp_path / "gateway.toml").data_dir == tmp_path / "state" / "smsgw"
    odd = tmp_path / 'a "quoted" \\ dir\x7f'
    result = init("other.toml", "--data-dir", str(odd), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert configuration.load(tmp_path / "other.toml").data_dir == odd


def test_init_leaves_an_existing_file_alone_unless_forced(tmp_path: Path) -> None:
    existing = tmp_path / "gateway.toml"
    existing.write_text("# mine\n")
    refused = init(str(existing), cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == f"smsgw init: {existing} exists (--force replaces it)\n"
    assert existing.read_text() == "# mine\n"
    forced = init(str(existing), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert configuration.load(existing).modems


def test_init_writes_the_systemd_files_for_this_installation(tmp_path: Path) -> None:
    result = init("--systemd", "units", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    units = tmp_path / "units"
    assert result.stdout.splitlines() == [
        f"wrote {Path('units') / name}"
        for name in ("smsgw.service", "smsgw.sysusers", "99-smsgw-modems.rules")
    ]
    for name in ("smsgw.sysusers", "99-smsgw-modems.rules"):
        assert (units / name).read_bytes() == (SYSTEMD / name).read_bytes()
    unit = (units / "smsgw.service").read_text()
    shipped = (SYSTEMD / "smsgw.service").read_text()
    assert lines_but(unit, "ExecStart=") == lines_but(shipped, "ExecStart=")
    here = Path(sysconfig.get_path("scripts")) / "smsgw"
    assert f"ExecStart={here} serve --config /etc/smsgw/gateway.toml " in unit
    # That it passes systemd-analyze verify is tests/test_deployment.py's test.


def test_init_writes_nothing_when_one_file_is_in_the_way(tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    (units / "smsgw.sysusers").write_text("u someone\n")
    result = init("gateway.toml", "--systemd", str(units), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"smsgw init: {units / 'smsgw.sysusers'} exists (--force replaces it)\n"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["smsgw.sysusers", "units"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "say what to write: a configuration PATH, or --systemd DIR"),
        (("--systemd", "units", "--data-dir", "data"), "--data-dir goes with a configuration PATH"),
    ],
)
def test_init_says_what_is_missing_in_one_line(
    tmp_path: Path, argv: tuple[str, ...], message: str
) -> None:
    result = init(*argv, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, f"smsgw init: {message}\n")
    assert not list(tmp_path.iterdir())


def test_init_reports_a_path_it_cannot_write_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "etc").write_text("a file, not a folder\n")
    result = init("etc/smsgw/gateway.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "smsgw init: cannot write etc/smsgw: Not a directory\n"


def _checkout_on_path() -> dict[str, str]:
    """An environment for another Python to import this checkout and its dependencies."""
    site = sysconfig.get_path("purelib")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), site])}


def test_init_refuses_a_unit_that_could_not_start_smsgw(tmp_path: Path) -> None:
    # A real interpreter whose scripts folder has a space in its path (systemd would split
    # ExecStart= there), and first no smsgw program in it at all.
    venv = tmp_path / "my venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "python"), "-m", "gateway", "init", "--systemd", "units"],
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
            cwd=tmp_path,
            env=_checkout_on_path(),
        )

    missing = run()
    assert missing.returncode == 1
    assert missing.stderr == (
        f"smsgw init: no smsgw program at {venv / 'bin' / 'smsgw'}: install smsgw with pip first\n"
    )
    shutil.copy(SMSGW, venv / "bin" / "smsgw")
    unsafe = run()
    assert unsafe.returncode == 1
    assert unsafe.stderr.startswith(
        f"smsgw init: a systemd unit cannot start {venv / 'bin' / 'smsgw'} as it is"
    )
    assert len(unsafe.stderr.splitlines()) == 1
    assert not (tmp_path / "units").exists()

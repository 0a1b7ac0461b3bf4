"""``smsgw init``: write a starting configuration, or the systemd files, where the user says.

Both come from the installed package (``gateway/deploy/``: the very files of the checkout's
``config/`` and ``systemd/``), so a machine that installed the release with pip needs no
checkout. A file that exists is left alone unless ``--force`` says to replace it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import sysconfig
from importlib import resources
from pathlib import Path
from typing import Any

from gateway.cli.common import Parser, UsageError

EXIT_FAILURE = 1


class CannotInstall(Exception):
    """This installation cannot give a working unit (exit status 1, not a usage mistake)."""


CONFIG = "gateway.toml"
SYSTEMD_FILES = ("smsgw.service", "smsgw.sysusers", "99-smsgw-modems.rules")
# The program the unit as shipped starts: where the README's steps put it. The unit that init
# writes starts the smsgw installed beside the Python that runs init instead.
UNIT_PROGRAM = "/opt/smsgw/venv/bin/smsgw"
_EXEC_START = f"ExecStart={UNIT_PROGRAM} "
_DATA_DIR = re.compile(r'^data_dir = "[^"\n]*"', re.MULTILINE)
# Characters that systemd reads specially in ExecStart= (quoting, escapes, %-specifiers,
# $-variables: systemd.service(5), "Command lines"): a program path with one of them is refused
# rather than escaped.
_UNIT_UNSAFE = re.compile(r"[\s\"'\\%$;]")


def register(commands: Any) -> None:
    parser: Parser = commands.add_parser(
        "init",
        help="write a starting configuration, or the systemd files",
        description=(
            "Write a starting configuration (two simulated modems; `smsgw detect` prints the "
            "block for a real one) to PATH, and/or the systemd unit, sysusers entry and udev "
            "rules into DIR, the unit starting this installation's smsgw. Files that exist are "
            "left alone unless --force."
        ),
    )
    parser.add_argument(
        "path", nargs="?", type=Path, metavar="PATH", help="the configuration file to write"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="the configuration's data_dir (default: data, beside PATH)",
    )
    parser.add_argument(
        "--systemd",
        type=Path,
        metavar="DIR",
        help="write smsgw.service, smsgw.sysusers and 99-smsgw-modems.rules into DIR",
    )
    parser.add_argument("--force", action="store_true", help="replace files that exist")
    parser.set_defaults(handler=_init, prog=parser.prog)


def _init(args: argparse.Namespace) -> int:
    if args.path is None and args.systemd is None:
        raise UsageError("say what to write: a configuration PATH, or --systemd DIR")
    if args.data_dir is not None and args.path is None:
        raise UsageError("--data-dir goes with a configuration PATH")
    files: dict[Path, str] = {}
    if args.path is not None:
        files[args.path] = configuration(args.data_dir)
    try:
        if args.systemd is not None:
            files.update((args.systemd / name, text) for name, text in systemd_files().items())
    except CannotInstall as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if not args.force:
        # All checked before any is written: a refusal leaves everything as it was.
        for path in files:
            if path.exists():
                raise UsageError(f"{path} exists (--force replaces it)")
    try:
        for path, text in files.items():
            _write(path, text, replace=args.force)
            print(f"wrote {path}")
    except OSError as exc:
        print(f"{args.prog}: cannot write {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def configuration(data_dir: Path | None) -> str:
    """The example configuration, with ``data_dir`` set to ``data_dir`` (absolute once written:
    relative to the working directory, as on the command line), or to ``data`` beside it."""
    where = "data" if data_dir is None else str(data_dir.absolute())
    # A JSON string is a TOML basic string (the same escapes), once DEL is escaped too.
    quoted = json.dumps(where, ensure_ascii=False).replace("\x7f", "\\u007f")
    line = f"data_dir = {quoted}"
    return _DATA_DIR.sub(lambda _: line, _shipped(CONFIG), count=1)


def systemd_files() -> dict[str, str]:
    """The unit, sysusers entry and udev rules, the unit starting this installation's smsgw."""
    files = {name: _shipped(name) for name in SYSTEMD_FILES}
    files["smsgw.service"] = files["smsgw.service"].replace(
        _EXEC_START, f"ExecStart={program()} ", 1
    )
    return files


def program() -> Path:
    """The ``smsgw`` that pip installed with this package (in a virtual environment, its
    ``bin``), not resolved: the environment's own path is what stays valid."""
    path = Path(sysconfig.get_path("scripts")) / "smsgw"
    if not path.is_file():
        raise CannotInstall(f"no smsgw program at {path}: install smsgw with pip first")
    if _UNIT_UNSAFE.search(str(path)):
        raise CannotInstall(
            f"a systemd unit cannot start {path} as it is (spaces, quotes, % or $): "
            "install smsgw in a virtual environment at a plain path, e.g. /opt/smsgw/venv"
        )
    return path


def _shipped(name: str) -> str:
    return (resources.files("gateway") / "deploy" / name).read_text(encoding="utf-8")


def _write(path: Path, text: str, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w" if replace else "x", encoding="utf-8") as file:
        file.write(text)

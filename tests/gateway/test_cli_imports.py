"""``smsgw serve`` keeps no other command's modules in memory (it runs for months on a Pi)."""

from __future__ import annotations

import json
import subprocess
import sys

OTHERS = (
    "gateway.cli.client",
    "gateway.cli.detect",
    "gateway.cli.init",
    "gateway.cli.pdu",
    "gateway.cli.simulate",
    "gateway.cli.simulate_control",
)


def imported_after(argv: list[str]) -> dict[str, bool]:
    """Which of OTHERS a fresh interpreter holds once ``smsgw`` (its ``main``) read ``argv``;
    ``--help`` prints and exits, as argparse does, so nothing is run."""
    script = (
        "import json, sys\n"
        "from gateway import cli\n"
        f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps({{name: name in sys.modules for name in {list(OTHERS)!r}}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded: dict[str, bool] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_serve_imports_no_other_command() -> None:
    assert not any(imported_after(["serve", "--help"]).values())


# What the serve path loads only when it is used (start-up and memory, issue 17): a reload
# (SIGHUP), port detection (`smsgw detect`), pyserial (a serial modem), the simulator (a
# simulated modem), the OpenAPI document (its first GET) and TwiML's reader and XML parser (the
# first answer to a webhook), Jinja2 (the console's first page), psycopg (a PostgreSQL store:
# an optional extra, loaded only with gateway.store.postgresql).
LAZY = (
    "gateway.reload",
    "drivers.modem.detect",
    "serial",
    "serial_asyncio",
    "drivers.simulated",
    "gateway.api.openapi",
    "gateway.webhooks.twiml",
    "xml.etree.ElementTree",
    "jinja2",
    "psycopg",
    "psycopg_pool",
)


def loaded(script: str, names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` a fresh interpreter holds once it ran ``script``."""
    script += (
        f"\nimport json, sys\nprint(json.dumps([n for n in {list(names)!r} if n in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_serve_imports_only_what_an_idle_gateway_needs() -> None:
    script = "from gateway import cli\ncli.build_parser(('serve',))\nimport gateway.runtime"
    assert loaded(script, LAZY) == set()


def test_lazy_parts_still_load_where_they_are_used() -> None:
    script = (
        "import drivers\n"
        "drivers.detect\n"  # smsgw detect's names, through drivers' module __getattr__
        "import asyncio\n"
        "from drivers.at.transport import open_serial\n"
        "from drivers.errors import TransportError\n"
        "try:\n    asyncio.run(open_serial('/nonexistent/tty'))\n"
        "except TransportError:\n    pass\n"
    )
    assert loaded(script, LAZY) == {"drivers.modem.detect", "serial", "serial_asyncio"}


def test_the_whole_command_line_still_knows_every_command() -> None:
    assert all(imported_after(["--help"]).values())


def zoneinfo_loaded(modem: str) -> bool:
    """Whether a fresh interpreter that built the gateway and read a configuration with
    ``modem`` (one ``[[modems]]`` table's keys) holds zoneinfo."""
    script = (
        "import sys\n"
        "import gateway.runtime\n"
        "from gateway.config import parse\n"
        f"parse({{'modems': [{modem}]}})\n"
        "print('zoneinfo' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return done.stdout.split()[-1] == "True"


def test_zoneinfo_is_loaded_only_for_a_plan_s_time_zone() -> None:
    # zoneinfo brings sysconfig's data, about 1 MiB resident for the months `smsgw serve` runs.
    plain = "{'driver': 'simulated', 'numbers': ['+15550001111']}"
    assert not zoneinfo_loaded(plain)
    zoned = plain.replace("}", ", 'quota_time_zone': 'Europe/Berlin'}")
    assert zoneinfo_loaded(zoned)


def simulator_loaded(modem: str) -> bool:
    """Whether a fresh interpreter that made the modem pool of a configuration with ``modem``
    (one ``[[modems]]`` table's keys) holds the simulator."""
    script = (
        "from gateway.config import parse\n"
        "from gateway.modems.pool import ModemPool\n"
        f"ModemPool(parse({{'modems': [{modem}]}}).modems)\n"
    )
    return "drivers.simulated" in loaded(script, ("drivers.simulated",))


def test_the_simulator_is_loaded_only_for_a_simulated_modem() -> None:
    # The simulator is about 1 MiB resident and 35 ms of start-up (issue 17).
    serial = "{'driver': 'serial', 'port': '/dev/ttyUSB2', 'numbers': ['+15550001111']}"
    assert not simulator_loaded(serial)
    assert simulator_loaded("{'driver': 'simulated', 'numbers': ['+15550001111']}")


def test_psycopg_is_loaded_only_with_the_postgresql_store() -> None:
    # A configuration naming PostgreSQL is read without it (the extra may not be installed).
    read = (
        "from gateway.config import parse\n"
        "parse({'store': {'url': 'postgresql://smsgw@db.example/smsgw'}})\n"
    )
    assert loaded(read, ("psycopg", "psycopg_pool")) == set()
    used = "import gateway.store.postgresql"
    assert loaded(used, ("psycopg", "psycopg_pool")) == {"psycopg", "psycopg_pool"}

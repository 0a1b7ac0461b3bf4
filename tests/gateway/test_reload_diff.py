"""What a reloaded configuration changes, in words for the log: a pure function of two
validated configurations."""

from __future__ import annotations

import tomllib
from pathlib import Path

from gateway.config import Config, parse
from gateway.reload import Changes, ModemChange, diff, running

AC = "AC" + "a1" * 16
AC2 = "AC" + "c3" * 16
MG = "MG" + "d4" * 16
BASE = f"""
[gateway]
listen = "127.0.0.1:8080"

[[accounts]]
sid = "{AC}"
auth_token = "secret-token"

[[modems]]
id = "alice"
driver = "simulated"
numbers = ["+15550001001"]

[[modems]]
id = "carol"
driver = "serial"
port = "/dev/ttyUSB0"
numbers = ["+15550003003"]
"""


def config(text: str = BASE, more: str = "") -> Config:
    return parse(tomllib.loads(text + more), Path("/etc/smsgw"))


def test_the_same_configuration_changes_nothing() -> None:
    changes = diff(config(), config())
    assert changes == Changes()
    assert changes.empty and not changes.applied
    assert changes.describe() == "nothing changed"


def test_the_readme_walk_through_a_number_gets_its_webhook() -> None:
    more = '[[numbers]]\nnumber = "+15550001001"\nsms_url = "http://127.0.0.1:9000/sms"\n'
    changes = diff(config(), config(more=more))
    assert changes.numbers == ("+15550001001 sms_url set",)
    assert changes.describe() == "numbers: +15550001001 sms_url set"
    assert changes.applied and not changes.modems_changed


def test_number_settings_changed_and_removed() -> None:
    before = (
        '[[numbers]]\nnumber = "+15550001001"\nsms_url = "http://a.example/sms"\n'
        '[[numbers]]\nnumber = "+15550003003"\nstatus_callback = "http://a.example/s"\n'
    )
    after = (
        '[[numbers]]\nnumber = "+15550001001"\nsms_url = "http://b.example/sms?key=hush"\n'
        'sms_method = "GET"\n'
    )
    changes = diff(config(more=before), config(more=after))
    # URLs may carry credentials: a change is named, never shown.
    assert changes.numbers == (
        "+15550001001 sms_url changed, sms_method GET",
        "+15550003003 status_callback cleared",
    )
    assert "hush" not in changes.describe()


def test_modems_added_removed_and_changed_by_field() -> None:
    after = BASE.replace('port = "/dev/ttyUSB0"', 'port = "/dev/ttyUSB2"\nbaud = 9600').replace(
        'id = "alice"', 'id = "bob"'
    )
    changes = diff(config(), config(after))
    assert (changes.modems_added, changes.modems_removed) == (("bob",), ("alice",))
    assert changes.modems_changed == (ModemChange("carol", ("port", "baud")),)
    assert changes.describe() == "modems: added bob, removed alice, changed carol (port, baud)"


def test_a_pin_is_named_not_shown() -> None:
    after = BASE.replace('port = "/dev/ttyUSB0"', 'port = "/dev/ttyUSB0"\npin = "4321"')
    changes = diff(config(), config(after))
    assert changes.modems_changed == (ModemChange("carol", ("pin",)),)
    assert "4321" not in changes.describe()


def test_services_prices_and_accounts() -> None:
    service = (
        f'[[services]]\nsid = "{MG}"\nname = "Alerts"\nnumbers = ["+15550001001"]\n'
        '[prices.per_part]\n"+1" = 0.0079\n'
    )
    changes = diff(config(), config(more=service))
    assert changes.services == (f"added {MG} (Alerts)",)
    assert changes.prices
    changed = (
        BASE.replace("secret-token", "another-secret")
        + f'[[accounts]]\nsid = "{AC2}"\nauth_token = "t2"\n'
        + service.replace('"+15550001001"]', '"+15550001001", "+15550003003"]').replace(
            "0.0079", "0.01"
        )
    )
    changes = diff(config(more=service), config(changed))
    assert changes.services == (f"changed {MG} (Alerts) (numbers)",)
    assert changes.accounts == (f"added {AC2}", f"changed {AC} (auth_token)")
    assert changes.prices
    assert "another-secret" not in changes.describe()
    assert diff(config(changed), config()).accounts == (
        f"removed {AC2}",
        f"changed {AC} (auth_token)",
    )
    assert diff(config(changed), config()).services == (f"removed {MG} (Alerts)",)


def test_live_gateway_keys_are_listed_with_their_values() -> None:
    timing = BASE.replace(
        'listen = "127.0.0.1:8080"',
        'listen = "127.0.0.1:8080"\nwebhook_timeout = 5\nlog_level = "debug"\nmax_connections = 9',
    )
    changes = diff(config(), config(timing))
    assert changes.settings == (
        "log_level info -> debug",
        "webhook_timeout 15 -> 5",
        "max_connections unset -> 9",
    )
    assert changes.restart == ()


def test_keys_read_at_start_wait_for_the_next_start() -> None:
    moved = BASE.replace("127.0.0.1:8080", "0.0.0.0:8443")
    moved = moved.replace("[gateway]", '[gateway]\ndata_dir = "/srv/sms"\nmax_request_bytes = 8192')
    old, new = config(), config(moved)
    changes = diff(old, new)
    assert changes.restart == (
        "listen 127.0.0.1:8080 -> 0.0.0.0:8443",
        "data_dir /etc/smsgw/data -> /srv/sms",
        "max_request_bytes 65536 -> 8192",
    )
    assert not changes.applied  # nothing else changed: nothing to apply now
    kept = running(old, new)
    assert (kept.listen, kept.data_dir, kept.max_request_bytes) == (
        "127.0.0.1:8080",
        Path("/etc/smsgw/data"),
        65536,
    )
    # Still pending at the next reload: it is reported again until a start takes it.
    assert diff(kept, config(moved)).restart == changes.restart


def test_running_takes_every_other_key_from_the_new_configuration() -> None:
    more = '[[numbers]]\nnumber = "+15550001001"\nsms_url = "http://127.0.0.1:9000/sms"\n'
    new = config(BASE.replace("127.0.0.1:8080", "0.0.0.0:8443"), more)
    kept = running(config(), new)
    assert kept.numbers == new.numbers
    assert kept.listen == "127.0.0.1:8080"
    assert diff(kept, new).applied is False


def test_the_console_waits_for_the_next_start() -> None:
    off = config(BASE + "\n[console]\nenabled = false\n")
    changes = diff(config(), off)
    assert changes.restart == ("console on -> off",)
    assert running(config(), off).console.enabled  # its routes are the application's


def test_a_new_store_waits_for_the_next_start_and_is_named_without_its_password() -> None:
    moved = BASE + '\n[store]\nurl = "postgresql://smsgw:s3cret@db.example/smsgw"\n'
    old, new = config(), config(moved)
    changes = diff(old, new)
    assert changes.restart == (
        "store sqlite (data_dir) -> postgresql://smsgw:***@db.example/smsgw",
    )
    assert running(old, new).store == old.store

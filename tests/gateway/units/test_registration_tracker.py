"""What the registration reports and polls say of service and roaming (TS 27.007 §7.2 <stat>:
1 home, 5 roaming), as :class:`~gateway.modems.health.RegistrationTracker` keeps them."""

from __future__ import annotations

from drivers import Registration
from gateway.modems.health import RegistrationTracker

HOME, ROAMING, NONE = Registration(1), Registration(5), Registration(0)


def test_roaming_is_every_network_it_is_registered_on_being_visited() -> None:
    tracker = RegistrationTracker()
    assert (tracker.registered, tracker.roaming) == (True, False)  # assumed until told
    tracker.polled(ROAMING)
    assert (tracker.registered, tracker.roaming) == (True, True)
    # An LTE modem: no circuit-switched network (+CREG: 0), roaming on E-UTRAN (+CEREG: 5).
    tracker.update("+CREG", NONE)
    tracker.update("+CEREG", ROAMING)
    assert (tracker.registered, tracker.roaming) == (True, True)
    tracker.update("+CREG", HOME)  # home on one: it is home
    assert (tracker.registered, tracker.roaming) == (True, False)
    tracker.polled(NONE)
    assert (tracker.registered, tracker.roaming) == (False, False)

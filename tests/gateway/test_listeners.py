"""One failing listener neither silences the others nor reaches the one announcing."""

from __future__ import annotations

import logging

import pytest

from gateway.listeners import Listeners


def test_a_failing_listener_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[tuple[str, int]] = []
    listeners: Listeners[[str, int]] = Listeners("a deferral")

    def broken(_sid: str, _attempts: int) -> None:
        raise RuntimeError("listener bug")

    listeners.subscribe(lambda sid, attempts: heard.append((sid, attempts)))
    listeners.subscribe(broken)
    listeners.subscribe(lambda sid, attempts: heard.append((sid, -attempts)))
    with caplog.at_level(logging.ERROR, logger="gateway.listeners"):
        listeners.announce("SM1", 2)  # does not raise
    assert heard == [("SM1", 2), ("SM1", -2)]
    assert [r.getMessage() for r in caplog.records] == ["a listener of a deferral failed"]
    assert caplog.records[0].exc_info is not None


def test_unsubscribe_stops_it_even_during_an_announcement() -> None:
    heard: list[str] = []
    listeners: Listeners[[str]] = Listeners("a message")
    unsubscribe_second = listeners.subscribe(lambda sid: heard.append("second " + sid))

    def first(sid: str) -> None:
        heard.append("first " + sid)
        unsubscribe_second()

    unsubscribe_first = listeners.subscribe(first)
    listeners.announce("SM1")  # "second" subscribed first, so it already heard this one
    listeners.announce("SM2")
    assert heard == ["second SM1", "first SM1", "first SM2"]
    unsubscribe_first()
    unsubscribe_first()  # twice is harmless
    listeners.announce("SM3")
    assert heard == ["second SM1", "first SM1", "first SM2"]
    assert len(listeners) == 0

"""Listeners: who hears of an event, each isolated from the others and from the one telling.

A listener is someone else's code: a failing one must neither keep the next from hearing nor
break the flow that announced the event (the dispatcher's worker, the receiver's pump, the
modem supervisor). So every announcement goes through :class:`Listeners`, which logs a failure
with the event's name and goes on: the same isolation the driver gives its own event
subscribers (:meth:`drivers.modem.GsmModem.subscribe`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, ParamSpec

log = logging.getLogger(__name__)

P = ParamSpec("P")


class Listeners(Generic[P]):
    """The callbacks that hear of one kind of event, called in the order they subscribed."""

    __slots__ = ("_callbacks", "_event")

    def __init__(self, event: str) -> None:
        self._event = event  # for the log: which announcement a failing listener broke
        self._callbacks: list[Callable[P, object]] = []

    def subscribe(self, callback: Callable[P, object]) -> Callable[[], None]:
        """Call ``callback`` on each announcement from now on; returns the unsubscribe (which
        may be called more than once)."""
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def announce(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener; one that raises is logged and the others still hear it."""
        # A copy: a listener may unsubscribe (itself or another) while it is called.
        for callback in tuple(self._callbacks):
            try:
                callback(*args, **kwargs)
            except Exception:
                log.exception("a listener of %s failed", self._event)

    def __len__(self) -> int:
        return len(self._callbacks)

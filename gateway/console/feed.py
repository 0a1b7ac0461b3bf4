"""What the console's open pages hear as it happens (server-sent events, gateway.console.live):
a message's status change or arrival, a modem's state, the queue's counts.

Fed by the gateway's own announcements, the same ones the webhook sender and the routing hear
(the dispatcher's status changes, the receiver's inbound messages, each modem's state): no
page asks the database in a loop. One task (the pump) reads what an announcement needs once,
whoever watches, and hands each open stream the events of its own account only.

Each stream has a bounded queue (:data:`QUEUE_LIMIT`): a browser that does not read its
events is cut off, so it never makes the gateway's memory grow (its EventSource connects
again and the page reloads what it shows). A stream ends when its session does (sign-out,
expiry, changed credentials) and at the gateway's stop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from gateway.api.handlers.smsgw import account_modems
from gateway.api.keys import ApiParts
from gateway.console.sessions import Sessions
from gateway.domain.errors import StoreError
from gateway.domain.models import ERROR_MESSAGES, Message, Status
from gateway.modems.supervisor import ModemHandle
from gateway.store import QueueCounts

log = logging.getLogger(__name__)

# Events waiting for one browser: a page takes a few a second at most; more than this and the
# browser is not reading (a suspended tab, a stalled link), so it is cut off.
QUEUE_LIMIT: Final = 64
# A comment line this often, so that a proxy or a NAT between does not close a quiet stream
# (the HTML Standard's server-sent events section suggests about every 15 seconds).
HEARTBEAT: Final = 15.0
# Streams open at once, all sessions together: each holds one of max_concurrent_requests
# (256 by default), so that open pages never take the API's share.
MAX_STREAMS: Final = 64
# The latest events, kept to be sent again to a page that connects: what happened between its
# rendering and its stream's opening (a compose's redirect, a reply) is not lost; and what a
# browser missed while it reconnected (after its Last-Event-ID). Applying one twice changes
# nothing (a status set again, a message already shown), so a page takes the latest
# REPLAY_WINDOW seconds' on its first connection.
REPLAY: Final = 256
REPLAY_WINDOW: Final = 60.0
REPLAYED: Final = QUEUE_LIMIT // 2  # at most, to one stream as it opens
# Status changes waiting for the pump: a burst larger than this is not shown live (the pages
# show it at their next load); the gateway's memory stays bounded whatever the traffic.
PENDING_LIMIT: Final = 4096


@dataclass(eq=False, slots=True)
class Stream:
    """One open page's events, as the bytes of ``text/event-stream`` (``None``: the end)."""

    token: str  # its session's
    account: str  # what it may see
    abort: Callable[[], None]  # cuts its connection (a stalled writer would never return)
    queue: asyncio.Queue[bytes | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT + 1)  # + 1: room for the end
    )
    writing: bool = False  # a write to its browser is under way
    ended: bool = False

    def push(self, chunk: bytes) -> None:
        if self.ended:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            log.info("console: a live page that does not read its events is cut off")
            self.end(cut=True)
            return
        self.queue.put_nowait(chunk)

    def end(self, *, cut: bool = False) -> None:
        if self.ended:
            return
        self.ended = True
        while not self.queue.empty():  # what it did not take is dropped with it
            self.queue.get_nowait()
        self.queue.put_nowait(None)
        if cut or self.writing:
            self.abort()


def event(number: int, name: str, data: object) -> bytes:
    """One server-sent event (HTML Standard §9.2.6): JSON has no raw newline, so its data is
    one ``data:`` line; its id is what the browser's EventSource sends back as Last-Event-ID
    when it connects again."""
    text = json.dumps(data, separators=(",", ":"))
    return f"id: {number}\nevent: {name}\ndata: {text}\n\n".encode()


@dataclass(frozen=True, slots=True)
class _Sent:
    number: int
    at: float  # time.monotonic()
    account: str | None  # None: for every account (the queue's counts)
    chunk: bytes


HEARTBEAT_CHUNK: Final = b": heartbeat\n\n"


class LiveFeed:
    def __init__(self, api: ApiParts, sessions: Sessions, queue: QueueCounts | None) -> None:
        self._api = api
        self._sessions = sessions
        self._queue_counts = queue  # None: no store to count (the page shows none)
        self._streams: set[Stream] = set()
        self._pending: collections.deque[tuple[str, Status]] = collections.deque()
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._last_queue: dict[str, int] | None = None
        self._last_modems: dict[str, list[dict[str, Any]]] = {}  # by account
        self._stopped = False
        self._numbers = itertools.count(1)
        self._replay: collections.deque[_Sent] = collections.deque(maxlen=REPLAY)
        self._monotonic = time.monotonic
        sessions.ended.subscribe(self._session_ended)

    # --- the streams -------------------------------------------------------------------------

    def open(
        self, token: str, account: str, abort: Callable[[], None], after: int | None = None
    ) -> Stream | None:
        """A new stream for a session, with the account's latest events (after event
        ``after``, the browser's Last-Event-ID; else those of the last REPLAY_WINDOW
        seconds); ``None`` when too many are open, or at the stop."""
        if self._stopped or len(self._streams) >= MAX_STREAMS:
            return None
        stream = Stream(token, account, abort)
        since = self._monotonic() - REPLAY_WINDOW
        missed = [
            sent.chunk
            for sent in self._replay
            if sent.account in (None, account)
            and (sent.number > after if after is not None else sent.at >= since)
        ]
        for chunk in missed[-REPLAYED:]:  # the latest: a new stream is never cut at once
            stream.push(chunk)
        self._streams.add(stream)
        self._start()
        return stream

    def _start(self) -> None:
        if not self._stopped and (self._pump is None or self._pump.done()):
            self._pump = asyncio.get_running_loop().create_task(self._run(), name="console feed")

    def close(self, stream: Stream) -> None:
        stream.end()
        self._streams.discard(stream)
        if not any(s.account == stream.account for s in self._streams):
            self._last_modems.pop(stream.account, None)

    def __len__(self) -> int:
        return len(self._streams)

    async def stop(self) -> None:
        """Every stream ends now (the gateway stops: no open page may hold its stop)."""
        self._stopped = True
        for stream in tuple(self._streams):
            stream.end()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    def _session_ended(self, token: str) -> None:
        for stream in tuple(self._streams):
            if stream.token == token:
                stream.end()

    # --- what the gateway announces (synchronous listeners: quick, never raising) -------------

    def status_changed(self, sid: str, status: Status) -> None:
        """A message's status changed (the dispatcher's announcement): its account's pages
        hear of it once the pump has read it."""
        # Kept while someone is signed in, streams open or not: a page between two (a form's
        # redirect) gets what it missed (the replay).
        if len(self._sessions) == 0 or len(self._pending) >= PENDING_LIMIT:
            return
        self._pending.append((sid, status))
        self._wake.set()
        self._start()

    def received(self, message: Message) -> None:
        """An inbound message was committed (the receiver's announcement)."""
        if len(self._sessions) > 0:
            self._send(message.account_sid, "message", message_event(message))

    def attach(self, handle: ModemHandle) -> None:
        """Follow a modem's state (at start, and a modem a reload added or reopened)."""
        handle.on_state(lambda _state: self._modems_changed())

    def _modems_changed(self) -> None:
        for account in {stream.account for stream in self._streams}:
            modems = [modem_event(modem) for modem in account_modems(self._api, account)]
            if modems != self._last_modems.get(account):
                self._last_modems[account] = modems
                self._send(account, "modems", modems)

    # --- the pump ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopped:
            woken = True
            try:
                async with asyncio.timeout(HEARTBEAT):
                    await self._wake.wait()
            except TimeoutError:
                woken = False
            self._wake.clear()
            try:
                await self._statuses()
                if not woken:
                    self._beat()
            except StoreError as exc:
                log.warning("console: live updates skip a status change: %s", exc)
            except Exception:  # a fault of ours: logged, and the pages go on being fed
                log.exception("console: the live updates failed")

    async def _statuses(self) -> None:
        changed = bool(self._pending)
        while self._pending:
            sid, _status = self._pending.popleft()
            for account in self._sessions.accounts():
                # Which account it is: the one whose lookup finds it (another's is None).
                message = await self._api.store.get_message(account, sid)
                if message is not None:
                    self._send(account, "message", message_event(message))
                    break
        if changed and self._queue_counts is not None:
            counts = await self._queue_counts.queue_counts()
            if counts != self._last_queue:
                self._last_queue = counts
                self._send(None, "queue", counts)

    def _beat(self) -> None:
        """A heartbeat for each stream; the ones whose session has expired since end, and
        the modems' signal read by their health checks goes out if it changed."""
        for stream in tuple(self._streams):
            if not self._sessions.alive(stream.token):
                stream.end()
            else:
                stream.push(HEARTBEAT_CHUNK)
        self._modems_changed()

    def _send(self, account: str | None, name: str, data: object) -> None:
        """An event to the streams of ``account`` (``None``: every one), kept for replay."""
        number = next(self._numbers)
        chunk = event(number, name, data)
        self._replay.append(_Sent(number, self._monotonic(), account, chunk))
        for stream in tuple(self._streams):
            if account is not None and stream.account != account:
                continue
            if self._sessions.alive(stream.token):
                stream.push(chunk)
            else:
                stream.end()


def message_event(message: Message) -> dict[str, Any]:
    """What a page shows of a message as it changes (its account's pages only)."""
    error_text = None
    if message.error_code is not None:
        error_text = ERROR_MESSAGES.get(message.error_code, message.error_message)
    return {
        "sid": message.sid,
        "status": message.status.value,
        "direction": message.direction.value,
        "from": message.from_,
        "to": message.to,
        "body": message.body,
        "date": (message.date_sent or message.date_created).isoformat(),
        "error_code": message.error_code,
        "error_text": error_text,
    }


def modem_event(modem: dict[str, Any]) -> dict[str, Any]:
    """A modem's card as the overview shows it (gateway.console.views)."""
    # Here, not at the top: the views import the parts, which build the feed.
    from gateway.console.views import _modem_view  # noqa: PLC0415

    return _modem_view(modem)

"""The running gateway: store, accounts, modems, dispatcher and HTTP API, started and stopped
together (``smsgw serve``, and the tests, which run it in-process on a real port), and taken
to a new configuration while it runs (:meth:`Gateway.reload`, on ``SIGHUP``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.accounts.applications import Applications
from gateway.accounts.numbers import PhoneNumbers
from gateway.api import tls
from gateway.api.app import create_app
from gateway.api.auth import Authenticator
from gateway.api.connections import (
    ConnectionGuard,
    GuardedRunner,
    GuardedSite,
    HttpLimits,
    connection_cap,
    open_file_limit,
)
from gateway.api.keys import ApiParts, RequestLimits
from gateway.api.observability import Observability
from gateway.clock_state import ClockWatcher
from gateway.config import Account, Config
from gateway.console import ConsoleParts, console_app
from gateway.console.app import PREFIX as CONSOLE_PREFIX
from gateway.domain.errors import GatewayError, StoreError
from gateway.domain.models import Status, new_sid
from gateway.domain.records import PhoneNumber
from gateway.inbound.calls import CallReceiver
from gateway.inbound.receiver import InboundReceiver
from gateway.memory import give_back_freed_memory
from gateway.metrics import Metrics
from gateway.modems.pool import ModemPool, PoolChanges
from gateway.modems.supervisor import ModemHandle
from gateway.outbound.accept import Outbound
from gateway.outbound.dispatcher import Dispatcher, utcnow
from gateway.outbound.reports import ReportTimer
from gateway.outbound.routing import ServiceRouter
from gateway.retention import Pruner
from gateway.store import Audit, Store
from gateway.store.sqlite import SqliteStore
from gateway.tasks import Tasks
from gateway.webhooks.replies import TwimlReplies
from gateway.webhooks.sender import WebhookSender

if TYPE_CHECKING:
    from gateway import reload as reloading

log = logging.getLogger(__name__)


def configured_store(config: Config) -> Store:
    """The store ``[store]`` names. The PostgreSQL store (:mod:`gateway.store.postgresql`)
    has only its foundation so far: a gateway on it would have no queue, so it is refused
    here, before anything starts, rather than serving half an API."""
    if config.store.url is None:
        return SqliteStore(config.data_dir)
    raise StoreError(
        "the PostgreSQL store is not complete yet (issue 19): this smsgw keeps its messages "
        f"in SQLite only; remove [store] url ({config.store}) to use the SQLite file in "
        f"{config.data_dir}"
    )


def generate_account() -> Account:
    return Account(new_sid("AC"), secrets.token_hex(16))


class Gateway:
    """The composition root: every part built here, each given its collaborators when it is
    made, and started and stopped in dependency order by the aiohttp application's cleanup
    contexts (:meth:`_resources`): each resource's start, and in reverse order its stop."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], datetime] = utcnow,
        store: Store | None = None,
        tasks: Tasks | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.metrics = Metrics()  # every flow's counters, read by /metrics
        self.store: Store = store or configured_store(config)
        self.tasks = tasks or Tasks()  # every long-lived task, restarted if it fails
        self.modems = ModemPool(config.modems, health_interval=config.health_interval)
        self.dispatcher = Dispatcher(
            self.store,
            self.modems,
            clock,
            prices=config.prices,
            tasks=self.tasks,
            metrics=self.metrics,
        )
        # report_timeout 0: a sent message waits for its delivery report for ever.
        self.reports = (
            ReportTimer(
                self.store, timedelta(hours=config.report_timeout), clock, self.metrics, self.tasks
            )
            if config.report_timeout > 0
            else None
        )
        # retention_days 0: every message is kept for ever.
        self.pruner = (
            Pruner(self.store, config.retention_days, clock, self.metrics, self.tasks)
            if config.retention_days > 0
            else None
        )
        # The system clock's state and jumps (issue 20), read from the real wall and monotonic
        # clocks: a test's injected ``clock`` is moved at will and is no system clock.
        self.clock_watcher = ClockWatcher(self.tasks)
        self.applications = Applications(self.store, clock)
        self.numbers = PhoneNumbers(config, self.store, clock, self.applications)
        self.outbound = Outbound(
            config, self.store, self.modems, self.dispatcher, clock, applications=self.applications
        )
        self.webhooks = WebhookSender(
            self.store,
            TwimlReplies(self.outbound),
            clock,
            timeout=config.webhook_timeout,
            max_attempts=config.webhook_attempts,
            tasks=self.tasks,
            metrics=self.metrics,
        )
        self.inbound = InboundReceiver(
            config,
            self.store,
            self.modems,
            self.webhooks,
            self.numbers,
            clock=clock,
            account_of=self._owner_of_modem,
            tasks=self.tasks,
            metrics=self.metrics,
        )
        # Calls to the modems: hung up, and reported to their number's VoiceUrl.
        self.calls = CallReceiver(
            self.store, self.webhooks, self.numbers, clock=clock, metrics=self.metrics
        )
        self.services = ServiceRouter(
            config,
            self.store,
            self.modems,
            self.outbound,
            self.dispatcher,
            clock=clock,
            tasks=self.tasks,
            metrics=self.metrics,
        )
        # Status changes are committed with their callbacks: the sender takes them at once.
        self.dispatcher.on_status(lambda _sid, _status: self.webhooks.wake())
        if (reports := self.reports) is not None:
            self.dispatcher.on_status(
                lambda _sid, status: reports.sent() if status is Status.SENT else None
            )
        self.outbound.callbacks_committed.subscribe(self.webhooks.wake)
        self.outbound.senders_wanted.subscribe(self.services.wake)
        # One place to hear of every outbound status change, whoever committed it.
        self.inbound.on_report(
            lambda match: (
                self.dispatcher.announce(match.sid, match.status)
                if match.sid is not None and match.status is not None
                else None
            )
        )
        self.connections = ConnectionGuard(_http_limits(config))
        self.request_limits = RequestLimits(config.max_concurrent_requests, config.body_timeout)
        self.authenticator = Authenticator(())
        self.observability = Observability(
            self.store,
            self.modems,
            self.webhooks,
            self.metrics,
            self.tasks,
            connections=self.connections,
            quotas=self.dispatcher.quotas,
            clock=self.clock_watcher,
        )
        api_parts = ApiParts(
            self.authenticator,
            self.outbound,
            self.store,
            self.modems,
            self.numbers,
            self.applications,
        )
        mounts: dict[str, web.Application] = {}
        self.console: ConsoleParts | None = None  # [console] enabled = false: no console
        if config.console.enabled:
            self.console = ConsoleParts(
                api_parts,
                self.observability,
                # What the store keeps of a message, for its page: where the engine offers it.
                self.store if isinstance(self.store, Audit) else None,
                clock,
                # The cookie is Secure when the gateway serves TLS itself; behind a TLS proxy
                # the browser sees https and keeps it all the same (README: The console).
                secure=config.tls_cert is not None,
                wake_webhooks=self.webhooks.wake,
                parts_sent=self.store.parts_sent,
            )
            mounts[CONSOLE_PREFIX] = console_app(self.console)
            # The console's open pages hear what the flows announce (gateway.console.feed).
            self.dispatcher.on_status(self.console.live.status_changed)
            self.inbound.on_message(self.console.live.received)
            for handle in self.modems.handles.values():
                self.console.live.attach(handle)
        self.app = create_app(
            api_parts, config.max_request_bytes, self.request_limits, self.observability, mounts
        )
        self.app.cleanup_ctx.extend(self._resources())
        self.accounts: tuple[Account, ...] = ()
        self.generated: Account | None = None  # created by this start: show it once
        self.port = config.port
        self.scheme = "http"
        self._runner: web.AppRunner | None = None
        self._running = False
        self._reload_lock = asyncio.Lock()  # one reload at a time
        self._reload: asyncio.Task[reloading.Changes] | None = None  # the one under way
        self._retiring: list[ModemHandle] = []  # taken out by a reload, not yet stopped

    # --- start and stop ----------------------------------------------------------------------

    def _resources(self) -> list[Callable[[web.Application], AsyncIterator[None]]]:
        """One cleanup context per resource, in the order they start (each needs those
        before it); they stop in the reverse order, after the listener has closed."""

        async def store(_app: web.Application) -> AsyncIterator[None]:
            await self.store.open()
            yield
            await self.store.close()  # last: everything else may still commit until then

        async def accounts(_app: web.Application) -> AsyncIterator[None]:
            self.accounts = await self._load_accounts(self.config)
            await self.outbound.start(default_account=self.accounts[0].sid)
            await self.applications.load()
            await self.numbers.load(self.accounts[0].sid)
            self.authenticator.reconfigure(self.accounts)
            yield

        async def webhooks(_app: web.Application) -> AsyncIterator[None]:
            self.webhooks.start(_tokens(self.accounts))
            yield
            await self.webhooks.stop()

        async def receiving(_app: web.Application) -> AsyncIterator[None]:
            self.inbound.start()  # before the modems: it hears each one's first connection
            self.calls.start(self.modems.handles.values())
            self.modems.start(self.tasks)
            yield
            await self.calls.stop()
            await self.inbound.stop()
            await self.modems.stop()
            for handle in self._retiring:
                await handle.stop()
            self._retiring.clear()

        async def dispatcher(_app: web.Application) -> AsyncIterator[None]:
            self.dispatcher.start()
            if self.reports is not None:
                self.reports.start()
            if self.pruner is not None:
                self.pruner.start()
            yield
            if self.pruner is not None:
                await self.pruner.stop()
            if self.reports is not None:
                await self.reports.stop()
            # No new part started; the part on the air given its grace to be committed.
            await self.dispatcher.stop(self.config.shutdown_grace)

        async def services(_app: web.Application) -> AsyncIterator[None]:
            self.services.start()
            yield
            await self.services.stop()

        async def timekeeping(_app: web.Application) -> AsyncIterator[None]:
            self.clock_watcher.start()
            yield
            await self.clock_watcher.stop()

        return [timekeeping, store, accounts, webhooks, receiving, dispatcher, services]

    async def start(self) -> None:
        runner = self._runner = GuardedRunner(self.app, self.connections)
        try:
            await runner.setup()  # the resources, in order
            await self._listen(runner)
        except BaseException:
            await self.stop()
            raise
        self._running = True
        log.info(
            "started: listening on %s, modems %s",
            self.base_url,
            ", ".join(self.modems.handles) or "none",
        )
        if self.scheme == "http" and tls.beyond_this_machine(self.config.host):
            log.warning(
                "listening on %s, which other machines can reach, over plain HTTP: credentials "
                "and messages cross the network readable; set tls_cert and tls_key in "
                "[gateway] or put a TLS reverse proxy in front (README: Exposing the gateway "
                "beyond this machine)",
                f"{self.config.host}:{self.port}",
            )
        give_back_freed_memory()

    async def _listen(self, runner: GuardedRunner) -> None:
        context = tls.server_context(self.config)
        site = GuardedSite(runner, self.config.host, self.config.port, context)
        try:
            await site.start()
        except OSError as exc:
            raise GatewayError(
                f"cannot listen on {self.config.listen}: {exc.strerror or exc}"
            ) from exc
        if runner.addresses:
            self.port = runner.addresses[0][1]
        self.scheme = "https" if context is not None else "http"

    def _owner_of_modem(self, modem_id: str) -> str:
        """The account owning a modem's numbers; for one a reload removed, the account it had
        (a modem removed before this start: the first account)."""
        config = self.modems.config_of(modem_id)
        return self.outbound.owner(config.account if config else None)

    async def _load_accounts(self, config: Config) -> tuple[Account, ...]:
        if config.accounts:
            return config.accounts
        stored = await self.store.accounts()
        if stored:
            return tuple(stored)
        account = generate_account()
        await self.store.add_account(account)
        self.generated = account
        return (account,)

    async def stop(self) -> None:
        """A clean stop (SIGTERM): no new requests (those under way are answered), no new
        part started, the part on the air given ``shutdown_grace`` seconds to be answered and
        committed; then everything ends. Nothing accepted is lost: what is left is resumed
        at the next start. A reload under way ends where it is: the stop finishes it."""
        log.info("stopping")
        self._running = False
        reload = self._reload
        if reload is not None:
            reload.cancel()
            await asyncio.wait([reload])
        runner, self._runner = self._runner, None
        if runner is not None:
            # The listener closes first, the requests under way are answered, then each
            # resource stops in the reverse order of its start (the store last).
            try:
                await runner.cleanup()
            except Exception:
                log.exception("stopping: a part of the gateway failed to stop cleanly")
        log.info("stopped")

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.config.host}:{self.port}"

    # --- reload ------------------------------------------------------------------------------

    async def reload(self, new: Config) -> reloading.Changes:
        """Run on with ``new`` (validated; ``SIGHUP``) and say what changed, in the log too.

        Everything that can is applied at once, in one step between two requests: numbers,
        services, prices, accounts, the live ``[gateway]`` keys, and the modems, of which only
        those added, removed or changed are opened or closed (a changed one is closed, its part
        on the air given ``shutdown_grace`` as at a stop, and opened again); an untouched modem
        is not touched. The keys read only at start keep their values until the next start,
        with a warning. Nothing accepted is lost: a removed modem's messages wait in the
        database for its return (or their validity period), but those of a Messaging Service,
        which move to a ready modem of their service. Raises :class:`StoreError` before
        anything changed if the database refuses what the new configuration needs."""
        async with self._reload_lock:
            if not self._running:
                raise GatewayError("the gateway is not running: nothing to reload")
            task = asyncio.get_running_loop().create_task(self._apply(new), name="reload")
            self._reload = task
            try:
                return await task
            finally:
                self._reload = None

    async def _apply(self, new: Config) -> reloading.Changes:
        # Only on SIGHUP: a gateway that is never reloaded does not keep the comparison of two
        # configurations resident (start-up and memory, issue 17).
        from gateway import reload as reloading  # noqa: PLC0415

        changes = reloading.diff(self.config, new)
        for change in changes.restart:
            log.warning("configuration: %s takes effect at the next start", change)
        if not changes.applied:
            log.info(
                "configuration reloaded: nothing %schanged", "else " if changes.restart else ""
            )
            return changes
        new = reloading.running(self.config, new)
        # What can fail (the database) first, while nothing has changed yet.
        accounts = await self._load_accounts(new)
        await self.outbound.add_modems(changes.modems_added)
        records = await self.numbers.records(new, accounts[0].sid)
        pool = self._swap(new, accounts, records)
        log.info("configuration reloaded: %s", changes.describe())
        await asyncio.gather(
            *(self._retire(handle) for handle in pool.removed),
            *(self._retire(old, then=fresh) for old, fresh in pool.replaced),
        )
        return changes

    def _swap(
        self, new: Config, accounts: tuple[Account, ...], records: dict[str, PhoneNumber]
    ) -> PoolChanges:
        """Every part of the gateway to ``new``, with no await: no request or task sees half a
        configuration. The modems taken out are stopped afterwards (:meth:`_retire`)."""
        self.config, self.accounts = new, accounts
        pool = self.modems.reconfigure(new.modems)
        self._retiring += [*pool.removed, *(old for old, _ in pool.replaced)]
        if self.modems.health_interval != new.health_interval:
            self.modems.set_health_interval(new.health_interval)
        self.outbound.reconfigure(new, accounts[0].sid)
        self.dispatcher.reconfigure(new.prices)
        self.inbound.reconfigure(new)
        self.services.reconfigure(new)
        self.numbers.reconfigure(new, records)
        self.authenticator.reconfigure(accounts)
        self.webhooks.reconfigure(
            _tokens(accounts), timeout=new.webhook_timeout, max_attempts=new.webhook_attempts
        )
        self.request_limits.max_concurrent = new.max_concurrent_requests
        self.request_limits.body_timeout = new.body_timeout
        self.connections.reconfigure(_http_limits(new))
        for handle in pool.added:
            self._start_modem(handle)
        return pool

    def _start_modem(self, handle: ModemHandle) -> None:
        self.inbound.attach(handle)  # before it starts: it hears the first connection
        self.calls.attach(handle)
        handle.start(self.tasks)
        self.dispatcher.attach(handle)
        self.services.attach(handle)
        if self.console is not None:
            self.console.live.attach(handle)

    async def _retire(self, old: ModemHandle, *, then: ModemHandle | None = None) -> None:
        """Stop a modem a reload took out, as a stop does: its part on the air, and what it
        announced, get up to ``shutdown_grace`` seconds; then start ``then`` in its place."""
        grace = self.config.shutdown_grace
        await asyncio.gather(self.dispatcher.detach(old.id, grace), self._drain(old.id, grace))
        await old.stop()
        await self.inbound.detach(old.id)
        await self.calls.detach(old.id)
        self.services.detach(old.id)
        self._retiring.remove(old)
        if then is not None:
            self._start_modem(then)
            return
        try:
            await self.services.removed(old.id)
        except StoreError as exc:
            log.warning("%s was removed; its messages wait: %s", old.id, exc)

    async def _drain(self, modem_id: str, grace: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.inbound.drain(modem_id)


def _tokens(accounts: tuple[Account, ...]) -> dict[str, str]:
    """The key each account's webhooks are signed with."""
    return {account.sid: account.auth_token for account in accounts}


def _http_limits(config: Config) -> HttpLimits:
    return HttpLimits(
        head_timeout=config.head_timeout,
        body_timeout=config.body_timeout,
        idle_timeout=config.idle_timeout,
        max_connections=connection_cap(config.max_connections, open_file_limit()),
    )

"""A running gateway taken to a new configuration (what ``SIGHUP`` does), in-process: numbers,
services, prices, accounts and the ``[gateway]`` keys take effect at once; keys read only at
start wait for the next one. The modems have tests of their own (test_reload_modems.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from drivers.simulated.network import Fate, HandsetRule
from gateway.config import Account, ModemConfig, NumberConfig, ServiceConfig
from gateway.domain.errors import ApiError
from gateway.domain.pricing import PriceTable
from gateway.modems.supervisor import ModemState
from gateway.runtime import Gateway
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    OTHER_ACCOUNT,
    Inbox,
    Statuses,
    basic_auth,
    config,
    put_on_sim,
    running,
)
from tests.gateway.raw_http import Connection, request
from tests.gateway.webhook_receiver import Receiver

HANDSET = "+447700900123"
SERVICE = "MG" + "d4" * 16
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    yield receiver
    await receiver.stop()


async def test_the_readme_walk_through_a_number_added_gets_its_webhooks(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with running(config(tmp_path)) as gateway:
        inbox = Inbox(gateway)
        gateway.modems.network.inject(BOB, HANDSET, "before the reload")
        await inbox.wait(1)
        assert (await gateway.store.webhook_states(ACCOUNT.sid)).counts["pending"] == 0

        settings = NumberConfig(BOB, sms_url=receiver.url())
        changes = await gateway.reload(replace(gateway.config, numbers=(settings,)))

        assert changes.describe() == f"numbers: {BOB} sms_url set"
        gateway.modems.network.inject(BOB, HANDSET, "after the reload")
        (webhook,) = await receiver.wait(1)
        assert (webhook.params["Body"], webhook.signed) == ("after the reload", True)
        (number,) = [n for n in gateway.numbers.of_account(ACCOUNT.sid) if n.number == BOB]
        assert number.sms_url == receiver.url()  # what IncomingPhoneNumbers shows


async def test_settings_changed_over_the_api_still_win_over_the_file(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with running(config(tmp_path)) as gateway:
        (alice,) = [n for n in gateway.numbers.of_account(ACCOUNT.sid) if n.number == ALICE]
        await gateway.numbers.update(alice, {"SmsUrl": receiver.url("/api")})
        numbers = (
            NumberConfig(ALICE, sms_url=receiver.url("/file")),
            NumberConfig(BOB, sms_url=receiver.url("/file")),
        )
        await gateway.reload(replace(gateway.config, numbers=numbers))
        for number, path in ((ALICE, "/api"), (BOB, "/file")):
            destination = gateway.numbers.destination(number)
            assert destination is not None
            assert destination.sms_url == receiver.url(path)


async def test_a_service_added_sends_and_a_service_removed_is_refused(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        form = {"To": HANDSET, "MessagingServiceSid": SERVICE, "Body": "through a service"}
        with pytest.raises(ApiError) as refused:
            await gateway.outbound.create(ACCOUNT.sid, form)
        assert refused.value.code == 21701

        gateway.modems.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))  # ends "sent"
        service = ServiceConfig(SERVICE, "Alerts", (ALICE, BOB))
        changes = await gateway.reload(replace(gateway.config, services=(service,)))
        assert changes.services == (f"added {SERVICE} (Alerts)",)
        statuses = Statuses(gateway)
        message = await gateway.outbound.create(ACCOUNT.sid, form)
        sent = await statuses.final(message.sid)
        assert (sent.status, sent.messaging_service_sid) == ("sent", SERVICE)
        assert sent.from_ in (ALICE, BOB)

        await gateway.reload(replace(gateway.config, services=()))
        with pytest.raises(ApiError) as refused:
            await gateway.outbound.create(ACCOUNT.sid, form)
        assert refused.value.code == 21701


async def test_prices_reloaded_price_the_next_message(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        statuses = Statuses(gateway)
        form = {"To": HANDSET, "From": ALICE, "Body": "what does it cost"}
        unpriced = await statuses.final((await gateway.outbound.create(ACCOUNT.sid, form)).sid)
        prices = PriceTable("EUR", (("+44", Decimal("0.04")),))
        changes = await gateway.reload(replace(gateway.config, prices=prices))
        assert changes.prices
        priced = await statuses.final((await gateway.outbound.create(ACCOUNT.sid, form)).sid)
        assert (unpriced.price, priced.price, priced.price_unit) == (None, "-0.04000", "EUR")


async def test_default_region_reloaded_reads_the_next_national_number(tmp_path: Path) -> None:
    """[gateway] default_region is a live key: the next To is read with it (issue 14: "to turn
    national numbers into E.164 with a configured default_region ... without it, national
    numbers are refused with 21211")."""
    async with running(config(tmp_path)) as gateway:
        statuses = Statuses(gateway)
        gateway.modems.network.set_rule(HANDSET, HandsetRule(Fate.NO_REPORT))  # ends "sent"
        form = {"To": "07700 900123", "From": ALICE, "Body": "a national number"}
        with pytest.raises(ApiError) as refused:
            await gateway.outbound.create(ACCOUNT.sid, form)
        assert refused.value.code == 21211
        assert "default_region" in refused.value.message

        changes = await gateway.reload(replace(gateway.config, default_region="GB"))
        assert changes.settings == ("default_region unset -> GB",)
        message = await gateway.outbound.create(ACCOUNT.sid, form)
        assert message.to == HANDSET
        assert (await statuses.final(message.sid)).status == "sent"

        await gateway.reload(replace(gateway.config, default_region=None))
        with pytest.raises(ApiError) as refused:
            await gateway.outbound.create(ACCOUNT.sid, form)
        assert refused.value.code == 21211


async def test_accounts_reloaded_decide_who_may_call_and_how_webhooks_are_signed(
    tmp_path: Path,
) -> None:
    renewed = replace(ACCOUNT, auth_token="a-renewed-auth-token")
    receiver = Receiver(renewed.auth_token)  # checks signatures made with the new token only
    await receiver.start()
    try:
        numbers = (NumberConfig(BOB, sms_url=receiver.url()),)
        async with (
            running(config(tmp_path, numbers=numbers)) as gateway,
            aiohttp.ClientSession(gateway.base_url) as http,
        ):
            assert (await http.get(MESSAGES, headers=basic_auth(ACCOUNT))).status == 200
            others = gateway.config.accounts[1:]
            changes = await gateway.reload(replace(gateway.config, accounts=(renewed, *others)))

            assert changes.accounts == (f"changed {ACCOUNT.sid} (auth_token)",)
            assert (await http.get(MESSAGES, headers=basic_auth(ACCOUNT))).status == 401
            assert (await http.get(MESSAGES, headers=basic_auth(renewed))).status == 200
            gateway.modems.network.inject(BOB, HANDSET, "signed anew")
            (webhook,) = await receiver.wait(1)
            assert webhook.signed
    finally:
        await receiver.stop()


async def test_an_account_added_may_call_at_once_and_one_removed_no_more(tmp_path: Path) -> None:
    newcomer = Account("AC" + "e5" * 16, "the-newcomers-token")
    modems = (ModemConfig("alice", "simulated", (ALICE,)), ModemConfig("bob", "simulated", (BOB,)))
    async with (
        running(config(tmp_path, *modems)) as gateway,
        aiohttp.ClientSession(gateway.base_url) as http,
    ):

        async def status(account: Account) -> int:
            path = MESSAGES.replace(ACCOUNT.sid, account.sid)
            return (await http.get(path, headers=basic_auth(account))).status

        assert (await status(newcomer), await status(OTHER_ACCOUNT)) == (401, 200)
        changes = await gateway.reload(replace(gateway.config, accounts=(ACCOUNT, newcomer)))
        assert changes.accounts == (f"added {newcomer.sid}", f"removed {OTHER_ACCOUNT.sid}")
        assert (await status(newcomer), await status(OTHER_ACCOUNT)) == (200, 401)


async def test_webhook_timeout_and_attempts_apply_to_the_next_attempt(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.hold = {"/hangs"}  # a receiver that never answers
    numbers = (NumberConfig(BOB, sms_url=receiver.url("/hangs")),)
    async with running(config(tmp_path, numbers=numbers)) as gateway:
        statuses = Statuses(gateway)
        changes = await gateway.reload(
            replace(gateway.config, webhook_timeout=0.2, webhook_attempts=1)
        )
        assert changes.settings == ("webhook_timeout 15 -> 0.2", "webhook_attempts 10 -> 1")
        gateway.modems.network.inject(BOB, HANDSET, "to a receiver that hangs")
        await receiver.wait(1)
        # Given up after its one attempt of 0.2 s (the old 15 s would outlast this wait).
        await asyncio.wait_for(statuses.webhook_outcomes(1), 5.0)
        assert (statuses.outcomes, gateway.metrics.webhook_give_ups) == (["TimeoutError"], 1)


async def test_health_checks_start_when_a_reload_sets_their_interval(tmp_path: Path) -> None:
    async with running(config(tmp_path, health_interval=0.0)) as gateway:
        handle = gateway.modems.handles["alice"]
        statuses = Statuses(gateway)
        # The network goes, silently: only a health check can find it out.
        gateway.modems.simulated["alice"].registration = 0
        await gateway.reload(replace(gateway.config, health_interval=0.05))
        await statuses.modem_reached("alice", ModemState.NO_SERVICE)
        assert handle.health is not None and handle.health.registration is not None


async def test_a_sweep_interval_reloaded_counts_from_the_reload(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:  # the next sweep 600 s away
        inbox = Inbox(gateway)
        await gateway.inbound.settled()  # the sweep of the connection is done
        ((pdu, length),) = gateway.modems.network.inbound_pdus(HANDSET, "stored, unannounced")
        put_on_sim(gateway.modems.simulated["bob"], [(pdu, length)])
        await gateway.reload(replace(gateway.config, sweep_interval=0.05))
        (message,) = await inbox.wait(1)
        assert message.body == "stored, unannounced"


async def test_reassembly_timeout_reloaded_applies_to_parts_already_waiting(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with running(config(tmp_path), clock=clock) as gateway:
        inbox = Inbox(gateway)
        gateway.modems.network.inject(BOB, HANDSET, "two parts, one lost " * 10, order=[1])
        await gateway.inbound.settled()
        clock.advance(60)  # the default 600 s are not over; 30 s would be
        await gateway.reload(replace(gateway.config, reassembly_timeout=30.0))
        (message,) = await inbox.wait(1)
        assert (message.error_code, message.num_segments) == (30009, 1)


async def test_http_timeouts_reloaded_apply_to_new_connections(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        await gateway.reload(replace(gateway.config, idle_timeout=0.2, body_timeout=0.2))
        silent = await Connection.open("127.0.0.1", gateway.port)
        try:
            assert await silent.closed_by_server()  # idle: 60 s before the reload
        finally:
            await silent.close()
        slow = await Connection.open("127.0.0.1", gateway.port)
        try:
            auth = f"Authorization: {basic_auth()['Authorization']}"
            form = "Content-Type: application/x-www-form-urlencoded"
            await slow.send(request("POST", MESSAGES, auth, form, "Content-Length: 10"))
            assert (await slow.reply()).status == 408  # its body: 30 s before the reload
        finally:
            await slow.close()


async def test_max_concurrent_requests_reloaded_applies_to_the_next_request(
    tmp_path: Path,
) -> None:
    async with (
        running(config(tmp_path)) as gateway,
        aiohttp.ClientSession(gateway.base_url) as http,
    ):
        await gateway.reload(replace(gateway.config, max_concurrent_requests=1))
        # A request under way holds the one place: its body is still to come.
        held = await Connection.open("127.0.0.1", gateway.port)
        try:
            auth = f"Authorization: {basic_auth()['Authorization']}"
            form = "Content-Type: application/x-www-form-urlencoded"
            await held.send(request("POST", MESSAGES, auth, form, "Content-Length: 10"))
            # One event loop: the held request's bytes, in the gateway's socket already, are
            # read before this request's connection is even accepted.
            reply = await http.get(MESSAGES, headers=basic_auth())
            assert (reply.status, (await reply.json())["code"]) == (429, 20429)
        finally:
            await held.close()


async def test_keys_read_at_start_wait_for_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(config(tmp_path / "data", shutdown_grace=1.0)) as gateway:
        port, data_dir = gateway.port, gateway.config.data_dir
        moved = replace(gateway.config, port=9, data_dir=tmp_path / "elsewhere")
        with caplog.at_level(logging.INFO, logger="gateway.runtime"):
            changes = await gateway.reload(replace(moved, shutdown_grace=2.0))
        assert changes.restart == (
            "listen 127.0.0.1:0 -> 127.0.0.1:9",
            f"data_dir {data_dir} -> {tmp_path / 'elsewhere'}",
        )
        assert (gateway.port, gateway.config.data_dir, gateway.config.port) == (port, data_dir, 0)
        assert gateway.config.shutdown_grace == 2.0  # the rest is applied
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == [
            "configuration: listen 127.0.0.1:0 -> 127.0.0.1:9 takes effect at the next start",
            f"configuration: data_dir {data_dir} -> {tmp_path / 'elsewhere'} takes effect at "
            "the next start",
        ]
        assert "configuration reloaded: gateway: shutdown_grace 1 -> 2" in caplog.messages


async def test_a_reload_that_changes_nothing_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(config(tmp_path)) as gateway:
        handles = dict(gateway.modems.handles)
        with caplog.at_level(logging.INFO, logger="gateway.runtime"):
            changes = await gateway.reload(replace(gateway.config))
        assert changes.empty
        assert gateway.modems.handles == handles
        assert "configuration reloaded: nothing changed" in caplog.messages


async def test_a_gateway_not_running_refuses_a_reload(tmp_path: Path) -> None:
    gateway = Gateway(config(tmp_path))
    with pytest.raises(Exception, match="not running"):
        await gateway.reload(gateway.config)

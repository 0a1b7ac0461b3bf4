"""Accounts are walled off: what OTHER_ACCOUNT (carol's modem) sends never shows in ACCOUNT's
list, fetch or filters, through the ``twilio`` client or on the wire, and the reverse.

Messages go to numbers outside the gateway, so no inbound copy lands in either account."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.gateway.api_rig import (
    ASYNC_CLIENT_WARNINGS,
    EXTERNAL,
    EXTERNAL_2,
    Api,
    SdkFactory,
    assert_twilio_error,
    message_path,
    messages_path,
    raw_client,
)
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, CAROL, OTHER_ACCOUNT

pytestmark = ASYNC_CLIENT_WARNINGS


async def test_each_account_sees_only_its_own(api: Api, sdks: SdkFactory) -> None:
    alice, carol = sdks.account(ACCOUNT), sdks.account(OTHER_ACCOUNT)
    theirs = [
        await carol.create(to=EXTERNAL, from_=CAROL, body="carol 1"),
        await carol.create(to=EXTERNAL_2, from_=CAROL, body="carol 2"),
    ]
    ours = await alice.create(to=EXTERNAL, from_=ALICE, body="alice")
    for message in [*theirs, ours]:
        await api.statuses.final(message.sid, ACCOUNT if message is ours else OTHER_ACCOUNT)
    today = api.clock().date()

    queries: list[dict[str, Any]] = [
        {},
        {"to": EXTERNAL},
        {"to": EXTERNAL_2},
        {"from_": CAROL},
        {"from_": ALICE},
        {"date_sent": today},
        {"date_sent_after": date(2000, 1, 1)},
        {"page_size": 1},
    ]
    for params in queries:
        mine = [message.sid for message in await alice.read(**params)]
        assert set(mine) <= {ours.sid}, params
        assert set(mine).isdisjoint(message.sid for message in theirs)
        others = [message.sid for message in await carol.read(**params)]
        assert ours.sid not in others, params

    assert [message.sid for message in await carol.read()] == [m.sid for m in theirs[::-1]]
    for message in theirs:
        with pytest.raises(TwilioRestException) as refused:
            await alice.fetch(message.sid)
        assert (refused.value.code, refused.value.status) == (20404, 404)
    with pytest.raises(TwilioRestException) as refused:
        await carol.fetch(ours.sid)
    assert (refused.value.code, refused.value.status) == (20404, 404)


async def test_on_the_wire_a_foreign_sid_looks_like_no_sid(api: Api) -> None:
    async with raw_client(api, OTHER_ACCOUNT) as carol, raw_client(api, ACCOUNT) as alice:
        path = messages_path(OTHER_ACCOUNT)
        async with carol.post(path, data={"To": EXTERNAL, "From": CAROL, "Body": "x"}) as reply:
            assert reply.status == 201
            theirs = (await reply.json())["sid"]
        unknown = "SM" + "0" * 32
        bodies = []
        for sid in (theirs, unknown):
            async with alice.get(message_path(sid)) as reply:
                body = await reply.json()
            assert_twilio_error(body, 404, 20404)
            bodies.append(body["message"].replace(sid, "<sid>"))
        assert bodies[0] == bodies[1]  # nothing tells "exists elsewhere" from "does not exist"
        # Carol's message through her account's path, with alice's credentials: 401.
        async with alice.get(message_path(theirs, OTHER_ACCOUNT)) as reply:
            assert_twilio_error(await reply.json(), 401, 20003)
        # Paging from carol's message as a token: the same refusal as from no message at all.
        refusals = []
        for sid in (theirs, unknown):
            async with alice.get(messages_path(), params={"PageToken": "PA" + sid}) as reply:
                body = await reply.json()
            assert_twilio_error(body, 400, 20001)
            refusals.append(body["message"].replace(sid, "<sid>"))
        assert refusals[0] == refusals[1]
        # A page token carol was given is no token of alice's list.
        async with carol.get(path, params={"PageSize": "1"}) as reply:
            assert reply.status == 200
        async with carol.post(path, data={"To": EXTERNAL, "From": CAROL, "Body": "y"}) as reply:
            assert reply.status == 201
        async with carol.get(path, params={"PageSize": "1"}) as reply:
            token = parse_qs(urlsplit((await reply.json())["next_page_uri"]).query)["PageToken"]
        async with alice.get(messages_path(), params={"PageToken": token[0]}) as reply:
            assert_twilio_error(await reply.json(), 400, 20001)


async def test_an_account_sees_only_the_modems_that_carry_its_numbers(api: Api) -> None:
    # A modem's status names its SIM (IMSI, IMEI), its numbers and its errors: its owner's.
    seen = {}
    for account in (ACCOUNT, OTHER_ACCOUNT):
        async with raw_client(api, account) as http, http.get("/smsgw/modems.json") as reply:
            assert reply.status == 200
            seen[account.sid] = {modem["id"]: modem["numbers"] for modem in await reply.json()}
    assert seen[ACCOUNT.sid] == {"alice": [ALICE], "bob": [BOB]}
    assert seen[OTHER_ACCOUNT.sid] == {"carol": [CAROL]}

"""A message's page over a real socket (issue 18: "its parts with their PDUs decoded, the status
timeline with times, each part's delivery report and what TP-ST means, ... its webhooks and
callbacks with each attempt's response"), and the messages list's date filters, against a real
gateway with simulated modems and a real webhook receiver."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from gateway.domain.attempt_log import KEPT
from gateway.domain.models import Segment, Status
from tests.fakes import records
from tests.gateway import test_console_http, test_console_webhooks_http
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, Inbox, Statuses
from tests.gateway.test_console_http import ESCAPED, HANDSET, XSS_BODIES, Console, send
from tests.gateway.test_console_webhooks_http import Rigged
from tests.gateway.webhook_receiver import Answer

# The fixtures: a signed-out console on a gateway; one whose Bob's webhook answers 500.
console = test_console_http.console
rigged = test_console_webhooks_http.rigged

# TS 23.040 §9.2.3.15, as the page words TP-ST 0x00.
DELIVERED_TP_ST = "0x00: short message received by the SME (transaction completed)"


def attempts_listed(page: str) -> list[str]:
    found = re.search(r'<ol class="attempts"[^>]*>(.*?)</ol>', page, re.S)
    assert found is not None, page
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S)


async def test_a_delivered_message_shows_its_parts_decoded_report_and_timeline(
    console: Console,
) -> None:
    statuses = Statuses(console.gateway)
    body = "A long one, " + "x" * 160  # two parts: a concatenation header each
    sid = await send(console, ACCOUNT, BOB, body)
    await statuses.reached(sid, Status.DELIVERED)
    await console.sign_in()
    page = await console.page(f"/console/messages/{sid}")

    assert page.count("SMS-SUBMIT") == 2
    assert f"<dt>TP-DA (destination)</dt><dd>{BOB}</dd>" in page
    assert "<dt>TP-SRR (report requested)</dt><dd>yes</dd>" in page
    assert re.search(r"part 1 of 2, reference \d+ \(8-bit\)", page)
    assert "part 2 of 2" in page
    assert "GSM-7" in page
    assert page.count(f"TP-ST {DELIVERED_TP_ST}") == 2
    assert "discharged 20" in page  # TP-DT, as the network's report gave it
    timeline = page[page.index('id="timeline-heading"') : page.index('id="parts-heading"')]
    order = ["created", "sending", "part 1 sent", "part 2 sent", "sent", "delivered"]
    positions = [timeline.index(f"<strong>{what}</strong>") for what in order]
    assert positions == sorted(positions), timeline
    assert "<strong>part 1: delivered</strong>" in timeline
    # Its status callbacks: none asked for; the section says so.
    section = page[page.index('id="webhooks-heading"') :]
    assert "None." in section


async def test_an_inbound_message_with_markup_decodes_its_part_as_text(console: Console) -> None:
    inbox = Inbox(console.gateway)
    console.gateway.modems.network.inject(BOB, HANDSET, XSS_BODIES[1])
    (received,) = await inbox.wait()
    sid = received.sid
    await console.sign_in()
    page = await console.page(f"/console/messages/{sid}")
    assert "SMS-DELIVER" in page
    assert f"<dt>TP-OA (originator)</dt><dd>{HANDSET}</dd>" in page
    assert "TP-SCTS (SC time stamp)" in page
    assert f'<dd class="body decoded-text">{ESCAPED[1]}</dd>' in page
    assert "<img src=x" not in page
    timeline = page[page.index('id="timeline-heading"') :]
    assert "<strong>part 1 received</strong>" in timeline
    assert "<strong>received</strong>" in timeline


async def test_an_undecodable_pdu_says_why_and_shows_it_escaped(console: Console) -> None:
    made = replace(
        records.message(at=console.clock()),
        account_sid=ACCOUNT.sid,
        from_=ALICE,
        to=HANDSET,
        status=Status.CANCELED,  # never sent: no worker takes it
        modem=None,
    )
    await console.gateway.store.create_message(made, [Segment(1, "0011<b>", 3)])
    await console.sign_in()
    page = await console.page(f"/console/messages/{made.sid}")
    assert '<span class="problem">not decodable: ' in page
    assert "0011&lt;b&gt;" in page and "0011<b>" not in page
    assert "<strong>canceled</strong>" in page


async def test_a_webhooks_attempts_are_listed_the_last_ten_with_errors_escaped(
    rigged: Rigged,
) -> None:
    """Bob's inbound webhook answered 500, one attempt each, then "retry now" again and
    again: the page lists its last ten attempts, each with its time, what came back and the URL
    it went to, the URL shown as scheme://host:port only."""
    console, receiver, gateway = rigged.console, rigged.receiver, rigged.console.gateway
    gateway.modems.network.inject(BOB, HANDSET, "are you there?")
    (message,) = await rigged.inbox.wait(1)
    await rigged.statuses.webhook_outcomes(1)
    await console.sign_in()
    csrf = await console.csrf()
    (given_up,) = await gateway.store.account_webhooks(ACCOUNT.sid, "failed")
    for attempt in range(2, KEPT + 3):
        async with console.http.post(
            f"/console/webhooks/{given_up.id}/retry", data={"csrf_token": csrf}
        ) as reply:
            assert reply.status == 200  # followed to the webhooks page
        await rigged.statuses.webhook_outcomes(attempt)
    page = await console.page(f"/console/messages/{message.sid}")
    listed = attempts_listed(page)
    assert len(listed) == KEPT  # of 12
    where = receiver.url("/sms").removesuffix("/sms")
    assert all(f'primary URL: <span class="wrap">HTTP 500 from {where}</span>' in a for a in listed)
    assert receiver.url("/sms") not in page  # no path, no query: they may hold secrets
    section = page[page.index('id="webhooks-heading"') :]
    assert "<dd>inbound webhook</dd>" in section and "<dd>given up</dd>" in section

    # What an error says is shown as text (a receiver's or a library's words).
    later = console.clock() + timedelta(seconds=1)
    await gateway.store.webhook_failed(given_up.id, 13, XSS_BODIES[0], later)
    page = await console.page(f"/console/messages/{message.sid}")
    assert "<script>alert(1)" not in page
    assert page.count(ESCAPED[0]) == 2  # the last error and the last attempt
    assert attempts_listed(page)[-1].endswith(f'<span class="wrap">{ESCAPED[0]}</span>')
    receiver.answers["/sms"] = Answer()


async def test_the_messages_filter_by_date_sent(console: Console) -> None:
    statuses = Statuses(console.gateway)
    first = await send(console, ACCOUNT, BOB, "on the first day")
    await statuses.reached(first, Status.DELIVERED)
    console.clock.advance(2 * 86400)
    second = await send(console, ACCOUNT, BOB, "two days later")
    await statuses.reached(second, Status.DELIVERED)
    day1 = (console.clock() - timedelta(days=2)).date().isoformat()
    day3 = console.clock().date().isoformat()
    await console.sign_in()

    on_day1 = await console.page(f"/console/messages?sent_on={day1}")
    assert first in on_day1 and second not in on_day1
    assert f'id="sent_on" name="sent_on" type="date" value="{day1}"' in on_day1
    since = await console.page(f"/console/messages?sent_after={day3}")
    assert second in since and first not in since
    before = await console.page(f"/console/messages?sent_before={day3}")
    assert first in before and second not in before
    both = await console.page(f"/console/messages?sent_after={day1}&to=%2B15550002002")
    assert first in both and second in both
    refused = await console.page("/console/messages?sent_before=2024-13-01", 400)
    assert "Sent up to: &#39;2024-13-01&#39; is not a date such as 2024-05-31." in refused
    await console.page("/console/messages?sent_on=yesterday", 400)

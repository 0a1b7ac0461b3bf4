"""Messaging TwiML as a webhook receiver answers it (``gateway.webhooks.twiml.parse``): the verbs,
their attributes, relative URLs, and Twilio's error codes for what is not valid TwiML."""

from __future__ import annotations

import pytest

from gateway.webhooks.twiml import (
    MAX_DOCUMENT,
    MAX_MESSAGES,
    Redirect,
    ReplyMessage,
    TwimlError,
    parse,
)

BASE = "https://example.com:8443/hooks/sms?account=7"


def only_message(document: str) -> ReplyMessage:
    parsed = parse(document, BASE)
    assert parsed.redirect is None
    (message,) = parsed.messages
    return message


def test_the_text_of_a_message_is_its_body() -> None:
    message = only_message("<Response><Message>Thanks, got it!</Message></Response>")
    assert message == ReplyMessage(
        body="Thanks, got it!", to=None, from_=None, action=None, method="POST"
    )


def test_the_body_element_and_an_xml_declaration() -> None:
    # What twilio's own MessagingResponse writes: a declaration and <Body>.
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><Message><Body>Ünïcödé 😀 &amp; &lt;tags&gt;</Body></Message></Response>"
    )
    assert only_message(document).body == "Ünïcödé 😀 & <tags>"


def test_body_wins_over_loose_text() -> None:
    message = only_message("<Response><Message>ignored<Body>kept</Body></Message></Response>")
    assert message.body == "kept"


def test_the_attributes() -> None:
    message = only_message(
        '<Response><Message to="+15550002002" from="+15550001001" '
        'action="https://status.example.org/cb" method="get">hi</Message></Response>'
    )
    assert (message.to, message.from_) == ("+15550002002", "+15550001001")
    assert (message.action, message.method) == ("https://status.example.org/cb", "GET")


def test_status_callback_is_the_old_name_of_action() -> None:
    old = only_message('<Response><Message statusCallback="/old">x</Message></Response>')
    assert old.action == "https://example.com:8443/old"
    both = only_message(
        '<Response><Message action="/new" statusCallback="/old">x</Message></Response>'
    )
    assert both.action == "https://example.com:8443/new"


@pytest.mark.parametrize(
    ("action", "resolved"),
    [
        ("status", "https://example.com:8443/hooks/status"),
        ("/status", "https://example.com:8443/status"),
        ("../status?x=1", "https://example.com:8443/status?x=1"),
        ("//other.example.net/cb", "https://other.example.net/cb"),
        ("http://plain.example.net/cb", "http://plain.example.net/cb"),
    ],
)
def test_relative_action_urls_resolve_against_the_webhook_url(action: str, resolved: str) -> None:
    message = only_message(f'<Response><Message action="{action}">x</Message></Response>')
    assert message.action == resolved


def test_several_messages_keep_their_order() -> None:
    parsed = parse(
        "<Response><Message>one</Message><Sms>two</Sms><Message>three</Message></Response>",
        BASE,
    )
    assert [m.body for m in parsed.messages] == ["one", "two", "three"]


@pytest.mark.parametrize("document", ["", "   \n\t", "<Response/>", "<Response></Response>"])
def test_an_empty_answer_sends_nothing(document: str) -> None:
    parsed = parse(document, BASE)
    assert (parsed.messages, parsed.redirect) == ((), None)


def test_a_redirect_resolves_and_ends_the_document() -> None:
    parsed = parse(
        "<Response><Message>before</Message>"
        '<Redirect method="get">next.xml</Redirect>'
        "<Message>never</Message><Say>never read either</Say></Response>",
        BASE,
    )
    assert [m.body for m in parsed.messages] == ["before"]
    assert parsed.redirect == Redirect("https://example.com:8443/hooks/next.xml", "GET")


def test_a_redirect_posts_by_default() -> None:
    parsed = parse("<Response><Redirect> https://x.example/twiml </Redirect></Response>", BASE)
    assert parsed.redirect == Redirect("https://x.example/twiml", "POST")


def test_ten_messages_are_allowed() -> None:
    document = "<Response>" + "<Message>m</Message>" * MAX_MESSAGES + "</Response>"
    assert len(parse(document, BASE).messages) == MAX_MESSAGES == 10


@pytest.mark.parametrize(
    ("document", "code", "says"),
    [
        ("OK", 12100, "not well-formed XML"),
        ('{"reply": "hi"}', 12100, "not well-formed XML"),
        ("<Response><Message>unclosed</Response>", 12100, "not well-formed XML"),
        ("<html><body>hello</body></html>", 12100, "the root element is <html>"),
        ('<Response><Message method="PUT">x</Message></Response>', 12100, "'PUT'"),
        ('<Response><Redirect method="DELETE">/x</Redirect></Response>', 12100, "'DELETE'"),
        ("<Response><Redirect/></Response>", 12100, "<Redirect> has no URL"),
        ("<Response><Redirect>  </Redirect></Response>", 12100, "<Redirect> has no URL"),
        ("<Response><Say>Hello</Say></Response>", 14110, "<Say>"),
        ("<Response><Message>a</Message><Dial>+1555</Dial></Response>", 14110, "<Dial>"),
        (
            "<Response>" + "<Message>m</Message>" * (MAX_MESSAGES + 1) + "</Response>",
            14109,
            "11 <Message> verbs",
        ),
        ("<Response><Redirect>http://[::1/x</Redirect></Response>", 11100, "Invalid IPv6"),
        ("<Response><Redirect>ftp://ex.com/</Redirect></Response>", 11100, "not an http://"),
        ("<Response><Redirect>https://h:99999/</Redirect></Response>", 11100, "Port out of"),
    ],
    ids=[
        "plain-text",
        "json",
        "unclosed",
        "wrong-root",
        "message-method",
        "redirect-method",
        "empty-redirect",
        "blank-redirect",
        "say",
        "dial",
        "eleven-messages",
        "redirect-unclosed-bracket",
        "redirect-ftp",
        "redirect-port-out-of-range",
    ],
)
def test_errors_carry_twilios_codes(document: str, code: int, says: str) -> None:
    with pytest.raises(TwimlError) as caught:
        parse(document, BASE)
    assert caught.value.code == code
    assert says in caught.value.message
    assert str(caught.value).startswith(f"{code}: ")


def test_an_action_that_cannot_resolve_is_left_for_the_reply_check() -> None:
    # Refused with that reply alone (14105, gateway.webhooks.replies), not with the whole document.
    document = (
        '<Response><Message action="http://[::1/x">a</Message><Message>b</Message></Response>'
    )
    first, second = parse(document, BASE).messages
    assert (first.action, second.body) == ("http://[::1/x", "b")


def test_a_document_over_the_size_limit_is_refused() -> None:
    head, tail = "<Response><Message>", "</Message></Response>"
    fits = head + "x" * (MAX_DOCUMENT - len(head) - len(tail)) + tail
    assert len(fits) == MAX_DOCUMENT
    assert len(parse(fits, BASE).messages[0].body) == MAX_DOCUMENT - len(head) - len(tail)
    with pytest.raises(TwimlError) as caught:
        parse(head + "x" + fits[len(head) :], BASE)
    assert caught.value.code == 12100 and "larger than" in caught.value.message


def test_an_entity_expansion_bomb_is_not_well_formed() -> None:
    # "Billion laughs" within the size limit: expat refuses the amplification.
    entities = ['<!ENTITY a0 "ha">'] + [
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)
    ]
    document = (
        f"<!DOCTYPE Response [{''.join(entities)}]><Response><Message>&a9;</Message></Response>"
    )
    assert len(document) < MAX_DOCUMENT
    with pytest.raises(TwimlError) as caught:
        parse(document, BASE)
    assert caught.value.code == 12100 and "not well-formed XML" in caught.value.message

"""A webhook's destination: the scheme, host and port its request goes to, whatever the path,
the query, the case of the host or a default port written out."""

from __future__ import annotations

import pytest

from gateway.domain.destinations import destination


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080/sms?x=1", "http://127.0.0.1:8080"),
        ("https://example.com/status", "https://example.com:443"),
        ("https://Example.COM:443/other/path?y=2#frag", "https://example.com:443"),
        ("HTTP://example.com/a", "http://example.com:80"),
        ("http://example.com:8443/a", "http://example.com:8443"),
        ("https://user:secret@hooks.example.com/a", "https://hooks.example.com:443"),
        ("http://[::1]:9000/sms", "http://[::1]:9000"),
        ("http://[2001:DB8::1]/sms", "http://[2001:db8::1]:80"),
    ],
)
def test_scheme_host_and_port(url: str, expected: str) -> None:
    assert destination(url) == expected


def test_one_receiver_is_one_destination_and_others_are_not() -> None:
    callbacks = {destination(f"https://hooks.example.com/status?message={n}") for n in range(9)}
    assert callbacks == {"https://hooks.example.com:443"}
    assert destination("http://hooks.example.com/s") != destination("https://hooks.example.com/s")
    assert destination("https://a.example.com/s") != destination("https://b.example.com/s")


@pytest.mark.parametrize(
    "url", ["http://host:99999/x", "http://host:port/x", "https://bücher.example/x", "nonsense"]
)
def test_a_url_no_request_can_go_to_still_has_one(url: str) -> None:
    # The request fails on its own (and is retried); it must not take the sender down.
    assert destination(url) == destination(url) != ""

"""``X-Twilio-Signature`` as ``gateway.webhooks.signing`` signs it, checked against Twilio's
published vectors and the twilio package's own ``RequestValidator`` (what a user's application
runs)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from gateway.webhooks.signing import Params, signature, with_query

TOKEN = "2b7d6f0c1e9a4c3d8e5f6a7b8c9d0e1f"
DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = (
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
)

URLS = (
    "https://example.com/sms",
    "https://example.com/sms?token=abc&x=1",
    "http://127.0.0.1:8080/hooks/sms",
    "https://hooks.example.com:8443/a/b?c=d&e=",
    "https://example.com/sms/%C3%BC?q=%2C",  # already percent-encoded, signed as written
)

PARAM_SETS: dict[str, Params] = {
    "inbound": (
        ("MessageSid", "SM" + "0" * 32),
        ("AccountSid", "AC" + "1" * 32),
        ("From", "+15557654321"),
        ("To", "+15550001001"),
        ("Body", "Hello there"),
        ("NumSegments", "1"),
        ("NumMedia", "0"),
        ("ApiVersion", "2010-04-01"),
    ),
    "unicode": (
        ("Body", "Привет 😀 çà ß 你好"),
        ("From", "+15557654321"),
        ("FromCity", "Zürich"),
    ),
    # Names that are prefixes of one another: sorting and concatenation must agree.
    "prefix-names": (
        ("To", "+15550001001"),
        ("ToCity", "Springfield"),
        ("ToCountry", "US"),
        ("ToState", ""),
        ("ToZip", "12345"),
        ("T", "x"),
    ),
    "empty-values": (("Body", ""), ("FromCity", ""), ("NumMedia", "0")),
    "form-characters": (("Body", "a&b=c+d %20 100% ?#/"), ("From", "+1 (555) 765-4321")),
    "no-params": (),
}


def validate(url: str, params: Params, header: str, token: str = TOKEN) -> bool:
    """What the receiver runs: the twilio package's validator on the form it parsed."""
    return bool(RequestValidator(token).validate(url, MultiDict(params), header))


@pytest.mark.parametrize(
    ("url", "params", "published"),
    [
        # twilio-python tests/unit/test_request_validator.py (self.expected), Twilio's docs.
        (DOCS_URL, DOCS_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        # twilio-python duplicate_expected / twilio-php testValidateWithArrayAndDuplicates:
        # a name given twice (and once twice with the same value), sorted by value, each once.
        (
            DOCS_URL,
            (
                ("Sid", "CA123"),
                ("SidAccount", "AC123"),
                ("Digits", "5678"),
                ("Digits", "1234"),
                ("Digits", "1234"),
            ),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
        ),
        # twilio-csharp TestValidateDictionaryMixedCase: the URL is signed as written.
        (
            "https://MyCompany.com/myapp.php?foo=1&bar=2",
            DOCS_PARAMS,
            "g9IN/x4Cft2g517EjYvEvM/W7LU=",
        ),
    ],
    ids=["docs", "repeated-names", "mixed-case-host"],
)
def test_twilios_published_vectors(url: str, params: Params, published: str) -> None:
    assert signature("12345", url, params) == published
    assert validate(url, params, published, token="12345")


def test_the_order_the_parameters_come_in_does_not_matter() -> None:
    assert signature(TOKEN, DOCS_URL, DOCS_PARAMS) == signature(
        TOKEN, DOCS_URL, tuple(reversed(DOCS_PARAMS))
    )


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_a_post_validates_with_twilios_request_validator(url: str, params: Params) -> None:
    header = signature(TOKEN, url, params)
    assert validate(url, params, header)


@pytest.mark.parametrize("params", PARAM_SETS.values(), ids=PARAM_SETS.keys())
def test_anything_changed_fails_validation(params: Params) -> None:
    url = URLS[1]
    header = signature(TOKEN, url, params)
    assert not validate(url, params, header, token=TOKEN[:-1] + "0")
    assert not validate(url, params, signature("another token", url, params))
    assert not validate(url + "&y=2", params, header)
    assert not validate(url, (*params, ("Extra", "")), header)
    if params:
        name, value = params[0]
        assert not validate(url, ((name, value + "!"), *params[1:]), header)
        assert not validate(url, params[1:], header)


def test_a_port_given_or_left_out_validates_either_way() -> None:
    # The receiver sees the URL as its proxy or framework rebuilds it; twilio's validator tries
    # the default port and none, so a URL configured either way still validates.
    params = PARAM_SETS["inbound"]
    with_port = signature(TOKEN, "https://example.com:443/sms", params)
    assert validate("https://example.com/sms", params, with_port)
    without_port = signature(TOKEN, "https://example.com/sms", params)
    assert validate("https://example.com:443/sms", params, without_port)
    assert not validate("https://example.org/sms", params, without_port)


GET_PARAM_SETS = {name: params for name, params in PARAM_SETS.items() if params}


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("params", GET_PARAM_SETS.values(), ids=GET_PARAM_SETS.keys())
def test_a_get_carries_the_parameters_in_the_signed_url(url: str, params: Params) -> None:
    target = with_query(url, params)
    header = signature(TOKEN, target)
    assert RequestValidator(TOKEN).validate(target, {}, header)
    # The query string is the configured one followed by every parameter, each exactly once.
    own = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    assert parse_qsl(urlsplit(target).query, keep_blank_values=True) == own + list(params)
    assert target.startswith(url)
    # A GET signs the URL alone: the same parameters as a form would not validate.
    assert not validate(url, params, header)
    assert header != signature(TOKEN, url, params)


def test_with_query_joins_with_the_right_separator() -> None:
    assert with_query("https://example.com/sms", [("A", "1")]) == "https://example.com/sms?A=1"
    assert with_query("https://example.com/sms?k=v", [("A", "1"), ("B", "")]) == (
        "https://example.com/sms?k=v&A=1&B="
    )
    assert with_query("https://example.com/sms", [("Body", "a b&c")]) == (
        "https://example.com/sms?Body=a+b%26c"
    )


def test_a_get_without_parameters_is_the_url_itself() -> None:
    # Latent: every webhook the gateway makes today has parameters.
    url = "https://example.com/sms"
    target = with_query(url, ())
    assert RequestValidator(TOKEN).validate(target, {}, signature(TOKEN, target))
    assert target == url

"""The OpenAPI document at ``/openapi.json``: valid OpenAPI 3.0, one operation for each route and
a route for each operation, Twilio's shapes for Twilio's resources, and a bounded schemathesis
run against a real gateway that finds no 5xx, no undocumented status and no response the
document does not describe.

The schemathesis run is deterministic (``derandomize``) and bounded: one test per operation, on
a gateway of its own, with at most POSITIVE_EXAMPLES valid and NEGATIVE_EXAMPLES invalid
requests. Webhooks the fuzzed URLs would trigger never leave the
process: the gateway's webhook sender is replaced by a stand-in that answers without a network.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import hypothesis
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from drivers import Identity, ModemInfo, Network, Registration, SimState
from gateway.api import handlers
from gateway.api.forms import MAX_PAGE_SIZE
from gateway.api.observability import routes as observability_routes
from gateway.api.openapi import document
from gateway.api.openapi.paths import OPENAPI_PATH
from gateway.api.openapi.schemas import (
    EMERGENCY_ADDRESS_STATUSES,
    MESSAGE_DIRECTIONS,
    MESSAGE_STATUSES,
)
from gateway.domain.errors import ApiError
from gateway.domain.models import Direction, Status
from gateway.domain.quota import DAY, MONTH, RECIPIENTS, Standing
from gateway.domain.records import Webhook
from gateway.modems.health import ModemHealth
from gateway.modems.supervisor import ModemState, ModemStatus
from gateway.outbound.scheduling import send_at
from gateway.webhooks.answers import Answer
from tests.gateway.api_rig import (
    EXTERNAL,
    Api,
    api_gateway,
    messages_path,
    raw_client,
    raw_create,
)
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, Inbox, basic_auth
from tests.gateway.test_application_json import OAI_PROPERTIES as OAI_APPLICATION_PROPERTIES
from tests.gateway.test_number_json import OAI_ENUMS, OAI_PROPERTIES
from tests.properties import examples

# The properties of ``api.v2010.account.message`` in twilio-oai ``spec/json/twilio_api_v2010.json``
# (``../shared/docs/twilio-messages-api.md`` §1), every one ``nullable``: JSON type of each.
OAI_MESSAGE_PROPERTIES: Final = {
    "account_sid": "string",
    "api_version": "string",
    "body": "string",
    "date_created": "string",
    "date_sent": "string",
    "date_updated": "string",
    "direction": "string",
    "error_code": "integer",
    "error_message": "string",
    "from": "string",
    "messaging_service_sid": "string",
    "num_media": "string",
    "num_segments": "string",
    "price": "string",
    "price_unit": "string",
    "sid": "string",
    "status": "string",
    "subresource_uris": "object",
    "to": "string",
    "uri": "string",
}
# ``message_enum_status`` and ``message_enum_direction`` there.
OAI_MESSAGE_ENUMS: Final = {
    "status": {
        "queued",
        "sending",
        "sent",
        "failed",
        "delivered",
        "undelivered",
        "receiving",
        "received",
        "accepted",
        "scheduled",
        "read",
        "partially_delivered",
        "canceled",
    },
    "direction": {"inbound", "outbound-api", "outbound-call", "outbound-reply"},
}
# ``api.v2010.account.message.message_feedback`` there: all strings, nullable but ``outcome``.
OAI_FEEDBACK_PROPERTIES: Final = {
    "account_sid": True,
    "message_sid": True,
    "outcome": False,
    "date_created": True,
    "date_updated": True,
    "uri": True,
}
# ``ListMessageResponse`` (and the other list responses): the list plus these, all but the
# ``*_page_uri`` ones not nullable.
LIST_META: Final = {
    "end": ("integer", False),
    "first_page_uri": ("string", False),
    "next_page_uri": ("string", True),
    "page": ("integer", False),
    "page_size": ("integer", False),
    "previous_page_uri": ("string", True),
    "start": ("integer", False),
    "uri": ("string", False),
}
ERROR_KEYS: Final = {
    "code": "integer",
    "message": "string",
    "more_info": "string",
    "status": "integer",
}

# The bounded run: examples per operation and generation mode; about 12 s in all on 2 cores.
POSITIVE_EXAMPLES: Final = examples(50)
NEGATIVE_EXAMPLES: Final = examples(25)
CHECKS: Final = (not_a_server_error, status_code_conformance, response_schema_conformance)
SEEDED_MESSAGES: Final = 6
CALLBACK: Final = "http://127.0.0.1:9/status"  # never called: see _OfflineWebhooks
NUMBERS: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/IncomingPhoneNumbers.json"
APPLICATIONS: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Applications.json"
SEEDED_APPLICATIONS: Final = 3

_PLACEHOLDER: Final = re.compile(r"\{[^}]*\}")

MESSAGES: Final = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
# What a plain SMS leaves out: each of these is refused, or needs a Messaging Service.
# (From, To) of a new message: out through one modem, or from one modem to the other.
ADDRESSES: Final = ((ALICE, EXTERNAL), (BOB, EXTERNAL), (ALICE, BOB), None)
NOT_PLAIN: Final = (
    "MessagingServiceSid",
    "MediaUrl",
    "SendAsMms",
    "ContentSid",
    "ScheduleType",
    "SendAt",
    "MaxPrice",
    "ApplicationSid",
    "ShortenUrls",
)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        kind, name = schema["$ref"].removeprefix("#/components/").split("/", 1)
        schema = doc["components"][kind][name]
    return schema


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document()["components"]["schemas"][name]
    return schema


# --- (a) valid OpenAPI --------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_0() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.0.")
    schema = schemathesis.openapi.from_dict(doc)
    schema.validate()  # against the OpenAPI 3.0 meta-schema; raises on any violation
    operations = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in operations)
    assert len(operations) == len(handlers.routes()) + len(observability_routes())
    assert "Twilio Messages API subset served by smsgw" in doc["info"]["description"]


def test_every_reference_resolves() -> None:
    doc = document()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                assert _resolve(doc, node), node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


# --- (b) the routes, both ways ------------------------------------------------------------------


def _shape(path: str) -> str:
    """A path with its placeholders' names left out: aiohttp's ``{sid}`` is Twilio's ``{Sid}``."""
    return _PLACEHOLDER.sub("{}", path)


def test_every_route_is_documented_and_every_operation_is_a_route() -> None:
    routes = set()
    for route in [*handlers.routes(), *observability_routes()]:
        assert isinstance(route, web.RouteDef)
        routes.add((route.method.upper(), _shape(route.path)))
    documented = {
        (method.upper(), _shape(path))
        for path, item in document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete", "head", "options")
    }
    assert routes == documented


def test_only_the_document_and_the_monitoring_need_no_credentials() -> None:
    doc = document()
    assert doc["security"] == [{"accountSid_authToken": []}]
    assert doc["components"]["securitySchemes"]["accountSid_authToken"] == {
        "type": "http",
        "scheme": "basic",
    }
    open_operations = [
        (method, path)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("security") == []
    ]
    assert open_operations == [("get", "/healthz"), ("get", "/metrics"), ("get", OPENAPI_PATH)]


def test_path_parameters_are_declared_for_every_placeholder() -> None:
    for path, item in document()["paths"].items():
        declared = {parameter["name"] for parameter in item.get("parameters", [])}
        assert declared == set(re.findall(r"\{([^}]*)\}", path)), path


# --- Twilio's shapes ----------------------------------------------------------------------------


def _type_and_nullable(schema: dict[str, Any]) -> tuple[str, bool]:
    return schema["type"], bool(schema.get("nullable"))


def test_the_message_is_twilio_s_property_for_property() -> None:
    message = _schema("api.v2010.account.message")
    assert message["type"] == "object"
    assert message["additionalProperties"] is False
    assert set(message["properties"]) == set(OAI_MESSAGE_PROPERTIES) == set(message["required"])
    for name, json_type in OAI_MESSAGE_PROPERTIES.items():
        assert _type_and_nullable(message["properties"][name]) == (json_type, True), name
    for name, values in OAI_MESSAGE_ENUMS.items():
        assert set(message["properties"][name]["enum"]) == values | {None}, name
    assert message["properties"]["sid"]["pattern"] == "^(SM|MM)[0-9a-fA-F]{32}$"
    assert message["properties"]["account_sid"]["pattern"] == "^AC[0-9a-fA-F]{32}$"


def test_the_feedback_is_twilio_s_property_for_property() -> None:
    """``api.v2010.account.message.message_feedback`` in twilio-oai (Twilio's "Feedback
    subresource" reference shows it): every property nullable but ``outcome``, an enum of
    ``confirmed`` and ``unconfirmed``; created by ``CreateMessageFeedback``, answered 201."""
    feedback = _schema("api.v2010.account.message.message_feedback")
    assert set(feedback["properties"]) == set(OAI_FEEDBACK_PROPERTIES) == set(feedback["required"])
    for name, nullable in OAI_FEEDBACK_PROPERTIES.items():
        assert _type_and_nullable(feedback["properties"][name]) == ("string", nullable), name
    assert feedback["properties"]["outcome"]["enum"] == ["confirmed", "unconfirmed"]
    assert feedback["properties"]["message_sid"]["pattern"] == "^(SM|MM)[0-9a-fA-F]{32}$"
    path = document()["paths"][
        "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Feedback.json"
    ]
    operation = path["post"]
    assert operation["operationId"] == "CreateMessageFeedback"
    assert "201" in operation["responses"]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["properties"]["Outcome"]["enum"] == ["confirmed", "unconfirmed"]


def test_the_gateway_s_statuses_and_directions_are_in_twilio_s_enums() -> None:
    assert {status.value for status in Status} <= set(MESSAGE_STATUSES)
    assert {direction.value for direction in Direction} == set(MESSAGE_DIRECTIONS)
    assert set(MESSAGE_STATUSES) == OAI_MESSAGE_ENUMS["status"]


def test_the_incoming_phone_number_has_twilio_s_properties_and_enums() -> None:
    number = _schema("api.v2010.account.incoming_phone_number")
    for name, json_type in OAI_PROPERTIES.items():
        assert _type_and_nullable(number["properties"][name]) == (json_type, True), name
    for name, values in OAI_ENUMS.items():
        assert set(number["properties"][name]["enum"]) == values | {None}, name
    assert set(EMERGENCY_ADDRESS_STATUSES) == OAI_ENUMS["emergency_address_status"]
    # Beyond Twilio's schema: what twilio-python reads (type) and an older response's key.
    assert set(number["properties"]) - set(OAI_PROPERTIES) == {"type", "subresource_uris"}


def test_the_application_is_twilio_s_property_for_property() -> None:
    application = _schema("api.v2010.account.application")
    assert application["additionalProperties"] is False
    assert set(application["properties"]) == set(OAI_APPLICATION_PROPERTIES)
    for name, json_type in OAI_APPLICATION_PROPERTIES.items():
        assert _type_and_nullable(application["properties"][name]) == (json_type, True), name
    assert application["properties"]["sid"]["pattern"] == "^AP[0-9a-fA-F]{32}$"


@pytest.mark.parametrize(
    ("name", "key", "item"),
    [
        ("ListMessageResponse", "messages", "api.v2010.account.message"),
        ("ListMediaResponse", "media_list", "api.v2010.account.message.media"),
        (
            "ListIncomingPhoneNumberResponse",
            "incoming_phone_numbers",
            "api.v2010.account.incoming_phone_number",
        ),
        ("ListApplicationResponse", "applications", "api.v2010.account.application"),
    ],
)
def test_list_envelopes_are_twilio_s(name: str, key: str, item: str) -> None:
    envelope = _schema(name)
    assert envelope["additionalProperties"] is False
    assert set(envelope["properties"]) == set(LIST_META) | {key} == set(envelope["required"])
    for meta, expected in LIST_META.items():
        assert _type_and_nullable(envelope["properties"][meta]) == expected, meta
    assert envelope["properties"][key]["items"] == {"$ref": f"#/components/schemas/{item}"}


def test_every_refusal_has_twilio_s_error_body() -> None:
    doc = document()
    error = _schema("TwilioError")
    assert {name: schema["type"] for name, schema in error["properties"].items()} == ERROR_KEYS
    assert set(error["required"]) == set(ERROR_KEYS) and error["additionalProperties"] is False
    statuses = set()
    for path, item in doc["paths"].items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation["responses"].items():
                if int(status) < 400 or (path, status) == ("/healthz", "503"):
                    continue  # /healthz's 503 is its own body, saying why
                statuses.add(int(status))
                content = _resolve(doc, response)["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/TwilioError"}
    assert statuses == {400, 401, 404, 408, 409, 413, 429, 503}


def test_the_create_form_and_the_list_query_take_twilio_s_parameters() -> None:
    paths = document()["paths"]
    messages = paths["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
    form = messages["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    properties = form["schema"]["properties"]
    assert form["schema"]["required"] == ["To"]
    assert {
        "To",
        "From",
        "MessagingServiceSid",
        "Body",
        "StatusCallback",
        "ValidityPeriod",
        "MaxPrice",
        "SmartEncoded",
        "ScheduleType",
        "SendAt",
        "MediaUrl",
        "ProvideFeedback",
        "Attempt",
        "ShortenUrls",
    } <= set(properties)
    assert properties["MaxPrice"]["type"] == "number"
    assert properties["SmartEncoded"]["type"] == "boolean"
    assert properties["MediaUrl"]["type"] == "array"
    assert properties["ProvideFeedback"]["type"] == properties["ShortenUrls"]["type"] == "boolean"
    assert properties["Attempt"]["type"] == "integer"
    query = {parameter["name"]: parameter["schema"] for parameter in messages["get"]["parameters"]}
    assert list(query) == [
        "To",
        "From",
        "DateSent",
        "DateSent<",
        "DateSent<=",
        "DateSent>",
        "DateSent>=",
        "PageSize",
        "Page",
        "PageToken",
    ]
    # The handlers' own limit (gateway.api.forms), which the document is built from.
    assert (query["PageSize"]["minimum"], query["PageSize"]["maximum"]) == (1, MAX_PAGE_SIZE)


def _fields(cls: Any) -> set[str]:
    return {item.name for item in dataclasses.fields(cls)}


def test_the_modems_extension_follows_the_gateway_s_status() -> None:
    """``/smsgw/modems.json`` is ``ModemStatus`` as JSON, with its plan's caps as they stand
    (``gateway.domain.quota.Standing`` by period): a field added there is documented."""
    modem = _schema("smsgw.modem")["properties"]
    info = modem["info"]["properties"]
    health = modem["health"]["properties"]
    assert set(modem) == _fields(ModemStatus) | {"balance", "quota"}
    periods = modem["quota"]["properties"]
    assert set(periods) == {DAY, MONTH, RECIPIENTS}
    assert all(set(cap["properties"]) == _fields(Standing) - {"period"} for cap in periods.values())
    assert set(info) == _fields(ModemInfo)
    assert set(info["identity"]["properties"]) == _fields(Identity)
    assert set(info["registration"]["properties"]) == _fields(Registration)
    assert set(health) == _fields(ModemHealth)
    assert set(info["network"]["properties"]) == _fields(Network)
    assert set(health["network"]["properties"]) == _fields(Network)
    assert set(info["sim"]["properties"]) == _fields(SimState)
    assert set(modem["sim"]["properties"]) == _fields(SimState)
    assert modem["state"]["enum"] == [state.value for state in ModemState]


# --- served, and kept by a real gateway ---------------------------------------------------------


async def test_the_gateway_serves_the_document_without_credentials(api: Api) -> None:
    async with raw_client(api, None) as http, http.get(OPENAPI_PATH) as reply:
        assert reply.status == 200
        assert reply.content_type == "application/json"
        assert await reply.json() == document()


async def test_the_message_json_has_exactly_the_documented_keys(api: Api) -> None:
    async with raw_client(api) as http:
        created = await raw_create(http, From=ALICE, To=EXTERNAL, Body="keys")
    assert set(created) == set(_schema("api.v2010.account.message")["required"])


# --- (c) schemathesis against a real gateway ----------------------------------------------------


class _OfflineWebhooks:
    """Stands in for ``WebhookSender.request``: no webhook leaves the process. Every other URL
    is answered 503, so some webhooks are retried and show in ``/smsgw/webhooks.json``."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def __call__(self, webhook: Webhook, url: str, method: str) -> Answer:
        self.urls.append(url)
        if len(self.urls) % 2:
            return Answer(503, "", "text/plain")
        return Answer(200, "<Response/>", "application/xml")


@dataclass(frozen=True)
class Seeds:
    """What the fuzzed requests may name besides what they make up: real SIDs."""

    messages: tuple[str, ...]
    numbers: tuple[str, ...]
    applications: tuple[str, ...]
    modems: tuple[str, ...]


@dataclass(frozen=True)
class Finding:
    operation: str
    mode: str
    titles: tuple[str, ...]
    report: str


def _placeholders(path: str) -> list[str]:
    return re.findall(r"\{([^}]*)\}", path)


def _case_strategy(
    operation: Any, mode: GenerationMode, seeds: Seeds
) -> st.SearchStrategy[Case[Any]]:
    """Cases for ``operation``: mostly in ACCOUNT and naming its real messages or numbers (a
    made-up SID finds nothing), sometimes with every path parameter made up (some other
    account: 401). A new message is often a plain SMS from one of ACCOUNT's modems."""
    names = _placeholders(operation.path)

    def with_path(fixed: dict[str, str]) -> st.SearchStrategy[Case[Any]]:
        strategy: st.SearchStrategy[Case[Any]] = operation.as_strategy(
            generation_mode=mode, path_parameters=fixed or None
        )
        return strategy

    made_up = with_path({})
    if "modem" in names:  # mostly one of the gateway's modems (a made-up one is 404)
        real_modem = st.sampled_from(seeds.modems).flatmap(lambda m: with_path({"modem": m}))
        by_name = {"real": real_modem, "made-up": made_up}
        return st.sampled_from(["real", "real", "real", "made-up"]).flatmap(by_name.__getitem__)
    if "AccountSid" not in names:
        return made_up
    own = {"AccountSid": ACCOUNT.sid}
    # Chosen by sampled_from, which draws about evenly (one_of favours some branches).
    choices: dict[str, st.SearchStrategy[Case[Any]]] = {"own": with_path(own), "made-up": made_up}
    weights = ["own", "own", "own", "made-up"]
    sid_name = next((name for name in ("MessageSid", "Sid") if name in names), None)
    if sid_name is not None:
        real = seeds.messages
        if "IncomingPhoneNumbers" in operation.path:
            real = seeds.numbers
        elif "Applications" in operation.path:
            real = seeds.applications
        choices["real"] = st.sampled_from(real).flatmap(
            lambda sid: with_path({**own, sid_name: sid})
        )
        weights += ["real"] * 3
    cases = st.sampled_from(weights).flatmap(choices.__getitem__)
    if mode is GenerationMode.POSITIVE and (operation.method.upper(), operation.path) == (
        "POST",
        MESSAGES,
    ):
        plain = st.sampled_from([True, True, False])
        cases = st.builds(_plain_sms, cases, st.sampled_from(ADDRESSES), plain)
    return cases


def _plain_sms(case: Case[Any], addresses: tuple[str, str] | None, plain: bool) -> Case[Any]:
    """``case`` from and to ``addresses`` (if given), and, if ``plain``, without what a modem
    cannot send: most made-up messages would otherwise be refused."""
    if isinstance(case.body, dict):
        if addresses is not None:
            case.body["From"], case.body["To"] = addresses
        if plain:
            for name in NOT_PLAIN:
                case.body.pop(name, None)
            case.body["Body"] = case.body.get("Body") or "plain"
    return case


@dataclass
class Fuzzer:
    """Sends cases to the gateway and keeps what the checks found (never raised, so that one
    bug does not hide the next; one report per operation and kind of failure)."""

    base_url: str
    seeds: Seeds
    session: requests.Session
    findings: list[Finding] = field(default_factory=list)
    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def send(self, case: Case[Any], mode: GenerationMode, seen: set[tuple[str, ...]]) -> None:
        self.calls += 1
        response = case.call(
            base_url=self.base_url, session=self.session, headers=basic_auth(ACCOUNT), timeout=10
        )
        self.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=list(CHECKS))
        except FailureGroup as group:
            titles = tuple(sorted({failure.title for failure in group.exceptions}))
            if titles not in seen:
                seen.add(titles)
                label = f"{case.operation.method.upper()} {case.operation.path}"
                self.findings.append(Finding(label, mode.value, titles, str(group)))

    def operation(self, operation: Any, mode: GenerationMode, examples: int) -> None:
        seen: set[tuple[str, ...]] = set()

        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_case_strategy(operation, mode, self.seeds))
        def run(case: Case[Any]) -> None:
            self.send(case, mode, seen)

        run()


def _fuzz(schema: Any, base_url: str, seeds: Seeds, method: str, path: str) -> Fuzzer:
    operation = schema[path][method.lower()]
    with requests.Session() as session:
        fuzzer = Fuzzer(base_url, seeds, session)
        fuzzer.operation(operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES)
        if _negatable(operation):
            fuzzer.operation(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)
    return fuzzer


def _negatable(operation: Any) -> bool:
    """Whether negative examples can be made: something besides the fixed path to break."""
    return bool(list(operation.query) or operation.body)


def _operations() -> list[Any]:
    params = []
    for path, item in document()["paths"].items():
        for method in item:
            if method == "parameters":
                continue
            params.append(pytest.param(method.upper(), path, id=f"{method.upper()} {path}"))
    return params


async def _running_for_a_while(api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[Seeds, Any]:
    """The gateway as after a minute of use: webhooks offline (see _OfflineWebhooks), messages
    sent out and received, each modem's health checked once; the SIDs to name, and the schema
    as the gateway serves it."""
    monkeypatch.setattr(api.gateway.webhooks, "request", _OfflineWebhooks())
    inbox = Inbox(api.gateway)
    async with raw_client(api) as http:
        created = [
            await raw_create(
                http,
                From=ALICE,
                To=EXTERNAL if n % 2 else BOB,
                Body=f"seed {n}",
                StatusCallback=CALLBACK,
                # Some whose Feedback can be created (the others answer 404).
                ProvideFeedback=str(n % 2 == 0).lower(),
            )
            for n in range(SEEDED_MESSAGES)
        ]
        for message in created:
            await api.statuses.final(message["sid"])
        await inbox.wait(sum(message["to"] == BOB for message in created))
        async with http.get(messages_path()) as reply:
            listed = [message["sid"] for message in (await reply.json())["messages"]]
        # In an order that does not depend on which commit landed first (the list's order
        # does, for messages sent in the same instant): the derandomized fuzzer then names the
        # same seeds, and so reaches a message with Feedback, in every run.
        ours = [message["sid"] for message in created]
        messages = ours + sorted(sid for sid in listed if sid not in ours)
        async with http.get(NUMBERS) as reply:
            numbers = [number["sid"] for number in (await reply.json())["incoming_phone_numbers"]]
        applications = []
        for n in range(SEEDED_APPLICATIONS):
            form = {"FriendlyName": f"seed {n}", "MessageStatusCallback": CALLBACK}
            async with http.post(APPLICATIONS, data=form) as reply:
                applications.append((await reply.json())["sid"])
        async with http.get(OPENAPI_PATH) as reply:
            served = await reply.json()
    await _check_health(api)
    modems = tuple(api.gateway.modems.handles)
    seeds = Seeds(tuple(messages), tuple(numbers), tuple(applications), modems)
    return seeds, schemathesis.openapi.from_dict(served)


@pytest.mark.parametrize(("method", "path"), _operations())
async def test_schemathesis_finds_no_server_error_and_no_response_off_the_document(
    method: str, path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with api_gateway(tmp_path) as api:
        seeds, schema = await _running_for_a_while(api, monkeypatch)
        fuzzer = await asyncio.to_thread(_fuzz, schema, api.base_url, seeds, method, path)
    assert not fuzzer.findings, "\n\n".join(
        f"{finding.operation} ({finding.mode}): {', '.join(finding.titles)}\n{finding.report}"
        for finding in fuzzer.findings
    )
    # Not only refusals: what the operation answers when it works was seen (and checked).
    documented = document()["paths"][path][method.lower()]["responses"]
    successes = {int(status) for status in documented if status.startswith("2")}
    assert not successes or successes & set(fuzzer.statuses), fuzzer.statuses


async def _check_health(api: Api) -> None:
    for handle in api.gateway.modems.handles.values():
        assert await handle.check_health() is not None


# --- what the run found (500s, fixed since), kept as regression tests ---------------------------


async def test_the_modems_list_after_a_health_check(api: Api) -> None:
    """Was a 500: the health check's time (a datetime) did not go into JSON."""
    await _check_health(api)
    async with raw_client(api) as http, http.get("/smsgw/modems.json") as reply:
        assert reply.status == 200, await reply.text()
        modems = await reply.json()
    assert all(set(modem) == _fields(ModemStatus) | {"balance", "quota"} for modem in modems)
    assert all(modem["health"] is not None for modem in modems)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DateSent>", "0001-01-01T00:00:10+04:01"),
        ("DateSent", "9999-12-31T23:59:59-01:00"),
        ("DateSent<", "9999-12-31"),
    ],
)
async def test_list_dates_at_the_edge_of_time(api: Api, name: str, value: str) -> None:
    """Were 500s: a time whose UTC falls past year 9999 (or before year 1), and the day after
    9999-12-31, overflowed."""
    async with raw_client(api) as http, http.get(messages_path(), params={name: value}) as reply:
        assert reply.status in (200, 400), await reply.text()


def test_send_at_at_the_edge_of_time() -> None:
    """Was an OverflowError (a 500 on create): now 35114, like any time it cannot use."""
    form = {"ScheduleType": "fixed", "SendAt": "9999-12-31T23:59:59-01:00"}
    with pytest.raises(ApiError):
        send_at(form, datetime(2026, 3, 1, tzinfo=UTC), service=True)

"""The OpenAPI 3.0 document of everything the HTTP API implements, served at ``/openapi.json``.

Where a resource is Twilio's (Message, Media, IncomingPhoneNumber, their list envelopes, the
error body) the names, JSON types, enums and nullability are those of Twilio's own description,
twilio-oai ``spec/json/twilio_api_v2010.json`` (schemas ``api.v2010.account.message``,
``api.v2010.account.incoming_phone_number``, ``ListMessageResponse``...; see
``../shared/docs/twilio-messages-api.md`` §1-§4). The document only says more than Twilio's where
the gateway is sure of it: which keys every response has (``required``, and no others for a
Message or an error), dates in RFC 2822 at ``+0000``, the status codes each operation answers.
Three things differ on purpose, because Twilio's description contradicts Twilio's own answers:

* the list envelopes' ``*_uri`` are ``uri-reference`` (host-less paths), not ``uri``;
* an IncomingPhoneNumber's unset ``sms_application_sid``, ``voice_application_sid``,
  ``sms_url``, ``sms_fallback_url`` and ``status_callback`` are ``""``, as Twilio's documented
  responses show them, so they carry no SID pattern or URL format;
* an IncomingPhoneNumber also has ``type`` (read by twilio-python) and ``subresource_uris``.

The Application (``api.v2010.account.application``) is Twilio's property for property, an unset
URL ``null`` as in Twilio's documented responses.

Pure data, built once; :func:`openapi_document` serves it without authentication.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

from aiohttp import web

from gateway.api.forms import MAX_PAGE_SIZE
from gateway.domain.feedback import OUTCOMES
from gateway.domain.models import API_VERSION, MAX_BODY_CHARS
from gateway.domain.urls import MAX_URL
from gateway.modems.supervisor import ModemState
from gateway.outbound.parameters import MAX_MEDIA, MAX_VALIDITY

Schema = dict[str, Any]

OPENAPI_PATH: Final = "/openapi.json"
MAX_PAGE: Final = 999_999_999  # gateway.api.forms.integer reads at most nine digits
ACCOUNT: Final = f"/{API_VERSION}/Accounts/{{AccountSid}}"
SECURITY_SCHEME: Final = "accountSid_authToken"  # Twilio's name for it

# Twilio's enums (twilio-oai ``message_enum_status``, ``message_enum_direction``...).
MESSAGE_STATUSES: Final = (
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
)
MESSAGE_DIRECTIONS: Final = ("inbound", "outbound-api", "outbound-call", "outbound-reply")
HTTP_METHODS: Final = ("GET", "POST")
ADDRESS_REQUIREMENTS: Final = ("none", "any", "local", "foreign")
EMERGENCY_STATUSES: Final = ("Active", "Inactive")
EMERGENCY_ADDRESS_STATUSES: Final = (
    "registered",
    "unregistered",
    "pending-registration",
    "registration-failure",
    "pending-unregistration",
    "unregistration-failure",
)
VOICE_RECEIVE_MODES: Final = ("voice", "fax")
# What each error status means here; every one has Twilio's legacy error body.
ERROR_STATUSES: Final = {
    400: "A parameter is missing or wrong (Twilio's code says which: 21211, 21604, 20001...)",
    401: "No valid credentials, or the path's account is not theirs (20003)",
    404: "No such resource in this account (20404)",
    409: "The message is not complete yet (20009)",
    413: "The request body is larger than the gateway's max_request_bytes (20001)",
    429: "Too many requests at once (20429), or the sender's queue is full (21611)",
    408: "The request's head or body came too slowly (head_timeout, body_timeout; 20001)",
    503: "The database cannot take a write now, or every connection is busy (20503)",
}
# What any request may meet, whatever its route: a client too slow, a gateway that cannot
# store anything (a full disk) or has no connection to spare.
_ALWAYS: Final = (408, 503)
RFC2822_PATTERN: Final = (
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)


def _version() -> str:
    # Imported when the document is first asked for, not with the gateway: importlib.metadata
    # brings zipfile, csv and more (1.5 MiB of resident memory) for one string.
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version("smsgw")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "0"


def _ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _sid(prefix: str, description: str, *, nullable: bool = True) -> Schema:
    """Twilio's SID property: two letters (or alternatives) and 32 hex digits."""
    schema: Schema = {
        "type": "string",
        "minLength": 34,
        "maxLength": 34,
        "pattern": f"^{prefix}[0-9a-fA-F]{{32}}$",
        "description": description,
    }
    if nullable:
        schema["nullable"] = True
    return schema


def _string(description: str, **extra: Any) -> Schema:
    return {"type": "string", "nullable": True, "description": description, **extra}


def _enum(values: tuple[str, ...], description: str) -> Schema:
    # OpenAPI 3.0.3: with ``nullable``, an enum admits null only if it lists it.
    return {
        "type": "string",
        "nullable": True,
        "enum": [*values, None],
        "description": description,
    }


def _date(description: str) -> Schema:
    return _string(
        f"{description}, RFC 2822 in GMT", format="date-time-rfc-2822", pattern=RFC2822_PATTERN
    )


def _method(description: str) -> Schema:
    return {
        "type": "string",
        "format": "http-method",
        "nullable": True,
        "enum": [*HTTP_METHODS, None],
        "description": description,
    }


def _object(properties: Schema, *, title: str | None = None) -> Schema:
    """Every listed key is always present, and no other."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if title is not None:
        schema["title"] = title
    return schema


# --- the resources ------------------------------------------------------------------------------


def _message() -> Schema:
    """``api.v2010.account.message``: every property nullable, as Twilio's."""
    return _object(
        {
            "account_sid": _sid("AC", "The account the message belongs to"),
            "api_version": _string("The API version used to process the message"),
            "body": _string(
                f"The text of the message, at most {MAX_BODY_CHARS} characters; '' once redacted"
            ),
            "date_created": _date("When the message was created"),
            "date_sent": _date(
                "When the message was sent (received, for an inbound one: null while receiving)"
            ),
            "date_updated": _date("When the message was last updated"),
            "direction": _enum(MESSAGE_DIRECTIONS, "The direction of the message"),
            "error_code": {
                "type": "integer",
                "nullable": True,
                "description": "Twilio's error code when the status is failed or undelivered",
            },
            "error_message": _string("The description of error_code"),
            "from": _string(
                "The sender: E.164 for an outbound message (null while a Messaging Service has "
                "not chosen it); an inbound message's sender as the network gave it (a national "
                "number, a short code or an alphanumeric name too)",
                format="phone-number",
            ),
            "messaging_service_sid": _sid("MG", "The Messaging Service that sent the message"),
            "num_media": _string("The number of media files, a decimal string: always '0'"),
            "num_segments": _string(
                "The number of SMS parts, a decimal string (while receiving: those announced); "
                "'0' in the answer to a create with a Messaging Service, which encodes the "
                "message when it gives it its sender"
            ),
            "price": _string("What the message cost, negative, in price_unit"),
            "price_unit": _string("The currency of price", format="currency"),
            "sid": _sid("(SM|MM)", "The message's SID"),
            "status": _enum(MESSAGE_STATUSES, "The status of the message"),
            "subresource_uris": {
                "type": "object",
                "format": "uri-map",
                "nullable": True,
                "properties": {"media": {"type": "string"}, "feedback": {"type": "string"}},
                "additionalProperties": {"type": "string"},
                "description": "Related resources, as paths relative to the API's address",
            },
            "to": _string(
                "The recipient: E.164, or a short code as given (outbound), or the gateway's "
                "number that received it (inbound)"
            ),
            "uri": _string("The message's own path, relative to the API's address"),
        },
        title="Message",
    )


def _media() -> Schema:
    """``api.v2010.account.message.media`` (a list of them is always empty here)."""
    return _object(
        {
            "account_sid": _sid("AC", "The account the media belongs to"),
            "content_type": _string("The MIME type of the media"),
            "date_created": _date("When the media was created"),
            "date_updated": _date("When the media was last updated"),
            "parent_sid": _sid("(SM|MM)", "The message the media belongs to"),
            "sid": _sid("ME", "The media's SID"),
            "uri": _string("The media's path, relative to the API's address"),
        },
        title="Media",
    )


def _feedback() -> Schema:
    """``api.v2010.account.message.message_feedback`` (its ``outcome`` not nullable, as
    Twilio's)."""
    return _object(
        {
            "account_sid": _sid("AC", "The account the message belongs to"),
            "message_sid": _sid("(SM|MM)", "The message the Feedback is for"),
            "outcome": {
                "type": "string",
                "enum": list(OUTCOMES),
                "description": "Whether the recipient performed the tracked action",
            },
            "date_created": _date("When the Feedback was first created"),
            "date_updated": _date("When its outcome was last reported"),
            "uri": _string("The Feedback's path, relative to the API's address"),
        },
        title="MessageFeedback",
    )


def _incoming_phone_number() -> Schema:
    """``api.v2010.account.incoming_phone_number``, a modem's SIM as the gateway shows it."""
    unset_is_empty = "'' when unset, as in Twilio's documented responses"
    capability = {"type": "boolean"}
    return _object(
        {
            "account_sid": _sid("AC", "The account that owns the number"),
            "address_requirements": _enum(ADDRESS_REQUIREMENTS, "Always 'none' here"),
            "address_sid": _sid("AD", "Always null here"),
            "api_version": _string("The API version"),
            "beta": {"type": "boolean", "nullable": True, "description": "Always false here"},
            "capabilities": {
                "type": "object",
                "format": "phone-number-capabilities",
                "nullable": True,
                "properties": {
                    "mms": capability,
                    "sms": capability,
                    "voice": capability,
                    "fax": capability,
                },
                "description": "What the number can do: SMS only here",
            },
            "date_created": _date("When the number was first seen"),
            "date_updated": _date("When the number's settings last changed"),
            "emergency_status": _enum(EMERGENCY_STATUSES, "Always 'Inactive' here"),
            "emergency_address_sid": _sid("AD", "Always null here"),
            "emergency_address_status": _enum(
                EMERGENCY_ADDRESS_STATUSES, "Always 'unregistered' here"
            ),
            "friendly_name": _string("The number's name"),
            "identity_sid": _sid("RI", "Always null here"),
            "origin": _string("Always 'hosted' here: the number is a SIM's, not Twilio's"),
            "phone_number": _string("The number, E.164", format="phone-number"),
            "sid": _sid("PN", "The number's SID"),
            "sms_application_sid": _string(
                f"The application whose SMS URLs inbound messages go to; {unset_is_empty}"
            ),
            "sms_fallback_method": _method("The method for sms_fallback_url"),
            "sms_fallback_url": _string(
                f"Where inbound messages go if sms_url fails; {unset_is_empty}"
            ),
            "sms_method": _method("The method for sms_url"),
            "sms_url": _string(f"Where inbound messages go; {unset_is_empty}"),
            "status_callback": _string(f"The status callback URL; {unset_is_empty}"),
            "status_callback_method": _method("The method for status_callback"),
            "trunk_sid": _sid("TK", "Always null here"),
            "uri": _string("The number's path, relative to the API's address"),
            "voice_application_sid": _string(f"Always {unset_is_empty}"),
            "voice_caller_id_lookup": {
                "type": "boolean",
                "nullable": True,
                "description": "Always false here",
            },
            "voice_fallback_method": _method("Always 'POST' here"),
            "voice_fallback_url": _string("Always null here"),
            "voice_method": _method("Always 'POST' here"),
            "voice_url": _string("Always null here"),
            "bundle_sid": _sid("BU", "Always null here"),
            "voice_receive_mode": _enum(VOICE_RECEIVE_MODES, "Always 'voice' here"),
            "status": _string("Always 'in-use' here"),
            "type": _string(
                "Always 'mobile' here (not in Twilio's schema; twilio-python reads it)"
            ),
            "subresource_uris": {
                "type": "object",
                "nullable": True,
                "additionalProperties": {"type": "string"},
                "description": "Related resources (not in Twilio's current schema)",
            },
        },
        title="IncomingPhoneNumber",
    )


def _application() -> Schema:
    """``api.v2010.account.application``: every property nullable, as Twilio's."""
    flag = {"type": "boolean", "nullable": True}
    return _object(
        {
            "account_sid": _sid("AC", "The account the application belongs to"),
            "api_version": _string("The API version of its TwiML sessions"),
            "date_created": _date("When the application was created"),
            "date_updated": _date("When the application was last changed"),
            "friendly_name": _string("Its name, at most 64 characters"),
            "message_status_callback": _string(
                "Where the status callbacks of messages sent with its SID go", format="uri"
            ),
            "sid": _sid("AP", "The application's SID"),
            "sms_fallback_method": _method("The method for sms_fallback_url"),
            "sms_fallback_url": _string("Where inbound messages go if sms_url fails", format="uri"),
            "sms_method": _method("The method for sms_url"),
            "sms_status_callback": _string(
                "Used as message_status_callback when that is unset (deprecated)", format="uri"
            ),
            "sms_url": _string(
                "Where inbound messages to the numbers that name it go", format="uri"
            ),
            "status_callback": _string("Voice: kept, never called here", format="uri"),
            "status_callback_method": _method("Voice: the method for status_callback"),
            "uri": _string("The application's path, relative to the API's address"),
            "voice_caller_id_lookup": {**flag, "description": "Voice: kept, no use here"},
            "voice_fallback_method": _method("Voice: kept, no use here"),
            "voice_fallback_url": _string("Voice: kept, never called here", format="uri"),
            "voice_method": _method("Voice: kept, no use here"),
            "voice_url": _string("Voice: kept, never called here", format="uri"),
            "public_application_connect_enabled": {
                **flag,
                "description": "Voice: kept, no use here",
            },
        },
        title="Application",
    )


def _page(key: str, item: str, title: str) -> Schema:
    """Twilio's list envelope: the list under ``key`` and the paging keys, nothing else."""
    uri = {"type": "string", "format": "uri-reference"}
    return _object(
        {
            key: {"type": "array", "items": _ref("schemas", item)},
            "end": {"type": "integer"},
            "first_page_uri": uri,
            "next_page_uri": {**uri, "nullable": True},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "previous_page_uri": {**uri, "nullable": True},
            "start": {"type": "integer"},
            "uri": uri,
        },
        title=title,
    )


def _error() -> Schema:
    """Twilio's legacy error body (``gateway.domain.errors.ApiError.body``)."""
    return _object(
        {
            "code": {"type": "integer", "description": "Twilio's error code"},
            "message": {"type": "string"},
            "more_info": {"type": "string", "format": "uri"},
            "status": {"type": "integer", "description": "The HTTP status again"},
        },
        title="TwilioError",
    )


def _modem() -> Schema:
    """One modem as ``smsgw modems`` shows it (``gateway.modems.supervisor.ModemStatus``, its
    dates in ISO 8601 as ``/smsgw/webhooks.json`` gives them)."""
    text = {"type": "string"}
    nullable_text = {"type": "string", "nullable": True}
    nullable_int = {"type": "integer", "nullable": True}
    identity = _object(
        {
            "manufacturer": text,
            "model": text,
            "revision": text,
            "imei": text,
            "imsi": nullable_text,
            "numbers": {"type": "array", "items": text},
        }
    )
    registration = _object(
        {
            "stat": {"type": "integer"},
            "lac": nullable_text,
            "ci": nullable_text,
            "act": nullable_int,
        }
    )
    info = _object(
        {
            "identity": identity,
            "profile": text,
            "storage": text,
            "report_storage": nullable_text,
            "storages": {"type": "array", "items": text},
            "cnmi": {"type": "array", "items": {"type": "integer"}, "minItems": 5, "maxItems": 5},
            "smsc": nullable_text,
            "registration": {**registration, "nullable": True},
            "rssi": nullable_int,
        }
    )
    health = _object(
        {
            "checked_at": {"type": "string", "format": "date-time"},
            "rssi": nullable_int,
            "registration": {**registration, "nullable": True},
            "storage": nullable_text,
            "storage_used": nullable_int,
            "storage_total": nullable_int,
        }
    )
    return _object(
        {
            "id": text,
            "driver": text,
            "port": text,
            "numbers": {"type": "array", "items": text},
            "state": {"type": "string", "enum": [state.value for state in ModemState]},
            "info": {**info, "nullable": True, "description": "Null until the modem answered"},
            "error": nullable_text,
            "troubles": {"type": "integer", "minimum": 0},
            "trouble": nullable_text,
            "health": {**health, "nullable": True, "description": "The latest health check"},
            "recoveries": {"type": "integer", "minimum": 0},
        },
        title="Modem",
    )


def _webhooks() -> Schema:
    """How an account's webhooks stand (``smsgw webhooks``)."""
    count = {"type": "integer", "minimum": 0}
    moment = {"type": "string", "format": "date-time"}
    trouble = _object(
        {
            "message_sid": {"type": "string", "nullable": True},
            "kind": {"type": "string", "enum": ["inbound", "status"]},
            "url": {"type": "string"},
            "state": {"type": "string", "enum": ["pending", "failed"]},
            "attempts": {"type": "integer", "minimum": 1},
            "last_error": {"type": "string", "nullable": True},
            "next_attempt": {**moment, "nullable": True},
            "updated": moment,
        }
    )
    return _object(
        {
            "pending": count,
            "delivered": count,
            "failed": count,
            "troubled": {"type": "array", "items": trouble},
        },
        title="WebhookStates",
    )


def _health() -> Schema:
    """``GET /healthz``'s body, the same whether ready (200) or not (503)."""
    modem = _object(
        {
            "state": {"type": "string", "enum": [state.value for state in ModemState]},
            "error": {"type": "string", "nullable": True},
        }
    )
    return _object(
        {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "reasons": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Why it is not ready (none when it is)",
            },
            "modems": {
                "type": "object",
                "additionalProperties": modem,
                "description": "Each modem's state, by its id",
            },
            "queue": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
                "description": "Messages not sent yet, by status",
            },
        },
        title="Health",
    )


# --- the operations -----------------------------------------------------------------------------


def _path_sid(name: str, prefix: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": _sid(prefix, description, nullable=False),
    }


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "description": description, "schema": schema}


def _paging(
    token: str = "The page token, from a next/previous_page_uri",
) -> list[Schema]:
    return [
        _query(
            "PageSize",
            {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            f"How many resources a page has: 50 unless given, at most {MAX_PAGE_SIZE}",
        ),
        _query(
            "Page",
            {"type": "integer", "minimum": 0, "maximum": MAX_PAGE},
            "The page index, simply for client state; over 0 only with the PageToken of a "
            "next/previous_page_uri (20001 otherwise)",
        ),
        _query("PageToken", {"type": "string"}, token),
    ]


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(success: dict[int, Schema], *errors: int) -> Schema:
    responses: Schema = {str(status): response for status, response in success.items()}
    for status in sorted({*errors, *_ALWAYS}):
        # A route's own answer for the status stays (/healthz's 503 says why, in its own body).
        responses.setdefault(str(status), _ref("responses", f"Error{status}"))
    return responses


def _form(properties: Schema, *, required: tuple[str, ...] = (), title: str) -> Schema:
    schema: Schema = {"type": "object", "title": title, "properties": properties}
    if required:
        schema["required"] = list(required)
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


def _operation(operation_id: str, summary: str, responses: Schema, **extra: Any) -> Schema:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [extra.pop("tag")],
        "responses": responses,
        **extra,
    }


def _boolean(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def _create_message_form() -> Schema:
    url = {"type": "string", "format": "uri", "maxLength": MAX_URL}
    return _form(
        {
            "To": {
                "type": "string",
                "format": "phone-number",
                "description": (
                    "The recipient: E.164 (a length and beginning its country's numbering plan "
                    "has, else 21211); a national number, made E.164 by [gateway] "
                    "default_region (refused without one); or a short code of 3 to 8 digits, "
                    "sent as given from a modem with allow_short_codes"
                ),
            },
            "From": {
                "type": "string",
                "format": "phone-number",
                "description": (
                    "One of the account's modems' numbers (E.164, or national with "
                    "default_region), or an MG… service SID. With MessagingServiceSid: a "
                    "number of its pool (21606 otherwise), which then sends the message "
                    "(status accepted, num_segments 0 in the answer)"
                ),
            },
            "MessagingServiceSid": _sid("MG", "A Messaging Service to send with", nullable=False),
            "Body": {
                "type": "string",
                "maxLength": MAX_BODY_CHARS,
                "description": f"The text, at most {MAX_BODY_CHARS} characters",
            },
            "StatusCallback": {**url, "description": "Where status changes are posted"},
            "ApplicationSid": _sid(
                "AP",
                "One of the account's applications: its message_status_callback gets the "
                "sent and failed callbacks, and StatusCallback is ignored (else 21218)",
                nullable=False,
            ),
            "ValidityPeriod": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_VALIDITY,
                "description": f"Seconds the message may wait to be sent (default {MAX_VALIDITY})",
            },
            "MaxPrice": {
                "type": "number",
                "description": "The most the message may cost; over it, it fails with 30010",
            },
            "SmartEncoded": _boolean("Replace Unicode look-alikes with GSM-7 characters"),
            "ContentRetention": {
                "type": "string",
                "enum": ["retain", "discard"],
                "description": "'discard': no text of the message is kept once it is sent",
            },
            "AddressRetention": {
                "type": "string",
                "enum": ["retain", "obfuscate"],
                "description": "'obfuscate': the recipient is kept only masked once final",
            },
            "ScheduleType": {
                "type": "string",
                "enum": ["fixed"],
                "description": "'fixed', with SendAt and a Messaging Service",
            },
            "SendAt": {
                "type": "string",
                "format": "date-time",
                "description": "When to send, 15 minutes to 7 days ahead (ISO 8601)",
            },
            "MediaUrl": {
                "type": "array",
                "items": {"type": "string", "format": "uri"},
                "maxItems": MAX_MEDIA,
                "description": f"Refused with 21621: the modems send SMS only (more than "
                f"{MAX_MEDIA}: 21623)",
            },
            "SendAsMms": _boolean("Refused with 21621 when true: the modems send SMS only"),
            "ContentSid": _sid("HX", "Refused with 21619: no content templates", nullable=False),
            "ShortenUrls": _boolean("Refused with 30106 when true: no link shortening domain"),
            "ProvideFeedback": _boolean("Whether the message's Feedback may be created"),
            "Attempt": {
                "type": "integer",
                "format": "int32",
                "description": "The attempts made to send the message, this one included; "
                "checked, not used",
            },
        },
        required=("To",),
        title="CreateMessageRequest",
    )


def _feedback_form() -> Schema:
    form = _form(
        {
            "Outcome": {
                "type": "string",
                "enum": list(OUTCOMES),
                "description": "The outcome to report: confirmed unless given",
            },
        },
        title="CreateMessageFeedbackRequest",
    )
    form["required"] = False  # twilio-python sends no body when no outcome is given
    return form


def _update_message_form() -> Schema:
    return _form(
        {
            "Body": {
                "type": "string",
                "description": "'' redacts the message's text (once it is complete)",
            },
            "Status": {
                "type": "string",
                "enum": ["canceled"],
                "description": "Cancels a message that has not gone yet (else 30409)",
            },
        },
        title="UpdateMessageRequest",
    )


def _update_number_form() -> Schema:
    url = {"type": "string", "format": "uri", "maxLength": MAX_URL}
    method = {"type": "string", "enum": list(HTTP_METHODS)}
    return _form(
        {
            "FriendlyName": {"type": "string", "maxLength": 64},
            "SmsUrl": {**url, "description": "Where inbound messages go; '' clears it"},
            "SmsMethod": {**method, "description": "The method for SmsUrl"},
            "SmsFallbackUrl": {**url, "description": "Where they go if SmsUrl fails"},
            "SmsFallbackMethod": {**method, "description": "The method for SmsFallbackUrl"},
            "StatusCallback": {**url, "description": "The number's status callback URL"},
            "SmsApplicationSid": {
                "type": "string",
                "pattern": "^(AP[0-9a-fA-F]{32})?$",
                "description": "One of the account's applications, whose SMS URLs are used "
                "instead of the number's (else 22108); '' clears it",
            },
        },
        title="UpdateIncomingPhoneNumberRequest",
    )


def _application_form(title: str) -> Schema:
    """``CreateApplication``'s and ``UpdateApplication``'s parameters (twilio-oai)."""
    url = {"type": "string", "format": "uri", "maxLength": MAX_URL}
    method = {"type": "string", "enum": list(HTTP_METHODS)}
    voice = "Voice: kept, no use here"
    return _form(
        {
            "FriendlyName": {"type": "string", "maxLength": 64},
            "ApiVersion": {"type": "string", "enum": ["2010-04-01", "2008-08-01"]},
            "SmsUrl": {**url, "description": "Where the inbound messages of its numbers go"},
            "SmsMethod": {**method, "description": "The method for SmsUrl"},
            "SmsFallbackUrl": {**url, "description": "Where they go if SmsUrl fails"},
            "SmsFallbackMethod": {**method, "description": "The method for SmsFallbackUrl"},
            "SmsStatusCallback": {**url, "description": "MessageStatusCallback's old name"},
            "MessageStatusCallback": {
                **url,
                "description": "Where messages sent with its SID report sent or failed",
            },
            "VoiceUrl": {**url, "description": voice},
            "VoiceMethod": {**method, "description": voice},
            "VoiceFallbackUrl": {**url, "description": voice},
            "VoiceFallbackMethod": {**method, "description": voice},
            "StatusCallback": {**url, "description": voice},
            "StatusCallbackMethod": {**method, "description": voice},
            "VoiceCallerIdLookup": _boolean(voice),
            "PublicApplicationConnectEnabled": _boolean(voice),
        },
        title=title,
    )


MESSAGES_PAGE_TOKEN: Final = (
    "The page token, from a next/previous_page_uri: a position in the list as it stood at "
    "the walk's first page, so that no message is skipped or shown twice while messages are "
    "sent; or PA (PB) and a message's SID: the page after (before) it as the list stands now"
)


def _paths() -> Schema:
    account = _path_sid("AccountSid", "AC", "The account; the credentials' own")
    message_sid = _path_sid("Sid", "(SM|MM)", "The message's SID")
    messages = "Message"
    numbers = "IncomingPhoneNumber"
    message = {200: _json(_ref("schemas", "api.v2010.account.message"), "The message")}
    number = {200: _json(_ref("schemas", "api.v2010.account.incoming_phone_number"), "The number")}
    applications = "Application"
    application = {200: _json(_ref("schemas", "api.v2010.account.application"), "The application")}
    list_filters = [
        _query(
            "To",
            {"type": "string", "format": "phone-number"},
            "Only messages to this number (read as To is on create: a national number is made "
            "E.164 by default_region)",
        ),
        _query(
            "From",
            {"type": "string", "format": "phone-number"},
            "Only messages from this number (read as To is; an inbound sender as it was given)",
        ),
        *(
            _query(name, {"type": "string", "format": "date-time"}, description)
            for name, description in (
                (
                    "DateSent",
                    "Only messages sent on this GMT day; '<=' or '>=' before the date makes it "
                    "DateSent< or DateSent>",
                ),
                (
                    "DateSent<",
                    "Only messages sent at or before this moment (a date alone: midnight at "
                    "its start, GMT); DateSent<=YYYY-MM-DD in a URL",
                ),
                ("DateSent<=", "The same as DateSent<, for a URL that encodes the '='"),
                (
                    "DateSent>",
                    "Only messages sent at or after this moment (a date alone: midnight at "
                    "its start, GMT); DateSent>=YYYY-MM-DD in a URL",
                ),
                ("DateSent>=", "The same as DateSent>, for a URL that encodes the '='"),
            )
        ),
    ]
    return {
        f"{ACCOUNT}/Messages.json": {
            "parameters": [account],
            "get": _operation(
                "ListMessage",
                "The account's messages, sorted on DateSent, most recent first: those not "
                "sent yet (no DateSent) first, newest first; one that ended unsent (failed, "
                "canceled) where it ended; ties newest first",
                _responses(
                    {200: _json(_ref("schemas", "ListMessageResponse"), "A page")}, 400, 401, 429
                ),
                tag=messages,
                parameters=[*list_filters, *_paging(MESSAGES_PAGE_TOKEN)],
            ),
            "post": _operation(
                "CreateMessage",
                "Send a message",
                _responses(
                    {201: _json(_ref("schemas", "api.v2010.account.message"), "Accepted")},
                    400,
                    401,
                    413,
                    429,
                ),
                tag=messages,
                requestBody=_create_message_form(),
            ),
        },
        f"{ACCOUNT}/Messages/{{Sid}}.json": {
            "parameters": [account, message_sid],
            "get": _operation(
                "FetchMessage", "One message", _responses(message, 401, 404, 429), tag=messages
            ),
            "post": _operation(
                "UpdateMessage",
                "Redact (Body='') or cancel (Status=canceled) a message",
                _responses(message, 400, 401, 404, 409, 413, 429),
                tag=messages,
                requestBody=_update_message_form(),
            ),
            "delete": _operation(
                "DeleteMessage",
                "Delete a complete message",
                _responses({204: {"description": "Deleted"}}, 401, 404, 409, 429),
                tag=messages,
            ),
        },
        f"{ACCOUNT}/Messages/{{MessageSid}}/Media.json": {
            "parameters": [account, _path_sid("MessageSid", "(SM|MM)", "The message's SID")],
            "get": _operation(
                "ListMedia",
                "A message's media: always none, the modems send SMS",
                _responses(
                    {200: _json(_ref("schemas", "ListMediaResponse"), "A page")}, 400, 401, 404, 429
                ),
                tag=messages,
                parameters=_paging(),
            ),
        },
        f"{ACCOUNT}/Messages/{{MessageSid}}/Feedback.json": {
            "parameters": [account, _path_sid("MessageSid", "(SM|MM)", "The message's SID")],
            "post": _operation(
                "CreateMessageFeedback",
                "Report the outcome of a message created with ProvideFeedback=true (404 for "
                "any other)",
                _responses(
                    {
                        201: _json(
                            _ref("schemas", "api.v2010.account.message.message_feedback"),
                            "The message's Feedback",
                        )
                    },
                    400,
                    401,
                    404,
                    413,
                    429,
                ),
                tag=messages,
                requestBody=_feedback_form(),
            ),
        },
        f"{ACCOUNT}/Messages/{{MessageSid}}/Media/{{Sid}}.json": {
            "parameters": [
                account,
                _path_sid("MessageSid", "(SM|MM)", "The message's SID"),
                _path_sid("Sid", "ME", "The media's SID"),
            ],
            "get": _operation(
                "FetchMedia",
                "One media file: never found, the modems send SMS",
                _responses({}, 401, 404, 429),
                tag=messages,
            ),
            "delete": _operation(
                "DeleteMedia",
                "Delete a media file: never found, the modems send SMS",
                _responses({}, 401, 404, 429),
                tag=messages,
            ),
        },
        f"{ACCOUNT}/IncomingPhoneNumbers.json": {
            "parameters": [account],
            "get": _operation(
                "ListIncomingPhoneNumber",
                "The account's numbers: its modems' SIMs",
                _responses(
                    {200: _json(_ref("schemas", "ListIncomingPhoneNumberResponse"), "A page")},
                    400,
                    401,
                    429,
                ),
                tag=numbers,
                parameters=[
                    _query("Beta", {"type": "boolean"}, "Accepted; every number is shown"),
                    _query("FriendlyName", {"type": "string"}, "Only the numbers of this name"),
                    _query(
                        "PhoneNumber",
                        {"type": "string", "format": "phone-number"},
                        "Only numbers containing these digits",
                    ),
                    _query("Origin", {"type": "string"}, "'hosted' (all of them) or 'twilio'"),
                    *_paging(),
                ],
            ),
        },
        f"{ACCOUNT}/IncomingPhoneNumbers/{{Sid}}.json": {
            "parameters": [account, _path_sid("Sid", "PN", "The number's SID")],
            "get": _operation(
                "FetchIncomingPhoneNumber",
                "One number",
                _responses(number, 401, 404, 429),
                tag=numbers,
            ),
            "post": _operation(
                "UpdateIncomingPhoneNumber",
                "Change where a number's inbound messages go",
                _responses(number, 400, 401, 404, 413, 429),
                tag=numbers,
                requestBody=_update_number_form(),
            ),
        },
        f"{ACCOUNT}/Applications.json": {
            "parameters": [account],
            "post": _operation(
                "CreateApplication",
                "Create an application",
                _responses(
                    {201: _json(_ref("schemas", "api.v2010.account.application"), "Created")},
                    400,
                    401,
                    413,
                    429,
                ),
                tag=applications,
                requestBody=_application_form("CreateApplicationRequest"),
            ),
            "get": _operation(
                "ListApplication",
                "The account's applications, oldest first",
                _responses(
                    {200: _json(_ref("schemas", "ListApplicationResponse"), "A page")},
                    400,
                    401,
                    429,
                ),
                tag=applications,
                parameters=[
                    _query(
                        "FriendlyName", {"type": "string"}, "Only the applications of this name"
                    ),
                    *_paging(),
                ],
            ),
        },
        f"{ACCOUNT}/Applications/{{Sid}}.json": {
            "parameters": [account, _path_sid("Sid", "AP", "The application's SID")],
            "get": _operation(
                "FetchApplication",
                "One application",
                _responses(application, 401, 404, 429),
                tag=applications,
            ),
            "post": _operation(
                "UpdateApplication",
                "Change an application's settings",
                _responses(application, 400, 401, 404, 413, 429),
                tag=applications,
                requestBody=_application_form("UpdateApplicationRequest"),
            ),
            "delete": _operation(
                "DeleteApplication",
                "Delete an application (the numbers that name it go back to their own URLs)",
                _responses({204: {"description": "Deleted"}}, 401, 404, 429),
                tag=applications,
            ),
        },
        "/smsgw/modems.json": {
            "get": _operation(
                "ListModems",
                "The modems that carry the account's numbers (a gateway extension)",
                _responses(
                    {
                        200: _json(
                            {"type": "array", "items": _ref("schemas", "smsgw.modem")},
                            "Every modem",
                        )
                    },
                    401,
                    429,
                ),
                tag="smsgw",
            ),
        },
        "/smsgw/webhooks.json": {
            "get": _operation(
                "FetchWebhookStates",
                "How the account's webhooks stand (a gateway extension)",
                _responses({200: _json(_ref("schemas", "smsgw.webhooks"), "Counts")}, 401, 429),
                tag="smsgw",
            ),
        },
        "/healthz": {
            "get": _operation(
                "FetchHealth",
                "Whether the gateway can do its job: the database answers and a modem is in "
                "service (a gateway extension, for supervisors and load balancers)",
                _responses(
                    {
                        200: _json(_ref("schemas", "smsgw.health"), "Ready"),
                        503: _json(_ref("schemas", "smsgw.health"), "Not ready, and why"),
                    },
                    429,
                ),
                tag="smsgw",
                security=[],
            ),
        },
        "/metrics": {
            "get": _operation(
                "FetchMetrics",
                "The gateway's metrics in the Prometheus text format 0.0.4 (a gateway extension)",
                _responses(
                    {
                        200: {
                            "description": "The metrics",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                    429,
                ),
                tag="smsgw",
                security=[],
            ),
        },
        OPENAPI_PATH: {
            "get": _operation(
                "FetchOpenApiDocument",
                "This document",
                _responses({200: _json({"type": "object"}, "The OpenAPI document")}, 429),
                tag="smsgw",
                security=[],
            ),
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.0.3 document, a new dict each call."""
    error_responses = {
        f"Error{status}": {
            "description": description,
            "content": {"application/json": {"schema": _ref("schemas", "TwilioError")}},
        }
        for status, description in ERROR_STATUSES.items()
    }
    error_responses["Error401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Basic realm"}
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "smsgw",
            "version": _version(),
            "description": (
                "The Twilio Messages API subset served by smsgw, a Twilio-compatible SMS "
                "gateway on GSM modems: Messages (send, list, fetch, redact, cancel, delete), "
                "their Media (always none) and Feedback, IncomingPhoneNumbers (the modems' "
                "SIMs) and Applications, "
                f"under /{API_VERSION}, shaped as Twilio's own API description shapes them, "
                "plus the gateway's own resources (/smsgw/, /healthz, /metrics). Authenticate "
                "with HTTP Basic: the account SID and auth token, or an API key SID and secret "
                "(/healthz, /metrics and this document need none)."
            ),
            "license": {"name": "MIT"},
        },
        "tags": [
            {"name": "Message", "description": "Twilio's Message and Media resources"},
            {"name": "IncomingPhoneNumber", "description": "Twilio's IncomingPhoneNumber"},
            {"name": "Application", "description": "Twilio's Application"},
            {"name": "smsgw", "description": "The gateway's own resources"},
        ],
        "security": [{SECURITY_SCHEME: []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {SECURITY_SCHEME: {"type": "http", "scheme": "basic"}},
            "schemas": {
                "api.v2010.account.message": _message(),
                "api.v2010.account.message.media": _media(),
                "api.v2010.account.message.message_feedback": _feedback(),
                "api.v2010.account.incoming_phone_number": _incoming_phone_number(),
                "ListMessageResponse": _page(
                    "messages", "api.v2010.account.message", "ListMessageResponse"
                ),
                "ListMediaResponse": _page(
                    "media_list", "api.v2010.account.message.media", "ListMediaResponse"
                ),
                "ListIncomingPhoneNumberResponse": _page(
                    "incoming_phone_numbers",
                    "api.v2010.account.incoming_phone_number",
                    "ListIncomingPhoneNumberResponse",
                ),
                "api.v2010.account.application": _application(),
                "ListApplicationResponse": _page(
                    "applications",
                    "api.v2010.account.application",
                    "ListApplicationResponse",
                ),
                "TwilioError": _error(),
                "smsgw.modem": _modem(),
                "smsgw.webhooks": _webhooks(),
                "smsgw.health": _health(),
            },
            "responses": error_responses,
        },
    }


@functools.cache
def _document_text() -> str:
    return json.dumps(document(), separators=(",", ":"))


async def openapi_document(request: web.Request) -> web.Response:
    """``GET /openapi.json``: the document, to anyone (it holds nothing of an account's)."""
    return web.Response(text=_document_text(), content_type="application/json")

"""The OpenAPI document's data: Twilio's enums and the schemas of the resources (Twilio's
Message, Media, Feedback, IncomingPhoneNumber and Application, their list envelopes and the
error body; the gateway's own modem, webhook states and health), and the error answers."""

from __future__ import annotations

from typing import Final

from drivers import UssdState
from gateway.api.openapi.builders import (
    Schema,
    closed_object,
    date,
    enum,
    method,
    ref,
    sid,
    string,
)
from gateway.domain.feedback import OUTCOMES
from gateway.domain.models import MAX_BODY_CHARS
from gateway.modems.supervisor import ModemState

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
    409: "The message is not complete yet (20009), or a USSD session runs on the modem (20409)",
    413: "The request body is larger than the gateway's max_request_bytes (20001)",
    429: "Too many requests at once (20429), or the sender's queue is full (21611)",
    408: "The request's head or body came too slowly (head_timeout, body_timeout; 20001)",
    503: "The database cannot take a write now, every connection is busy, or the modem cannot "
    "take a USSD session now (20503)",
}


def message() -> Schema:
    """``api.v2010.account.message``: every property nullable, as Twilio's."""
    return closed_object(
        {
            "account_sid": sid("AC", "The account the message belongs to"),
            "api_version": string("The API version used to process the message"),
            "body": string(
                f"The text of the message, at most {MAX_BODY_CHARS} characters; '' once redacted"
            ),
            "date_created": date("When the message was created"),
            "date_sent": date(
                "When the message was sent (received, for an inbound one: null while receiving)"
            ),
            "date_updated": date("When the message was last updated"),
            "direction": enum(MESSAGE_DIRECTIONS, "The direction of the message"),
            "error_code": {
                "type": "integer",
                "nullable": True,
                "description": "Twilio's error code when the status is failed or undelivered",
            },
            "error_message": string("The description of error_code"),
            "from": string(
                "The sender: E.164 for an outbound message (null while a Messaging Service has "
                "not chosen it); an inbound message's sender as the network gave it (a national "
                "number, a short code or an alphanumeric name too)",
                format="phone-number",
            ),
            "messaging_service_sid": sid("MG", "The Messaging Service that sent the message"),
            "num_media": string("The number of media files, a decimal string: always '0'"),
            "num_segments": string(
                "The number of SMS parts, a decimal string (while receiving: those announced); "
                "'0' in the answer to a create with a Messaging Service, which encodes the "
                "message when it gives it its sender"
            ),
            "price": string("What the message cost, negative, in price_unit"),
            "price_unit": string("The currency of price", format="currency"),
            "sid": sid("(SM|MM)", "The message's SID"),
            "status": enum(MESSAGE_STATUSES, "The status of the message"),
            "subresource_uris": {
                "type": "object",
                "format": "uri-map",
                "nullable": True,
                "properties": {"media": {"type": "string"}, "feedback": {"type": "string"}},
                "additionalProperties": {"type": "string"},
                "description": "Related resources, as paths relative to the API's address",
            },
            "to": string(
                "The recipient: E.164, or a short code as given (outbound), or the gateway's "
                "number that received it (inbound)"
            ),
            "uri": string("The message's own path, relative to the API's address"),
        },
        title="Message",
    )


def media() -> Schema:
    """``api.v2010.account.message.media`` (a list of them is always empty here)."""
    return closed_object(
        {
            "account_sid": sid("AC", "The account the media belongs to"),
            "content_type": string("The MIME type of the media"),
            "date_created": date("When the media was created"),
            "date_updated": date("When the media was last updated"),
            "parent_sid": sid("(SM|MM)", "The message the media belongs to"),
            "sid": sid("ME", "The media's SID"),
            "uri": string("The media's path, relative to the API's address"),
        },
        title="Media",
    )


def feedback() -> Schema:
    """``api.v2010.account.message.message_feedback`` (its ``outcome`` not nullable, as
    Twilio's)."""
    return closed_object(
        {
            "account_sid": sid("AC", "The account the message belongs to"),
            "message_sid": sid("(SM|MM)", "The message the Feedback is for"),
            "outcome": {
                "type": "string",
                "enum": list(OUTCOMES),
                "description": "Whether the recipient performed the tracked action",
            },
            "date_created": date("When the Feedback was first created"),
            "date_updated": date("When its outcome was last reported"),
            "uri": string("The Feedback's path, relative to the API's address"),
        },
        title="MessageFeedback",
    )


def incoming_phone_number() -> Schema:
    """``api.v2010.account.incoming_phone_number``, a modem's SIM as the gateway shows it."""
    unset_is_empty = "'' when unset, as in Twilio's documented responses"
    capability = {"type": "boolean"}
    return closed_object(
        {
            "account_sid": sid("AC", "The account that owns the number"),
            "address_requirements": enum(ADDRESS_REQUIREMENTS, "Always 'none' here"),
            "address_sid": sid("AD", "Always null here"),
            "api_version": string("The API version"),
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
            "date_created": date("When the number was first seen"),
            "date_updated": date("When the number's settings last changed"),
            "emergency_status": enum(EMERGENCY_STATUSES, "Always 'Inactive' here"),
            "emergency_address_sid": sid("AD", "Always null here"),
            "emergency_address_status": enum(
                EMERGENCY_ADDRESS_STATUSES, "Always 'unregistered' here"
            ),
            "friendly_name": string("The number's name"),
            "identity_sid": sid("RI", "Always null here"),
            "origin": string("Always 'hosted' here: the number is a SIM's, not Twilio's"),
            "phone_number": string("The number, E.164", format="phone-number"),
            "sid": sid("PN", "The number's SID"),
            "sms_application_sid": string(
                f"The application whose SMS URLs inbound messages go to; {unset_is_empty}"
            ),
            "sms_fallback_method": method("The method for sms_fallback_url"),
            "sms_fallback_url": string(
                f"Where inbound messages go if sms_url fails; {unset_is_empty}"
            ),
            "sms_method": method("The method for sms_url"),
            "sms_url": string(f"Where inbound messages go; {unset_is_empty}"),
            "status_callback": string(f"The status callback URL; {unset_is_empty}"),
            "status_callback_method": method("The method for status_callback"),
            "trunk_sid": sid("TK", "Always null here"),
            "uri": string("The number's path, relative to the API's address"),
            "voice_application_sid": string(f"Always {unset_is_empty}"),
            "voice_caller_id_lookup": {
                "type": "boolean",
                "nullable": True,
                "description": "Always false here",
            },
            "voice_fallback_method": method("The method for voice_fallback_url"),
            "voice_fallback_url": string("Where a missed call is reported if voice_url fails"),
            "voice_method": method("The method for voice_url"),
            "voice_url": string("Where a missed call is reported (the modem answers none)"),
            "bundle_sid": sid("BU", "Always null here"),
            "voice_receive_mode": enum(VOICE_RECEIVE_MODES, "Always 'voice' here"),
            "status": string("Always 'in-use' here"),
            "type": string("Always 'mobile' here (not in Twilio's schema; twilio-python reads it)"),
            "subresource_uris": {
                "type": "object",
                "nullable": True,
                "additionalProperties": {"type": "string"},
                "description": "Related resources (not in Twilio's current schema)",
            },
        },
        title="IncomingPhoneNumber",
    )


def application() -> Schema:
    """``api.v2010.account.application``: every property nullable, as Twilio's."""
    flag = {"type": "boolean", "nullable": True}
    return closed_object(
        {
            "account_sid": sid("AC", "The account the application belongs to"),
            "api_version": string("The API version of its TwiML sessions"),
            "date_created": date("When the application was created"),
            "date_updated": date("When the application was last changed"),
            "friendly_name": string("Its name, at most 64 characters"),
            "message_status_callback": string(
                "Where the status callbacks of messages sent with its SID go", format="uri"
            ),
            "sid": sid("AP", "The application's SID"),
            "sms_fallback_method": method("The method for sms_fallback_url"),
            "sms_fallback_url": string("Where inbound messages go if sms_url fails", format="uri"),
            "sms_method": method("The method for sms_url"),
            "sms_status_callback": string(
                "Used as message_status_callback when that is unset (deprecated)", format="uri"
            ),
            "sms_url": string(
                "Where inbound messages to the numbers that name it go", format="uri"
            ),
            "status_callback": string("Voice: kept, never called here", format="uri"),
            "status_callback_method": method("Voice: the method for status_callback"),
            "uri": string("The application's path, relative to the API's address"),
            "voice_caller_id_lookup": {**flag, "description": "Voice: kept, no use here"},
            "voice_fallback_method": method("Voice: kept, no use here"),
            "voice_fallback_url": string("Voice: kept, never called here", format="uri"),
            "voice_method": method("Voice: kept, no use here"),
            "voice_url": string("Voice: kept, never called here", format="uri"),
            "public_application_connect_enabled": {
                **flag,
                "description": "Voice: kept, no use here",
            },
        },
        title="Application",
    )


def page(key: str, item: str, title: str) -> Schema:
    """Twilio's list envelope: the list under ``key`` and the paging keys, nothing else."""
    uri = {"type": "string", "format": "uri-reference"}
    return closed_object(
        {
            key: {"type": "array", "items": ref("schemas", item)},
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


def error() -> Schema:
    """Twilio's legacy error body (``gateway.domain.errors.ApiError.body``)."""
    return closed_object(
        {
            "code": {"type": "integer", "description": "Twilio's error code"},
            "message": {"type": "string"},
            "more_info": {"type": "string", "format": "uri"},
            "status": {"type": "integer", "description": "The HTTP status again"},
        },
        title="TwilioError",
    )


def modem() -> Schema:
    """One modem as ``smsgw modems`` shows it (``gateway.modems.supervisor.ModemStatus``, its
    dates in ISO 8601 as ``/smsgw/webhooks.json`` gives them)."""
    text = {"type": "string"}
    nullable_text = {"type": "string", "nullable": True}
    nullable_int = {"type": "integer", "nullable": True}
    identity = closed_object(
        {
            "manufacturer": text,
            "model": text,
            "revision": text,
            "imei": text,
            "imsi": nullable_text,
            "numbers": {"type": "array", "items": text},
        }
    )
    registration = closed_object(
        {
            "stat": {"type": "integer"},
            "lac": nullable_text,
            "ci": nullable_text,
            "act": nullable_int,
        }
    )
    network = closed_object(
        {
            "operator": {**nullable_text, "description": "The long name (AT+COPS=3,0)"},
            "code": {**nullable_text, "description": "MCC and MNC (AT+COPS=3,2)"},
            "act": {**nullable_int, "description": "TS 27.007 <AcT> (7: E-UTRAN)"},
            "technology": {**nullable_text, "description": "The <AcT>'s name: GSM, LTE..."},
            "stat": {"type": "integer", "description": "+CREG/+CEREG <stat>: 1 home, 5 roaming"},
            "registered": {"type": "boolean"},
            "roaming": {"type": "boolean"},
            "lac": nullable_text,
            "ci": nullable_text,
        }
    )
    sim = closed_object(
        {
            "state": {
                "type": "string",
                "description": "ready, missing, pin_required, puk_required, or another "
                "AT+CPIN? code in lower case",
            },
            "pin_attempts": nullable_int,
            "puk_attempts": nullable_int,
        }
    )
    info = closed_object(
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
            "sim": {**sim, "nullable": True},
            "network": {**network, "nullable": True},
            "acknowledged": {
                "type": "boolean",
                "description": "AT+CSMS=1 in effect: each routed +CMT/+CDS is acknowledged "
                "(AT+CNMA) once committed; with cnmi's ds 1, status reports come routed",
            },
        }
    )
    health_check = closed_object(
        {
            "checked_at": {"type": "string", "format": "date-time"},
            "rssi": nullable_int,
            "registration": {**registration, "nullable": True},
            "storage": nullable_text,
            "storage_used": nullable_int,
            "storage_total": nullable_int,
            "network": {**network, "nullable": True},
            "storages": {
                "type": "array",
                "description": "How full each storage the modem lists was (AT+CPMS?)",
                "items": closed_object(
                    {
                        "storage": {"type": "string", "description": "SM, ME, SR..."},
                        "used": {"type": "integer", "minimum": 0},
                        "total": {"type": "integer", "minimum": 0},
                    }
                ),
            },
        }
    )
    cap = closed_object(
        {
            "limit": {"type": "integer", "minimum": 1},
            "used": {"type": "integer", "minimum": 0},
            "left": {"type": "integer", "minimum": 0},
            "resets_at": {"type": "string", "format": "date-time"},
        }
    )
    quota = closed_object(
        {
            "day": {**cap, "nullable": True, "description": "Parts today (daily_limit)"},
            "month": {**cap, "nullable": True, "description": "Parts this month"},
            "recipients": {
                **cap,
                "nullable": True,
                "description": "Distinct recipients this month (monthly_recipients)",
            },
        }
    )
    return closed_object(
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
            "health": {**health_check, "nullable": True, "description": "The latest health check"},
            "recoveries": {"type": "integer", "minimum": 0},
            "balance": {
                **closed_object(
                    {
                        "value": {"type": "number"},
                        "at": {"type": "string", "format": "date-time"},
                        "text": text,
                    }
                ),
                "nullable": True,
                "description": "The SIM's balance as balance_ussd last read it, and when",
            },
            "sim": {**sim, "nullable": True, "description": "The SIM's lock, as last found"},
            "quota": {
                **quota,
                "nullable": True,
                "description": "The SIM plan's caps in their current periods; null: none",
            },
        },
        title="Modem",
    )


def ussd() -> Schema:
    """A USSD session's answers (``POST /smsgw/modems/{modem}/ussd.json``)."""
    status = {
        "type": "string",
        "enum": [state.value for state in UssdState],
        "description": "How the answer left the session (TS 27.007 §7.15 <m>): done, "
        "action_required (a menu), network_cancelled, other_client, not_supported, or "
        "timed_out (no answer within Timeout)",
    }
    text = {"type": "string", "nullable": True, "description": "The answer, decoded"}
    dcs = {"type": "integer", "nullable": True, "description": "Its CBS coding (TS 23.038 §5)"}
    step = closed_object({"sent": {"type": "string"}, "status": status, "text": text, "dcs": dcs})
    return closed_object(
        {
            "modem": {"type": "string"},
            "code": {"type": "string"},
            "status": status,
            "text": text,
            "dcs": dcs,
            "menu_closed": {
                "type": "boolean",
                "description": "The last answer was a menu, closed by the gateway (AT+CUSD=2) "
                "as no Reply was left for it",
            },
            "steps": {"type": "array", "items": step, "description": "Each string sent, in order"},
        },
        title="UssdSession",
    )


def webhooks() -> Schema:
    """How an account's webhooks stand (``smsgw webhooks``)."""
    count = {"type": "integer", "minimum": 0}
    moment = {"type": "string", "format": "date-time"}
    trouble = closed_object(
        {
            "message_sid": {"type": "string", "nullable": True},
            # A message's webhook or status callback, or a missed call's (VoiceUrl).
            "kind": {"type": "string", "enum": ["inbound", "status", "call"]},
            "url": {"type": "string"},
            "state": {"type": "string", "enum": ["pending", "failed"]},
            "attempts": {"type": "integer", "minimum": 1},
            "last_error": {"type": "string", "nullable": True},
            "next_attempt": {**moment, "nullable": True},
            "updated": moment,
        }
    )
    return closed_object(
        {
            "pending": count,
            "delivered": count,
            "failed": count,
            "troubled": {"type": "array", "items": trouble},
        },
        title="WebhookStates",
    )


def clock() -> Schema:
    """``/healthz``'s ``clock``: the system clock's state and its last jump (issue 20)."""
    jump = closed_object(
        {
            "at": {"type": "string", "format": "date-time"},
            "seconds": {
                "type": "number",
                "description": "By how much the wall clock jumped (negative: backward)",
            },
        }
    )
    return closed_object(
        {
            "synchronised": {
                "type": "boolean",
                "nullable": True,
                "description": "Whether the system clock is synchronised (null: cannot tell)",
            },
            "source": {"type": "string", "enum": ["timesyncd", "adjtimex", "unknown"]},
            "since": {
                "type": "string",
                "format": "date-time",
                "nullable": True,
                "description": "When this state began, as far as the gateway knows",
            },
            "last_jump": {**jump, "nullable": True},
        }
    )


def health() -> Schema:
    """``GET /healthz``'s body, the same whether ready (200) or not (503)."""
    modem_state = closed_object(
        {
            "state": {"type": "string", "enum": [state.value for state in ModemState]},
            "error": {"type": "string", "nullable": True},
        }
    )
    return closed_object(
        {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "reasons": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Why it is not ready (none when it is)",
            },
            "modems": {
                "type": "object",
                "additionalProperties": modem_state,
                "description": "Each modem's state, by its id",
            },
            "queue": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
                "description": "Messages not sent yet, by status",
            },
            "clock": clock(),
        },
        title="Health",
    )


def schemas() -> Schema:
    """Every schema of the document, by its name (Twilio's where the resource is Twilio's)."""
    return {
        "api.v2010.account.message": message(),
        "api.v2010.account.message.media": media(),
        "api.v2010.account.message.message_feedback": feedback(),
        "api.v2010.account.incoming_phone_number": incoming_phone_number(),
        "ListMessageResponse": page("messages", "api.v2010.account.message", "ListMessageResponse"),
        "ListMediaResponse": page(
            "media_list", "api.v2010.account.message.media", "ListMediaResponse"
        ),
        "ListIncomingPhoneNumberResponse": page(
            "incoming_phone_numbers",
            "api.v2010.account.incoming_phone_number",
            "ListIncomingPhoneNumberResponse",
        ),
        "api.v2010.account.application": application(),
        "ListApplicationResponse": page(
            "applications",
            "api.v2010.account.application",
            "ListApplicationResponse",
        ),
        "TwilioError": error(),
        "smsgw.modem": modem(),
        "smsgw.ussd": ussd(),
        "smsgw.webhooks": webhooks(),
        "smsgw.health": health(),
    }


def error_responses() -> Schema:
    """The error answers, by name (``Error404``...): each Twilio's legacy error body."""
    responses = {
        f"Error{status}": {
            "description": description,
            "content": {"application/json": {"schema": ref("schemas", "TwilioError")}},
        }
        for status, description in ERROR_STATUSES.items()
    }
    responses["Error401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Basic realm"}
    }
    return responses

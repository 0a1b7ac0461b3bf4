"""The OpenAPI document's data: each path and its operations, with their parameters and the
forms they take (twilio-oai's, where the operation is Twilio's)."""

from __future__ import annotations

from typing import Final

from gateway.api.openapi.builders import (
    HTTP_METHODS,
    Schema,
    boolean,
    form_body,
    json_content,
    operation,
    paging,
    path_sid,
    query,
    ref,
    responses,
    sid,
)
from gateway.domain.feedback import OUTCOMES
from gateway.domain.models import API_VERSION, MAX_BODY_CHARS
from gateway.domain.urls import MAX_URL
from gateway.outbound.parameters import MAX_MEDIA, MAX_VALIDITY

OPENAPI_PATH: Final = "/openapi.json"
ACCOUNT: Final = f"/{API_VERSION}/Accounts/{{AccountSid}}"


def create_message_form() -> Schema:
    url = {"type": "string", "format": "uri", "maxLength": MAX_URL}
    return form_body(
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
            "MessagingServiceSid": sid("MG", "A Messaging Service to send with", nullable=False),
            "Body": {
                "type": "string",
                "maxLength": MAX_BODY_CHARS,
                "description": f"The text, at most {MAX_BODY_CHARS} characters",
            },
            "StatusCallback": {**url, "description": "Where status changes are posted"},
            "ApplicationSid": sid(
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
            "SmartEncoded": boolean("Replace Unicode look-alikes with GSM-7 characters"),
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
            "SendAsMms": boolean("Refused with 21621 when true: the modems send SMS only"),
            "ContentSid": sid("HX", "Refused with 21619: no content templates", nullable=False),
            "ShortenUrls": boolean("Refused with 30106 when true: no link shortening domain"),
            "ProvideFeedback": boolean("Whether the message's Feedback may be created"),
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


def feedback_form() -> Schema:
    form = form_body(
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


def update_message_form() -> Schema:
    return form_body(
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


def update_number_form() -> Schema:
    url = {"type": "string", "format": "uri", "maxLength": MAX_URL}
    method = {"type": "string", "enum": list(HTTP_METHODS)}
    return form_body(
        {
            "FriendlyName": {"type": "string", "maxLength": 64},
            "SmsUrl": {**url, "description": "Where inbound messages go; '' clears it"},
            "SmsMethod": {**method, "description": "The method for SmsUrl"},
            "SmsFallbackUrl": {**url, "description": "Where they go if SmsUrl fails"},
            "SmsFallbackMethod": {**method, "description": "The method for SmsFallbackUrl"},
            "StatusCallback": {**url, "description": "The number's status callback URL"},
            "VoiceUrl": {**url, "description": "Where a missed call is reported; '' clears it"},
            "VoiceMethod": {**method, "description": "The method for VoiceUrl"},
            "VoiceFallbackUrl": {**url, "description": "Where it goes if VoiceUrl fails"},
            "VoiceFallbackMethod": {**method, "description": "The method for VoiceFallbackUrl"},
            "SmsApplicationSid": {
                "type": "string",
                "pattern": "^(AP[0-9a-fA-F]{32})?$",
                "description": "One of the account's applications, whose SMS URLs are used "
                "instead of the number's (else 22108); '' clears it",
            },
        },
        title="UpdateIncomingPhoneNumberRequest",
    )


def application_form(title: str) -> Schema:
    """``CreateApplication``'s and ``UpdateApplication``'s parameters (twilio-oai)."""
    url = {"type": "string", "format": "uri", "maxLength": MAX_URL}
    method = {"type": "string", "enum": list(HTTP_METHODS)}
    voice = "Voice: kept, no use here"
    return form_body(
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
            "VoiceCallerIdLookup": boolean(voice),
            "PublicApplicationConnectEnabled": boolean(voice),
        },
        title=title,
    )


MESSAGES_PAGE_TOKEN: Final = (
    "The page token, from a next/previous_page_uri: a position in the list as it stood at "
    "the walk's first page, so that no message is skipped or shown twice while messages are "
    "sent; or PA (PB) and a message's SID: the page after (before) it as the list stands now"
)


def paths() -> Schema:
    account = path_sid("AccountSid", "AC", "The account; the credentials' own")
    message_sid = path_sid("Sid", "(SM|MM)", "The message's SID")
    messages = "Message"
    numbers = "IncomingPhoneNumber"
    message = {200: json_content(ref("schemas", "api.v2010.account.message"), "The message")}
    number = {
        200: json_content(ref("schemas", "api.v2010.account.incoming_phone_number"), "The number")
    }
    applications = "Application"
    application = {
        200: json_content(ref("schemas", "api.v2010.account.application"), "The application")
    }
    list_filters = [
        query(
            "To",
            {"type": "string", "format": "phone-number"},
            "Only messages to this number (read as To is on create: a national number is made "
            "E.164 by default_region)",
        ),
        query(
            "From",
            {"type": "string", "format": "phone-number"},
            "Only messages from this number (read as To is; an inbound sender as it was given)",
        ),
        *(
            query(name, {"type": "string", "format": "date-time"}, description)
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
            "get": operation(
                "ListMessage",
                "The account's messages, sorted on DateSent, most recent first: those not "
                "sent yet (no DateSent) first, newest first; one that ended unsent (failed, "
                "canceled) where it ended; ties newest first",
                responses(
                    {200: json_content(ref("schemas", "ListMessageResponse"), "A page")},
                    400,
                    401,
                    429,
                ),
                tag=messages,
                parameters=[*list_filters, *paging(MESSAGES_PAGE_TOKEN)],
            ),
            "post": operation(
                "CreateMessage",
                "Send a message",
                responses(
                    {201: json_content(ref("schemas", "api.v2010.account.message"), "Accepted")},
                    400,
                    401,
                    413,
                    429,
                ),
                tag=messages,
                requestBody=create_message_form(),
            ),
        },
        f"{ACCOUNT}/Messages/{{Sid}}.json": {
            "parameters": [account, message_sid],
            "get": operation(
                "FetchMessage", "One message", responses(message, 401, 404, 429), tag=messages
            ),
            "post": operation(
                "UpdateMessage",
                "Redact (Body='') or cancel (Status=canceled) a message",
                responses(message, 400, 401, 404, 409, 413, 429),
                tag=messages,
                requestBody=update_message_form(),
            ),
            "delete": operation(
                "DeleteMessage",
                "Delete a complete message",
                responses({204: {"description": "Deleted"}}, 401, 404, 409, 429),
                tag=messages,
            ),
        },
        f"{ACCOUNT}/Messages/{{MessageSid}}/Media.json": {
            "parameters": [account, path_sid("MessageSid", "(SM|MM)", "The message's SID")],
            "get": operation(
                "ListMedia",
                "A message's media: always none, the modems send SMS",
                responses(
                    {200: json_content(ref("schemas", "ListMediaResponse"), "A page")},
                    400,
                    401,
                    404,
                    429,
                ),
                tag=messages,
                parameters=paging(),
            ),
        },
        f"{ACCOUNT}/Messages/{{MessageSid}}/Feedback.json": {
            "parameters": [account, path_sid("MessageSid", "(SM|MM)", "The message's SID")],
            "post": operation(
                "CreateMessageFeedback",
                "Report the outcome of a message created with ProvideFeedback=true (404 for "
                "any other)",
                responses(
                    {
                        201: json_content(
                            ref("schemas", "api.v2010.account.message.message_feedback"),
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
                requestBody=feedback_form(),
            ),
        },
        f"{ACCOUNT}/Messages/{{MessageSid}}/Media/{{Sid}}.json": {
            "parameters": [
                account,
                path_sid("MessageSid", "(SM|MM)", "The message's SID"),
                path_sid("Sid", "ME", "The media's SID"),
            ],
            "get": operation(
                "FetchMedia",
                "One media file: never found, the modems send SMS",
                responses({}, 401, 404, 429),
                tag=messages,
            ),
            "delete": operation(
                "DeleteMedia",
                "Delete a media file: never found, the modems send SMS",
                responses({}, 401, 404, 429),
                tag=messages,
            ),
        },
        f"{ACCOUNT}/IncomingPhoneNumbers.json": {
            "parameters": [account],
            "get": operation(
                "ListIncomingPhoneNumber",
                "The account's numbers: its modems' SIMs",
                responses(
                    {
                        200: json_content(
                            ref("schemas", "ListIncomingPhoneNumberResponse"), "A page"
                        )
                    },
                    400,
                    401,
                    429,
                ),
                tag=numbers,
                parameters=[
                    query("Beta", {"type": "boolean"}, "Accepted; every number is shown"),
                    query("FriendlyName", {"type": "string"}, "Only the numbers of this name"),
                    query(
                        "PhoneNumber",
                        {"type": "string", "format": "phone-number"},
                        "Only numbers containing these digits",
                    ),
                    query("Origin", {"type": "string"}, "'hosted' (all of them) or 'twilio'"),
                    *paging(),
                ],
            ),
        },
        f"{ACCOUNT}/IncomingPhoneNumbers/{{Sid}}.json": {
            "parameters": [account, path_sid("Sid", "PN", "The number's SID")],
            "get": operation(
                "FetchIncomingPhoneNumber",
                "One number",
                responses(number, 401, 404, 429),
                tag=numbers,
            ),
            "post": operation(
                "UpdateIncomingPhoneNumber",
                "Change where a number's inbound messages go",
                responses(number, 400, 401, 404, 413, 429),
                tag=numbers,
                requestBody=update_number_form(),
            ),
        },
        f"{ACCOUNT}/Applications.json": {
            "parameters": [account],
            "post": operation(
                "CreateApplication",
                "Create an application",
                responses(
                    {201: json_content(ref("schemas", "api.v2010.account.application"), "Created")},
                    400,
                    401,
                    413,
                    429,
                ),
                tag=applications,
                requestBody=application_form("CreateApplicationRequest"),
            ),
            "get": operation(
                "ListApplication",
                "The account's applications, oldest first",
                responses(
                    {200: json_content(ref("schemas", "ListApplicationResponse"), "A page")},
                    400,
                    401,
                    429,
                ),
                tag=applications,
                parameters=[
                    query("FriendlyName", {"type": "string"}, "Only the applications of this name"),
                    *paging(),
                ],
            ),
        },
        f"{ACCOUNT}/Applications/{{Sid}}.json": {
            "parameters": [account, path_sid("Sid", "AP", "The application's SID")],
            "get": operation(
                "FetchApplication",
                "One application",
                responses(application, 401, 404, 429),
                tag=applications,
            ),
            "post": operation(
                "UpdateApplication",
                "Change an application's settings",
                responses(application, 400, 401, 404, 413, 429),
                tag=applications,
                requestBody=application_form("UpdateApplicationRequest"),
            ),
            "delete": operation(
                "DeleteApplication",
                "Delete an application (the numbers that name it go back to their own URLs)",
                responses({204: {"description": "Deleted"}}, 401, 404, 429),
                tag=applications,
            ),
        },
        "/smsgw/modems.json": {
            "get": operation(
                "ListModems",
                "The modems that carry the account's numbers (a gateway extension)",
                responses(
                    {
                        200: json_content(
                            {"type": "array", "items": ref("schemas", "smsgw.modem")},
                            "Every modem",
                        )
                    },
                    401,
                    429,
                ),
                tag="smsgw",
            ),
        },
        "/smsgw/modems/{modem}/ussd.json": {
            "parameters": [
                {
                    "name": "modem",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The modem's id ([[modems]] id)",
                }
            ],
            "post": operation(
                "RunUssd",
                "A USSD session through the modem: Code, then each Reply while the network's "
                "menus ask for one (a gateway extension)",
                responses(
                    {200: json_content(ref("schemas", "smsgw.ussd"), "The answers")},
                    400,
                    401,
                    404,
                    409,
                    429,
                ),
                tag="smsgw",
                requestBody=form_body(
                    {
                        "Code": {
                            "type": "string",
                            "pattern": "^[*#][0-9*#+]{0,180}#$",
                            "description": "The USSD code, e.g. *100# (else 21790)",
                        },
                        "Reply": {
                            "type": "array",
                            "items": {"type": "string", "minLength": 1, "maxLength": 182},
                            "maxItems": 10,
                            "description": "The answer to each menu in turn: the parameter "
                            "repeated (else 21791)",
                        },
                        "Timeout": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 120,
                            "default": 30,
                            "description": "Seconds for each answer of the network (else 21792)",
                        },
                    },
                    required=("Code",),
                    title="RunUssdRequest",
                ),
            ),
        },
        "/smsgw/webhooks.json": {
            "get": operation(
                "FetchWebhookStates",
                "How the account's webhooks stand (a gateway extension)",
                responses(
                    {200: json_content(ref("schemas", "smsgw.webhooks"), "Counts")}, 401, 429
                ),
                tag="smsgw",
            ),
        },
        "/healthz": {
            "get": operation(
                "FetchHealth",
                "Whether the gateway can do its job: the database answers and a modem is in "
                "service (a gateway extension, for supervisors and load balancers)",
                responses(
                    {
                        200: json_content(ref("schemas", "smsgw.health"), "Ready"),
                        503: json_content(ref("schemas", "smsgw.health"), "Not ready, and why"),
                    },
                    429,
                ),
                tag="smsgw",
                security=[],
            ),
        },
        "/metrics": {
            "get": operation(
                "FetchMetrics",
                "The gateway's metrics in the Prometheus text format 0.0.4 (a gateway extension)",
                responses(
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
            "get": operation(
                "FetchOpenApiDocument",
                "This document",
                responses({200: json_content({"type": "object"}, "The OpenAPI document")}, 429),
                tag="smsgw",
                security=[],
            ),
        },
    }

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

Pure data, built once; :func:`openapi_document` serves it without authentication. The data is
in :mod:`.schemas` (the resources) and :mod:`.paths` (the operations), written with the
building blocks of :mod:`.builders`; this module puts the document together.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

from aiohttp import web

from gateway.api.openapi.paths import paths
from gateway.api.openapi.schemas import error_responses, schemas
from gateway.domain.models import API_VERSION

SECURITY_SCHEME: Final = "accountSid_authToken"  # Twilio's name for it


def _version() -> str:
    # Imported when the document is first asked for, not with the gateway: importlib.metadata
    # brings zipfile, csv and more (1.5 MiB of resident memory) for one string.
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version("smsgw")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "0"


def document() -> dict[str, Any]:
    """The OpenAPI 3.0.3 document, a new dict each call."""
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
        "paths": paths(),
        "components": {
            "securitySchemes": {SECURITY_SCHEME: {"type": "http", "scheme": "basic"}},
            "schemas": schemas(),
            "responses": error_responses(),
        },
    }


@functools.cache
def _document_text() -> str:
    return json.dumps(document(), separators=(",", ":"))


async def openapi_document(request: web.Request) -> web.Response:
    """``GET /openapi.json``: the document, to anyone (it holds nothing of an account's)."""
    return web.Response(text=_document_text(), content_type="application/json")

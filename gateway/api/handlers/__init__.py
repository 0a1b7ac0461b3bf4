"""The HTTP API's handlers, one module per resource: thin handlers that parse, call one part of
the gateway, serialise.

Routes (``../shared/docs/twilio-messages-api.md``):

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> 201 and the new message
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> a page, by DateSent, most recent first
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`` -> one message
* ``POST …/Messages/{Sid}.json`` -> redacted (``Body=""``) or canceled (``Status=canceled``)
* ``DELETE …/Messages/{Sid}.json`` -> 204 once final, 20009 while in progress
* ``GET  …/Messages/{Sid}/Media.json`` -> always empty (SMS only)
  (all of these: :mod:`.messages`)
* ``POST …/Messages/{Sid}/Feedback.json`` -> 201, the message's Feedback (:mod:`.feedback`,
  :mod:`gateway.domain.feedback`)
* ``GET  …/IncomingPhoneNumbers.json``, ``GET|POST …/IncomingPhoneNumbers/{Sid}.json`` -> the
  modems' numbers, and their SMS settings (:mod:`.numbers`)
* ``POST|GET …/Applications.json``, ``GET|POST|DELETE …/Applications/{Sid}.json`` -> the
  account's applications (:mod:`.applications`, :mod:`gateway.accounts.applications`)
* ``GET  /smsgw/modems.json`` -> the modems that carry the account's numbers (``smsgw modems``)
* ``GET  /smsgw/webhooks.json`` -> how the account's webhooks stand (``smsgw webhooks``)
* ``POST /smsgw/modems/{modem}/ussd.json`` -> a USSD session through the modem (``smsgw ussd``)
  (all three: :mod:`.smsgw`)
* ``GET  /openapi.json`` -> the OpenAPI document (:mod:`gateway.api.openapi`)
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway.api.handlers import applications, feedback, messages, numbers, smsgw
from gateway.domain.models import API_VERSION

PREFIX: Final = f"/{API_VERSION}/Accounts/{{account}}"


async def openapi_document(request: web.Request) -> web.Response:
    """``GET /openapi.json``, its module loaded on the first request: the document's data is
    about a thousand lines of tables a gateway nobody reads the document of never needs in
    memory (a Pi's RAM; README: memory)."""
    from gateway.api import openapi  # noqa: PLC0415 - on purpose: see the docstring

    return await openapi.openapi_document(request)


def routes() -> list[web.RouteDef]:
    return [
        web.post(f"{PREFIX}/Messages.json", messages.create_message),
        web.get(f"{PREFIX}/Messages.json", messages.list_messages, allow_head=False),
        web.get(f"{PREFIX}/Messages/{{sid}}.json", messages.fetch_message, allow_head=False),
        web.post(f"{PREFIX}/Messages/{{sid}}.json", messages.update_message),
        web.delete(f"{PREFIX}/Messages/{{sid}}.json", messages.delete_message),
        web.get(f"{PREFIX}/Messages/{{sid}}/Media.json", messages.list_media, allow_head=False),
        web.post(f"{PREFIX}/Messages/{{sid}}/Feedback.json", feedback.create_feedback),
        web.get(
            f"{PREFIX}/Messages/{{sid}}/Media/{{media}}.json",
            messages.fetch_media,
            allow_head=False,
        ),
        web.delete(f"{PREFIX}/Messages/{{sid}}/Media/{{media}}.json", messages.fetch_media),
        web.get(f"{PREFIX}/IncomingPhoneNumbers.json", numbers.list_numbers, allow_head=False),
        web.get(
            f"{PREFIX}/IncomingPhoneNumbers/{{sid}}.json", numbers.fetch_number, allow_head=False
        ),
        web.post(f"{PREFIX}/IncomingPhoneNumbers/{{sid}}.json", numbers.update_number),
        web.post(f"{PREFIX}/Applications.json", applications.create_application),
        web.get(f"{PREFIX}/Applications.json", applications.list_applications, allow_head=False),
        web.get(
            f"{PREFIX}/Applications/{{sid}}.json",
            applications.fetch_application,
            allow_head=False,
        ),
        web.post(f"{PREFIX}/Applications/{{sid}}.json", applications.update_application),
        web.delete(f"{PREFIX}/Applications/{{sid}}.json", applications.delete_application),
        web.get("/smsgw/modems.json", smsgw.list_modems, allow_head=False),
        web.get("/smsgw/webhooks.json", smsgw.fetch_webhook_states, allow_head=False),
        web.post("/smsgw/modems/{modem}/ussd.json", smsgw.run_ussd),
        web.get("/openapi.json", openapi_document, allow_head=False),
    ]

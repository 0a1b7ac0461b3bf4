"""A message's Feedback subresource (:mod:`gateway.domain.feedback` says what it is here)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.forms import read_form
from gateway.api.handlers.messages import message_of
from gateway.api.handlers.requests import authorize, parts
from gateway.api.twilio_json.feedback import feedback_json
from gateway.domain.errors import ApiError
from gateway.domain.feedback import outcome


async def create_feedback(request: web.Request) -> web.Response:
    """A message's Feedback: only for one created with ``ProvideFeedback=true``. For any other
    the resource does not exist (Twilio's reference: "To track and provide Message Feedback for
    a Message, you must set the ProvideFeedback parameter to true when you first create the
    Message"), so the answer is the same 404 (20404) as for an unknown message."""
    account = authorize(request)
    form = await read_form(request)
    api = parts(request)
    message = await message_of(request, account)
    feedback = None
    if message.provide_feedback:
        wanted = outcome(form)
        now = api.outbound.clock()
        feedback = await api.store.record_feedback(account, message.sid, wanted, now)
    if feedback is None:  # never asked for (or the message was deleted meanwhile)
        raise ApiError(
            20404,
            f"The requested resource {request.path} was not found: message {message.sid} was "
            "not created with ProvideFeedback=true",
            404,
        )
    return web.json_response(feedback_json(feedback), status=201)

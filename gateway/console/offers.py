"""Which actions a message's page offers (:mod:`gateway.console.actions` takes them): apart,
so that the page (:mod:`gateway.console.views`) and the actions need not import each other."""

from __future__ import annotations

from gateway.domain.models import FINAL_STATUSES, Direction, Message, Status


def actions_of(message: Message) -> tuple[str, ...]:
    """The actions the page offers for ``message``: those its status allows. The API would
    refuse the others, and a form posted anyway is refused the same way."""
    offered = []
    if message.status in (Status.SCHEDULED, Status.ACCEPTED):  # not gone yet: 30409 after
        offered.append("cancel")
    if message.status in FINAL_STATUSES:  # 20009 before: its text is still needed
        if message.body:
            offered.append("redact")
        offered.append("delete")
    if message.direction is not Direction.INBOUND:  # a stranger's number is no sender of ours
        offered.append("send-again")
    return tuple(offered)

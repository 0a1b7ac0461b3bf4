"""The console's pages: Jinja2 over the templates in this package (package data, so a wheel
has them), autoescape on for every template, so that what a stranger's SMS says is text on
the page, never markup (issue 18, "Safety")."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from drivers import rssi_dbm

if TYPE_CHECKING:
    import jinja2


@functools.cache
def _environment() -> jinja2.Environment:
    # Imported at the first page, not at start: 2 MB of a Pi's memory for a gateway nobody
    # opens the console of (tests/gateway/test_cli_imports.py keeps it so).
    import jinja2  # noqa: PLC0415 - on purpose: see the comment above

    return jinja2.Environment(
        loader=jinja2.PackageLoader("gateway.console", "templates"),
        # On for every template, not just by extension: one named otherwise is escaped too.
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name in a template fails its test
        trim_blocks=True,
        lstrip_blocks=True,
    )


# AT+CSQ <rssi> (TS 27.007 §8.5) as the bars a phone shows: the bands modem vendors give
# (< 10 marginal, 10-14 OK, 15-19 good, 20-31 excellent); 99 is "not known".
_BARS: Final = ((20, 4), (15, 3), (10, 2), (2, 1))
BARS: Final = 4


def bars(rssi: int | None) -> int | None:
    if rssi is None or rssi_dbm(rssi) is None:
        return None
    return next((count for floor, count in _BARS if rssi >= floor), 0)


def render(
    template: str,
    context: dict[str, Any],
    status: int = 200,
    *,
    headers: dict[str, str] | None = None,
) -> web.Response:
    text = _environment().get_template(template).render(context)
    return web.Response(
        text=text, status=status, content_type="text/html", charset="utf-8", headers=headers
    )

"""The operator's console: server-rendered pages at ``/console/`` on the API's port (README:
"The console"), signed in with the credentials the API takes.

One job per module: :mod:`.sessions` (who is signed in, for how long), :mod:`.guards` (CSRF,
the throttle on failed sign-ins), :mod:`.headers` (the security headers on every answer, and
every refusal as a page), :mod:`.rendering` (Jinja2 over the package's templates, autoescape
on), :mod:`.views` (the pages), :mod:`.parts` (what they are given) and :mod:`.app` (the
application the API mounts).
"""

from gateway.console.app import console_app
from gateway.console.parts import ConsoleParts

__all__ = ["ConsoleParts", "console_app"]

"""Where the configuration is, and where the gateway it describes listens.

Every command finds the configuration the same way, the first of:

1. ``--config PATH``;
2. ``$SMSGW_CONFIG``;
3. ``/etc/smsgw/gateway.toml``, where the Raspberry Pi install puts it;
4. ``config/gateway.toml`` under the working directory, a checkout's.

A path given by the first two is taken even when it does not exist (reading it then says
why: the user named it); of the last two, the first that exists. The gateway is reached at
the configuration's ``listen`` address, over HTTPS trusting exactly its ``tls_cert`` when it
has one, or at ``--url``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from gateway.api import tls
from gateway.cli.common import UsageError
from gateway.config import Config
from gateway.domain.errors import ConfigError

ENVIRONMENT: Final = "SMSGW_CONFIG"
# The places looked at when neither --config nor $SMSGW_CONFIG names one, in order (a
# module constant so that a test can point it elsewhere: /etc cannot be written in a test).
DEFAULT_PATHS: Sequence[Path] = (Path("/etc/smsgw/gateway.toml"), Path("config/gateway.toml"))
# Where a gateway listening on every interface is reached from this machine.
_LOOPBACK: Final = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}


def config_path(
    given: Path | None,
    environ: Mapping[str, str] | None = None,
    defaults: Sequence[Path] | None = None,
) -> Path:
    """The configuration file to read: ``given`` (``--config``), else ``$SMSGW_CONFIG`` in
    ``environ`` (the process's environment by default), else the first of ``defaults``
    (:data:`DEFAULT_PATHS`) that exists.

    Raises :class:`~gateway.cli.common.UsageError` listing each place tried when there is none.
    """
    if given is not None:
        return given
    named = (os.environ if environ is None else environ).get(ENVIRONMENT, "")
    if named:
        return Path(named)
    tried = ["--config (none)", f"${ENVIRONMENT} (unset)"]
    for path in DEFAULT_PATHS if defaults is None else defaults:
        if _present(path):
            return path
        tried.append(f"{path} (not found)")
    raise UsageError("no configuration: tried " + ", ".join(tried))


def _present(path: Path) -> bool:
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True  # there, but not ours to look at: reading it says so, in one line
    return True


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The running gateway as the command line reaches it."""

    url: str  # scheme, host and port, with no trailing slash: "https://127.0.0.1:8443"
    origin: str  # where the address comes from, for messages: "listen in /etc/smsgw/..."
    context: ssl.SSLContext | None  # for https://: whom to trust
    trust: str = ""  # that, in words: "only the certificate /etc/smsgw/tls/cert.pem"


def endpoint(config: Config, url: str | None = None) -> Endpoint:
    """Where ``config``'s gateway listens, or ``url`` (``--url``) when given.

    Raises :class:`~gateway.cli.common.UsageError` for a malformed ``url`` or a ``tls_cert``
    that cannot be read.
    """
    if url is not None:
        https = url.startswith("https:")
        return Endpoint(_checked_url(url), "--url", _context(config, https), _trust(config, https))
    host = _LOOPBACK.get(config.host, config.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL (RFC 3986 §3.2.2)
    scheme = "https" if config.tls_cert is not None else "http"
    return Endpoint(
        f"{scheme}://{host}:{config.port}",
        f"listen in {config.path}" if config.path else "the default listen",
        _context(config, config.tls_cert is not None),
        _trust(config, config.tls_cert is not None),
    )


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number from 1 to 65535
        valid = False
    if not valid or parts.query or parts.fragment:
        raise UsageError(f"--url must be http://HOST:PORT or https://HOST:PORT, not {url!r}")
    return url.rstrip("/")


def _trust(config: Config, https: bool) -> str:
    if not https:
        return ""
    if config.tls_cert is None:
        return "the system's certificate authorities"
    return f"only the certificate {config.tls_cert} (tls_cert in {config.path})"


def _context(config: Config, https: bool) -> ssl.SSLContext | None:
    if not https:
        return None
    if config.tls_cert is None:  # --url to a gateway behind a proxy: the system's CAs
        return ssl.create_default_context()
    try:
        return tls.pinned_context(config.tls_cert)
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None

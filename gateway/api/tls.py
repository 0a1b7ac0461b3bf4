"""HTTPS for the API: the gateway's own TLS, and whether an address reaches beyond the machine.

Set ``tls_cert`` and ``tls_key`` in ``[gateway]`` (PEM files: the certificate, with its chain,
and its unencrypted private key) and the API is served over HTTPS only, TLS 1.2 or newer
(RFC 8996 deprecates 1.0 and 1.1). Both files are read when the gateway starts, so a renewed
certificate takes effect at the next restart. The other way is a reverse proxy that holds the
certificate (README, "Exposing the gateway beyond this machine").
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path
from typing import NoReturn

from gateway.config import Config
from gateway.domain.errors import ConfigError

CERT_KEY = "gateway.tls_cert"
KEY_KEY = "gateway.tls_key"


def server_context(config: Config) -> ssl.SSLContext | None:
    """The TLS context the API is served with, or ``None`` for plain HTTP.

    Raises :class:`~gateway.domain.errors.ConfigError` naming the key for a file that cannot be
    read, is not PEM, or a key that is not the certificate's.
    """
    if config.tls_cert is None or config.tls_key is None:
        return None
    _readable_pem(config.tls_cert, CERT_KEY, "CERTIFICATE")
    _readable_pem(config.tls_key, KEY_KEY, "PRIVATE KEY")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key, password=_no_passphrase)
    except ssl.SSLError as exc:
        # OpenSSL's reason: KEY_VALUES_MISMATCH for another certificate's key, or a PEM error.
        problem = exc.reason or str(exc)
        raise ConfigError(
            KEY_KEY, f"{config.tls_key} is not the private key of {config.tls_cert} ({problem})"
        ) from None
    return context


def _readable_pem(path: Path, key: str, label: str) -> None:
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror or exc}") from None
    # RFC 7468 §2: "-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----" (or RSA/EC...).
    if "-----BEGIN " not in text or f"{label}-----" not in text:
        raise ConfigError(key, f"{path} is not a PEM file with a {label.lower()}")


def pinned_context(cert: Path) -> ssl.SSLContext:
    """A client context that trusts exactly the gateway's own certificate (the first one in
    ``cert``), whatever name it was issued for: the command line reaches the gateway by its
    listening address, which the certificate need not name.

    Raises :class:`~gateway.domain.errors.ConfigError` when ``cert`` cannot be read.
    """
    _readable_pem(cert, CERT_KEY, "CERTIFICATE")
    text = cert.read_text(encoding="ascii", errors="replace")
    end = "-----END CERTIFICATE-----"
    leaf = text[text.index("-----BEGIN CERTIFICATE-----") : text.index(end) + len(end)]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no system CAs: only this certificate
    context.check_hostname = False  # pinned: the certificate itself is what is checked
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a leaf as its own trust anchor
    try:
        context.load_verify_locations(cadata=leaf)
    except ssl.SSLError as exc:
        raise ConfigError(CERT_KEY, f"{cert}: {exc.reason or exc}") from None
    return context


def _no_passphrase() -> NoReturn:
    # Without this, OpenSSL would ask for the passphrase on the terminal, and a service has none.
    raise ConfigError(KEY_KEY, "the private key is encrypted: give the gateway an unencrypted one")


def beyond_this_machine(host: str) -> bool:
    """Whether listening on ``host`` lets other machines connect: anything but a loopback
    address (``127.0.0.0/8``, ``::1``) or ``localhost``."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: it resolves to an address others can reach

"""The gateway's own HTTPS (``tls_cert``, ``tls_key``), with certificates made here by
``trustme`` (a CA and a certificate it signed for 127.0.0.1), and the warning given when the
API listens beyond this machine over plain HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.api.tls import beyond_this_machine, pinned_context, server_context
from gateway.config import Config, parse
from gateway.domain.errors import ConfigError
from gateway.runtime import Gateway
from tests.gateway.gateway_rig import ACCOUNT, ALICE, config, running
from tests.gateway.raw_http import Connection, request

SMSGW: Final = Path(sys.executable).parent / "smsgw"
WAIT: Final = 15.0


@dataclass(frozen=True)
class Files:
    ca: trustme.CA
    ca_pem: Path
    cert: Path  # the server's certificate, then the chain up to the CA
    key: Path
    other_key: Path  # the key of another certificate
    encrypted_key: Path  # the right key, encrypted with a passphrase
    other_cert: Path  # another certificate for 127.0.0.1 by the same CA: not the gateway's


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    paths = Files(
        ca,
        folder / "ca.pem",
        folder / "cert.pem",
        folder / "key.pem",
        folder / "other-key.pem",
        folder / "encrypted-key.pem",
        folder / "other-cert.pem",
    )
    ca.cert_pem.write_to_path(str(paths.ca_pem))
    paths.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(paths.key))
    ca.issue_cert("elsewhere.example").private_key_pem.write_to_path(str(paths.other_key))
    ca.issue_cert("127.0.0.1").cert_chain_pems[0].write_to_path(str(paths.other_cert))
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    paths.encrypted_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    return paths


# --- the configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "missing"), [("tls_cert", "gateway.tls_key"), ("tls_key", "gateway.tls_cert")]
)
def test_the_two_files_go_together(given: str, missing: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{missing}: required with {given} \(both or neither"):
        parse({"gateway": {given: "server.pem"}})


def test_the_paths_are_relative_to_the_configuration(tmp_path: Path) -> None:
    parsed = parse({"gateway": {"tls_cert": "c.pem", "tls_key": "/etc/k.pem"}}, tmp_path)
    assert (parsed.tls_cert, parsed.tls_key) == (tmp_path / "c.pem", Path("/etc/k.pem"))
    assert parse({}).tls_cert is None


def with_files(cert: Path, key: Path) -> Config:
    return Config(tls_cert=cert, tls_key=key)


def test_a_certificate_and_its_key_make_a_tls_1_2_context(files: Files) -> None:
    context = server_context(with_files(files.cert, files.key))
    assert context is not None
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert server_context(Config()) is None


@pytest.mark.parametrize(
    ("cert", "key", "message"),
    [
        ("missing", "key", r"^gateway\.tls_cert: cannot read .*missing: No such file"),
        ("cert", "missing", r"^gateway\.tls_key: cannot read .*missing: No such file"),
        ("key", "key", r"^gateway\.tls_cert: .* is not a PEM file with a certificate$"),
        ("cert", "cert", r"^gateway\.tls_key: .* is not a PEM file with a private key$"),
        ("cert", "other_key", r"^gateway\.tls_key: .* is not the private key of .*MISMATCH"),
        ("cert", "encrypted_key", r"^gateway\.tls_key: the private key is encrypted"),
    ],
)
def test_each_bad_file_names_its_key(files: Files, cert: str, key: str, message: str) -> None:
    def path(name: str) -> Path:
        return files.cert.parent / "missing" if name == "missing" else Path(getattr(files, name))

    with pytest.raises(ConfigError, match=message) as caught:
        server_context(with_files(path(cert), path(key)))
    assert "\n" not in str(caught.value)


def test_serve_refuses_a_key_that_is_not_the_certificates_in_one_line(
    files: Files, tmp_path: Path
) -> None:
    configuration = tmp_path / "gateway.toml"
    configuration.write_text(
        f'[gateway]\ntls_cert = "{files.cert}"\ntls_key = "{files.other_key}"\n'
    )
    result = subprocess.run(
        [str(SMSGW), "serve", "--config", str(configuration)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 2  # a configuration mistake: systemd does not restart it
    (line,) = result.stderr.splitlines()
    assert line.startswith("smsgw serve: configuration: gateway.tls_key: ")
    assert "is not the private key of" in line


# --- HTTPS ------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def https_gateway(files: Files, tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running(config(tmp_path, tls_cert=files.cert, tls_key=files.key)) as gateway:
        yield gateway


def client_context(files: Files) -> ssl.SSLContext:
    context = ssl.create_default_context()
    files.ca.configure_trust(context)
    return context


async def test_the_twilio_client_creates_a_message_over_https(files: Files, tmp_path: Path) -> None:
    async with https_gateway(files, tmp_path) as gateway:
        assert gateway.base_url.startswith("https://127.0.0.1:")

        def create() -> Any:
            http = TwilioHttpClient()
            assert http.session is not None
            http.session.verify = str(files.ca_pem)  # the test's CA, checked as any other
            http.session.trust_env = False  # no CA bundle from the environment instead
            client = Client(ACCOUNT.sid, ACCOUNT.auth_token, http_client=http)
            client.api.base_url = gateway.base_url
            try:
                return client.messages.create(to="+15558675310", from_=ALICE, body="over TLS")
            finally:
                http.session.close()

        message = await asyncio.to_thread(create)
        assert message.sid.startswith("SM")
        assert message.body == "over TLS"
        async with (
            aiohttp.ClientSession(gateway.base_url) as http,
            http.get("/healthz", ssl=client_context(files)) as health,
        ):
            assert health.status == 200


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def recorded() -> Iterator[Records]:
    records = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(records)
        root.setLevel(level)


async def test_plain_http_to_the_https_port_is_closed_quietly(files: Files, tmp_path: Path) -> None:
    with recorded() as records:
        async with https_gateway(files, tmp_path) as gateway:
            plain = await Connection.open("127.0.0.1", gateway.port)
            await plain.send(request("GET", "/healthz"))
            assert await plain.closed_by_server()  # after the handshake failure was logged
            await plain.close()
            tls = await Connection.open("127.0.0.1", gateway.port, client_context(files))
            assert (await tls.exchange(request("GET", "/healthz"))).status == 200
            await tls.close()
    assert not [r.getMessage() for r in records.records if r.levelno >= logging.WARNING]


# --- the warning for an address beyond this machine -----------------------------------------


@pytest.mark.parametrize(
    ("host", "beyond"),
    [
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("[::1]", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.1.20", True),
        ("smsgw.lan", True),
    ],
)
def test_which_addresses_reach_beyond_this_machine(host: str, beyond: bool) -> None:
    assert beyond_this_machine(host) is beyond


def warnings_of(records: Records) -> list[str]:
    return [
        r.getMessage()
        for r in records.records
        if r.levelno == logging.WARNING and r.name == "gateway.runtime"
    ]


async def test_plain_http_on_every_interface_is_warned_about_once(tmp_path: Path) -> None:
    with recorded() as records:
        async with running(replace(config(tmp_path), host="0.0.0.0")) as gateway:
            (warning,) = warnings_of(records)
    assert f"listening on 0.0.0.0:{gateway.port}, which other machines can reach" in warning
    assert "tls_cert and tls_key" in warning and "reverse proxy" in warning


async def test_no_warning_on_loopback_or_with_tls(files: Files, tmp_path: Path) -> None:
    with recorded() as records:
        async with running(config(tmp_path / "loopback")):
            pass
        everywhere = config(tmp_path / "tls", tls_cert=files.cert, tls_key=files.key)
        async with running(replace(everywhere, host="0.0.0.0")):
            pass
    assert warnings_of(records) == []


# --- the command line, over HTTPS -------------------------------------------------------------


def test_the_command_line_trusts_the_gateways_own_certificate_only(files: Files) -> None:
    context = pinned_context(files.cert)
    assert context.verify_mode is ssl.CERT_REQUIRED
    # The server's certificate alone: not its CA, not the system's.
    assert context.cert_store_stats() == {"crl": 0, "x509": 1, "x509_ca": 0}


def command_line(tmp_path: Path, port: int, cert: Path | None, key: Path | None) -> Path:
    """The command line's configuration for the gateway on ``port``."""
    tls = [f'tls_cert = "{cert}"', f'tls_key = "{key}"'] if cert and key else []
    credentials = [f'sid = "{ACCOUNT.sid}"', f'auth_token = "{ACCOUNT.auth_token}"']
    path = tmp_path / "gateway.toml"
    path.write_text(
        "\n".join(["[gateway]", f'listen = "127.0.0.1:{port}"', *tls, "[[accounts]]", *credentials])
    )
    return path


async def smsgw(*argv: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [str(SMSGW), *argv],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "SMSGW_CONFIG"},
    )


async def test_the_command_line_talks_to_an_https_gateway(files: Files, tmp_path: Path) -> None:
    async with https_gateway(files, tmp_path) as gateway:
        configuration = command_line(tmp_path, gateway.port, files.cert, files.key)
        result = await smsgw("modems", "--config", str(configuration))
    assert result.returncode == 0, result.stderr
    assert "alice" in result.stdout and "ready" in result.stdout


async def test_the_command_line_trusts_no_other_certificate(files: Files, tmp_path: Path) -> None:
    async with https_gateway(files, tmp_path) as gateway:
        configuration = command_line(tmp_path, gateway.port, files.other_cert, files.other_key)
        result = await smsgw("modems", "--config", str(configuration))
    assert (result.returncode, result.stdout) == (1, "")
    (line,) = result.stderr.splitlines()
    tried = f"https://127.0.0.1:{gateway.port} (listen in {configuration})"
    assert line.startswith(f"smsgw modems: cannot reach the gateway at {tried}: TLS: ")
    assert line.endswith(
        f"(trusting only the certificate {files.other_cert} (tls_cert in {configuration}))"
    )


async def test_plain_http_to_the_https_gateway_says_what_to_set(
    files: Files, tmp_path: Path
) -> None:
    async with https_gateway(files, tmp_path) as gateway:
        configuration = command_line(tmp_path, gateway.port, None, None)
        result = await smsgw("send", "--config", str(configuration), "--to", "+1555", "--body", "x")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"smsgw send: cannot reach the gateway at http://127.0.0.1:{gateway.port} (listen in "
        f"{configuration}): the connection was closed without an answer (if it serves HTTPS, "
        "the configuration needs its tls_cert)\n"
    )


async def test_https_to_a_plain_gateway_says_so(files: Files, tmp_path: Path) -> None:
    async with running(config(tmp_path)) as gateway:
        configuration = command_line(tmp_path, gateway.port, None, None)
        url = f"https://127.0.0.1:{gateway.port}"
        result = await smsgw("messages", "--config", str(configuration), "--url", url)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"smsgw messages: cannot reach the gateway at {url} (--url): TLS: WRONG_VERSION_NUMBER "
        "(does it serve plain HTTP?)\n"
    )

"""The TLS context the httpx-based channels share (``channels._http.shared_tls_context``): one per
process for the same trust settings (making one reads the CA bundle, about 20 ms of CPU a channel), and
never one that ignores a CA file the operator set."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
import trustme
from broadcaster.channels._http import shared_tls_context


@pytest.fixture(autouse=True)
def _no_trust_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def handshake(client: ssl.SSLContext, ca: trustme.CA) -> None:
    """A TLS handshake of ``client`` with a server whose certificate ``ca`` issued for localhost, and one
    byte through it (raises where the client refuses the server; fails where the server saw an error)."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    ours, theirs = socket.socketpair()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with server_context.wrap_socket(theirs, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)

    server = threading.Thread(target=serve)
    server.start()
    try:
        with client.wrap_socket(ours, server_hostname="localhost") as tls:
            tls.sendall(b"x")
    finally:
        ours.close()
        server.join(5)
        theirs.close()
    assert not server.is_alive() and not errors, errors


def test_the_shared_context_verifies_certificates_and_host_names() -> None:
    context = shared_tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_ca_file_set_after_a_context_was_made_is_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator's ``SSL_CERT_FILE`` (a proxy's or a self-hosted Bot API server's CA) counts even where
    the process made a context before it was set: the shared one is per setting, not per process."""
    ca = trustme.CA()
    before = shared_tls_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(before, ca)

    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    trusting = shared_tls_context()
    assert trusting is not before and trusting is shared_tls_context()
    handshake(trusting, ca)  # raises if the CA is not trusted

    monkeypatch.delenv("SSL_CERT_FILE")
    assert shared_tls_context() is before

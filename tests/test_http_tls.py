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


def _alike(ours: ssl.SSLContext, httpx_own: ssl.SSLContext) -> None:
    for name in ("protocol", "verify_mode", "check_hostname", "options", "verify_flags", "minimum_version",
                 "maximum_version", "post_handshake_auth"):
        assert getattr(ours, name) == getattr(httpx_own, name), name
    assert ours.cert_store_stats() == httpx_own.cert_store_stats()
    assert ours.get_ca_certs() == httpx_own.get_ca_certs()


def test_the_context_is_httpx_own_for_each_trust_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Made without importing httpx (``httpx_default_context``, so that a thread can make it while the event loop
    imports httpx): the same context as ``httpx.create_ssl_context()`` with certifi, a CA file, a CA folder."""
    import httpx
    from broadcaster.channels._http import httpx_default_context

    _alike(httpx_default_context(None, None), httpx.create_ssl_context())
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    _alike(httpx_default_context(str(tmp_path / "ca.pem"), None), httpx.create_ssl_context())
    monkeypatch.delenv("SSL_CERT_FILE")
    (tmp_path / "certs").mkdir()
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "certs"))
    _alike(httpx_default_context(None, str(tmp_path / "certs")), httpx.create_ssl_context())


def test_a_context_made_in_the_background_is_the_one_the_channels_get(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from broadcaster.channels._http import make_tls_context_in_background

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    make_tls_context_in_background()
    made = shared_tls_context()
    assert made is shared_tls_context()
    handshake(made, ca)  # the operator's CA file, read in the thread
    make_tls_context_in_background()  # made already: no second one
    assert shared_tls_context() is made


def test_a_context_that_cannot_be_made_in_the_background_fails_where_it_is_asked_for_and_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CA file that is not there: the send that asks for the context gets the error, as when it made the context
    itself; and once the file is there, the next ask makes one (the failure is not remembered)."""
    from broadcaster.channels._http import make_tls_context_in_background

    missing = tmp_path / "not-yet.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(missing))
    make_tls_context_in_background()
    with pytest.raises(FileNotFoundError):
        shared_tls_context()
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(missing))
    handshake(shared_tls_context(), ca)

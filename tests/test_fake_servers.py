"""The fakes' HTTP servers: quiet when a client goes away, as real servers are, and loud for their own bugs.

A CLI run in the test's own process shares its stderr with the fakes' threads; a fresh clone's run once failed
``test_publish_e2e.py``'s "no traceback" check on socketserver's print of a connection the client reset.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from tests.fakes.base import ListeningServer


@pytest.mark.parametrize("went_away", [ConnectionResetError(104, "Connection reset by peer"),
                                       BrokenPipeError(32, "Broken pipe"), ConnectionAbortedError()])
def test_a_client_that_went_away_is_no_error_of_the_server(
    went_away: OSError, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ListeningServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        try:
            raise went_away
        except OSError:
            server.handle_error(None, ("127.0.0.1", 40000))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug in the fake")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 40000))
        printed = capsys.readouterr().err
        assert "Traceback" in printed and "ValueError: a bug in the fake" in printed
    finally:
        server.server_close()


def test_a_fault_with_a_condition_waits_for_the_request_it_holds_for() -> None:
    # Concurrent sends reach a fake in any order: a fault meant for one chat must not take another's request.
    import urllib.request

    from tests.fakes.base import FakeServer, Fault, Response

    fake = FakeServer()
    fake.route("GET", "/send", lambda request, found: Response(200, {"ok": True}))
    fake.fail(Fault(match="/send", when=lambda request: request.query.get("chat") == ["public"],
                    response=Response(503, {"ok": False})))

    def status(chat: str) -> int:
        try:
            with urllib.request.urlopen(f"{fake.url}/send?chat={chat}", timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)

    with fake:
        assert [status("ops"), status("ops"), status("public"), status("public")] == [200, 200, 503, 200]

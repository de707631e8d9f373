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

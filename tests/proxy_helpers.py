"""A proxy on loopback that refuses: for channels' tests of a tunnel the proxy never opens."""

from __future__ import annotations

import socket
import threading


class RefusingProxy:
    """Reads what it is sent, answers ``answer`` (nothing: hangs up) and closes, for every connection."""

    def __init__(self, answer: bytes) -> None:
        self.received: list[bytes] = []
        self._answer = answer
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with client:
                client.settimeout(2)
                try:
                    self.received.append(client.recv(4096))
                    client.sendall(self._answer)
                except OSError:
                    pass

    def close(self) -> None:
        self._server.close()

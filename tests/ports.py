"""Ports for servers a test starts on a port it names, and for addresses where nothing listens."""

from __future__ import annotations

import random
import socket

# Below Linux's ephemeral range (32768-60999), which the kernel hands out to every other socket on the machine:
# a port taken from that range (bind to 0, then close) could be given to another worker's connection or fake
# before the test bound it ("address already in use", once in a loaded run), or become a live server where the
# test wanted a dead address.
_LOW, _HIGH = 20000, 32000


def free_port() -> int:
    """A port nothing on 127.0.0.1 holds now, from outside the ephemeral range."""
    for _ in range(200):
        port = random.randint(_LOW, _HIGH)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 between {_LOW} and {_HIGH}")

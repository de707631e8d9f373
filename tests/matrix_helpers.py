"""A project whose one channel is a Matrix room on the fake homeserver (tests/fakes/matrix.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import ENGINE, Project
from tests.fakes.matrix import FakeMatrix

ROOM = "!ops:example.org"


@contextmanager
def matrix_room(project: Project, token: str, *, channel: str = "ops", visibility: str = "internal") -> Iterator[FakeMatrix]:
    """``[channels.<channel>]``: the room ``ROOM`` for ``visibility``'s readers, its token in ``$MATRIX_TOKEN``."""
    with FakeMatrix(token=token, rooms=[ROOM]) as matrix:
        project.env["MATRIX_TOKEN"] = token
        project.write_config(ENGINE + f"""
[channels.{channel}]
type = "matrix"
visibility = "{visibility}"
homeserver = "{matrix.url}"
access_token = "${{MATRIX_TOKEN}}"
room_id = "{ROOM}"
""")
        yield matrix

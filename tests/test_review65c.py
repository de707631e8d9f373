"""Review 65c: amend, retry, postmortem and tick beside each other, through the real CLI and the fakes.

1. A `tick` whose window step met another command's write each of the 12 times it decided it (``CONFLICT_ATTEMPTS``)
   gave up on it in silence: "Nothing due.", exit 0, while the window was due to start. Cron's log is the operator's
   only word of it. The tick now says it gave up on that window and why, and exits non-zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import FakeWorld

DOWN = Response(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})


class AnsweredOnceNoted(Fault):
    """Telegram's 500 to one getChat, answered only once a colleague's note on ``window`` is stored (the fake waits
    out ``delay`` before serving): the tick decided its step before the note, and stores it after."""

    def __init__(self, note: Callable[[], None]) -> None:
        super().__init__(match="getChat", response=DOWN)
        self._note = note

    @property
    def delay(self) -> float:
        self._note()
        return 0.0

    @delay.setter
    def delay(self, _: float) -> None:
        pass


def test_a_tick_that_meets_a_write_each_time_it_decides_a_window_says_so(project: Project) -> None:
    with FakeWorld() as world:
        project.env.update(world.env)
        project.write_config(ENGINE.replace("timeout = 2\n", "timeout = 20\n") + world.channels_toml())
        world.telegram.fail(*(Fault(match="getChat", response=DOWN) for _ in range(3)))  # @acmestatus unresolved
        start = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
        scheduled = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade", "-C", "db",
                                "--start", start, "--end", "2h", "The database will be upgraded.")
        window = json.loads(scheduled.stdout)["incident_id"]
        world.telegram.clear_faults()
        notes: list[subprocess.CompletedProcess[str]] = []
        # A colleague's config names X alone (no Telegram @name to ask of, no rooms lock to wait for behind the tick).
        colleague = project.root / "colleague"
        colleague.mkdir()
        (colleague / "broadcaster.toml").write_text(
            project.config.read_text(encoding="utf-8").split("[channels.tg-public]")[0], encoding="utf-8")

        def note() -> None:  # a colleague's note on the window, stored while the tick waits to hear of @acmestatus
            notes.append(subprocess.run(
                [sys.executable, "-m", "broadcaster", "--config", str(colleague / "broadcaster.toml"), "--store",
                 str(project.root / ".broadcaster" / "state.db"), "post", "--yes", "-i", window,
                 "--only", "x", f"Note {len(notes) + 1}."],
                env={**os.environ, **project.env}, capture_output=True, text=True, timeout=60, check=False))

        # Each time the tick decides the step, it asks Telegram which chat @acmestatus is (in vain) before storing it.
        world.telegram.fail(*(AnsweredOnceNoted(note) for _ in range(12)))
        ticked = project.cli("tick")
        assert len(notes) == 12 and all(n.returncode == 0 for n in notes), [n.stdout + n.stderr for n in notes]
        assert ticked.exit_code == 2, ticked.output  # nothing else due: a refusal, nothing stored or sent
        assert "Nothing due" not in ticked.output, ticked.output
        assert f"another command stored an update of {window} each of the 12 times" in ticked.output, ticked.output
        assert "nothing was stored or sent for it" in ticked.output, ticked.output

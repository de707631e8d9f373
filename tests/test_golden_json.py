"""The ``--json`` output of every command, byte for byte, on a fixed scenario (a stable contract).

One scenario through the real CLI against the fakes: a new incident with
private detail, a preview, a preview the egress guard refuses, a follow-up
whose Slack post is refused and whose Telegram post may have arrived
(``unknown``), ``retry`` before and after marking it sent, ``show``,
``list``, a correction, the resolution, a postmortem, a maintenance window
that ``tick`` starts, and ``store export``. Every command's standard output
is kept as printed, with only what changes from run to run put in angle
brackets: times, dates (they are in incident ids), the test's folder and the
fakes' ports.

The recording is ``tests/data/golden_json.txt``. It is the contract: a change
of any command's JSON shows here. After a deliberate change of the output,
rewrite it with ``BROADCASTER_GOLDEN=write`` and say why in the commit.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import FakeWorld

GOLDEN = Path(__file__).parent / "data" / "golden_json.txt"

SITE_TARGET = """
[publish.mirror]
type = "directory"
path = "mirror"
"""


def normalised(text: str, root: Path) -> str:
    """``text`` with what differs between runs replaced by a placeholder."""
    text = text.replace(str(root), "<root>")
    text = re.sub(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?", "<time>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text)
    # A time on another day than now shows its day ("5 Dec 00:15", "2026-12-05 00:15 UTC"): a post made after 23:30
    # promises its next update for tomorrow. The same clock, whatever the hour the suite runs at.
    day = r"(\d{1,2} [A-Z][a-z]{2} )?"
    text = re.sub(rf"\b{day}\d{{1,2}}:\d{{2}}\b( UTC)?( \({day}\d{{1,2}}:\d{{2}} CES?T\))?", "<clock>", text)
    text = text.replace("<time> UTC", "<clock>")
    # The page's zone's day may be tomorrow where UTC's is today (a post after 22:30 UTC promising 30 min): its
    # clock then shows as a date and time ("(2026-12-08 00:15 CET)"), already made "<time>" above.
    text = re.sub(r"\(<time> CES?T\)", "(<clock> CET)", text)
    text = re.sub(r"(127\.0\.0\.1|localhost):\d+", r"\1:<port>", text)
    # How many files a post rewrites depends on whether it fell in the same second as the one before:
    # api/v2 files whose only change is page.updated_at (to the second) are then left alone.
    text = re.sub(r"\b\d+ files changed\b", "<n> files changed", text)
    return re.sub(r"\b\d+ min late\b", "<n> min late", text)


def scenario(project: Project, world: FakeWorld) -> list[tuple[str, int, str]]:
    """Each JSON-printing command of the scenario: (what was run, exit code, standard output)."""
    runs: list[tuple[str, int, str]] = []

    def run(*args: str) -> str:
        result = project.cli(*args)
        runs.append((" ".join(args), result.exit_code, result.stdout))
        if "--json" in args and result.exit_code in (0, 3):  # one JSON document, nothing else (retry --mark-unknown-sent printed a line first)
            assert json.loads(result.stdout) is not None, (args, result.stdout, result.stderr)
        return result.stdout

    new = ["--title", "API errors", "--impact", "major", "-C", "api=partial_outage", "--next-update", "30m",
           "--ticket", "Northwind", "--ticket", "OPS-4711", "--private", "edge router fra-2 flapping",
           "Elevated error rates on the API. [private]Edge fra-2.[/private] Investigating."]
    run("preview", "--json", *new)
    run("preview", "--json", "--title", "Checkout errors", "--ticket", "Globex", "Checkout fails for Globex.")
    posted = run("post", "--yes", "--json", *new)
    incident = re.search(r'"incident_id": "([^"]+)"', posted).group(1)  # type: ignore[union-attr]

    world.slack.fail(Fault(match="chat.postMessage", response=Response(200, {"ok": False, "error": "channel_not_found"})))
    world.telegram.fail(Fault(match="sendMessage", hang=30))  # no answer within [engine] timeout: unknown
    run("post", "--yes", "--json", "-i", incident, "-s", "identified", "-C", "api=major_outage",
        "Cause found: a faulty router. [private]fra-2 line card.[/private] Fix in progress.")
    run("show", incident, "--json")
    run("retry", "--json")
    run("retry", "--json", "--mark-unknown-sent", "--remote-id", "tg-public=2")
    run("retry", "--json", "--include-unknown", "--mark-unknown-sent")
    run("retry", "--json")
    run("list", "--json")
    run("amend", incident, "1", "--yes", "--json", "Elevated error rates on the API and the website. Investigating.")
    run("resolve", incident, "--yes", "--json", "Error rates are back to normal.")
    (project.root / "pm.md").write_text("# What happened\n\nA router failed.\n\n## What we change\n\nSpares.\n")
    run("postmortem", incident, "--file", str(project.root / "pm.md"), "--yes", "--json")
    start = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%MZ")
    run("maintenance", "schedule", "--yes", "--json", "--title", "Database upgrade", "--start", start,
        "--end", "2h", "-C", "db", "Planned database upgrade.")
    run("tick", "--json")
    run("tick", "--json")
    run("show", incident, "--json")
    run("list", "--json")
    run("store", "export")
    _subscribe(project)
    run("subscribers", "list", "--json")
    return runs


def _subscribe(project: Project) -> None:
    """Two chats, as the bot's /start would subscribe them (issue 19); the invite's hash fixed."""
    from broadcaster.messages.model import INTERNAL

    from broadcaster import subscribers
    from broadcaster.store import SQLiteStore

    store = SQLiteStore(project.root / ".broadcaster" / "state.db")
    now = datetime.now(UTC)
    subscribers.subscribe(store, 4242, subscribers.ChatKind.PRIVATE)
    store.insert_invite(subscribers.Invite("ab" * 32, INTERNAL, ("api",), now, now + timedelta(days=7), 2, 0, None))
    store.redeem_invite("ab" * 32, "-1001234", subscribers.ChatKind.GROUP, now)
    store.close()


def recording(project: Project, runs: list[tuple[str, int, str]]) -> str:
    blocks = [f"$ broadcaster {normalised(args, project.root)}\n[exit {code}]\n{normalised(out, project.root)}"
              for args, code, out in runs]
    return "\n".join(blocks)


def test_every_commands_json_is_as_recorded(project: Project) -> None:
    # Telegram's limits unenforced: a 429 the timing of a run provokes would change a count of attempts.
    with FakeWorld(enforce_limits=False) as world:
        project.write_config(ENGINE + world.channels_toml() + SITE_TARGET)
        project.env.update(world.env)
        got = recording(project, scenario(project, world))
    if os.environ.get("BROADCASTER_GOLDEN") == "write":
        GOLDEN.write_text(got, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    assert got == expected, "the --json output changed; compare with tests/data/golden_json.txt"

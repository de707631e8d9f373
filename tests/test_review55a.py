"""Review 55a: what `retry --mark-unknown-sent` says later updates thread under, against where the engine then sends
them (a table turned from public to internal, or pointed at another channel, between updates), and `init`'s backup
and printed paths, attacked through the real CLI against the loopback fakes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack

PUBLIC, STAFF = "C0PUBLIC01", "C0STAFF001"
TOKEN = "xoxb-review55a-token"


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels={PUBLIC: "status", STAFF: "staff"}) as fake:
        project.env["SLACK_TOKEN"] = TOKEN
        _slack_config(project, fake, PUBLIC)
        yield fake


def _slack_config(project: Project, slack: FakeSlack, channel: str, extra: str = "") -> None:
    project.write_config(ENGINE + f'\n[channels.status-slack]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\n'
                         f'channel = "{channel}"\napi_url = "{slack.api_url}"\n{extra}')


def _said(output: str) -> str:
    return " ".join(output.split())


def _second_update_lost(project: Project, slack: FakeSlack, *, channel: str, extra: str) -> str:
    """Update 1 posted to the public channel; the table then changed (``channel``, ``extra``) and update 2's answer
    was lost there (its fate unknown). The incident's id."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 0, out
    _slack_config(project, slack, channel, extra)
    slack.fail(Fault(match="chat.postMessage", reset_after=True))
    assert project.cli_json("post", "--yes", "-i", out["incident_id"], "-s", "identified", "Cause found.")[0] == 3
    return str(out["incident_id"])


@pytest.mark.parametrize(("channel", "extra"), [(PUBLIC, 'visibility = "internal"\n'), (STAFF, "")],
                         ids=["turned-internal", "pointed-elsewhere"])
def test_a_post_of_unknown_id_after_the_table_changed_names_no_post_the_next_update_does_not_join(
        project: Project, slack: FakeSlack, channel: str, extra: str) -> None:
    """The table was turned from public to internal (or pointed at another channel) after update 1; update 2's
    answer was lost. `retry --mark-unknown-sent` said 'later updates thread under update #1's post instead', while
    the engine threads only under posts made for the same readers in the place the config names now: update 3
    started a new thread, as it should, and the operator was told otherwise (and not how to keep one thread)."""
    incident = _second_update_lost(project, slack, channel=channel, extra=extra)
    marked = project.cli("retry", incident, "--mark-unknown-sent")
    assert marked.exit_code == 0, marked.output
    said = _said(marked.output)
    assert "update #1's post" not in said, marked.output
    assert "later updates there start a new thread" in said, marked.output
    assert "--remote-id status-slack=ID" in said, marked.output
    before = len(slack.top_level(channel))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "resolved", "Fixed.")[0] == 0
    assert len(slack.top_level(channel)) == before + 1  # a new thread, as retry said
    assert not slack.replies(PUBLIC, slack.top_level(PUBLIC)[0].ts)


def test_a_post_given_its_id_before_the_table_turned_internal_is_not_named_as_the_thread(
        project: Project, slack: FakeSlack) -> None:
    """Update 2's answer was lost while the table was public; the operator turned it internal, then gave the post's
    id. `retry` said 'later updates thread under <id>': the engine never threads a staff update under a public post,
    and update 3 started a new thread."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    slack.fail(Fault(match="chat.postMessage", reset_after=True))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")[0] == 3
    given = f"{PUBLIC}:{slack.replies(PUBLIC, slack.top_level(PUBLIC)[0].ts)[-1].ts}"
    _slack_config(project, slack, PUBLIC, 'visibility = "internal"\n')
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"status-slack={given}")
    assert marked.exit_code == 0, marked.output
    said = _said(marked.output)
    assert f"later updates thread under {given}" not in said, marked.output
    assert "later updates there are for other readers or go to another place" in said, marked.output
    assert "start a new thread" in said, marked.output
    before = len(slack.top_level(PUBLIC))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "resolved", "Fixed.")[0] == 0
    assert len(slack.top_level(PUBLIC)) == before + 1


def test_init_s_printed_config_path_is_one_the_shell_reads_back_as_the_file(project: Project) -> None:
    """`init` escaped a right-to-left override, a line break or an escape sequence in the folder's name, but inside
    plain quotes: `--config '...\\u202e...'` named a file of those letters, not the one written, and the line break
    printed raw split 'Wrote ...' over two lines. The path is now quoted as $'...', which bash reads back as it."""
    folder = project.root / "ops\u202ecod\n\x1b[31m\u200b\U000e0041'x"
    folder.mkdir()
    config = folder / "c.toml"
    config.write_text("# the operator's own\n", encoding="utf-8")
    result = project.cli("init", "--force", str(config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and all(line.isprintable() for line in lines), ascii(result.output)
    word = result.output.split("--config ", 1)[1].split(" post --title", 1)[0]
    read_back = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, check=True).stdout
    assert read_back == os.fsencode(config), (word, read_back)
    kept = lines[0].removeprefix("Kept the config it replaced as ").removesuffix(".")
    assert subprocess.run(["bash", "-c", f"cat {kept}"], capture_output=True, check=True).stdout == \
        b"# the operator's own\n"


def test_init_force_that_cannot_make_its_state_folder_leaves_the_config_as_it_was(project: Project) -> None:
    """`init --force` replaced the config, kept it as .bak, and only then failed writing its state folder's
    .gitignore: 'unexpected error (FileNotFoundError)', exit 1, and no word that the config was now the starter nor
    where the operator's own was kept. The state folder is now made first, and a failure to write is a refusal
    (exit 2) that says what was left."""
    own = project.config.read_bytes()
    state = project.root / ".broadcaster"
    state.mkdir()
    (state / ".gitignore").symlink_to(project.root / "gone" / "ignore")  # nothing writes through it
    result = project.cli("init", "--force")
    assert result.exit_code == 2, result.output
    assert project.config.read_bytes() == own
    assert not (project.root / "broadcaster.toml.bak").exists()
    said = _said(result.output)
    assert "could not write" in said and "nothing was written" in said, result.output


def test_a_given_id_of_another_incident_s_post_is_refused(project: Project, slack: FakeSlack) -> None:
    """Incident B's first Slack answer was lost; the operator, in a hurry, gave the link of incident A's post (the
    one above it in the channel). It was recorded as B's: B's next update replied in A's thread, and A's first
    message, edited to show the thread's latest status, showed B's title and status in place of A's."""
    assert project.cli_json("post", "--yes", "--title", "DB slow", "Queries are slow.")[0] == 0
    [other] = slack.top_level(PUBLIC)
    slack.fail(Fault(match="chat.postMessage", reset_after=True))
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 3, out
    incident = str(out["incident_id"])
    refused = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"status-slack={PUBLIC}:{other.ts}")
    assert refused.exit_code == 2, refused.output
    assert "is the post broadcaster recorded for" in _said(refused.output), refused.output
    shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    assert [d["state"] for d in shown if d["destination"] == "status-slack"] == ["unknown"]
    assert "DB slow" in slack.top_level(PUBLIC)[0].text and not slack.replies(PUBLIC, other.ts)

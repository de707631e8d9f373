"""Review 63a: session 63's Mastodon account questions, ``${STORE_URL}``'s file and the store locks' refusals,
attacked through the CLI and the fakes."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

from broadcaster.config_loader import load
from broadcaster.store import open_store
from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_review62b import _run

OPS = """
[maintenance]
reminder_minutes = 60

[channels.ops]
type = "webhook"
url = "{url}"
visibility = "internal"
secret = "${{HOOK_SECRET}}"
"""


def _notices_lock_of_another_account(project: Project) -> None:
    """The notices' lock beside the state file made by another account (a state file a group shares: a member's
    post with an SLA made it, its own only), the tick's lock this user's."""
    lock = project.root / ".broadcaster" / ".state.db.notices.lock"
    lock.touch()
    os.chown(lock, 65534, 65534)
    lock.chmod(0o600)


def test_a_tick_whose_notices_lock_is_another_accounts_reports_the_reminder_it_sent(project: Project) -> None:
    """The tick sent a maintenance reminder (ops and the page), then met the notices' lock another account made:
    it ended 'error: ... What this command stored before it is kept, and what it did not send yet is not lost ...
    `broadcaster retry` sends it', exit 1. The reminder it had sent went unreported (cron's output is the operator's
    only word of it), and no retry had anything to send: the notices were never stored."""
    with FakeReceiver() as hook:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(OPS.format(url=hook.hook_url))
        code, said = _run(project, "maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", "30m",
                          "--end", "2h", "-C", "db", "Upgrading the database.")
        assert code == 0, said
        _notices_lock_of_another_account(project)
        before = len(hook.received())

        code, said = _run(project, "tick")

        assert len(hook.received()) == before + 1, said  # the reminder went out
        assert "reminded db-upgrade" in said, said
        assert "retry` sends it" not in said and "uid 65534" in said, said
        assert code == 3, said


def test_a_tick_with_nothing_but_notices_behind_another_accounts_lock_stores_and_sends_nothing(
        project: Project) -> None:
    """Nothing else due: the refusal is the whole tick's, nothing stored or sent (exit 2)."""
    with FakeReceiver() as hook:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(OPS.format(url=hook.hook_url))
        code, said = _run(project, "post", "--yes", "--title", "API errors", "Errors.")
        assert code == 0, said
        _notices_lock_of_another_account(project)
        before = len(hook.received())

        code, said = _run(project, "tick")

        assert code == 2 and "nothing was stored or sent" in said.lower() and "uid 65534" in said, said
        assert len(hook.received()) == before



SLA = """
[[components]]
id = "queue"
name = "Queue"
sla = 99.9
"""


def down_for_two_hours(project: Project, component: str) -> None:
    """An outage of ``component`` that began two hours ago (within this month), stored as history: below 99.9 % so
    far this month, so the next command that raises notices has a breach due (review 65b: with none due, a post no
    longer needs the notices' lock)."""
    now = datetime.now(UTC)
    began = max(now - timedelta(hours=2), now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    down = (AffectedComponent(component, ComponentStatus.MAJOR_OUTAGE),)
    store = open_store(load(str(project.config), environ=project.env).store_path)
    try:
        store.record_update(
            Incident(f"{component}-down", "Down", Impact.CRITICAL, Status.INVESTIGATING, began, components=down),
            Update(f"{component}-down", 0, began, Status.INVESTIGATING, "Down.", components=down), [], new=True)
    finally:
        store.close()


def test_a_post_whose_sla_notices_lock_is_another_accounts_still_sends_the_post(project: Project) -> None:
    """A follow-up to an incident on a component with an SLA met the notices' lock another account made after it
    was stored: it ended 'error: ... `broadcaster retry` sends it', exit 1, nothing sent, though the post itself
    needs no such lock (the retry it pointed to sent it without one): the incident's readers waited on the
    operator's second command for a notice that could not be raised anyway."""
    with FakeReceiver() as hook:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(SLA + OPS.format(url=hook.hook_url))
        code, said = _run(project, "post", "--yes", "--title", "Queue down", "-C", "queue", "-s", "investigating",
                          "Down.")
        assert code == 0, said
        incident = project.cli("list", "--json").stdout.split('"id": "')[1].split('"')[0]
        down_for_two_hours(project, "queue")
        _notices_lock_of_another_account(project)
        before = len(hook.received())

        code, said = _run(project, "post", "--yes", "-i", incident, "-s", "identified", "Cause found.")

        assert len(hook.received()) == before + 1, said  # the follow-up went out
        assert "retry` sends it" not in said and "uid 65534" in said, said
        assert code == 3, said


def test_a_withdrawal_whose_sla_notices_lock_is_another_accounts_still_deletes(project: Project) -> None:
    """The same after a withdrawal was stored: its deletes waited on a `broadcaster retry`, the incident's posts left
    up meanwhile."""
    with FakeReceiver() as hook:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(SLA + OPS.format(url=hook.hook_url))
        code, said = _run(project, "post", "--yes", "--title", "Queue down", "-C", "queue", "Down.")
        assert code == 0, said
        incident = project.cli("list", "--json").stdout.split('"id": "')[1].split('"')[0]
        down_for_two_hours(project, "queue")
        _notices_lock_of_another_account(project)

        code, said = _run(project, "withdraw", "--yes", incident, "--reason", "Posted in error.")

        assert "retry` sends it" not in said and "uid 65534" in said, said
        assert code == 3, said
        shown = project.cli("show", incident, "--json").stdout
        assert '"state": "pending"' not in shown, shown


def test_a_misspelt_store_url_variable_is_named_as_the_setting_it_came_from(project: Project) -> None:
    """`[store] url = "${STORE_URL}"` naming a file a typo away from the state file was refused as '[store] path
    .../stat.db: no such file', a setting the config did not have: the operator looked for the typo there."""
    project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
    env = {"STORE_URL": "sqlite:///rel/state.db"}
    posted = project.cli("post", "--yes", "--title", "API errors", "Errors.", env=env)
    assert posted.exit_code == 0, posted.output

    refused = project.cli("list", env={"STORE_URL": "sqlite:///rel/stat.db"})

    assert refused.exit_code == 2, refused.output
    assert "[store] url (${STORE_URL})" in refused.output and "[store] path" not in refused.output, refused.output

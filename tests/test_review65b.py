"""Review 65b: the SLA notices of a post, a withdrawal and a tick under the notices' lock another account made (a state
file a group shares; reviews 63a, 64a), attacked through the CLI and the fakes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_review62b import _run
from tests.test_review63a import OPS, SLA


def notices_lock_of_another_account(project: Project) -> Path:
    """The notices' lock beside the state file, made by another account (uid 65534) and its only, as 63a's."""
    lock = project.root / ".broadcaster" / ".state.db.notices.lock"
    lock.touch()
    os.chown(lock, 65534, 65534)
    lock.chmod(0o600)
    return lock


def test_a_post_with_no_breach_due_is_not_held_up_by_another_accounts_notices_lock(project: Project) -> None:
    """A follow-up and a withdrawal of an incident on a component with an SLA, its month well within it, beside the
    notices' lock another account made: each said 'No SLA notice was raised: cannot take the store's lock ...' and
    exited 3, every post of the incident, though no notice was due: a cron job or a wrapper read each as failed, and
    the operator was sent to another account for nothing. Whether one is due is read without the lock."""
    with FakeReceiver() as hook:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(SLA + OPS.format(url=hook.hook_url))
        code, said = _run(project, "post", "--yes", "--title", "Queue slow", "-C", "queue", "Slow.")
        assert code == 0, said
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        notices_lock_of_another_account(project)
        before = len(hook.received())

        code, said = _run(project, "post", "--yes", "-i", incident, "-s", "identified", "Cause found.")

        assert len(hook.received()) == before + 1, said
        assert "SLA" not in said and "lock" not in said, said
        assert code == 0, said

        code, said = _run(project, "withdraw", "--yes", incident, "--reason", "Posted in error.")

        assert "SLA" not in said and "lock" not in said, said
        assert code == 0, said


"""Review 65b: the SLA notices of a post, a withdrawal and a tick under the notices' lock another account made (a state
file a group shares; reviews 63a, 64a), attacked through the CLI and the fakes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_narrow_incidents import ACME, GLOBEX, STAFF, customers, customers_config  # noqa: F401 - the fixture
from tests.test_review62b import _run
from tests.test_review63a import OPS, SLA, down_for_two_hours


def notices_lock_of_another_account(project: Project) -> Path:
    """The notices' lock beside the state file, made by another account (uid 65534) and its only, as 63a's."""
    lock = project.root / ".broadcaster" / ".state.db.notices.lock"
    lock.touch()
    os.chown(lock, 65534, 65534)
    lock.chmod(0o600)
    return lock



def _queue_slow(project: Project, hook: FakeReceiver) -> str:
    """An incident posted on queue (an SLA watched, staff's webhook ``hook``), whose id is returned."""
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(SLA + OPS.format(url=hook.hook_url))
    code, said = _run(project, "post", "--yes", "--title", "Queue slow", "-C", "queue", "Slow.")
    assert code == 0, said
    incident: str = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    return incident


def test_a_post_with_no_breach_due_is_not_held_up_by_another_accounts_notices_lock(project: Project) -> None:
    """A follow-up and a withdrawal of an incident on a component with an SLA, its month well within it, beside the
    notices' lock another account made: each said 'No SLA notice was raised: cannot take the store's lock ...' and
    exited 3, every post of the incident, though no notice was due: a cron job or a wrapper read each as failed, and
    the operator was sent to another account for nothing. Whether one is due is read without the lock."""
    with FakeReceiver() as hook:
        incident = _queue_slow(project, hook)
        notices_lock_of_another_account(project)
        before = len(hook.received())

        code, said = _run(project, "post", "--yes", "-i", incident, "-s", "identified", "Cause found.")

        assert len(hook.received()) == before + 1, said
        assert "SLA" not in said and "lock" not in said, said
        assert code == 0, said

        code, said = _run(project, "withdraw", "--yes", incident, "--reason", "Posted in error.")

        assert "SLA" not in said and "lock" not in said, said
        assert code == 0, said


def test_a_breach_left_by_a_post_is_told_once_to_the_customer_and_staff_and_says_what_to_do(
    project: Project, customers: tuple[Any, Any]  # noqa: F811 - the fixture
) -> None:
    """A post that crossed acme's contract beside another account's notices lock: the post went out, the notices
    were left (exit 3). The note sent the operator to 'Run the command as the account that made it': the post, sent
    already, posted again; it named the account by uid alone, and its 'remove it: it is made again' left a state file
    a group shares to fail the same way at the next member's lock. Once the lock is the operator's again the tick
    tells acme its own notice and staff theirs, once each, and globex nothing."""
    telegram, x = customers
    project.write_config(customers_config(telegram, x, acme_sla="sla = 99.9"))
    down_for_two_hours(project, "api")
    lock = notices_lock_of_another_account(project)

    code, said = _run(project, "post", "--yes", "--json", "--title", "Checkout errors", "-C", "api=major_outage",
                      "Checkout is failing.")

    assert code == 3, said
    posted = json.loads(said)
    assert posted["notices"] == [] and {d["state"] for d in posted["deliveries"]} <= {"sent", "skipped"}, said
    note = " ".join(posted["notes"])
    assert "uid 65534 (nobody)" in note and str(lock) in note, note
    assert "Run the command as the account" not in note and "do not run it again" in note, note
    assert "`broadcaster tick`" in note and "Team mode" in note, note
    assert [m.text for m in telegram.messages.get(ACME, []) if "Service level" in m.text] == []

    lock.unlink()
    code, said = _run(project, "tick")
    assert code == 0, said
    code, again = _run(project, "tick")
    assert code == 0 and "Nothing due" in again, again

    acme = [m.text for m in telegram.messages.get(ACME, [])]
    staff = [m.text for m in telegram.messages.get(STAFF, [])]
    assert sum("Service level notice for Acme Corp" in t for t in acme) == 1, acme
    assert not any("SLA breach" in t for t in acme), acme  # staff's wording never reaches the customer
    assert sum("SLA breach for customer Acme Corp" in t for t in staff) == 1, staff
    assert telegram.messages.get(GLOBEX, []) == []


def test_a_dry_run_says_an_sla_notice_it_makes_due_would_be_left_behind_another_accounts_lock(
        project: Project) -> None:
    """`post --dry-run` beside the notices' lock another account made said nothing of it, exit 0, and the real post
    then exited 3, its SLA notice left unraised: a preview that passes promises a post that works. It now says so,
    asked without taking or making the lock (a dry run that made it would make it its own, refusing the others)."""
    with FakeReceiver() as hook:
        incident = _queue_slow(project, hook)
        lock = notices_lock_of_another_account(project)
        before = len(hook.received())

        code, said = _run(project, "post", "--dry-run", "-i", incident, "-C", "queue=major_outage", "Down now.")

        assert code == 0, said
        assert "If this post makes an SLA notice due, it is not raised" in said and "uid 65534" in said, said
        assert "`broadcaster tick`" in said and "Team mode" in said, said
        assert len(hook.received()) == before and lock.stat().st_uid == 65534
        lock.unlink()
        code, said = _run(project, "post", "--dry-run", "-i", incident, "-C", "queue=major_outage", "Down now.")
        assert code == 0 and "SLA" not in said and not lock.exists(), said

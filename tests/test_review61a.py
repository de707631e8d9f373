"""Review 61a: the store's locks beside the resolved file, and the state folder's permissions (review 60a's fixes),
through the CLI."""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
from pathlib import Path

from tests.conftest import Project
from tests.test_confirmation import in_terminal

LINKED_STORE = """
[store]
path = "state.db"
"""

# -- the new-incident lock of a state file named through a link retargeted while a post waits for its answer ---------


def test_a_link_retargeted_while_a_post_waits_keeps_the_lock_of_the_file_it_writes(project: Project,
                                                                                  tmp_path: Path) -> None:
    """The post opened the state file through [store] path's link (-> shared/state.db), and took its new-incident lock
    beside whatever the link named when it got there: retargeted meanwhile (a `ln -sfn` to another store), the lock was
    the other file's, and another operator's post of the same alert through shared/state.db's own name, holding its
    lock, did not hold this one back: both checked for a repeat at once, and both put the incident on every channel."""
    shared, other = tmp_path / "shared", tmp_path / "other"
    for folder in (shared, other):
        folder.mkdir()
        project.write_config(f'[store]\npath = "{folder / "state.db"}"\n')
        assert project.cli("store", "migrate").exit_code == 0
    project.write_config(LINKED_STORE)
    link = project.root / "state.db"
    link.symlink_to(shared / "state.db")
    held: dict[str, bool] = {}
    timers: list[threading.Timer] = []

    def retargeted_while_the_file_is_locked(process: subprocess.Popen[bytes]) -> bytes:
        """The other operator's post holds the file's lock (through its own name) as this one answers yes; let go of
        three seconds later, once it is seen whether this post stored its incident meanwhile."""
        lock = open(shared / ".state.db.new-incident.lock", "a")  # noqa: SIM115 - closed by the timer
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.replace(_a_link_to(other / "state.db", beside=link), link)

        def let_go() -> None:
            held["finished_while_held"] = process.poll() is not None
            lock.close()

        timers.append(threading.Timer(3, let_go))
        timers[0].start()
        return b"y\n"

    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "Errors."],
                              retargeted_while_the_file_is_locked, b"Publish now?")
    timers[0].join()
    assert code == 0, shown
    assert not held["finished_while_held"], "the post stored the new incident while the state file's new-incident lock was held"
    stored = project.cli("--store", str(shared / "state.db"), "list", "--json")
    assert "api-errors" in stored.stdout, stored.stdout + stored.stderr


def _a_link_to(target: Path, *, beside: Path) -> Path:
    made = beside.with_name(beside.name + ".new")
    made.symlink_to(target)
    return made


# -- modes the operator set on the state folder and file: narrowed to the owner, never widened -----------------------


def test_a_listing_leaves_a_read_only_state_folder_read_only(project: Project) -> None:
    """.broadcaster chmod 0500 (a-w: the state frozen while it is copied, or handed to an auditor): `list`, which
    only reads, made it 0700 again, writable, as it narrows one an older version made 0755."""
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    folder = project.root / ".broadcaster"
    folder.chmod(0o500)
    try:
        assert project.cli("list").exit_code == 0
        assert oct(folder.stat().st_mode & 0o777) == oct(0o500)
    finally:
        folder.chmod(0o700)


def test_a_listing_leaves_a_read_only_state_file_read_only(project: Project) -> None:
    """state.db chmod 0444 (made read-only for everyone): `list` made it 0600, writable by its owner. A state file
    its owner may not write is now read from a copy and left exactly as it is (review 61c: a snapshot's or a backup's
    modes are not the reader's to change), so not narrowed to 0400 either."""
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    state = project.root / ".broadcaster" / "state.db"
    state.chmod(0o444)
    assert project.cli("list").exit_code == 0
    assert oct(state.stat().st_mode & 0o777) == oct(0o444)


# -- a proxy's user and host without a scheme, and an address at another host that begins alike ----------------------


def test_a_proxys_user_and_short_host_do_not_refuse_an_address_at_a_longer_host(project: Project) -> None:
    """HTTPS_PROXY=support@acme:3128 (the office proxy by its short name, a user, no scheme): review 60a made the
    secret 'support@acme', looked for anywhere in a post, in any case, so 'Write to support@acme.com' was refused as
    holding the proxy's user and host, which it does not: the host ends at the port's ':' in the variable."""
    from tests.test_env_proxy import proxy_env

    project.write_config()
    env = proxy_env("support@acme:3128")
    for text in ("Write to support@acme.com for help.", "Write to SUPPORT@ACME-MAIL.example for help."):
        result = project.cli("post", "--dry-run", "--title", "Mail delays", text, env=env)
        said = " ".join((result.stdout + result.stderr).split())
        assert result.exit_code == 0, said
    written = project.cli("post", "--dry-run", "--title", "Mail delays", "Proxy support@acme:3128 is down.", env=env)
    assert written.exit_code == 2 and "proxy's user and host" in written.stdout + written.stderr


# -- the WAL and shared-memory files a read of a read-only state file leaves ------------------------------------------


def test_a_state_file_made_writable_again_is_written_after_a_read_while_it_was_not(project: Project) -> None:
    """state.db chmod 0400 (frozen while it was copied), read by `list`: SQLite made its -wal and -shm files with the
    state file's mode, 0400, and a reader that cannot write cannot remove them. Once the state file was 0600 again,
    every post ended 'cannot write to the state file ... (attempt to write a readonly database)', exit 1, telling
    to check the file and its folder, both writable."""
    from tests.test_review60a import _as_its_owner

    project.write_config()
    assert project.cli("post", "--yes", "--title", "First", "x").exit_code == 0
    state = project.root / ".broadcaster" / "state.db"
    state.chmod(0o400)
    listed = _as_its_owner(project, "list")
    assert listed.returncode == 0, listed.stderr
    state.chmod(0o600)
    posted = _as_its_owner(project, "post", "--yes", "--title", "Second", "y")
    assert posted.returncode == 0, posted.stdout + posted.stderr
    assert "Second" in _as_its_owner(project, "list").stdout


# -- a build's workers open the store the build does, not what a link names by then ----------------------------------


def test_a_builds_workers_reopen_the_file_the_store_writes_not_a_link_retargeted_since(project: Project,
                                                                                      tmp_path: Path) -> None:
    """A full build's worker processes open the store again (``reopened``): through the link's name, one retargeted
    meanwhile at another store (`ln -sfn`) had them render that store's incidents into this one's site (noticed by
    review 61a, as the locks' fix above)."""
    from broadcaster.store import SQLiteStore

    shared, other = tmp_path / "shared", tmp_path / "other"
    for folder, title in ((shared, "API errors"), (other, "Other store's outage")):
        folder.mkdir()
        (folder / "state.db").touch()  # a new store under a page built from another: made on purpose (review 65d)
        project.write_config(f'[store]\npath = "{folder / "state.db"}"\n')
        posted = project.cli("post", "--yes", "--title", title, "Errors.")
        assert posted.exit_code == 0, posted.output
    link = tmp_path / "state.db"
    link.symlink_to(shared / "state.db")
    store = SQLiteStore(link)
    try:
        os.replace(_a_link_to(other / "state.db", beside=link), link)
        again = store.reopened()
        try:
            ids = again.incident_ids()
            assert ids == store.incident_ids() and len(ids) == 1 and ids[0].startswith("api-errors-"), ids
            assert str(link) in again.location  # still named as the operator wrote it
        finally:
            again.close()
    finally:
        store.close()


def test_a_store_given_in_a_folder_its_owner_may_not_enter_says_what_to_check(project: Project) -> None:
    """`--store .broadcaster/state.db` in a folder chmod 0600: told 'Check the path', which is right, where [store]
    path's refusal (review 60a) says what is wrong with it: a folder needs its x bit."""
    from tests.test_review60a import _as_its_owner

    project.write_config()
    assert project.cli("post", "--yes", "--title", "First", "x").exit_code == 0
    folder = project.root / ".broadcaster"
    folder.chmod(0o600)
    try:
        done = _as_its_owner(project, "--store", str(folder / "state.db"), "list")
    finally:
        folder.chmod(0o700)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and "Permission denied" in said and "x bit" in said, said

"""Review 16 (sites), findings 4 to 9: the directory and git publish targets never destroy files
broadcaster did not write, refuse before storing, and keep a newer build."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from broadcaster.config import ChannelConfig
from broadcaster.site.folder import is_site_path
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts.directory import DirectoryHost
from tests.conftest import Project
from tests.test_hosts_git import commits, git, tree
from tests.test_hosts_git_safety import pages_config


@pytest.fixture
def no_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)


@pytest.fixture
def remote(tmp_path: Path, no_git_config: None) -> Path:
    path = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(path))
    return path


def post(project: Project, *args: str, title: str = "API errors") -> tuple[int, dict[str, Any]]:
    result = project.cli("post", "--yes", "--json", "--title", title, *args, f"{title}: elevated errors.")
    return result.exit_code, (json.loads(result.stdout) if result.stdout.startswith("{") else {"output": result.output})


def built(root: Path, files: dict[str, bytes], generation: int) -> BuiltSite:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return BuiltSite(root=root, hashes={p: hashlib.sha256(d).hexdigest() for p, d in files.items()},
                     store="store-1", generation=generation)


def publish(host: DirectoryHost, site: BuiltSite) -> Any:
    return asyncio.run(host.publish(site))


def directory_host(path: Path) -> DirectoryHost:
    return DirectoryHost(ChannelConfig("www", "directory", options={"path": str(path)}), path.parent)


# -- finding 4: a git target with `path` ------------------------------------------------------------


def test_a_branch_of_someone_elses_files_under_path_is_not_force_replaced(
    project: Project, remote: Path, tmp_path: Path
) -> None:
    """With ``path = "docs"`` the check for another project's branch was skipped: a branch whose every file
    lies under docs/ (a handbook) was force-replaced by one commit of the site, files and history gone."""
    work = tmp_path / "handbook"
    git("init", "-q", "-b", "gh-pages", str(work))
    (work / "docs").mkdir()
    (work / "docs" / "onboarding.md").write_text("# How we work\n")
    (work / "docs" / "runbook.md").write_text("# Pager duty\n")
    git("add", "-A", cwd=work)
    git("-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "-q", "-m", "handbook", cwd=work)
    git("push", "-q", str(remote), "gh-pages", cwd=work)
    before = (commits(remote, "gh-pages"), tree(remote, "gh-pages"))
    pages_config(project, str(remote), 'path = "docs"\n')

    code, payload = post(project)

    assert (commits(remote, "gh-pages"), tree(remote, "gh-pages")) == before, (
        "someone else's branch was force-replaced: its files and history are gone")
    assert code in (2, 3), payload
    said = " ".join(json.dumps(payload).replace('\\"', '"').split())
    assert "did not publish" in said and "docs/onboarding.md" in said and "Nothing was pushed" in said
    assert 'history = "keep"' in said  # the way out that keeps their history


def test_a_site_under_path_is_still_published_over_a_tip_someone_else_committed(
    project: Project, remote: Path, tmp_path: Path
) -> None:
    """The refusal looks at what lies under ``path``: a shared branch whose tip is a colleague's commit, with
    broadcaster's site in docs/, is published to as before (history = "keep")."""
    pages_config(project, str(remote), 'path = "docs"\nhistory = "keep"\n')
    assert post(project)[0] == 0
    work = tmp_path / "colleague"
    git("clone", "-q", "-b", "gh-pages", str(remote), str(work))
    (work / "README.md").write_text("# Our repository\n")
    git("add", "-A", cwd=work)
    git("-c", "user.name=c", "-c", "user.email=c@example.com", "commit", "-q", "-m", "Readme", cwd=work)
    git("push", "-q", "origin", "gh-pages", cwd=work)

    code, payload = post(project, "-C", "db", title="Database slow")

    assert code == 0, payload
    files = tree(remote, "gh-pages")
    assert files["README.md"] == b"# Our repository\n" and b"Database slow" in files["docs/index.html"]


# -- finding 7: files committed on top of the site's branch -------------------------------------------


def test_a_file_someone_committed_on_top_of_the_site_is_kept(project: Project, remote: Path, tmp_path: Path) -> None:
    """A colleague's robots.txt and search-console verification file, committed on top of the site, were
    dropped by the next post with their commit; only CNAME and .nojekyll were kept. Every file the site
    neither writes nor could have written is now kept, as CNAME is."""
    pages_config(project, str(remote))
    assert post(project)[0] == 0
    work = tmp_path / "colleague"
    git("clone", "-q", "-b", "gh-pages", str(remote), str(work))
    (work / "google1234abcd.html").write_text("google-site-verification: google1234abcd.html\n")
    (work / "robots.txt").write_text("User-agent: *\nDisallow: /incidents/\n")
    git("add", "-A", cwd=work)
    git("-c", "user.name=colleague", "-c", "user.email=c@example.com", "commit", "-q", "-m", "Verify domain", cwd=work)
    git("push", "-q", "origin", "gh-pages", cwd=work)

    code, payload = post(project, "-C", "db", title="Database slow")
    again, _ = post(project, "-C", "api", title="Queue delays")  # the tip is ours now: kept again

    assert (code, again) == (0, 0), payload
    files = tree(remote, "gh-pages")
    assert files["robots.txt"] == b"User-agent: *\nDisallow: /incidents/\n"
    assert files["google1234abcd.html"] == b"google-site-verification: google1234abcd.html\n"
    assert b"Queue delays" in files["index.html"]


def test_a_page_shaped_like_the_sites_is_the_sites_and_leaves_with_it(
    project: Project, remote: Path, tmp_path: Path
) -> None:
    """Kept files are those the site could never have written: an incident page left on the branch (one a
    withdrawal removed, or one pushed by hand) is the site's, and goes when the build lacks it."""
    pages_config(project, str(remote))
    assert post(project)[0] == 0
    work = tmp_path / "colleague"
    git("clone", "-q", "-b", "gh-pages", str(remote), str(work))
    (work / "incidents" / "not-from-the-store.html").write_text("<p>stale</p>")
    git("add", "-A", cwd=work)
    git("-c", "user.name=c", "-c", "user.email=c@example.com", "commit", "-q", "-m", "Page", cwd=work)
    git("push", "-q", "origin", "gh-pages", cwd=work)

    assert post(project, "-C", "db", title="Database slow")[0] == 0

    assert "incidents/not-from-the-store.html" not in tree(remote, "gh-pages")


def test_every_file_a_build_writes_is_shaped_as_a_site_path(project: Project) -> None:
    """The git target keeps files that are not shaped like the site's: a file the builder writes that
    ``is_site_path`` did not know would outlive the build that dropped it."""
    assert post(project, "-C", "api")[0] == 0

    written = [p.relative_to(project.site).as_posix() for p in project.site.rglob("*") if p.is_file()]

    assert written and [p for p in written if not p.startswith(".") and not is_site_path(p)] == []


# -- finding 5: a hand-written status page ------------------------------------------------------------


def test_a_hand_written_status_page_is_not_taken_for_an_old_broadcaster_site(project: Project) -> None:
    """A folder without the marker was adopted when every file matched a path a broadcaster site has; a
    team's hand-made status page (index.html, feed.xml, incidents/*.html) matches, and was replaced whole.
    Adopting now also asks for api/v2/summary.json, which only broadcaster writes."""
    www = project.root / "www"
    (www / "incidents").mkdir(parents=True)
    (www / "index.html").write_text("<h1>Our hand-made status page</h1>")
    (www / "feed.xml").write_text("<rss>our hand-kept feed</rss>")
    (www / "incidents" / "2019-outage.html").write_text("<p>The 2019 outage, written up by hand</p>")
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "www"\n')

    code, payload = post(project)

    assert (www / "incidents" / "2019-outage.html").is_file(), "a file broadcaster never wrote was deleted"
    assert (www / "index.html").read_text() == "<h1>Our hand-made status page</h1>"
    assert code == 2, payload
    said = " ".join(payload["output"].split())
    assert "did not write" in said and "incidents/2019-outage.html" in said and "Nothing was stored" in said
    assert json.loads(project.cli("list", "--json").stdout) == []


# -- finding 6: leftovers beside the folder -----------------------------------------------------------


def test_an_operators_timestamped_backup_beside_the_target_is_never_deleted(project: Project) -> None:
    """`cp -a www www.old-$(date +%Y%m%d%H%M)`: twelve digits are twelve hex digits, so the sweep of a dead
    publish's leftovers took the operator's backup for one and rmtree'd it."""
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "www"\n')
    backup = project.root / "www.old-202612041830"
    backup.mkdir()
    (backup / "index.html").write_text("the operator's own copy of the old site")
    (backup / "notes.txt").write_text("keep me")
    old = time.time() - 7200
    os.utime(backup, (old, old))

    code, payload = post(project)

    assert code == 0, payload
    assert (project.root / "www" / "index.html").is_file()
    assert (backup / "notes.txt").read_text() == "keep me", "a folder broadcaster did not write was deleted"


def test_a_stale_copy_of_broadcasters_own_naming_is_removed_whatever_it_holds(tmp_path: Path) -> None:
    host = directory_host(tmp_path / "www")
    dead = tmp_path / ".www.broadcaster-tmp-0123456789ab"
    (dead / "incidents").mkdir(parents=True)
    (dead / "incidents" / "half.html").write_text("<p>half a site</p>")
    hour_ago = time.time() - 2 * DirectoryHost.stale_after
    os.utime(dead, (hour_ago, hour_ago))

    publish(host, built(tmp_path / "build", {"index.html": b"<p>ok</p>"}, generation=1))

    assert not dead.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if "www" in p.name) == ["www"]


# -- finding 8: a link or a file in the folder's place ---------------------------------------------------


@pytest.mark.parametrize("kind", ["link-to-a-folder", "file"])
def test_a_target_that_is_a_link_or_a_file_is_refused_before_anything_is_stored(project: Project, kind: str) -> None:
    """The preflight let a link to a folder and a plain file through; the publish then refused it after the
    update was stored and sent (exit 3), and `retry` could never finish it."""
    if kind == "file":
        (project.root / "www").write_text("not a folder")
    else:
        real = project.root / "real-www"
        real.mkdir()
        (project.root / "www").symlink_to(real)
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "www"\n')

    code, payload = post(project)

    listed = json.loads(project.cli("list", "--json").stdout)
    assert (code, listed) == (2, []), (code, payload)
    assert "is not a folder (a file or a symbolic link)" in " ".join(payload["output"].split())


# -- finding 9: a newer build is kept ------------------------------------------------------------------


def test_a_build_from_an_older_state_of_the_store_never_replaces_a_newer_one(tmp_path: Path) -> None:
    host = directory_host(tmp_path / "www")
    withdrawn = {"index.html": b"<p>nothing open</p>"}
    older = {"index.html": b"<p>Leaked outage</p>", "incidents/leaked.html": b"<p>posted in error</p>"}
    publish(host, built(tmp_path / "bob", withdrawn, generation=12))

    receipt = publish(host, built(tmp_path / "alice", older, generation=10))

    assert not (tmp_path / "www" / "incidents" / "leaked.html").exists(), (
        "a build of generation 10 replaced the site of generation 12: the withdrawn page is back")
    assert "kept" in receipt.notes[0]


def test_the_target_names_neither_the_store_nor_its_generation_and_an_unchanged_build_changes_no_byte(
    tmp_path: Path,
) -> None:
    """The record the comparison needs sits in the marker, which the web server serves like the site: it is
    sealed as the S3 manifest is (the generation counts every delivery, staff-only ones too), and a build
    that changes nothing (a staff-only update) rewrites nothing, marker included."""
    host = directory_host(tmp_path / "www")
    files = {"index.html": b"<p>all good</p>"}
    publish(host, built(tmp_path / "a", files, generation=41))
    marker = (tmp_path / "www" / ".broadcaster-site").read_bytes()

    receipt = publish(host, built(tmp_path / "b", files, generation=57))

    assert receipt.notes == ("unchanged",)
    assert (tmp_path / "www" / ".broadcaster-site").read_bytes() == marker
    record = json.loads(marker.split(b"publish: ", 1)[1])
    assert b"store-1" not in marker and sorted(record) == ["id", "sealed", "store"]  # no generation in the clear
    publish(host, built(tmp_path / "c", {"index.html": b"<p>older</p>"}, generation=40))
    assert (tmp_path / "www" / "index.html").read_bytes() == b"<p>all good</p>"


def test_the_publish_lock_does_not_depend_on_where_the_share_is_mounted(tmp_path: Path) -> None:
    """Two machines mounting one share at /mnt/status and /Volumes/status must take turns on one lock."""
    (tmp_path / "mnt").mkdir()
    alice = directory_host(tmp_path / "mnt" / "www")
    publish(alice, built(tmp_path / "build", {"index.html": b"<p>ok</p>"}, generation=1))
    lock = alice.publish_lock
    (tmp_path / "mnt").rename(tmp_path / "Volumes")  # the same files, at another path

    bob = directory_host(tmp_path / "Volumes" / "www")

    assert bob.publish_lock == lock
    assert directory_host(tmp_path / "elsewhere" / "www").publish_lock != lock


def test_two_laptops_mounting_one_share_at_different_paths_never_bring_a_withdrawn_page_back(tmp_path: Path) -> None:
    """Through the real CLI: one SQLite store, one share mounted at share/ (Alice) and at m2/ (Bob, a bind
    mount). Alice's post builds, then waits for her publish lock (held here); Bob withdraws the incident. His
    publish took another lock (another resolved path) and an older build of Alice's landed afterwards,
    serving the withdrawn page again. Now both take one lock, and whichever lands second keeps the newer
    site. Needs root for the bind mount."""
    from broadcaster import config_loader
    from broadcaster.destinations import destinations
    from broadcaster.store import open_store

    (tmp_path / "share").mkdir()
    (tmp_path / "m2").mkdir()
    if subprocess.run(["mount", "--bind", str(tmp_path / "share"), str(tmp_path / "m2")], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        base = ('\n[page]\ntitle = "Acme status"\nbase_url = "https://status.example.com/"\noutput_dir = "public"\n'
                '\n[[components]]\nid = "api"\nname = "API"\n\n[store]\npath = "{store}"\n'
                '\n[publish.www]\ntype = "directory"\npath = "{www}"\n\n[engine]\ndeadline = 60\n')
        configs = {}
        for who, mount in (("alice", "share"), ("bob", "m2")):
            (tmp_path / who).mkdir()
            configs[who] = tmp_path / who / "broadcaster.toml"
            configs[who].write_text(base.format(store=tmp_path / "shared" / "state.db", www=tmp_path / mount / "www"))

        def start(who: str, *args: str) -> subprocess.Popen[str]:
            env = {k: v for k, v in os.environ.items() if k != "BROADCASTER_CONFIG"}
            return subprocess.Popen([sys.executable, "-m", "broadcaster", "--config", str(configs[who]), *args],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

        out, _ = start("alice", "post", "--yes", "--json", "--title", "Leaked outage", "Posted in error.").communicate(
            timeout=120)
        leaked = json.loads(out)
        page = tmp_path / "share" / "www" / "incidents" / f"{leaked['incident_id']}.html"
        assert page.is_file()
        hosts = {who: destinations(config_loader.load(str(configs[who]), {}))["www"].host  # type: ignore[attr-defined]
                 for who in configs}
        assert hosts["alice"].publish_lock == hosts["bob"].publish_lock
        store = open_store(tmp_path / "shared" / "state.db")
        try:
            with store.lock(hosts["alice"].publish_lock) as got:
                assert got
                alice = start("alice", "post", "--yes", "--json", "--title", "Other thing", "Something else.")
                time.sleep(4)  # Alice has built (the leaked incident still on it) and waits for her lock
                bob = start("bob", "withdraw", leaked["incident_id"], "--yes", "--reason", "wrong incident")
                time.sleep(2)  # Bob's withdrawal is stored and waits for the same lock
            alice.communicate(timeout=120)
            out, err = bob.communicate(timeout=120)
            assert bob.returncode == 0, out + err
        finally:
            store.close()

        assert not page.exists(), "an older build landed after the withdrawal: the withdrawn page is served again"
    finally:
        subprocess.run(["umount", str(tmp_path / "m2")], capture_output=True)


# -- finding 1, the git part: the branch names neither the store's id (the seal's key) nor its generation --------


def test_the_pages_commits_name_neither_the_store_nor_its_generation(remote: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.test_hosts_git import SITE, make_host, write_site
    from tests.test_hosts_git import publish as git_publish

    newer = replace(write_site(tmp_path / "new", {**SITE, "index.html": b"newer"}), store="store-secret-id",
                    generation=987654321)
    older = replace(write_site(tmp_path / "old", {**SITE, "index.html": b"older"}), store="store-secret-id",
                    generation=987654320)
    git_publish(make_host(remote, tmp_path), newer)

    receipt = git_publish(make_host(remote, tmp_path / "other-machine"), older)

    log = git("--git-dir", str(remote), "log", "--format=%B", "gh-pages")
    assert "store-secret-id" not in log and "987654321" not in log
    assert tree(remote, "gh-pages")["index.html"] == b"newer"
    assert "later state" in receipt.notes[0]  # type: ignore[attr-defined]


def test_a_commit_of_an_older_version_with_plain_trailers_still_counts(remote: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.test_hosts_git import SITE, make_host, write_site
    from tests.test_hosts_git import publish as git_publish

    work = tmp_path / "old-version"
    git("init", "-q", "-b", "gh-pages", str(work))
    (work / "index.html").write_text("from the old version")
    git("add", "-A", cwd=work)
    git("-c", "user.name=broadcaster", "-c", "user.email=b@localhost", "commit", "-q", "-m",
        "Publish status page (1 file changed)\n\nBroadcaster-Store: s1\nBroadcaster-Generation: 9\n", cwd=work)
    git("push", "-q", str(remote), "gh-pages", cwd=work)
    older = replace(write_site(tmp_path / "old", {**SITE, "index.html": b"older"}), store="s1", generation=8)

    receipt = git_publish(make_host(remote, tmp_path), older)

    assert tree(remote, "gh-pages")["index.html"] == b"from the old version"
    assert "later state" in receipt.notes[0]  # type: ignore[attr-defined]


def test_an_older_build_never_lands_after_a_later_one_that_changed_no_file(tmp_path: Path) -> None:
    """The gap the target's own record leaves: a build that changes no file (a staff-only update, a withdrawal of
    what the target already left out) writes nothing there, so the record stays older than the store's state, and
    a build from between them, waiting for the lock, landed after it. The store remembers how far each place got."""
    from broadcaster.site.source import publish as publish_taking_turns
    from broadcaster.store import SQLiteStore

    store = SQLiteStore(tmp_path / "state.db")
    host = directory_host(tmp_path / "www")
    site = {"index.html": b"<p>nothing open</p>"}
    try:
        asyncio.run(publish_taking_turns(store, host, built(tmp_path / "a", site, generation=10)))
        unchanged = asyncio.run(publish_taking_turns(store, host, built(tmp_path / "b", site, generation=12)))
        assert unchanged.notes == ("unchanged",)
        older = {**site, "incidents/withdrawn.html": b"<p>posted in error</p>"}
        kept = asyncio.run(publish_taking_turns(store, host, built(tmp_path / "c", older, generation=11)))
    finally:
        store.close()
    assert not (tmp_path / "www" / "incidents" / "withdrawn.html").exists()
    assert "kept" in kept.notes[0]

"""The git publish target, pushing to real repositories made by the test.

Remotes are bare repositories in tmp_path (the local transport: the real
fetch and push protocol) and, for HTTP failures, a fake smart-HTTP server on
loopback. Assertions read the remote repository, never our own state.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.errors import ConfigError, DeliveryError
from broadcaster.registry import load_host_class
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts.git import GitHost
from tests.conftest import Project
from tests.fakes.base import FakeServer, Request, Response

SITE = {
    "index.html": b"<!doctype html><title>Status</title>",
    "incidents/inc-1.html": b"<!doctype html><title>Incident 1</title>",
    "style.0123abcd.css": b"body { color: #111 }",
    "feed.xml": b"<rss/>",
    "summary.json": b"{}",
}


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def tree(remote: Path, branch: str) -> dict[str, bytes]:
    """Every file on ``branch`` of ``remote`` and its content."""
    names = git("--git-dir", str(remote), "ls-tree", "-r", "--name-only", branch).split()
    return {name: subprocess.run(["git", "--git-dir", str(remote), "show", f"{branch}:{name}"],
                                 capture_output=True, check=True).stdout for name in names}


def commits(remote: Path, branch: str) -> list[str]:
    return git("--git-dir", str(remote), "log", "--format=%H %cn <%ce> %s", branch).splitlines()


def write_site(root: Path, files: dict[str, bytes]) -> BuiltSite:
    """A finished build: the files on disk and their sha256, as the site builder reports them."""
    if root.exists():
        for old in [p for p in root.rglob("*") if p.is_file()]:
            old.unlink()
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return BuiltSite(root=root, hashes={p: hashlib.sha256(d).hexdigest() for p, d in files.items()})


def make_host(remote: object, base_dir: Path, branch: str = "gh-pages", **options: object) -> GitHost:
    return GitHost(ChannelConfig("pages", "git", options={"remote": remote, "branch": branch, **options}), base_dir)


def publish(host: GitHost, site: BuiltSite) -> object:
    return asyncio.run(host.publish(site))


def failure(host: GitHost, site: BuiltSite) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        publish(host, site)
    return caught.value


@pytest.fixture(autouse=True)
def no_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine where nobody ran `git config --global user.name`."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(path))
    return path


@pytest.fixture
def site(tmp_path: Path) -> BuiltSite:
    return write_site(tmp_path / "public", SITE)


def test_first_publish_creates_the_branch_holding_exactly_the_site(
    remote: Path, site: BuiltSite, tmp_path: Path
) -> None:
    receipt = publish(make_host(remote, tmp_path), site)

    assert tree(remote, "gh-pages") == SITE
    (only,) = commits(remote, "gh-pages")
    assert "broadcaster <broadcaster@localhost>" in only  # works without any git config
    assert receipt.remote_id == f"gh-pages@{only[:12]}"  # type: ignore[attr-defined]
    assert (tmp_path / ".broadcaster" / "git" / "pages" / ".git").is_dir()


def test_with_history_kept_a_changed_site_is_one_new_commit_and_removed_files_disappear(
    remote: Path, site: BuiltSite, tmp_path: Path
) -> None:
    host = make_host(remote, tmp_path, history="keep")
    publish(host, site)
    changed = {**SITE, "index.html": b"<!doctype html><title>Outage</title>"}
    del changed["incidents/inc-1.html"]

    publish(host, write_site(site.root, changed))

    assert tree(remote, "gh-pages") == changed
    history = commits(remote, "gh-pages")
    assert len(history) == 2
    changed_files = git("--git-dir", str(remote), "show", "--name-only", "--format=", "gh-pages").split()
    assert sorted(changed_files) == ["incidents/inc-1.html", "index.html"]


def test_an_unchanged_site_makes_no_commit(remote: Path, site: BuiltSite, tmp_path: Path) -> None:
    host = make_host(remote, tmp_path)
    publish(host, site)
    before = commits(remote, "gh-pages")

    receipt = publish(host, write_site(site.root, SITE))

    assert commits(remote, "gh-pages") == before
    assert receipt.notes == ("unchanged; nothing pushed",)  # type: ignore[attr-defined]


def test_path_puts_the_site_in_a_folder_and_keeps_the_rest_of_the_branch(
    remote: Path, site: BuiltSite, tmp_path: Path
) -> None:
    # Someone else's content on the branch: a README at the top, an old page in docs/.
    work = tmp_path / "someone"
    git("clone", "-q", str(remote), str(work))
    (work / "docs").mkdir()
    (work / "README.md").write_text("hand written\n")
    (work / "docs" / "old.html").write_text("stale\n")
    git("checkout", "-q", "-b", "pages", cwd=work)
    git("add", ".", cwd=work)
    git("-c", "user.name=someone", "-c", "user.email=s@example.com", "commit", "-q", "-m", "start", cwd=work)
    git("push", "-q", "origin", "pages", cwd=work)

    refused = failure(make_host(remote, tmp_path, branch="pages", path="docs/"), site)
    publish(make_host(remote, tmp_path, branch="pages", path="docs/", history="keep"), site)

    # Replacing the branch would drop README.md's history: refused unless history is kept.
    assert not refused.retryable and "README.md" in str(refused) and 'history = "keep"' in str(refused)
    expected = {"README.md": b"hand written\n", **{f"docs/{p}": d for p, d in SITE.items()}}
    assert tree(remote, "pages") == expected
    assert len(commits(remote, "pages")) == 2


@pytest.mark.parametrize("history", ["keep", "replace"])
def test_a_commit_pushed_by_someone_else_is_built_upon(
    remote: Path, site: BuiltSite, tmp_path: Path, history: str
) -> None:
    host = make_host(remote, tmp_path, history=history)
    publish(host, site)
    work = tmp_path / "someone"
    git("clone", "-q", "--branch", "gh-pages", str(remote), str(work))
    (work / "CNAME").write_text("status.example.com\n")
    git("add", "CNAME", cwd=work)
    git("-c", "user.name=someone", "-c", "user.email=s@example.com", "commit", "-q", "-m", "domain", cwd=work)
    git("push", "-q", "origin", "gh-pages", cwd=work)

    publish(host, write_site(site.root, {**SITE, "summary.json": b'{"v": 2}'}))

    files = tree(remote, "gh-pages")
    assert files["summary.json"] == b'{"v": 2}'
    assert files["CNAME"] == b"status.example.com\n"  # GitHub Pages' custom domain survives
    subjects = [c.split(" ", 1)[1].split("> ", 1)[1] for c in commits(remote, "gh-pages")]
    if history == "keep":
        assert subjects[1] == "domain"
    else:
        assert len(subjects) == 1  # the branch is one commit: the site as published now


def test_a_broken_cached_clone_is_replaced(remote: Path, site: BuiltSite, tmp_path: Path) -> None:
    host = make_host(remote, tmp_path)
    publish(host, site)
    cache = tmp_path / ".broadcaster" / "git" / "pages"
    subprocess.run(["rm", "-rf", str(cache / ".git")], check=True)
    (cache / "junk.txt").write_text("left over")

    publish(host, write_site(site.root, {**SITE, "feed.xml": b"<rss version='2.0'/>"}))

    assert tree(remote, "gh-pages") == {**SITE, "feed.xml": b"<rss version='2.0'/>"}


# -- errors --------------------------------------------------------------------------


def test_a_missing_repository_is_permanent(site: BuiltSite, tmp_path: Path) -> None:
    error = failure(make_host(tmp_path / "no-such.git", tmp_path), site)

    assert not error.retryable
    assert "not found" in str(error) and "publish.pages.remote" in str(error)


def test_a_push_the_remote_refuses_is_permanent(remote: Path, site: BuiltSite, tmp_path: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'GH006: Protected branch update failed' >&2\nexit 1\n")
    hook.chmod(0o755)

    error = failure(make_host(remote, tmp_path), site)

    assert not error.retryable
    assert "refused" in str(error) and "protected" in str(error)
    assert git("--git-dir", str(remote), "branch", "--list") == ""


@pytest.fixture
def http_remote() -> Iterator[FakeServer]:
    """A smart-HTTP git host on loopback that answers every request with ``status``."""
    server = FakeServer()
    server.status = 401  # type: ignore[attr-defined]

    def answer(request: Request, match: object) -> Response:
        status = server.status  # type: ignore[attr-defined]
        headers = {"WWW-Authenticate": 'Basic realm="git"'} if status == 401 else {}
        return Response(status, "no", headers=headers, content_type="text/plain")

    server.route("GET", r"/.*", answer)
    server.route("POST", r"/.*", answer)
    with server:
        yield server


@pytest.mark.parametrize(("status", "retry", "words"), [
    (401, False, "no working credentials"),
    (403, False, "may not read this repository"),
    (503, True, "Check the network"),
], ids=["401", "403", "503"])
def test_http_remote_errors_are_classified_and_never_show_the_token(
    http_remote: FakeServer, site: BuiltSite, tmp_path: Path, status: int, retry: bool, words: str
) -> None:
    http_remote.status = status  # type: ignore[attr-defined]
    token = "ghp_SecretToken0123456789"
    remote = Secret("PAGES_REMOTE", f"http://oauth:{token}@127.0.0.1:{http_remote.port}/acme/status.git")

    error = failure(make_host(remote, tmp_path), site)

    assert http_remote.received("/acme/status.git/info/refs"), "git never reached the fake host"
    assert error.retryable is retry, str(error)
    assert words in str(error)
    assert token not in str(error)
    assert f"http://***@127.0.0.1:{http_remote.port}/acme/status.git" in str(error)


def test_an_unreachable_host_is_retryable_and_redacted(site: BuiltSite, tmp_path: Path) -> None:
    from tests.ports import free_port

    remote = Secret("PAGES_REMOTE", f"http://bot:TopSecret123@127.0.0.1:{free_port()}/status.git")

    error = failure(make_host(remote, tmp_path), site)

    assert error.retryable
    assert "TopSecret123" not in str(error) and "cannot reach" in str(error)


# -- check and configuration ---------------------------------------------------------------


def test_check_reads_the_branch_without_writing(remote: Path, site: BuiltSite, tmp_path: Path) -> None:
    host = make_host(remote, tmp_path)
    (before,) = asyncio.run(host.check())
    publish(host, site)
    (after,) = asyncio.run(host.check())

    assert before.ok and "does not exist yet" in before.detail
    head = commits(remote, "gh-pages")[0][:12]
    assert after.ok and head in after.detail
    assert len(commits(remote, "gh-pages")) == 1


def test_check_reports_an_unreachable_repository(tmp_path: Path) -> None:
    (result,) = asyncio.run(make_host(tmp_path / "missing.git", tmp_path).check())

    assert not result.ok and "not found" in result.detail


@pytest.mark.parametrize(("options", "words"), [
    ({"branch": "-delete"}, "not a valid branch name"),
    ({"branch": "a..b"}, "not a valid branch name"),
    ({"path": "../outside"}, "folder inside the repository"),
    ({"path": "docs/.git"}, "folder inside the repository"),
], ids=["dash", "dots", "parent", "dot-git"])
def test_options_that_cannot_work_are_refused(tmp_path: Path, options: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_host(tmp_path / "r.git", tmp_path, **options)

    assert words in str(caught.value)


def test_config_loader_builds_a_git_target(tmp_path: Path) -> None:
    config = parse({"publish": {"pages": {"type": "git", "remote": "git@example.com:acme/status.git",
                                          "branch": "gh-pages", "path": "docs"}}}, tmp_path / "b.toml", {})

    host = load_host_class("git")(config.publish["pages"], tmp_path)

    assert isinstance(host, GitHost)
    assert (host.branch, host.path, host.cache) == ("gh-pages", "docs", tmp_path / ".broadcaster/git/pages")


def test_site_publish_from_the_cli_pushes_the_built_site(project: Project, remote: Path) -> None:
    """config -> destinations -> GitHost, through the real `broadcaster site publish`."""
    project.write_config(f'\n[publish.pages]\ntype = "git"\nremote = "{remote}"\nbranch = "gh-pages"\n')

    result = project.cli("site", "publish")

    assert result.exit_code == 0, result.output
    built = {p: d for p, d in
             ((p.relative_to(project.site).as_posix(), p.read_bytes()) for p in project.site.rglob("*") if p.is_file())
             if not p.startswith(".")}
    assert tree(remote, "gh-pages") == built
    assert (project.root / ".broadcaster" / "git" / "pages" / ".git").is_dir()


def test_a_changed_customer_token_leaves_nothing_of_the_old_page_on_the_branch(remote: Path, tmp_path: Path) -> None:
    """history = "replace": the old a/<token>/ is gone from the branch and from its (one-commit) history."""
    old, new = "a/old-token-0123456789abcdef/index.html", "a/new-token-fedcba9876543210/index.html"
    host = make_host(remote, tmp_path)
    publish(host, write_site(tmp_path / "public", {**SITE, old: b"<p>acme</p>"}))
    assert tree(remote, "gh-pages")[old] == b"<p>acme</p>"
    publish(host, write_site(tmp_path / "public", {**SITE, new: b"<p>acme</p>"}))
    assert tree(remote, "gh-pages") == {**SITE, new: b"<p>acme</p>"}
    assert len(commits(remote, "gh-pages")) == 1
    history = git("--git-dir", str(remote), "log", "--all", "--name-only", "--format=", "gh-pages")
    assert "old-token" not in history


def test_a_publish_waiting_for_the_clone_another_command_holds_stops_when_cancelled(
    remote: Path, site: BuiltSite, tmp_path: Path
) -> None:
    """A review's finding for the site lock held here too: the clone's lock was waited for with a blocking
    flock in a worker thread, which neither a cancel (the deadline, Ctrl-C) nor asyncio.run's exit could end."""
    host = make_host(str(remote), tmp_path)
    publish(host, site)  # the clone and its lock file exist
    holder = os.open(host.cache.parent / f".{host.name}.lock", os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another command publishing to the same target
    threading.Timer(6.0, os.close, (holder,)).start()  # let go in the end, whatever happens

    async def cut_short() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(host.publish(site), timeout=0.5)

    started = time.monotonic()
    asyncio.run(cut_short())
    assert time.monotonic() - started < 3.0  # not until the other command lets go

"""The git host under attack and in the hands of a careless operator (issue 13 items 5 to 8).

Real bare repositories in tmp_path and the CLI; assertions read the remote, the
disk and what crossed the wire.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.config import Secret
from tests.conftest import Project
from tests.fakes.base import FakeServer, Request, Response
from tests.test_hosts_git import SITE, commits, failure, git, make_host, publish, tree, write_site


@pytest.fixture(autouse=True)
def no_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(path))
    return path


def pages_config(project: Project, remote: str, extra: str = "") -> None:
    project.write_config(f'\n[publish.pages]\ntype = "git"\nremote = "{remote}"\nbranch = "gh-pages"\n{extra}')


def push_branch(remote: Path, tmp_path: Path, files: dict[str, bytes], links: dict[str, str]) -> None:
    """Someone with push access puts files and symbolic links on gh-pages."""
    work = tmp_path / "attacker"
    git("init", "-q", "-b", "gh-pages", str(work))
    for name, data in files.items():
        (work / name).write_bytes(data)
    for name, target in links.items():
        os.symlink(target, work / name)
    git("add", "-A", cwd=work)
    git("-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "-q", "-m", "links", cwd=work)
    git("push", "-q", str(remote), "gh-pages", cwd=work)


# -- links in the branch ----------------------------------------------------------------------


def test_a_branch_holding_a_link_is_refused_and_nothing_outside_the_clone_is_written(
    project: Project, remote: Path, tmp_path: Path
) -> None:
    bashrc = tmp_path / "home" / ".bashrc"
    bashrc.write_text("# the operator's shell\n")
    push_branch(remote, tmp_path, {"CNAME": b"status.example.com\n"},
                {"index.html": str(bashrc), "incidents": str(tmp_path / "home")})
    pages_config(project, str(remote))

    result = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors.")

    assert result.exit_code == 3
    assert bashrc.read_text() == "# the operator's shell\n"
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == [".bashrc"]
    assert "holds symbolic links (incidents, index.html)" in result.stdout
    assert "attacker" not in "".join(c for c in commits(remote, "gh-pages"))
    assert len(commits(remote, "gh-pages")) == 1  # the attacker's commit, untouched


# -- remotes that are not a repository -----------------------------------------------------------


@pytest.mark.parametrize("remote_value", [
    "--upload-pack=touch PWNED;false",
    "-uPWNED",
    "ext::sh -c touch% PWNED",
    "https://user:ghp_written_in_the_file@github.com/acme/status.git",
    "https://ghp_written_in_the_file@github.com/acme/status.git",
    "ftp://example.com/repo.git",
    "host:port:path with spaces",
], ids=["upload-pack", "short-option", "ext-transport", "credential", "token-as-user", "ftp", "spaces"])
def test_a_remote_that_is_not_a_repository_is_refused_at_config_load(project: Project, remote_value: str) -> None:
    pages_config(project, remote_value)

    check = project.cli("channels", "check")
    posted = project.cli("post", "--yes", "--title", "API errors", "Elevated errors.")

    for result in (check, posted):
        assert result.exit_code == 2, result.output
        assert "publish.pages.remote" in result.output
        assert "ghp_written_in_the_file" not in result.output
    assert not list(project.root.rglob("PWNED")) and not Path("PWNED").exists()
    assert not (project.root / ".broadcaster" / "git").exists()


@pytest.mark.parametrize("remote_value", [
    "https://github.com/acme/status.git", "ssh://git@github.com:22/acme/status.git", "git@github.com:acme/status.git",
    "github.com:acme/status.git", "/srv/git/status.git", "../status.git", "file:///srv/git/status.git",
    "${PAGES_REMOTE}",
], ids=["https", "ssh", "scp-user", "scp", "absolute", "relative", "file", "from-env"])
def test_a_repository_url_or_path_is_accepted(tmp_path: Path, remote_value: str) -> None:
    from broadcaster.config_loader import parse

    table = {"type": "git", "remote": remote_value, "branch": "gh-pages"}
    config = parse({"publish": {"pages": table}}, tmp_path / "broadcaster.toml", {"PAGES_REMOTE": "https://x/y.git"})
    assert config.publish["pages"].options["branch"] == "gh-pages"


@pytest.mark.parametrize(("remote_value", "words"), [
    ("--upload-pack=touch PWNED;false", "without spaces"),
    ("--upload-pack=PWNED", "cannot begin with '-'"),
    ("ext::PWNED", "remote helper"),
], ids=["upload-pack", "dash", "ext"])
def test_a_remote_from_the_environment_is_checked_before_git_runs(
    project: Project, remote_value: str, words: str
) -> None:
    pages_config(project, "${PAGES_REMOTE}")
    env = {"PAGES_REMOTE": remote_value}

    check = project.cli("channels", "check", env=env)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors.", env=env)

    assert check.exit_code == 3 and words in " ".join(check.output.split())
    assert posted.exit_code == 3 and words in posted.output
    assert not list(project.root.rglob("PWNED")) and not Path("PWNED").exists()


# -- credentials never on disk ------------------------------------------------------------------


@pytest.fixture
def http_remote() -> Iterator[FakeServer]:
    """A smart-HTTP git host on loopback that asks for credentials and records what it got."""
    server = FakeServer()

    def answer(request: Request, match: object) -> Response:
        return Response(401, "no", headers={"WWW-Authenticate": 'Basic realm="git"'}, content_type="text/plain")

    server.route("GET", r"/.*", answer)
    server.route("POST", r"/.*", answer)
    with server:
        yield server


def test_a_token_from_the_environment_reaches_git_through_a_helper_and_never_the_disk(
    http_remote: FakeServer, tmp_path: Path
) -> None:
    token = "ghp_FromTheEnvironment0123456789"
    url = f"http://oauth2:{token}@127.0.0.1:{http_remote.port}/acme/status.git"
    host = make_host(Secret("PAGES_REMOTE", url), tmp_path)

    error = failure(host, write_site(tmp_path / "public", SITE))
    (checked,) = asyncio.run(host.check())

    sent = [r.headers.get("authorization", "") for r in http_remote.received("/acme/status.git")]
    expected = "Basic " + base64.b64encode(f"oauth2:{token}".encode()).decode()
    assert expected in sent, sent  # git got the credentials from our helper
    cache = tmp_path / ".broadcaster" / "git" / "pages"
    on_disk = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert token.encode() not in on_disk and b"oauth2" not in on_disk
    assert token not in str(error) and token not in checked.detail
    assert (cache / ".git" / "config").stat().st_mode & 0o777 == 0o600
    assert cache.stat().st_mode & 0o777 == 0o700 and cache.parent.stat().st_mode & 0o777 == 0o700


def test_the_token_goes_to_the_remotes_host_only_not_to_where_it_redirects(
    http_remote: FakeServer, tmp_path: Path
) -> None:
    """Found by a review: the helper answered for any host, so a remote redirecting elsewhere (git follows
    the first request's redirect) had that host handed the token. Plain git would not."""
    token = "ghp_SecretToken0123456789"
    origin = FakeServer()

    def elsewhere(request: Request, match: object) -> Response:
        # The same service elsewhere: git takes the new base from a location that ends as its request did.
        location = f"http://localhost:{http_remote.port}/x.git/info/refs?service=git-upload-pack"
        return Response(302, "", headers={"Location": location}, content_type="text/plain")

    origin.route("GET", r"/.*", elsewhere)
    with origin:
        url = f"http://oauth:{token}@127.0.0.1:{origin.port}/acme/status.git"
        error = failure(make_host(Secret("PAGES_REMOTE", url), tmp_path), write_site(tmp_path / "public", SITE))
    assert http_remote.received(), "the redirect was not followed: the test shows nothing"
    assert [r.headers.get("authorization") for r in http_remote.received()] == [None] * len(http_remote.received())
    assert token not in str(error)


def test_an_old_clone_with_credentials_in_its_config_is_cleaned(remote: Path, tmp_path: Path) -> None:
    cache = tmp_path / ".broadcaster" / "git" / "pages"
    cache.mkdir(parents=True)
    git("init", "-q", cwd=cache)
    git("config", "remote.origin.url", "https://oauth2:ghp_OldToken@example.com/x.git", cwd=cache)

    publish(make_host(remote, tmp_path), write_site(tmp_path / "public", SITE))

    assert b"ghp_OldToken" not in (cache / ".git" / "config").read_bytes()


# -- history ------------------------------------------------------------------------------------


def git_log_p(remote: Path) -> str:
    return subprocess.run(["git", "--git-dir", str(remote), "log", "-p", "gh-pages"],
                          capture_output=True, text=True, check=True).stdout


def test_after_amend_nothing_of_the_old_text_is_in_the_branch(project: Project, remote: Path) -> None:
    pages_config(project, str(remote))
    first = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors on the ORIGINALTEXT cluster.")
    assert first.exit_code == 0, first.output
    incident_id = first.stdout.split('"incident_id": "', 1)[1].split('"', 1)[0]
    assert project.cli("post", "--yes", "-i", incident_id, "-s", "identified", "Cause found.").exit_code == 0

    amended = project.cli("amend", "--yes", incident_id, "1", "Elevated errors on one cluster.")

    assert amended.exit_code == 0, amended.output
    log = git_log_p(remote)
    assert "ORIGINALTEXT" not in log
    assert "Elevated errors on one cluster." in log
    assert len(commits(remote, "gh-pages")) == 1


def test_with_history_kept_the_old_text_stays_as_documented(project: Project, remote: Path) -> None:
    pages_config(project, str(remote), 'history = "keep"\n')
    first = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the ORIGINALTEXT cluster.")
    incident_id = first.stdout.split('"incident_id": "', 1)[1].split('"', 1)[0]

    assert project.cli("amend", "--yes", incident_id, "1", "Errors on one cluster.").exit_code == 0

    assert "ORIGINALTEXT" in git_log_p(remote) and len(commits(remote, "gh-pages")) == 2


def test_a_site_built_from_a_later_state_of_the_store_is_never_replaced(remote: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    host = make_host(remote, tmp_path)
    newer = replace(write_site(tmp_path / "new", {**SITE, "index.html": b"newer"}), store="s1", generation=7)
    older = replace(write_site(tmp_path / "old", {**SITE, "index.html": b"older"}), store="s1", generation=5)

    publish(host, newer)
    receipt = publish(make_host(remote, tmp_path / "other-machine"), older)

    assert tree(remote, "gh-pages")["index.html"] == b"newer"
    assert "later state of the store" in receipt.notes[0]  # type: ignore[attr-defined]


def test_history_must_be_replace_or_keep(project: Project, remote: Path) -> None:
    pages_config(project, str(remote), 'history = "forever"\n')

    result = project.cli("channels", "check")

    assert result.exit_code == 2 and "publish.pages.history" in result.output


# -- a branch that holds something else -------------------------------------------------------------


def test_a_branch_holding_a_project_is_refused_and_left_as_it_was(remote: Path, tmp_path: Path) -> None:
    """Found by a review: publishing to a project's main (no path) force-pushed one commit of the site
    over it, dropping its files and its whole history."""
    push_branch(remote, tmp_path, {"README.md": b"our product\n", "app.py": b"print('the product')\n"}, {})
    before = (commits(remote, "gh-pages"), tree(remote, "gh-pages"))
    for history in ("replace", "keep"):
        error = failure(make_host(remote, tmp_path / history, history=history), write_site(tmp_path / "public", SITE))
        assert "did not publish" in str(error) and "Nothing was pushed" in str(error) and not error.retryable
    assert (commits(remote, "gh-pages"), tree(remote, "gh-pages")) == before


def test_a_hosts_own_commit_on_top_of_the_site_and_a_branch_of_a_cname_alone_are_published_to(
    remote: Path, tmp_path: Path
) -> None:
    site = {**SITE, "api/v2/summary.json": b"{}"}  # in every site broadcaster builds
    publish(make_host(remote, tmp_path), write_site(tmp_path / "public", site))
    work = tmp_path / "github"
    git("clone", "-q", "-b", "gh-pages", str(remote), str(work))
    (work / "CNAME").write_text("status.example.com\n")  # GitHub's "Create CNAME", from the Pages settings
    git("add", "CNAME", cwd=work)
    git("-c", "user.name=gh", "-c", "user.email=gh@example.com", "commit", "-q", "-m", "Create CNAME", cwd=work)
    git("push", "-q", "origin", "gh-pages", cwd=work)
    publish(make_host(remote, tmp_path), write_site(tmp_path / "public", {**site, "feed.xml": b"<rss>2</rss>"}))
    assert tree(remote, "gh-pages")["CNAME"] == b"status.example.com\n" and tree(remote, "gh-pages")["feed.xml"] == b"<rss>2</rss>"

    other = tmp_path / "other.git"
    git("init", "-q", "--bare", str(other))
    push_branch(other, tmp_path / "cname-only", {"CNAME": b"status.example.com\n"}, {})
    publish(make_host(other, tmp_path / "second"), write_site(tmp_path / "public", SITE))
    assert set(tree(other, "gh-pages")) == {*SITE, "CNAME"}


def test_a_site_an_older_version_published_is_published_over(remote: Path, tmp_path: Path) -> None:
    """Found by the second fix review: commits before 2026-12-02 carried the subject alone, no trailers."""
    work = tmp_path / "older"
    git("init", "-q", "-b", "gh-pages", str(work))
    for name, data in SITE.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    git("add", "-A", cwd=work)
    git("-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-q", "-m", "Publish status page (5 files changed)",
        cwd=work)
    git("push", "-q", str(remote), "gh-pages", cwd=work)
    publish(make_host(remote, tmp_path), write_site(tmp_path / "public", {**SITE, "feed.xml": b"<rss>2</rss>"}))
    assert tree(remote, "gh-pages")["feed.xml"] == b"<rss>2</rss>"


@pytest.mark.parametrize("remote_url", ["https://oauth:tok-4711@my_host.example/a.git",  # a compose service's name
                                        "https://oauth:tok-4711@GitHub.COM:8443/acme/status.git"])
def test_the_credential_helper_answers_for_the_remotes_host_alone(tmp_path: Path, remote_url: str) -> None:
    """Found by the second fix review: a helper scoped by git's URL matching missed hosts with "_"."""
    clean, env = make_host(Secret("PAGES_REMOTE", remote_url), tmp_path)._location()

    def fill(url: str) -> str:
        asked = subprocess.run(["git", "credential", "fill"], input=f"url={url}\n\n", text=True, capture_output=True,
                               env={**os.environ, **env, "GIT_TERMINAL_PROMPT": "0"})
        return asked.stdout

    assert "password=tok-4711" in fill(clean)
    assert "tok-4711" not in fill(clean.replace("https://", "http://")) and "tok-4711" not in fill("https://elsewhere.example/a.git")


def test_a_commit_only_titled_like_an_older_versions_is_not_taken_for_one(remote: Path, tmp_path: Path) -> None:
    """Found by the third fix review: any message beginning "Publish status page (" counted as broadcaster's."""
    work = tmp_path / "draft"
    git("init", "-q", "-b", "gh-pages", str(work))
    (work / "src.py").write_text("print('the product')\n")
    git("add", "-A", cwd=work)
    git("-c", "user.name=d", "-c", "user.email=d@example.com", "commit", "-q", "-m",
        "Publish status page (hand-made draft)\n\nwork in progress", cwd=work)
    git("push", "-q", str(remote), "gh-pages", cwd=work)
    error = failure(make_host(remote, tmp_path), write_site(tmp_path / "public", SITE))
    assert "did not publish" in str(error) and tree(remote, "gh-pages") == {"src.py": b"print('the product')\n"}
    # Review 42b: the branch of its own it advised was the very one that holds the draft.
    assert "e.g. gh-pages" not in str(error) and "e.g. status-page" in str(error), str(error)


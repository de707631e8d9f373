"""Fix 21f: the git publish target never works in a repository but its own clone, gets past what a killed git
leaves there, and tells a refused forced push from a race.

Real bare repositories in tmp_path and the real CLI, as in tests/test_hosts_git_safety.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from broadcaster.errors import ConfigError
from tests.conftest import Project
from tests.test_hosts_git import SITE, failure, git, make_host, publish, tree, write_site
from tests.test_hosts_git_safety import no_git_config, pages_config, remote  # noqa: F401


def post(project: Project, title: str = "API errors") -> str:
    posted = project.cli("post", "--yes", "--json", "--title", title, "Elevated errors on the API.")
    assert posted.exit_code == 0, posted.output
    return str(json.loads(posted.stdout)["incident_id"])


def withdraw(project: Project, incident: str) -> str:
    withdrawn = project.cli("withdraw", "--yes", incident, "--reason", "posted on the wrong page")
    return withdrawn.output


def clone(project: Project) -> Path:
    return project.root / ".broadcaster" / "git" / "pages"


# -- 1. a clone git does not accept ---------------------------------------------------------------


def ops_repository(project: Project) -> None:
    """The folder holding broadcaster.toml is itself a git repository (an ops repo), as configs often are."""
    for args in (["init", "-q"], ["config", "remote.origin.url", "git@git.example.com:acme/ops.git"],
                 ["config", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"]):
        subprocess.run(["git", *args], cwd=project.root, check=True)


def ops_state(project: Project) -> tuple[str, str, str]:
    def run(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True).stdout.strip()
    return run("config", "--get", "remote.origin.url"), run("for-each-ref"), run("count-objects")


def damage(dot_git: Path, how: str) -> None:
    if how == "HEAD missing":
        (dot_git / "HEAD").unlink()
    elif how == "empty .git":  # a `git init` killed at its start
        shutil.rmtree(dot_git)
        dot_git.mkdir()
    else:
        shutil.rmtree(dot_git / "objects")


@pytest.mark.parametrize("how", ["HEAD missing", "empty .git", "objects missing"])
def test_a_clone_git_does_not_accept_is_made_again_and_the_operators_repository_is_left_alone(
    project: Project, remote: Path, how: str  # noqa: F811
) -> None:
    ops_repository(project)
    pages_config(project, str(remote))
    post(project)
    before = ops_state(project)
    damage(clone(project) / ".git", how)

    again = project.cli("post", "--yes", "--json", "--title", "Database errors", "Elevated errors on the database.")

    assert ops_state(project) == before, "git worked in the operator's own repository:\n" + again.output
    assert again.exit_code == 0, again.output
    assert f"incidents/{json.loads(again.stdout)['incident_id']}.html" in tree(remote, "gh-pages")
    git("--git-dir", str(clone(project) / ".git"), "rev-parse", "--verify", "refs/remotes/origin/gh-pages")


# -- 2. what a killed git leaves in the clone --------------------------------------------------------


def kill_an_update_index(cache: Path) -> None:
    """A publish killed while git wrote its index (SIGKILL: a CI job stopped, the OOM killer, local_timeout)."""
    env = {**os.environ, "GIT_INDEX_FILE": str(cache / ".git" / "broadcaster-index")}
    child = subprocess.Popen(["git", "update-index", "-z", "--index-info"], cwd=cache, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = cache / ".git" / "broadcaster-index.lock"
    for _ in range(500):
        if lock.exists():
            break
        time.sleep(0.01)
    child.kill()
    child.communicate()
    assert lock.exists(), "git did not leave its lock: the test shows nothing"


def leave_a_shallow_lock(cache: Path) -> None:
    """A fetch killed by the network timeout leaves shallow.lock."""
    (cache / ".git" / "shallow.lock").write_text("")


@pytest.mark.parametrize("kill", [kill_an_update_index, leave_a_shallow_lock], ids=["index.lock", "shallow.lock"])
def test_a_withdrawal_reaches_the_branch_past_the_lock_files_a_killed_git_left_in_the_clone(
    project: Project, remote: Path, kill: object  # noqa: F811
) -> None:
    pages_config(project, str(remote))
    incident = post(project)
    assert f"incidents/{incident}.html" in tree(remote, "gh-pages")
    kill(clone(project))  # type: ignore[operator]

    output = withdraw(project, incident)

    assert "unexpected error" not in output and "failed" not in output, output
    assert f"incidents/{incident}.html" not in tree(remote, "gh-pages"), output
    assert not [p for p in (clone(project) / ".git").rglob("*.lock")]


def test_a_git_failure_in_the_clone_names_what_git_said_and_what_to_do(
    project: Project, remote: Path  # noqa: F811
) -> None:
    """Not a lock file git left, so not removed: a folder in its place; git's own message names the file."""
    pages_config(project, str(remote))
    incident = post(project)
    (clone(project) / ".git" / "broadcaster-index.lock").mkdir()

    said = " ".join(withdraw(project, incident).split())

    assert "unexpected error" not in said and "_GitFailed" not in said, said
    assert "broadcaster-index.lock': File exists" in said, said
    assert "Delete that folder" in said and str(clone(project)) in said, said

    shutil.rmtree(clone(project))  # as told
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    assert f"incidents/{incident}.html" not in tree(remote, "gh-pages")


# -- 3. a repository that refuses forced pushes -------------------------------------------------------


def test_a_repository_refusing_forced_pushes_is_a_permanent_error_that_says_so(project: Project, tmp_path: Path) -> None:
    shared = tmp_path / "shared.git"
    git("init", "-q", "--bare", "--shared=group", str(shared))  # receive.denyNonFastForwards = true
    project.write_config(f'\n[publish.pages]\ntype = "git"\nremote = "{shared}"\nbranch = "gh-pages"\n'
                         "\n[engine]\nmax_attempts = 3\n")
    incident = post(project)

    said = " ".join(withdraw(project, incident).split())

    assert "someone else pushed" not in said, said
    assert "refuses forced pushes to gh-pages" in said and "receive.denyNonFastForwards false" in said, said
    assert f"incidents/{incident}.html" in tree(shared, "gh-pages")  # why the operator must be told

    error = failure(make_host(shared, tmp_path / "host"), write_site(tmp_path / "site", SITE))
    assert not error.retryable, str(error)

    git("--git-dir", str(shared), "config", "receive.denyNonFastForwards", "false")  # as told
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    assert f"incidents/{incident}.html" not in tree(shared, "gh-pages")


# -- 4. GIT_* variables that would send the site elsewhere ---------------------------------------------


def test_a_git_namespace_in_the_environment_does_not_send_the_site_elsewhere(
    project: Project, remote: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    pages_config(project, str(remote))
    incident = post(project)

    monkeypatch.setenv("GIT_NAMESPACE", "elsewhere")
    output = withdraw(project, incident)
    monkeypatch.delenv("GIT_NAMESPACE")

    assert f"incidents/{incident}.html" not in tree(remote, "gh-pages"), output
    assert "refs/namespaces" not in git("--git-dir", str(remote), "for-each-ref")


# -- 6. a path with a space -----------------------------------------------------------------------------


def test_a_repository_path_with_a_space_is_published_to_and_urls_with_one_are_still_refused(
    project: Project, tmp_path: Path
) -> None:
    from broadcaster.config_loader import parse

    spaced = tmp_path / "Status Pages" / "site.git"
    spaced.parent.mkdir()
    git("init", "-q", "--bare", str(spaced))
    pages_config(project, str(spaced))

    post(project)

    assert "index.html" in tree(spaced, "gh-pages")
    git("init", "-q", "--bare", str(tmp_path / "home" / "Status Page.git"))  # HOME: tmp_path/home (no_git_config)
    publish(make_host("~/Status Page.git", tmp_path / "host"), write_site(tmp_path / "site", SITE))
    assert "index.html" in tree(tmp_path / "home" / "Status Page.git", "gh-pages")
    for value, words in [("--upload-pack=touch PWNED;false", "only a path may hold"),
                         ("https://git.example.com/Status Page.git", "%20"), ("git.example.com:Status Page.git",
                                                                              "only a path may hold"),
                         ("/srv/status\t.git", "tabs"), (" /srv/status.git", "around it")]:
        with pytest.raises(ConfigError) as refused:
            parse({"publish": {"pages": {"type": "git", "remote": value, "branch": "gh-pages"}}},
                  tmp_path / "broadcaster.toml", {})
        assert words in str(refused.value), (value, str(refused.value))

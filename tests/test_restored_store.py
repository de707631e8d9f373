"""A state file restored from a backup, or a stale copy of one, at every kind of place.

Each place remembers how far the store had got when it was last published (a sealed generation), and keeps
a site built from a later state over an older build: two machines of one store may finish out of order.
After a restore the store itself is behind what it published: every post (and every withdrawal) was kept
off the place, reported as sent ("kept: ... a later state of the store"), until the count caught up. A
build of the store's latest state can never be the older of two builds of the same store, but only the
operator can tell a restore from a stale copy (whose build would put withdrawn incidents back up): the
publish is refused, loudly, until `site publish --replace-later` says this store is the one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.s3 import S3Server
from tests.test_hosts_git import git
from tests.test_hosts_review16 import no_git_config  # noqa: F401
from tests.test_s3_foreign_files import BUCKET, s3  # noqa: F401
from tests.test_store_review17 import other_project


@dataclass
class Place:
    toml: str
    read: Callable[[str], str | None]  # a file the place serves, None if it serves none


def _directory(project: Project) -> Place:
    served = project.root / "served"

    def read(path: str) -> str | None:
        return (served / path).read_text() if (served / path).is_file() else None

    return Place(f'[publish.www]\ntype = "directory"\npath = "{served}"\n', read)


def _git(project: Project) -> Place:
    remote = project.root / "remote.git"
    git("init", "-q", "--bare", str(remote))

    def read(path: str) -> str | None:
        try:
            return git("--git-dir", str(remote), "show", f"gh-pages:{path}")
        except Exception:  # noqa: BLE001 - git's "does not exist" as None
            return None

    return Place(f'[publish.pages]\ntype = "git"\nremote = "{remote}"\nbranch = "gh-pages"\n', read)


@pytest.fixture(params=["directory", "git", "s3"])
def place(request: pytest.FixtureRequest, project: Project) -> Iterator[Place]:
    if request.param == "directory":
        yield _directory(project)
    elif request.param == "git":
        request.getfixturevalue("no_git_config")
        yield _git(project)
    else:
        server: S3Server = request.getfixturevalue("s3")
        keys = {o for o in server.objects(BUCKET)}

        def read(path: str) -> str | None:
            return server.body(BUCKET, path).decode() if path in server.objects(BUCKET) else None

        assert keys == set()
        yield Place(server.publish_toml(BUCKET), read)


def post(project: Project, title: str) -> dict[str, object]:
    result = project.cli("post", "--yes", "--json", "--title", title, f"{title}: investigating.")
    assert result.exit_code == 0, result.output
    said: dict[str, object] = json.loads(result.stdout)
    return said


def copy_store(source: Path, target: Path) -> None:
    """What a backup tool does: a consistent copy of the whole database (WAL included)."""
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def back_up(project: Project) -> None:
    """A backup of the project's state file as it is now (``restore`` puts it back)."""
    copy_store(next(project.root.glob(".broadcaster/state.db")), project.root / "backup.db")


def restore(project: Project) -> None:
    copy_store(project.root / "backup.db", next(project.root.glob(".broadcaster/state.db")))


def laptop_copy(project: Project) -> Project:
    """Another machine: the same config, and a copy of the state file as it is now."""
    laptop = other_project(project.root, "laptop", project)
    (laptop.root / ".broadcaster").mkdir(mode=0o700)
    copy_store(next(project.root.glob(".broadcaster/state.db")), laptop.root / ".broadcaster" / "state.db")
    return laptop


def notes(said: dict[str, object]) -> str:
    return json.dumps(said["deliveries"])


def test_a_post_after_a_restore_is_refused_at_the_place_until_the_operator_says_replace(
        project: Project, place: Place) -> None:
    project.write_config(place.toml)
    post(project, "Alpha outage")
    back_up(project)
    post(project, "Bravo outage")
    lost = post(project, "Charlie outage")  # stored after the backup: lost with the machine
    assert "Charlie outage" in (place.read("index.html") or "")

    restore(project)
    result = project.cli("post", "--yes", "--json", "--title", "Delta outage", "Delta outage: investigating.")
    assert result.exit_code == 3, result.output  # not "sent" while the page shows something else
    said = json.loads(result.stdout)
    [refused] = [d for d in said["deliveries"] if d["destination"] not in ("site",) and d["state"] != "sent"]
    assert "--replace-later" in refused["error"] and "restored from a backup" in refused["error"]
    assert "Charlie outage" in (place.read("index.html") or "")  # nothing replaced without the operator's word

    published = project.cli("site", "publish", "--replace-later")
    assert published.exit_code == 0, published.output
    index = place.read("index.html") or ""
    assert "Delta outage" in index and "Alpha outage" in index
    assert "Charlie outage" not in index  # the page shows what the store holds
    assert place.read(f"incidents/{lost['incident_id']}.html") is None


def test_a_stale_copy_never_puts_a_withdrawn_incident_back_up(project: Project, place: Place) -> None:
    """A copy behind the store that published the place (a copy that has posted more than the store since it was
    made is not told apart: the generation is a count)."""
    project.write_config(place.toml)
    mistake = post(project, "Wrong customer named")
    laptop = laptop_copy(project)
    withdrawn = project.cli("withdraw", "--yes", str(mistake["incident_id"]))
    assert withdrawn.exit_code == 0, withdrawn.output
    for n in range(3):  # the real store moves on: the copy is well behind it
        post(project, f"Later outage {n}")
    assert "Wrong customer named" not in (place.read("index.html") or "")

    from_the_copy = laptop.cli("post", "--yes", "--title", "Other", "x.")
    assert from_the_copy.exit_code == 3, from_the_copy.output
    assert "--replace-later" in from_the_copy.output
    assert "Wrong customer named" not in (place.read("index.html") or "")
    assert place.read(f"incidents/{mistake['incident_id']}.html") is None


def test_a_withdrawal_after_a_restore_takes_the_incident_down_once_replaced(project: Project, place: Place) -> None:
    project.write_config(place.toml)
    mistake = post(project, "Wrong customer named")
    back_up(project)
    post(project, "Bravo outage")
    restore(project)
    project.cli("withdraw", "--yes", str(mistake["incident_id"]))
    assert project.cli("site", "publish", "--replace-later").exit_code == 0
    assert "Wrong customer named" not in (place.read("index.html") or "")
    assert place.read(f"incidents/{mistake['incident_id']}.html") is None


def test_a_stale_copy_level_with_the_store_never_puts_a_withdrawn_incident_back_up(project: Project, place: Place) -> None:
    project.write_config(place.toml)
    mistake = post(project, "Wrong customer named")
    laptop = laptop_copy(project)
    withdrawn = project.cli("withdraw", "--yes", str(mistake["incident_id"]))
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "Wrong customer named" not in (place.read("index.html") or "")

    from_the_copy = laptop.cli("post", "--yes", "--title", "Other", "x.")
    assert from_the_copy.exit_code == 3 and "--replace-later" in from_the_copy.output, from_the_copy.output
    assert "Wrong customer named" not in (place.read("index.html") or "")
    assert place.read(f"incidents/{mistake['incident_id']}.html") is None


def test_a_restore_one_post_behind_is_refused_not_replaced_silently(project: Project, place: Place) -> None:
    """The store restored from a backup taken one post before the place's build: the next post's build has the same
    count as the place's, is not "restored over" (strict >), and replaces it with no word: Bravo leaves the page."""
    project.write_config(place.toml)
    post(project, "Alpha outage")
    back_up(project)
    post(project, "Bravo outage")
    assert "Bravo outage" in (place.read("index.html") or "")
    restore(project)
    result = project.cli("post", "--yes", "--title", "Delta outage", "Delta outage: investigating.")
    assert "Bravo outage" in (place.read("index.html") or ""), result.output  # not replaced without --replace-later
    assert result.exit_code == 3 and "--replace-later" in result.output, result.output


def test_a_refused_restored_publish_is_not_sent_to_retry(project: Project, place: Place) -> None:
    """After a restore, `post` says "resend with `broadcaster retry ...`" though a retry is refused the same way
    (and `retry` itself says the same again): only `site publish --replace-later` (or the other store) helps."""
    project.write_config(place.toml)
    post(project, "Alpha outage")
    back_up(project)
    post(project, "Bravo outage")
    post(project, "Charlie outage")
    restore(project)
    result = project.cli("post", "--yes", "--title", "Delta outage", "Delta outage: investigating.")
    assert result.exit_code == 3, result.output
    assert "--replace-later" in result.output
    again = project.cli("retry")
    assert again.exit_code == 3, again.output
    for said in (result.output, again.output):
        assert "resend with `broadcaster retry" not in said, said


def test_a_stale_copy_posting_twice_never_puts_a_withdrawn_incident_back_up(project: Project, place: Place) -> None:
    """Found by review 17i (fixed): the first post from the stale copy is refused, but its note_published (before the upload) records the refused
    build's generation as reached: the copy's next post finds the place no further along than it "reached" and
    replaces it silently: the withdrawn incident is back on the public page."""
    project.write_config(place.toml)
    mistake = post(project, "Wrong customer named")
    laptop = laptop_copy(project)
    assert project.cli("withdraw", "--yes", str(mistake["incident_id"])).exit_code == 0
    assert "Wrong customer named" not in (place.read("index.html") or "")

    first = laptop.cli("post", "--yes", "--title", "Other", "x.")
    assert first.exit_code == 3 and "--replace-later" in first.output, first.output
    second = laptop.cli("post", "--yes", "--title", "Other again", "y.")
    assert "Wrong customer named" not in (place.read("index.html") or ""), second.output
    assert place.read(f"incidents/{mistake['incident_id']}.html") is None
    assert second.exit_code == 3 and "--replace-later" in second.output, second.output


def test_a_restore_is_refused_on_every_post_until_replace_later(
        project: Project, place: Place) -> None:
    """Found by review 17i (fixed): restored one post behind the place: the first post is refused (level count, reached behind), the second one
    replaces the place's build with no --replace-later: Bravo (stored after the backup) leaves the page unannounced."""
    project.write_config(place.toml)
    post(project, "Alpha outage")
    back_up(project)
    post(project, "Bravo outage")
    restore(project)
    first = project.cli("post", "--yes", "--title", "Delta outage", "Delta outage: investigating.")
    assert first.exit_code == 3 and "--replace-later" in first.output, first.output
    second = project.cli("post", "--yes", "--title", "Echo outage", "Echo outage: investigating.")
    assert "Bravo outage" in (place.read("index.html") or ""), second.output
    assert second.exit_code == 3 and "--replace-later" in second.output, second.output


def test_the_refusal_of_a_copy_level_with_the_place_states_true_numbers(project: Project, place: Place) -> None:
    """Found by review 17i (fixed): refused by the `reached` clause (the place no further along than this build), the message still says "holds a
    site built from a later state of this store than it holds now (generation 2 > 2)": a false statement, and on a
    team whose machines spell the place differently it reads "generation 4 > 6" (tests/test_zz_r17i_team.py)."""
    import re

    project.write_config(place.toml)
    mistake = post(project, "Wrong customer named")
    laptop = laptop_copy(project)
    assert project.cli("withdraw", "--yes", str(mistake["incident_id"])).exit_code == 0
    refused = laptop.cli("post", "--yes", "--title", "Other", "x.")
    assert refused.exit_code == 3, refused.output
    said = " ".join(refused.output.split())
    for there, here in re.findall(r"generation (\d+) > (\d+)", said):
        assert int(there) > int(here), said


def test_a_stale_copy_refused_once_then_retried_never_puts_a_withdrawn_incident_back_up(
        project: Project, place: Place) -> None:
    """Found by review 17i (fixed): the refused post's own note_published made its build "reached": `broadcaster retry` (what the summary line
    says to run "once that is seen to") of that very delivery, or a plain `site publish`, then replaces the place."""
    project.write_config(place.toml)
    mistake = post(project, "Wrong customer named")
    laptop = laptop_copy(project)
    assert project.cli("withdraw", "--yes", str(mistake["incident_id"])).exit_code == 0
    refused = laptop.cli("post", "--yes", "--title", "Other", "x.")
    assert refused.exit_code == 3 and "--replace-later" in refused.output, refused.output
    again = laptop.cli("retry")
    assert "Wrong customer named" not in (place.read("index.html") or ""), again.output
    assert again.exit_code == 3, again.output
    published = laptop.cli("site", "publish")
    assert "Wrong customer named" not in (place.read("index.html") or ""), published.output
    assert published.exit_code == 3, published.output

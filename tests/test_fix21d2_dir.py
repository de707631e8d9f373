"""Fixes of review 21d's findings 3, 5, 6 and 7 (directory target); each test failed before its fix.

3. The fresh copy's ``a/`` is made 0711 (its token folders 0755) before anything is written into it, whatever the
   umask: the copy's name is visible beside the target all publish long.
5. A marker with a record but no folder line (895fe4f .. 65d2534) hands over only the files written with it (their
   times tell: one publish wrote the copy, cp -a keeps the times); copied into a web root, the root's own pages stay.
6. The served marker holds no digest of a customer's page: those are kept in a list under ``a/`` (0711, never listed)
   with a random name, 0600, which a copy (cp -a) carries and which still proves a copied target's pages its own.
7. A folder the publishing account cannot list is refused (preflight: exit 2, nothing stored), never swapped away.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcaster.site import file_writer
from broadcaster.site.folder import AUDIENCE_DIR_MODE, FOLDER_MODE, MARKER
from broadcaster.site.hosts import directory
from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.input_helpers import stored
from tests.test_audiences import AUDIENCES, CHANNELS, SLACK_TOKEN, channels_toml
from tests.test_fix20m_rest import OLD_PAGE, OWN, _as_an_older_version_wrote_it, _directory
from tests.test_hosts_directory import SITE, make_host, publish, write_site

TOKEN = "acme-feed-token-0123456789abcdef"
TOKEN_DIR = f"a/{TOKEN}/"


def _said(output: str) -> str:
    return " ".join(output.split())


# -- 3. a/ closed from the start ----------------------------------------------------------------------------------


@pytest.fixture
def no_umask() -> Iterator[None]:
    """umask 0: a folder made without an explicit mode is 0777 until chmod'ed."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("umask", ["default", "zero"])
def test_the_customers_folder_is_never_listable_while_the_copy_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, umask: str
) -> None:
    """Every mode a/ and the token folders have in the fresh copy, from their mkdir on (observed at each chmod and
    each file written), is at most what they end with: a/ 0711, a/<token>/ 0755."""
    if umask == "zero":
        request.getfixturevalue("no_umask")
    files = {**SITE, "a/index.html": b"<!doctype html>", TOKEN_DIR + "index.html": b"<p>For Acme Corp: circuit 7</p>",
             TOKEN_DIR + "feed.xml": b"<rss/>"}
    site = write_site(tmp_path / "build", files)
    seen: list[tuple[str, int]] = []
    real_write, real_chmod = file_writer.replace_file, os.chmod

    def look(path: Path) -> None:
        for folder in (path, path.parent):
            if folder.name == "a" or folder.parent.name == "a":
                with_copy = folder if folder.name == "a" else folder.parent
                if with_copy.parent.name.startswith(".www.broadcaster-tmp-") and os.path.isdir(folder):
                    seen.append((folder.name, stat.S_IMODE(os.lstat(folder).st_mode)))

    def writing(path: Path, data: bytes, *args: Any, **kwargs: Any) -> None:
        look(Path(path))
        real_write(path, data, *args, **kwargs)

    def chmodding(path: Any, mode: int, *args: Any, **kwargs: Any) -> None:
        if isinstance(path, (str, Path)):
            look(Path(path) / "x")  # the folder as it is before this chmod opens (or closes) it
        real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(directory, "replace_file", writing)
    monkeypatch.setattr(os, "chmod", chmodding)
    publish(make_host(str(tmp_path / "www"), tmp_path), site)
    monkeypatch.undo()

    assert any(name == "a" for name, _ in seen) and any(name == TOKEN for name, _ in seen), seen
    too_open = [(name, oct(mode)) for name, mode in seen
                if mode & ~(AUDIENCE_DIR_MODE if name == "a" else FOLDER_MODE)]
    assert not too_open, f"opened further than it ends while the copy was written: {too_open}"
    assert stat.S_IMODE(os.stat(tmp_path / "www" / "a").st_mode) == 0o711
    assert stat.S_IMODE(os.stat(tmp_path / "www" / "a" / TOKEN).st_mode) == 0o755


# -- 5. a marker with a record but no folder line ------------------------------------------------------------------


def test_a_marker_with_no_folder_line_copied_into_a_web_root_keeps_the_web_roots_own_page(project: Project) -> None:
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Posted in error", "Wrong text.").exit_code == 0
    _as_an_older_version_wrote_it(www, folder_line=False)
    webroot = project.root / "webroot"
    (webroot / "incidents").mkdir(parents=True)
    (webroot / OLD_PAGE).write_text(OWN, encoding="utf-8")
    os.utime(webroot / OLD_PAGE, (1682899200, 1682899200))  # 1 May 2023
    subprocess.run(["cp", "-a", f"{www}/.", str(webroot)], check=True)
    _directory(project, "webroot")

    result = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert (webroot / OLD_PAGE).read_text(encoding="utf-8") == OWN, "the web root's own page was deleted"
    assert result.exit_code == 3 and OLD_PAGE in _said(result.output), result.output
    assert "records no list of the files" in _said(result.output), result.output


# -- 6. the served marker and the customers' pages --------------------------------------------------------------------


def _files_line(marker: bytes) -> set[str]:
    line = next((x for x in marker.splitlines() if x.startswith(b"files: ")), b"files: ")
    return set(line.decode().split()[1:])


def _public_digests(root: Path) -> set[str]:
    """What any reader computes from the files it can fetch (everything outside a/<token>/)."""
    found = set()
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or relative == MARKER or relative.startswith("a/") and relative != "a/index.html":
            continue
        content = hashlib.sha256(path.read_bytes()).hexdigest()
        found.add(hashlib.sha256(f"{relative}\0{content}".encode()).hexdigest()[:12])
    return found


def _post_for_acme(project: Project, slack: FakeSlack, path: str) -> str:
    project.env.update({"SLACK_TOKEN": SLACK_TOKEN, "ACME_FEED_TOKEN": TOKEN})
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack) + f'\n[publish.www]\ntype = "directory"\npath = "{path}"\n')
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--for", "acme",
                         "Your circuit ACM-OLD-1 is rerouted.", "Errors on the API.")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["incident_id"])


def _amend_for_acme(project: Project, incident: str) -> None:
    amended = project.cli("amend", "--yes", incident, "1", "Errors on the API.", "--for", "acme",
                          "Your circuit ACM-NEW-2 is rerouted.")
    assert amended.exit_code == 0, amended.output


def test_the_served_marker_names_no_customers_page_and_does_not_move_when_one_alone_changes(project: Project) -> None:
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as slack:
        incident = _post_for_acme(project, slack, "srv/www")
        www = project.root / "srv" / "www"
        assert (www / TOKEN_DIR / "index.html").is_file()
        before = _files_line((www / MARKER).read_bytes())
        assert before and before <= _public_digests(www), "the served marker holds digests no public file has"
        _amend_for_acme(project, incident)
        assert project.cli("site", "publish").exit_code == 0
        assert "ACM-NEW-2" in (www / TOKEN_DIR / "index.html").read_text(encoding="utf-8")
        after = _files_line((www / MARKER).read_bytes())
        assert after <= _public_digests(www) and after - before <= _public_digests(www) - before

    [listed] = [p for p in (www / "a").iterdir() if p.name.startswith(".broadcaster-files-")]
    assert stat.S_IMODE(listed.stat().st_mode) == 0o600
    assert TOKEN.encode() not in listed.read_bytes()


def test_a_copied_target_still_hands_over_its_customers_pages_and_never_the_web_roots_own(project: Project) -> None:
    """What the digests protect (f0b0c28), with the customers' ones out of the served marker: a cp -a copy of a
    target into a web root is taken with its customer's page (changed since, so only the list proves it the copy's
    own), and a web root's own customer-shaped page beside the copy is refused and kept."""
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as slack:
        incident = _post_for_acme(project, slack, "www")
        www, webroot = project.root / "www", project.root / "webroot"
        webroot.mkdir()
        subprocess.run(["cp", "-a", f"{www}/.", str(webroot)], check=True)
        config = project.config.read_text(encoding="utf-8").replace('path = "www"', 'path = "webroot"')
        project.config.write_text(config, encoding="utf-8")
        _amend_for_acme(project, incident)

        taken = project.cli("site", "publish")

        assert taken.exit_code == 0, taken.output
        assert "ACM-NEW-2" in (webroot / TOKEN_DIR / "index.html").read_text(encoding="utf-8")
        assert _files_line((webroot / MARKER).read_bytes()) <= _public_digests(webroot)

        # The same copy, now into a web root that has a page of its own under a/.
        shutil.rmtree(webroot)
        webroot.mkdir()
        (webroot / "a" / "partner").mkdir(parents=True)
        (webroot / "a" / "partner" / "index.html").write_text("<p>our partners' page</p>", encoding="utf-8")
        subprocess.run(["cp", "-a", f"{www}/.", str(webroot)], check=True)
        before = len(stored(project))

        refused = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert refused.exit_code == 2 and "a/partner/index.html" in _said(refused.output), refused.output
    assert len(stored(project)) == before
    assert (webroot / "a" / "partner" / "index.html").read_text(encoding="utf-8") == "<p>our partners' page</p>"


def test_a_marker_that_still_serves_the_customers_digests_is_rewritten_by_the_next_publish(project: Project) -> None:
    """The upgrade: a target published by f0b0c28 .. this fix (every digest in the served marker, no list) loses
    the customers' digests from its marker at the next publish, even one that changes no file."""
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as slack:
        _post_for_acme(project, slack, "www")
        www = project.root / "www"
        marker = (www / MARKER).read_bytes()
        private = _files_line(marker) - _public_digests(www)
        for listed in [p for p in (www / "a").iterdir() if p.name.startswith(".broadcaster-files-")]:
            private |= _files_line(listed.read_bytes())
            listed.unlink()
        old_line = next(x for x in marker.splitlines() if x.startswith(b"files: "))
        everything = b"files: " + " ".join(sorted(_files_line(marker) | private)).encode()
        (www / MARKER).write_bytes(marker.replace(old_line, everything))
        assert _files_line((www / MARKER).read_bytes()) - _public_digests(www), "set-up: the old marker"

        result = project.cli("site", "publish")

    assert result.exit_code == 0, result.output
    assert _files_line((www / MARKER).read_bytes()) <= _public_digests(www), "the served marker still counts acme"


# -- 7. a folder the publishing account cannot list --------------------------------------------------------------

_AS_ANOTHER_USER = """
import asyncio, hashlib, site, sys
from pathlib import Path
site.addsitedir(sys.argv[1])
sys.path.insert(0, sys.argv[4])  # the broadcaster under test, not necessarily the one installed
from broadcaster.config import ChannelConfig
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts.directory import DirectoryHost
base = Path(sys.argv[2])
files = {"index.html": f"<p>status {sys.argv[5]}</p>".encode(), "api/v2/summary.json": b"{}"}
for p, d in files.items():
    (base / "build" / p).parent.mkdir(parents=True, exist_ok=True)
    (base / "build" / p).write_bytes(d)
built = BuiltSite(root=base / "build", hashes={p: hashlib.sha256(d).hexdigest() for p, d in files.items()})
host = DirectoryHost(ChannelConfig("www", "directory", options={"path": str(base / "parent" / "www")}), base)
if sys.argv[3] == "preflight":
    try:
        host.preflight()
        print("preflight: passed")
    except Exception as exc:
        print("preflight: refused", type(exc).__name__, exc)
    sys.exit(0)
try:
    print("publish:", asyncio.run(host.publish(built)))
except Exception as exc:
    print("publish: failed", type(exc).__name__, exc)
"""


def _as_nobody(base: Path, step: str, version: str = "1") -> str:
    script = base / "publish.py"
    script.write_text(_AS_ANOTHER_USER, encoding="utf-8")
    python = shutil.which("python3.11", path="/usr/bin") or sys.executable
    ran = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, str(script),
         sysconfig.get_paths()["purelib"], str(base), step, str(Path(directory.__file__).parents[3]),
         version],
        capture_output=True, text=True, check=False, cwd=base, env={"HOME": str(base), "PATH": "/usr/bin:/bin"},
    )
    if "Traceback" in ran.stderr or not ran.stdout:
        pytest.skip(f"cannot run broadcaster as another account here: {ran.stderr[-400:]}")
    return " ".join(ran.stdout.split())


@pytest.fixture
def base() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a folder owned by another account")
    made = Path(tempfile.mkdtemp(prefix="fix21d2-perm-"))
    try:
        os.chmod(made, 0o755)
        (made / "parent").mkdir()
        (made / "build").mkdir()
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def _hand_over(base: Path) -> None:
    for folder in (base / "parent", base / "build"):
        os.chown(folder, 65534, 65534)


@pytest.mark.parametrize("step", ["preflight", "publish"])
def test_a_web_root_the_publishing_account_cannot_list_is_refused_and_stays(base: Path, step: str) -> None:
    """Another account's web root, 0711 (enterable, not listable), in a parent the publishing account may write:
    refused by preflight (ConfigError: exit 2, before anything is stored) and by the publish (a permanent failure),
    naming the folder and what to do; the site it holds stays served."""
    www = base / "parent" / "www"
    (www / "app").mkdir(parents=True)
    (www / "index.html").write_text("<h1>the other account's site</h1>", encoding="utf-8")
    (www / "app" / "config.php").write_text("<?php // theirs", encoding="utf-8")
    os.chmod(www, 0o711)
    _hand_over(base)

    said = _as_nobody(base, step)

    assert (www / "index.html").read_text(encoding="utf-8") == "<h1>the other account's site</h1>", said
    assert sorted(p.name for p in (base / "parent").iterdir()) == ["www"], said
    expected = "preflight: refused ConfigError" if step == "preflight" else "publish: failed DeliveryError"
    assert said.startswith(expected), said
    assert "cannot list (the folder itself)" in said and str(www) in said and "chown or chmod" in said, said


def test_a_folder_inside_the_target_that_cannot_be_listed_is_refused(base: Path) -> None:
    """An older version's site (no marker, the API file there) holding a folder of another account's that the
    publishing account cannot list: what is in it is unknown, so the target is not adopted."""
    www = base / "parent" / "www"
    (www / "api" / "v2").mkdir(parents=True)
    (www / "index.html").write_text("<p>status</p>", encoding="utf-8")
    (www / "api" / "v2" / "summary.json").write_text("{}", encoding="utf-8")
    (www / "backups").mkdir()
    (www / "backups" / "db.sql").write_text("-- theirs", encoding="utf-8")
    os.chmod(www / "backups", 0o700)
    _hand_over(base)
    os.chown(www, 65534, 65534)
    os.chown(www / "index.html", 65534, 65534)

    said = _as_nobody(base, "preflight")

    assert said.startswith("preflight: refused ConfigError") and "backups/" in said, said
    assert (www / "backups" / "db.sql").read_text(encoding="utf-8") == "-- theirs"


def test_a_folder_that_cannot_be_listed_in_a_target_broadcaster_published_fails_the_publish_and_stays(
    base: Path,
) -> None:
    """The target's own marker makes dropped-in files its own, but not a folder it cannot see into: the publish
    fails (naming the folder and what to do) instead of moving it out of the web server's way unseen."""
    _hand_over(base)
    assert _as_nobody(base, "publish", "1").startswith("publish: Receipt"), "set-up: the first publish"
    www = base / "parent" / "www"
    (www / "private").mkdir()
    (www / "private" / "notes.txt").write_text("root's", encoding="utf-8")
    os.chmod(www / "private", 0o700)

    said = _as_nobody(base, "publish", "2")

    assert said.startswith("publish: failed DeliveryError"), said
    assert f"{www}/private" in said and "chown or chmod" in said, said
    assert (www / "private" / "notes.txt").read_text(encoding="utf-8") == "root's"
    assert (www / "index.html").read_text(encoding="utf-8") == "<p>status 1</p>"


_INSPECT_AS_ANOTHER_USER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from broadcaster.site.folder import inspect
state = inspect(Path(sys.argv[2]), frozenset(), lambda _path: True)
print(state.kind, state.describe())
"""


def test_the_site_folder_check_sees_a_folder_it_cannot_list_as_not_its_own(base: Path) -> None:
    """site.folder.inspect (the output folder's check too) no longer takes a folder it cannot list for empty."""
    www = base / "parent" / "www"
    (www / "app").mkdir(parents=True)
    (www / "app" / "config.php").write_text("<?php // theirs", encoding="utf-8")
    os.chmod(www, 0o711)
    script = base / "look_as_nobody.py"
    script.write_text(_INSPECT_AS_ANOTHER_USER, encoding="utf-8")
    python = shutil.which("python3.11", path="/usr/bin") or sys.executable
    ran = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, str(script),
         str(Path(directory.__file__).parents[3]), str(www)],
        capture_output=True, text=True, check=False, cwd=base, env={"HOME": str(base), "PATH": "/usr/bin:/bin"},
    )
    if "Traceback" in ran.stderr or not ran.stdout:
        pytest.skip(f"cannot run broadcaster as another account here: {ran.stderr[-400:]}")

    assert ran.stdout.strip() == "foreign the folder itself", ran.stdout

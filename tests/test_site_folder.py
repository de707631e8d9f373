"""The site's folder is the site's (issue 12): what broadcaster builds into, uploads, serves and replaces.

Everything through the CLI, looking at the disk, the directory target and moto's S3 server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcaster.site.output import MANIFEST
from tests.conftest import BASE_CONFIG, Project
from tests.fakes.s3 import PUBLISH_ENV, S3Server

BUCKET = "acme-status"


def config_with(project: Project, extra: str = "", *, output_dir: str = "public") -> None:
    project.write_config(extra, base=BASE_CONFIG.replace('output_dir = "public"', f'output_dir = "{output_dir}"'))


def post(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    # The same post again and again, meant: --again.
    result = project.cli("post", "--yes", "--json", "--again", "--title", "API errors", *args, "Elevated errors.")
    return result.exit_code, (json.loads(result.stdout) if result.stdout.startswith("{") else {"output": result.output})


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def stored(project: Project) -> list[Any]:
    payload: list[Any] = json.loads(project.cli("list", "--json").stdout)
    return payload


@pytest.mark.parametrize(("output_dir", "store", "words"), [
    (".", "", "holds the config file"),
    ("..", "", "holds the config file"),
    ("data", 'path = "data/state.db"', "holds the store"),
    (".broadcaster", "", "holds the store"),
], ids=["project-folder", "parent", "store-inside", "state-folder"])
def test_a_folder_holding_the_config_or_the_store_is_refused(
    project: Project, output_dir: str, store: str, words: str
) -> None:
    config_with(project, f"\n[store]\n{store}\n" if store else "", output_dir=output_dir)
    before = files_in(project.root)

    built = project.cli("site", "build")
    code, payload = post(project)

    assert built.exit_code == 2 and words in built.output and "output_dir" in built.output
    assert code == 2 and words in payload["output"] and "Nothing was stored or sent" in payload["output"]
    # Only the store itself, and the .gitignore its folder carries (issue 16).
    assert not [p for p in files_in(project.root) - before if "state.db" not in p and p != ".broadcaster/.gitignore"]
    assert stored(project) == []


def test_a_folder_holding_files_broadcaster_did_not_write_is_refused_and_left_alone(project: Project) -> None:
    notes = project.root / "docs"
    (notes / "drafts").mkdir(parents=True)
    (notes / "notes.txt").write_text("my notes")
    (notes / "drafts" / "a.md").write_text("draft")
    config_with(project, output_dir="docs")

    code, payload = post(project)
    built = project.cli("site", "build")

    assert code == 2 and "files broadcaster did not write" in payload["output"] and "notes.txt" in payload["output"]
    assert built.exit_code == 2
    assert files_in(notes) == {"notes.txt", "drafts/a.md"}
    assert stored(project) == []


def test_a_new_folder_is_marked_on_its_first_build_and_a_stray_file_never_joins_the_site(project: Project) -> None:
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "www"\n')
    code, payload = post(project)
    assert code == 0, payload
    assert (project.site / ".broadcaster-site").is_file()
    (project.site / "stray.txt").write_text("dropped here by hand")
    (project.site / "incidents" / "old-export.html").write_text("not from the store")

    code, payload = post(project, "-C", "api")

    assert code == 0, payload
    published = files_in(project.root / "www")
    assert "index.html" in published
    assert "stray.txt" not in published and "incidents/old-export.html" not in published
    assert not [p for p in published if p.startswith(".broadcaster") and p != ".broadcaster-site"]


def test_a_folder_built_before_the_marker_existed_is_adopted(project: Project) -> None:
    assert post(project)[0] == 0
    (project.site / ".broadcaster-site").unlink()  # as a folder built by an earlier version

    assert project.cli("site", "build").exit_code == 0
    assert (project.site / ".broadcaster-site").is_file()


@pytest.fixture
def s3(project: Project) -> Iterator[S3Server]:
    with S3Server() as server:
        server.create_bucket(BUCKET)
        project.write_config(server.publish_toml(BUCKET))
        project.env.update(PUBLISH_ENV)
        yield server


def test_uploads_list_what_the_build_wrote_not_what_the_folder_holds(project: Project, s3: S3Server) -> None:
    assert post(project)[0] == 0
    (project.site / "secrets.env").write_text("TOKEN=abc")
    # A state folder at the top is refused outright now (test_site_folder_review18.py); one deeper is not looked for.
    (project.site / "incidents" / ".broadcaster" / "state.db").parent.mkdir()
    (project.site / "incidents" / ".broadcaster" / "state.db").write_text("private")

    assert project.cli("site", "publish").exit_code == 0

    keys = set(s3.objects(BUCKET))
    assert "index.html" in keys
    assert not [k for k in keys if "secrets" in k or "state.db" in k or k.startswith(".broadcaster-") and k != ".broadcaster-manifest.json"]


def test_site_serve_serves_only_the_sites_files(project: Project) -> None:
    assert post(project)[0] == 0
    (project.site / "stray.txt").write_text("not part of the site")
    (project.site / "link.html").symlink_to(project.config)
    process = project.process("site", "serve", "--port", "0")
    try:
        url = process.stdout.readline().split(" at ")[1].split()[0]  # type: ignore[union-attr]

        def status(path: str) -> int:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with urllib.request.urlopen(url + path, timeout=5) as response:
                        return int(response.status)
                except urllib.error.HTTPError as exc:
                    return exc.code
                except OSError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)

        assert status("") == 200 and status("summary.json") == 200 and status("feed.xml") == 200
        for path in ("stray.txt", "link.html", ".broadcaster-manifest.json", ".broadcaster-site",
                     ".broadcaster-lock", "incidents/", "%2e%2e/broadcaster.toml", "../broadcaster.toml"):
            assert status(path) == 404, path
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_a_failed_build_leaves_no_work_files_behind(project: Project) -> None:
    assert post(project)[0] == 0
    (project.site / "index.html").unlink()
    (project.site / "index.html").mkdir()  # in the way of the index

    result = project.cli("site", "build")

    assert result.exit_code == 3, result.output
    assert not [p for p in project.site.rglob("*") if p.name.startswith(".broadcaster-building")
                or p.name.endswith(".broadcaster-tmp")]
    (project.site / "index.html").rmdir()
    assert project.cli("site", "build").exit_code == 0
    assert (project.site / "index.html").is_file()


def test_a_site_folder_that_cannot_be_written_is_named_by_site_build_as_by_post(project: Project) -> None:
    """Review: `site build` into a read-only folder said "unexpected error (OSError) ... .broadcaster-lock", exit 1,
    where `post` says it cannot write the site (exit 3). A folder standing where the lock file goes fails
    that same open even for root, whom a read-only mode does not stop."""
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "www"\n')
    assert post(project)[0] == 0
    lock = project.site / ".broadcaster-lock"
    lock.unlink(missing_ok=True)
    lock.mkdir()
    published = files_in(project.root / "www")

    built = project.cli("site", "build")
    uploaded = project.cli("site", "publish")
    code, payload = post(project, "-C", "api")

    for result in (built, uploaded):
        assert result.exit_code == 3, result.output  # as a post's site delivery: the site failed
        assert "unexpected error" not in result.output and "--debug" not in result.output, result.output
        assert f"cannot write the site to {project.site}: Is a directory" in result.output, result.output
        assert "Check [page] output_dir, its permissions" in result.output, result.output
    assert "Nothing was uploaded to www." in uploaded.output and "uploaded" not in built.output
    assert files_in(project.root / "www") == published
    site = next(d for d in payload["deliveries"] if d["destination"] == "site")
    assert code == 3 and f"cannot write the site to {project.site}" in site["error"]


@pytest.mark.parametrize("command", [("site", "build"), ("post", "--yes", "--title", "API errors", "Elevated errors.")],
                         ids=["site-build", "post"])
def test_an_output_dir_below_a_file_is_refused_naming_the_file(project: Project, command: tuple[str, ...]) -> None:
    """Review: output_dir = "notes.txt/public" was "unexpected error (NotADirectoryError)", exit 1."""
    notes = project.root / "notes.txt"
    notes.write_text("notes\n", encoding="utf-8")
    config_with(project, output_dir="notes.txt/public")

    result = project.cli(*command)

    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"[page] output_dir ({notes / 'public'}) cannot be made: {notes} is a file, not a folder" in said, said
    assert f"move {notes} aside" in said and "unexpected" not in said
    assert notes.read_text(encoding="utf-8") == "notes\n"
    assert stored(project) == []


def test_the_lock_is_inside_the_sites_own_folder(project: Project) -> None:
    assert post(project)[0] == 0
    assert (project.site / ".broadcaster-lock").exists()
    assert not list(project.root.glob(".public.lock"))


# -- the directory target -------------------------------------------------------------------


def test_a_directory_target_never_replaces_a_folder_broadcaster_did_not_write(project: Project) -> None:
    work = project.root / "work"
    work.mkdir()
    (work / "plan.md").write_text("the quarter's plan")
    (work / "src").mkdir()
    (work / "src" / "main.py").write_text("print('hi')")
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "work"\n')

    check = project.cli("channels", "check")
    code, payload = post(project)

    assert check.exit_code == 3
    said = " ".join(check.stdout.split())
    assert "FAIL" in said and "did not write" in said and "plan.md" in said
    assert code == 2 and "publish.www.path" in payload["output"] and "Nothing was stored or sent" in payload["output"]
    assert files_in(work) == {"plan.md", "src/main.py"}
    assert stored(project) == []


@pytest.mark.parametrize(("setup", "words"), [
    (None, "will be created"),
    ("empty", "is empty"),
    ("ours", "holds a site published by broadcaster"),
], ids=["missing", "empty", "published"])
def test_channels_check_says_truthfully_what_a_directory_target_holds(
    project: Project, setup: str | None, words: str
) -> None:
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "www"\n')
    if setup == "empty":
        (project.root / "www").mkdir()
    if setup == "ours":
        assert post(project)[0] == 0

    result = project.cli("channels", "check")

    assert result.exit_code == 0, result.output
    assert words in " ".join(result.stdout.split())


def test_a_directory_target_published_before_the_marker_existed_is_adopted(project: Project) -> None:
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "www"\n')
    assert post(project)[0] == 0
    (project.root / "www" / ".broadcaster-site").unlink()

    code, payload = post(project, "-C", "api")

    assert code == 0, payload
    assert (project.root / "www" / ".broadcaster-site").is_file()


def test_published_files_are_world_readable_under_umask_077(project: Project) -> None:
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "srv/www"\n')
    script = (
        "import os, sys; os.umask(0o077); from broadcaster.cli import main; "
        "sys.argv = ['broadcaster', *sys.argv[1:]]; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "--config", str(project.config), "post", "--yes", "--title", "API errors",
         "Elevated errors."], cwd=project.root, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    for folder in (project.site, project.root / "srv" / "www"):
        for path in [folder, *(p for p in folder.rglob("*") if p.name not in (".broadcaster-lock", MANIFEST))]:
            mode = path.stat().st_mode & 0o777
            assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
    # The manifest is not published and lists customers' a/<token>/ pages: yours alone (review of issue 15).
    assert (project.site / MANIFEST).stat().st_mode & 0o777 == 0o600


# -- links ----------------------------------------------------------------------------------------


def test_a_link_planted_in_the_site_folder_is_never_written_through(project: Project, tmp_path: Path) -> None:
    assert post(project)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("someone else's")
    incidents = project.site / "incidents"
    for page in incidents.iterdir():
        page.unlink()
    incidents.rmdir()
    incidents.symlink_to(elsewhere)
    bashrc = tmp_path / "bashrc"
    bashrc.write_text("# shell\n")
    (project.site / "feed.xml").unlink()
    (project.site / "feed.xml").symlink_to(bashrc)

    result = project.cli("post", "--yes", "--json", "--title", "Another", "Another thing.")

    assert result.exit_code == 3, result.output
    assert "symbolic link" in result.stdout and "never writes through links" in result.stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert bashrc.read_text() == "# shell\n"


def test_a_directory_target_with_a_planted_link_is_replaced_without_following_it(
    project: Project, tmp_path: Path
) -> None:
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "www"\n')
    assert post(project)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("someone else's")
    www = project.root / "www"
    (www / "index.html").unlink()
    (www / "index.html").symlink_to(elsewhere / "keep.txt")
    (www / "stolen").symlink_to(elsewhere)

    code, payload = post(project, "-C", "api")

    assert code == 0, payload
    assert (elsewhere / "keep.txt").read_text() == "someone else's"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert not (www / "index.html").is_symlink() and "Elevated errors." in (www / "index.html").read_text()
    assert not (www / "stolen").exists()


def test_site_serve_logs_no_customers_feed_token(project: Project) -> None:
    """Found by a review: each request for a customer's page was logged with its token, a capability."""
    token = "acme-feed-token-0123456789abcdef"
    project.env["ACME_FEED_TOKEN"] = token
    project.write_config('[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"\n')
    assert post(project, "--for", "acme", "circuit 7")[0] == 0
    assert (project.site / "a" / token / "index.html").is_file()
    process = project.process("site", "serve", "--port", "0")
    try:
        url = process.stdout.readline().split(" at ")[1].split()[0]  # type: ignore[union-attr]
        # Percent-encoded and doubled slashes too: each is served, and was logged with the token (a review).
        for path in (f"a/{token}/index.html", f"a/{token}/feed.xml", f"A/{token}/nothing", f"./a/{token}/?x=1",
                     f"%61/{token}/index.html", f"a%2f{token}/feed.xml", f"a//{token}//index.html"):
            try:
                with urllib.request.urlopen(url + path, timeout=5):
                    pass
            except urllib.error.HTTPError:
                pass
    finally:
        process.terminate()
        _, logged = process.communicate(timeout=10)
    assert logged.count("GET ") == 7 and logged.count("/a/***") + logged.count("/A/***") == 7, logged
    assert token not in logged

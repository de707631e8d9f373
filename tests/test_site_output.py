"""Writing the site: only what changed, atomically, with every file's hash reported.

The site builder writes through ``broadcaster.site.output.SiteWriter``; these
tests look at the files on disk (inodes, bytes, hashes), never at what the
writer believes it did.
"""

from __future__ import annotations

import hashlib
import json
import resource
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import Status

from broadcaster.errors import DeliveryError, StoreError
from broadcaster.site.build import MANIFEST, build_site
from tests.conftest import Project
from tests.site_helpers import (
    NOW,
    Step,
    affected,
    make_incident,
    sample_incidents,
    site_data,
    site_files,
)

OPEN_ID, RESOLVED_ID, MAINT_ID, OLD_ID = (i.header.id for i in sample_incidents())


def _identities(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in site_files(root)
    }


def test_an_incremental_build_rewrites_only_the_changed_page_and_the_summaries(
    tmp_path: Path,
) -> None:
    incidents = sample_incidents()
    build_site(site_data(incidents), tmp_path, pages=incidents)
    before = _identities(tmp_path)
    changed = make_incident(
        OPEN_ID,
        "Elevated API errors",
        start=NOW - timedelta(hours=2),
        components=affected(api="partial_outage"),
        steps=[
            Step(Status.INVESTIGATING, "We see errors."),
            Step(Status.MONITORING, "A fix is out."),
        ],
    )
    incidents[0] = changed
    built = build_site(site_data(incidents), tmp_path, pages=[changed])
    after = _identities(tmp_path)
    rewritten = {path for path in before if before[path] != after[path]}
    # The files that show this incident, nothing else: the page badge, the badges, the calendar,
    # the other components' feeds and the api files without open incidents keep their bytes.
    assert rewritten == {
        "index.html",
        "feed.xml",
        "atom.xml",
        "summary.json",
        f"incidents/{OPEN_ID}.html",
        "api/v2/summary.json",
        "api/v2/incidents.json",
        "api/v2/incidents/unresolved.json",
        "components/api/feed.xml",
        "components/api/atom.xml",
    }
    assert "A fix is out." in (tmp_path / f"incidents/{OPEN_ID}.html").read_text()
    # Every file is still reported, with the hash of what is on disk now.
    assert set(built.hashes) == set(after)
    for path, digest in built.hashes.items():
        assert hashlib.sha256((tmp_path / path).read_bytes()).hexdigest() == digest


def test_publishing_the_same_data_again_rewrites_nothing(tmp_path: Path) -> None:
    incidents = sample_incidents()
    build_site(site_data(incidents), tmp_path, pages=incidents)
    before = _identities(tmp_path)
    build_site(site_data(incidents), tmp_path, pages=incidents)
    assert _identities(tmp_path) == before


def test_a_build_without_its_manifest_lists_only_what_it_writes(tmp_path: Path) -> None:
    # Changed with the rule that the site is what broadcaster built (issue 12): a file someone
    # else put in the folder used to become part of the site, and was uploaded.
    incidents = sample_incidents()
    build_site(site_data(incidents), tmp_path, pages=incidents)
    before = _identities(tmp_path)
    (tmp_path / MANIFEST).unlink()
    (tmp_path / "CNAME").write_text("status.example.com\n")  # a file the operator added
    built = build_site(site_data(incidents), tmp_path)
    assert "CNAME" not in built.hashes
    assert f"incidents/{OLD_ID}.html" in built.hashes
    after = {p: i for p, i in _identities(tmp_path).items() if p != "CNAME"}
    assert after == before  # the same bytes were not written again


def test_a_build_that_died_half_way_makes_the_next_one_rehash(tmp_path: Path) -> None:
    incidents = sample_incidents()
    build_site(site_data(incidents), tmp_path, pages=incidents)
    page = tmp_path / f"incidents/{OLD_ID}.html"
    page.write_text("written by a build that then crashed")
    (tmp_path / ".broadcaster-building").touch()  # the marker a running build leaves
    built = build_site(site_data(incidents), tmp_path)
    assert built.hashes[f"incidents/{OLD_ID}.html"] == hashlib.sha256(page.read_bytes()).hexdigest()
    assert not (tmp_path / ".broadcaster-building").exists()


def test_the_manifest_stays_small_after_many_builds(tmp_path: Path) -> None:
    incidents = sample_incidents()
    for minute in range(70):
        update = make_incident("live", "Live", start=NOW - timedelta(minutes=minute + 1))
        build_site(site_data([*incidents, update]), tmp_path, pages=[update])
    lines = (tmp_path / MANIFEST).read_bytes().splitlines()
    assert 1 <= len(lines) <= 64
    files: dict[str, str] = {}
    for line in lines:
        files.update(json.loads(line)["files"])
    assert files == build_site(site_data([*incidents, update]), tmp_path).hashes


def _many(count: int) -> list[Any]:
    return [
        make_incident(f"p-{n:03d}", f"Incident {n}", start=NOW - timedelta(days=60, minutes=n))
        for n in range(count)
    ]


def test_a_big_build_hands_the_writing_to_a_child_process_and_gets_every_file_right(
    tmp_path: Path,
) -> None:
    from broadcaster.site import output

    incidents = _many(output._OFFLOAD_AFTER * 3)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    built = build_site(site_data(incidents[:3]), tmp_path, pages=iter(incidents))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert after.ru_utime + after.ru_stime > before.ru_utime + before.ru_stime  # a child ran
    on_disk = {
        p.relative_to(tmp_path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in site_files(tmp_path)
    }
    assert built.hashes == on_disk
    assert len([p for p in on_disk if p.startswith("incidents/")]) == len(incidents)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".broadcaster-tmp")]
    assert "Incident 95" in (tmp_path / "incidents/p-095.html").read_text()


def test_a_page_the_child_process_cannot_write_fails_the_build_naming_the_file(
    tmp_path: Path,
) -> None:
    incidents = _many(80)
    (tmp_path / "incidents/p-070.html").mkdir(parents=True)  # in the way of the page
    with pytest.raises(DeliveryError) as caught:
        build_site(site_data([]), tmp_path, pages=incidents)
    assert "p-070.html" in str(caught.value) and not caught.value.retryable
    assert not (tmp_path / "index.html").exists()  # nothing links to a half-built site
    # Changed (issue 12): the work marker is not left behind; the manifest forgets what the
    # failed build wrote, so the next build writes it again.
    assert not (tmp_path / ".broadcaster-building").exists()
    (tmp_path / "incidents/p-070.html").rmdir()
    built = build_site(site_data([]), tmp_path, pages=incidents)
    for path, digest in built.hashes.items():
        assert hashlib.sha256((tmp_path / path).read_bytes()).hexdigest() == digest
    assert len([p for p in built.hashes if p.startswith("incidents/")]) == 80


def test_an_error_while_the_child_process_writes_leaves_no_process_behind(tmp_path: Path) -> None:
    def incidents() -> Iterator[Any]:  # the store going away half way through a full build
        yield from _many(50)
        raise StoreError("the database connection was lost")

    with pytest.raises(StoreError):
        build_site(site_data([]), tmp_path, pages=incidents())
    # filterwarnings=error turns a child left running into a ResourceWarning failure;
    # what it had been sent is written, and nothing half-written stays.
    assert (tmp_path / "incidents/p-049.html").is_file()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".broadcaster-tmp")]


@pytest.mark.parametrize("cut", ["header", "path", "data"])
def test_the_child_writer_puts_nothing_in_place_from_a_frame_cut_short(tmp_path: Path, cut: str) -> None:
    """The build died while sending a page (killed, out of memory): neither half a page over the
    real one nor a file at a path cut short (outside the site, perhaps) is written."""
    import subprocess
    import sys

    from broadcaster.site import file_writer

    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_bytes(b"<p>the whole old page</p>")
    path, data = str(site / "page.html").encode(), b"<p>" + b"new " * 5000 + b"</p>"
    frame = file_writer.HEADER.pack(len(path), len(data)) + path + data
    end = {"header": 5, "path": file_writer.HEADER.size + len(path) - 10, "data": len(frame) - 100}[cut]

    done = subprocess.run([sys.executable, "-I", "-S", file_writer.__file__], input=frame[:end],
                          capture_output=True, timeout=30, check=False)

    assert done.returncode == 1 and b"stopped in the middle of a file" in done.stdout
    assert (site / "page.html").read_bytes() == b"<p>the whole old page</p>"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["page.html", "site"]


def test_a_child_writer_killed_without_a_word_fails_the_build(tmp_path: Path) -> None:
    import os
    import signal

    from broadcaster.site import output

    writer = output.SiteWriter(tmp_path)
    for n in range(output._OFFLOAD_AFTER + 5):
        writer.write(f"incidents/p-{n:03d}.html", f"<p>{n}</p>".encode())
    assert writer._child is not None  # the last files went to the child
    os.kill(writer._child.process.pid, signal.SIGKILL)
    writer._child.process.wait()

    with pytest.raises(DeliveryError) as caught:
        writer.finish()
    assert "SIGKILL" in str(caught.value)


def test_a_directory_that_cannot_be_written_is_a_permanent_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "public"
    blocker.write_text("a file where the site folder should be")
    with pytest.raises(DeliveryError) as caught:
        build_site(site_data(sample_incidents()), blocker)
    assert not caught.value.retryable
    assert "page.output_dir" in str(caught.value)


@pytest.mark.parametrize("name", [".broadcaster-building", ".broadcaster-lock"])
def test_a_link_in_place_of_one_of_broadcasters_own_files_is_refused_and_nothing_is_written_through_it(
    project: Project, name: str
) -> None:
    assert project.cli("site", "build").exit_code == 0
    outside = project.root / "outside"
    (project.site / name).unlink(missing_ok=True)
    (project.site / name).symlink_to(outside)

    result = project.cli("site", "build")

    assert result.exit_code != 0 and "never writes through links" in result.stderr, result.output
    assert not outside.exists()

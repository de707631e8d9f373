"""Review 51b: two commands at once on one new output folder.

A post marks a new folder (``folder.mark``: the marker written to a temporary file, then renamed) before it takes the
site lock, and the first build in a folder without a manifest scans it, deleting the temporary files "left by a build
that died mid-write". So the first command's build could delete the second's marker while the second was writing it,
and the second failed its site "No such file or directory ... Check [page] output_dir" (exit 3): four posts at once
on a new folder, through the real CLI, failed so once in 30 runs. Each side is driven here at the moment the race
needs, with the real code of both (only the standard library's ``os.replace`` and ``os.walk`` are wrapped, to
interleave them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcaster.site import folder as site_folder
from broadcaster.site.file_writer import TEMP_SUFFIX, replace_file
from broadcaster.site.folder import MARKER
from broadcaster.site.output import INTERNAL, SiteWriter
from broadcaster.site.ownership import _listed_in_manifest


def _leftovers(site: Path) -> list[str]:
    return sorted(p.name for p in site.rglob(f"*{TEMP_SUFFIX}"))


def test_a_mark_whose_temporary_file_another_build_cleared_still_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second command's marker, written to its temporary file, is deleted by the first command's build (its scan
    of a folder with no manifest) before it is renamed into place: the mark failed 'No such file or directory'."""
    site = tmp_path / "public"
    site.mkdir()
    real_replace = os.replace
    raced: list[Any] = []

    def the_other_build_scans_first(src: Any, dst: Any) -> None:
        if Path(dst).name == MARKER and not raced:
            raced.append(src)
            SiteWriter(site).abandon()  # the other command's first build: its scan takes our file for a dead one's
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", the_other_build_scans_first)
    site_folder.mark(site)
    assert raced, "the race was not driven"
    assert site_folder.is_plain_file(site / MARKER)
    assert _leftovers(site) == []


def test_a_build_that_finds_another_commands_marker_renamed_meanwhile_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first build's scan lists the second command's marker on its way in (its temporary file), and the second
    renames it into place before the scan deletes it: the build failed 'cannot write the status page ... No such
    file or directory' (exit 3)."""
    site = tmp_path / "public"
    site.mkdir()
    (site / MARKER).write_bytes(site_folder.MARKER_TEXT)
    temp = site / f".{MARKER}.{os.getpid() + 1}-0{TEMP_SUFFIX}"
    real_walk = os.walk

    def renamed_once_listed(top: Any, **kwargs: Any) -> Iterator[tuple[str, list[str], list[str]]]:
        if Path(top) == site:
            temp.write_bytes(site_folder.MARKER_TEXT)  # the other command's mark, on its way in
        for directory, subdirs, names in real_walk(top, **kwargs):
            if Path(directory) == site and temp.exists():
                os.replace(temp, site / MARKER)  # ... and in place, once the scan has listed it
            yield directory, subdirs, names

    monkeypatch.setattr(os, "walk", renamed_once_listed)
    writer = SiteWriter(site)
    writer.abandon()
    assert site_folder.is_plain_file(site / MARKER)
    assert _leftovers(site) == []


def test_a_folder_another_command_marked_and_built_in_while_it_was_looked_at_is_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second command finds no marker, then lists the folder after the first one marked it and put its first
    page in place (its manifest, written at the end of its build, not yet there): the page read as a file
    broadcaster did not write, and the second post was refused ('holds files broadcaster did not write
    (index.html)'), or its site failed (exit 3). The marker there by the end of the look makes it broadcaster's, as
    it would have at its start."""
    site = tmp_path / "public"
    real_walk = os.walk

    def the_other_command_builds_meanwhile(top: Any, **kwargs: Any) -> Iterator[tuple[str, list[str], list[str]]]:
        if Path(top) == site and not site_folder.is_plain_file(site / MARKER):
            site_folder.mark(site)
            replace_file(site / "index.html", b"<p>the other command's first page</p>")
        yield from real_walk(top, **kwargs)

    site.mkdir()
    monkeypatch.setattr(os, "walk", the_other_command_builds_meanwhile)
    state = site_folder.inspect(site, INTERNAL, _listed_in_manifest(site))
    assert state.kind == "ours", state

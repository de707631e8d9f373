"""The site's templates, compiled once and kept between commands (``pages._CompiledTemplates``).

A command that renders loads them instead of compiling them again (about 40 ms). What it
builds must be the same bytes either way, and a cache that is missing, unreadable, garbage
or cannot be written must never fail a build.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader
from jinja2.bccache import bc_magic

from broadcaster.site import pages
from tests.conftest import Project


def _build(project: Project, tmpdir: Path) -> dict[str, bytes]:
    """``site build`` in a process of its own (the cache is per process), jinja's folder under ``tmpdir``."""
    done = project.process("post", "--yes", "--again", "--title", "API errors", "-C", "api", "Elevated *errors*.",
                           env={"TMPDIR": str(tmpdir)})
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    return {str(p.relative_to(project.site)): p.read_bytes() for p in sorted(project.site.rglob("*.html"))}


def _cached(tmpdir: Path) -> list[Path]:
    """jinja's compiled templates (the folder also keeps broadcaster's own: ``broadcaster.kept``)."""
    return [p for p in tmpdir.glob("_jinja2-cache-*/__jinja2_*.cache") if p.is_file()]


def _same_page(first: dict[str, bytes], later: dict[str, bytes]) -> tuple[bytes, bytes]:
    """The first build's one incident page, as it is after each build (each post adds an incident)."""
    (path,) = [p for p in first if p.startswith("incidents/")]
    return first[path], later[path]


def test_templates_loaded_from_the_cache_render_what_compiled_ones_do(project: Project, tmp_path: Path) -> None:
    jinja_tmp = tmp_path / "tmp"
    jinja_tmp.mkdir()
    compiled = _build(project, jinja_tmp)
    assert len(_cached(jinja_tmp)) >= 4  # incident, index, base, the macros

    written = {p: p.stat().st_mtime_ns for p in _cached(jinja_tmp)}
    loaded = _build(project, jinja_tmp)

    assert {p: p.stat().st_mtime_ns for p in _cached(jinja_tmp)} == written  # read, not compiled again
    before, after = _same_page(compiled, loaded)
    assert after == before and b"<em>errors</em>" in after


@pytest.mark.parametrize("damage", ["garbage", "cut-after-the-header"])
def test_a_damaged_cache_is_compiled_over(project: Project, tmp_path: Path, damage: str) -> None:
    """jinja checks the header; a file cut inside the checksum after it made pickle raise, and every
    build after it failed until someone deleted the folder."""
    jinja_tmp = tmp_path / "tmp"
    jinja_tmp.mkdir()
    clean = _build(project, jinja_tmp)
    for cached in _cached(jinja_tmp):
        whole = cached.read_bytes()
        assert whole.startswith(bc_magic)
        cached.write_bytes(b"\x00not marshal data" * 40 if damage == "garbage" else whole[: len(bc_magic) + 5])

    after = _build(project, jinja_tmp)

    before, now = _same_page(clean, after)
    assert now == before
    assert all(p.read_bytes() != b"" and len(p.read_bytes()) > len(bc_magic) + 5 for p in _cached(jinja_tmp))


def test_a_cache_folder_that_is_not_private_and_ours_is_not_used(project: Project, tmp_path: Path) -> None:
    clean_tmp = tmp_path / "clean"
    clean_tmp.mkdir()
    clean = _build(project, clean_tmp)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / f"_jinja2-cache-{os.getuid()}").write_text("a file where jinja wants its private folder")

    after = _build(project, taken)

    before, now = _same_page(clean, after)
    assert now == before
    assert (taken / f"_jinja2-cache-{os.getuid()}").read_text().startswith("a file")


def test_a_cache_that_cannot_be_written_or_read_is_skipped(tmp_path: Path) -> None:
    gone = tmp_path / "gone"  # jinja writes into it as given: every write fails
    environment = Environment(loader=FileSystemLoader(pages.TEMPLATE_DIR),
                              bytecode_cache=pages._CompiledTemplates(str(gone)), **pages._COMPILING)  # type: ignore[arg-type]
    template = environment.get_template("_chrome.html")
    assert template.module is not None and not gone.exists()
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    cache = pages._CompiledTemplates(str(unreadable))
    environment = Environment(loader=FileSystemLoader(pages.TEMPLATE_DIR), bytecode_cache=cache, **pages._COMPILING)  # type: ignore[arg-type]
    key = cache.get_cache_key("_chrome.html", str(pages.TEMPLATE_DIR / "_chrome.html"))
    (unreadable / (cache.pattern % key)).mkdir()  # a folder where the file should be
    assert environment.get_template("_chrome.html").module is not None


def test_the_key_holds_this_module_where_the_filters_are_set_up() -> None:
    """A filter that comes to take the context is called otherwise by the compiled code, with the
    same template text: an upgrade in place must not load the old code."""
    assert hashlib.sha256(Path(pages.__file__).read_bytes()).hexdigest() in pages._CompiledTemplates._salt


def test_the_key_holds_the_compiling_options_the_template_text_does_not() -> None:
    class Other(pages._CompiledTemplates):
        _salt = pages._CompiledTemplates._salt.replace("'trim_blocks': True", "'trim_blocks': False")

    assert Other._salt != pages._CompiledTemplates._salt
    assert Other("/tmp").get_cache_key("index.html", "x") != pages._CompiledTemplates("/tmp").get_cache_key("index.html", "x")

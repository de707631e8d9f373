"""The product's own words (``broadcaster.own_words``) are read from its sources once and kept between commands.

Reading them parses about a hundred modules, some 0.4 s of CPU on every post of a site whose customer is named like
a word the product prints ("Updates"). They are kept in jinja's private per-user folder under the hash of every source
they were read from. Each test runs a fresh interpreter with its own temporary folder (``TMPDIR``), as a command does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from broadcaster import own_words

READ = """
import json, sys
from broadcaster import own_words
words = own_words._source_words()
print(json.dumps({"sha": __import__("hashlib").sha256(words.encode("utf-8", "surrogatepass")).hexdigest(),
                  "len": len(words)}))
"""

# The words read afresh, without any kept copy: every source parsed in this process.
FRESH_FROM_THIS_PROCESS = """
import json
from broadcaster import own_words
own_words._kept = lambda key: None
own_words._keep = lambda key, words: None
words = own_words._source_words()
print(json.dumps({"sha": __import__("hashlib").sha256(words.encode("utf-8", "surrogatepass")).hexdigest(),
                  "len": len(words)}))
"""


def _run(script: str, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True, exist_ok=True)  # else tempfile falls back to /tmp
    env = {**os.environ, "TMPDIR": str(tmp)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    read: dict[str, Any] = json.loads(done.stdout)
    return read


def _kept_files(tmp: Path) -> list[Path]:
    return sorted((tmp / f"_jinja2-cache-{os.getuid()}").glob("broadcaster-own-words-*.txt"))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The words as a process that never keeps nor reads a copy reads them.

    Read once for the module: they follow from the sources alone (the process keeps no copy and reads none, in a
    folder of its own), and the tests only compare with them. Each read parses every source afresh in a new
    interpreter, about half a second of CPU, which six tests paid each."""
    return _run(FRESH_FROM_THIS_PROCESS, tmp_path_factory.mktemp("never"))


def test_the_kept_words_are_the_words_read_afresh(tmp_path: Path, fresh: dict[str, Any]) -> None:
    first = _run(READ, tmp_path)
    [kept] = _kept_files(tmp_path)
    check, _, words = kept.read_bytes().partition(b"\n")
    assert hashlib.sha256(words).hexdigest().encode() == check
    again = _run(READ, tmp_path)  # read from the kept copy
    assert first == again == fresh
    assert fresh["len"] > 50_000  # the templates' and formatters' words, not an empty list
    assert _kept_files(tmp_path) == [kept]


def test_a_kept_copy_is_what_the_next_command_reads(tmp_path: Path) -> None:
    """Shown with a copy holding a word no source prints: the next command reads the copy, not the sources."""
    _run(READ, tmp_path)
    [kept] = _kept_files(tmp_path)
    marked = b"Zorblax-never-printed"
    kept.write_bytes(hashlib.sha256(marked).hexdigest().encode() + b"\n" + marked)
    assert _run(READ, tmp_path)["sha"] == hashlib.sha256(marked).hexdigest()


@pytest.mark.parametrize("damage", ["cut", "changed", "no-check", "not-utf8"])
def test_a_damaged_copy_is_never_used_and_is_written_again(
    tmp_path: Path, fresh: dict[str, Any], damage: str
) -> None:
    _run(READ, tmp_path)
    [kept] = _kept_files(tmp_path)
    data = kept.read_bytes()
    check, _, words = data.partition(b"\n")
    damaged = {
        "cut": data[: len(data) // 2],  # a copy written half (a full disk, a crash before the rename)
        "changed": check + b"\n" + words.replace(b"Updates", b"Zorblax", 1),
        "no-check": words,
        "not-utf8": hashlib.sha256(b"\xff\xfe").hexdigest().encode() + b"\n\xff\xfe",
    }[damage]
    kept.write_bytes(damaged)
    assert _run(READ, tmp_path) == fresh
    assert kept.read_bytes() == data


def test_a_source_changed_in_one_byte_is_read_again() -> None:
    sources = [(path, own_words._read(path)) for path in own_words._sources()]
    assert len(sources) > 50
    key = own_words._key(sources)
    assert own_words._key(list(sources)) == key
    path, source = sources[len(sources) // 2]
    assert source is not None
    changed = [*sources]
    changed[len(sources) // 2] = (path, source[:-1] + bytes([source[-1] ^ 1]))
    assert own_words._key(changed) != key
    moved = [*sources]
    moved[0] = (path.with_name("elsewhere.py"), sources[0][1])
    assert own_words._key(moved) != key
    unreadable = [*sources]
    unreadable[0] = (sources[0][0], None)
    assert own_words._key(unreadable) != key


def test_a_folder_that_is_not_private_is_neither_read_nor_written(tmp_path: Path, fresh: dict[str, Any]) -> None:
    """jinja refuses its folder when it is a link (or anyone else's): the words are read afresh each time."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    marked = b"Zorblax-never-printed"
    (tmp_path / f"_jinja2-cache-{os.getuid()}").symlink_to(elsewhere)
    _run(READ, tmp_path / "probe-first")  # a folder of its own makes its own copy
    [proper] = _kept_files(tmp_path / "probe-first")
    (elsewhere / proper.name).write_bytes(hashlib.sha256(marked).hexdigest().encode() + b"\n" + marked)
    assert _run(READ, tmp_path) == fresh
    assert (elsewhere / proper.name).read_bytes().endswith(marked)  # neither read nor written over
    assert sorted(p.name for p in elsewhere.iterdir()) == [proper.name]

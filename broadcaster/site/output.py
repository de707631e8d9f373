"""Writing the site: atomic, only when the bytes change, with a manifest of hashes.

Hosts upload by comparing hashes, so every build reports the hash of every
file. An incremental build changes a handful of files; re-hashing thousands of
incident pages each time would make publishing slower as history grows, so the
manifest (``.broadcaster-manifest.json``, not part of the site) remembers the
hashes between builds. It is a journal: one JSON object per line, the first
holding every file, each later one what a build changed. A build appends one
short line; every ``_COMPACT_AFTER`` lines the journal is rewritten whole.

A file whose new content has the hash the manifest records, and which exists,
is left alone; anything else is written without reading the old file first.
Reading would cost as much as writing on a full build of thousands of pages.
Past ``_OFFLOAD_AFTER`` writes in one build, a child process does the writing
(see ``file_writer``), and ``flush()`` waits for it.

A marker file exists while a build runs: if a build dies half way, the next
one finds the marker and re-hashes the tree instead of trusting a manifest
that no longer matches the disk. Deleting the manifest forces the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from broadcaster.errors import DeliveryError, permanent
from broadcaster.site import file_writer
from broadcaster.site.file_writer import TEMP_SUFFIX, replace_file
from broadcaster.site.hosts import BuiltSite

MANIFEST = ".broadcaster-manifest.json"
BUILDING = ".broadcaster-building"
MANIFEST_VERSION = 1
_COMPACT_AFTER = 64  # journal lines; rewriting 10,000 entries costs ~10 ms, so do it rarely
# Writes in one build before a child process takes over: an incremental publish
# writes a handful of files and never pays for starting one (~20 ms).
_OFFLOAD_AFTER = 32
# A git publish target may keep its repository inside the site directory.
_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})

# The last manifest this process wrote, per site: a second build in the same
# process skips parsing it. Keyed by the file's identity, so any other writer
# (another process, an editor) invalidates it.
_RECENT: dict[Path, tuple[tuple[int, int, int], dict[str, str], int]] = {}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SiteWriter:
    """Writes files under ``root`` and keeps every file's hash."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: set[str] = set()
        self._root = os.fspath(root)
        self._dirs: set[str] = set()
        self._child: _ChildWriter | None = None
        self._may_offload = True  # until the first flush: what follows is a handful of files
        try:
            root.mkdir(parents=True, exist_ok=True)
            interrupted = (root / BUILDING).exists()
            loaded = None if interrupted else _load_manifest(root)
            self._journal_lines = loaded[1] if loaded else 0
            self.hashes = loaded[0] if loaded else _scan(root)
            self._changed: dict[str, str] = {}
            (root / BUILDING).touch()
        except OSError as exc:
            raise _error(root, exc) from exc

    def exists(self, path: str) -> bool:
        """Whether a file is in the site (the manifest knows it and it is on disk)."""
        return path in self.hashes and os.path.exists(os.path.join(self._root, path))

    def write(self, path: str, data: bytes) -> None:
        """Write ``data`` at ``path`` (relative, '/'-separated) unless it is there already.

        The file may still be on its way to the disk until ``flush()``.
        """
        target = self._target(path)
        digest = sha256(data)
        if self.hashes.get(path) != digest or not os.path.exists(target):
            self._send(target, data)
            self.written.add(path)
        if self.hashes.get(path) != digest:
            self.hashes[path] = self._changed[path] = digest

    def flush(self) -> None:
        """Wait until every file written so far is on disk (before writing what links to them)."""
        child, self._child = self._child, None
        self._may_offload = False
        if child is not None:
            child.close()

    def abandon(self) -> None:
        """After a failed build: stop the child writer without raising. The marker stays."""
        child, self._child = self._child, None
        if child is not None:
            child.wait()

    def finish(self) -> BuiltSite:
        """Record the hashes and end the build; the returned site excludes our own files."""
        self.flush()
        try:
            self._save_manifest()
            (self.root / BUILDING).unlink(missing_ok=True)
        except OSError as exc:
            raise _error(self.root / MANIFEST, exc) from exc
        return BuiltSite(root=self.root, hashes=dict(self.hashes))

    def _send(self, target: str, data: bytes) -> None:
        if self._may_offload and self._child is None and len(self.written) >= _OFFLOAD_AFTER:
            self._child = _ChildWriter.start()
            self._may_offload = self._child is not None
        if self._child is not None:
            try:
                self._child.send(target, data)
            except DeliveryError:
                self._child = None  # it stopped and was waited for: abandon() must not wait again
                raise
            return
        try:
            replace_file(target, data)
        except OSError as exc:
            raise _error(Path(target), exc) from exc

    def _target(self, path: str) -> str:
        # Strings, not Paths: pathlib costs more than the rest of a write's bookkeeping.
        target = os.path.join(self._root, path)
        parent = os.path.dirname(target)
        if parent not in self._dirs:
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise _error(Path(parent), exc) from exc
            self._dirs.add(parent)
        return target

    def _save_manifest(self) -> None:
        manifest = self.root / MANIFEST
        if self._journal_lines and self._journal_lines < _COMPACT_AFTER:
            if self._changed:
                with manifest.open("ab") as journal:
                    journal.write(_line({"files": self._changed}))
                self._journal_lines += 1
        else:
            replace_file(manifest, _line({"version": MANIFEST_VERSION, "files": self.hashes}))
            self._journal_lines = 1
        _RECENT[self.root] = (_identity(manifest), dict(self.hashes), self._journal_lines)


def _line(document: dict[str, object]) -> bytes:
    # No indent: json's C encoder is several times faster, and nobody reads this file.
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode() + b"\n"


class _ChildWriter:
    """``file_writer`` running as a child process, fed through a pipe."""

    def __init__(self, process: subprocess.Popen[bytes], stdin: IO[bytes]) -> None:
        self.process = process
        self.stdin = stdin

    @classmethod
    def start(cls) -> _ChildWriter | None:
        """The child, or None if no interpreter can be started (then we write ourselves)."""
        if not sys.executable:
            return None
        # -I -S: the standard library only, nothing from the environment or site-packages.
        command = [sys.executable, "-I", "-S", file_writer.__file__]
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        except OSError:
            return None
        assert process.stdin is not None
        return cls(process, process.stdin)

    def send(self, target: str, data: bytes) -> None:
        path = os.fsencode(target)
        try:
            self.stdin.write(file_writer.HEADER.pack(len(path), len(data)) + path + data)
        except BrokenPipeError:
            self.close()  # the child stopped at an error: raise it
            raise _error(Path(target), OSError("the file writer stopped")) from None

    def wait(self) -> str:
        """End the input, wait for the child; what it reported ("" when all went well)."""
        try:
            self.stdin.close()
        except BrokenPipeError:
            pass
        assert self.process.stdout is not None
        report = self.process.stdout.read().decode("utf-8", errors="replace")
        self.process.stdout.close()
        return report if self.process.wait() != 0 else ""

    def close(self) -> None:
        """Wait for the child to write everything; raise DeliveryError for its first failure."""
        report = self.wait()
        if report:
            path, _, reason = report.strip().partition("\t")
            raise _error(
                Path(path or "the output directory"), OSError(reason or "the file writer failed")
            )


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _load_manifest(root: Path) -> tuple[dict[str, str], int] | None:
    """(hashes, journal lines), or None if there is no usable manifest."""
    manifest = root / MANIFEST
    try:
        identity = _identity(manifest)
        recent = _RECENT.get(root)
        if recent and recent[0] == identity:
            return dict(recent[1]), recent[2]
        lines = manifest.read_bytes().splitlines()
        head = json.loads(lines[0])
        if head.get("version") != MANIFEST_VERSION:
            return None
        files: dict[str, str] = head["files"]
        for line in lines[1:]:
            files.update(json.loads(line)["files"])
    except (OSError, IndexError, KeyError, TypeError, AttributeError, ValueError):
        return None
    return files, len(lines)


def _scan(root: Path) -> dict[str, str]:
    """Hash every file already in the site (first build, or after an interrupted one)."""
    hashes = {}
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
        for name in names:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            if name.endswith(TEMP_SUFFIX):
                path.unlink(missing_ok=True)  # left by a build that died mid-write
            elif relative not in (MANIFEST, BUILDING):
                hashes[relative] = sha256(path.read_bytes())
    return hashes


def _error(path: Path, exc: OSError) -> DeliveryError:
    return permanent(
        f"cannot write the status page at {path}: {exc.strerror or exc}. "
        "Check that the output directory exists and is writable (page.output_dir), "
        "then run the command again."
    )

"""Writing the site: atomic, only when the bytes change, with a manifest of hashes.

Hosts upload by comparing hashes, so every build reports the hash of every
file. An incremental build changes a handful of files; re-hashing thousands of
incident pages each time would make publishing slower as history grows, so the
manifest (``.broadcaster-manifest.json``, not part of the site) remembers the
hashes between builds. It is a journal: one JSON object per line, the first
holding every file, each later one what a build changed. A build appends one
short line; every ``_COMPACT_AFTER`` lines the journal is rewritten whole, and
so is it by a build that removes a file, so no removed name stays in it.

A file whose new content has the hash the manifest records, and which exists,
is left alone; anything else is written without reading the old file first.
Reading would cost as much as writing on a full build of thousands of pages.
Past ``_OFFLOAD_AFTER`` writes in one build, a child process does the writing
(see ``file_writer``), and ``flush()`` waits for it.

The manifest also records, for each incident page, the version of the
store's record it was built from, so a build can tell which pages another
machine's updates made out of date (``broadcaster.site.source``).

The site is what the manifest lists: what broadcaster built, never whatever
else the folder happens to hold. A marker file exists while a build runs: if
a build dies half way, the next one finds it and checks the manifest against
the disk, keeping only entries whose file still has the recorded hash. A
build that fails with an error forgets the files it changed instead, so the
next one writes them again, and removes the marker. Deleting the manifest
makes the next build write every file again.

Nothing here writes or deletes through a symbolic link: a folder of the site
that is a link is refused (before a removal removes anything), and files are
replaced by renaming, which replaces a link rather than following it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from broadcaster.errors import DeliveryError, permanent
from broadcaster.site import file_writer
from broadcaster.site.file_writer import is_temporary, replace_file
from broadcaster.site.folder import AUDIENCE_DIR, AUDIENCE_DIR_MODE, FOLDER_MODE, MARKER, is_plain_file
from broadcaster.site.hosts import BuiltSite

MANIFEST = ".broadcaster-manifest.json"
BUILDING = ".broadcaster-building"
LOCK = ".broadcaster-lock"
# broadcaster's own files in the site folder: never part of the site, never uploaded or served.
INTERNAL = frozenset({MANIFEST, BUILDING, LOCK, MARKER})
MANIFEST_VERSION = 1
# The manifest lists every file, customers' pages at a/<token>/ too: a web server pointed at the
# folder (as another user) must not be able to hand it out, or every token would be in it.
MANIFEST_MODE = 0o600
_COMPACT_AFTER = 64  # journal lines; rewriting 10,000 entries costs ~10 ms, so do it rarely
# Writes in one build before a child process takes over: an incremental publish
# writes a handful of files and never pays for starting one (~20 ms).
_OFFLOAD_AFTER = 32

# The last manifest this process wrote, per site: a second build in the same
# process skips parsing it. Keyed by the file's identity, so any other writer
# (another process, an editor) invalidates it.
_RECENT: dict[Path, tuple[tuple[int, int, int], Manifest]] = {}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Manifest:
    """What a folder's builds wrote: every file's hash, and the version each incident page was built from."""

    def __init__(self, files: dict[str, str], versions: dict[str, str], lines: int, guarded_with: str | None = None) -> None:
        self.files = files
        self.versions = versions
        self.lines = lines  # journal lines on disk; 0 when the next save must rewrite it whole
        # What the pages' private values were worked out from besides their records (the config's
        # customers, the guard's rules: ``source.guard_key``) when they were last checked; None: unknown.
        self.guarded_with = guarded_with

    def copy(self) -> Manifest:
        return Manifest(dict(self.files), dict(self.versions), self.lines, self.guarded_with)


class SiteWriter:
    """Writes files under ``root`` and keeps every file's hash (and each page's version)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: set[str] = set()
        self._root = os.fspath(root)
        self._dirs: set[str] = {self._root}
        self._audience_dir = os.path.join(self._root, AUDIENCE_DIR.rstrip("/"))
        self._child: _ChildWriter | None = None
        self._may_offload = True  # until the first flush: what follows is a handful of files
        self._changed: dict[str, str | None] = {}
        self._versions_changed: dict[str, str | None] = {}
        self._guard_key: str | None = None
        self._others_write = False
        try:
            if not root.is_dir():
                root.mkdir(parents=True)
                os.chmod(root, FOLDER_MODE)
            self._open()
            os.close(os.open(root / BUILDING, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644))
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise permanent(
                    f"{root / BUILDING} is a symbolic link; broadcaster never writes through links. Remove it "
                    "(the next build makes a plain file) and run the command again."
                ) from None
            raise _error(root, exc) from exc

    def _open(self) -> None:
        interrupted = (self.root / BUILDING).exists()
        loaded = _load_manifest(self.root)
        # Hashes of files already on disk that no manifest vouches for: a write of the same
        # bytes may skip the disk, but the file is part of the site only once a build writes it.
        self._disk: dict[str, str] = {}
        if loaded is None or interrupted:
            self._disk = _scan(self.root)
            trusted = {p: h for p, h in (loaded.files if loaded else {}).items() if self._disk.get(p) == h}
            versions = {p: v for p, v in (loaded.versions if loaded else {}).items() if p in trusted}
            loaded = Manifest(trusted, versions, 0, loaded.guarded_with if loaded else None)
        self.manifest = loaded
        self.hashes = loaded.files
        self.versions = loaded.versions

    def exists(self, path: str) -> bool:
        """Whether a file is in the site (the manifest knows it and it is on disk)."""
        return path in self.hashes and is_plain_file(os.path.join(self._root, path))

    def guard_with(self, key: str) -> None:
        """Check this build's pages against private values worked out from ``key`` besides their
        records (``source.guard_key``): recorded when the build finishes, never before."""
        self._guard_key = key

    @property
    def guarded_alike(self) -> bool:
        """Whether the last build checked its pages against values worked out as this one's are: if
        not (a customer added to the config, the guard's rules changed), no page can be trusted as
        checked, whatever its record's version."""
        return self._guard_key is not None and self._guard_key == self.manifest.guarded_with

    def unchanged(self, path: str, data: bytes, version: str | None) -> bool:
        """Whether this build wrote exactly ``data`` at ``path`` from this same ``version`` already,
        its values worked out alike.

        Then it was checked by the egress guard against the same private values, and a full
        build need not check its ten thousand unchanged pages again.
        """
        return (version is not None and self.guarded_alike and self.versions.get(path) == version
                and self.hashes.get(path) == sha256(data))

    def write(self, path: str, data: bytes, *, version: str | None = None) -> None:
        """Write ``data`` at ``path`` (relative, '/'-separated) unless it is there already.

        ``version``: for an incident page, the version of the store's record it shows.
        The file may still be on its way to the disk until ``flush()``.
        """
        target = self._target(path)
        digest = sha256(data)
        wrote = self.needs_writing(path, target, digest)
        if wrote:
            self._send(target, data)
        self.record(path, digest, version=version, wrote=wrote)

    def needs_writing(self, path: str, target: str, digest: str) -> bool:
        """Whether a file with this hash must be written: the disk may not hold it already, or holds a link
        there (a web server serving the folder would follow it wherever it points; the write replaces it)."""
        return self.hashes.get(path, self._disk.get(path)) != digest or not is_plain_file(target)

    def record(self, path: str, digest: str, *, version: str | None = None, wrote: bool = True) -> None:
        """Take a file written at ``path`` (``wrote``: to disk, not found there) into the manifest,
        as ``write`` does; for pages another process wrote (``broadcaster.site.parallel``)."""
        if wrote:
            self.written.add(path)
        if self.hashes.get(path) != digest:
            self.hashes[path] = self._changed[path] = digest
        if version is not None and self.versions.get(path) != version:
            self.versions[path] = self._versions_changed[path] = version

    def others_write(self) -> None:
        """Other processes write pages into this folder for this build (``broadcaster.site.parallel``):
        if it fails, what they wrote is unknown here, and the next build checks the disk."""
        self._others_write = True

    def detach(self) -> None:
        """In a worker process forked from the build (``broadcaster.site.parallel``): write each
        file at once, never through a child of its own, and count only what is written here."""
        self._child = None
        self._may_offload = False
        self.written = set()

    def remove(self, path: str, *, even_unlisted: bool = False) -> None:
        """Take a file out of the site (an incident the store no longer has). ``even_unlisted``: out of
        the folder too when the manifest does not name it (a page a failed build wrote), for a page
        that must not be served even by a web server pointed at the folder."""
        if path not in self.hashes and not even_unlisted:
            return
        target = os.path.join(self._root, path)
        try:
            if self._is_folder(os.path.dirname(target)):  # never through a link: unlink follows the folders
                os.unlink(target)  # unlink removes a link, never its target
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _error(self.root / path, exc) from exc
        if path not in self.hashes:
            return
        del self.hashes[path]
        self._changed[path] = None
        # The journal is rewritten whole: its older lines would keep the name (a customer's old token,
        # a component taken out of the config) in the folder for good.
        self.manifest.lines = 0
        if self.versions.pop(path, None) is not None:
            self._versions_changed[path] = None

    def remove_all(self, paths: Iterable[str], *, even_unlisted: bool = False) -> None:
        """``remove`` each of ``paths``, once every folder they are in is known to be a real folder of the
        site: a link among them is refused before anything is removed."""
        paths = list(paths)
        for path in paths:
            if path in self.hashes or even_unlisted:
                self._is_folder(os.path.dirname(os.path.join(self._root, path)))
        for path in paths:
            self.remove(path, even_unlisted=even_unlisted)

    def remove_folder(self, folder: str) -> None:
        """Take an emptied folder of the site away (a customer's old ``a/<token>/``): its name was a
        capability, and an empty folder would still say it existed."""
        target = os.path.join(self._root, folder.rstrip("/"))
        if not self._is_folder(os.path.dirname(target)):
            return  # already gone
        self._dirs.discard(target)  # a later write in this build makes it again
        try:
            os.rmdir(target)  # rmdir never follows a link: a folder that is one stays, and so does its target
        except OSError:
            pass  # not empty (a file still being written), or already gone: the next build tries again

    def _is_folder(self, folder: str) -> bool:
        """Whether ``folder`` is a real folder of the site, every folder above it too (False: it is not
        there); a symbolic link or a file among them is refused as ``_folder`` refuses it for a write,
        so nothing is removed through a link either."""
        parent = os.path.dirname(folder)
        if folder in self._dirs or parent == folder:
            return True
        if not self._is_folder(parent):
            return False
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _error(Path(folder), exc) from exc
        self._refuse_unless_folder(folder, mode)
        self._dirs.add(folder)
        return True

    def flush(self) -> None:
        """Wait until every file written so far is on disk (before writing what links to them)."""
        child, self._child = self._child, None
        self._may_offload = False
        if child is not None:
            child.close()

    def abandon(self) -> None:
        """After a failed build: stop the child writer without raising, and forget what this build
        changed (some of it may not be on disk), so the next build writes it again."""
        child, self._child = self._child, None
        if child is not None:
            child.wait()
        for path in self._changed:
            self.hashes.pop(path, None)
            self._changed[path] = None
            if self.versions.pop(path, None) is not None:
                self._versions_changed[path] = None
        try:
            self._save_manifest()
            if not self._others_write:
                (self.root / BUILDING).unlink(missing_ok=True)
        except OSError:
            pass  # the marker stays: the next build checks the disk instead

    def finish(self) -> BuiltSite:
        """Record the hashes and end the build; the returned site excludes our own files."""
        self.flush()
        if self._guard_key is not None and self._guard_key != self.manifest.guarded_with:
            self.manifest.guarded_with = self._guard_key
            self.manifest.lines = 0  # written whole: the journal's lines hold files and versions only
        try:
            self._save_manifest()
            (self.root / BUILDING).unlink(missing_ok=True)
        except OSError as exc:
            raise _error(self.root / MANIFEST, exc) from exc
        return BuiltSite(root=self.root, hashes=dict(self.hashes), versions=dict(self.versions))

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
        self._folder(os.path.dirname(target))
        return target

    def _folder(self, folder: str) -> None:
        """Make sure ``folder`` is a real folder of the site (created world-readable), never a link."""
        if folder in self._dirs:
            return
        self._folder(os.path.dirname(folder))
        try:
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                try:
                    # a/ holds customers' tokens as folder names: never listable, not even until the build closes it
                    final = AUDIENCE_DIR_MODE if folder == self._audience_dir else FOLDER_MODE
                    os.mkdir(folder, 0o700)
                    os.chmod(folder, final)  # the umask must not make it private, nor a/ listable
                except FileExistsError:
                    pass  # another build made it: check it like any other
                mode = os.lstat(folder).st_mode
        except OSError as exc:
            raise _error(Path(folder), exc) from exc
        self._refuse_unless_folder(folder, mode)
        self._dirs.add(folder)

    @staticmethod
    def _refuse_unless_folder(folder: str, mode: int) -> None:
        if stat.S_ISLNK(mode):
            raise permanent(
                f"{folder} is a symbolic link inside the site folder; broadcaster never writes "
                "through links. Remove it (the next build creates a real folder) and run the command again."
            )
        if not stat.S_ISDIR(mode):
            raise _error(Path(folder), OSError(f"{folder} is a file, not a folder"))

    def _save_manifest(self) -> None:
        manifest = self.root / MANIFEST
        lines = self.manifest.lines
        if lines and lines < _COMPACT_AFTER:
            if self._changed or self._versions_changed:
                # Never through a link someone put in its place (it would append the site's
                # hashes, customers' pages among them, wherever it points).
                fd = os.open(manifest, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
                with os.fdopen(fd, "ab") as journal:
                    os.fchmod(fd, MANIFEST_MODE)  # one written by an older version was world-readable
                    journal.write(_line({"files": self._changed, "versions": self._versions_changed}))
                lines += 1
        else:
            whole = {"version": MANIFEST_VERSION, "files": self.hashes, "versions": self.versions,
                     "guarded_with": self.manifest.guarded_with}
            replace_file(manifest, _line(whole), mode=MANIFEST_MODE)
            lines = 1
        self._changed, self._versions_changed = {}, {}
        self.manifest.lines = lines
        _RECENT[self.root] = (_identity(manifest), self.manifest.copy())


def site_files(root: Path) -> dict[str, str]:
    """The files of the site built in ``root`` (path -> hash): what its manifest lists, nothing else."""
    loaded = _load_manifest(root)
    return dict(loaded.files) if loaded else {}


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
        status = self.process.wait()
        if status == 0:
            return ""
        # Stopped without a word (killed, or an error that is not a file's): what it was given is not on disk.
        return report or f"\tthe file writer stopped ({_exit_reason(status)})"

    def close(self) -> None:
        """Wait for the child to write everything; raise DeliveryError for its first failure."""
        report = self.wait()
        if report:
            path, _, reason = report.rstrip("\n").partition("\t")
            raise _error(
                Path(path or "the output directory"), OSError(reason or "the file writer failed")
            )


def _exit_reason(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _load_manifest(root: Path) -> Manifest | None:
    """The manifest, or None if there is no usable one."""
    manifest = root / MANIFEST
    try:
        identity = _identity(manifest)
        recent = _RECENT.get(root)
        if recent and recent[0] == identity:
            return recent[1].copy()
        lines = manifest.read_bytes().splitlines()
        head = json.loads(lines[0])  # the whole site (10,000 pages: 2 MB), read once; the lines after it are changes
        if head.get("version") != MANIFEST_VERSION:
            return None
        files: dict[str, str] = {}
        versions: dict[str, str] = {}
        for entry in (head, *map(json.loads, lines[1:])):
            _apply(files, entry["files"])
            _apply(versions, entry.get("versions") or {})
        guarded_with = head.get("guarded_with")
    except (OSError, IndexError, KeyError, TypeError, AttributeError, ValueError):
        return None
    return Manifest(files, versions, len(lines), guarded_with if isinstance(guarded_with, str) else None)


def _apply(into: dict[str, str], changes: dict[str, str | None]) -> None:
    if not into and None not in changes.values():  # the first line: the whole site, nothing removed
        into.update(changes)  # type: ignore[arg-type]
        return
    for key, value in changes.items():
        if value is None:
            into.pop(key, None)
        else:
            into[key] = value


def _scan(root: Path) -> dict[str, str]:
    """Hash every regular file already in the folder (no manifest, or after an interrupted build)."""
    hashes = {}
    for directory, subdirs, names in os.walk(root):  # never into a linked folder
        subdirs.sort()
        for name in names:
            path = os.path.join(directory, name)
            relative = Path(path).relative_to(root).as_posix()
            if is_temporary(name):
                _remove_leftover(path)
            elif relative not in INTERNAL and stat.S_ISREG(os.lstat(path).st_mode):
                with open(path, "rb") as file:
                    hashes[relative] = sha256(file.read())
    return hashes


def _remove_leftover(path: str) -> None:
    """A temporary file left by a build that died mid-write; or another command's marker on its way in (``mark``
    runs before the site lock, in a folder new to both), renamed into place since it was listed: gone is fine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _error(path: Path, exc: OSError) -> DeliveryError:
    return permanent(
        f"cannot write the status page at {path}: {exc.strerror or exc}. "
        "Check that the output directory exists and is writable (page.output_dir), "
        "then run the command again."
    )

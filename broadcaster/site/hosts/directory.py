"""Copy the built site into a local or mounted folder that a web server serves, atomically.

A web server must never serve half a site. Each publish writes a full copy
beside the folder (``.<name>.broadcaster-tmp-<random>``: a name no person gives
a folder, and only such copies are ever removed as a dead publish's leftovers)
and then swaps the two: on Linux with one ``renameat2(RENAME_EXCHANGE)`` call, so there is no moment without a
site; elsewhere with two renames (old away, new in), which leaves a gap of
microseconds where the folder is missing but never shows a mixed or partial
site. The old copy is deleted afterwards.

Why not a symlink swap: it turns the operator's folder into a link, which web
servers set not to follow links (nginx ``disable_symlinks``) refuse. Either way
a container that bind-mounts the folder itself keeps seeing the old copy:
mount its parent instead.

The folder is replaced whole, so it must be broadcaster's: new, empty, or
holding the marker file a publish wrote into this very folder (``site.folder``,
``folder_mark``). A marker copied into a web root with a site hands over only
the files that publish wrote there, same path and same content (the marker
holds a digest of each, but of customers' pages, which a list in ``a/`` holds: the marker is served, and would count
the customers): never the web root's other files, whatever their names (a marker from before
2026-12-05, which holds no digests, is trusted as then, its site-shaped files ours, for the one publish that
rewrites it; see ``DirectoryHost._copied_ours``). A folder holding anything
else (a project folder, a home folder), or a folder this account cannot list, is refused, never emptied; a folder
without the marker (an older version's) is adopted only when it holds
broadcaster's API files, which no hand-written page has. A link or a file in
the folder's place is refused before anything is stored, and so is a mount
point (a share mounted at ``/mnt/status``: it cannot be renamed, so point the
target at a folder inside it, ``/mnt/status/site``). The
copy is world-readable (files 0644, folders 0755) whatever the umask (but
``a/``, customers' pages, 0711 from the moment it is made: no one lists their tokens), and nothing is
written through a link.

The marker also records which store the site was built from and how far that
store had got (sealed, as the S3 manifest does: the web server serves the
marker too, see ``hosts._sealed``): a publish never replaces a site built from
a later state of the same store (another machine mounting the same share). It
is rewritten only with the site, so no byte readers can fetch changes when the
page does not. And it holds an id, which names the store lock publishes take
turns on: the same on every machine, wherever each mounts the share.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from broadcaster import lazy_re
from broadcaster.delivery import CheckResult, Receipt
from broadcaster.errors import ConfigError, DeliveryError, permanent
from broadcaster.site.file_writer import replace_file
from broadcaster.site.folder import (
    AUDIENCE_DIR,
    AUDIENCE_DIR_MODE,
    AUDIENCE_INDEX,
    FOLDER_MODE,
    MARKER,
    MARKER_TEXT,
    SITE_SIGNATURE,
    FolderState,
    close_audience_dir,
    in_the_way,
    inspect,
    is_site_path,
    mount_at_or_below,
)
from broadcaster.site.hosts import BuiltSite, SiteHost, publish_in_thread
from broadcaster.site.hosts._sealed import seal, store_digest, unseal

if TYPE_CHECKING:
    from broadcaster.config import ChannelConfig

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
_RECORD = b"publish: "  # the marker's line after MARKER_TEXT: {"id", "store" (its digest), "sealed"}
_FOLDER = b"folder: "  # a line before it: folder_mark of the folder the publish wrote the marker into
_FILES = b"files: "  # a line before it: published_digest of every file the publish wrote (path and content)
_MARKER_READ = 8 * 1024 * 1024  # a marker names every file (13 bytes each); a planted bigger file is not read
# The digests of customers' pages (a/<token>/...) are kept out of the served marker, which would count the customers
# and show when one alone got an update: in a/ (0711, never listed, a/index.html in the way of autoindex), under a
# random name, 0600. The publish finds it by listing a/, which only its owner can; it travels with a copy (cp -a).
_UNSERVED_NAME = ".broadcaster-files-"
_UNSERVED = lazy_re.compile(rf"{re.escape(AUDIENCE_DIR + _UNSERVED_NAME)}[0-9a-f]{{24}}")
_UNSERVED_MODE = 0o600
_ID = b"id: "
# The lists a site published of its incidents (50 most recent of each kind, withdrawn ones until withdrawn): what an
# old marker's own site says this store published, read when the marker records no files (``_published_paths``).
_LISTINGS = {"api/v2/incidents.json": "incidents", "api/v2/scheduled-maintenances.json": "scheduled_maintenances"}
_FINGERPRINTED = lazy_re.compile(r"([a-z-]+)\.[0-9a-f]{8}\.(css|svg)")


@dataclass(frozen=True)
class Record:
    """The marker's record: the target's id, which store (its digest) built the site and how far the
    store had got (sealed with the store's id), and which folder the publish wrote it into (``folder_mark``)."""

    id: str
    store: str = ""
    sealed: str = ""
    folder: str = ""
    # published_digest of each file the publish wrote; None in a marker written before 2026-12-05 (no such line).
    files: frozenset[str] | None = None
    # published_digest of each customer's page it wrote, read from the unserved list beside the pages (see _UNSERVED).
    unserved: frozenset[str] = frozenset()

    @classmethod
    def of_marker(cls, marker: bytes) -> Record | None:
        """None for a marker without a record (an older version's) or with a damaged one."""
        line = next((x for x in marker.splitlines() if x.startswith(_RECORD)), None)
        try:
            value = json.loads(line[len(_RECORD):]) if line else None
        except ValueError:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
            return None
        store, sealed = value.get("store"), value.get("sealed")
        folder = next((x[len(_FOLDER):] for x in marker.splitlines() if x.startswith(_FOLDER)), b"")
        listed = next((x[len(_FILES):] for x in marker.splitlines() if x.startswith(_FILES)), None)
        files = None if listed is None else frozenset(listed.decode("ascii", "replace").split())
        return cls(value["id"], store if isinstance(store, str) else "", sealed if isinstance(sealed, str) else "",
                   folder.decode("ascii", "replace").strip(), files)

    def generation(self, store_id: str) -> int | None:
        """How far ``store_id`` had got when it built the site here; None when another store built it."""
        if not store_id or self.store != store_digest(store_id):
            return None
        generation = (unseal(store_id, self.sealed) or {}).get("generation")
        if isinstance(generation, str) and generation.isascii() and generation.isdigit():
            return int(generation)
        return None

    def written_here(self, folder: Path) -> bool:
        """Whether a publish wrote this record into ``folder`` itself, not into a folder it was copied from."""
        return bool(self.folder) and self.folder == folder_mark(self.id, folder)

    def marker(self, site: BuiltSite, folder: Path) -> bytes:
        """The marker to publish with ``site`` in ``folder`` (which becomes the target): this id, the site's origin."""
        value = {"id": self.id, "store": store_digest(site.store), "sealed": ""}
        if site.store:  # the number padded: a longer one must not show as a longer seal
            value["sealed"] = seal(site.store, {"generation": f"{site.generation:020d}"})
        here = _FOLDER + folder_mark(self.id, folder).encode() + b"\n"
        served = sorted(published_digest(p, h) for p, h in site.hashes.items() if not is_unserved(p))
        files = _FILES + " ".join(served).encode() + b"\n"
        # The JSON line last: readers (and older versions) take everything after "publish: " as the record.
        return MARKER_TEXT + here + files + _RECORD + json.dumps(value, sort_keys=True).encode() + b"\n"

    def unserved_list(self, site: BuiltSite) -> bytes | None:
        """The digests of ``site``'s customers' pages, to keep beside them (``_UNSERVED``); None when it has none."""
        digests = sorted(published_digest(p, h) for p, h in site.hashes.items() if is_unserved(p))
        if not digests:
            return None
        return MARKER_TEXT + _ID + self.id.encode() + b"\n" + _FILES + " ".join(digests).encode() + b"\n"

    def published(self, relative: str, content_hash: str) -> bool:
        """Whether the publish that wrote this record put exactly this file (path and content) in the folder."""
        digest = published_digest(relative, content_hash)
        return self.files is not None and (digest in self.files or digest in self.unserved)


class DirectoryHost(SiteHost):
    """``type = "directory"``: ``path`` (relative to the config file, or absolute) holds the site."""

    type_name = "directory"
    required_options = ("path",)
    over_network = False  # a copy on this machine (or a mounted share): no round trips to wait for

    # Copies left by a publish that died half way are removed once they are this old (seconds);
    # younger ones may belong to a publish running right now in another process.
    stale_after: ClassVar[float] = 3600.0
    # renameat2 where the kernel has it; False forces the portable two renames (macOS, BSD).
    use_exchange: ClassVar[bool] = True

    def __init__(self, config: ChannelConfig, base_dir: Path) -> None:
        super().__init__(config, base_dir)
        path = Path(str(config.options["path"])).expanduser()
        self.target = path if path.is_absolute() else base_dir / path
        name = re.escape(self.target.name)
        self._leftover = re.compile(rf"^\.{name}\.broadcaster-(tmp|old)-[0-9a-f]{{12}}$")
        # What versions before 2026-12-04 named their copies; an operator's `cp -a www www.old-$(date ...)`
        # has the same shape, so such a folder is only removed when empty.
        self._old_leftover = re.compile(rf"^{name}\.(tmp|old)-[0-9a-f]{{12}}$")

    @property
    def place(self) -> str:
        # The id the first publish recorded, not the path: two machines mounting one share at different
        # paths (/mnt/status/site, /Volumes/status/site) take turns on one lock. The path until there is a record
        # (one publish of this version makes it).
        try:
            record = self._read_record()
        except OSError:
            record = None
        return f"directory:{record.id}" if record else f"directory:{self.target.resolve()}"

    async def publish(self, site: BuiltSite) -> Receipt:
        """Replace the folder's content with ``site``, unless it already holds exactly that."""
        return await publish_in_thread(self, lambda: self._publish(site))  # cut, the copy is swapped in all the same

    def _publish(self, site: BuiltSite) -> Receipt:
        self._refuse_overlap(site)
        try:
            refusal = self._refusal(site)
            if refusal:
                raise permanent(refusal)
            record = self._read_record()
            published = record.generation(site.store) if record else None
            site.refuse_restored_over(published, str(self.target))
            if site.behind(published):
                return Receipt(remote_id=str(self.target), notes=(
                    f"kept: {self.target} already holds a site built from a later state of the store "
                    f"(generation {published} > {site.generation})",))
            restored = [site.restored_note(published)] if published is not None and site.restored_over(published) else []
            differing = self._differences(site) + (record is None)  # no record yet: write one with the site
            if not differing and not restored:
                return Receipt(remote_id=str(self.target), notes=("unchanged",))
            _make_folders(self.target.parent, set())
            self._remove_leftovers()
            self._replace(site, record or Record(secrets.token_hex(8)))
        except OSError as exc:
            raise self._error(exc) from exc
        return Receipt(remote_id=str(self.target), notes=(f"{differing} files changed", *restored))

    def _refusal(self, site: BuiltSite | None = None) -> str | None:
        """Why publishing here is refused (a link or a file in the folder's place, a folder of someone
        else's files); None when it is not. Asked by ``preflight`` and by the publish (with its ``site``) alike."""
        if self.target.is_symlink() or (self.target.exists() and not self.target.is_dir()):
            return (
                f"publish.{self.name}.path ({self.target}) is not a folder (a file or a symbolic link). Point "
                f"publish.{self.name}.path at a real folder, or remove what is there."
            )
        mount = self._mount_refusal()
        if mount:
            return mount
        state = self._state(site)
        return self._foreign(state) if state.kind == "foreign" else None

    def _mount_refusal(self) -> str | None:
        """Why the folder cannot be swapped because of a mount (it is one, or one is inside it); None if not.
        A mount point cannot be renamed (EBUSY): every publish would fail after the update was stored and sent.
        And a file system mounted inside the folder would go with the old copy, whose removal empties it."""
        mounted = mount_at_or_below(self.target)
        if mounted is None:
            return None
        inside = self.target / "site"
        what = "is a mount point" if mounted == self.target else f"holds a mount point ({mounted})"
        return (
            f"publish.{self.name}.path ({self.target}) {what}: a publish replaces the folder whole with a new copy, "
            "and a mount point cannot be renamed or replaced. Point path at a folder inside the mounted share or "
            f"volume, e.g. {inside}, and have your web server serve that folder (in a container, mount the folder's "
            "parent rather than the folder itself)."
        )

    def _state(self, site: BuiltSite | None = None) -> FolderState:
        # The folder is replaced whole. A marker a publish wrote into this very folder makes it ours, files someone
        # dropped in since included ("Keep nothing else here"). A marker copied in with a site (rsync -a public/
        # /var/www/html/: the output folder's, which has no record, or another target's) does not hand over the
        # web root it was copied into: every file there must then be one broadcaster published (_copied_ours).
        try:
            record = self._read_record()
        except OSError:
            record = None
        if record is not None and record.written_here(self.target):
            return inspect(self.target, frozenset({MARKER}), is_site_path, SITE_SIGNATURE)
        if record is not None and record.files is not None:
            record = dataclasses.replace(record, unserved=_unserved_digests(self.target, record.id))
        return inspect(self.target, frozenset({MARKER}), self._copied_ours(record, site), SITE_SIGNATURE,
                       marker_alone=False)

    def _copied_ours(self, record: Record | None, site: BuiltSite | None) -> Callable[[str], bool]:
        """Whether a file of a folder whose marker no publish wrote there is broadcaster's. Its shape proves nothing
        (a hand-written status page's incidents/2023-05-01-outage.html, a CI badge): its content must be what the
        record says a publish put at that path, or this build's file there.

        A target's marker written before 2026-12-05 (a record, but no file digests and no folder mark of this
        kind) is trusted as it was then: with it, every site-shaped file is broadcaster's. Every such target holds
        its own older files (a withdrawn page, the previous release's style.<hash>.css) that no digest names and
        this build does not write; refusing them stranded every target at its first publish after the upgrade.
        That publish writes the marker with the digests, so the content check applies from then on. Such a marker
        with a folder line (65d2534's, of the inode) is trusted so only in the folder that line names
        (``_old_record_here``). One without (older still) names nothing of its folder, and no file time tells a
        copy (cp -r, a checkout: all written now) from the folder it was published in: it hands over only the
        paths this store published (``_published_paths``); copied elsewhere, each other file must be this
        build's, content and all.

        A marker without a record (the output folder's, copied in with ``rsync -a public/``) proves nothing: a
        file then counts when it is site-shaped and, at the publish, a path this build writes too (an old page of
        the web root's own is not one); ``preflight`` (no build yet) checks its shape only."""
        published: frozenset[str] | None = None

        def accept(relative: str) -> bool:
            nonlocal published
            if record is not None and _UNSERVED.fullmatch(relative):
                return True  # the list of a target's customers' pages (only a target's marker has a record)
            if not is_site_path(relative):
                return False
            if record is not None and record.files is None and _old_record_here(record, self.target):
                return True
            if record is not None and record.files is None and not record.folder and site is not None:
                if published is None:
                    published = _published_paths(self.target, site)
                if relative in published or _an_asset_of(relative, site):
                    return True
            if record is None:
                return site is None or relative in site.hashes
            if site is None and record.files is None:  # preflight, before the build: the shape only
                return True
            content = _content_hash(self.target / relative)
            if content is None:
                return False
            return record.published(relative, content) or (site is not None and site.hashes.get(relative) == content)

        return accept

    def _read_record(self) -> Record | None:
        """The record in the target's marker; None when there is none (no marker, an older version's)."""
        # A marker that cannot be read for another reason than its absence (or a link: the swap replaces it) is an
        # error to report, not a folder without a marker.
        with _regular_file(self.target / MARKER, absent_only=True) as file:
            return Record.of_marker(file.read(_MARKER_READ)) if file is not None else None

    def _foreign(self, state: FolderState) -> str:
        from broadcaster.redaction import without_customer_pages  # a customer's page named: its token masked

        named = without_customer_pages(state.describe())
        if state.unreadable:
            return (
                f"publish.{self.name}.path ({self.target}) holds folders you cannot list ({named}): they belong to "
                "another account, or their permissions shut you out, so broadcaster cannot tell what is in them. A "
                "publish replaces the whole folder: it would move them out of the web server's way. If this folder is "
                "yours to publish into, make it and everything in it readable by the account that runs broadcaster "
                "(chown or chmod); otherwise point path at a new or empty folder of your own."
            )
        if self._unrecorded_site_files(state):
            return self._unrecorded(named)
        copied = (
            f" Its {MARKER} file does not make them broadcaster's: no publish wrote it into this folder (it came "
            "with a copy of a site, rsync -a or cp -a, or from a version before 2026-12-05), and they are not what "
            "broadcaster published there, whatever their names."
            if os.path.lexists(self.target / MARKER) else ""
        )
        return (
            f"publish.{self.name}.path ({self.target}) holds files broadcaster did not write "
            f"({named}). A publish replaces the whole folder, so it would delete "
            f"them.{copied} Point "
            "path at a new or empty folder (the one your web server serves), or move those files out."
        )

    def _unrecorded_site_files(self, state: FolderState) -> bool:
        """Whether some refused file has the shape of a site's file under a marker that records no files (the
        output folder's, or a version's from before records): then nothing tells broadcaster's own older files
        (a withdrawn page, an old stylesheet) from a web root's own, so the refusal must not call them foreign."""
        if not any(is_site_path(x) for x in state.strangers) or not os.path.lexists(self.target / MARKER):
            return False
        try:
            record = self._read_record()
        except OSError:
            return True
        return record is None or record.files is None

    def _unrecorded(self, named: str) -> str:
        return (
            f"publish.{self.name}.path ({self.target}) holds files this build does not write ({named}), and its "
            f"{MARKER} file records no list of the files broadcaster wrote there (it is the site output folder's, "
            "copied in with rsync -a or cp -a, or a very old version's), so broadcaster cannot tell whether they are "
            "its own older files (a withdrawn page, an old stylesheet) or the web server's own that only look like "
            "them. A publish replaces the whole folder, so it would delete them. If this folder holds only a site "
            "broadcaster published, delete those files and run `broadcaster site publish`; otherwise point path at a "
            "new or empty folder (the one your web server serves), or move those files out."
        )

    def preflight(self) -> None:
        """Before anything is stored: refuse a folder that holds files broadcaster did not write, or that a
        file keeps from being made."""
        blocker = in_the_way(self.target)
        if blocker is not None and blocker != self.target:  # the folder itself a file: _refusal says so
            raise ConfigError(
                f"publish.{self.name}.path ({self.target}) cannot be made: {blocker} is a file, not a folder, so "
                f"nothing can be inside it. Point path at a folder of its own, or move {blocker} aside. Nothing "
                "was stored or sent."
            )
        refusal = self._refusal()
        if refusal:
            raise ConfigError(refusal + " Nothing was stored or sent.")

    def _differences(self, site: BuiltSite) -> int:
        """How many files differ between the folder and the site (added, changed or removed)."""
        if not self.target.is_dir():
            return len(site.hashes) or 1
        present = _regular_files(self.target)
        if present.pop(MARKER, None) is None:
            return len(site.hashes) + 1  # not marked yet: write the marker with the site
        listed = [present.pop(x) for x in [x for x in present if _UNSERVED.fullmatch(x)]]
        # A marker written before the list (its digests of customers' pages served) is rewritten without them.
        unlisted = int(any(is_unserved(x) for x in site.hashes) != bool(listed))
        count = len(set(present) ^ set(site.hashes)) + _audience_dir_open(self.target) + unlisted
        for relative, path in present.items():
            if relative not in site.hashes:
                continue
            mode = path.lstat().st_mode
            # A link, or a file a web server running as another user cannot read, is replaced.
            if not stat.S_ISREG(mode) or mode & 0o044 != 0o044:
                count += 1
            elif hashlib.sha256(path.read_bytes()).hexdigest() != site.hashes[relative]:
                count += 1
        return count

    def _replace(self, site: BuiltSite, record: Record) -> None:
        fresh = self.target.with_name(f".{self.target.name}.broadcaster-tmp-{secrets.token_hex(6)}")
        try:
            fresh.mkdir(mode=0o700)
            # Keep the mode the operator gave the folder (e.g. 0750); a new one is world-readable.
            existing = self.target.stat().st_mode if self.target.is_dir() else FOLDER_MODE
            os.chmod(fresh, stat.S_IMODE(existing))
            made = {fresh}
            if any(x.startswith(AUDIENCE_DIR) for x in site.hashes):
                # Closed before a token is in it: the copy's name is visible beside the target all publish long.
                _make_folders(fresh / AUDIENCE_DIR, made, AUDIENCE_DIR_MODE)
            for relative in site.hashes:
                destination = fresh / relative
                _make_folders(destination.parent, made)
                replace_file(destination, site.read(relative))
            unserved = record.unserved_list(site)
            if unserved is not None:
                name = f"{_UNSERVED_NAME}{secrets.token_hex(12)}"
                replace_file(fresh / AUDIENCE_DIR / name, unserved, _UNSERVED_MODE)
            replace_file(fresh / MARKER, record.marker(site, fresh))
            close_audience_dir(fresh)  # customers' tokens: never listed (site.folder.AUDIENCE_INDEX)
            self._swap(fresh)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)  # after a swap it holds the old site

    def _swap(self, fresh: Path) -> None:
        """Put ``fresh`` in the target's place; afterwards ``fresh`` holds the old site, if any."""
        if not self.target.exists():
            os.rename(fresh, self.target)
            return
        if self.use_exchange and _exchange(fresh, self.target):
            return
        old = self.target.with_name(f".{self.target.name}.broadcaster-old-{secrets.token_hex(6)}")
        os.rename(self.target, old)
        try:
            os.rename(fresh, self.target)
        except OSError:
            os.rename(old, self.target)  # put the old site back rather than leave none
            raise
        os.rename(old, fresh)

    def _remove_leftovers(self) -> None:
        """Remove the copies a publish that died half way left beside the folder, once stale: only those
        named as broadcaster names them, and folders of the older naming only when they are empty."""
        now = time.time()
        for sibling in self.target.parent.iterdir():
            ours, older = self._leftover.match(sibling.name), self._old_leftover.match(sibling.name)
            if not (ours or older):
                continue
            with contextlib.suppress(FileNotFoundError):  # another publish removed it first
                status = sibling.lstat()
                if not stat.S_ISDIR(status.st_mode) or now - status.st_mtime <= self.stale_after:
                    continue
                if ours:
                    shutil.rmtree(sibling, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        sibling.rmdir()  # fails unless empty: what is in it may be an operator's backup

    def _refuse_overlap(self, site: BuiltSite) -> None:
        target, root = self.target.resolve(), site.root.resolve()
        if target == root or target.is_relative_to(root) or root.is_relative_to(target):
            raise permanent(
                f"publish.{self.name}.path ({self.target}) overlaps the folder the site is built in "
                f"({site.root}). Point it somewhere else, e.g. the folder your web server serves."
            )

    def _error(self, exc: OSError) -> DeliveryError:
        from broadcaster.redaction import without_customer_pages  # a file of a customer's page: its token masked

        failed = without_customer_pages(str(exc.filename or self.target))
        what = f"cannot write the site to {self.target}: {without_customer_pages(exc.strerror or str(exc))} ({failed})."
        return permanent(f"{what} {self._advice(exc.errno)}")

    def _advice(self, code: int | None) -> str:
        """What to do about a failed publish, by its cause: none of these goes away by retrying."""
        if code in (errno.EBUSY, errno.EXDEV):  # renaming a mount point, or across one
            return (
                f"{self.target} cannot be swapped for the new copy: it is a mount point (a share or a volume mounted "
                f"there, perhaps since the last check) or in use as one. Point publish.{self.name}.path at a folder "
                f"inside it, e.g. {self.target / 'site'}, and have your web server serve that folder; then run "
                "`broadcaster site publish`."
            )
        if code == errno.EROFS:
            return (
                "The file system is mounted read-only. Mount it writable, or point "
                f"publish.{self.name}.path at a writable folder; then run `broadcaster site publish`."
            )
        if code in (errno.ENOSPC, errno.EDQUOT):
            return "The disk (or your quota) is full: free some space, then run `broadcaster site publish`."
        if code in (errno.EACCES, errno.EPERM):  # a folder in it you cannot list is never moved away unseen
            return (
                f"Make {self.target} and everything in it readable and writable by the account that runs broadcaster "
                f"(chown or chmod), and its parent writable, or point publish.{self.name}.path at a folder of your "
                "own; then run `broadcaster site publish`."
            )
        return (
            "Check that the folder and its parent exist and are writable by you, and that the disk has room; "
            "then run `broadcaster site publish`."
        )

    async def check(self) -> list[CheckResult]:
        """Can we create the folder and swap it in? Changes nothing."""
        import asyncio
        return [await asyncio.to_thread(self._check)]

    def _check(self) -> CheckResult:
        existing = self.target.parent
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        where = str(self.target)
        blocker = in_the_way(self.target)
        if blocker is not None and blocker != self.target:
            return CheckResult(self.name, where, False, f"{blocker} is a file, not a folder: nothing can be inside it")
        if self.target.exists() and (self.target.is_symlink() or not self.target.is_dir()):
            return CheckResult(self.name, where, False, "exists but is not a folder; point path at a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            return CheckResult(self.name, where, False, f"{existing} is not writable; the swap needs to write beside the folder")
        mount = self._mount_refusal()
        if mount:
            return CheckResult(self.name, where, False, mount)
        state = self._state()
        if state.kind == "foreign":
            return CheckResult(self.name, where, False, self._foreign(state))
        detail = {
            "missing": "the folder will be created",
            "empty": "the folder is empty; the site will be put in it",
            "ours": "the folder holds a site published by broadcaster; it will be replaced",
        }[state.kind]
        return CheckResult(self.name, where, True, f"writable; {detail}")


def _regular_files(folder: Path) -> dict[str, Path]:
    """Every file under ``folder``, without following links; a link counts as a file that differs."""
    found = {}

    def cannot_list(exc: OSError) -> None:
        raise exc  # a folder skipped would read as holding nothing

    for directory, subdirs, names in os.walk(folder, onerror=cannot_list):
        for name in [*names, *(d for d in subdirs if os.path.islink(os.path.join(directory, d)))]:
            path = Path(directory, name)
            found[path.relative_to(folder).as_posix()] = path
    return found


def _audience_dir_open(target: Path) -> int:
    """1 when ``target``'s ``a/`` may be listed by other users (published before it was closed), else 0."""
    try:
        mode = os.lstat(target / AUDIENCE_DIR).st_mode
    except FileNotFoundError:
        return 0
    return int(stat.S_ISDIR(mode) and stat.S_IMODE(mode) != AUDIENCE_DIR_MODE)


def _make_folders(folder: Path, made: set[Path], mode: int = FOLDER_MODE) -> None:
    """Create ``folder`` (with ``mode``) and its parents in the fresh copy, world-readable whatever the umask."""
    if folder in made or folder.is_dir():
        return
    _make_folders(folder.parent, made)
    folder.mkdir(mode=0o700)  # then opened as far as it should be: never further for a moment, whatever the umask
    os.chmod(folder, mode)
    made.add(folder)


def is_unserved(relative: str) -> bool:
    """Whether a file of the site is a customer's page (``a/<token>/...``): its digest is kept out of the marker."""
    return relative.startswith(AUDIENCE_DIR) and relative != AUDIENCE_INDEX


def _unserved_digests(target: Path, target_id: str) -> frozenset[str]:
    """The digests of customers' pages the list in ``target``'s ``a/`` holds, if it is ``target_id``'s."""
    try:
        names = [x for x in os.listdir(target / AUDIENCE_DIR) if _UNSERVED.fullmatch(AUDIENCE_DIR + x)]
    except OSError:  # no a/ (no customers' pages), or not ours to list
        return frozenset()
    digests: set[str] = set()
    for name in names:
        with _regular_file(target / AUDIENCE_DIR / name) as file:
            lines = file.read(_MARKER_READ).splitlines() if file is not None else []
        if _ID + target_id.encode() not in lines:  # another target's list, copied in: it proves nothing here
            continue
        listed = next((x[len(_FILES):] for x in lines if x.startswith(_FILES)), b"")
        digests.update(listed.decode("ascii", "replace").split())
    return frozenset(digests)


def published_digest(relative: str, content_hash: str) -> str:
    """What the marker records of a file a publish wrote: its path and content, in 12 hex digits (a chance match
    is one in 2**48). Hashed: the marker is served, and a customer's page's path is a secret."""
    return hashlib.sha256(f"{relative}\0{content_hash}".encode()).hexdigest()[:12]


@contextlib.contextmanager
def _regular_file(path: Path, *, absent_only: bool = False) -> Iterator[BinaryIO | None]:
    """``path`` open for reading if it is a regular file, else None: not through a link, and never waiting on a fifo
    someone put in its place (a folder's files are whoever wrote them). With ``absent_only``, only a file that is not
    there (or a link) gives None; any other error opening it is raised."""
    fd: int | None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if absent_only and exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise
        fd = None
    if fd is not None and not stat.S_ISREG(os.fstat(fd).st_mode):  # before fdopen, which refuses a folder
        os.close(fd)
        fd = None
    if fd is None:
        yield None  # outside the except: an error of the caller's is not chained to this one
    else:
        with os.fdopen(fd, "rb") as file:
            yield file


def _content_hash(path: Path) -> str | None:
    """The sha256 of a regular file's content (``_regular_file``); None if it cannot be read."""
    with _regular_file(path) as file:
        if file is None:
            return None
        digest = hashlib.sha256()
        for block in iter(lambda: file.read(1 << 16), b""):
            digest.update(block)
        return digest.hexdigest()


def _old_record_here(record: Record, folder: Path) -> bool:
    """Whether a record that lists no files (written before 2026-12-05) may be trusted as it was then: only one with
    the folder line of 65d2534's kind (sha256 of id and inode) that names this folder. A copy (cp -a, rsync -a) has a
    new inode, and its web root's own pages must not be deleted. One with no folder line (895fe4f to 65d2534) names
    nothing of its folder: ``_published_paths``."""
    if not record.folder:
        return False
    try:
        inode = os.stat(folder).st_ino
    except OSError:
        return False
    return record.folder == hashlib.sha256(f"{record.id}:{inode}".encode()).hexdigest()[:16]


def _published_paths(folder: Path, site: BuiltSite) -> frozenset[str]:
    """The paths of ``folder`` whose files a marker with a record but no folder line hands over: those this build
    writes, the pages of every incident the store holds (``keep``, ``refused``), and those of the incidents the
    site in ``folder`` listed (its own ``api/v2`` lists, written by the publish that wrote the marker, which is how
    a withdrawn incident's page is known: the build has no word of it). Not file times: a copy made with cp -r or
    scp -r, or a web root checked out minutes before, has every file written within the same minutes, the web
    root's own pages too. A web root's own page is at none of these paths (one at an incident's path was
    overwritten by the copy itself), so it is refused and kept."""
    from broadcaster.site.pages import incident_paths  # the build imported it already; a check needs none of it

    listed: set[str] = set()
    for name, key in _LISTINGS.items():
        with _regular_file(folder / name) as file:
            data = file.read(_MARKER_READ) if file is not None else b""
        try:
            rows = json.loads(data).get(key)
        except (ValueError, AttributeError, RecursionError):  # not a list this site wrote: it names nothing
            continue
        if isinstance(rows, list):
            listed.update(x["id"] for x in rows if isinstance(x, dict) and isinstance(x.get("id"), str))
    return frozenset({*site.hashes, *site.keep, *site.refused, *incident_paths(listed).values()})


def _an_asset_of(relative: str, site: BuiltSite) -> bool:
    """Whether ``relative`` is an earlier release's fingerprinted asset of a kind the build writes (style.<hash>.css
    for its style.<hash>.css): the folder's own, renamed when the release changed it."""
    asset = _FINGERPRINTED.fullmatch(relative)
    if asset is None:
        return False
    return any((m := _FINGERPRINTED.fullmatch(x)) and m.groups() == asset.groups() for x in site.hashes)


def folder_mark(target_id: str, folder: Path) -> str:
    """What tells the folder a publish wrote a marker into from a copy of it: its inode number and its birth time
    (to the nanosecond). A swap (a rename) and a move within the file system keep both; a copy (cp -a, rsync -a)
    makes a new folder, born now. The number alone repeats (the first folder of every fresh ext4 disk is inode
    12; a folder an image made has one number on every machine cloned from it), a birth time to the nanosecond
    does not. No device number: it differs from one NFS client of a share to the next and may change across
    reboots. "" where the file system or the system gives no birth time: then no folder counts as marked by its
    own publish (each is checked file by file, as a copy is), never a copy as ours. Hashed with the id: the
    marker is served, and the numbers are nobody's business."""
    born = _birth_time_ns(folder)
    if not born:  # unknown, or zeroed (an image's folders can all say 1 January 1970)
        return ""
    return hashlib.sha256(f"{target_id}:{os.stat(folder).st_ino}:{born}".encode()).hexdigest()[:16]


_STATX_BTIME = 0x800
_AT_SYMLINK_NOFOLLOW = 0x100


def _birth_time_ns(folder: Path) -> int | None:
    """When ``folder`` was created, in nanoseconds (Linux statx, st_birthtime elsewhere); None when unknown."""
    if sys.platform != "linux":
        born = getattr(os.stat(folder), "st_birthtime", None)
        return None if born is None else int(born * 1_000_000_000)
    statx = getattr(ctypes.CDLL(None, use_errno=True), "statx", None)
    if statx is None:  # glibc before 2.28, musl before 1.2.5
        return None
    buffer = ctypes.create_string_buffer(256)  # struct statx
    statx.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_char_p]
    if statx(_AT_FDCWD, os.fsencode(folder), _AT_SYMLINK_NOFOLLOW, _STATX_BTIME, buffer) != 0:
        return None
    mask: int = struct.unpack_from("=I", buffer.raw, 0)[0]
    if not mask & _STATX_BTIME:  # ext4 with small inodes, some network file systems
        return None
    seconds: int
    nanoseconds: int
    seconds, nanoseconds = struct.unpack_from("=qI", buffer.raw, 80)  # stx_btime
    return seconds * 1_000_000_000 + nanoseconds


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where that is not available."""
    if sys.platform != "linux":
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # glibc before 2.28, musl
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):  # old kernel, or a file system without it
        return False
    raise OSError(code, os.strerror(code), str(second))

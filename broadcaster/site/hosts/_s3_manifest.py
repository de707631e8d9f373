"""The bucket's manifest: what it says the bucket serves, what one publish changes, and this
machine's copy of the last one it wrote.

The manifest (``<prefix>.broadcaster-manifest.json``) records each file's content hash,
the version of the store's record each incident page shows, and which store and how far
it had got (its generation). It is written with S3's conditional requests: ``If-Match``
on the ETag of the manifest the publish planned against (``If-None-Match: *`` when it
knew of none), so a publish that planned against a manifest another machine has since
replaced fails on the manifest, reads the new one, and plans again.

A publish writes the manifest together with the index, feeds and JSON (one round trip,
not one after the other), so the document names those files ``unconfirmed``: whoever
reads it from the bucket treats their hashes as unknown and uploads them again, in
case the upload of one of them never finished. Only the machine that saw every upload
succeed knows better: it keeps its copy of the document (``LocalCopy``, under
``.broadcaster/``, sealed and private) with them confirmed and with the ETag the bucket gave the manifest,
and plans its next publish from that copy without reading the bucket at all. The copy
never names a customer's page (its path is a capability), like the manifest itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from broadcaster import lazy_re
from broadcaster.site.folder import AUDIENCE_DIR, is_site_path
from broadcaster.site.hosts import BuiltSite, is_linking
from broadcaster.site.hosts._sealed import seal, store_digest, unseal

MANIFEST_NAME = ".broadcaster-manifest.json"
# Bump when the headers change, so the next publish re-uploads everything. 2: badges short-cached (fix 20's 7), and
# every object marked as broadcaster's (``S3Host.mark``), which a publish over a lost manifest needs to delete any.
MANIFEST_VERSION = 2
# Versions before this one, still read as a list of what broadcaster published there (it may delete what its build
# lacks), each file's hash unknown: everything goes up again, with this version's headers.
OLDER_VERSIONS = (1,)
# style.1a2b3c4d.css: the name changes with the content, so a cached copy is never stale. Only at the site's
# top, where the builder writes its assets: below it, a name is a component's or an incident's id
# (badges/db.20260101.svg), a page that changes with every outage.
FINGERPRINTED = lazy_re.compile(r"[^/]+\.[0-9a-f]{8,}\.(?:css|js|svg|png|ico|woff2?)")


@dataclass(frozen=True)
class Remote:
    """What the bucket's manifest says it serves (a hash of "" is unknown: uploaded again)."""

    files: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # incident page -> version of its record
    store: str = ""
    generation: int = 0
    customer_pages: bool = False  # whether a/ holds customers' pages (listed from the bucket, never named)
    # The manifest's ETag as the bucket gave it; None: the bucket holds no manifest, as far as known.
    etag: str | None = field(default=None, compare=False)
    # As read from the bucket: the versions and generation sealed (``_sealed``), ``store`` its digest, until
    # ``opened`` with the store's id.
    sealed: str = field(default="", compare=False)
    # The bucket holds a manifest object this version cannot read (not JSON, cut short, another format
    # version): it names nothing, yet the place holds a site whose files must be listed (``S3Host``).
    unreadable: bool = field(default=False, compare=False)
    # Written by an older format version (``OLDER_VERSIONS``): every hash unknown, the customers' pages too (their
    # headers may be the old ones), so the next publish uploads everything again.
    older: bool = field(default=False, compare=False)
    # The hash the manifest gave each file it names unconfirmed (not known to have arrived: "" in ``files``).
    recorded: dict[str, str] = field(default_factory=dict, compare=False)
    # Written by a publish over a lost manifest that left site-shaped files carrying no mark at all (maybe this
    # site's from before the mark: a withdrawn page): every publish lists the site's files again, and fails while
    # such files remain (``S3Host``). A flag, never their names: the bucket's readers read the manifest.
    list_again: bool = field(default=False, compare=False)
    # a/ may hold this site's customers' pages without the mark: a publish over an older manifest (which uploads
    # every customer's page again, to mark it) stopped part way, and its progress manifest is of this version, so
    # the next publish took an unchanged page's ETag for done and never marked it. Kept by every later manifest:
    # there an unmarked page in a customer's folder shape that the build lacks is deleted (``S3Host``), as before
    # the mark, where elsewhere it fails the publish. A flag, never a path.
    unmarked_pages: bool = field(default=False, compare=False)

    @classmethod
    def of_bytes(cls, body: bytes, etag: str | None) -> Remote:
        """The manifest as the bucket sent it; empty if it is not JSON (or not a manifest)."""
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        return cls.of_document(document, etag)

    @classmethod
    def of_document(cls, document: Any, etag: str | None) -> Remote:
        """The manifest's JSON as read from the bucket or the local copy; empty if it is not one."""
        files = document.get("files") if isinstance(document, dict) else None
        version = document.get("version") if isinstance(document, dict) else None
        known = version == MANIFEST_VERSION or (version in OLDER_VERSIONS and not isinstance(version, bool))
        if not isinstance(document, dict) or not known or not isinstance(files, dict):
            return cls(etag=etag, unreadable=True)
        older = version != MANIFEST_VERSION
        unconfirmed = document.get("unconfirmed")
        unsure = {str(p) for p in unconfirmed} if isinstance(unconfirmed, list) else set()
        # Sent with a year's cache when written, and no longer fingerprinted: its header changed, it goes up again.
        cached = document.get("immutable")
        stale = {str(p) for p in cached if not fingerprinted(str(p))} if isinstance(cached, list) else set()
        unknown = unsure | stale
        sealed = document.get("sealed")
        return cls(
            {str(k): "" if older or str(k) in unknown else str(v) for k, v in files.items()},
            _versions(document.get("versions")),
            str(document.get("store") or ""),
            _generation(document.get("generation")),
            document.get("customer_pages") is True,
            etag,
            sealed if isinstance(sealed, str) else "",
            older=older,
            recorded={} if older else {str(k): str(v) for k, v in files.items() if str(k) in unsure - stale},
            list_again=document.get("list_again") is True,
            unmarked_pages=document.get("unmarked_pages") is True,
        )

    def opened(self, store_id: str) -> Remote:
        """The versions and generation of a manifest read from the bucket, where ``store_id`` wrote it (its key);
        another store's stay unknown, as a plain manifest of another store's say nothing about ours."""
        if not self.sealed:
            return self
        inside = unseal(store_id, self.sealed) if self.store == store_digest(store_id) else None
        if inside is None:
            return replace(self, sealed="")
        return replace(self, versions=_versions(inside.get("versions")), store=store_id,
                       generation=_generation(inside.get("generation")), sealed="")

    def document(self, unconfirmed: frozenset[str] = frozenset(), *, sealed: bool = True) -> bytes:
        """The manifest as written: never a customer page's path (the bucket is readable). ``sealed``: the store's
        id, its generation and each page's record version hidden from the bucket's readers (``_sealed``), and
        from whoever reads this machine's own copy (``LocalCopy``); ``sealed=False``: plain, as versions before
        the seal wrote them."""
        files = {p: h for p, h in self.files.items() if not p.startswith(AUDIENCE_DIR)}
        versions = {p: v for p, v in self.versions.items() if not p.startswith(AUDIENCE_DIR)}
        document: dict[str, Any] = {"version": MANIFEST_VERSION, "files": files,
                                    "customer_pages": len(files) != len(self.files)}
        if sealed and self.store:
            # Each value padded alike: a longer number must not show as a longer seal.
            inside = {"versions": {p: v.ljust(_VERSION_WIDTH) for p, v in versions.items()},
                      "generation": f"{self.generation:020d}"}
            document.update(store=store_digest(self.store), sealed=seal(self.store, inside))
        else:
            document.update(store=self.store, versions=versions, generation=self.generation)
        # The files sent with a year's cache (``fingerprinted``): if a later version no longer takes one for an asset,
        # it uploads it again with the short cache, whatever its content (else browsers keep it a year).
        document["immutable"] = sorted(p for p in files if fingerprinted(p))
        if unconfirmed:
            document["unconfirmed"] = sorted(p for p in unconfirmed if p in files)
        if self.list_again:
            document["list_again"] = True
        if self.unmarked_pages:
            document["unmarked_pages"] = True
        return json.dumps(document, sort_keys=True).encode()

    def shows_the_same(self, other: Remote) -> bool:
        """Whether writing this manifest over ``other`` changes what readers can tell: its files, or the store
        publishing. Versions and generation alone are not written: a new manifest after an update kept from the
        page would tell that one was made, and when."""
        return self._shown() == other._shown()

    def _shown(self) -> tuple[dict[str, str], str, bool, bool]:
        files = {p: h for p, h in self.files.items() if not p.startswith(AUDIENCE_DIR)}
        return files, self.store, self.customer_pages or len(files) != len(self.files), self.list_again


@dataclass(frozen=True)
class Plan:
    """What one publish uploads and deletes, and what it leaves because the bucket has newer."""

    upload: list[str]
    delete: list[str]
    newer: frozenset[str]
    # Of ``newer``: what the bucket's later build took out (never uploaded by a build that is behind).
    taken_out: frozenset[str] = frozenset()

    @classmethod
    def of(cls, site: BuiltSite, remote: Remote) -> Plan:
        newer: set[str] = set()
        taken_out: set[str] = set()
        behind = False  # the bucket shows a later state of the same store than this build read
        # Versions of another store say nothing about ours, nor those of a state of ours the store no longer
        # holds (restored from a backup: its sequence numbers are used again).
        if site.store and remote.store == site.store and not site.restored_over(remote.generation):
            newer = {p for p, v in remote.versions.items() if p in site.hashes and _later(v, site.versions.get(p))}
            behind = site.behind(remote.generation)
            if behind:
                newer |= {p for p in remote.files if is_linking(p)}
                # What the later build does not list, or lists only as being deleted (hash unknown, no
                # version: ``while_deleting``), was taken out since this build read the store (a withdrawn
                # incident, a removed customer's page or component's badge): that build would have published
                # it otherwise. Uploading it would publish again what was withdrawn. Assets are never taken out.
                taken_out = {p for p in site.hashes if not remote.files.get(p) and not fingerprinted(p)}
                taken_out -= newer  # the index, feeds and JSON written unconfirmed with the manifest: kept
                newer |= taken_out
        upload = [p for p in site.order if remote.files.get(p) != site.hashes[p] and p not in newer]
        # A build that is behind cannot tell a page of an incident created since it read the
        # store from one of an incident the store no longer holds: it deletes nothing.
        gone = set(remote.files) - set(site.hashes) - site.keep
        delete = [] if behind else sorted(p for p in gone if not fingerprinted(p))
        return cls(upload, delete, frozenset(newer), frozenset(taken_out))

    @property
    def pages(self) -> list[str]:
        """The first round: incident pages and assets, which nothing uploaded with them links to."""
        return [p for p in self.upload if not is_linking(p)]

    @property
    def linking(self) -> list[str]:
        """The second round, with the manifest: the index, feeds and JSON that link to the pages."""
        return [p for p in self.upload if is_linking(p)]

    def result(self, site: BuiltSite, remote: Remote) -> Remote:
        """The manifest after this publish: ours, except what the bucket had newer or we must keep."""
        files = {p: h for p, h in remote.files.items() if p not in self.delete}
        files.update({p: h for p, h in site.hashes.items() if p not in self.newer})
        same = remote.store == site.store
        versions = {p: v for p, v in remote.versions.items() if p in files} if same else {}
        versions.update({p: v for p, v in site.versions.items() if p in files and p not in self.newer})
        generation = max(remote.generation, site.generation) if same else site.generation
        return Remote(files, versions, site.store, generation, unmarked_pages=remote.unmarked_pages)

    def progress(self, site: BuiltSite, remote: Remote, held: dict[str, str]) -> Remote:
        """The manifest after a publish that stopped part way, the bucket holding ``held``: each of
        our pages that went up with its version (a build behind ours must see it is newer), and our
        generation only once every linking file went up (until then the bucket does not show it)."""
        result = self.result(site, remote)
        ours = {p for p, h in held.items() if h and site.hashes.get(p) == h and p not in self.newer}
        same = remote.store == site.store
        versions = {p: v for p, v in remote.versions.items() if p in held and p not in ours} if same else {}
        versions.update({p: v for p, v in site.versions.items() if p in ours})
        shown = all(held.get(p) == site.hashes[p] for p in self.linking)
        generation = result.generation if shown else remote.generation if same else 0
        # Over an older manifest, the customers' pages that went up unmarked are no longer told apart by content.
        return Remote(dict(held), versions, site.store, generation, remote.customer_pages, remote.etag,
                      unmarked_pages=remote.unmarked_pages or remote.older)

    def while_deleting(self, result: Remote) -> Remote:
        """``result`` still naming the files about to be deleted, their hash unknown: if a delete
        never happens, whoever reads the manifest next deletes them again."""
        return Remote({**result.files, **dict.fromkeys(self.delete, "")}, result.versions, result.store,
                      result.generation, result.customer_pages, result.etag, unmarked_pages=result.unmarked_pages)


_VERSION_WIDTH = 64  # "<last sequence>-<time>", padded in the seal


def _versions(found: Any) -> dict[str, str]:
    return {str(k): str(v).strip() for k, v in found.items()} if isinstance(found, dict) else {}


def _generation(found: Any) -> int:
    # A bucket's value: isdigit() alone takes "²" (int() refuses it) and "٣" (read as 3) for digits.
    if isinstance(found, str) and found.isascii() and found.isdigit():
        return int(found)
    return found if isinstance(found, int) and not isinstance(found, bool) else 0


class LocalCopy:
    """This machine's copy of the last manifest it wrote to one place, with the bucket's ETag for it.

    Read only while the bucket's manifest still has that ETag, which the conditional write
    checks: a copy that is out of date costs one read of the bucket, never a wrong upload.

    Sealed as the bucket's manifest is (``_sealed``), and read back opened with the store's id: the copy
    sits beside the config, maybe in a repository or where other users can read, and the store's id is
    the key to every manifest the bucket serves. Written 0600 (never through a link), in a 0700 folder
    that git ignores, whatever the store (the SQLite store makes ``.broadcaster/`` private only when it
    lives there). A plain copy from a version before the seal is still read: the next save seals it.
    """

    def __init__(self, path: Path, place: str) -> None:
        self.path = path
        self.place = place

    def read(self, store_id: str = "") -> Remote | None:
        """The copy, opened with ``store_id`` when given (else still sealed: ``Remote.opened`` later);
        None when there is none, or it is not one this place wrote."""
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or saved.get("place") != self.place or not isinstance(saved.get("etag"), str):
            return None
        remote = Remote.of_document(saved.get("manifest"), saved["etag"])
        if not remote.files:
            return None
        return remote.opened(store_id) if store_id else remote

    def save(self, remote: Remote) -> None:
        """Best effort: without a copy the next publish reads the bucket's manifest first."""
        from broadcaster.site.file_writer import replace_file
        from broadcaster.store.sqlite import PRIVATE_FILE

        if remote.etag is None:
            self.forget()
            return
        body = json.dumps({"place": self.place, "etag": remote.etag,
                           "manifest": json.loads(remote.document())}, sort_keys=True)
        try:
            _private_folder(self.path.parent)
            replace_file(self.path, body.encode("utf-8"), mode=PRIVATE_FILE)  # a new file, renamed over: no link followed
        except OSError:
            self.forget()

    def forget(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

    # Pages "in doubt": put in the bucket by a publish that failed before any manifest known to be there named them
    # (a new incident's page, its manifest write refused), or kept although a manifest may name them (it could not
    # be read back). Only the next publish can tell which: it plans them as present with an unknown hash, so it
    # uploads those its build has (a manifest may name a page that is gone) and deletes those it lacks (no manifest
    # may name a withdrawn incident's page). Kept beside the copy, which a failed publish forgets; never a
    # customer's page (its path is a capability; those are listed from the bucket by every publish anyway).

    @property
    def doubts_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".in-doubt.json")

    def in_doubt(self) -> frozenset[str]:
        # Only a site file's path: a damaged or hand-edited record must not name the manifest (it carries this place's
        # mark: a publish would delete it), nor any other key a build of this site never writes.
        found = self._read_list(self.doubts_path, "in_doubt")
        return frozenset(p for p in found if is_site_path(p) and not p.startswith(AUDIENCE_DIR))

    def doubt(self, paths: Collection[str]) -> bool:
        """Record ``paths`` as in doubt (with those already recorded); False if they could not be recorded."""
        adding = {p for p in paths if not p.startswith(AUDIENCE_DIR)}
        return not adding or self._keep_doubts(self.in_doubt() | adding)

    def settle(self, paths: Collection[str]) -> None:
        """``paths`` no longer in doubt: a manifest that landed names them, or they were deleted."""
        doubts = self.in_doubt()
        if doubts & set(paths):
            self._keep_doubts(doubts - set(paths))

    # Customers' pages a failed publish may have put up with no manifest known to say the bucket holds any: the
    # next publish lists a/ whatever its manifest and build say (a removed customer's first page would stay up).

    @property
    def customers_doubt_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".customer-pages-in-doubt.json")

    def customers_in_doubt(self) -> bool:
        return bool(self._read_list(self.customers_doubt_path, "customers_in_doubt"))

    def doubt_customers(self) -> bool:
        return self._write_list(self.customers_doubt_path, "customers_in_doubt", ["a/"])

    def settle_customers(self) -> None:
        if self.customers_doubt_path.exists():
            self._write_list(self.customers_doubt_path, "customers_in_doubt", [])

    def _keep_doubts(self, doubts: Collection[str]) -> bool:
        return self._write_list(self.doubts_path, "in_doubt", doubts)

    def _read_list(self, path: Path, key: str) -> frozenset[str]:
        """The strings a side file of this place keeps under ``key``; none when it is missing, damaged or another
        place's."""
        found = self._read_side(path, key)
        return frozenset(v for v in found if isinstance(v, str)) if isinstance(found, list) else frozenset()

    def _read_side(self, path: Path, key: str) -> Any:
        """What a side file of this place keeps under ``key``; None when it is missing, damaged or another place's."""
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return saved.get(key) if isinstance(saved, dict) and saved.get("place") == self.place else None

    def _write_list(self, path: Path, key: str, values: Collection[str] | Mapping[str, Any]) -> bool:
        """Keep ``values`` in a private side file of this place (none: the file goes); False if it could not."""
        return self._write_side(path, key, dict(sorted(values.items())) if isinstance(values, Mapping) else sorted(values))

    def _write_side(self, path: Path, key: str, value: Any) -> bool:
        """Keep ``value`` (JSON) in a private side file of this place (empty: the file goes); False if it could not."""
        from broadcaster.site.file_writer import replace_file
        from broadcaster.store.sqlite import PRIVATE_FILE

        try:
            if not value:
                path.unlink(missing_ok=True)
                return True
            _private_folder(path.parent)
            body = json.dumps({"place": self.place, key: value}, sort_keys=True)
            replace_file(path, body.encode("utf-8"), mode=PRIVATE_FILE)  # a new file, renamed over: no link followed
        except OSError:
            return False
        return True

    # Keys under a/ a publish found not to be this site's (no mark, named unlike a customer's folder; another's
    # mark): a shared bucket's own files, left there for good. Remembered so that later publishes neither look at
    # them again (a request each) nor say so again, while the key keeps that ETag. Kept as digests of key and
    # ETag: a path under a/ may be a capability, and this file need not hold one.

    @property
    def theirs_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".theirs.json")

    def theirs(self) -> frozenset[str]:
        return self._read_list(self.theirs_path, "theirs")

    def keep_theirs(self, digests: Collection[str]) -> None:
        """Best effort (without it, the keys are looked at again): only those of the latest listing."""
        if set(digests) != self.theirs():
            self._write_list(self.theirs_path, "theirs", digests)

    # Files this machine sent over another version where no manifest since is known to name what it sent (the
    # publish failed, was refused or stopped before it could say so): path -> the versions the manifest planned
    # against named there ("" for none). This machine's next publish plans each as unknown ("") where the bucket's
    # manifest still names one of those, or none (``S3Host._sent_over``): one naming a third was mostly written by a
    # publisher whose file went up after, as a manifest naming a page in doubt settles it (where the build has that very
    # version, the bucket is asked whether it serves it: this machine's put may have landed after, late). It then
    # uploads its own, deletes what its build lacks, or leaves it unknown for whoever publishes there next. A publish
    # that meets another's manifest (a conflict) adds the version it names: the other's put may have gone up first.

    @property
    def owed_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".owed-marks.json")

    def owed(self) -> dict[str, frozenset[str]]:
        found = self._read_side(self.owed_path, "owed_named")  # "owed" held another shape for a while: not read
        if not isinstance(found, dict):
            return {}
        # Only a site file's path: it is planned as unknown, and deleted where the build lacks it, with no look at whose
        # the key is (a damaged or hand-edited file must not name the manifest, or a shared bucket's own file).
        return {p: frozenset(v) for p, v in found.items() if is_site_path(p) and not p.startswith(AUDIENCE_DIR)
                and isinstance(v, list) and v and all(isinstance(h, str) for h in v)}

    def owe(self, pages: Mapping[str, Collection[str]]) -> bool:
        """Record ``pages`` (path -> the versions named when another was sent) with those owed already; False if they
        could not be recorded."""
        adding = {p: frozenset(v) for p, v in pages.items() if v and not p.startswith(AUDIENCE_DIR)}
        owed = self.owed()
        merged = {**owed, **{p: owed.get(p, frozenset()) | v for p, v in adding.items()}}
        return merged == owed or self._keep_owed(merged)

    def settle_owed(self, paths: Collection[str] | None = None) -> None:
        """``paths`` (else all) no longer owed: a manifest now in the bucket names them unknown, or a publish that
        planned them so landed."""
        owed = self.owed()
        kept = {p: v for p, v in owed.items() if paths is not None and p not in paths}
        if kept != owed:
            self._keep_owed(kept)

    def _keep_owed(self, owed: Mapping[str, frozenset[str]]) -> bool:
        return self._write_list(self.owed_path, "owed_named", {p: sorted(v) for p, v in owed.items()})

    # The ETag the bucket gave each page this machine put there, with the hash it had: a follow-up's changed page
    # replaces exactly that object (``If-Match``) while the bucket has yet to say whether the copy is still its
    # manifest (``S3Host._create_fresh_pages``), instead of waiting for the answer. Another publisher's page since
    # has another ETag: refused (412), it waits as before. Only the latest ``ETAGS_KEPT`` (a follow-up goes to an
    # incident posted lately), of pages alone (``_replaceable``); never a customer's page (its path is a capability).

    @property
    def etags_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".page-etags.json")

    def page_etags(self, copy: Remote) -> dict[str, str]:
        """Path -> ETag of the pages ``copy`` names by the hash they had when this machine put them there."""
        return {path: etag for path, digest, etag in self._etag_rows() if copy.files.get(path) == digest}

    def keep_page_etags(self, files: Mapping[str, str], put: Mapping[str, tuple[str, str]]) -> None:
        """Best effort: the ETags of ``put`` (path -> (hash, ETag)) by this publish, then those kept before, of the
        pages ``files`` (the manifest written) names by the hash they were put with; the latest first."""
        rows = [[p, h, e] for p, (h, e) in put.items() if e and files.get(p) == h]
        rows += [[p, h, e] for p, h, e in self._etag_rows() if p not in put and files.get(p) == h]
        self._write_side(self.etags_path, "pages", [row for row in rows if _replaceable(row[0])][:ETAGS_KEPT])

    def _etag_rows(self) -> list[tuple[str, str, str]]:
        rows = self._read_side(self.etags_path, "pages")
        if not isinstance(rows, list):
            return []
        return [(row[0], row[1], row[2]) for row in rows
                if isinstance(row, list) and len(row) == 3 and all(isinstance(v, str) and v for v in row)]


ETAGS_KEPT = 256


def _replaceable(path: str) -> bool:
    """A page a publish may replace ahead (``LocalCopy.page_etags``): not the index, feeds and JSON (they go up with
    the manifest), not an asset (its name changes with it), never a customer's page."""
    return not is_linking(path) and not fingerprinted(path) and not path.startswith(AUDIENCE_DIR)


def theirs_digest(key: str, etag: str) -> str:
    """What ``LocalCopy.theirs`` keeps of a key found not to be this site's, with the ETag it had."""
    return hashlib.sha256(f"{key}\0{etag}".encode()).hexdigest()


def _private_folder(folder: Path) -> None:
    """``folder`` made if missing, readable by its owner only (older versions made it 0755) and kept out of git.

    A folder that is a link is left as it is: its mode is whoever made the link's to choose, and a chmod
    through it would change a folder elsewhere."""
    from broadcaster.store.sqlite import PRIVATE_FOLDER, keep_out_of_git

    folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:  # a link (ELOOP), or not a folder: the write that follows says what is wrong
        return
    try:
        info = os.fstat(fd)
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != PRIVATE_FOLDER:
            os.fchmod(fd, PRIVATE_FOLDER)
    finally:
        os.close(fd)
    if folder.name == ".broadcaster":
        keep_out_of_git(folder)


def fingerprinted(path: str) -> bool:
    return FINGERPRINTED.fullmatch(path) is not None


def _later(remote_version: str, ours: str | None) -> bool:
    """Whether the bucket's page shows a later update of its incident than ours."""
    def number(version: str | None) -> int:
        head = (version or "").split("-", 1)[0]
        return int(head) if head.isascii() and head.isdigit() else -1

    return number(remote_version) > number(ours)

"""The site's folder is the site's: broadcaster writes only into a folder it owns.

A folder is broadcaster's once it holds the marker file ``.broadcaster-site``,
written on the first build (or publish) into a new or empty folder. A folder
that holds anything else (a project folder, ``output_dir = "."``) is refused
before anything is written: building there would mix the operator's files into
the site, and a publish would upload them (the config, the state database and
its journal), or, for a directory target, delete them.

Folders written before the marker existed are adopted once: an output folder
when every file in it is listed in its manifest, a directory target when every
file in it is a file a broadcaster site has and it holds ``SITE_SIGNATURE``
(a hand-written status page has an index.html, a feed.xml and incident pages
too, but never broadcaster's API files).

Nothing here follows a symbolic link: a link inside the folder is a file
broadcaster did not write.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from broadcaster import lazy_re
from broadcaster.errors import ConfigError
from broadcaster.site.file_writer import is_temporary, replace_file

MARKER = ".broadcaster-site"
MARKER_TEXT = (
    b"This folder is written by broadcaster: every build or publish replaces what is in it.\n"
    b"Keep nothing else here.\n"
)
FOLDER_MODE = 0o755  # published folders are world-readable by design, whatever the umask
# Writes of the marker a mark tries, each cleared by another command's build at worst (see ``mark``).
_MARK_ATTEMPTS = 3
# How many files broadcaster did not write are named in a refusal.
_SHOWN = 3
# Where customers' private pages live: a/<token>/ (the token is their capability).
AUDIENCE_DIR = "a/"
# The names in a/ are every customer's capability, so a/ is never listed: a web server that lists folders
# (Apache's stock "Options Indexes", nginx's "autoindex on") serves this page instead, which shows nothing;
# and, on this machine, a/ is 0711: a web server running as another user passes through it to a/<token>/,
# but no other user can list it. A host keeps no folder modes (S3, git): the page does it alone there.
AUDIENCE_INDEX = AUDIENCE_DIR + "index.html"
AUDIENCE_INDEX_TEXT = b'<!doctype html>\n<meta name="robots" content="noindex">\n'
AUDIENCE_DIR_MODE = 0o711
# In every site broadcaster has built since the API files were added, and in no hand-written one.
SITE_SIGNATURE = "api/v2/summary.json"
# Paths a built site has: what a directory target that predates the marker may hold.
_SITE_PATH = lazy_re.compile(
    r"(index\.html|feed\.xml|atom\.xml|summary\.json|incidents/[^/]+\.html|[a-z-]+\.[0-9a-f]{8}\.(css|svg)"
    r"|api/v2/[a-z/-]+\.json|badge\.svg|badges/[^/]+\.svg|maintenance\.ics|components/[^/]+/(feed|atom)\.xml"
    r"|a/index\.html|a/[A-Za-z0-9_-]+/(?:index\.html|feed\.xml|atom\.xml)"
    r"|a/\.broadcaster-files-[0-9a-f]{24})"  # a directory target's digests of customers' pages (never served)
)

Kind = Literal["missing", "empty", "ours", "foreign", "not-a-folder"]


class FolderRefused(ConfigError):
    """A folder broadcaster will not write into; the message says why and what to do."""


@dataclass(frozen=True)
class FolderState:
    kind: Kind
    strangers: tuple[str, ...] = ()  # a few of the files broadcaster did not write
    # Folders inside it (or itself: ".") this account cannot list: what they hold is unknown, so never ours to replace.
    unreadable: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.unreadable:
            return ", ".join(("the folder itself" if x == "." else x + "/") for x in self.unreadable[:_SHOWN])
        shown = ", ".join(self.strangers[:_SHOWN])
        more = ", ..." if len(self.strangers) > _SHOWN else ""
        return f"{shown}{more}"


def inspect(
    folder: Path, internal: frozenset[str], accept: Callable[[str], bool], signature: str | None = None,
    *, marker_alone: bool = True,
) -> FolderState:
    """Whose the folder is. ``internal``: broadcaster's own top-level files; ``accept``: whether a
    file found in a folder without the marker was written by broadcaster (a folder written before
    the marker existed is adopted when every file in it is accepted and, given a ``signature``, it
    holds that file). ``marker_alone``: whether the marker is enough. A folder that is replaced whole
    (a directory target) passes False: a marker copied in with a site (``rsync -a public/ /var/www/``)
    must not hand over the files beside it, so a marked folder is ours only when ``accept`` takes every
    file in it too."""
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return FolderState("missing")
    if not stat.S_ISDIR(mode) and not (stat.S_ISLNK(mode) and folder.is_dir()):
        return FolderState("not-a-folder")
    if is_plain_file(folder / MARKER):
        if marker_alone:
            return FolderState("ours")
        _found, strangers, unreadable = _contents(folder, internal, accept)
        return FolderState("foreign", tuple(strangers), unreadable) if strangers or unreadable else FolderState("ours")
    found, strangers, unreadable = _contents(folder, internal, accept)
    if (strangers or unreadable) and marker_alone and is_plain_file(folder / MARKER):
        # Marked while it was looked at: another command claiming this folder, new to both, and building in it (its
        # pages in place before its manifest names them). The marker makes it ours, as it would have at the start.
        return FolderState("ours")
    if strangers or unreadable:
        return FolderState("foreign", tuple(strangers), unreadable)
    if found and signature is not None and not is_plain_file(folder / signature):
        # Every file looks like a site's, but not one broadcaster built: name what would be deleted.
        return FolderState("foreign", tuple(_contents(folder, internal, lambda _path: False)[1]))
    return FolderState("ours" if found else "empty")


def in_the_way(folder: Path) -> Path | None:
    """What keeps ``folder`` from being a folder: the nearest of it and its parents that exists, when
    that is not a folder (a file, a link to one); None when nothing is in the way. ``inspect``, by
    contrast, raises ``NotADirectoryError`` for a folder below a file: ask this first."""
    for path in (folder, *folder.parents):
        try:
            mode = os.stat(path).st_mode  # through links: a link to a folder is a way in (inspect refuses it)
        except (FileNotFoundError, NotADirectoryError):
            continue
        return None if stat.S_ISDIR(mode) else path
    return None


def is_site_path(path: str) -> bool:
    return _SITE_PATH.fullmatch(path) is not None


def mount_at_or_below(folder: Path) -> Path | None:
    """``folder`` when it is a mount point, else a mount point inside it (Linux: this process's mounts,
    bind mounts of the same file system too); None when there is none, or ``folder`` does not exist."""
    if not folder.is_dir():
        return None
    if os.path.ismount(folder):  # another device, or the root: the portable test
        return folder
    real = os.path.realpath(folder)
    for point in _mount_points():
        if point == real:
            return folder
        if point.startswith(real.rstrip("/") + "/"):
            return folder / os.path.relpath(point, real)
    return None


def _mount_points() -> list[str]:
    """Every mount point this process sees (Linux's /proc/self/mountinfo); empty where there is none."""
    try:
        with open("/proc/self/mountinfo", "rb") as file:
            lines = file.read().splitlines()
    except OSError:
        return []
    points = []
    for line in lines:
        fields = line.split(b" ")
        if len(fields) > 4:  # the fifth: the mount point, with space, tab, newline and backslash as \ooo
            raw = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), fields[4])
            points.append(os.fsdecode(raw))
    return points


def close_audience_dir(site: Path) -> None:
    """Make ``site``'s ``a/`` (when it has one, a real folder) unlistable: ``AUDIENCE_DIR_MODE``, whatever
    the umask and whatever mode the folder was made with."""
    folder = site / AUDIENCE_DIR
    try:
        if stat.S_ISDIR(os.lstat(folder).st_mode):  # never through a link: one planted there is not ours
            os.chmod(folder, AUDIENCE_DIR_MODE)
    except FileNotFoundError:
        pass


def mark(folder: Path) -> None:
    """Make ``folder`` (new or empty) broadcaster's: create it world-readable, write the marker."""
    created = not os.path.lexists(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if created:
        os.chmod(folder, FOLDER_MODE)
    for attempt in range(_MARK_ATTEMPTS):
        try:
            replace_file(folder / MARKER, MARKER_TEXT)
            return
        except FileNotFoundError:
            # Its temporary file gone before the rename: another command's first build in this folder, new to both,
            # cleared it as a dead build's (this runs before the site lock): exit 3, "No such file or directory ...
            # Check [page] output_dir". That command marked the folder; if not, the marker is written again.
            if is_plain_file(folder / MARKER):
                return
            if attempt == _MARK_ATTEMPTS - 1:
                raise


def refuse_holding(folder: Path, keep_out: Sequence[tuple[str, Path | None]], setting: str) -> None:
    """Refuse a folder that is, or contains, one of ``keep_out`` (the config file, the store)."""
    where = folder.resolve()
    for what, path in keep_out:
        if path is None:
            continue
        inside = path.resolve()
        if inside == where or inside.is_relative_to(where):
            raise FolderRefused(
                f"{setting} ({folder}) holds {what} ({path}): the site would publish it. "
                f"Point {setting} at another folder, one of its own, e.g. \"{another_folder(folder)}\"."
            )


def another_folder(folder: Path) -> str:
    """A name to suggest for a site folder in place of ``folder``: "public", unless that is the folder refused
    (``output_dir = "public"`` holding the state file was told to point output_dir at "public")."""
    return "site" if folder.name == "public" else "public"


# Any config's and any state folder's names, not only this config's: one made inside the site (`cd public` and
# `broadcaster init`) is another config's, and a web server pointed at the folder would serve it.
STATE_NAMES = ("broadcaster.toml", ".broadcaster")


def refuse_state_on_top(folder: Path, setting: str) -> None:
    """Refuse a site folder holding a config or a state folder at its top (two looks, not a walk: on every post)."""
    found = [name for name in STATE_NAMES if os.path.lexists(folder / name)]
    if found:
        raise FolderRefused(
            f"{setting} ({folder}) holds {' and '.join(found)}: a config and its private state (notes, customers) "
            "inside the site would be published with it, by any web server pointed at the folder. Move them out of "
            "the site's folder (they belong beside it, where `broadcaster init` was meant to run)."
        )


def site_holding(path: Path) -> Path | None:
    """The site (a folder holding ``MARKER``) that ``path`` is in, at any depth; None if it is in none."""
    for folder in (path, *path.parents):
        if is_plain_file(folder / MARKER):
            return folder
    return None


def refuse_a_config_in_a_site(config_path: Path | None) -> None:
    """A config inside a site broadcaster builds keeps its store and itself there: they would be published."""
    site = site_holding(config_path.resolve().parent) if config_path is not None else None
    if site is not None:
        raise FolderRefused(
            f"the config {config_path} is inside {site}, a site broadcaster builds ({MARKER} is there): the config and "
            "its private state (./.broadcaster/) would be published with it. Move them out of the site's folder "
            "and run broadcaster from there. Nothing was stored or sent."
        )


def is_plain_file(path: str | os.PathLike[str]) -> bool:
    """A regular file, never a symbolic link to one (``os.path.isfile`` and ``Path.is_file`` follow links)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _contents(
    folder: Path, internal: frozenset[str], accept: Callable[[str], bool]
) -> tuple[bool, list[str], tuple[str, ...]]:
    """(any file found, strangers, unreadable): strangers are links and files ``accept`` refuses; unreadable, the
    folders this account cannot list ("." for ``folder`` itself).

    Stops soon after the first strangers: a home folder is refused without walking all of it.
    """
    found = False
    strangers: list[str] = []
    unreadable: list[str] = []

    def cannot_list(exc: OSError) -> None:
        # os.walk skips such a folder silently: another account's 0711 web root would read as empty, and be swapped
        # away whole (renaming it needs only its parent's write permission). One gone since it was listed (another
        # command's build, this folder new to both) is simply not there.
        if not isinstance(exc, FileNotFoundError):
            unreadable.append(Path(exc.filename or folder).relative_to(folder).as_posix())

    for directory, subdirs, names in os.walk(folder, onerror=cannot_list):
        relative_dir = Path(directory).relative_to(folder).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        strangers.extend(prefix + n for n in sorted(subdirs) if os.path.islink(os.path.join(directory, n)))
        for name in sorted(names):
            relative = prefix + name
            if (not prefix and name in internal) or is_temporary(name):
                # A build's temporary file (another command's on its way in, or a dead build's, which the first
                # scan clears); a name merely ending like one is the operator's, and a stranger.
                continue
            try:
                regular = stat.S_ISREG(os.lstat(os.path.join(directory, name)).st_mode)
            except FileNotFoundError:
                # Gone since os.walk listed it: two commands claiming one new folder at once, the other one already
                # building in it. This one failed "No such file or directory ... output_dir" (exit 3).
                continue
            found = True
            if not regular or not accept(relative):
                strangers.append(relative)
        if len(strangers) > _SHOWN:
            break
    return found, strangers, tuple(unreadable)

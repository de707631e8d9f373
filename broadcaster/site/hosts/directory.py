"""Copy the built site into a local or mounted folder that a web server serves, atomically.

A web server must never serve half a site. Each publish writes a full copy
beside the folder (``<path>.tmp-<random>``) and then swaps the two: on Linux
with one ``renameat2(RENAME_EXCHANGE)`` call, so there is no moment without a
site; elsewhere with two renames (old away, new in), which leaves a gap of
microseconds where the folder is missing but never shows a mixed or partial
site. The old copy is deleted afterwards.

Why not a symlink swap: it turns the operator's folder into a link, which web
servers set not to follow links (nginx ``disable_symlinks``) refuse. Either way
a container that bind-mounts the folder itself keeps seeing the old copy:
mount its parent instead.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import hashlib
import os
import re
import secrets
import shutil
import stat
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from broadcaster.errors import DeliveryError, permanent
from broadcaster.site.hosts import BuiltSite, SiteHost
from channels.base import CheckResult, Receipt

if TYPE_CHECKING:
    from broadcaster.config import ChannelConfig

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h


class DirectoryHost(SiteHost):
    """``type = "directory"``: ``path`` (relative to the config file, or absolute) holds the site."""

    type_name = "directory"
    required_options = ("path",)

    # Copies left by a publish that died half way are removed once they are this old (seconds);
    # younger ones may belong to a publish running right now in another process.
    stale_after: ClassVar[float] = 3600.0
    # renameat2 where the kernel has it; False forces the portable two renames (macOS, BSD).
    use_exchange: ClassVar[bool] = True

    def __init__(self, config: ChannelConfig, base_dir: Path) -> None:
        super().__init__(config, base_dir)
        path = Path(str(config.options["path"])).expanduser()
        self.target = path if path.is_absolute() else base_dir / path
        self._leftover = re.compile(rf"^{re.escape(self.target.name)}\.(tmp|old)-[0-9a-f]{{12}}$")

    async def publish(self, site: BuiltSite) -> Receipt:
        """Replace the folder's content with ``site``, unless it already holds exactly that."""
        return await asyncio.to_thread(self._publish, site)

    def _publish(self, site: BuiltSite) -> Receipt:
        self._refuse_overlap(site)
        try:
            if self.target.is_symlink() or (self.target.exists() and not self.target.is_dir()):
                raise permanent(
                    f"{self.target} is not a folder (a file or a symbolic link). Point "
                    f"publish.{self.name}.path at a real folder, or remove what is there."
                )
            differing = self._differences(site)
            if not differing:
                return Receipt(remote_id=str(self.target), notes=("unchanged",))
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()
            self._replace(site)
        except OSError as exc:
            raise self._error(exc) from exc
        return Receipt(remote_id=str(self.target), notes=(f"{differing} files changed",))

    def _differences(self, site: BuiltSite) -> int:
        """How many files differ between the folder and the site (added, changed or removed)."""
        if not self.target.is_dir():
            return len(site.hashes) or 1
        present = {p.relative_to(self.target).as_posix(): p for p in self.target.rglob("*") if not p.is_dir()}
        count = len(set(present) ^ set(site.hashes))
        for relative, path in present.items():
            if relative in site.hashes and hashlib.sha256(path.read_bytes()).hexdigest() != site.hashes[relative]:
                count += 1
        return count

    def _replace(self, site: BuiltSite) -> None:
        fresh = self.target.with_name(f"{self.target.name}.tmp-{secrets.token_hex(6)}")
        try:
            fresh.mkdir()
            if self.target.is_dir():  # keep the mode the operator gave the folder (e.g. 0750)
                os.chmod(fresh, stat.S_IMODE(self.target.stat().st_mode))
            for relative in site.hashes:
                destination = fresh / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(site.root / relative, destination)
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
        old = self.target.with_name(f"{self.target.name}.old-{secrets.token_hex(6)}")
        os.rename(self.target, old)
        try:
            os.rename(fresh, self.target)
        except OSError:
            os.rename(old, self.target)  # put the old site back rather than leave none
            raise
        os.rename(old, fresh)

    def _remove_leftovers(self) -> None:
        now = time.time()
        for sibling in self.target.parent.iterdir():
            if self._leftover.match(sibling.name) and now - sibling.lstat().st_mtime > self.stale_after:
                shutil.rmtree(sibling, ignore_errors=True)

    def _refuse_overlap(self, site: BuiltSite) -> None:
        target, root = self.target.resolve(), site.root.resolve()
        if target == root or target.is_relative_to(root) or root.is_relative_to(target):
            raise permanent(
                f"publish.{self.name}.path ({self.target}) overlaps the folder the site is built in "
                f"({site.root}). Point it somewhere else, e.g. the folder your web server serves."
            )

    def _error(self, exc: OSError) -> DeliveryError:
        return permanent(
            f"cannot write the site to {self.target}: {exc.strerror or exc} ({exc.filename or self.target}). "
            "Check that the folder and its parent exist and are writable by you, and that the disk has room."
        )

    async def check(self) -> list[CheckResult]:
        """Can we create the folder and swap it in? Changes nothing."""
        return [await asyncio.to_thread(self._check)]

    def _check(self) -> CheckResult:
        existing = self.target.parent
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        where = str(self.target)
        if self.target.exists() and (self.target.is_symlink() or not self.target.is_dir()):
            return CheckResult(self.name, where, False, "exists but is not a folder; point path at a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            return CheckResult(self.name, where, False, f"{existing} is not writable; the swap needs to write beside the folder")
        state = "holds a site; it will be replaced" if self.target.is_dir() else "will be created"
        return CheckResult(self.name, where, True, f"writable; the folder {state}")


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

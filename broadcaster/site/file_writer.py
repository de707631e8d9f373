"""Atomic file writes, and a child process that does them for a big build.

On a full build, writing each page costs about as much as rendering it (a
create, a write and a rename, each waiting on the file system). The parent
streams pages to this script, run as a child process, so the disk work of one
page overlaps the rendering of the next on another core. Threads cannot do
this: the rendering thread holds the GIL, and each write would wait for it.

Run as a script it reads frames from stdin (path length and data length as two
little-endian uint32, then the path, then the data) until end of input. On the
first error it prints ``path<TAB>reason`` and exits 1. It imports the standard
library only, so it starts fast and cannot pick up anything of the parent's.
"""

from __future__ import annotations

import itertools
import os
import struct
import sys

TEMP_SUFFIX = ".broadcaster-tmp"
HEADER = struct.Struct("<II")
PUBLISHED_MODE = 0o644  # files of the site; its folders are 0o755


_names = itertools.count()


def is_temporary(name: str) -> bool:
    """Whether a file name is one ``replace_file`` makes (".<name>.<pid>-<n>" and ``TEMP_SUFFIX``): a build's, on its
    way in or left by one that died. Any other name ending in ``TEMP_SUFFIX`` is someone else's file, never cleared."""
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return False
    target, _, unique = name[1 : -len(TEMP_SUFFIX)].rpartition(".")
    pid, dash, count = unique.partition("-")
    return bool(target) and bool(dash) and pid.isascii() and pid.isdigit() and count.isascii() and count.isdigit()


def replace_file(target: str | os.PathLike[str], data: bytes, mode: int = PUBLISHED_MODE) -> None:
    """Temp file + rename, so a reader or an upload never sees half a file.

    No fsync: a full build writes thousands of pages, and the site can always
    be rebuilt from the store after a crash.
    """
    directory, name = os.path.split(os.fspath(target))
    while True:
        # Process id and a counter: unique without a random-number syscall per file.
        temp = os.path.join(directory, f".{name}.{os.getpid()}-{next(_names)}{TEMP_SUFFIX}")
        try:
            # O_EXCL: never through a link someone left under the temporary name.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            break
        except FileExistsError:
            continue  # left by a dead process that had our pid
    try:
        try:
            # Published files are world-readable by design, whatever the umask: a web server
            # running as another user must read them (a umask of 077 made them 0600).
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _serve(stream: object) -> int:
    read = stream.read  # type: ignore[attr-defined]
    while header := read(HEADER.size):
        if len(header) < HEADER.size:
            return _cut_short()
        path_size, data_size = HEADER.unpack(header)
        raw_path, data = read(path_size), read(data_size)
        if len(raw_path) < path_size or len(data) < data_size:
            return _cut_short()  # the build died mid-file: never put half a page (or a cut path) in place
        path = os.fsdecode(raw_path)
        try:
            replace_file(path, data)
        except OSError as exc:
            sys.stdout.write(f"{path}\t{exc.strerror or exc}\n")
            return 1
    return 0


def _cut_short() -> int:
    sys.stdout.write("\tthe build stopped in the middle of a file\n")
    return 1


if __name__ == "__main__":
    sys.exit(_serve(sys.stdin.buffer))

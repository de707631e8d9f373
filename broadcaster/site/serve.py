"""``broadcaster site serve``: the built site on localhost, for a preview.

Only the site's files are served, the ones its manifest lists: never
broadcaster's own files in the folder, nor anything else that happens to be
there (a state database, a config, a link to elsewhere).
"""

from __future__ import annotations

import errno
import functools
import http.server
import os
import posixpath
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from broadcaster import lazy_re
from broadcaster.errors import InputError, printable
from broadcaster.site.folder import AUDIENCE_DIR, MARKER
from broadcaster.site.output import site_files

# A customer's page: the folder's name is its feed token, a capability (whoever holds it reads the page).
_CUSTOMER_PAGE = lazy_re.compile(rf"(/{re.escape(AUDIENCE_DIR)})[^/\s?#\"]+", re.IGNORECASE)


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    root: Path

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Each request as the standard library logs it, a customer page's token masked: the log is
        read by whoever watches the terminal, and may be kept."""
        line = format % args
        path = getattr(self, "path", "")
        if path:  # as it is served: "/%61/<token>/" and "//a//<token>" are the customer's page too
            # Decoded, escaped: any web page the operator opens can request "%E2%80%AE" (a right-to-left override,
            # which the standard library passes) and have the line drawn reordered.
            line = line.replace(path, "/" + printable(_site_path(path), one_line=True))
        super().log_message("%s", _CUSTOMER_PAGE.sub(r"\1***", line))

    def send_head(self) -> Any:
        path = _site_path(self.path)
        files = site_files(self.root)  # read per request: a build may run meanwhile
        if path.endswith("/") or path == "":
            path += "index.html"
        full = os.path.join(self.root, path)
        if path not in files or os.path.realpath(full) != os.path.join(os.path.realpath(self.root), path):
            self.send_error(404, "Not part of the site")
            return None
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "Not part of the site")
        return None


def _site_path(request_path: str) -> str:
    """The request's path relative to the site root ('' for the root), without query or fragment."""
    path = urllib.parse.unquote(request_path.split("?", 1)[0].split("#", 1)[0])
    trailing = path.endswith("/")
    normal = posixpath.normpath(path).lstrip("/")
    normal = "" if normal == "." else normal
    return normal + "/" if trailing and normal else normal


def serve(root: Path, host: str, port: int, started: Callable[[str], None]) -> None:
    """Serve the site in ``root`` until interrupted; ``started`` gets the URL once listening."""
    if not (root / MARKER).is_file() or "index.html" not in site_files(root):
        raise InputError(f"nothing built in {root} yet: run `broadcaster site build` first.")
    handler = functools.partial(type("SiteHandler", (_SiteHandler,), {"root": root}), directory=str(root))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            taken = "is taken" if exc.errno == errno.EADDRINUSE else "needs privileges"
            raise InputError(f"port {port} {taken} on {host}; use --port with another one (e.g. --port 8001).") from None
        raise
    with server:
        started(f"http://{host}:{server.server_address[1]}/")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass

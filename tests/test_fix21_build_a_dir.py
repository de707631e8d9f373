"""Review 21d (side note of finding 3): the build's own ``output_dir/a/`` is never listable, not even while the
build writes into it. The writer made every folder 0755 and the build closed ``a/`` to 0711 after the customers'
pages were written, so for the first build with a customer page any local user could list the tokens meanwhile."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from broadcaster.site import file_writer
from broadcaster.site.folder import AUDIENCE_DIR_MODE
from tests.conftest import Project

TOKEN = "acme-feed-token-0123456789abcdef"
ACME = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"
"""


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_a_is_unlistable_from_its_creation_whatever_the_umask(
    project: Project, monkeypatch: pytest.MonkeyPatch, umask: int
) -> None:
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(ACME)
    audience_dir = project.site / "a"
    seen: list[int] = []
    real_write = file_writer.replace_file

    def writing(path: Any, data: bytes, *args: Any, **kwargs: Any) -> None:
        if os.path.isdir(audience_dir):
            seen.append(stat.S_IMODE(os.lstat(audience_dir).st_mode))
        real_write(path, data, *args, **kwargs)

    monkeypatch.setattr("broadcaster.site.output.replace_file", writing)  # the name the writer calls
    old = os.umask(umask)
    try:
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit 7.",
                             "Errors on the API.")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert (audience_dir / TOKEN / "index.html").is_file()
    assert seen, "no file was written while a/ existed"
    assert all(mode & ~AUDIENCE_DIR_MODE == 0 for mode in seen), [oct(m) for m in seen]
    assert stat.S_IMODE(os.stat(audience_dir).st_mode) == AUDIENCE_DIR_MODE
    assert stat.S_IMODE(os.stat(Path(audience_dir / TOKEN)).st_mode) == 0o755

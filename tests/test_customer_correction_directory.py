"""A correction of one customer's detail alone (`amend --for acme`) changes nothing the public can read at a directory
target: no byte, no modification time, not the marker (a review found a first fix that rebuilt the site for it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import AUDIENCES, TOKEN, TOKEN2, channels_toml, post, slack  # noqa: F401

DIRECTORY = """
[publish.www]
type = "directory"
path = "{path}"
"""


def _setup(project: Project, slack: FakeSlack) -> Path:  # noqa: F811
    served = project.root / "served"
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack) + DIRECTORY.format(path=served))
    return served


def _public(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file a web server serving ``folder`` shows anyone (customers' a/<token>/ aside), with its mtime."""
    out = {}
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and not rel.startswith("a/"):
            out[rel] = (p.read_bytes(), os.stat(p).st_mtime_ns)
    return out


def test_customer_detail_correction_leaves_directory_target_untouched(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    served = _setup(project, slack)
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACME-OLD-1 is down.",
                     "Errors on the API.")
    assert code == 0, out
    before = _public(served)
    assert "index.html" in before
    amended = project.cli("amend", "--yes", out["incident_id"], "1", "Errors on the API.", "--for", "acme",
                          "Your circuit ACME-NEW-2 is down.")
    assert amended.exit_code == 0, amended.output
    after = _public(served)
    changed = sorted(k for k in set(before) | set(after) if before.get(k, (b"",))[0] != after.get(k, (b"",))[0])
    touched = sorted(k for k in set(before) & set(after) if before[k][1] != after[k][1])
    assert changed == [], f"public bytes changed for a customer-only correction: {changed}"
    assert touched == [], f"public files rewritten (new mtime: Last-Modified/ETag) for a customer-only correction: {touched}"


def test_another_customers_page_is_untouched(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    project.env["ACME_FEED_TOKEN"], project.env["GLOBEX_FEED_TOKEN"] = TOKEN, TOKEN2
    served = project.root / "served"
    project.write_config(
        AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
        .replace('components = ["db"]', 'components = ["db"]\nfeed_token = "${GLOBEX_FEED_TOKEN}"')
        + channels_toml(slack) + DIRECTORY.format(path=served))
    code, out = post(project, "--title", "Platform errors", "-C", "api", "-C", "db", "-s", "resolved", "--for", "acme",
                     "Your circuit ACME-OLD-1 was down.", "--for", "globex", "Your DB shard 4 was slow.", "Errors, fixed.")
    assert code == 0, out
    globex = served / "a" / TOKEN2

    def files() -> dict[str, tuple[bytes, int]]:
        return {p.relative_to(globex).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in globex.rglob("*")
                if p.is_file()}

    before = files()
    assert before
    time.sleep(0.05)
    amended = project.cli("amend", "--yes", out["incident_id"], "1", "Errors, fixed.", "--for", "acme",
                          "Your circuit ACME-NEW-2 was down.", "--for", "globex", "Your DB shard 4 was slow.")
    assert amended.exit_code == 0, amended.output
    after = files()
    bytes_changed = sorted(k for k in set(before) | set(after) if before.get(k, (b"",))[0] != after.get(k, (b"",))[0])
    touched = sorted(k for k in set(before) & set(after) if before[k][1] != after[k][1])
    assert bytes_changed == [], bytes_changed
    assert touched == [], f"globex's page files rewritten (new mtime) for acme's correction: {touched}"

"""Review 38a, a hostile pass over review 37's fixes (each test but the controls failed before its fix).

- Bluesky was taken out of the keyed channels, but a Bluesky post found under its record key with the same time and
  card is taken as the first whatever its text: the corrected resend was answered with the first post, the
  correction skipped as already carried, and the text taken back stayed up, the operator told its readers never
  read it.
- An export that does not say whom its customers' detail was written for (made before its header carried it) was
  imported with no check: into a store whose id is now another customer, that customer's page showed the detail.
- A dry run did not say that a customer's own page would be behind (the real run did).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.bluesky import FakeBluesky

ACME = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"\n'
TOKEN_1, TOKEN_2 = "acme-feed-token-0123456789abcdef", "second-feed-token-0123456789abcdef"


@pytest.fixture
def sky(project: Project) -> Iterator[FakeBluesky]:
    with FakeBluesky(password="app-pass-38a") as fake:
        project.env["BSKY_PASSWORD"] = "app-pass-38a"
        project.write_config("[engine]\ntimeout = 3\ndeadline = 4\nmax_attempts = 1\n"
                             f'\n[channels.sky]\ntype = "bluesky"\nhandle = "acme.bsky.social"\n'
                             f'app_password = "${{BSKY_PASSWORD}}"\napi_url = "{fake.url}"\n')
        yield fake


def test_a_correction_reaches_bluesky_whose_post_was_of_unknown_fate(project: Project, sky: FakeBluesky) -> None:
    sky.fail(Fault(match="createRecord", hold=8), Fault(match="getRecord", hang=8))
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api",
                         "Customer data of ACME leaked via bucket X.")
    assert posted.exit_code == 3, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    sky.clear_faults()
    project.cli("amend", "--yes", incident, "1", "Elevated API errors.")
    retried = project.cli("retry", incident, "--include-unknown")
    assert retried.exit_code == 0, retried.output
    assert "never read the text corrected" not in retried.output, retried.output
    texts = [p.text for p in sky.posted]
    assert any("Elevated API errors." in t for t in texts), texts  # the correction, as a reply


def _export_without_names(project: Project, tmp_path: Path) -> Path:
    """An export as one made before its header said whom each customer's detail was written for."""
    out = tmp_path / "old.jsonl"
    assert project.cli("store", "export", str(out)).exit_code == 0
    lines = out.read_text().splitlines()
    header = json.loads(lines[0])
    assert header.pop("audience_names")
    out.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    return out


def _project(tmp_path: Path, name: str, customer: str, token: str) -> Project:
    made = Project(tmp_path / name)
    made.root.mkdir()
    made.env["ACME_FEED_TOKEN"] = token
    made.write_config(ACME.replace("Acme Corp", customer))
    return made


def _everything_under(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()) if folder.exists() else ""


def test_an_export_that_does_not_say_for_whom_is_imported_only_when_told(tmp_path: Path) -> None:
    old = _project(tmp_path, "old", "Acme Corp", TOKEN_1)
    posted = old.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "Tunnel ACM-77 rotated.",
                     "Elevated API errors.")
    assert posted.exit_code == 0, posted.output
    export = _export_without_names(old, tmp_path)
    new = _project(tmp_path, "new", "Acme Travel", TOKEN_2)
    assert new.cli("post", "--yes", "--title", "Web slow", "-C", "web", "Slow.").exit_code == 0
    refused = new.cli("store", "import", str(export))
    assert refused.exit_code == 2 and "--same-customers" in refused.output, refused.output
    assert new.cli("site", "build").exit_code == 0
    assert "ACM-77" not in _everything_under(new.site)


def test_told_the_same_customers_it_records_them_and_a_reuse_is_refused_later(tmp_path: Path) -> None:
    old = _project(tmp_path, "old", "Acme Corp", TOKEN_1)
    assert old.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "Tunnel ACM-77 rotated.",
                   "Elevated API errors.").exit_code == 0
    export = _export_without_names(old, tmp_path)
    fresh = _project(tmp_path, "fresh", "Acme Corp", TOKEN_1)
    imported = fresh.cli("store", "import", "--same-customers", str(export))
    assert imported.exit_code == 0, imported.output
    fresh.env["ACME_FEED_TOKEN"] = TOKEN_2
    fresh.write_config(ACME.replace("Acme Corp", "Initech Travel"))
    refused = fresh.cli("post", "--yes", "--title", "Web slow", "-C", "api", "Slow.")
    assert refused.exit_code == 2 and "Nothing was stored or sent." in refused.output, refused.output


def test_a_dry_run_says_a_customers_page_would_be_behind(project: Project) -> None:
    project.env["ACME_FEED_TOKEN"] = TOKEN_1
    project.write_config(ACME)
    posted = project.cli("post", "--yes", "--json", "--title", "Queue stall", "-C", "api", "--for", "acme",
                         "Your queue ACM-Q1 stalled.", "Queues stalled.")
    incident = json.loads(posted.stdout)["incident_id"]
    dry = project.cli("amend", "--dry-run", incident, "1", "Queues stalled.", "--for", "acme",
                      "Your queue ACM-Q2 stalled.")
    assert dry.exit_code == 0 and "acme's own page and feeds" in dry.output, dry.output


# -- review 39a, over the fixes above ------------------------------------------------------------------------------


def test_a_header_naming_some_ids_does_not_vouch_for_the_others(tmp_path: Path) -> None:
    """The check asked whether the header named any id: a file naming acme imported globex's detail unchecked."""
    old = _project(tmp_path, "old", "Acme Corp", TOKEN_1)
    old.write_config(ACME + '\n[audiences.globex]\nname = "Globex Corporation"\ncomponents = ["db"]\n')
    assert old.cli("post", "--yes", "--title", "DB slow", "-C", "db", "--for", "globex", "Tunnel GLX-77 rotated.",
                   "Slow.").exit_code == 0
    export = _export_without_names(old, tmp_path)
    lines = export.read_text().splitlines()
    header = json.loads(lines[0]) | {"audience_names": {"acme": "acme corp"}}  # acme's alone, as a store's that
    export.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")  # recorded globex never would say
    new = _project(tmp_path, "new", "Acme Corp", TOKEN_1)
    new.write_config(ACME + '\n[audiences.globex]\nname = "Globex Travel"\ncomponents = ["db"]\n')
    refused = new.cli("store", "import", str(export))
    assert refused.exit_code == 2 and "globex" in refused.output and "--same-customers" in refused.output, refused.output


def test_a_name_the_file_holds_nothing_of_is_not_weighed(tmp_path: Path) -> None:
    """A stale record of an id the file holds nothing of refused a restore into a store of the same config."""
    source = _project(tmp_path, "source", "Acme Corp", TOKEN_1)
    assert source.cli("post", "--yes", "--title", "Web slow", "-C", "web", "Slow.").exit_code == 0  # acme recorded
    source.write_config(ACME.replace("Acme Corp", "Acme Travel"))  # acme given to another customer, nothing told it
    export = tmp_path / "source.jsonl"
    assert source.cli("store", "export", str(export)).exit_code == 0
    restored = _project(tmp_path, "restored", "Acme Travel", TOKEN_1)
    imported = restored.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output


def test_a_customers_own_notice_is_held_of_it(tmp_path: Path) -> None:
    """Review 40a: a customer's SLA notice (its id in the notice's extra, its deliveries to the customer's readers)
    was no detail of that customer for the import's check."""
    sla = ACME.replace('components = ["api"]', 'components = ["api"]\nsla = 99.99999')
    old = _project(tmp_path, "old", "Acme Corp", TOKEN_1)
    old.write_config(sla)
    assert old.cli("post", "--yes", "--title", "API down", "-C", "api=major_outage", "The API is down.").exit_code == 0
    time.sleep(2)
    ticked = old.cli("tick")
    assert ticked.exit_code == 0 and "audience_sla" in ticked.output, ticked.output
    export = _export_without_names(old, tmp_path)
    new = _project(tmp_path, "new", "Acme Travel", TOKEN_2)
    refused = new.cli("store", "import", str(export))
    assert refused.exit_code == 2 and "acme" in refused.output and "--same-customers" in refused.output, refused.output

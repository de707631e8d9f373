"""Review 41a, a hostile pass over the checks of reused customer ids (each test failed before its fix).

- ``tick`` stored its SLA notices before the check, which refused only their sending: a notice written for the
  customer the id was copied for ("Service level notice for Initech") waited for the id's channels, reached the old
  customer once its table was put back, and took that customer's own notice of the month.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver

SLA_ACME = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\nsla = 99.99999\n'


@pytest.fixture
def hooks(project: Project) -> Iterator[tuple[FakeReceiver, FakeReceiver]]:
    """An internal webhook ``ops`` and acme's own ``cust``."""
    ops, cust = FakeReceiver().start(), FakeReceiver().start()
    project.env["S"] = SECRET
    try:
        yield ops, cust
    finally:
        ops.stop()
        cust.stop()


def _channels(ops: FakeReceiver, cust: FakeReceiver) -> str:
    return (f'\n[channels.ops]\ntype = "webhook"\nurl = "{ops.hook_url}"\nsecret = "${{S}}"\nvisibility = "internal"\n'
            f'\n[channels.cust]\ntype = "webhook"\nurl = "{cust.hook_url}"\nsecret = "${{S}}"\naudience = "acme"\n')


def _texts(receiver: FakeReceiver) -> list[str]:
    return [json.dumps(event) for event in receiver.events]


def test_a_tick_under_a_reused_id_stores_no_notice(project: Project, hooks: tuple[FakeReceiver, FakeReceiver]) -> None:
    ops, cust = hooks
    project.write_config(SLA_ACME + _channels(ops, cust))
    posted = project.cli("post", "--yes", "--json", "--title", "API down", "-C", "api=major_outage", "The API is down.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    project.write_config(SLA_ACME.replace("Acme Corp", "Initech") + _channels(ops, cust))  # Acme's table copied
    time.sleep(2)
    ticked = project.cli("tick")
    assert ticked.exit_code == 2 and '[audiences.acme] is named "Initech"' in ticked.output, ticked.output
    shown = json.loads(project.cli("show", "--json", incident).stdout)
    assert [u["sequence"] for u in shown["updates"]] == [1], shown["updates"]
    project.write_config(SLA_ACME + _channels(ops, cust))  # put back: acme is Acme Corp
    assert project.cli("retry").exit_code == 0
    ticked = project.cli("tick")
    assert ticked.exit_code == 0, ticked.output
    assert not any("Initech" in text for text in _texts(cust)), _texts(cust)
    assert any("Service level notice for Acme Corp" in text for text in _texts(cust)), _texts(cust)


ACME = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
RENAMED = '\n[audiences.acme]\nname = "Acme Group"\nrenamed_from = "Acme Corp"\ncomponents = ["api"]\n'


def test_an_export_made_after_a_rename_imports_where_it_is_still_to_be_recorded(project: Project, tmp_path: Path) -> None:
    project.write_config(ACME)
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7.",
                       "Errors.").exit_code == 0
    fallback = Project(tmp_path / "fallback")  # the same team's other store, the same config
    fallback.root.mkdir()
    fallback.write_config(RENAMED)
    posted = fallback.cli("post", "--yes", "--title", "Web errors", "-C", "web", "--for", "acme", "Circuit ACM-8.",
                          "Errors.")
    assert posted.exit_code == 0, posted.output  # its record now says "acme group"
    export = tmp_path / "fallback.jsonl"
    assert fallback.cli("store", "export", str(export)).exit_code == 0
    project.write_config(RENAMED.replace('renamed_from = "Acme Corp"\n', ""))
    refused = project.cli("store", "import", str(export))  # the advice is the name this store knows
    assert refused.exit_code == 2 and 'add renamed_from = "acme corp"' in refused.output, refused.output
    project.write_config(RENAMED)  # the rename, not yet recorded here
    imported = project.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    assert project.cli("site", "build").exit_code == 0
    project.write_config(ACME.replace("Acme Corp", "Initech"))  # and the id still serves one customer alone
    assert project.cli("site", "build").exit_code == 2


TOKEN_1, TOKEN_2 = "first-feed-token-0123456789abcdef", "second-feed-token-0123456789abcdef"
PAGED = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"\n'


def test_a_refused_build_records_no_page_path(project: Project) -> None:
    project.env.update({"ACME_FEED_TOKEN": TOKEN_1, "INITECH_FEED_TOKEN": TOKEN_2})
    project.write_config(PAGED)
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7.",
                       "Errors.").exit_code == 0
    copied = PAGED.replace("Acme Corp", "Initech").replace("ACME_FEED", "INITECH_FEED")
    project.write_config(copied)  # Acme's table copied for Initech, with Initech's own token
    refused = project.cli("site", "build")
    assert refused.exit_code == 2 and "Nothing was built." in refused.output, refused.output
    project.write_config(PAGED + copied.replace("[audiences.acme]", "[audiences.initech]"))  # as advised
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output
    assert (project.site / "a" / TOKEN_2 / "index.html").is_file()
    assert "ACM-7" not in (project.site / "a" / TOKEN_2 / "index.html").read_text()

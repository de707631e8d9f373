"""What an import brings that ``retry`` then sends, read for labels for staff as the text it came from is (review 26a).

The import's check read an update's message and a customer's notice; three ways past it, each found by a review of
the notice check and each through the real CLI against the fakes:

- a post in parts half sent is finished from its stored rendering, not from its text: a harmless message with
  "Internal only: ..." as the rendering's next part went out;
- a file's update that the store already has (the same time and message) is merged: the file's deliveries are added
  to the store's copy, and the store's copy is what is sent;
- and the other way: the product's own SLA notice for a customer named "St. Mary Hospital - Staff" read as labelled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.slack import FakeSlack
from tests.fakes.world import FakeWorld
from tests.test_audiences import AUDIENCES, channels_toml, said, slack_world
from tests.test_fix25_staff_labels import LEAK, import_into_fresh
from tests.test_store_review17 import telegram_texts

LABELLED = "Internal only: the cause was CHG-4411."
ACME_CHAT = "@acmecustomer"


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    yield from slack_world(project)


def refused(code: int, output: str) -> bool:
    return code == 2 and "Nothing was imported" in output and output.endswith("[]")  # `list --json`: nothing stored


@pytest.mark.parametrize("kind", ["notice", "update"])
def test_a_half_sent_post_is_not_finished_from_a_rendering_holding_a_label(
    project: Project, world: FakeWorld, tmp_path: Path, kind: str
) -> None:
    world.telegram.add_chat(ACME_CHAT, "Acme customer")
    project.write_config(ENGINE + world.channels_toml() + AUDIENCES + f"""
[channels.tg-acme]
type = "telegram"
audience = "acme"
token = "${{TG_TOKEN}}"
chat_ids = ["{ACME_CHAT}"]
api_url = "{world.telegram.url}"
""")
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--only", "tg-acme",
                         "Errors are elevated.")
    assert posted.exit_code == 0, posted.output
    exported = project.root / "export.jsonl"
    assert project.cli("store", "export", str(exported)).exit_code == 0
    header, record = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    first = next(d for d in record["updates"][0]["deliveries"] if d["destination"] == "tg-acme")
    benign = "Service level notice for Acme Corp: the availability of your services (API) this month is 99.1%."
    record["updates"].append({
        **record["updates"][0], "sequence": 2, "kind": kind, "raw_message": benign, "audiences": [],
        "audience_detail": [], "author": "broadcaster",
        "extra": {"notice": "audience_sla", "month": "2026-12", "audience": "acme"} if kind == "notice" else {},
        "deliveries": [{**first, "state": "pending", "remote_id": None, "thread_ref": None, "sent_at": None,
                        "attempts": 1, "last_error": None, "parts": [first["remote_id"]],
                        "rendering": {"text": benign, "visibility": "audience:acme", "payload": {"parse_mode": "HTML"},
                                      "parts": [benign, LABELLED]}}]})
    code, output = import_into_fresh(project, tmp_path, header, record)
    assert refused(code, output) and "the rendering stored for tg-acme" in output, output
    before = len(telegram_texts(world, ACME_CHAT))
    Project(tmp_path / "fresh", env=dict(project.env)).cli("retry")
    assert not any(LEAK in text for text in telegram_texts(world, ACME_CHAT)[before:])


def test_a_merge_reads_the_stores_copy_it_adds_deliveries_to(project: Project, slack: FakeSlack) -> None:
    full = project.config.read_text(encoding="utf-8")
    without_acme = full.replace('[channels.acme-slack]\ntype = "slack"\naudience = "acme"',
                                '[channels.unused]\ntype = "slack"\naudience = "globex"')
    project.config.write_text(without_acme, encoding="utf-8")
    # acme's detail, with a label, read by no one beyond staff: acme has no channel yet (nor a private page)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--for", "acme", LABELLED,
                         "Errors are elevated.")
    assert posted.exit_code == 0, posted.output
    project.config.write_text(full, encoding="utf-8")  # acme's channel added: nothing sends it update 1
    target = project.root / "export.jsonl"
    assert project.cli("store", "export", str(target)).exit_code == 0
    header, record = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    first = record["updates"][0]
    model = next(d for d in first["deliveries"] if d["destination"] == "public-slack")
    first["audience_detail"] = []  # the file's copy, which the check reads, holds no detail
    first["deliveries"].append({**model, "destination": "acme-slack", "target": "", "visibility": "audience:acme",
                                "state": "pending", "remote_id": None, "thread_ref": None, "parts": [],
                                "sent_at": None, "attempts": 0, "last_error": None})
    edited = project.root / "edited.jsonl"
    edited.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in (header, record)), encoding="utf-8")
    imported = project.cli("store", "import", str(edited))
    said_on_import = " ".join(imported.output.split())
    assert imported.exit_code == 2 and "adds audience:acme deliveries to update #1" in said_on_import, imported.output
    assert "Nothing was imported" in said_on_import
    project.cli("retry")
    assert slack.messages["C0ACME0001"] == [] and LEAK not in said(slack, "C0ACME0001")


@pytest.mark.parametrize(("name", "language"), [("St. Mary Hospital - Staff", "en"), ("Stadt Bern - Intern", "de"),
                                                ("Region Norr - Internt", "sv")])
def test_the_products_own_notice_for_a_customer_named_with_a_label_word_imports(
    project: Project, slack: FakeSlack, tmp_path: Path, name: str, language: str
) -> None:
    """The notice a breach of acme's service level raises (``sla = 100``: the post itself raises it), left waiting at
    acme's channel; the store that wrote it sends it as written, so another store imports it."""
    audiences = AUDIENCES.replace('name = "Acme Corp"', f'name = "{name}"').replace(
        'components = ["api"]', 'components = ["api"]\nsla = 100', 1)
    project.write_config()
    config = project.config.read_text(encoding="utf-8").replace(
        'timezone = "Europe/Berlin"', f'timezone = "Europe/Berlin"\nlanguage = "{language}"')
    project.config.write_text(config + audiences + channels_toml(slack), encoding="utf-8")
    posted = project.cli("post", "--yes", "--title", "API down", "-C", "api=major_outage", "--skip", "acme-slack",
                         "Down.")
    assert posted.exit_code in (0, 3), posted.output
    target = project.root / "export.jsonl"
    assert project.cli("store", "export", str(target)).exit_code == 0
    header, record = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    notices: list[Any] = [u for u in record["updates"] if u["kind"] == "notice" and u["extra"].get("audience") == "acme"]
    assert notices and any(d["state"] in ("failed", "pending") for d in notices[0]["deliveries"]), record["updates"]
    code, output = import_into_fresh(project, tmp_path, header, record)
    assert code == 0, output

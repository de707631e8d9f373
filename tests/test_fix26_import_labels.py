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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.slack import FakeSlack
from tests.fakes.world import FakeWorld
from tests.test_audiences import AUDIENCES, channels_toml, said, slack_world
from tests.test_fix20_parts import WORDS, _down, _first_part_only
from tests.test_fix25_staff_labels import (
    LEAK,
    customers_notice,
    exported_record,
    import_into_fresh,
    private_page,
    public_files,
    with_private_page,
)
from tests.test_store_review17 import telegram_texts

LABELLED = "Internal only: the cause was CHG-4411."
STAFF_TITLE = "Internal: CHG-4411 rollout"
ACME_CHAT = "@acmecustomer"
BENIGN = "Service level notice for Acme Corp: the availability of your services (API) this month is 99.1%."


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    yield from slack_world(project)


@pytest.fixture
def paged(project: Project, slack: FakeSlack) -> FakeSlack:
    return with_private_page(project, slack)


def refused(code: int, output: str) -> bool:
    return code == 2 and "Nothing was imported" in output and output.endswith("[]")  # `list --json`: nothing stored


@pytest.mark.parametrize("kind", ["notice", "update"])
def test_a_half_sent_post_is_not_finished_from_a_rendering_holding_a_label(
    project: Project, world: FakeWorld, tmp_path: Path, kind: str
) -> None:
    tg_acme(project, world)
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
    assert imported.exit_code == 2 and "merged, update #1 here has" in said_on_import, imported.output
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


def fresh_of(project: Project, tmp_path: Path) -> Project:
    return Project(tmp_path / "fresh", env=dict(project.env))


def write_jsonl(path: Path, *lines: Any) -> Path:
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path


def export(project: Project, name: str = "export.jsonl") -> tuple[dict[str, Any], dict[str, Any]]:
    target = project.root / name
    assert project.cli("store", "export", str(target)).exit_code == 0
    header, record = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    return header, record


def tg_acme(project: Project, world: FakeWorld, name: str = "Acme Corp") -> None:
    world.telegram.add_chat(ACME_CHAT, "Acme customer")
    audiences = AUDIENCES.replace('name = "Acme Corp"', "name = " + json.dumps(name))
    project.write_config(ENGINE + world.channels_toml() + audiences + f"""
[channels.tg-acme]
type = "telegram"
audience = "acme"
token = "${{TG_TOKEN}}"
chat_ids = ["{ACME_CHAT}"]
api_url = "{world.telegram.url}"
""")


def forged(first: dict[str, Any], parts: list[str], messages: list[str], state: str = "pending") -> dict[str, Any]:
    return {**first, "state": state, "remote_id": None, "thread_ref": None, "sent_at": None, "attempts": 1,
            "last_error": None, "parts": parts,
            "rendering": {"text": BENIGN, "visibility": "audience:acme", "payload": {"parse_mode": "HTML"},
                          "parts": messages}}


# -- review 26b: a confirmed part id Telegram does not count ---------------------------------------------------

def test_a_part_id_telegram_does_not_count_hides_no_message_of_a_rendering(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    """The check reads messages[len(parts):]; Telegram resumes after the parts whose ids parse as chat:number
    (``_Progress.resumed``). A part "@acmecustomer:x" is counted by the check, not by Telegram."""
    tg_acme(project, world)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--only", "tg-acme",
                         "Errors are elevated.")
    assert posted.exit_code == 0, posted.output
    header, record = export(project)
    first = next(d for d in record["updates"][0]["deliveries"] if d["destination"] == "tg-acme")
    record["updates"].append({
        **record["updates"][0], "sequence": 2, "kind": "update", "raw_message": BENIGN, "audiences": [],
        "audience_detail": [], "deliveries": [forged(first, [f"{ACME_CHAT}:x"], [LABELLED, BENIGN])]})
    code, output = import_into_fresh(project, tmp_path, header, record)
    before = len(telegram_texts(world, ACME_CHAT))
    fresh_of(project, tmp_path).cli("retry")
    assert not any(LEAK in t for t in telegram_texts(world, ACME_CHAT)[before:]), (code, output)


# -- review 26b: a skipped delivery's rendering taken over by a merge ----------------------------------------

def test_a_merge_takes_over_no_rendering_with_a_label_from_a_skipped_delivery(project: Project, world: FakeWorld) -> None:
    """The rendering check skips deliveries in DONE_STATES; ``_take_over_what_may_be_posted`` takes the file's
    longer parts and their rendering into this store's unsent delivery whatever the file's state."""
    tg_acme(project, world)
    world.telegram.fail(*(_fault() for _ in range(10)))
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--only", "tg-acme",
                         BENIGN)
    assert posted.exit_code == 3, posted.output
    world.telegram.clear_faults()
    header, record = export(project)
    update = record["updates"][0]
    index = next(i for i, d in enumerate(update["deliveries"]) if d["destination"] == "tg-acme")
    update["deliveries"][index] = forged(update["deliveries"][index], [f"{ACME_CHAT}:424242"], [BENIGN, LABELLED],
                                         state="skipped")
    imported = project.cli("store", "import", str(write_jsonl(project.root / "edited.jsonl", header, record)))
    before = len(telegram_texts(world, ACME_CHAT))
    project.cli("retry")
    project.cli("retry", "--include-unknown")
    assert not any(LEAK in t for t in telegram_texts(world, ACME_CHAT)[before:]), imported.output


def _fault() -> Any:
    from tests.fakes.base import Fault
    return Fault(match="sendMessage", response=_down())


# -- review 26b: the customer's name masks the label itself ---------------------------------------------------

@pytest.mark.parametrize(("name", "text"), [("Inter", "Internal only: the cause was CHG-4411."),
                                            ("Internal", "Internal: the cause was CHG-4411."),
                                            ("Staff", "Staff only: the cause was CHG-4411.")])
def test_a_customers_name_never_hides_a_label_it_is_part_of(
    project: Project, slack: FakeSlack, tmp_path: Path, name: str, text: str
) -> None:
    project.config.write_text(project.config.read_text(encoding="utf-8").replace(
        'name = "Acme Corp"', f'name = "{name}"'), encoding="utf-8")
    header, record = exported_record(project, "-C", "api", "Errors are elevated.")
    record["updates"].append(customers_notice(record, text, "pending"))
    code, output = import_into_fresh(project, tmp_path, header, record)
    fresh_of(project, tmp_path).cli("retry")
    assert LEAK not in said(slack, "C0ACME0001"), (code, output)


# -- review 26b: the round trip of the product's own notice for "St. Mary Hospital - Staff" ------------------

def _sla_notice_waiting(project: Project, slack: FakeSlack, name: str) -> None:
    audiences = AUDIENCES.replace('name = "Acme Corp"', f'name = "{name}"').replace(
        'components = ["api"]', 'components = ["api"]\nsla = 100', 1)
    project.write_config()
    project.config.write_text(project.config.read_text(encoding="utf-8") + audiences + channels_toml(slack),
                              encoding="utf-8")
    posted = project.cli("post", "--yes", "--title", "API down", "-C", "api=major_outage", "--skip", "acme-slack",
                         "Down.")
    assert posted.exit_code in (0, 3), posted.output


@pytest.mark.parametrize("way", ["into-itself", "back-from-a-copy"])
def test_the_products_own_notice_for_such_a_customer_goes_back_and_forth(project: Project, slack: FakeSlack, tmp_path: Path,
                                                   way: str) -> None:
    _sla_notice_waiting(project, slack, "St. Mary Hospital - Staff")
    header, record = export(project)
    assert any(u["kind"] == "notice" and u["extra"].get("audience") == "acme"
               and any(d["state"] in ("pending", "failed") for d in u["deliveries"]) for u in record["updates"])
    source = project.root / "export.jsonl"
    if way == "back-from-a-copy":
        code, output = import_into_fresh(project, tmp_path, header, record)
        assert code == 0, output
        fresh = fresh_of(project, tmp_path)
        source = tmp_path / "back.jsonl"
        assert fresh.cli("store", "export", str(source)).exit_code == 0
    imported = project.cli("store", "import", str(source))
    assert imported.exit_code == 0, imported.output


# -- review 26b: a real half-sent post to a customer whose name the rendering escapes ----------------------

@pytest.mark.parametrize("name", ["Staff & Partners - Internal", "St. Mary's Hospital - Staff",
                                  "St. Mary Hospital - Staff"])
def test_a_half_sent_post_for_a_customer_named_with_a_label_word_imports(
    project: Project, world: FakeWorld, tmp_path: Path, name: str
) -> None:
    tg_acme(project, world, name)
    _first_part_only(world)
    posted = project.cli("post", "--yes", "--json", "--only", "tg-acme", "--title", "Checkout down", "-C", "api",
                         "--for", "acme", "We will credit your account.", " ".join(WORDS))
    assert posted.exit_code == 3, posted.output
    world.telegram.clear_faults()
    header, record = export(project)
    delivery = next(d for d in record["updates"][0]["deliveries"] if d["destination"] == "tg-acme")
    assert len(delivery["parts"]) == 1 and delivery["rendering"] is not None, delivery
    code, output = import_into_fresh(project, tmp_path, header, record)
    assert code == 0, output


# -- review 26b: one file holding the incident twice: the second merges into the first's copy --------------------

def test_one_incident_twice_in_a_file_is_refused(project: Project, slack: FakeSlack, tmp_path: Path) -> None:
    """Record 1 keeps update 1 to staff (every delivery beyond staff skipped, none to acme), acme's detail labelled.
    Record 2, the same incident, update 1 of the same time and message without the detail and with a pending
    acme-slack delivery. Each record passes alone; the pre-merge check reads only what the store had before."""
    header, record = exported_record(project, "-C", "api", "--only", "ops", "--for", "acme", LABELLED,
                                     "Errors are elevated.")
    first = record["updates"][0]
    assert any(LEAK in text for _, text in first["audience_detail"]), first
    model = next(d for d in first["deliveries"] if d["destination"] == "ops")
    first["deliveries"] = [d for d in first["deliveries"] if d["destination"] != "acme-slack"]
    for d in first["deliveries"]:
        if d["visibility"] != "internal":
            d["state"] = "skipped"
    second = json.loads(json.dumps(record))
    second["updates"][0]["audience_detail"] = []
    second["updates"][0]["deliveries"] = [{**model, "destination": "acme-slack", "target": "", "visibility":
                                           "audience:acme", "state": "pending", "remote_id": None,
                                           "thread_ref": None, "parts": [], "rendering": None, "sent_at": None,
                                           "attempts": 0, "last_error": None}]
    fresh = fresh_of(project, tmp_path)
    fresh.root.mkdir()
    fresh.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
    imported = fresh.cli("store", "import", str(write_jsonl(tmp_path / "twice.jsonl", header, record, second)))
    assert imported.exit_code == 2 and "is in the file twice" in imported.output, imported.output
    fresh.cli("retry")
    assert LEAK not in said(slack, "C0ACME0001"), imported.output


def _rename(project: Project, old: str, new: str) -> None:
    project.config.write_text(project.config.read_text(encoding="utf-8").replace(
        f'name = "{old}"', "name = " + json.dumps(new)), encoding="utf-8")


def _pending_to_acme(model: dict[str, Any]) -> dict[str, Any]:
    return {**model, "destination": "acme-slack", "target": "", "visibility": "audience:acme", "state": "pending",
            "remote_id": None, "thread_ref": None, "parts": [], "rendering": None, "sent_at": None, "attempts": 0,
            "last_error": None}


# -- review 26c: the same incident twice in one file, the second under the id-2 the first is renamed to ---------

def test_one_incident_twice_in_a_file_under_a_renamed_id_is_refused(project: Project, slack: FakeSlack, tmp_path: Path) -> None:
    """``_refuse_an_incident_twice`` keys on (id, created_at); ``_copy_here`` finds a copy under id, id-2, ...
    Target store has its own incident J. Record 1 = id J (another created_at): stored as J-2. Record 2 = id J-2,
    the same created_at: ``_copy_here`` finds record 1's copy and merges into it after every check ran."""
    header, record = exported_record(project, "-C", "api", "--only", "ops", "--for", "acme", LABELLED,
                                     "Errors are elevated.")
    first = record["updates"][0]
    model = next(d for d in first["deliveries"] if d["destination"] == "ops")
    first["deliveries"] = [d for d in first["deliveries"] if d["destination"] != "acme-slack"]
    for d in first["deliveries"]:
        if d["visibility"] != "internal":
            d["state"] = "skipped"
    fresh = fresh_of(project, tmp_path)
    fresh.root.mkdir()
    fresh.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
    own = fresh.cli("post", "--yes", "--json", "--only", "ops", "--title", "Something else", "-C", "db", "Slow.")
    assert own.exit_code == 0, own.output
    taken = json.loads(own.stdout)["incident_id"]
    record["incident"]["id"] = taken
    second = json.loads(json.dumps(record))
    second["incident"]["id"] = f"{taken}-2"
    second["updates"][0]["audience_detail"] = []
    second["updates"][0]["deliveries"] = [_pending_to_acme(model)]
    imported = fresh.cli("store", "import", str(write_jsonl(tmp_path / "twice.jsonl", header, record, second)))
    assert imported.exit_code == 2 and "is in the file twice" in imported.output, imported.output
    fresh.cli("retry")
    assert LEAK not in said(slack, "C0ACME0001"), imported.output


# -- review 26c: a customer's name ending in a label excuses an operator's labelled text at a merge -------------------

@pytest.mark.parametrize("name", ["St. Mary Hospital - Staff", "Acme - Internal Only"])
def test_a_customers_name_excuses_no_operators_text_at_a_merge(project: Project, slack: FakeSlack, name: str) -> None:
    """zz26r p08 with a customer named "<name>": update 1 posted before acme had a channel, acme's detail
    "<name>: the cause was CHG-4411." (read by no one beyond staff then). ``post`` refuses this same detail to acme
    (its gate reads no names). The file's copy drops the detail and adds a pending acme-slack delivery; ceb7a79's
    merge check refused it, d40dd67's excuses it by the name, and retry sends it to acme."""
    _rename(project, "Acme Corp", name)
    detail = f"{name}: the cause was CHG-4411."
    direct = project.cli("post", "--yes", "--title", "Probe", "-C", "api", "--only", "acme-slack", "--for", "acme",
                         detail, "Errors are elevated.")
    assert direct.exit_code != 0 and "label for staff" in direct.output, direct.output  # post's rule
    full = project.config.read_text(encoding="utf-8")
    without_acme = full.replace('[channels.acme-slack]\ntype = "slack"\naudience = "acme"',
                                '[channels.unused]\ntype = "slack"\naudience = "globex"')
    assert without_acme != full
    project.config.write_text(without_acme, encoding="utf-8")
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--for", "acme", detail,
                         "Errors are elevated.")
    assert posted.exit_code == 0, posted.output
    project.config.write_text(full, encoding="utf-8")
    project.cli("retry")
    assert LEAK not in said(slack, "C0ACME0001")  # the store alone never sends update 1 there
    header, record = export(project)
    first = record["updates"][0]
    assert first["audience_detail"] == [["acme", detail]], first
    model = next(d for d in first["deliveries"] if d["destination"] == "public-slack")
    first["audience_detail"] = []
    first["deliveries"].append(_pending_to_acme(model))
    imported = project.cli("store", "import", str(write_jsonl(project.root / "edited.jsonl", header, record)))
    project.cli("retry")
    assert LEAK not in said(slack, "C0ACME0001"), imported.output


# -- review 26c: a forged notice that begins with a name that ends in a label ----------------------------------------

@pytest.mark.parametrize(("name", "text"), [
    ("Acme - Internal Only", "Acme - Internal Only: the cause was CHG-4411."),
    ("Internal only.", "Internal only. The cause was CHG-4411."),
    ("Internal only!", "Internal only! The cause was CHG-4411."),
])
def test_a_forged_notice_headed_by_a_name_ending_in_a_label_is_refused(project: Project, slack: FakeSlack, tmp_path: Path,
                                                 name: str, text: str) -> None:
    _rename(project, "Acme Corp", name)
    header, record = exported_record(project, "-C", "api", "Errors are elevated.")
    record["updates"].append(customers_notice(record, text, "pending"))
    code, output = import_into_fresh(project, tmp_path, header, record)
    fresh_of(project, tmp_path).cli("retry")
    assert LEAK not in said(slack, "C0ACME0001"), (code, output)


def _public(model: dict[str, Any], state: str) -> dict[str, Any]:
    """A public delivery at a new place, as the other store recorded it: ``sent`` (a done state) or ``pending``."""
    sent = state == "sent"
    return {**model, "destination": "public-archive", "target": "", "visibility": "public", "state": state,
            "remote_id": "1700000000.000100" if sent else None, "thread_ref": None, "parts": [], "rendering": None,
            "sent_at": model["updated_at"] if sent else None, "attempts": int(sent), "last_error": None}


# -- review 26d: a merge adds a public delivery to an update kept to staff; the page then shows it --------------

@pytest.mark.parametrize("state", ["sent", "pending"])
def test_a_merge_that_shows_an_update_kept_to_staff_reads_its_title(project: Project, slack: FakeSlack,
                                                                    state: str) -> None:
    """`post --only ops --title "Internal: CHG-4411 rollout"` is allowed: every public delivery is skipped, so the
    page and the bot leave it out. The file's copy has a harmless title (not newer, so the merge keeps this store's
    title) and adds a public delivery to update 1. Once merged, the update is no longer kept off the page, which shows
    this store's title (a pending delivery's retry posts it too)."""
    code, out = project.cli_json("post", "--yes", "--only", "ops", "--title", STAFF_TITLE, "-C", "api",
                                 "Errors are elevated.")
    assert code == 0, out
    project.cli("site", "build")
    assert LEAK not in public_files(project)
    header, record = export(project)
    record["incident"]["title"] = record["incident"]["raw_title"] = "API errors"
    first = record["updates"][0]
    first["deliveries"].append(_public(next(d for d in first["deliveries"] if d["visibility"] == "public"), state))
    imported = project.cli("store", "import", str(write_jsonl(project.root / "edited.jsonl", header, record)))
    assert imported.exit_code == 2 and "label for staff" in imported.output, imported.output
    project.cli("retry")
    project.cli("site", "build")
    assert LEAK not in public_files(project) and LEAK not in said(slack, "C0PUB00001"), imported.output


# -- review 26d: a merge's public delivery puts a customer's detail kept to staff on its private page -------------

@pytest.mark.parametrize("state", ["sent", "pending"])
def test_a_merge_that_shows_an_update_kept_to_staff_reads_each_customers_detail(project: Project, paged: FakeSlack,
                                                                                state: str) -> None:
    """`post --only ops --for acme "Internal only: ..." "Errors are elevated."` goes to staff alone (allowed). The
    file's copy of update 1 drops the detail and adds a public delivery: once merged, acme's private page shows
    acme's detail (retry posts only the public text)."""
    code, out = project.cli_json("post", "--yes", "--only", "ops", "--title", "API errors", "-C", "api",
                                 "--for", "acme", LABELLED, "Errors are elevated.")
    assert code == 0, out
    project.cli("site", "build")
    assert LEAK not in private_page(project)
    header, record = export(project)
    first = record["updates"][0]
    first["audience_detail"] = []
    first["deliveries"].append(_public(next(d for d in first["deliveries"] if d["visibility"] == "public"), state))
    imported = project.cli("store", "import", str(write_jsonl(project.root / "edited.jsonl", header, record)))
    assert imported.exit_code == 2 and "label for staff" in imported.output, imported.output
    project.cli("retry")
    project.cli("site", "build")
    assert LEAK not in private_page(project), imported.output
    assert LEAK not in said(paged, "C0PUB00001") and LEAK not in said(paged, "C0ACME0001")


# -- review 26d: a refusal after the store is opened leaves a new state file behind ------------------------------

def test_an_incident_twice_is_refused_before_a_state_file_is_made(project: Project, slack: FakeSlack, tmp_path: Path) -> None:
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Errors are elevated.")
    assert code == 0, out
    header, record = export(project)
    fresh = fresh_of(project, tmp_path)
    fresh.root.mkdir()
    fresh.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
    before = {p for p in fresh.root.rglob("*")}
    imported = fresh.cli("store", "import", str(write_jsonl(tmp_path / "twice.jsonl", header, record, record)))
    assert imported.exit_code == 2 and "twice" in imported.output, imported.output
    made = sorted(str(p.relative_to(fresh.root)) for p in set(fresh.root.rglob("*")) - before)
    assert made == [], made  # cli/store.py: "a refused import leaves no new state file behind"


# -- review 26e: a newer title in the file replaces this store's, and heads the updates the page shows --------

def _later(stamp: str, seconds: int = 5) -> str:
    return (datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(seconds=seconds)).isoformat().replace(
        "+00:00", "Z") if stamp.endswith("Z") else (datetime.fromisoformat(stamp) + timedelta(seconds=seconds)).isoformat()


def _bot_status(project: Project) -> str:
    from broadcaster.bot.status import status_replies
    from broadcaster.config_loader import load
    from broadcaster.store import SQLiteStore

    store = SQLiteStore(project.root / ".broadcaster" / "state.db")
    try:
        return " ".join(str(r) for r in status_replies(load(str(project.config)), store, None))
    finally:
        store.close()


@pytest.mark.parametrize("variant", ["kept-to-staff-copy", "no-updates", "no-deliveries"])
def test_a_newer_title_merged_over_a_public_incident_is_read_with_its_updates(project: Project, slack: FakeSlack,
                                                                 variant: str) -> None:
    """Store: a public incident "API errors", update 1 sent to the public. File: the same incident with a newer
    updated_at and title "Internal: CHG-4411 rollout"; its update 1 kept to staff in the file (every delivery beyond
    staff skipped), or no updates at all. The file's check reads the title only with the file's deliveries, the
    merge check reads this store's title (not the file's): `_merge_incident` then takes the file's title."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Errors are elevated.")
    assert code == 0, out
    header, record = export(project)
    inc = record["incident"]
    inc["title"] = inc["raw_title"] = STAFF_TITLE
    inc["updated_at"] = _later(inc["updated_at"])
    if variant == "no-updates":
        record["updates"] = []
    elif variant == "no-deliveries":
        for u in record["updates"]:
            u["deliveries"] = []
    else:
        for u in record["updates"]:
            for d in u["deliveries"]:
                if d["visibility"] != "internal":
                    d["state"], d["remote_id"], d["sent_at"] = "skipped", None, None
    imported = project.cli("store", "import", str(write_jsonl(project.root / "edited.jsonl", header, record)))
    assert imported.exit_code == 2 and "label for staff" in imported.output, imported.output
    project.cli("retry")
    project.cli("site", "build")
    assert LEAK not in public_files(project), imported.output
    assert LEAK not in _bot_status(project), imported.output
    assert LEAK not in said(slack, "C0PUB00001") and LEAK not in said(slack, "C0ACME0001")

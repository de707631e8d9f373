"""A hostile review of leaks through fields nobody thought of, and through inference; each test failed before its fix.

Through the real CLI against Standard Webhooks receivers on loopback (tests/fakes/webhook.py): one public, one
internal, one per customer (acme on the API, globex on the database), and the site in a local folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.fakes.world import OPS_CHATS, FakeWorld
from tests.test_audiences import AUDIENCES

NAMES = ("pub", "ops", "acme", "globex")


@pytest.fixture
def hooks(project: Project) -> Iterator[dict[str, FakeReceiver]]:
    started = {name: FakeReceiver().start() for name in NAMES}
    try:
        project.env.update({"S": SECRET, "GLOBEX_TOKEN": "globextokenglobextoken0123456"})
        readers = {"pub": "", "ops": 'visibility = "internal"', "acme-hook": 'audience = "acme"',
                   "globex-hook": 'audience = "globex"'}
        hooks_toml = "".join(
            f'\n[channels.{name}]\ntype = "webhook"\n{line}\nurl = "{started[name.removesuffix("-hook")].hook_url}"\n'
            'secret = "${S}"\n' for name, line in readers.items())
        project.write_config("[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 2\n" + AUDIENCES + hooks_toml)
        yield started
    finally:
        for fake in started.values():
            fake.stop()


def run(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli(*args, "--yes", "--json")
    assert result.stdout, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def public_files(project: Project) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in project.site.rglob("*")
                     if p.is_file() and not p.name.startswith(".") and "/a/" not in str(p))


def test_two_stores_never_send_two_different_events_under_one_webhook_id(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:
    # The documented fallback: the team database is down, the on-call posts from a local file.
    first = run(project, "post", "--title", "API errors", "-C", "api", "First incident of the day.")
    (project.root / "fallback.db").touch()
    second = run(project, "--store", str(project.root / "fallback.db"), "post", "--title", "API errors", "-C", "api",
                 "A second, different incident, from the fallback store.")
    assert first["incident_id"] == second["incident_id"] and first["sequence"] == second["sequence"] == 1
    assert {d["destination"]: d["state"] for d in second["deliveries"]}["pub"] == "sent"

    # The receiver drops an event whose webhook-id it has seen (as the README tells it to): the webhook-id was
    # (incident, sequence), which the two stores both had, so the second incident, recorded "sent", never reached it.
    assert hooks["pub"].repeats == 0
    assert [e["data"]["update"]["message"] for e in hooks["pub"].events] == [
        "First incident of the day.", "A second, different incident, from the fallback store."]


# An operator's slip of the brackets or of the word published the span as prose to everyone: round or curly
# brackets, a customer's id as the tag, a word taken for a marker ("[internal]").
@pytest.mark.parametrize("text", [
    "Update. (for globex)Your cluster G7 fails over at 02:00.(/for)",
    "Update. {for globex}Your cluster G7 fails over at 02:00.{/for}",
    "Update. [globex]Your cluster G7 fails over at 02:00.[/globex]",
    "Update. [customer globex]Your cluster G7 fails over at 02:00.[/customer]",
    "Update. [internal]edge router fra-2 lost BGP after our change CHG-4411[/internal]",
    "Update. [staff only] edge router fra-2 lost BGP.",
    "Update. (for Globex Industries) your cluster fails over.",
    "Update. {/private}",
])
def test_a_marker_that_is_not_one_is_refused_not_published(
        project: Project, hooks: dict[str, FakeReceiver], text: str) -> None:
    result = project.cli("preview", "--title", "DB errors", "-C", "db", text, "--json")
    if result.exit_code == 0:
        rendered = {d["destination"]: d["rendered"] for d in json.loads(result.stdout)["deliveries"]}
        pytest.fail(f"published to the public as prose: {rendered['pub'][0].splitlines()[2]!r}")
    assert result.exit_code == 2


@pytest.mark.parametrize("text", [
    "Errors on some endpoints (/v1/users) since 14:00.",
    "Errors [see below] for some users (for now).",
    "Retry (for four hours) then [or the CDN] fails over.",
])
def test_prose_with_brackets_is_still_taken(project: Project, hooks: dict[str, FakeReceiver], text: str) -> None:
    result = project.cli("preview", "--title", "DB errors", "-C", "db", text, "--json")
    assert result.exit_code == 0, result.output


# A correction that changes only what others read (a customer's detail, the staff note) was announced to the public:
# an update.amended event, X's "Correction" reply, an edit of the public chat, "Corrected" on the page.
@pytest.mark.parametrize("change", [("--for", "acme", "Your circuit ACM-9 is now primary."),
                                    ("--private", "edge fra-2 replaced")])
def test_a_correction_of_private_detail_alone_is_not_announced_to_the_public(
        project: Project, hooks: dict[str, FakeReceiver], change: tuple[str, ...]) -> None:
    first = run(project, "post", "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACM-7 rerouted.",
                "Elevated error rates.")
    incident = first["incident_id"]
    assert [e["type"] for e in hooks["pub"].events] == ["incident.updated"]

    # The public text is given again unchanged: only a customer's detail (or the staff note) changes.
    run(project, "amend", incident, "1", *change, "Elevated error rates.")

    # Public readers (and the page) learn nothing from a change they cannot see: no event, no "Corrected".
    assert [e["type"] for e in hooks["pub"].events] == ["incident.updated"], hooks["pub"].events[-1]
    page = (project.site / "incidents" / f"{incident}.html").read_text()
    assert "Corrected" not in page
    # Those who read the change hear of it: staff always, acme when its detail changed; globex never was told.
    assert [e["type"] for e in hooks["ops"].events] == ["incident.updated", "update.amended"]
    amended_for_acme = change[0] == "--for"
    assert [e["type"] for e in hooks["acme"].events] == ["incident.updated", *(["update.amended"] * amended_for_acme)]
    assert hooks["globex"].events == []


def test_a_staff_note_correction_posts_no_public_correction_reply_on_x(project: Project) -> None:
    with FakeWorld() as world:
        project.write_config(ENGINE + world.channels_toml())
        project.env.update(world.env)
        posted = run(project, "post", "--title", "API errors", "-C", "api", "--private", "edge fra-2",
                     "Errors in eu-west.")
        run(project, "amend", posted["incident_id"], "1", "--private", "edge fra-3, not fra-2", "Errors in eu-west.")
        # Nothing the public reads changed, yet X gets a second post ("Correction · Update 1 · ..."), and the
        # public Telegram chat is edited (to the same text). (The world's Slack channel is internal.)
        problems = []
        if len(world.x.tweets) > 1:
            problems.append(f"X reply: {world.x.tweets[1].text!r}")
        public_edits = [e for e in world.telegram.edits if e.chat_id not in OPS_CHATS]  # staff may see the new note
        if public_edits:
            problems.append(f"public Telegram chat edited: {public_edits[0].chat_id}")
        assert not problems, problems


def test_the_public_start_of_a_widened_incident_is_its_first_public_update(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:
    """An incident first kept to staff, widened later: summary.json, the page and the public webhook said it started
    when staff were told, which tells the public how long it was known before they heard of it."""
    import time
    from datetime import datetime

    def when(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    hidden = run(project, "post", "--only", "ops", "--title", "Payment failures", "-C", "api",
                 "Staff only: card processor errors; not public yet.")
    incident = hidden["incident_id"]
    time.sleep(1.2)  # hours, in real life
    run(project, "post", "-i", incident, "--widen", "Some payments fail. We are investigating.")

    summary = json.loads((project.site / "summary.json").read_text())
    [shown] = [i for i in summary["incidents"] if i["id"] == incident]
    first_public = min(when(u["created_at"]) for u in shown["incident_updates"])
    assert when(shown["created_at"]) >= first_public and when(shown["started_at"]) >= first_public, shown
    event = hooks["pub"].events[-1]["data"]
    assert when(event["incident"]["created_at"]) == when(event["update"]["created_at"]), event
    staff = hooks["ops"].events[-1]["data"]  # staff were told from the start
    assert when(staff["incident"]["created_at"]) < when(staff["update"]["created_at"])


# An incident created kept from the public took its id from its title: widened later under another title, every
# public address, feed id and JSON id spelled the hidden one ("ransomware-on-billing-..."); and a public incident
# of the same title the same day became "...-2", telling the public that another one existed.
@pytest.mark.parametrize(("narrow", "title", "secret"), [
    (("--only", "ops"), "Ransomware on billing hosts", "ransomware"),
    (("--only", "globex-hook"), "Globex G7 failover", "globex"),
])
def test_an_incident_kept_from_the_public_has_an_id_that_spells_nothing(
        project: Project, hooks: dict[str, FakeReceiver], narrow: tuple[str, str], title: str, secret: str) -> None:
    hidden = run(project, "post", *narrow, "--title", title, "--impact", "major", "-C", "db",
                 "Kept from the public for now.")
    incident = hidden["incident_id"]
    assert secret not in incident and incident.startswith("incident-"), incident

    widened = run(project, "post", "-i", incident, "--widen", "--title", "Database unavailable",
                  "The database is unavailable. We are investigating.")
    assert {d["destination"]: d["state"] for d in widened["deliveries"]}["site"] == "sent", widened
    published = public_files(project) + json.dumps(hooks["pub"].events)
    assert incident in published and title not in published and secret not in published.lower()


@pytest.mark.parametrize("narrow", [("--only", "ops"), ("--only", "globex-hook")])
def test_a_public_incident_id_does_not_reveal_a_hidden_incident(
        project: Project, hooks: dict[str, FakeReceiver], narrow: tuple[str, str]) -> None:
    hidden = run(project, "post", *narrow, "--title", "Database outage", "-C", "db", "Credential stuffing; SOC engaged.")
    assert {d["destination"]: d["state"] for d in hidden["deliveries"]}["site"] == "skipped"
    shown = run(project, "post", "--title", "Database outage", "-C", "db", "Some queries fail.")
    assert shown["incident_id"].startswith("database-outage-") and not shown["incident_id"].endswith("-2"), shown


def test_a_public_incident_keeps_an_id_from_its_title(project: Project, hooks: dict[str, FakeReceiver]) -> None:
    posted = run(project, "post", "--skip", "pub", "--title", "API errors", "-C", "api", "Errors.")  # the page is public
    assert posted["incident_id"].startswith("api-errors-"), posted


def test_a_receiver_s_update_keys_leave_no_gap_for_an_update_said_elsewhere(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:
    """``data.update.sequence`` was the store's number: a public or customer's receiver got 1, then 3, and learnt that
    an update was said somewhere it was not (staff only here). Each receiver's keys now count what it was told."""
    incident = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
    run(project, "post", "-i", incident, "--only", "ops", "Staff: edge fra-2 lost BGP after CHG-4411.")
    run(project, "post", "-i", incident, "Errors continue; we are rerouting.")
    run(project, "amend", incident, "3", "Errors continue; traffic is rerouted.")

    def keys(name: str) -> list[tuple[str, int, int | None]]:
        return [(e["type"], e["data"]["update"]["sequence"], e["data"].get("correction", {}).get("sequence"))
                for e in hooks[name].events]

    told = [("incident.updated", 1, None), ("incident.updated", 2, None), ("update.amended", 2, 3)]
    assert keys("pub") == told
    assert keys("acme") == told
    assert keys("ops") == [("incident.updated", 1, None), ("incident.updated", 2, None),
                           ("incident.updated", 3, None), ("update.amended", 3, 4)]
    assert [e["data"]["update"]["number"] for e in hooks["pub"].events] == [1, 2, 2]
    assert hooks["pub"].repeats == 0 and len(set(hooks["pub"].ids)) == 3


def test_a_receiver_cannot_count_the_updates_kept_from_it_by_trying_numbers_in_its_webhook_ids(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:
    """A review: the webhook-id was sha256 of (url, name, incident, the STORE's sequence, type, time), each part
    known or guessable by the receiver; trying 200 numbers gave the gap back ([1, 3] behind keys [1, 2])."""
    import hashlib

    def sequence_behind(event: dict[str, Any], webhook_id: str) -> int | None:
        for sequence in range(1, 200):
            seed = "\0".join((hooks["pub"].hook_url, "pub", event["data"]["incident"]["id"], str(sequence),
                              event["type"], event["timestamp"]))
            if "msg_" + hashlib.sha256(seed.encode()).hexdigest()[:32] == webhook_id:
                return sequence
        return None

    incident = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
    run(project, "post", "-i", incident, "--only", "ops", "Staff: edge fra-2 lost BGP after CHG-4411.")
    run(project, "post", "-i", incident, "Errors continue; we are rerouting.")
    pub = hooks["pub"]
    found = [sequence_behind(e, i) for e, i in zip(pub.events, pub.ids, strict=True)]
    assert [e["data"]["update"]["sequence"] for e in pub.events] == [1, 2] and found[1] in (None, 2), found

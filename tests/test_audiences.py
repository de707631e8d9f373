"""Audiences end to end: the config, the input, routing, what each Slack channel receives, the store.

Two customers (acme on the API, globex on the database), one internal ops channel
and one public channel, each a real Slack channel on the fake Slack server.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import AffectedComponent, Audience, ComponentStatus, Impact, Incident, Status, Update

from broadcaster.config_loader import parse
from broadcaster.errors import ConfigError
from broadcaster.routing import reached
from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.input_helpers import stored
from tests.unsent_records import assert_refused_whole, import_unsent, replacing, saying

SLACK_TOKEN = "xoxb-audience-test-token"
CHANNELS = {"C0ACME0001": "acme-status", "C0GLOB0001": "globex-status", "C0OPS00001": "ops", "C0PUB00001": "status"}

AUDIENCES = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]

[audiences.globex]
name = "Globex Industries"
components = ["db"]
"""


def channels_toml(fake: FakeSlack) -> str:
    tables = {"acme-slack": ('audience = "acme"', "C0ACME0001"), "globex-slack": ('audience = "globex"', "C0GLOB0001"),
              "ops": ('visibility = "internal"', "C0OPS00001"), "public-slack": ('visibility = "public"', "C0PUB00001")}
    return "".join(
        f'\n[channels.{name}]\ntype = "slack"\n{line}\ntoken = "${{SLACK_TOKEN}}"\nchannel = "{channel}"\n'
        f'api_url = "{fake.api_url}"\n'
        for name, (line, channel) in tables.items()
    )


def slack_world(project: Project) -> Iterator[FakeSlack]:
    """The fake Slack with the four channels, ``project`` configured for them (the ``slack`` fixture's body)."""
    fake = FakeSlack(token=SLACK_TOKEN, channels=CHANNELS)
    with fake:
        project.env["SLACK_TOKEN"] = SLACK_TOKEN
        project.write_config(AUDIENCES + channels_toml(fake))
        yield fake


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    yield from slack_world(project)


def said(fake: FakeSlack, channel: str) -> str:
    return json.dumps([[m.text, m.blocks] for m in fake.messages[channel]])


def post(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    return project.cli_json("post", "--yes", *args)


# -- what each channel receives ---------------------------------------------------------


def test_each_customer_hears_its_own_detail_ops_hears_all_the_public_none(project: Project, slack: FakeSlack) -> None:
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACM-CIRCUIT-7",
                     "--private", "INTERNAL-EDGE fra-2", "Errors on the API. [for acme]Your region EU-ACME-1.[/for]")
    assert code == 0, out
    visibilities = {d["destination"]: d["visibility"] for d in out["deliveries"]}
    assert visibilities["acme-slack"] == "audience:acme" and visibilities["ops"] == "internal"
    assert visibilities["public-slack"] == "public"
    acme, ops, public = said(slack, "C0ACME0001"), said(slack, "C0OPS00001"), said(slack, "C0PUB00001")
    assert "For Acme Corp:" in acme and "ACM-CIRCUIT-7" in acme and "EU-ACME-1" in acme
    assert "INTERNAL-EDGE" not in acme and "Globex" not in acme
    assert slack.messages["C0GLOB0001"] == []  # globex's components were not touched, nor was it named
    assert all(v in ops for v in ("ACM-CIRCUIT-7", "EU-ACME-1", "INTERNAL-EDGE", "Acme Corp"))
    assert not any(v in public for v in ("ACM-CIRCUIT-7", "EU-ACME-1", "INTERNAL-EDGE", "Acme"))


def test_an_audience_once_told_hears_every_later_update_threaded_to_the_resolution(
    project: Project, slack: FakeSlack
) -> None:
    code, first = post(project, "--title", "Database slow", "-C", "web", "Slow pages.")
    assert code == 0 and slack.messages["C0GLOB0001"] == [] and slack.messages["C0ACME0001"] == []
    incident = str(first["incident_id"])
    assert post(project, "-i", incident, "--customer", "globex", "We found the cause.")[0] == 0
    assert post(project, "-i", incident, "-s", "resolved", "Fixed.")[0] == 0  # globex not named again
    roots = slack.top_level("C0GLOB0001")
    assert len(roots) == 1 and len(slack.replies("C0GLOB0001", roots[0].ts)) == 1
    assert slack.messages["C0ACME0001"] == []


def test_a_customer_named_on_the_command_line_must_be_configured(project: Project, slack: FakeSlack) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "--customer", "acmee", "Errors.")
    assert result.exit_code == 2 and "Did you mean 'acme'" in result.stderr and "--private" in result.stderr
    assert project.cli("list").stdout.count("api-errors") == 0
    assert all(not messages for messages in slack.messages.values())


@pytest.mark.parametrize(("message", "said_"), [
    ("Errors [for acmee]x[/for].", "no audience 'acmee'"),
    ("Errors [for acm\u0435]x[/for].", "looks like a private marker"),  # a Cyrillic е in the id
    ("Errors [f\u043er acme]x.", "looks like a private marker"),  # a Cyrillic о in the word
    ("Errors \uff3bfor acme\uff3dx.", "looks like a private marker"),  # fullwidth brackets
    ("Errors [for acme]x.", "never closed"),
    ("Errors x[/for].", "no [for] before it"),
    ("Errors [private][for acme]x[/for][/private].", "cannot be nested"),
    ("Errors [for acme][private]x[/private][/for].", "cannot be nested"),
    ("Errors [for acme]x[/private].", "closes [for acme] with [/private]"),
    ("Errors [for]x[/for].", "no audience"),
    ("[for acme]Only for acme.[/for]", "no public text"),
    # Found by a hostile review: a slip of "for" in both markers read as prose, and published acme's detail.
    ("Errors [fro acme]ACM-7 down[/fro].", "looks like a private marker"),
    ("Errors [fo acme]ACM-7 down[/fo].", "looks like a private marker"),
    ("Errors [ofr acme]ACM-7 down[/ofr].", "looks like a private marker"),
    ("Errors [foor acme]ACM-7 down[/foor].", "looks like a private marker"),
    ("Errors [fro acme]ACM-7 down.", "looks like an audience marker"),  # no closer: the id says what was meant
    ("Errors [fr Acme Corp]ACM-7 down.", "looks like an audience marker"),  # the name, as the customer is known
    ("Errors [fr acmee]ACM-7 down.", "looks like an audience marker"),  # two slips, one in each
    # Review 29a: the customer's detail inside the bracket, after its head, hid whom it was meant for (an id of four
    # letters is below what the egress guard searches the public text for), and was published to everyone.
    ("Errors. (for acme: LABEL-X-1)", "looks like an audience marker"),
    ("Errors. {for acme: LABEL-X-1}", "looks like an audience marker"),
    ("Errors. (for acme only: LABEL-X-1)", "looks like an audience marker"),
    ("Errors. [to acme: circuit LABEL-X-1 is down]", "looks like an audience marker"),
    ("Errors. [acme only: circuit LABEL-X-1 is down]", "looks like an audience marker"),
    ("Errors. (only for Acme Corp - LABEL-X-1)", "looks like an audience marker"),
    ("Errors. (acme: 3 circuits, LABEL-X-1)", "looks like an audience marker"),
    ("Errors.\nFor acme only: LABEL-X-1", "looks like an audience marker"),
    # Review 29c: the same with the detail holding brackets, longer than a bracket's run, never closed, on a quoted,
    # bulleted or numbered line, after a semicolon or a dash, or with the bracket holding the head alone.
    ("Errors. (for acme: circuit LABEL-X-1 (Frankfurt) down)", "looks like an audience marker"),
    ("Errors. (for acme: " + "the circuit is down " * 25 + "LABEL-X-1)", "looks like an audience marker"),
    ("Errors. (for acme: LABEL-X-1", "looks like an audience marker"),
    ("Errors.\n> For acme only: LABEL-X-1", "looks like an audience marker"),
    ("Errors.\n- For acme only: LABEL-X-1", "looks like an audience marker"),
    ("Errors.\n1. For acme only: LABEL-X-1", "looks like an audience marker"),
    ("Errors.\nFor acme only \u2014 LABEL-X-1", "looks like an audience marker"),
    ("Errors. (for acme; LABEL-X-1)", "looks like an audience marker"),
    ("Errors. (for acme\u2014LABEL-X-1)", "looks like an audience marker"),
    ("Errors. (For acme only) LABEL-X-1", "looks like an audience marker"),
], ids=["unknown", "cyrillic-id", "cyrillic-word", "fullwidth", "unclosed", "stray", "for-in-private",
        "private-in-for", "mismatched", "no-id", "all-audience", "fro", "fo", "ofr", "foor", "fro-unclosed",
        "fr-name", "fr-acmee", "for-id-colon", "curly-for-id-colon", "for-id-only-colon", "to-id-colon",
        "id-only-colon", "only-for-name-dash", "id-colon", "line-for-id-only", "nested", "long", "unclosed", "quoted",
        "bulleted", "numbered", "em-dash-line", "semicolon", "em-dash", "head-alone"])
def test_audience_markers_fail_closed(project: Project, slack: FakeSlack, message: str, said_: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", message)
    assert result.exit_code == 2, result.stdout
    assert said_ in result.stderr
    assert all(not messages for messages in slack.messages.values())


@pytest.mark.parametrize("message", [
    "Use the backup endpoint [or the CDN] meanwhile.",
    "Errors [four hours] ago; fixed [of course].",
    "Errors since 14:00 [from acme's report].",
    "Errors (for example: the API) since 14:00.",
    "Acme: no action needed, as for everyone.",
    "Maintenance window (start: 14:00 UTC, end: 16:00 UTC) for the API.",
    "Errors (globe: 3 regions, acne: none) since 14:00.",  # one slip from an id, with nothing addressing it
    "Errors since 14:00.\n- Step 1: restart\n- Step 2 - verify",
    "Errors (see the docs: Retries) since 14:00.",
])
def test_brackets_in_prose_that_name_no_audience_still_publish(project: Project, slack: FakeSlack, message: str) -> None:
    code, _ = post(project, "--title", "API errors", "-C", "api", message)
    assert code == 0
    assert json.dumps(message)[1:-1] in said(slack, "C0PUB00001")  # as the fake's record writes a line break


def test_for_text_and_customer_take_no_markers(project: Project, slack: FakeSlack) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "--for", "acme", "x [private]y[/private]", "Errors.")
    assert result.exit_code == 2 and "takes no markers" in result.stderr


def test_show_lists_each_audiences_detail(project: Project, slack: FakeSlack) -> None:
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "ACM-CIRCUIT-7", "Errors.")
    assert code == 0
    code, shown = project.cli_json("show", str(out["incident_id"]))
    assert shown["updates"][0]["audiences"] == [{"audience": "acme", "detail": "ACM-CIRCUIT-7"}]


def test_preview_marks_each_rendering_with_its_audience(project: Project, slack: FakeSlack) -> None:
    out = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "ACM-CIRCUIT-7", "Errors.").stdout
    assert "acme-slack (audience:acme)" in out and "For Acme Corp: ACM-CIRCUIT-7" in out
    assert "globex-slack" in out and "audience globex is not affected" in out


# -- config ------------------------------------------------------------------------------

BASE = {"components": [{"id": "api"}, {"id": "db"}], "audiences": {"acme": {"name": "Acme Corp", "components": ["api"]}}}
SLACK = {"type": "slack", "token": "${T}", "channel": "C0ACME0001"}


@pytest.mark.parametrize(("extra", "said_"), [
    ({"channels": {"s": {**SLACK, "audience": "acme", "visibility": "public"}}}, "not 'public'"),
    ({"channels": {"s": {**SLACK, "audience": "acmee"}}}, "Did you mean 'acme'"),
    ({"channels": {"s": {**SLACK, "visibility": "audience"}}}, 'needs audience = "ID"'),
    ({"channels": {"x": {"type": "twitter", "bearer_token": "${T}", "audience": "acme"}}}, "cannot belong to one customer"),
    ({"audiences": {"acme": {"components": ["apii"]}}}, "Did you mean 'api'"),
    ({"audiences": {"acme": {"feed_token": "written-in-the-file"}}}, "environment variable"),
    ({"audiences": {"acme": {"sla": 120}}}, "percentage"),
    ({"templates": {"t": {"message": "x", "for": {"acmee": "y"}}}}, "Did you mean 'acme'"),
    ({"templates": {"t": {"message": "x", "for": {"acme": "{x.__class__}"}}}}, "templates.t.for"),
    ({"audiences": {"acme": {"feed_token": "${T}"}},
      "publish": {"pages": {"type": "git", "remote": "/tmp/x.git", "branch": "gh-pages", "history": "keep"}}},
     "branch history"),
], ids=["audience-public", "unknown-audience", "audience-without-id", "x-audience", "unknown-component",
        "written-token", "bad-sla", "template-unknown-audience", "template-attribute-placeholder", "token-in-kept-history"])
def test_audience_config_mistakes_are_refused(extra: dict[str, object], said_: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse({**BASE, **extra}, None, {"T": "t"})
    assert said_ in str(refused.value)


def test_private_stays_internal_and_audience_implies_its_visibility() -> None:
    config = parse({**BASE, "channels": {"ops": {**SLACK, "visibility": "private"},
                                         "acme": {**SLACK, "channel": "C0ACME0002", "audience": "acme"}}},
                   None, {"T": "t", "ACME_FEED_TOKEN": "tok-123456"})
    assert config.channels["ops"].visibility == "internal" and config.channels["acme"].visibility == "audience:acme"
    with_token = parse({**BASE, "audiences": {"acme": {"feed_token": "${ACME_FEED_TOKEN}"}}}, None,
                       {"ACME_FEED_TOKEN": "tok-123456"})
    assert "tok-123456" in with_token.secret_values() and "tok-123456" not in repr(with_token)


# -- routing, as a table -------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
ACME = Audience("acme", "Acme Corp", ("api",))


def _incident(*components: str, status: Status = Status.INVESTIGATING) -> Incident:
    return Incident("i", "I", Impact.MINOR, status, NOW,
                    components=tuple(AffectedComponent(c, ComponentStatus.PARTIAL_OUTAGE) for c in components))


def _update(sequence: int, *, named: tuple[str, ...] = (), detail: tuple[tuple[str, str], ...] = (),
            message: str = "x", components: tuple[str, ...] = (), kind: str = "update") -> Update:
    return Update("i", sequence, NOW, Status.INVESTIGATING, message, audiences=named, audience_detail=detail,
                  components=tuple(AffectedComponent(c, ComponentStatus.PARTIAL_OUTAGE) for c in components), kind=kind)


@pytest.mark.parametrize(("incident", "updates", "expected"), [
    (_incident(), [_update(1)], False),
    (_incident(), [_update(1, named=("acme",))], True),
    (_incident(), [_update(1, detail=(("acme", "d"),))], True),
    (_incident(), [_update(1, message="x [for acme]d[/for]")], True),
    (_incident(), [_update(1, named=("globex",))], False),
    (_incident("api"), [_update(1)], True),
    (_incident("db"), [_update(1, components=("db",))], False),
    (_incident(), [_update(1, named=("acme",)), _update(2)], True),  # dropped from later updates: still told
    (_incident("db"), [_update(1, components=("api",)), _update(2, components=("db",))], True),
    (_incident("api", status=Status.RESOLVED), [_update(1), _update(2)], True),  # up to the resolution
    (_incident(), [_update(1, named=("acme",), kind="notice")], False),  # internal notices name no one
], ids=["nothing", "named", "for-detail", "for-span", "other-named", "component", "other-component",
        "follow-up", "component-earlier", "resolution", "notice"])
def test_routing(incident: Incident, updates: list[Update], expected: bool) -> None:
    assert reached(ACME, incident, updates) is expected


# -- the store -------------------------------------------------------------------------------


def test_a_store_of_schema_3_keeps_its_customers_as_internal_detail(project: Project, slack: FakeSlack) -> None:
    """The current schema before audiences, with free-text customers: upgraded, readable, routed nowhere new."""
    from broadcaster.store.sqlite import _MIGRATIONS, SQLiteStore

    path = project.root / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for version in (1, 2, 3):
            db.executescript(_MIGRATIONS[version])
        db.execute("INSERT INTO meta VALUES ('schema_version', '3')")
        db.execute("INSERT INTO incidents(id, title, impact, status, created_at, updated_at) VALUES "
                   "('api', 'API errors', 'minor', 'investigating', '2026-11-25T15:00:00+00:00', '2026-11-25T15:00:00+00:00')")
        db.execute("INSERT INTO updates(incident_id, sequence, created_at, status, raw_message, customers) VALUES "
                   "('api', 1, '2026-11-25T15:00:00+00:00', 'investigating', 'Errors.', '[\"Initech Payroll\"]')")
        db.execute("INSERT INTO deliveries(incident_id, sequence, destination, visibility, state, created_at, updated_at)"
                   " VALUES ('api', 1, 'ops', 'private', 'sent', '2026-11-25T15:00:00+00:00', '2026-11-25T15:00:00+00:00')")
    store = SQLiteStore(path)
    try:
        (update,) = store.updates("api")
        assert (update.customers, update.audiences, update.audience_detail) == (("Initech Payroll",), (), ())
        assert [d.visibility for d in store.deliveries()] == ["internal"]
    finally:
        store.close()
    shown = project.cli("--store", str(path), "show", "api", "--json")
    assert json.loads(shown.stdout)["updates"][0]["customers"] == ["Initech Payroll"]
    code, out = project.cli_json("--store", str(path), "post", "--yes", "-i", "api", "Still failing.")
    assert code == 0, out
    assert slack.messages["C0ACME0001"] == [] and slack.messages["C0GLOB0001"] == []
    assert len(slack.messages["C0OPS00001"]) == 1  # the follow-up reached the internal channel
    assert "Initech" not in said(slack, "C0PUB00001")


def test_export_and_import_carry_audience_detail_and_refuse_unknown_audiences(project: Project, slack: FakeSlack) -> None:
    code, out = post(project, "--title", "API errors", "-C", "api", "--customer", "globex", "--for", "acme", "ACM-7", "Errors.")
    assert code == 0
    exported = project.cli("store", "export").stdout
    assert '"audience_detail": [["acme", "ACM-7"]]' in exported and '"audiences": ["globex"]' in exported
    other = project.root / "other"
    other.mkdir()
    target = Project(other, dict(project.env))
    target.write_config(AUDIENCES)
    (other / "in.jsonl").write_text(exported, encoding="utf-8")
    assert target.cli("store", "import", str(other / "in.jsonl")).exit_code == 0
    shown = json.loads(target.cli("show", str(out["incident_id"]), "--json").stdout)
    assert shown["updates"][0]["audiences"] == [{"audience": "globex", "detail": ""}, {"audience": "acme", "detail": "ACM-7"}]
    stranger = project.root / "stranger"
    stranger.mkdir()
    refusing = Project(stranger, dict(project.env))
    refusing.write_config("")
    (stranger / "in.jsonl").write_text(exported, encoding="utf-8")
    result = refusing.cli("store", "import", str(stranger / "in.jsonl"))
    assert result.exit_code == 2 and "[audiences.globex]" in result.stderr


def test_list_filters_by_customer(project: Project, slack: FakeSlack) -> None:
    assert post(project, "--title", "API errors", "-C", "api", "Errors.")[0] == 0
    assert post(project, "--title", "Database slow", "-C", "web", "--customer", "globex", "Slow.")[0] == 0
    assert post(project, "--title", "Website down", "-C", "web", "Down.")[0] == 0
    listed: Any
    code, listed = project.cli_json("list", "--customer", "globex")
    assert code == 0 and [i["title"] for i in listed] == ["Database slow"]
    code, listed = project.cli_json("list", "--customer", "acme")
    assert [i["title"] for i in listed] == ["API errors"]
    refused = project.cli("list", "--customer", "globx")
    assert refused.exit_code == 2 and "Did you mean 'globex'" in refused.stderr


def test_list_for_a_customer_leaves_out_what_it_was_not_told(project: Project, slack: FakeSlack) -> None:
    """Found by a review: ``--customer acme`` listed an incident on acme's component kept to staff, and one told
    to globex alone, by their titles; the list is what an operator reads out to that customer."""
    assert post(project, "--only", "ops", "--title", "Staff drill on the API", "-C", "api", "Drill.")[0] == 0
    assert post(project, "--only", "globex-slack", "--customer", "globex", "--title", "Globex and the API", "-C",
                "api", "Only for globex.")[0] == 0
    assert post(project, "--title", "Website down", "-C", "web", "Down.")[0] == 0
    code, public = post(project, "--only", "public-slack", "--title", "Slow web", "-C", "web", "Slow.")
    assert code == 0
    assert said(slack, "C0ACME0001") == "[]"
    listed: Any
    code, listed = project.cli_json("list", "--customer", "acme")
    assert code == 0 and listed == []
    code, listed = project.cli_json("list", "--customer", "globex")
    assert [i["title"] for i in listed] == ["Globex and the API"]
    assert post(project, "-i", public["incident_id"], "-C", "api", "The API too.")[0] == 0  # told acme now
    code, listed = project.cli_json("list", "--customer", "acme")
    assert [i["title"] for i in listed] == ["Slow web"]


def test_list_for_a_customer_keeps_what_its_channel_was_sent(project: Project, slack: FakeSlack) -> None:
    """Found by a review of the rule above (27rv): acme named in an update kept to staff, then told by a public one
    (routing: a customer once named hears every later update), was left out of ``list --customer acme``."""
    code, first = post(project, "--title", "Web slow", "-C", "web", "The website is slow.")
    assert code == 0
    incident = first["incident_id"]
    assert post(project, "-i", incident, "--customer", "acme", "--only", "ops", "Staff: acme too.")[0] == 0
    assert post(project, "-i", incident, "Still slow, working on it.")[0] == 0
    assert "Still slow" in said(slack, "C0ACME0001")
    listed: Any
    code, listed = project.cli_json("list", "--customer", "acme")
    assert [i["title"] for i in listed] == ["Web slow"]


def test_an_audiences_sla_notice_reaches_it_and_ops_once_per_month(project: Project, slack: FakeSlack) -> None:
    from datetime import timedelta

    from broadcaster.config_loader import load
    from broadcaster.store import open_store

    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nsla = 99.95')
                         + channels_toml(slack))
    began = datetime.now(UTC) - timedelta(hours=2)  # over 0.05% of any month so far
    down = (AffectedComponent("api", ComponentStatus.MAJOR_OUTAGE),)
    config = load(str(project.config), environ=project.env)
    store = open_store(config.store_path)
    store.record_update(Incident("api-down", "API down", Impact.CRITICAL, Status.INVESTIGATING, began, components=down),
                        Update("api-down", 0, began, Status.INVESTIGATING, "The API is down.", components=down),
                        [], new=True)
    store.close()
    code, out = post(project, "-i", "api-down", "Still down.")
    assert code == 0, out
    sent = {(n["destination"], n["visibility"]) for n in out["notices"] if n["state"] == "sent"}
    assert sent == {("acme-slack", "audience:acme"), ("ops", "internal")}
    acme = said(slack, "C0ACME0001")
    assert "Service level notice for Acme Corp" in acme and "99.95% in your contract" in acme
    assert "SLA breach for customer" not in acme and "Globex" not in acme
    assert "SLA breach for customer Acme Corp" in said(slack, "C0OPS00001")
    assert "Acme" not in said(slack, "C0PUB00001") and slack.messages["C0GLOB0001"] == []
    again = post(project, "-i", "api-down", "Recovering.")[1]
    assert again["notices"] == []
    assert sum("Service level notice" in m.text for m in slack.messages["C0ACME0001"]) == 1


# -- a customer's private page and feeds -------------------------------------------------------

TOKEN = "acme-feed-token-0123456789abcdef"
TOKEN2 = "acme-rotated-token-fedcba9876543210"


def test_a_customer_page_shows_its_detail_hidden_from_everyone_else(project: Project, slack: FakeSlack) -> None:
    import feedparser

    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack))
    assert post(project, "--title", "API errors", "-C", "api", "--for", "acme", "ACME-CIRCUIT-7", "--for", "globex",
                "GLOBEX-LINK-9", "--private", "INTERNAL-EDGE-3", "Errors [for acme]ACME-SPAN-1[/for].")[0] == 0
    folder = project.site / "a" / TOKEN
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "ACME-CIRCUIT-7" in page and "ACME-SPAN-1" in page and "For Acme Corp:" in page
    assert '<meta name="robots" content="noindex' in page and '<meta name="referrer" content="no-referrer">' in page
    assert 'rel="canonical"' not in page and 'href="../../incidents/' in page and 'href="feed.xml"' in page
    for name in ("feed.xml", "atom.xml"):
        feed = (folder / name).read_text(encoding="utf-8")
        assert "ACME-CIRCUIT-7" in feed and f"a/{TOKEN}/{name}" in feed
        assert feedparser.parse(feed).entries
    for path in [p for p in project.site.rglob("*") if p.is_file()]:
        content = path.read_text(encoding="utf-8", errors="replace")
        assert "GLOBEX-LINK-9" not in content and "INTERNAL-EDGE-3" not in content, path
        if folder not in path.parents and path.name != ".broadcaster-manifest.json":  # the local journal, never served
            assert TOKEN not in content and "ACME-CIRCUIT-7" not in content and "Acme Corp" not in content, path
    assert "a/" not in (project.site / "summary.json").read_text(encoding="utf-8")


def test_a_changed_token_takes_the_old_page_away_and_an_unset_one_is_refused(project: Project, slack: FakeSlack) -> None:
    with_token = AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(with_token + channels_toml(slack))
    code, posted = post(project, "--title", "API errors", "-C", "api", "Errors.")
    assert code == 0
    incident = posted["incident_id"]  # ids are matched whole since issue 16
    assert (project.site / "a" / TOKEN / "index.html").is_file()
    project.env["ACME_FEED_TOKEN"] = TOKEN2
    assert project.cli("site", "build").exit_code == 0
    assert (project.site / "a" / TOKEN2 / "index.html").is_file() and not (project.site / "a" / TOKEN).exists()
    from broadcaster.site.output import site_files

    listed = site_files(project.site)  # what is uploaded, copied and served
    assert f"a/{TOKEN2}/index.html" in listed and not any(TOKEN in path for path in listed)
    del project.env["ACME_FEED_TOKEN"]
    refused = project.cli("post", "--yes", "-i", incident, "Still.")
    assert refused.exit_code == 2 and "audiences.acme.feed_token" in refused.stderr
    project.env["ACME_FEED_TOKEN"] = "short"
    weak = project.cli("site", "build")
    assert weak.exit_code == 2 and "20 to 128" in weak.stderr and "short" not in weak.stderr


# -- attacks -------------------------------------------------------------------------------------


def test_a_customers_name_in_the_public_text_is_refused_on_public_channels(
    project: Project, slack: FakeSlack, tmp_path: Path
) -> None:
    """Who the customers are is not public: a public text naming one is refused whole before it is stored,
    and one stored another way (an edited export) is stopped by the guard at send time, not sent."""
    args = ("--title", "API errors", "-C", "api")
    assert_refused_whole(project.cli("post", "--yes", *args, "Errors for Acme Corp and others."), "public-slack", "site")
    assert stored(project) == [] and slack.requests == []

    import_unsent(project, tmp_path, "post", *args, "Errors for some customers.",
                  edit=saying("Errors for Acme Corp and others."))
    code, out = project.cli_json("retry")
    assert code == 3
    states = {d["destination"]: d["state"] for d in out["deliveries"]}
    assert states["public-slack"] == "failed" and states["acme-slack"] == "sent" and states["ops"] == "sent"
    assert slack.messages["C0PUB00001"] == []


def test_another_customers_name_in_ones_detail_is_refused_there(project: Project, slack: FakeSlack, tmp_path: Path) -> None:
    args = ("--title", "API errors", "-C", "api", "--for", "acme")
    refused = project.cli("post", "--yes", *args, "Like Globex Industries, you are affected.", "Errors.")
    assert_refused_whole(refused, "acme-slack")
    assert stored(project) == [] and slack.requests == []

    import_unsent(project, tmp_path, "post", *args, "Like others, you are affected.", "Errors.",
                  edit=replacing("Like others,", "Like Globex Industries,"))
    code, out = project.cli_json("retry")
    assert code == 3
    states = {d["destination"]: d["state"] for d in out["deliveries"]}
    assert states["acme-slack"] == "failed" and states["public-slack"] == "sent"
    assert slack.messages["C0ACME0001"] == []


def test_the_feed_token_never_shows_in_an_error_about_the_customers_page(project: Project, slack: FakeSlack) -> None:
    """Attack: the customer page cannot be written (something else sits at its path). The error names
    the path; the token in it is a secret and must come out as *** on the terminal and in the store."""
    import shutil

    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack))
    code, posted = post(project, "--title", "API errors", "-C", "api", "Errors.")
    assert code == 0
    incident = posted["incident_id"]  # ids are matched whole since issue 16
    shutil.rmtree(project.site / "a" / TOKEN)
    (project.site / "a" / TOKEN / "index.html" / "in-the-way").mkdir(parents=True)
    result = project.cli("post", "--yes", "-i", incident, "--json", "Still failing.")
    shown = project.cli("show", incident, "--json").stdout
    assert result.exit_code == 3 and "***" in result.stdout  # the site failed, its error naming the path, masked
    assert TOKEN not in result.stdout and TOKEN not in result.stderr and TOKEN not in shown


def test_what_is_typed_adds_to_a_templates_detail_and_note_instead_of_dropping_them(project: Project, slack: FakeSlack) -> None:
    """Attack (review): one --for or --private typed beside a template dropped the template's detail for every
    other customer and its private note, silently: that customer's channel was told nothing of its detail."""
    project.write_config(AUDIENCES.replace('components = ["db"]', 'components = ["api", "db"]') + channels_toml(slack) + """
[templates.circuit]
title = "Circuit down"
components = ["api"]
message = "A circuit is down."
private = "Edge fra-2 lost BGP."
for = { globex = "Your feed G-7 is rerouted.", acme = "Your circuit ACM-1 is rerouted." }
""")
    code, out = post(project, "--template", "circuit", "--for", "acme", "Your circuit ACM-9 is rerouted instead.",
                     "--private", "Ticket OPS-77 open.")
    assert code == 0, out
    assert "G-7" in said(slack, "C0GLOB0001") and "ACM" not in said(slack, "C0GLOB0001")
    assert "ACM-9" in said(slack, "C0ACME0001") and "ACM-1" not in said(slack, "C0ACME0001")  # typed wins, per customer
    assert "Edge fra-2 lost BGP." in said(slack, "C0OPS00001") and "OPS-77" in said(slack, "C0OPS00001")
    assert not any(value in said(slack, "C0PUB00001") for value in ("G-7", "ACM-", "fra-2", "OPS-77"))


def test_a_template_carries_detail_for_a_customer(project: Project, slack: FakeSlack) -> None:
    project.write_config(AUDIENCES + channels_toml(slack) + """
[templates.circuit]
title = "Circuit down"
components = ["api"]
message = "A circuit in {region} is down."
for = { acme = "Your circuit {circuit} is rerouted." }
""")
    code, out = post(project, "--template", "circuit", "--set", "region=Frankfurt", "--set", "circuit=ACM-7")
    assert code == 0, out
    assert "Your circuit ACM-7 is rerouted." in said(slack, "C0ACME0001")
    assert "ACM-7" not in said(slack, "C0PUB00001")
    refused = project.cli("post", "--yes", "--template", "circuit", "--set", "region=x", "--set", "circuit=[/for]")
    assert refused.exit_code == 2


def _titles_for(project: Project, customer: str) -> list[str]:
    listed: Any
    code, listed = project.cli_json("list", "--customer", customer)
    assert code == 0, listed
    return [i["title"] for i in listed]


@pytest.mark.parametrize("kept_to", [["--only", "ops"], ["--only", "globex-slack", "--customer", "globex"]],
                         ids=["staff-only", "globex-only"])
def test_a_withdrawn_incident_a_customer_was_never_told_of_is_not_listed_for_it(
    project: Project, slack: FakeSlack, kept_to: list[str],
) -> None:
    """Found by a review (28b): the withdrawal's public site delivery made its update count as told to acme, whose
    component the incident names: a staff drill, or globex's incident, listed for acme by its title."""
    code, out = post(project, *kept_to, "--title", "Drill on the API", "-C", "api", "Not for acme.")
    assert code == 0, out
    assert _titles_for(project, "acme") == []
    withdrawn = project.cli("withdraw", "--yes", out["incident_id"], "--reason", "posted by mistake")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert said(slack, "C0ACME0001") == "[]" and _titles_for(project, "acme") == []


def test_a_withdrawn_incident_a_customer_was_told_of_is_still_listed_for_it(project: Project, slack: FakeSlack) -> None:
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    assert project.cli("withdraw", "--yes", out["incident_id"], "--reason", "posted by mistake").exit_code == 0
    assert _titles_for(project, "acme") == ["API errors"]


def test_a_customers_incident_titled_with_its_name_can_be_withdrawn(project: Project, slack: FakeSlack) -> None:
    """Found by a review (28b): globex's incident "Globex DB down", sent to globex's channel alone, could not be
    withdrawn (exit 2): the withdrawal's text, rendered for the public site it is taken off and never sent there,
    was refused by the guard. Nothing of it reaches the site."""
    code, out = post(project, "--only", "globex-slack", "--customer", "globex", "--title", "Globex DB down",
                     "-C", "db", "Your database is down.")
    assert code == 0, out
    preview = project.cli("withdraw", "--dry-run", out["incident_id"], "--reason", "posted by mistake")
    assert preview.exit_code == 0 and "egress guard" not in preview.output, preview.output
    withdrawn = project.cli("withdraw", "--yes", out["incident_id"], "--reason", "posted by mistake")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert slack.messages["C0GLOB0001"] == [] and slack.messages["C0PUB00001"] == []
    published = [p for p in (project.root / "public").rglob("*") if p.is_file()]
    assert published and not any(b"Globex" in p.read_bytes() for p in published)


INITECH = '\n[audiences.initech]\nname = "Initech"\ncomponents = ["web"]\n'


def test_a_withdrawal_deletes_what_its_preview_said_though_its_text_names_a_customer(project: Project, slack: FakeSlack) -> None:
    """Found by a review (28d): a public incident titled with a company that became a customer since: the dry run showed the public Slack post
    deleted; the engine guarded the withdrawal's text, never sent where it deletes, refused the delete, and the post
    stayed up for good (a withdrawn incident takes no second withdrawal)."""
    code, out = project.cli_json("post", "--yes", "--title", "Initech API errors", "-C", "api", "Errors.")
    assert code == 0, out
    assert len(slack.messages["C0PUB00001"]) == 1
    project.write_config(AUDIENCES + INITECH + channels_toml(slack))
    preview = project.cli("withdraw", "--dry-run", out["incident_id"], "--reason", "posted by mistake")
    withdrawn = project.cli("withdraw", "--yes", out["incident_id"], "--reason", "posted by mistake")
    assert preview.exit_code == 0 and "egress guard" not in preview.output  # the preview promises the delete
    assert withdrawn.exit_code == 0 and slack.messages["C0PUB00001"] == [], withdrawn.output


CLOUD = """
[audiences.cloud]
name = "Cloud Co"
components = ["api"]
id_is_a_word = true
"""


@pytest.mark.parametrize(("message", "refused"), [
    ("Errors (cloud: eu-west-1) since 14:00.", False),
    ("Errors since 14:00.\nFor cloud customers: restart your agents.", False),
    ("Errors. (for Cloud Co: circuit LABEL-X-1)", True),
])
def test_an_id_that_is_a_word_addresses_its_customer_by_name_alone(
    project: Project, slack: FakeSlack, message: str, refused: bool
) -> None:
    """``id_is_a_word``: "cloud" in prose names no customer, so a bracket or a line headed by it is published; its
    name still addresses it."""
    project.write_config(AUDIENCES + CLOUD + channels_toml(slack))
    result = project.cli("post", "--yes", "--title", "API errors", message)
    assert (result.exit_code == 2) == refused, result.output
    assert ("looks like an audience marker" in result.stderr) == refused

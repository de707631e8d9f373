"""The egress guard fires: a deliberately broken formatter cannot get private detail to a public channel.

The views keep private detail out of public renderings by construction; this
module breaks that on purpose (simulating a bug is the one legitimate use of
patching here) and shows the guard stopping it, through the real engine, the
real SDKs and the fake services:

* ``wrong-view``: the engine cuts the private view for every destination, so
  every formatter prints private spans, notes, customers and tickets in its own
  markup (Telegram HTML, Slack mrkdwn blocks, X text);
* ``pasted``: each formatter pastes a private value of the update it carries
  (a correction: of the update it corrects too) in a disguise, upper case,
  Markdown-escaped, split by markup, fullwidth, with zero-width spaces,
  URL-quoted.

For generated updates, nothing reaches the fake servers' send endpoints, and
every public delivery is ``failed`` with the guard's message. A last test
shows the same bug does leak with the guard switched off, so the property
can fail.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from broadcaster.messages import gate
from broadcaster.messages import slack as slack_format
from broadcaster.messages import telegram as telegram_format
from broadcaster.messages import twitter as twitter_format
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import private_values, private_view
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcaster import destinations, engine
from broadcaster.config_loader import parse
from broadcaster.delivery import DeliveryState
from broadcaster.engine import Publisher
from broadcaster.store import PlannedDelivery
from broadcaster.store.sqlite import SQLiteStore
from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twitter import FakeX
from tests.fakes.world import OPS_CHATS, PUBLIC_CHAT, FakeWorld
from tests.input_helpers import requests, stored
from tests.unsent_records import assert_refused_whole, import_unsent, saying

X_TOKEN, TG_TOKEN, SLACK_TOKEN = "x-user-token-egress", "123456:tg-egress-token", "xoxb-egress-token"
PUBLIC = ("x", "tg-public", "slack-public")
SEND_PATHS = ("/2/tweets", "sendMessage", "editMessageText", "chat.postMessage", "chat.update")


@dataclass
class Services:
    x: FakeX
    telegram: FakeTelegram
    slack: FakeSlack
    config: Any
    folder: Path

    def reset(self) -> None:
        self.x.reset()
        self.telegram.reset()
        self.slack.reset(token=SLACK_TOKEN, channels={"C0PUBLIC1": "status"})

    def sent(self) -> list[str]:
        """Every request body that reached a send endpoint of any fake."""
        return [r.body.decode("utf-8", errors="replace") + repr(r.form)
                for fake in (self.x, self.telegram, self.slack) for r in fake.requests
                if any(path in r.path for path in SEND_PATHS)]


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with FakeX(bearer_token=X_TOKEN) as x, FakeTelegram(token=TG_TOKEN, chats={"@acmestatus": "Acme status"}) as telegram, \
            FakeSlack(token=SLACK_TOKEN, channels={"C0PUBLIC1": "status"}) as slack:
        config = parse(tomllib.loads(f"""
            [[components]]
            id = "api"
            name = "API"
            [engine]
            timeout = 3
            deadline = 10
            max_attempts = 1
            [channels.x]
            type = "twitter"
            bearer_token = "${{X}}"
            api_url = "{x.url}"
            [channels.tg-public]
            type = "telegram"
            token = "${{TG}}"
            chat_ids = ["@acmestatus"]
            api_url = "{telegram.url}"
            [channels.slack-public]
            type = "slack"
            token = "${{SLACK}}"
            channel = "C0PUBLIC1"
            api_url = "{slack.url}/api/"
        """), None, {"X": X_TOKEN, "TG": TG_TOKEN, "SLACK": SLACK_TOKEN})
        yield Services(x, telegram, slack, config, tmp_path_factory.mktemp("egress"))


# -- generated updates ------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
API = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)
# Public words: no marker of their own, real or lookalike ("[/FOR]" drawn by chance is refused by the gate before the
# update exists: the case would test nothing and the helper would fail on it).
words = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")) | st.sampled_from("<>&*_~`"),
                min_size=1, max_size=20).filter(lambda s: s.strip() and "private" not in s.lower()
                                                and gate.find_marker(s) is None)


def token() -> st.SearchStrategy[str]:
    return st.builds(lambda: "PRIV" + uuid.uuid4().hex[:10].upper())


@st.composite
def cases(draw: st.DrawFn) -> tuple[Incident, list[Update]]:
    """An incident whose last update goes out; a correction half the time, correcting an earlier update."""
    incident = Incident("api-errors", draw(words), Impact.MAJOR, Status.INVESTIGATING, NOW, components=API)
    stored = []
    for sequence in range(1, draw(st.integers(1, 2)) + 1):
        message = f"{draw(words)} [private]{draw(token())} {draw(words)}[/private] {draw(words)}"
        stored.append(Update("api-errors", sequence, NOW + timedelta(minutes=sequence), Status.INVESTIGATING, message,
                             components=API, private_note=f"note {draw(token())}",
                             customers=(draw(token()), f"ACME {draw(token())}"), tickets=(draw(token()),)))
    if draw(st.booleans()):
        corrects = draw(st.sampled_from(stored)).sequence
        message = f"{draw(words)} [ Private ]{draw(token())}[/PRIVATE]"
        stored.append(Update("api-errors", len(stored) + 1, NOW + timedelta(minutes=9), Status.INVESTIGATING, message,
                             private_note=f"fix {draw(token())}", kind="correction", extra={"corrects": str(corrects)}))
    return incident, stored


# -- the bugs ------------------------------------------------------------------------------


def _ascii_upper(value: str) -> str:
    return "".join(c.upper() if c.isascii() else c for c in value)


DISGUISES: dict[str, Callable[[str], str]] = {
    "verbatim": lambda v: v,
    "upper case": _ascii_upper,
    "markdown-escaped": lambda v: re.sub(r"([_*\[\]()~`>#+\-=|{}.!\\])", r"\\\1", v),
    "split by markup": lambda v: f"*{v[:3]}*{v[3:]}",
    "fullwidth": lambda v: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in v),
    "zero-width spaces": lambda v: "\u200b".join(v),
    "url-quoted": lambda v: f"https://status.example.com/search?q={quote(v)}",
}


class Paste:
    """What the pasting bug adds to every rendering: set per example."""

    text = ""
    customers: tuple[str, ...] = ()


def install(bug: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if bug == "wrong-view":
        monkeypatch.setattr(engine, "view_for", lambda visibility, incident, update, **kw: private_view(incident, update, **kw))
        return
    layout, chunks = telegram_format.layout, slack_format.message_chunks
    monkeypatch.setattr(telegram_format, "layout", lambda view: [*layout(view), (telegram_format.Run(Paste.text),)])
    monkeypatch.setattr(slack_format, "message_chunks", lambda view: [*chunks(view), slack_format.mrkdwn(Paste.text)])
    import broadcaster.channels.twitter as twitter_channel

    format_post = twitter_format.format_post  # what the channel module imported
    monkeypatch.setattr(twitter_channel, "format_post", lambda view: f"{format_post(view)} {Paste.text}")


_stores = itertools.count()


def deliver_last(services: Services, incident: Incident, stored: list[Update]) -> list[engine.Outcome]:
    """Store the updates; earlier ones were kept off the public channels, the last one goes out."""
    store = SQLiteStore(services.folder / f"{next(_stores)}.db")
    try:
        for index, update in enumerate(stored):
            last = index == len(stored) - 1
            planned = [PlannedDelivery(name, target, "public", DeliveryState.PENDING if last and name != "site" else DeliveryState.SKIPPED, "")
                       for name in ("site", *PUBLIC)
                       for target in (["@acmestatus"] if name == "tg-public" else [""])]
            incident, _ = store.record_update(incident, replace(update, incident_id=incident.id), planned, new=index == 0)
        pending = store.deliveries(states=("pending",))
        return Publisher(services.config, store).deliver(pending)
    finally:
        store.close()


def carried_values(stored: list[Update]) -> list[str]:
    last = stored[-1]
    values = set(private_values(last))
    if last.kind == "correction":
        values |= private_values(next(u for u in stored if u.sequence == int(last.extra["corrects"])))
    return sorted(values)


@pytest.mark.parametrize("bug", ["wrong-view", "pasted"])
def test_a_broken_formatter_gets_nothing_private_past_the_guard(
    bug: str, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(bug, monkeypatch)

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=cases(), data=st.data())
    def check(case: tuple[Incident, list[Update]], data: st.DataObject) -> None:
        incident, stored = case
        values = carried_values(stored)
        if bug == "pasted":
            disguise = data.draw(st.sampled_from(sorted(DISGUISES)), label="disguise")
            Paste.text = DISGUISES[disguise](data.draw(st.sampled_from(values), label="pasted value"))
        services.reset()
        outcomes = deliver_last(services, incident, stored)
        assert {o.destination for o in outcomes} == set(PUBLIC)
        refused = {o.destination for o in outcomes if o.state == "failed"
                   and (o.error or "").startswith("refused to publish the message for")}
        # X's formatter reads only public fields even from a private view: it has nothing to refuse then.
        assert refused == set(PUBLIC) or (bug == "wrong-view" and refused == {"tg-public", "slack-public"}), outcomes
        tokens = {t.lower() for t in re.findall(r"PRIV[0-9A-F]{10}", repr(stored))}
        for body in services.sent():
            readable = html.unescape(unquote(body)).lower()
            assert not [t for t in tokens if t in readable], f"a private value reached a fake service: {body}"
        if refused == set(PUBLIC):
            assert services.sent() == []

    check()


def test_without_the_guard_the_same_bug_does_leak(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The property above can fail: switched off, the guard lets the broken rendering through."""
    install("pasted", monkeypatch)
    monkeypatch.setattr(engine, "egress_refusal", lambda *args, **kwargs: None)
    secret = "PRIV" + uuid.uuid4().hex[:10].upper()
    Paste.text = f"customer ACME {secret}"
    update = Update("api-errors", 1, NOW, Status.INVESTIGATING, "Errors.", components=API,
                    customers=(f"ACME {secret}",))
    services.reset()
    outcomes = deliver_last(services, Incident("api-errors", "API errors", Impact.MAJOR, Status.INVESTIGATING, NOW,
                                               components=API), [update])
    assert {o.state for o in outcomes} == {"sent"}, outcomes
    assert len(services.sent()) == 3 and all(secret in body for body in services.sent())


# -- through the CLI ------------------------------------------------------------------------

GUARD = "refused to publish the message for"


def run_json(project: Project, *args: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    result = project.cli(*args, "--json", **kwargs)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def public_sends(world: FakeWorld) -> list[str]:
    """What reached the public X account and the public Telegram chat."""
    return [t.text for t in world.x.tweets] + [m.text for m in world.telegram_messages(PUBLIC_CHAT)]


def test_a_public_text_naming_a_customer_is_refused_whole_before_anything_is_stored(
    project: Project, world: FakeWorld
) -> None:
    """The preview tells the truth about post: what it would refuse, post refuses whole (before, post sent
    the clean destinations and stored an update the site then left out)."""
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api",
                         "--ticket", "Globex Corp", "Errors for globex-corp customers.")
    assert_refused_whole(result, "site", "x", "tg-public")
    assert stored(project) == [] and requests(world) == []  # not even the private chats, which may read it
    assert json.loads(project.cli("list", "--json").stdout) == []
    assert not project.site.exists()
    # Without the destinations that may not read it, the update goes out.
    code, posted = run_json(project, "post", "--yes", "--skip", "x,tg-public,site", "--title", "API errors", "-C", "api",
                            "--ticket", "Globex Corp", "Errors for globex-corp customers.")
    assert code == 0, posted
    assert public_sends(world) == []
    assert all("Globex Corp" in m.text for chat in OPS_CHATS for m in world.telegram_messages(chat))


def test_a_stored_public_text_naming_a_customer_is_refused_at_send_time_on_public_channels_only(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    """The second line of defence: such an update in the store (an edited export) is refused per destination."""
    import_unsent(project, tmp_path, "post", "--title", "API errors", "-C", "api", "--ticket", "Globex Corp",
                  "Errors for some customers.", edit=saying("Errors for globex-corp customers."))
    code, sent = run_json(project, "retry")
    assert code == 3
    states = {d["destination"]: (d["state"], d["error"] or "") for d in sent["deliveries"]}
    for name in ("x", "tg-public"):
        assert states[name][0] == "failed" and states[name][1].startswith(GUARD), states[name]
        assert "amend" in states[name][1]  # says what to do
    assert states["tg-ops"][0] == states["slack-acme"][0] == "sent"
    assert public_sends(world) == []
    assert all("Globex Corp" in m.text for chat in OPS_CHATS for m in world.telegram_messages(chat))
    # Refused for good: retry does not send it either.
    code, retried = run_json(project, "retry")
    assert code == 3 and public_sends(world) == []
    # The site's guard (fc-site) leaves the incident off the page: its delivery fails too, naming the file.
    errors = {d["destination"]: d["error"] for d in retried["deliveries"]}
    assert set(errors) == {"x", "tg-public", "site"}
    assert all(errors[name].startswith(GUARD) for name in ("x", "tg-public"))
    assert "was left out of the site (refused to publish incidents/" in " ".join(errors["site"].split())
    assert not [p for p in project.site.rglob("*") if p.is_file() and "globex" in p.read_text(errors="replace").lower()]


@pytest.mark.parametrize("command", ["preview", "post --dry-run"])
def test_preview_says_a_public_rendering_holds_private_detail_instead_of_showing_it(
    project: Project, world: FakeWorld, command: str
) -> None:
    args = [*command.split(), "--title", "API errors", "-C", "api", "--ticket", "INC-4711-X", "Errors, see inc-4711-x."]
    shown = project.cli(*args)
    assert shown.exit_code == 2
    assert "REFUSED" in shown.stdout and GUARD in shown.stdout
    assert "egress guard would refuse" in shown.stderr and "Nothing was stored or sent" in shown.stderr
    code, payload = run_json(project, *args)
    assert code == 2
    by_name = {(d["destination"], d["target"]): d for d in payload["deliveries"]}
    refused = by_name[("tg-public", PUBLIC_CHAT)]
    assert refused["state"] == "failed" and refused["error"].startswith(GUARD) and refused["rendered"] is None
    assert by_name[("tg-ops", str(OPS_CHATS[0]))]["state"] == "pending"  # private chats may read it
    assert json.loads(project.cli("list", "--json").stdout) == [] and public_sends(world) == []


def test_a_clean_preview_is_shown_and_exits_0(project: Project, world: FakeWorld) -> None:
    shown = project.cli("preview", "--title", "API errors", "--ticket", "Globex Corp", "Errors for some customers.")
    assert shown.exit_code == 0 and "REFUSED" not in shown.stdout and "Errors for some customers." in shown.stdout


def test_a_correction_may_not_publish_what_the_corrected_update_kept_private(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "-C", "api",
                            "Errors in eu-west. [private]router edge-fra-2 failed[/private]")
    assert code == 0
    incident = posted["incident_id"]
    sent_before, before = public_sends(world), stored(project)
    site_before = {p: p.read_bytes() for p in project.site.rglob("*") if p.is_file()}
    amended = project.cli("amend", incident, "1", "--yes", "--json", "Correction: the router EDGE-FRA-2 FAILED.")
    assert_refused_whole(amended, "site", "x", "tg-public")
    assert stored(project) == before and world.telegram.edits == [] and public_sends(world) == sent_before
    assert {p: p.read_bytes() for p in project.site.rglob("*") if p.is_file()} == site_before

    # At send time (the correction brought in by an import): refused on the public channels only.
    import_unsent(project, tmp_path, "amend", incident, "1", "Correction: the router failed.",
                  edit=saying("Correction: the router EDGE-FRA-2 FAILED."))
    code, retried = run_json(project, "retry")
    assert code == 3
    states = {d["destination"]: (d["state"], d["error"] or "") for d in retried["deliveries"]}
    assert states["x"][0] == states["tg-public"][0] == "failed" and states["x"][1].startswith(GUARD), states
    assert public_sends(world) == sent_before  # no correction reply on X, the public message not edited
    public_chat = world.telegram.chat(PUBLIC_CHAT).id
    assert [e for e in world.telegram.edits if e.chat_id == public_chat] == []
    assert len(world.telegram.edits) == len(OPS_CHATS)  # the private chats do get the correction


def test_a_broken_telegram_formatter_is_stopped_through_the_cli(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A formatter bug that prints the private view's detail in a public chat: the chat gets nothing."""
    layout = telegram_format.layout

    def leaky_layout(view: Any) -> list[Any]:
        customers = getattr(view, "customers", None) or Paste.customers
        return [*layout(view), (telegram_format.Run("Affected: "), telegram_format.Run(", ".join(customers), "b"))]

    Paste.customers = ("Initech_Payroll",)
    args = ("--title", "API errors", "-C", "api", "--ticket", "Initech_Payroll", "Errors for some customers.")
    # Stored before the bug (an import, or an update stored by a version without it) and sent with it.
    import_unsent(project, tmp_path, "post", *args)
    before, asked = stored(project), len(requests(world))  # the import asked which chat @acmestatus is
    monkeypatch.setattr(telegram_format, "layout", leaky_layout)
    # A new post with the bug: its preview shows the refusal, so nothing is stored or sent.
    assert_refused_whole(project.cli("post", "--yes", "--again", *args), "tg-public")  # the same post, meant
    assert stored(project) == before and requests(world)[asked:] == []

    code, sent = run_json(project, "retry")
    assert code == 3
    states = {(d["destination"], d["target"]): (d["state"], d["error"] or "") for d in sent["deliveries"]}
    assert states[("tg-public", PUBLIC_CHAT)][0] == "failed" and states[("tg-public", PUBLIC_CHAT)][1].startswith(GUARD)
    assert states[("x", "")][0] == "sent"  # other destinations are unaffected
    assert world.telegram_messages(PUBLIC_CHAT) == []
    assert all("Initech_Payroll" in m.text for chat in OPS_CHATS for m in world.telegram_messages(chat))


def test_a_postmortem_announcement_is_guarded_and_a_clean_one_goes_out(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    """The channels get a short announcement, checked against the postmortem's own private spans."""
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    incident = posted["incident_id"]
    assert run_json(project, "resolve", incident, "--yes", "Fixed.")[0] == 0
    text = tmp_path / "pm.md"
    text.write_text("# What happened\n\nA router failed. [ PRIVATE ]Edge-FRA-2 in rack 7[/private]\n", encoding="utf-8")
    code, published = run_json(project, "postmortem", incident, "--file", str(text), "--yes")
    assert code == 0, published
    assert "postmortem" in world.x.tweets[-1].text and "rack 7" not in world.x.tweets[-1].text.lower()


def test_an_announcement_that_pastes_the_postmortem_with_its_private_spans_is_refused(
    project: Project, world: FakeWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broadcaster.messages.announcements import announced as announce  # what destinations imported
    from broadcaster.messages.visibility import full_text

    def pasting(view: Any, update: Update, updates: Any, *, can_edit: bool) -> Any:  # the bug: the body, spans and all
        found = announce(view, update, updates, can_edit=can_edit)
        return replace(found, message=full_text(update.raw_message)) if update.kind == "postmortem" else found

    monkeypatch.setattr(destinations, "announced", pasting)
    incident = run_json(project, "post", "--yes", "--title", "API errors", "-C", "api", "Errors.")[1]["incident_id"]
    assert run_json(project, "resolve", incident, "--yes", "Fixed.")[0] == 0
    sent_before, before, chats_before = public_sends(world), stored(project), len(world.telegram.requests)
    text = tmp_path / "pm.md"
    text.write_text("A router failed. [private]Edge-FRA-2 in rack 7[/private]\n", encoding="utf-8")
    assert_refused_whole(project.cli("postmortem", incident, "--file", str(text), "--yes"), "tg-public", "x")
    assert stored(project) == before and len(world.telegram.requests) == chats_before

    # Stored by an import, the announcement is refused at send time on the public channels only.
    import_unsent(project, tmp_path, "postmortem", incident, "--file", str(text))
    code, published = run_json(project, "retry")
    assert code == 3
    states = {d["destination"]: (d["state"], d["error"] or "") for d in published["deliveries"]}
    assert states["x"][0] == states["tg-public"][0] == "failed" and states["tg-public"][1].startswith(GUARD)
    assert public_sends(world) == sent_before
    assert all("rack 7" in m.text for chat in OPS_CHATS for m in world.telegram_messages(chat)[-1:])


def test_a_private_span_of_the_title_is_guarded_too(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The bug: the private view (full title) cut for every destination. The title's span stays out."""
    args = ("--title", "Checkout [private]Globex-Payroll[/private] down", "-C", "api", "Checkout is failing.")
    import_unsent(project, tmp_path, "post", *args)  # stored before the bug, sent with it
    before, asked = stored(project), len(requests(world))  # the import asked which chat @acmestatus is
    monkeypatch.setattr(engine, "view_for", lambda visibility, incident, update, **kw: private_view(incident, update, **kw))
    assert_refused_whole(project.cli("post", "--yes", "--again", *args), "site", "x", "tg-public")
    assert stored(project) == before and requests(world)[asked:] == []

    code, posted = run_json(project, "retry")
    assert code == 3
    states = {d["destination"]: (d["state"], d["error"] or "") for d in posted["deliveries"]}
    assert states["x"][0] == states["tg-public"][0] == "failed" and states["x"][1].startswith(GUARD), states
    assert public_sends(world) == []
    assert all("Globex-Payroll" in m.text for chat in OPS_CHATS for m in world.telegram_messages(chat))


# -- the guard and delivery states: a resend and a resumed post in parts are guarded again ---------


def leaky_twitter(monkeypatch: pytest.MonkeyPatch, pasted: str) -> None:
    """The bug: X's formatter pastes a private value after the public text."""
    import broadcaster.channels.twitter as twitter_channel

    format_post = twitter_format.format_post  # what the channel module imported
    monkeypatch.setattr(twitter_channel, "format_post", lambda view: f"{format_post(view)} {pasted}")


def test_a_resend_after_include_unknown_passes_the_guard_again(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown post resent on request is rendered and guarded afresh: a refusal is failed, never unknown."""
    world.x.fail(Fault(match="/2/tweets", reset_after=True))  # the post arrives, its answer does not
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "-C", "api",
                            "--ticket", "Initech_Payroll", "Errors for some customers.")
    assert code == 3
    assert next(d for d in posted["deliveries"] if d["destination"] == "x")["state"] == "unknown"
    assert len(world.x.tweets) == 1
    leaky_twitter(monkeypatch, "Initech_Payroll")
    code, retried = run_json(project, "retry", "--include-unknown")
    assert code == 3
    [x] = [d for d in retried["deliveries"] if d["destination"] == "x"]
    assert x["state"] == "failed" and x["error"].startswith(GUARD), x
    assert len(world.x.tweets) == 1 and "Initech" not in world.x.tweets[0].text
    code, again = run_json(project, "retry")  # failed for good: plain retry refuses it as well
    assert code == 3 and len(world.x.tweets) == 1
    assert [d["state"] for d in again["deliveries"] if d["destination"] == "x"] == ["failed"]


def public_message_in_two_parts() -> str:
    """A public message within the input limit that a public Telegram chat gets as two messages."""
    text, n = "", 0
    while len(text) < 4_700:
        n += 1
        text += f"Sentence {n} says the queue is slow and retries pile up behind it. "
    return text.strip()


def test_a_post_in_parts_resumed_by_retry_passes_the_guard_again(project: Project, world: FakeWorld) -> None:
    """Part 2 of a public post is in doubt; when it is resent (from the rendering part 1 went out in), the guard
    stands before it, and a refusal keeps the confirmed part for the resend once the config is fixed. The guard
    reads the config of the resend: a customer added meanwhile, named in part 2, refuses it."""
    world.telegram.fail(Fault(match="sendMessage", after=1, hang=30))
    code, posted = run_json(project, "post", "--yes", "--only", "tg-public", "--title", "Queue slow",
                            "--ticket", "Initech_Payroll", "-", input=public_message_in_two_parts())
    assert code == 3
    incident = posted["incident_id"]

    def delivery() -> dict[str, Any]:
        shown = json.loads(project.cli("show", incident, "--json").stdout)
        return next(d for d in shown["deliveries"] if d["destination"] == "tg-public" and d["sequence"] == 1)

    cut = delivery()
    assert cut["state"] == "unknown" and len(cut["parts"]) == 1 and "of 2 were confirmed" in cut["error"], cut
    assert len(world.telegram_messages(PUBLIC_CHAT)) == 1

    assert "Sentence 66 " not in world.telegram_messages(PUBLIC_CHAT)[0].text  # it is in part 2 alone
    config = project.config.read_text()
    project.config.write_text(config + '\n[audiences.sixty]\nname = "Sentence 66"\n')
    assert project.cli("retry", "--include-unknown").exit_code == 3
    refused = delivery()
    assert refused["state"] == "failed" and refused["error"].startswith(GUARD), refused
    assert refused["parts"] == cut["parts"]
    assert len(world.telegram_messages(PUBLIC_CHAT)) == 1

    project.config.write_text(config)  # fixed: plain retry resumes with part 2, replying to part 1
    assert project.cli("retry").exit_code == 0
    first, second = world.telegram_messages(PUBLIC_CHAT)
    assert second.reply_to_message_id == first.message_id and "Initech" not in first.text + second.text
    assert "Sentence 66 " in second.text
    assert delivery()["state"] == "sent" and len(delivery()["parts"]) == 2

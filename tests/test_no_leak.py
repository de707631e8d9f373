"""No private token ever reaches a public output: every channel's public rendering, the page, the feeds, the JSON.

Generated updates carry unique tokens in every private place (inline spans,
--private notes, customers, tickets), written with every spelling of the
markers the parser accepts (any letter case, spaces inside the brackets), and
half the time a correction of an earlier update with private detail of its
own. The test renders them exactly as the engine does
(``broadcaster.engine.render``, which cuts the view by the destination's
visibility) and builds the whole site, then looks for the tokens. A third test
corrects a stored update through ``amend`` itself, and looks at every public
rendering it would send.
"""

from __future__ import annotations

import json
import tempfile
import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from broadcaster.messages import gate
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import public_incident
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.destinations import ChannelDestination
from broadcaster.engine import render
from broadcaster.registry import channel_types, load_channel_class

# Minimal valid options per channel type. A new channel type must add itself here.
EXAMPLE_OPTIONS: dict[str, dict[str, Any]] = {
    "twitter": {"bearer_token": Secret("X_TOKEN", "x-token-value")},
    "telegram": {"token": Secret("TG_TOKEN", "123:tg-token-value"), "chat_ids": ["@acmestatus", -1001]},
    "slack": {"token": Secret("SLACK_TOKEN", "xoxb-slack-token-value"), "channel": "C0123ABCD"},
    "mastodon": {"instance_url": "https://mastodon.example", "access_token": Secret("MASTODON_TOKEN", "m-token-value")},
    "bluesky": {"handle": "acme.bsky.social", "app_password": Secret("BSKY_PASSWORD", "bsky-app-pass-value")},
    "discord": {"webhook_url": Secret("DISCORD_URL", "https://discord.com/api/webhooks/123456789012345678/" + "t" * 68)},
    "teams": {"webhook_url": Secret("TEAMS_URL", "https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/"
                                                 "manual/paths/invoke?api-version=2016-06-01&sv=1.0&sig=teamsSig123")},
    "webhook": {"url": "https://hooks.example.com/status",
                "secret": Secret("HOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
    "matrix": {"homeserver": "https://matrix.example.org", "access_token": Secret("MATRIX_TOKEN", "syt_matrix_token"),
               "room_id": "!AbCdEf:example.org"},
    "email": {"host": "smtp.example.com", "from": "Acme status <status@example.com>", "to": ["ops@example.com"]},
}

CHANNEL_TYPES = list(channel_types())
CONFIG = parse({"page": {"title": "Acme", "base_url": "https://status.example.com/"},
                "components": [{"id": "api", "name": "API"}, {"id": "db", "name": "DB"}]}, None, {})


def test_every_channel_type_is_covered() -> None:
    assert CHANNEL_TYPES, "no channel modules found"
    assert set(CHANNEL_TYPES) == set(EXAMPLE_OPTIONS), "add the new channel type to EXAMPLE_OPTIONS"


def public_destinations() -> list[ChannelDestination]:
    result = []
    for type_name in CHANNEL_TYPES:
        config = ChannelConfig(f"{type_name}-public", type_name, "public", (), None, EXAMPLE_OPTIONS[type_name])
        load_channel_class(type_name)  # imports the module
        result.append(ChannelDestination(config, request_timeout=15.0))
    return result


def token() -> st.SearchStrategy[str]:
    return st.builds(lambda: "PRIV" + uuid.uuid4().hex[:12].upper())


# Every spelling of a marker the parser accepts: any letter case, spaces inside the brackets.
_spaces = st.sampled_from(["", " ", "  "])
_word = st.sampled_from(["private", "PRIVATE", "Private", "pRiVaTe"])
opening = st.builds(lambda a, w, b: f"[{a}{w}{b}]", _spaces, _word, _spaces)
closing = st.builds(lambda a, b, w, c: f"[{a}/{b}{w}{c}]", _spaces, _spaces, _word, _spaces)


def private_span(draw: Callable[[st.SearchStrategy[str]], str], text: str) -> str:
    return f"{draw(opening)}{text}{draw(closing)}"


# Public text as the gate admits it around markers: no marker of its own, and nothing that looks like one
# (an "[F0R" or a "[/for]" drawn from the brackets and letters here is refused before anything is stored).
public_words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("<>&*_[]()~#!\n"),
    min_size=1, max_size=80,
).filter(lambda s: "private" not in s.lower() and s.strip() and gate.find_marker(s) is None)


@st.composite
def updates(draw: st.DrawFn) -> tuple[Incident, list[Update], list[str]]:
    secrets: list[str] = []
    def secret() -> str:
        value = draw(token())
        secrets.append(value)
        return value
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    incident = Incident("api-errors", draw(public_words), Impact.MAJOR, Status.INVESTIGATING, now,
                        components=(AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),))
    result = []
    for sequence in range(1, draw(st.integers(1, 3)) + 1):
        head, tail = draw(public_words), draw(public_words)
        message = f"{head} {private_span(draw, f'{secret()} {draw(public_words)}')} {tail}"
        if draw(st.booleans()):
            message += f"\n\n{private_span(draw, secret())}"
        result.append(Update(
            "api-errors", sequence, now + timedelta(minutes=sequence), Status.INVESTIGATING, message,
            components=(AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),),
            private_note=f"note {secret()}", customers=(secret(), f"ACME {secret()}"), tickets=(secret(),),
            author=secret(),
            next_update_by=now + timedelta(hours=1),
        ))
    if draw(st.booleans()):
        corrects = draw(st.integers(1, len(result)))
        message = f"{draw(public_words)} {private_span(draw, secret())} {draw(public_words)}"
        result.append(Update(
            "api-errors", len(result) + 1, now + timedelta(minutes=30), Status.INVESTIGATING, message,
            private_note=f"fix {secret()}", kind="correction", extra={"corrects": str(corrects)}, author=secret(),
        ))
    return incident, result, secrets


def all_text(rendered: object) -> str:
    parts = [rendered.text, *rendered.parts]  # type: ignore[attr-defined]
    parts.append(json.dumps(dict(rendered.payload), default=str))  # type: ignore[attr-defined]
    return "\n".join(parts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(updates())
def test_public_channel_renderings_never_show_private_detail(case: tuple[Incident, list[Update], list[str]]) -> None:
    incident, stored, secrets = case
    for destination in public_destinations():
        for update in stored:
            text = all_text(render(destination, incident, update, stored, CONFIG))
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"{destination.name} leaked {leaked}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(updates())
def test_site_page_feeds_and_json_never_show_private_detail(case: tuple[Incident, list[Update], list[str]]) -> None:
    from broadcaster.site.build import SiteData, build_site

    incident, stored, secrets = case
    view = public_incident(incident, stored, url="https://status.example.com/incidents/api-errors.html")
    with tempfile.TemporaryDirectory() as folder:
        data = SiteData(page=CONFIG.page, components=CONFIG.components, incidents=(view,), now=stored[-1].created_at)
        build_site(data, Path(folder), pages=[view])
        files = [p for p in Path(folder).rglob("*") if p.is_file()]
        assert {"index.html", "feed.xml", "atom.xml", "summary.json"} <= {p.name for p in files}
        for path in files:
            content = path.read_bytes().decode("utf-8", errors="replace")
            leaked = [s for s in secrets if s in content]
            assert not leaked, f"{path.name} leaked {leaked}"


def test_private_channels_do_get_private_detail() -> None:
    """The same rendering path does carry private detail to a private channel (the test above can fail)."""
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    incident = Incident("api-errors", "API errors", Impact.MAJOR, Status.INVESTIGATING, now)
    update = Update("api-errors", 1, now, Status.INVESTIGATING, "Errors [private]PRIVSPAN[/private].",
                    private_note="PRIVNOTE", customers=("PRIVCUSTOMER",), tickets=("PRIVTICKET",))
    for type_name in CHANNEL_TYPES:
        channel_class = load_channel_class(type_name)
        if "private" not in channel_class.visibilities:
            continue
        config = ChannelConfig(f"{type_name}-ops", type_name, "private", (), None, EXAMPLE_OPTIONS[type_name])
        text = all_text(render(ChannelDestination(config, request_timeout=15.0), incident, update, [update], CONFIG))
        for secret in ("PRIVSPAN", "PRIVNOTE", "PRIVCUSTOMER", "PRIVTICKET"):
            assert secret in text, f"{type_name} private rendering lacks {secret}"


def _admitted(message: str) -> bool:
    """Whether a post of ``message`` is taken at all: the input gate's, and a label for staff heading or ending a line
    of what the public reads ("2 SENS1BE1", drawn once), which a post beyond staff refuses before its preview."""
    from broadcaster.messages import gate
    from broadcaster.messages.visibility import public_text

    from broadcaster.errors import InputError

    try:
        gate.admit(message, "the message", gate.MESSAGE)
    except InputError:
        return False
    return gate.first_staff_label([("the message", public_text(message))]) is None


# What the input gate admits (it refuses control, format, private-use and unassigned code points).
input_words = public_words.filter(
    lambda s: all(unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn") for c in s)
)


def _as_toml(options: dict[str, object]) -> dict[str, object]:
    return {key: f"${{{value.env_var}}}" if isinstance(value, Secret) else value for key, value in options.items()}


AMEND_CONFIG = parse(
    {"page": {"title": "Acme", "base_url": "https://status.example.com/"},
     "components": [{"id": "api", "name": "API"}],
     "channels": {f"{type_name}-public": {"type": type_name, **_as_toml(options)}
                  for type_name, options in EXAMPLE_OPTIONS.items()}},
    None,
    {value.env_var: value.reveal() for options in EXAMPLE_OPTIONS.values() for value in options.values()
     if isinstance(value, Secret)},
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(updates(), st.data())
def test_corrections_made_with_amend_never_show_private_detail(
    case: tuple[Incident, list[Update], list[str]], data: st.DataObject
) -> None:
    """``amend`` itself: the public renderings of a correction (edits, X's correction reply, the site)."""
    from broadcaster import lifecycle
    from broadcaster.operations import delivery_plan
    from broadcaster.store.sqlite import SQLiteStore

    incident, stored, secrets = case
    originals = [u for u in stored if u.kind != "correction"]
    fix, note = data.draw(token(), label="private in the correction"), data.draw(token(), label="private note")
    secrets += [fix, note]
    message = f"{data.draw(input_words)} {private_span(data.draw, fix)} {data.draw(input_words)}"
    # Out of scope: a message the input gate refuses (words beside the span that, markers taken out, read as one:
    # "« PRIV… >"); it is stored and sent nowhere. The random tokens make such a case fail once, then not on replay.
    assume(_admitted(message))
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "state.db")
        try:
            for index, update in enumerate(originals):
                incident, _ = store.record_update(incident, update, delivery_plan(AMEND_CONFIG, incident, update),
                                                  new=index == 0)
            for delivery in store.deliveries(incident_id=incident.id):  # they went out: the correction follows them
                store.mark_sent(delivery.id, f"9{delivery.id}", None)
            corrected = data.draw(st.integers(1, len(originals)), label="corrects")
            result = lifecycle.amend(AMEND_CONFIG, store, incident.id, corrected, message, private=f"fix {note}",
                                     dry_run=True)
        finally:
            store.close()
    public = [p for p in result.previews if p.visibility == "public" and p.rendered is not None]
    from broadcaster.messages.visibility import public_text

    if public_text(originals[corrected - 1].raw_message) == public_text(message):  # the store has no correction  # nothing the public reads changed: not told of it
        assert public == [], [p.destination for p in public]
    else:
        assert {p.destination for p in public} >= {f"{t}-public" for t in CHANNEL_TYPES}
    for preview in public:
        text = all_text(preview.rendered)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{preview.destination} leaked {leaked}"

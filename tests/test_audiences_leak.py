"""Audiences never hear about each other: a property over random audiences, updates and every channel type.

Each generated case has two or three audiences with unique names, components and
detail (``--for`` texts and inline ``[for ID]`` spans), and internal detail
(``[private]`` spans, notes, tickets). Each update is rendered exactly as the
engine does (``broadcaster.engine.render``) for every channel type at every
visibility it may have, and the site is built from the public timeline:

* audience X's renderings hold no other audience's name or detail, and nothing internal;
* public renderings and the site hold none of either;
* internal renderings hold all of it;
* and the egress guard lets every one of them through, while it refuses an
  internal rendering sent to a public or a customer's channel (so it can fail).
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import public_incident
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcaster.config import Config, Secret
from broadcaster.config_loader import parse
from broadcaster.destinations import ChannelDestination
from broadcaster.engine import egress_refusal, render
from broadcaster.registry import channel_types, load_channel_class
from tests.test_no_leak import EXAMPLE_OPTIONS, _as_toml, all_text

COMPONENTS = ("api", "db", "web")
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
ENV = {value.env_var: value.reveal() for options in EXAMPLE_OPTIONS.values()
       for value in cast(dict[str, object], options).values() if isinstance(value, Secret)}


def token(kind: str) -> str:
    return f"{kind}{uuid.uuid4().hex[:10].upper()}"


@dataclass
class Case:
    config: Config
    incident: Incident
    updates: list[Update]
    names: dict[str, str]  # audience id -> its name
    detail: dict[str, list[str]] = field(default_factory=dict)  # audience id -> its detail tokens
    internal: list[str] = field(default_factory=list)


# One chat per table: a chat shared by two visibilities is a config error. A new type that
# may carry an audience adds how to give it its own chat here.
def _own_url(key: str, variable: str, url: str) -> dict[str, object]:
    """A webhook URL is a secret, read from the environment: each table gets its own variable."""
    ENV[variable] = url
    return {key: f"${{{variable}}}"}


OWN_TARGET: dict[str, Callable[[int], dict[str, object]]] = {
    "telegram": lambda n: {"chat_ids": [-2000 - n]},
    "slack": lambda n: {"channel": f"C0{n:07d}"},
    "discord": lambda n: _own_url("webhook_url", f"DISCORD_URL_{n}",
                                  f"https://discord.com/api/webhooks/{123456789012345000 + n}/" + "t" * 68),
    "teams": lambda n: _own_url("webhook_url", f"TEAMS_URL_{n}",
                                f"https://prod-00.westus.logic.azure.com:443/workflows/flow{n}/triggers/manual/paths/"
                                f"invoke?api-version=2016-06-01&sv=1.0&sig=teamsSig{n}"),
    "webhook": lambda n: {"url": f"https://hooks.example.com/status/{n}"},
    "matrix": lambda n: {"room_id": f"!Room{n}:example.org"},
    "email": lambda n: {"to": [f"customer{n}@example.com"]},
}


def channels_for(audience_ids: list[str]) -> dict[str, dict[str, object]]:
    """Every channel type public; those that may be private, internal and one per audience too."""
    tables: dict[str, dict[str, object]] = {}
    for type_name, options in EXAMPLE_OPTIONS.items():
        base: dict[str, object] = {"type": type_name, **_as_toml(cast(dict[str, object], options))}
        tables[f"{type_name}-public"] = base
        if load_channel_class(type_name).may_carry_audience():
            own = OWN_TARGET[type_name]
            tables[f"{type_name}-ops"] = {**base, **own(1), "visibility": "internal"}
            for number, audience in enumerate(audience_ids, 2):
                tables[f"{type_name}-{audience}"] = {**base, **own(number), "audience": audience}
    return tables


@st.composite
def cases(draw: st.DrawFn) -> Case:
    ids = draw(st.lists(st.sampled_from(["acme", "globex", "initech"]), min_size=2, max_size=3, unique=True))
    names = {key: f"{token('NAME')} Corp" for key in ids}
    audiences = {key: {"name": names[key], "components": draw(st.lists(st.sampled_from(COMPONENTS), max_size=2,
                                                                          unique=True))} for key in ids}
    config = parse({"page": {"title": "Acme status", "base_url": "https://status.example.com/"},
                    "components": [{"id": c, "name": c.upper()} for c in COMPONENTS],
                    "audiences": audiences, "channels": channels_for(ids)}, None, ENV)
    case = Case(config, Incident("api-errors", "API errors", Impact.MAJOR, Status.INVESTIGATING, NOW), [], names,
                {key: [] for key in ids})
    for sequence in range(1, draw(st.integers(1, 3)) + 1):
        case.updates.append(_update(draw, case, ids, sequence))
    touched = {c.id for u in case.updates for c in u.components}
    case.incident = Incident("api-errors", "API errors", Impact.MAJOR, Status.INVESTIGATING, NOW,
                             components=tuple(AffectedComponent(c, ComponentStatus.PARTIAL_OUTAGE) for c in sorted(touched)))
    return case


def _update(draw: st.DrawFn, case: Case, ids: list[str], sequence: int) -> Update:
    def detail(key: str) -> str:
        value = token("DETAIL")
        case.detail[key].append(value)
        return value

    def internal() -> str:
        value = token("INTERNAL")
        case.internal.append(value)
        return value

    spans = draw(st.lists(st.sampled_from(ids), max_size=2))
    message = "Errors on the API. " + " ".join(f"[for {key}]circuit {detail(key)}[/for]" for key in spans)
    message += f" [private]{internal()} edge[/private] More soon."
    named = draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
    given_for = draw(st.lists(st.sampled_from(ids), max_size=2))
    components = draw(st.lists(st.sampled_from(COMPONENTS), max_size=2, unique=True))
    return Update("api-errors", sequence, NOW + timedelta(minutes=sequence), Status.INVESTIGATING, message,
                  components=tuple(AffectedComponent(c, ComponentStatus.PARTIAL_OUTAGE) for c in components),
                  private_note=f"note {internal()}", tickets=(internal(),), audiences=tuple(named),
                  audience_detail=tuple((key, f"your link {detail(key)}") for key in given_for))


def destinations(case: Case) -> list[ChannelDestination]:
    return [ChannelDestination(table, 15.0) for table in case.config.channels.values()]


def _everything_of(case: Case, audience: str) -> list[str]:
    return [case.names[audience], *case.detail[audience]]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_each_audience_hears_only_its_own_detail_and_the_public_none(case: Case) -> None:
    for destination in destinations(case):
        scope = destination.table.scope
        for update in case.updates:
            rendered = render(destination, case.incident, update, case.updates, case.config)
            text = all_text(rendered)
            if destination.table.internal:
                named = {a for u in [update] for a in (*u.audiences, *(k for k, _ in u.audience_detail))}
                wanted = [*(v for v in case.internal if v in _internal_of(update)),
                          *(d for key in case.detail for d in case.detail[key] if d in _detail_of(update)),
                          *(case.names[key] for key in named)]
                missing = [v for v in wanted if v not in text]
                assert not missing, f"{destination.name} lacks {missing}"
                continue
            forbidden = list(case.internal)
            for key in case.names:
                if key != scope.audience:
                    forbidden += _everything_of(case, key)
            leaked = [v for v in forbidden if v in text]
            assert not leaked, f"{destination.name} ({scope}) leaked {leaked}"
            if scope.audience:
                own = [d for d in case.detail[scope.audience] if d in _detail_of(update)]
                assert all(d in text for d in own), f"{destination.name} lacks its own detail {own}"
            assert egress_refusal(destination, str(scope), rendered, case.incident, update, case.updates,
                                  case.config) is None, f"the guard refused {destination.name}'s own rendering"


def _internal_of(update: Update) -> str:
    return json.dumps([update.raw_message, update.private_note, update.tickets])


def _detail_of(update: Update) -> str:
    return json.dumps([update.raw_message, update.audience_detail])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_guard_refuses_internal_detail_on_a_customers_or_public_channel(case: Case) -> None:
    """Forged: an internal rendering handed to every other channel must be stopped (the property above can fail)."""
    internal = next(d for d in destinations(case) if d.table.internal)
    for update in case.updates:
        rendered = render(internal, case.incident, update, case.updates, case.config)
        for destination in destinations(case):
            if destination.table.internal or destination.channel.type_name != internal.channel.type_name:
                continue
            refused = egress_refusal(destination, destination.visibility, rendered, case.incident, update,
                                     case.updates, case.config)
            assert refused is not None, f"{destination.name} would have received internal detail"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_page_feeds_and_json_hold_no_audience_and_no_internal_detail(case: Case) -> None:
    from broadcaster.site.build import SiteData, build_site

    view = public_incident(case.incident, case.updates, url="https://status.example.com/incidents/api-errors.html")
    forbidden = [*case.internal, *(v for key in case.names for v in _everything_of(case, key))]
    with tempfile.TemporaryDirectory() as folder:
        data = SiteData(page=case.config.page, components=case.config.components, incidents=(view,),
                        now=case.updates[-1].created_at)
        build_site(data, Path(folder), pages=[view])
        files = [p for p in Path(folder).rglob("*") if p.is_file()]
        assert {"index.html", "feed.xml", "atom.xml", "summary.json"} <= {p.name for p in files}
        for path in files:
            content = path.read_bytes().decode("utf-8", errors="replace")
            leaked = [v for v in forbidden if v in content]
            assert not leaked, f"{path.name} leaked {leaked}"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_each_customer_page_holds_its_own_detail_and_nothing_of_anyone_else(case: Case) -> None:
    """The private pages and feeds at a/<token>/, built as the site builds them, guard included."""
    from broadcaster.messages.egress import PrivateValues
    from broadcaster.messages.model import Visibility
    from broadcaster.messages.visibility import audience_incident, forbidden_values

    from broadcaster.routing import reached
    from broadcaster.site.build import AudiencePage, SiteData, build_site

    pages = []
    for key, audience in case.config.audiences.items():
        told = reached(audience, case.incident, case.updates)
        incidents = (audience_incident(audience, case.incident, case.updates),) if told else ()
        values = PrivateValues.of(v for u in case.updates
                                  for v in forbidden_values(u, case.incident, Visibility.of(key), case.config.audiences))
        pages.append(AudiencePage(key, f"a/token-of-{key}-0123456789/", incidents, {case.incident.id: values}))
    view = public_incident(case.incident, case.updates)
    with tempfile.TemporaryDirectory() as folder:
        data = SiteData(page=case.config.page, components=case.config.components, incidents=(view,),
                        now=case.updates[-1].created_at, audiences=tuple(pages))
        built = build_site(data, Path(folder), pages=[view])
        assert not built.problems, built.problems
        for page in pages:
            text = "".join((Path(folder) / page.folder / name).read_text(encoding="utf-8")
                           for name in ("index.html", "feed.xml", "atom.xml"))
            forbidden = [*case.internal, *(v for key in case.names if key != page.label for v in _everything_of(case, key))]
            leaked = [v for v in forbidden if v in text]
            assert not leaked, f"{page.label}'s page leaked {leaked}"
            if page.incidents:
                shown_detail = [d for d in case.detail[page.label] if any(d in _detail_of(u) for u in case.updates)]
                assert all(d in text for d in shown_detail), f"{page.label}'s page lacks its detail"


def test_every_type_that_may_be_private_may_carry_an_audience_and_x_may_not() -> None:
    carriers = {t for t in channel_types() if load_channel_class(t).may_carry_audience()}
    assert carriers == {t for t in channel_types() if "private" in load_channel_class(t).visibilities}
    assert "twitter" not in carriers and {"slack", "telegram", "discord", "teams", "webhook", "matrix", "email"} <= carriers

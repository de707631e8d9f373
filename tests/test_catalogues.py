"""The catalogues are complete: the POT holds exactly the messages of the code and templates, and
every shipped language translates each of them (every plural form, nothing fuzzy, the same
placeholders). Adding a word without translating it fails here."""

from __future__ import annotations

import ast
import functools
import html
import importlib.util
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from broadcaster.messages import announcements, i18n, words
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import PRIVATE_KINDS, public_incident

from broadcaster.config import ChannelConfig, Config
from broadcaster.config_loader import parse
from broadcaster.destinations import ChannelDestination
from broadcaster.engine import render
from broadcaster.registry import channel_types, load_channel_class
from broadcaster.times import format_time
from tests.sources import parse_file

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [language for language in i18n.languages() if language != i18n.DEFAULT]
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("catalogues", ROOT / "scripts" / "catalogues.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _keys(catalog: Catalog) -> set[tuple[str | None, str]]:
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language)


def test_sv_and_de_ship() -> None:
    assert {"sv", "de"} <= set(SHIPPED)


def test_the_template_is_current_with_the_code() -> None:
    extracted = _keys(_tool().extract())
    assert extracted == _keys(_read(i18n.LOCALE_DIR / "broadcaster.pot")), "run scripts/catalogues.py"
    assert ("incident status", "Resolved") in extracted and (None, "Next update by %(time)s.") in extracted


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_is_translated(language: str) -> None:
    catalog = _read(i18n.catalogue_path(language), language)
    assert catalog.num_plurals == 2
    problems = _problems(catalog, _keys(_read(i18n.LOCALE_DIR / "broadcaster.pot")))
    assert not problems, problems
    assert not catalog.obsolete


def _problems(catalog: Catalog, wanted: set[tuple[str | None, str]]) -> list[str]:
    problems = []
    for context, msgid in sorted(wanted, key=str):
        message = catalog.get(msgid, context=context)
        if message is None:
            problems.append(f"missing: {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        if not all(strings) or (message.pluralizable and len(strings) != catalog.num_plurals):
            problems.append(f"untranslated: {msgid!r}")
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        names = set(_PLACEHOLDER.findall(ids[-1]))
        if any(set(_PLACEHOLDER.findall(s)) != names for s in strings if s):
            problems.append(f"placeholders differ: {msgid!r}")
    problems += [f"{m.id!r}: {errors}" for m, errors in catalog.check()]
    return problems


def test_a_missing_translation_is_found(tmp_path: Path) -> None:
    # The check above must be able to fail: the Swedish catalogue with one message emptied.
    source = i18n.catalogue_path("sv").read_text(encoding="utf-8")
    broken = source.replace('msgstr "Tidigare incidenter"', 'msgstr ""', 1)
    assert broken != source
    (tmp_path / "broadcaster.po").write_text(broken, encoding="utf-8")
    wanted = _keys(_read(i18n.LOCALE_DIR / "broadcaster.pot"))
    assert _problems(_read(tmp_path / "broadcaster.po", "sv"), wanted) == ["untranslated: 'Past incidents'"]
    assert _problems(_read(tmp_path / "broadcaster.po", "sv"), wanted | {(None, "New word")}) == [
        "missing: 'New word'", "untranslated: 'Past incidents'",
    ]


def test_a_catalogue_compiles_and_translates_with_context_and_plurals() -> None:
    with i18n.speaking("de"):
        assert i18n.pgettext("incident status", "Resolved") == "Behoben"
        assert i18n.ngettext("%(num)d day ago", "%(num)d days ago", 3) % {"num": 3} == "vor 3 Tagen"
        assert i18n.month_abbreviations()[4] == "Mai"
    assert i18n.gettext("Updates") == "Updates"  # outside: English


# -- No reader-facing English word bypasses the catalogue ---------------------------------------------------
#
# Every formatter of every channel type (public, internal and a customer's view, every kind of update, lists and
# texts long enough to be cut), the whole site (page, incident pages, feeds, JSON, badges, calendar) and the texts
# broadcaster stores of its own are rendered in each shipped language from a fixture whose own texts are not
# English. Two checks then read the output: no English phrase of the catalogue appears (a literal that duplicates
# a catalogued word instead of asking for it), and no common English word appears at all (an English sentence
# nobody put in the catalogue).

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
URL = "https://status.example.com/incidents/fel-1.html"
# Words that nearly every English sentence holds and neither Swedish nor German spells alike.
ENGLISH_GLUE = ("the", "and", "of", "to", "is", "has", "been", "we", "our", "your", "this", "with", "for", "by",
                "not", "please", "more", "were", "it", "its", "cut", "see", "page", "update", "private")


def _language_config(language: str) -> Config:
    return parse({
        "page": {"title": "Statussida", "base_url": "https://status.example.com/", "language": language},
        "components": [{"id": "api", "name": "Kassa"}, {"id": "db", "name": "Lager", "sla": 99.95}],
        "audiences": {"acme": {"name": "Kund AB", "components": ["api"]}},
    }, None, {})


def _incident() -> tuple[Incident, list[Update]]:
    down = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE), AffectedComponent("db", ComponentStatus.MAJOR_OUTAGE))
    incident = Incident("fel-1", "Fel i kassan", Impact.MAJOR, Status.RESOLVED, T0, components=down,
                        resolved_at=T0 + timedelta(hours=3))
    tickets = tuple(f"ÄRENDE-{n}-" + "ö" * 150 for n in range(45))  # past Slack's and Discord's list limits
    long_text = "Vi felsöker kassan. " * 1600  # past Discord's, Teams' and the rich formats' limits
    updates = [
        Update("fel-1", 1, T0, Status.INVESTIGATING, "Vi undersöker felet. [private]hemlig väg[/private]",
               components=down, private_note="Intern anteckning " * 1500, customers=("Gammal Kund",), tickets=tickets,
               audiences=("acme",), audience_detail=(("acme", "Er order väntar"),), etr=T0 + timedelta(hours=2),
               next_update_by=T0 + timedelta(minutes=30), author="Sigrid"),
        Update("fel-1", 2, T0 + timedelta(minutes=20), Status.IDENTIFIED, long_text, components=down, audiences=("acme",)),
        Update("fel-1", 3, T0 + timedelta(minutes=25), Status.IDENTIFIED, "Rättelse: felet gäller kassan.",
               kind="correction", extra={"corrects": "1"}, author="Sigrid"),
        Update("fel-1", 4, T0 + timedelta(hours=3), Status.RESOLVED, "Allt fungerar igen.",
               components=tuple(AffectedComponent(c.id, ComponentStatus.OPERATIONAL) for c in down)),
        Update("fel-1", 5, T0 + timedelta(hours=5), Status.RESOLVED, "## Vad hände\n\nEn disk tog slut.", kind="postmortem"),
        Update("fel-1", 6, T0 + timedelta(hours=6), Status.RESOLVED, "## Vad hände\n\nTvå diskar tog slut.",
               kind="correction", extra={"corrects": "5"}),
        Update("fel-1", 7, T0 + timedelta(hours=7), Status.RESOLVED, "Intern notis.", kind="notice", author="broadcaster"),
        Update("fel-1", 8, T0 + timedelta(hours=8), Status.RESOLVED, announcements.POSTED_IN_ERROR,
               kind="withdrawal", private_note="Fel kund", author="Sigrid"),
    ]
    return incident, updates


def _windows(config: Config) -> list[tuple[Incident, list[Update]]]:
    """A window that ran (announced, reminded, started, completed) and one called off, in the page's words."""
    start, end = T0 + timedelta(days=1), T0 + timedelta(days=1, hours=2)
    zone = config.page.zone
    with i18n.speaking(config.page.language):
        said = {"announced": words.scheduled_message(format_time(start, zone), format_time(end, zone)),
                "reminded": words.reminder_message(format_time(start, zone)),
                "started": words.maintenance_message("in_progress"), "done": words.maintenance_message("completed"),
                "cancelled": words.maintenance_message("cancelled")}
    api = (AffectedComponent("api", ComponentStatus.UNDER_MAINTENANCE),)
    ran = Incident("arb-1", "Byte av disk", Impact.NONE, Status.COMPLETED, T0, components=api, kind="maintenance",
                   scheduled_start=start, scheduled_end=end, resolved_at=end)
    called_off = replace(ran, id="arb-2", resolved_at=T0 + timedelta(hours=1))
    return [
        (ran, [Update("arb-1", 1, T0, Status.SCHEDULED, said["announced"], components=api),
               Update("arb-1", 2, start - timedelta(hours=1), Status.SCHEDULED, said["reminded"], kind="reminder"),
               Update("arb-1", 3, start, Status.IN_PROGRESS, said["started"], components=api),
               Update("arb-1", 4, end, Status.COMPLETED, said["done"], components=api)]),
        (called_off, [Update("arb-2", 1, T0, Status.SCHEDULED, said["announced"], components=api),
                      Update("arb-2", 2, T0 + timedelta(hours=1), Status.COMPLETED, said["cancelled"])]),
    ]


def _stored_notices(config: Config) -> list[str]:
    """The texts broadcaster stores of its own (notices), as ``tick`` writes them in the page's language."""
    with i18n.speaking(config.page.language):
        return [
            words.sla_breach("Lager", 99.5, 99.95),
            words.customer_sla_breach("Kund AB", "Kassa", 99.5, 99.9),
            words.customer_sla_breach_internal("Kund AB", "acme", "Kassa", 99.5, 99.9),
            words.overdue(format_time(T0, config.page.zone), "Fel i kassan", "fel-1", 1500),
        ]


def _channel_texts(config: Config) -> list[tuple[str, str]]:
    """(where, text) of every channel type's rendering of every update, for each visibility it may carry."""
    from tests.test_no_leak import EXAMPLE_OPTIONS

    found = []
    for incident, updates in [_incident(), *_windows(config)]:
        for type_name in channel_types():
            visibilities = load_channel_class(type_name).visibilities
            for visibility in ("public", "internal", "audience:acme"):
                if visibility.split(":")[0] not in visibilities and not (visibility != "public" and "private" in visibilities):
                    continue
                table = ChannelConfig(f"{type_name}-x", type_name, visibility, (), None, EXAMPLE_OPTIONS[type_name])
                destination = ChannelDestination(table, request_timeout=15.0, language=config.page.language)
                for update in updates:
                    if update.kind in PRIVATE_KINDS and visibility != "internal":
                        continue  # a notice is staff's alone
                    rendered = render(destination, incident, update, updates, config)
                    text = "\n".join([rendered.text, *rendered.parts, json.dumps(dict(rendered.payload), default=str,
                                                                                   ensure_ascii=False)])
                    found.append((f"{type_name} {visibility} #{update.sequence} of {incident.id}", text))
    return found


def _site_texts(config: Config, folder: Path) -> list[tuple[str, str]]:
    """Every file of the site built from the fixture (the withdrawal left out: its incident is off the site)."""
    from broadcaster.messages.uptime import DayUptime

    from broadcaster.site.build import SiteData, build_site

    incident, updates = _incident()
    shown = [public_incident(incident, [u for u in updates if u.kind not in ("notice", "withdrawal")], url=URL)]
    shown += [public_incident(i, u, url=URL.replace("fel-1", i.id)) for i, u in _windows(config)]
    days = tuple(DayUptime(T0.date() - timedelta(days=n), 99.5 if n % 2 else 100.0, ComponentStatus.PARTIAL_OUTAGE,
                           known=n < 80) for n in range(89, -1, -1))
    data = SiteData(page=config.page, components=config.components, incidents=tuple(shown), now=T0 + timedelta(hours=9),
                    uptime={"api": days, "db": days})
    build_site(data, folder, pages=shown)
    return [(str(p.relative_to(folder)), p.read_text(encoding="utf-8")) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix not in (".css", ".js")]


def _english_phrases(language: str) -> list[str]:
    """The catalogue's English phrases (each msgid cut at its placeholders) that the language does not also use."""
    translations = "\n".join(i18n.catalogue_words(language))
    phrases = set()
    for message in _read(i18n.LOCALE_DIR / "broadcaster.pot"):
        for msgid in (message.id if isinstance(message.id, tuple | list) else (message.id,)) if message.id else ():
            for piece in _PLACEHOLDER.split(msgid):
                phrase = piece.strip(" .,:;·()\"'…-_*")
                if re.search(r"[A-Za-z]{3}", phrase) and phrase not in translations:
                    phrases.add(phrase)
    return sorted(phrases)


def _english_in(text: str, phrases: list[str]) -> list[str]:
    """The catalogue's English phrases and the common English words in ``text``, each once."""
    return sorted({m.group(0) for m in _phrases_pattern(tuple(phrases)).finditer(text)}
                  | {m.group(0).lower() for m in _GLUE.finditer(text)})


@functools.cache
def _phrases_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


_GLUE = re.compile(rf"(?<![\w/.#-])(?:{'|'.join(ENGLISH_GLUE)})(?![\w/.=-])", re.IGNORECASE)


def _reader_facing(language: str, folder: Path) -> list[tuple[str, str]]:
    config = _language_config(language)
    return [*_channel_texts(config), *_site_texts(config, folder),
            *(("stored notice", text) for text in _stored_notices(config))]


@pytest.mark.parametrize("language", SHIPPED)
def test_no_english_word_bypasses_the_catalogue(language: str, tmp_path: Path) -> None:
    phrases = _english_phrases(language)
    assert len(phrases) > 100 and "Incident page" in phrases
    found = {where: english for where, text in _reader_facing(language, tmp_path)
             if (english := _english_in(_without_machine_words(text), phrases))}
    assert not found, found


def test_an_english_literal_in_a_formatter_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # The check above must be able to fail: Slack's private labels written as English literals again (as they
    # were before the catalogue had them), and an English sentence no catalogue holds.
    from broadcaster.messages import slack

    monkeypatch.setattr(slack, "word", lambda label: label.strip().rstrip(":"))
    phrases = _english_phrases("sv")
    slack_text = dict(_channel_texts(_language_config("sv")))["slack internal #1 of fel-1"]
    assert {"Customers", "Tickets", "Author"} <= set(_english_in(_without_machine_words(slack_text), phrases))
    assert _english_in("Eskalerad. Escalated to the on-call team.", phrases) == ["the", "to"]
    assert _english_in("Incidentsida. Incident page.", phrases) == ["Incident page"]


def _without_machine_words(text: str) -> str:
    """What a reader of ``text`` reads as words: the texts of HTML and XML (escaped HTML in feeds too) with
    their tooltips and labels, Slack links' labels, JSON's texts; without tags, JSON keys and machine values
    ("maintenance", "partial_outage"), web addresses and file names, and the calendar's product identifier."""
    labels = re.findall(r'(?:title|aria-label|alt|content)="([^"]*)"', text)
    text = re.sub(r"<[^|<>\s]+\|([^<>]*)>", r" \1 ", text)  # Slack: <url|label>
    for _ in range(2):
        text = html.unescape(re.sub(r"<[^<>]*>", " ", text))
    text = re.sub(r'"[\w$@-]+"\s*:|"[a-z][a-z0-9_.-]*"', " ", text)
    text = re.sub(r"https?://\S+|[\w./-]+\.(?:html|xml|json|ics|svg)\b|^PRODID:.*$", " ", text, flags=re.MULTILINE)
    return "\n".join([text, *labels])


def test_no_word_is_asked_for_inside_an_f_string() -> None:
    # Babel's extraction reads an f-string as one string token: a gettext call inside one never reaches the
    # catalogue, and every language shows its English msgid (the incident page's "Next update by" did).
    tool = _tool()
    hidden = []
    for folder in tool.SOURCES:
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(parse_file(path)):
                if isinstance(node, ast.JoinedStr):
                    hidden += [f"{path.relative_to(ROOT)}:{call.lineno}" for call in ast.walk(node)
                               if isinstance(call, ast.Call) and _called(call) in ("gettext", "pgettext", "ngettext", "_")]
    assert not hidden, hidden


def _called(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")

"""An attacker's suite: hypothesis over every input of post, resolve, preview, templates, maintenance, amend.

Every field gets text drawn from every corner (control and format characters,
confusables, real markers in upper case and with spaces, marker lookalikes) with
unique private tokens in every private place: inside real ``[private]`` spans
of messages and titles, in ``--private``, ``--ticket``, in
template values, and wrapped in marker lookalikes (which must be refused, or
the token would be public). For each example, through the real CLI against the
fakes, exactly one of:

* exit 2, with the store as it was, no request at any fake and no site built;
* no private token anywhere public: every file of the built site (and its
  name), every request X received, every request to the public Telegram chat.

An exit of 1 (an unexpected error) fails too. About a third of the examples
are accepted (``--hypothesis-show-statistics`` counts the exits per command).

Profiles (``BROADCASTER_FUZZ``): ``quick`` (default; 50 examples, the same ones
every run, about 15 seconds, in the normal suite) and ``long`` (2,000 random
examples: ``BROADCASTER_FUZZ=long pytest tests/test_fuzz_input.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import BASE_CONFIG, ENGINE, Project
from tests.fakes.world import FakeWorld
from tests.input_helpers import STATE, leaks, requests, site_files, stored

settings.register_profile("quick", max_examples=50, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=2_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = settings.get_profile(os.environ.get("BROADCASTER_FUZZ", "quick"))
# One hypothesis test is one pytest test: the long profile runs for hours, not the suite's 120 s.
LIMIT = pytest.mark.timeout(0 if os.environ.get("BROADCASTER_FUZZ") == "long" else 120)

TEMPLATE = """
[templates.outage]
title = "Checkout down in {region}"
message = "Checkout is failing in {region}. [private]For {cust}[/private]"
private = "Escalated by {who}"
"""

# -- what the attacker types -------------------------------------------------------------------

CONFUSABLES = "рраеіοѕ" "ｐｒｉｖａｔｅ［］＜＞" "ᴘʀɪᴠᴀᴛᴇ" "〔〕⟨⟩«»‹›" "ıντ" "𝐩𝐫𝐢𝐯𝐚𝐭𝐞"
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u202a\u202e\u2066\u2069\ufeff\u2060"
CONTROLS = "\x00\x07\x08\x1b\x7f\x85\r"

hostile_characters = st.one_of(
    st.characters(codec="utf-8", exclude_categories=["Cs"]),  # every category, Cc and Cf included
    st.sampled_from(CONFUSABLES + INVISIBLE + CONTROLS + "[]/<>(){}&#;\\*_`~!"),
)
# Text a field may well pass with: confusable letters and brackets, but nothing invisible.
plain_characters = st.one_of(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")),
    st.sampled_from(CONFUSABLES + "[]/<>(){}&#;\\*_`~! "),
)
REAL_OPEN = ["[private]", "[PRIVATE]", "[ private ]", "[Private]", "[\tprivate ]"]
REAL_CLOSE = ["[/private]", "[/PRIVATE]", "[ / private ]", "[/ Private]"]


def typo(word: str, edits: int, draw: st.DrawFn) -> str:
    """``word`` with ``edits`` single-letter deletions, substitutions, insertions or transpositions."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(edits):
        at = draw(st.integers(0, max(len(word) - 2, 0)))
        kind = draw(st.sampled_from(["delete", "substitute", "insert", "transpose"]))
        letter = draw(st.sampled_from(letters))
        word = {
            "delete": word[:at] + word[at + 1 :],
            "substitute": word[:at] + letter + word[at + 1 :],
            "insert": word[:at] + letter + word[at:],
            "transpose": word[:at] + word[at + 1 : at + 2] + word[at : at + 1] + word[at + 2 :],
        }[kind]
    return word


@st.composite
def lookalike_pair(draw: st.DrawFn) -> tuple[str, str]:
    """An opening and closing "marker" that is not one: refused by the gate, or its content goes public."""
    square = [("［", "］"), ("<", ">"), ("＜", "＞"), ("&#91;", "&#93;"), ("&lsqb;", "&rsqb;"), ("〔", "〕"), ("⟨", "⟩"),
              ("«", "»"), ("[", "]")]
    kind = draw(st.sampled_from(["bracket", "word", "typo", "invisible", "round", "split"]))
    if kind == "round":  # in round or curly brackets only the word itself or one edit counts as a marker
        word = typo("private", draw(st.integers(0, 1)), draw)
        left, right = draw(st.sampled_from([("(", ")"), ("{", "}")]))
    else:
        left, right = draw(st.sampled_from(square))
        word = "private"
        if kind == "word" or left == "[":
            word = "".join(draw(st.sampled_from([c, *_confusable_of(c)])) for c in "private")
        if kind == "typo" or (left == "[" and word == "private"):
            word = typo(word, draw(st.integers(1, 2)), draw)
        if kind == "invisible":
            at = draw(st.integers(1, 6))
            word = word[:at] + draw(st.sampled_from(INVISIBLE)) + word[at:]
        if kind == "split":  # the word broken by spaces or line breaks, as an editor or stdin may
            at = draw(st.integers(1, 6))
            word = word[:at] + draw(st.sampled_from([" ", "\n", "\n\n", "-\n", "\t", "\n "])) + word[at:]
    if left == "[" and word.lower().strip() == "private":
        word = "privte"  # that would be a real marker
    return f"{left}{word}{right}", f"{left}/{word}{right}"


def _confusable_of(char: str) -> list[str]:
    return {"p": ["р", "ｐ", "ᴘ", "𝐩"], "r": ["ʀ", "ｒ", "𝐫"], "i": ["і", "ı", "ɪ", "ｉ"], "v": ["ν", "ᴠ", "ｖ"],
            "a": ["а", "ᴀ", "ａ"], "t": ["τ", "ᴛ", "ｔ"], "e": ["е", "ᴇ", "ｅ"]}.get(char, [])


@dataclass
class Secrets:
    values: list[str] = field(default_factory=list)

    def new(self) -> str:
        value = "PRIV" + uuid.uuid4().hex[:10].upper()
        self.values.append(value)
        return value


@st.composite
def text_field(draw: st.DrawFn, secrets: Secrets, *, spans: bool, max_pieces: int = 5) -> str:
    """Public filler, real private spans (if the field takes them) and lookalike-wrapped secrets."""
    pieces = []
    characters = hostile_characters if draw(st.integers(0, 3)) == 0 else plain_characters
    for _ in range(draw(st.integers(1, max_pieces))):
        choice = draw(st.sampled_from(["filler", "filler", "filler", "span", "span", "word", "lookalike"]))
        if choice == "span" and spans:
            pieces.append(f"{draw(st.sampled_from(REAL_OPEN))}{secrets.new()}{draw(st.sampled_from(REAL_CLOSE))}")
        elif choice == "lookalike":
            left, right = draw(lookalike_pair())
            pieces.append(f"{left}{secrets.new()}{right}")
        elif choice == "word":
            pieces.append(draw(st.sampled_from(["private", "Private network", "(privacy)", "[link](https://x.example)",
                                                "&amp;", "R&D", "**bold**", "<b>x</b>", "👩\u200d💻"])))
        else:
            pieces.append(draw(st.text(characters, min_size=1, max_size=12)))
    return " ".join(pieces)


@st.composite
def private_field(draw: st.DrawFn, secrets: Secrets) -> str:
    """A wholly private value (--private, --ticket, a private template value)."""
    value = secrets.new()
    if draw(st.integers(0, 3)) == 0:
        value = f"{draw(st.text(hostile_characters, max_size=6))}{value}{draw(st.sampled_from(['', *REAL_CLOSE, *REAL_OPEN]))}"
    return value


def when(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["30m", "2h", "15:30", "999999999h", "99999d", "2001-01-01T00:00Z", "9999-12-31T23:30:00Z",
                                 "0001-01-01T00:00", "tomorrow", (datetime.now(UTC) + timedelta(days=1)).isoformat()]))


@st.composite
def command(draw: st.DrawFn) -> tuple[list[str], Secrets, str | None]:
    """One command line (and a template to configure, or None), with the secrets it carries."""
    secrets = Secrets()
    kind = draw(st.sampled_from(["post", "update", "resolve", "preview", "template", "maintenance", "amend"]))
    args: list[str] = []
    if kind in ("post", "preview"):
        args = [kind, "--title", draw(text_field(secrets, spans=True, max_pieces=3))]
    elif kind == "update":
        args = ["post", "-i", "base", *(["--title", draw(text_field(secrets, spans=True, max_pieces=3))] if draw(st.booleans()) else [])]
    elif kind == "resolve":
        args = ["resolve", "base"]
    elif kind == "amend":
        args = ["amend", "base", "1"]
    elif kind == "maintenance":
        start = draw(st.sampled_from(["2h", "15:30", "2001-01-01T00:00Z", (datetime.now(UTC) + timedelta(hours=1)).isoformat()]))
        args = ["maintenance", "schedule", "--title", draw(text_field(secrets, spans=True, max_pieces=3)),
                "--start", start, "--end", draw(st.sampled_from(["1h", "30m", "9999d"])), "-C", "db"]
    template = None
    if kind == "template":
        template = TEMPLATE.replace("Checkout is failing", draw(text_field(secrets, spans=True, max_pieces=2)).replace('"', "'")
                                    .replace("\\", "/"))
        args = ["post", "--template", "outage", "--set", f"region={draw(text_field(secrets, spans=False, max_pieces=2))}",
                "--set", f"cust={draw(private_field(secrets))}", "--set", f"who={draw(private_field(secrets))}"]
    if kind not in ("template", "resolve") or draw(st.booleans()):
        args.append(draw(text_field(secrets, spans=True)))
    if kind not in ("amend",):
        for option in draw(st.lists(st.sampled_from(["--ticket"]), max_size=3)):
            args += [option, draw(private_field(secrets))]
    if draw(st.booleans()):
        args += ["--private", draw(private_field(secrets))]
    if kind in ("post", "update", "preview", "template") and draw(st.booleans()):
        args += [draw(st.sampled_from(["--etr", "--next-update"])), when(draw)]
    if kind != "preview":
        args.append("--yes")
    return args, secrets, template


# -- running one example --------------------------------------------------------------------------


@dataclass
class Base:
    """A store with one open incident (``base``, update #1 sent everywhere), copied into each example."""

    folder: Path
    world: FakeWorld


@pytest.fixture(scope="module")
def base() -> Iterator[Base]:
    with FakeWorld(enforce_limits=False) as world, tempfile.TemporaryDirectory() as folder:
        project = Project(Path(folder), env=dict(world.env))
        project.write_config(ENGINE + world.channels_toml())
        result = project.cli("post", "--yes", "--title", "Base", "-C", "api", "Investigating.")
        assert result.exit_code == 0, result.stderr
        (incident_id,) = [r["incident"]["id"] for r in stored(project)]
        store = Path(folder) / STATE
        _rename(store, incident_id, "base")
        yield Base(Path(folder), world)


def _rename(store: Path, old: str, new: str) -> None:
    import sqlite3

    db = sqlite3.connect(store)
    with db:
        db.execute("PRAGMA foreign_keys = OFF")
        for table in ("incidents",):
            db.execute(f"UPDATE {table} SET id=? WHERE id=?", (new, old))
        for table in ("updates", "deliveries"):
            db.execute(f"UPDATE {table} SET incident_id=? WHERE incident_id=?", (new, old))
    db.close()


def run(base: Base, args: list[str], template: str | None) -> tuple[Any, Project, list[Any], int]:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    shutil.copytree(base.folder / STATE.parent, folder / STATE.parent)
    project = Project(folder, env=dict(base.world.env))
    project.write_config(ENGINE + base.world.channels_toml() + (template or ""), base=BASE_CONFIG)
    before, sent_before = stored(project), len(requests(base.world))
    return project.cli(*args), project, before, sent_before


def check(base: Base, args: list[str], secrets: Secrets, template: str | None) -> None:
    result, project, before, sent_before = run(base, args, template)
    event(f"{args[0]} exit {result.exit_code}")  # --hypothesis-show-statistics: how many were accepted
    try:
        assert result.exit_code != 1, f"unexpected error for {args!r}: {result.stderr}"
        if result.exit_code == 2:
            assert stored(project) == before, f"refused but stored: {args!r}"
            assert len(requests(base.world)) == sent_before, f"refused but sent: {args!r}"
            assert site_files(project) == {}, f"refused but built the site: {args!r}"
            return
        new = _Since(base.world, sent_before)
        found = leaks(project, new, secrets.values)  # type: ignore[arg-type]
        assert not found, f"{args!r} (exit {result.exit_code}) leaked {found}"
    finally:
        shutil.rmtree(project.root, ignore_errors=True)


class _Since:
    """The fakes, showing only the requests made since ``start``: an example is judged by its own."""

    def __init__(self, world: FakeWorld, start: int) -> None:
        everything = requests(world)
        fresh = {id(r) for r in everything[start:]}
        self.x = _Only(world.x.requests, fresh)
        self.telegram = _Only(world.telegram.requests, fresh)
        self.slack = _Only(world.slack.requests, fresh)


@dataclass
class _Only:
    all: list[Any]
    fresh: set[int]

    @property
    def requests(self) -> list[Any]:
        return [r for r in self.all if id(r) in self.fresh]


@LIMIT
@settings(PROFILE)
@given(command())
def test_every_input_is_refused_cleanly_or_publishes_no_private_value(base: Base, case: tuple[list[str], Secrets, str | None]) -> None:
    args, secrets, template = case
    check(base, args, secrets, template)


@st.composite
def lookalike_in_one_field(draw: st.DrawFn) -> tuple[list[str], Secrets, str | None]:
    """An otherwise clean command with one lookalike-wrapped secret: only the lookalike check stands in its way."""
    secrets = Secrets()
    left, right = draw(lookalike_pair())
    hidden = f"{draw(st.text(plain_characters, max_size=8))} {left}{secrets.new()}{right} {draw(st.text(plain_characters, max_size=8))}"
    where = draw(st.sampled_from(["message", "title", "update-title", "amend", "maintenance-title", "template"]))
    template = None
    args = {
        "message": ["post", "--title", "Checkout", hidden],
        "title": ["post", "--title", hidden, "Checkout is failing."],
        "update-title": ["post", "-i", "base", "--title", hidden, "Still failing."],
        "amend": ["amend", "base", "1", hidden],
        "maintenance-title": ["maintenance", "schedule", "--title", hidden, "--start", "2h", "--end", "1h", "-C", "db"],
        "template": ["post", "--template", "outage", "--set", "region=eu", "--set", "cust=A", "--set", "who=B"],
    }[where]
    if where == "template":
        template = TEMPLATE.replace("Checkout is failing", hidden.replace('"', "'").replace("\\", "/"))
    return [*args, "--yes"], secrets, template


@LIMIT
@settings(PROFILE)
@given(lookalike_in_one_field())
def test_a_lookalike_marker_in_any_field_is_refused_or_keeps_nothing_public(
    base: Base, case: tuple[list[str], Secrets, str | None]
) -> None:
    args, secrets, template = case
    check(base, args, secrets, template)


@pytest.mark.parametrize(("args", "template"), [
    (["post", "--yes", "--title", "T [PRIVATE]{s}[/PRIVATE]", "Down [ private ]{s}[ / private ]."], None),
    (["post", "--yes", "--template", "outage", "--set", "region=eu", "--set", "cust={s}", "--set", "who={s}"], TEMPLATE),
    (["amend", "base", "1", "--yes", "Corrected [private]{s}[/private].", "--private", "{s}"], None),
], ids=["markers-everywhere", "template", "amend"])
def test_the_property_holds_on_accepted_input_too(base: Base, args: list[str], template: str | None) -> None:
    """The fuzz property must also pass on inputs known to be accepted, or it might only ever see refusals."""
    secrets = Secrets()
    filled = [a.replace("{s}", secrets.new()) if "{s}" in a else a for a in args]
    result, project, _, sent_before = run(base, filled, template)
    assert result.exit_code == 0, result.stderr
    assert len(requests(base.world)) > sent_before
    assert not leaks(project, _Since(base.world, sent_before), secrets.values)  # type: ignore[arg-type]
    shutil.rmtree(project.root, ignore_errors=True)

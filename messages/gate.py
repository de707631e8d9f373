"""The input gate: every text an operator or a file supplies passes here before it is stored.

One step, ``admit(text, field, rule)``, fail-closed:

* Unicode NFC, ``\\r\\n`` as ``\\n``; control characters other than newline and
  tab, format characters (zero-width spaces, soft hyphens, bidi overrides) and
  unassigned code points are refused, naming the field and the position.
* A size limit per kind of field (``LIMITS``), named with the size in the error.
* Private markers: a field that may hold ``[private]...[/private]`` and
  ``[for ID]...[/for]`` spans (a message, a title) must have them well formed
  (``split``); any other field (``--private``, ``--for``, a customer, a template
  value) may hold none at all. Whether ID names a configured audience is the
  caller's check (``span_audiences`` gives the ids).
* Marker *lookalikes* are refused as malformed markers: what reads as a marker
  once HTML entities are decoded, compatibility forms folded (NFKC), format
  characters dropped, case folded and each character mapped to its Unicode
  TR 39 confusable skeleton (ICU's ``SpoofChecker``), but is not one:
  ``［private］``, ``[рrivate]`` with a Cyrillic ``р``, ``&#91;private&#93;``,
  ``<private>``, and typos of the word within brackets (``[privte]``).

``comparable(text)`` is the form in which texts are *compared*, never shown:
the egress guard looks for one text inside another after folding
compatibility forms, dropping format characters and ignoring case.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from broadcaster import lazy_re
from broadcaster.errors import InputError

_ALLOWED_CONTROLS = frozenset("\n\t")
_UNNAMED = {"Cs": "a lone surrogate", "Co": "a private-use character", "Cn": "a code point not assigned in Unicode "
            + unicodedata.unidata_version}
_ZWJ = "\u200d"
# Unicode's Default_Ignorable_Code_Point characters that are not of a category refused anyway (Cf, Cn): shown
# as nothing, they split a word ("Ac\u034fme") for every comparison while readers see it whole. The combining
# grapheme joiner, the Hangul fillers, Khmer's inherent vowels, Mongolian's free variation selectors and the
# variation selectors. tests/test_gate.py checks the list against ICU's property.
IGNORABLE_MARKS = frozenset(
    chr(c) for first, last in ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180D),
                               (0x180F, 0x180F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
                               (0xE0100, 0xE01EF))
    for c in range(first, last + 1)
)
_EMOJI_STYLE = frozenset("\ufe0e\ufe0f")  # text and emoji presentation: "❤️" is U+2764 U+FE0F
# The one letter that is also an emoji ("ℹ️"); the digits are too, as keycaps. tests/test_gate.py asks ICU.
EMOJI_LETTERS = frozenset("\u2139")
_KEYCAP = "\u20e3"

# A real marker, as the operator writes it: case and spaces inside the brackets are free.
# ``[private]...[/private]`` holds internal detail; ``[for ID]...[/for]`` detail for one
# audience (ID as ``[audiences.ID]`` spells it). Group 3 (an id) is refused where it does not belong.
MARKER = lazy_re.compile(r"\[\s*(/?)\s*(private|for)(?:\s+([A-Za-z0-9][A-Za-z0-9_.-]*))?\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """What a field may hold: its size limit and whether it may carry private markers."""

    kind: str
    max_chars: int
    markers: bool = False
    one_line: bool = False
    max_bytes: int | None = None  # for long texts measured as files are (UTF-8)
    # No markers, but a customer reads it: an instruction in round brackets ("(internal only) root cause: ...") was
    # meant to keep what follows from that reader, as in a message (``lookalike``'s ``mixed``).
    read_by_audience: bool = False


MESSAGE = Rule("message", 5_000, markers=True)
TITLE = Rule("title", 200, markers=True, one_line=True)
PRIVATE = Rule("private detail", 5_000)  # staff only: "Ticket OPS-77 (staff only)" hides nothing from its readers
AUDIENCE_DETAIL = Rule("audience detail", 5_000, read_by_audience=True)  # --for, a template's for, audience_detail
NAME = Rule("name", 200, one_line=True)  # a customer, a ticket reference
TEMPLATE_VALUE = Rule("template value", 1_000)
POSTMORTEM = Rule("postmortem", 204_800, markers=True, max_bytes=204_800)
LIMITS = (MESSAGE, TITLE, PRIVATE, AUDIENCE_DETAIL, NAME, TEMPLATE_VALUE, POSTMORTEM)
MAX_NAMES = 100  # customers or tickets on one update
# What breaks a one-line field's line somewhere it is shown: a tab, and every line or paragraph separator
# (U+2028 and U+2029 start a new line in a chat or a mail client as "\n" does).
_ONE_LINE_BREAKS = frozenset("\n\t\u2028\u2029")


def admit(text: str, field: str, rule: Rule) -> str:
    """The text as it may be stored: normalised, within its limit, markers well formed."""
    text = normalise(text, field)
    check_size(text, field, rule)
    breaks = [i for i, c in enumerate(text) if c in _ONE_LINE_BREAKS] if rule.one_line else []
    if breaks:
        where = breaks[0]
        raise InputError(
            f"{field} must be one line; it has a line break or tab at character {where + 1}. "
            "Nothing was stored or sent."
        )
    if rule.markers:
        split(text, field)
    else:
        refuse_markers(text, field, mixed=rule.read_by_audience)
    return text


def normalise(text: str, field: str) -> str:
    """``text`` in NFC, with ``\\r\\n`` as ``\\n``; refuse control and format characters."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    for index in hidden_at(text):
        char = text[index]
        name = unicodedata.name(char, _UNNAMED.get(unicodedata.category(char), "a control character"))
        raise InputError(
            f"{field} holds an invisible or control character ({name}, U+{ord(char):04X}) at "
            f"character {index + 1}. Remove it (it often comes from copying out of a chat or a "
            "terminal); nothing was stored or sent."
        )
    return text


def with_hidden_escaped(text: str, also: str = "") -> str:
    """``text`` with each character ``normalise`` refuses, and each of ``also``, written as its escape ("\\ue000"):
    a server's text kept where only what the gate admits is taken back (``store import``)."""
    hidden = {*hidden_at(text), *(i for i, char in enumerate(text) if char in also)}
    return "".join(_escape(char) if i in hidden else char for i, char in enumerate(text)) if hidden else text


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def hidden_at(text: str) -> Iterator[int]:
    """Where ``text`` holds a control or format character ``normalise`` refuses (a line end and a tab excepted)."""
    for index, char in enumerate(text):
        if char in _ALLOWED_CONTROLS or _joins_emoji(text, index):
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn") or (char in IGNORABLE_MARKS and not _selects_a_variant(text, index)):
            yield index


def _joins_emoji(text: str, index: int) -> bool:
    """A zero-width joiner between two pictographs (👩‍💻) is part of one emoji, not a hidden character."""
    if text[index] != _ZWJ or index == 0 or index + 1 >= len(text):
        return False
    before, after = text[index - 1], text[index + 1]
    return _pictograph(before) and _pictograph(after)


def _selects_a_variant(text: str, index: int) -> bool:
    """A variation selector where it picks how the character before it is drawn: an emoji's presentation
    ("❤️", "1️⃣") or an ideograph's form (Japanese names); never after a letter or digit of a word."""
    char, before = text[index], text[index - 1] if index else ""
    if not before or not ("\ufe00" <= char <= "\ufe0f" or char >= "\U000e0100"):
        return False
    if char in _EMOJI_STYLE and before in "0123456789#*":
        return text[index + 1 : index + 2] == _KEYCAP
    if unicodedata.name(before, "").startswith("CJK "):
        return True
    return char in _EMOJI_STYLE and (unicodedata.category(before)[0] not in "LNM" or before in EMOJI_LETTERS)


def _pictograph(char: str) -> bool:
    """A pictograph, its emoji selector, or a skin tone modifier (the ZWJ in 👩🏽‍💻 follows one)."""
    return char == "\ufe0f" or "\U0001f3fb" <= char <= "\U0001f3ff" or unicodedata.category(char) == "So"


def check_size(text: str, field: str, rule: Rule) -> None:
    """Refuse a text over its limit, naming the size and the limit."""
    if rule.max_bytes is not None:
        size = len(text.encode("utf-8"))
        if size > rule.max_bytes:
            raise InputError(
                f"{field} is {size:,} bytes; a {rule.kind} may be at most {rule.max_bytes:,} bytes "
                f"({rule.max_bytes // 1024} KB). Shorten it or link to the full text; nothing was stored or sent."
            )
        return
    if len(text) > rule.max_chars:
        raise InputError(
            f"{field} is {len(text):,} characters; a {rule.kind} may be at most {rule.max_chars:,}. "
            "Shorten it; nothing was stored or sent."
        )


def check_count(values: Sequence[object], option: str) -> None:
    if len(values) > MAX_NAMES:
        raise InputError(f"{option} is given {len(values)} times; at most {MAX_NAMES}. Nothing was stored or sent.")


# -- markers ------------------------------------------------------------------------


def split(text: str, field: str) -> tuple[tuple[str, bool], ...]:
    """``text`` cut at its markers into ``(piece, private)``; InputError if a marker is malformed.

    Unclosed, stray and nested markers are refused (``parse``), and so is
    anything between the markers that looks like a marker (``lookalike``), and
    a public or full text that would itself read as a marker once the markers
    are taken out.
    """
    pieces = parse(text, field)
    position = 0
    for match in MARKER.finditer(text):
        _refuse_lookalike(text, position, match.start(), field)
        position = match.end()
    _refuse_lookalike(text, position, len(text), field)
    public = "".join(p for p, private in pieces if not private)
    for joined, which in ((public, "public"), ("".join(p for p, _ in pieces), "full")):
        found = find_marker(joined, mixed=True)
        if found is not None:
            raise InputError(
                f"{field}: with the private markers taken out, its {which} text reads {found[1]!r}, "
                "which looks like a private marker. Reword it; nothing was stored or sent."
            )
    return pieces


# Half a marker in plain ASCII ("[private", "private]", "[for"): cheap enough to check on every read.
_HALF_ASCII = lazy_re.compile(r"\[\s*/?\s*(?:private|for)\b|\bprivate\s*\]", re.IGNORECASE)


def parse(text: str, field: str) -> tuple[tuple[str, bool], ...]:
    """The structure of stored text: ``(piece, private)``, where audience spans count as private.

    Every reader that knows only public and private (the public text, the guard)
    so treats ``[for ID]`` detail as private: it fails closed.
    """
    return tuple((piece, private) for piece, private, _ in parse_scoped(text, field))


@lru_cache(maxsize=4096)
def parse_scoped(text: str, field: str) -> tuple[tuple[str, bool, str], ...]:
    """``(piece, private, audience)`` between real markers; unclosed, stray, nested, mismatched refused.

    ``audience`` is the id of a ``[for ID]`` span ("" elsewhere). The lookalike
    checks run once, when a text is admitted (``split``); the views re-read
    stored texts on every build and need only this.
    """
    pieces: list[tuple[str, bool, str]] = []
    opened: str | None = None  # "private", "for ID", or None outside a span
    position = 0
    for match in MARKER.finditer(text):
        _refuse_half(text, position, match.start(), field)
        scope = _marker_scope(match, text, field)
        _check_nesting(text, match.start(), field, scope=scope, opened=opened)
        if match.start() > position:
            pieces.append(_piece(text[position : match.start()], opened))
        opened, position = (None if scope.startswith("/") else scope), match.end()
    if opened is not None:
        closer = "[/private]" if opened == "private" else "[/for]"
        raise InputError(
            f"{field} has a [{opened}] marker that is never closed. Close it with {closer}; "
            "nothing was stored or sent."
        )
    _refuse_half(text, position, len(text), field)
    if position < len(text):
        pieces.append((text[position:], False, ""))
    return tuple(pieces)


def _piece(text: str, opened: str | None) -> tuple[str, bool, str]:
    if opened is None:
        return text, False, ""
    return text, True, opened.removeprefix("for ") if opened.startswith("for ") else ""


def _marker_scope(match: re.Match[str], text: str, field: str) -> str:
    """``private``, ``for ID``, ``/private`` or ``/for``; a malformed marker is refused."""
    closing, word, audience = match.group(1), match.group(2).lower(), match.group(3)
    line = text.count("\n", 0, match.start()) + 1
    if word == "for" and not closing and not audience:
        raise InputError(
            f"Line {line} of {field} has {match.group(0)!r} with no audience: write [for ID]...[/for] "
            "with ID as in [audiences.ID]. Nothing was stored or sent."
        )
    if audience and (closing or word == "private"):
        raise InputError(
            f"Line {line} of {field} has {match.group(0)!r}: only [for ID] names an audience; close with "
            f"[/{word}] and write [private] alone. Nothing was stored or sent."
        )
    return f"/{word}" if closing else (f"for {audience}" if word == "for" else "private")


def audience_ids(text: str, field: str) -> tuple[str, ...]:
    """The audience ids the ``[for ID]`` spans of a stored text name, in order, each once."""
    return tuple(dict.fromkeys(a for _, private, a in parse_scoped(text, field) if a))


def _refuse_half(text: str, start: int, end: int, field: str) -> None:
    found = _HALF_ASCII.search(text, start, end)
    if found:
        raise InputError(
            f"{field} contains {found.group(0)!r}, which looks like a private marker or an audience marker but is "
            "not one. Write [private]...[/private] or [for ID]...[/for] exactly; nothing was stored or sent."
        )


def _check_nesting(text: str, offset: int, field: str, *, scope: str, opened: str | None) -> None:
    line = text.count("\n", 0, offset) + 1
    word = scope.removeprefix("/").split(" ")[0]
    if scope.startswith("/") and opened is None:
        raise InputError(
            f"Line {line} of {field} has a [{scope}] with no [{word}] before it.{_meant_opener(text, offset, word)} "
            "Fix or remove the marker; nothing was stored or sent."
        )
    if scope.startswith("/") and opened is not None and opened.split(" ")[0] != word:
        raise InputError(
            f"Line {line} of {field} closes [{opened}] with [{scope}]. Close a [private] span with "
            "[/private] and a [for ID] span with [/for]; nothing was stored or sent."
        )
    if not scope.startswith("/") and opened is not None:
        raise InputError(
            f"Line {line} of {field} opens [{scope}] inside a [{opened}] span. "
            "Private and audience spans cannot be nested; nothing was stored or sent."
        )


# A short bracketed run: what a mistyped opener looks like ("[fro acme]", "[privte]").
_SHORT_BRACKETED = lazy_re.compile(r"\[[^\[\]\n]{1,60}\]")


def _meant_opener(text: str, offset: int, word: str) -> str:
    """ " Is '[fro acme]' meant to open it? ...": the last bracketed run before a stray closer that is not a
    marker, which the operator most likely mistyped as its opener; "" if there is none."""
    found = [m for m in _SHORT_BRACKETED.finditer(text, 0, offset) if not MARKER.fullmatch(m.group(0))]
    if not found:
        return ""
    opener = "[for ID]" if word == "for" else "[private]"
    return f" Is {found[-1].group(0)!r} meant to open it? Write {opener} exactly."


def _refuse_lookalike(text: str, start: int, end: int, field: str) -> None:
    found = lookalike(text[start:end], mixed=True)
    if found is not None:
        offset, snippet = found
        raise InputError(
            f"{field} holds {snippet!r} at character {start + offset + 1}, which looks like a private marker "
            "or an audience marker but is not one. Write [private]...[/private] or [for ID]...[/for] exactly (ASCII "
            f"square brackets), or reword it;{_marker_words_hint(snippet)} nothing was stored or sent."
        )


def _marker_words_hint(snippet: str) -> str:
    """Why a bracketed phrase of prose was refused, when its words did it ("[see the internal runbook]")."""
    folded, where = fold(snippet)
    rendered = _rendered(folded, [snippet[i] for i in where])
    if _round_instructions(rendered.text):
        return (" an instruction such as '(internal only)', '(confidential)', '(staff only)', '(do not share ...)' or "
                "'(TLP:AMBER)' reads as a marker even in round brackets, wherever it stands in them; if it is prose, "
                "reword it without brackets ('the staff-only help desk portal'), or put detail for staff in --private;")
    if not any(_restricting_run(m) for m in _WORD_OPENER.finditer(rendered.text)):
        return ""
    return (" a word such as 'internal', 'vertraulich', 'staff only' or 'not public' in square brackets reads as a "
            "marker by design, even among other words; if it is prose, use round brackets or none;")


def refuse_markers(text: str, field: str, *, mixed: bool = False) -> None:
    """For fields that may hold no marker: every value there is private (or public) as a whole. ``mixed``: as
    ``lookalike`` (a customer's detail, which that customer reads)."""
    found = find_marker(text, mixed=mixed)
    if found is not None:
        offset, snippet = found
        hint = (_marker_words_hint(snippet) + " its customer reads all of it: put detail for staff in --private;"
                if mixed else "")
        raise InputError(
            f"{field} holds {snippet!r} at character {offset + 1}, a private marker or something that looks "
            f"like one. {field} takes no markers: remove it;{hint} nothing was stored or sent."
        )


def find_marker(text: str, *, mixed: bool = False) -> tuple[int, str] | None:
    """The first real marker or lookalike in ``text``: (offset, the text as written), or None. ``mixed``: as
    ``lookalike``."""
    real = MARKER.search(text)
    fake = lookalike(text, mixed=mixed)
    if real is not None and (fake is None or real.start() <= fake[0]):
        return real.start(), real.group(0)
    return fake


# Brackets are compared after folding, where every opening punctuation (Ps) and
# angle bracket or guillemet reads as "[" and every closing one as "]", but round
# and curly brackets as "(" and ")": they are common in prose, so only a
# near-exact word inside them counts, and half a marker needs square-like ones.
_WORD = "private"
_NEAR_SQUARE, _NEAR_ROUND = 2, 1  # edit distance of the bracketed word from "private"
# A line break inside the brackets does not make a marker word harmless ("[pri\nvate]" reads
# as one once a renderer joins the lines), so the content may span lines.
_BRACKETED = lazy_re.compile(r"([\[(])([^\[\]()]{1,40})([\])])")
_HALF = lazy_re.compile(rf"\[\s*/?\s*(?:{_WORD}|for)(?![a-z])|(?<![a-z]){_WORD}\s*\]")
# A closing tag that is not a marker but reads as one: a marker's word or one slip from it ("[/fro]",
# "[/internal]", "(/for)", "{/private}"; curly brackets fold to round), or a customer's id ("[/globex]",
# ``mistyped_audience_marker``). A span opened and closed that way would publish its detail to everyone. Other
# words are prose or markup quoted ("[/bold]", "(/v1/users)").
_CLOSER = lazy_re.compile(r"[\[(]\s*/\s*([^\[\]()/]{1,24})[\])]")
# Words an operator may take for a marker ("[internal]", "[staff only]", "[customer globex]"): opening a square
# bracket, they are refused; published as prose, what follows would reach everyone.
_MARKER_WORDS = ("internal", "staff", "secret", "confidential", "hidden", "customer", "audience", "private", "for",
                 "priv", "prv", "pvt", "intern")
# Words that hold a text back from the public wherever they stand in a short bracketed run ("[ops internal]",
# "[only internal]"), in English and in the languages pages ship in, German and Swedish ("[nur intern]",
# "[endast internt]", "[vertraulich]", "[hemlig]"), with their inflected forms. Not "for", "customer" or "staff":
# "[wait for it]" and "[2 customers affected]" are prose; they count as the first word only (``_MARKER_WORDS``).
_RESTRICTING_WORDS = (
    "internal", "secret", "confidential", "private",
    "intern", "interne", "internen", "interner", "internes", "vertraulich", "vertrauliche", "vertraulichen",
    "vertraulicher", "vertrauliches", "geheim", "geheime", "geheimen", "geheimer", "geheimes",
    "internt", "interna", "hemlig", "hemligt", "hemliga", "konfidentiell", "konfidentiellt", "konfidentiella",
    "sekretess", "sekretessbelagd", "sekretessbelagt",
)
# A restricting word that names a technical thing, not a reader: "[HTTP 500 Internal Server Error]", "[Fehler 500:
# Interner Serverfehler]" (as the first word it still counts: "[Internal Server Error]" reads as "[internal]").
_TECHNICAL_AFTER = ("server", "serverfehler", "serverfel", "error", "errors", "fehler")
# "Not public" and "do not publish or share" in the same languages ("[not public]", "[not for public release]",
# "[nicht veröffentlichen]", "[ej för publicering]", "[do not share]", "[nicht für die Öffentlichkeit]", "[inte för
# allmänheten]"), also as one word ("[nichtöffentlich]"): a negation right before the word or with up to
# ``_MAX_BETWEEN`` small words between (``_BETWEEN``: "[not meant for the general public]", "[not yet public]");
# "[API not affected, public status page up]" is prose.
_NEGATIONS = ("not", "non", "nicht", "kein", "keine", "inte", "ej", "icke", "never", "nie", "dont")
_PUBLIC_WORDS = (
    "public", "publish", "publication", "share", "offentlich", "offentliche", "oeffentlich", "veroffentlichen",
    "veroeffentlichen", "veroffentlichung", "veroeffentlichung", "teilen", "weitergeben", "offentlig", "offentligt",
    "offentliga", "publicera", "publiceras", "publicering", "offentliggora", "offentliggoras", "dela", "delas",
    "spridas", "offentlichkeit", "oeffentlichkeit", "allmanheten", "allmanhet",
)
# Words that also name a version or a mailing: "[do not release]", "[not for release]", "[nicht zur Weitergabe]" are
# labels, "[not a release blocker]" is prose. They count with only ``_WEAK_BETWEEN`` between, no article.
# "[not for external release]", "[nicht zur externen Weitergabe]": who may not read it, between the negation and the
# public word.
_EXTERNAL = ("external", "externally", "extern", "externe", "externen", "externer", "externes", "externt", "externa")
_WEAK_PUBLIC_WORDS = ("release", "distribute", "distribution", "disclose", "disclosure", "forward", "circulate",
                      "circulation", "weiterleiten", "verbreiten", "verbreitung", "weitergabe", "sprida",
                      "vidarebefordra")
_WEAK_BETWEEN = ("for", "to", "be", "yet", "zur", "zum", "zu", "fur", "till", "att", "bli", *_EXTERNAL)
# Participles state a fact about a subject ("[fix not yet published]", "[Patch noch nicht veröffentlicht]" are
# prose); with no subject before the negation ("[not shared]", "[nicht geteilt]") or as "to be" ("[logs not to be
# shared]") they are labels.
_PARTICIPLES = ("shared", "published", "disclosed", "released", "distributed", "forwarded", "geteilt",
                "veroffentlicht", "veroeffentlicht", "weitergegeben", "weitergeleitet", "delad", "delat", "delade",
                "publicerad", "publicerat", "publicerade")
_TO_BE = ("be", "bli", "werden")
_BETWEEN = ("for", "to", "be", "the", "a", "zur", "zum", "zu", "fur", "die", "der", "das", "den", "till", "att", "bli",
            "meant", "intended", "general", "wider", "broader", "broad", "wide", "gedacht", "bestimmt", "allgemeine",
            "allgemeinen", "breite", "breiten", "avsedd", "avsett", "avsedda", "stora", "breda",
            "yet", "made", "goras",  # "[not yet public]", "[not to be made public]", "[inte göras offentlig]"
            *_EXTERNAL)
_MAX_BETWEEN = 4
# "Public" as an adjective or adverb after a negation, followed by a word saying whether something can be reached
# or seen, describes a service, not a reader: "[API nicht öffentlich erreichbar]", "[inte offentligt tillgänglig]"
# are prose, as "[not publicly reachable]" is. Any other word after it leaves the phrase a marker ("[not for public
# release]", "[nicht öffentlich, nur Ops]"): unknown words fail closed. The reach word must follow in the same clause,
# and the rest of the run must hold nothing back on its own ("[not public, visible only to ops]" is a label:
# ``_describes_reach``).
_PUBLIC_ADJECTIVES = ("public", "offentlich", "offentliche", "oeffentlich", "offentlig", "offentligt", "offentliga")
_REACH_WORDS = (
    "reachable", "available", "accessible", "visible", "listed", "routable", "routed", "exposed", "resolvable",
    "erreichbar", "verfugbar", "verfuegbar", "zuganglich", "zugaenglich", "sichtbar", "einsehbar", "aufrufbar",
    "abrufbar", "tillganglig", "tillgangligt", "tillgangliga", "synlig", "synligt", "synliga", "atkomlig",
    "atkomligt", "natbar", "natbart", "nabar", "nabart",
)
# After the reach word, "only" with a route names how it is reached, not who may read it: "[nicht öffentlich
# erreichbar, nur über VPN]" is prose, "[not public visible only to ops]" a label.
_ROUTE_WORDS = ("via", "uber", "ueber", "through", "over", "from", "von", "per", "inside", "within", "behind",
                "innerhalb", "hinter", "genom", "fran", "inom", "bakom", "vpn")
# "Ops" and the other names ops teams go by also head a statement ("[Ops: only the EU region affected]", "[SRE: only
# EU affected]"): they count only with nothing after them but "only", joining words and staff ("[ops only]", "[only
# for ops]", "[ops & SRE only]", "[on-call only]" (``_run_words`` joins "on call"), "[eyes only]").
_TEAM_STAFF_WORDS = ("ops", "sre", "noc", "oncall", "engineering", "team", "eyes")
# "Staff only" in the same languages ("[nur für Mitarbeiter]", "[endast för anställda]", "[employees only]"): a word
# naming staff counts beside a word saying "only", or with up to three of ``_STAFF_ONLY_BETWEEN`` between ("[staff use
# only]"); "[2 customers affected]", "[Mitarbeiter informiert]", "[EU staff portal only affected]" are prose.
# "Personal" is staff in German and Swedish but an English adjective: it counts only as no word's adjective, that is
# with no word after it but an "only" word ("[nur für Personal]", "[personal only]"; "[only personal data exports
# affected]" is prose).
_STAFF_WORDS = ("staff", "employee", "employees", "mitarbeiter", "mitarbeitende", "mitarbeitenden", "belegschaft",
                "personal", "anstallda", "personalen", "medarbetare", "personnel", "dienstgebrauch",
                *_TEAM_STAFF_WORDS)
_ONLY_WORDS = ("only", "just", "solely", "nur", "ausschliesslich", "ausschlieslich", "endast", "bara", "enbart")
_STAFF_ONLY_BETWEEN = ("for", "fur", "the", "die", "der", "den", "das", "use", "eyes", "members", "team", "gebrauch",
                       "bruk", "people", "folks",
                       # other groups named with staff ("[Mitarbeiter und Partner only]", "[employees & contractors
                       # only]"): a customer is no such group ("[staff and customers only]" is no label we know)
                       "and", "und", "och", "or", "oder", "eller", "sowie", "partner", "partners", "partnern",
                       "contractor", "contractors", "vendors", "dienstleister", "konsulter", "leverantorer",
                       "please", "pls", "bitte", "your", "our")
_STAFF_ONLY_REACH = 4  # words on either side of the staff word that may lead to the "only" word
_ADJECTIVE_STAFF_WORD = "personal"
# Classification labels: a bracket holding nothing else ("[restricted]", "[sensitive]", "[under embargo]", "[NDA]",
# "[need to know]", "[embargoed until 14:00 UTC]") marks what follows; in a sentence they describe a thing
# ("[restricted mode enabled on the dashboard]", "[Sensitive data was not affected]").
_LABEL_WORDS = ("restricted", "classified", "sensitive", "embargoed", "embargo", "nda", "know", "sperrfrist",
                "eingeschrankt", "verschlusssache", "sensibel", "begransad", "begransat", "kanslig", "kansligt")
# What a label may carry besides: "only" words, degree, "under"; "until ..." ends it (``_UNTIL``).
_LABEL_MODIFIERS = ("strictly", "highly", "very", "top", "streng", "strikt", "hochst", "mycket", "under", "unter",
                    "need", "to", "basis")
_UNTIL = ("until", "till", "bis", "tills")
_OFF_THE_RECORD = (("off", "the", "record"), ("off", "record"))  # what a journalist may not print
# In round brackets a label also takes the words of "(for internal use only)", "(nur für den internen Gebrauch)".
_LABEL_GLUE = ("use", "for", "fur", "the", "den", "der", "die", "das", "zum", "zur", "gebrauch", "bruk", "purposes")
# An embargo names its time after punctuation too ("[embargoed: 14:00 UTC]", "[Sperrfrist: 14 Uhr]").
_TIMED_LABELS = ("embargo", "embargoed", "sperrfrist")
# Swedish puts the negation after the verb: "[publicera inte]", "[dela inte]", "[publiceras ej]", "[sprid inte]".
_VERBS_BEFORE_NEGATION = ("publicera", "publiceras", "dela", "delas", "sprid", "sprida", "sprids", "spridas",
                          "vidarebefordra", "vidarebefordras", "offentliggor", "offentliggora", "offentliggoras")
_NEGATIONS_AFTER_VERB = ("inte", "ej", "icke")
# A prohibition after the public noun: "[Weitergabe untersagt]", "[Veröffentlichung an Dritte verboten]",
# "[Weitergabe nicht gestattet]", "[distribution prohibited]", "[spridning förbjuden]".
_PROHIBITED_NOUNS = ("weitergabe", "veroffentlichung", "veroeffentlichung", "verbreitung", "weiterleitung",
                     "offenlegung", "publication", "distribution", "redistribution", "disclosure", "sharing",
                     "forwarding", "reproduction", "spridning", "publicering", "vidarebefordran")
_PROHIBITIONS = ("untersagt", "verboten", "unzulassig", "prohibited", "forbidden", "forbjuden", "forbjudet")
_PERMITTED = ("gestattet", "erlaubt", "zulassig", "permitted", "allowed", "tillaten", "tillatet", "tillatna")
_PROHIBITION_BETWEEN = ("an", "dritte", "nach", "aussen", "ausserhalb", "streng", "strengstens", "strictly", "to",
                        "third", "parties", "outside", "is", "ist", "ar", "till", "tredje", "part", "utanfor",
                        *_EXTERNAL)
# What may follow a negated public verb in round brackets or a link's text and leave it an instruction about the
# text itself ("(do not share this)", "(do not publish until 14:00)"); an object makes it advice to the reader
# ("(please do not share it)", "(don't share your 2FA codes)", "(do not publish posts until fixed)").
_OBJECTLESS = ("this", "these", "externally", "publicly", "further", "outside", "with", "to", "beyond", "anywhere",
               "elsewhere", "yet", "until", "before", "please", "pls", "thanks", "bitte", "danke", "an", "nach",
               "ausserhalb", "weiter", "detta", "vidare", "externt", "offentligt", "med", "till", "utanfor", "tack",
               "tills", "fore", "bis", "vor")
_THE_FOLLOWING = ("following", "below", "above", "details", "rest", "contents", "content")
# The Traffic Light Protocol: "[TLP:RED]", "[TLP:AMBER+STRICT]" and "[TLP:GREEN]" restrict sharing, CLEAR (WHITE
# before TLP 2.0) is public. An unknown level fails closed.
_TLP = "tlp"
_TLP_PUBLIC = ("clear", "white")
# An instruction in round brackets may start with these ("(please do not share)", "(bitte nicht veröffentlichen)").
_POLITE = ("do", "please", "pls", "kindly", "bitte", "snalla", "var", "vanlig")
# "[nur für den internen Gebrauch]", "[strictly for internal use only]"; longer bracketed runs are prose. A link's
# text ("[Azure Private Link](https://...)") is drawn as a link, not as a label: only its first word counts, or the
# whole text if it is nothing but an instruction ("[nur intern](mailto:...)": ``_instruction``).
_MAX_RUN_WORDS = 8
# A pair "[X ...]...[/X ...]" is tag syntax marking the text between, whatever X is ("[redacted]", "[ops only]",
# "[to acme]"): published as prose, the span would reach everyone. Only formatting tags of BBCode and HTML
# ("[b]", "<code>") are quoted markup; they hide nothing.
_FORMATTING_TAGS = (
    "a", "b", "i", "u", "s", "em", "strong", "bold", "italic", "underline", "strike", "del", "ins", "mark", "small",
    "big", "sub", "sup", "code", "pre", "kbd", "samp", "tt", "var", "q", "quote", "blockquote", "cite", "abbr",
    "time", "span", "div", "p", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "td", "th", "h1", "h2", "h3",
    "h4", "h5", "h6", "url", "link", "img", "color", "colour", "size", "font", "center", "list", "br", "hr",
    # styles of terminal markup (rich's "[red]...[/red]"), quoted from a tool's output
    "red", "green", "blue", "yellow", "orange", "purple", "magenta", "cyan", "white", "black", "grey", "gray", "dim",
    "reverse", "blink",
)
# Tags as ``_tags`` spells a folded text: square and curly brackets as "[ ]", ASCII angle brackets as "< >".
# A closer is "[/word]", "[/word more]" or "[/word-more]", with a slip of punctuation after it too ("[/ops.]", a full
# stop typed inside the bracket); "[/v2/orders]", "[/payments/]" and "[\\share]" are paths, and "[/]" the root path
# of a log line, no closers. Words joined to a closer's word name the opener's (``_joined_words``).
_TAG_CLOSER = lazy_re.compile(r"[\[<]\s*/\s*([@#]?[^\W_]+)([^\[\]<>/]{0,40})?\s*[\]>]")
# An opener is a word alone or with more ("[ops]", "[ops, eyes only]", "<span class=x>"); a list of values written
# without spaces is a log line's ("[orders,5f1c2a,9be3]": trace ids), not an opener (``_tag_opener``).
_TAG_OPENER = lazy_re.compile(r"[\[<]\s*([@#]?[^\W_]+)([^\[\]<>]{0,200})[\]>]")
# What names a path before a bracketed one: "POST [/api]" is a request line, "path [/orders]" a log line's context,
# and "C.[.[.[/orders]" part of a logger's dotted name.
_PATH_NAMED = lazy_re.compile(
    r"(?:(?<![^\W_])(?:get|head|post|put|patch|delete|options|path|url|uri|route|context)\s*[:=]?\s*|\[\.)$")
# Round brackets inside count as the run's ("[ops (internal)]").
_WORD_OPENER = lazy_re.compile(r"\[\s*([a-z]+)(?![a-z])[^\[\]]{0,64}\]")
# Round (and curly) brackets are prose's, so only an instruction to hide counts in them; but one anywhere in a bracket
# counts wherever the bracket stands (``_round_instructions``): "Root cause (internal only) is CHG-4411", a heading
# "## Timeline (staff only)" and "(don't share it) root cause ..." hide what follows as much as a label heading a
# text does. Where a bracket stands, or what follows it, cannot tell a description from a label, so none is read as
# one (fail closed: the operator rewords, "the staff-only portal"). Up to ``_ROUND_REACH`` characters, cut at the
# first bracket.
_ROUND_REACH = 400
# Inside a round bracket, a restricting or label word beside an "only" word or a degree ("internal only", "nur
# intern", "strictly confidential"), "internally" too; glue words may stand between ("for internal use only",
# "internal eyes only"). Not "just" ("(internal, just restarted)") nor the modifiers of a whole label ("need to",
# "under": "(restricted to admins)" is prose), which count for the bracket as a whole (``_instruction``); nor "know"
# ("(we only know the region)").
_ROUND_STRONG = ("strictly", "highly", "top", "streng", "strengstens", "strikt", "hochst")
_ROUND_CORE_MORE = ("internally",)
_ROUND_GLUE_MORE = ("eyes", "please", "pls", "bitte")
# A confidentiality label that hides what follows even alone in a round bracket, or heading it after a break
# (``_ALONE_BREAK``): "Root cause (confidential) is CHG-4411", "(vertraulich: Ursache ...)", "(confidential | ...)".
# Unlike "(internal)" or "(not public)", which describe a thing ("The build cache (internal) is slow"), these words in
# brackets of their own classify a text, with companions too (``_ROUND_COMPANIONS``: "(Company Confidential)",
# "(Private and Confidential)"); beside any other word they are prose ("(confidential computing)", "(private and
# public clouds)"). "confidental" is the label's common typo.
_ROUND_ALONE = ("confidential", "private", "vertraulich", "vertrauliche", "vertraulichen", "vertraulicher",
                "vertrauliches", "konfidentiell", "konfidentiellt", "konfidentiella", "sekretessbelagd",
                "sekretessbelagt", "confidental")
# "Private" is also the network word, a key of "key: value" lists ("(private: 3 nodes, public: 2 nodes)", "(private -
# 10.0.0.0/8)"): alone it is a label, heading detail (or ending it) it is not.
_ROUND_NO_HEAD = ("private",)
# Words that leave a bracket of label words a label ("(Internal and Confidential)", "(confidential for now)", "(still
# confidential)", "(Vertraulich und intern)", "(konfidentiellt och internt)"); "&", "+" and "/" are no words. Phrases
# of time count as a whole (``_ROUND_TIME_PHRASES``).
_ROUND_COMPANIONS = ("internal", "company", "and", "still", "please", "strictly", "highly", "only", "privileged",
                     "information", "info", "proprietary", "personal", "restricted", "sensitive", "und", "intern",
                     "interne", "noch", "vorerst", "bitte", "och", "internt", "fortfarande")
# Beside "private" alone only these: repositories and DNS zones are "(private and internal)", laptops "(company and
# private)", a repository "(still private)", so "internal", "company", time words and the like make no label of it.
_PRIVATE_COMPANIONS = ("and", "strictly", "highly", "only", "please")
_ROUND_TIME_PHRASES = (("for", "now"), ("for", "the", "time", "being"))
# Abbreviations an operator types for a label word, read only with the abbreviation's full stop: "(int. only)",
# "(strictly conf.)", "(not for ext. use)". Bare, each is everyday ops prose: "(int only)" the integration environment,
# international calls or the SQL type, "(conf only)" a config change, "(priv: root)" a privilege.
_ROUND_ABBREVIATIONS = {"int": "internal", "conf": "confidential", "priv": "private", "ext": "external"}
# Digits or signs typed for letters inside a word ("int3rnal", "c0nfidential", "!nternal": fold already reads 0 as o
# and 1 and | as l). A word changes only if it then spells one the rule knows, so "int64" and "v2.3.4" stay as typed.
_LEET_DIGITS = str.maketrans({"3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
# "(not for customers)", "(nicht für Kunden)", "(inte för kunder)": a negation, "for", maybe an article, the readers.
_OUTSIDERS = ("customer", "customers", "client", "clients", "kunde", "kunden", "kund", "kunder", "kunderna", "user",
              "users", "external", "extern", "externe", "externen", "outside", "outsiders")
# "(don't tell customers)", "(do not mention to customers)": a negation, one of these, maybe "to" or an article,
# the readers.
_TELL_WORDS = ("tell", "mention", "show", "reveal", "sagen", "erzahlen", "zeigen", "beratta", "visa")
# "(do not post publicly)", "(nicht nach außen geben)": a negation, a verb, how.
_POST_WORDS = ("post", "posten", "geben", "tragen")
_POST_HOW = ("publicly", "externally", "online", "anywhere", "aussen", "extern")
_FOR_WORDS = ("for", "fur")
_ARTICLES = ("the", "our", "any", "your", "die", "den", "unsere", "unseren", "vara", "vare", "to", "an")
# "(keep internal)", "(keep this internal)", "(håll detta internt)"; "(intern halten)", "(vertraulich behandeln)".
_KEEP_WORDS = ("keep", "hall")
_KEPT_BETWEEN = ("this", "it", "these", "that", "the", "all", "strictly", "detta", "det", "allt")
_KEEP_AFTER = ("halten", "behandeln")
# An opening "[W ID]" or "(W ID)" (folded) whose W is "for" or one slip from it: a marker only when ID names an
# audience (an exact "[for ID]" is a real one).
_OPENER = lazy_re.compile(r"([\[(])\s*([^\[\]()\s/:=]{1,6})[\s:=]+([^\[\]()]{1,64}?)\s*[\])]")
# A bracketed id or name alone ("[globex]"): read as an audience's marker.
_NAMED = lazy_re.compile(r"\[\s*([^\[\]()]{1,64}?)\s*\]")
_ENTITY = lazy_re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")


def lookalike(text: str, *, mixed: bool = False) -> tuple[int, str] | None:
    """Something in ``text`` that reads as a private marker once folded, but is not a real one.

    ``text`` holds no real marker (``split`` passes the pieces between them).
    ``mixed``: ``text`` is of a field whose public and private parts markers cut (a message, a title), where an
    instruction in round brackets ("(nur intern)") was meant to hide what follows; a field private or public as a
    whole ("--private 'Ticket OPS-77 (staff only)'", a component's name) hides nothing by it.
    Returns (offset in ``text``, the text as written) or None.
    """
    found = None
    for reading in _readings(text):
        folded, where = fold(reading)
        found = _first_candidate(folded, _rendered(folded, [text[i] for i in where]), mixed=mixed)
        if found is not None:
            break
    if found is None:
        return None
    start, end = found
    first = where[start]
    last = where[end] if end < len(where) else len(text)
    return first, text[first:last]


def _readings(text: str) -> list[str]:
    """``text``, and if it holds a letter read two ways (``_SECOND_READINGS``), ``text`` read the other way."""
    if not any(c in text for c in _SECOND_READINGS):
        return [text]
    return [text, "".join(_SECOND_READINGS.get(c, c) for c in text)]


def _first_candidate(folded: str, rendered: _Rendered, *, mixed: bool) -> tuple[int, int] | None:
    """The first lookalike in ``folded``; ``rendered``: the same text as a Markdown renderer draws it (``_rendered``);
    ``mixed``: as ``lookalike``."""
    found = []
    for match in _BRACKETED.finditer(folded):
        opener, content, closer = match.groups()
        letters = "".join(c for c in content if c.isalpha())
        near = _NEAR_ROUND if "(" in (opener, closer) or ")" in (opener, closer) else _NEAR_SQUARE
        if len(letters) >= 4 and distance(letters, _WORD) <= near:
            found.append((match.start(), match.end()))
            break
    found.extend((m.start(), m.end()) for m in _HALF.finditer(folded))
    found.extend((m.start(), m.end()) for m in _CLOSER.finditer(folded) if _marker_word(m.group(1)))
    drawn = [(m.start(), m.end()) for m in _WORD_OPENER.finditer(rendered.text)
             if m.group(1) in _folded_marker_words() or _restricting_run(m, link=_link_text(m, rendered))]
    if mixed:
        drawn.extend(_round_instructions(rendered.text))
    drawn.extend(_tag_pairs(_tags(rendered.text, rendered.typed)))
    found.extend(rendered.in_folded(start, end) for start, end in drawn)
    return min(found, key=lambda span: (span[0], -span[1]), default=None)


@dataclass(frozen=True)
class _Rendered:
    """A folded text as a Markdown renderer draws its brackets: ``text``, for each of its characters the one typed
    (``typed``) and its offset in the folded text (``folded_at``)."""

    text: str
    typed: tuple[str, ...]
    folded_at: tuple[int, ...]
    escaped: frozenset[int] = frozenset()  # characters of ``text`` typed after a backslash, drawn as themselves

    def in_folded(self, start: int, end: int) -> tuple[int, int]:
        return self.folded_at[start], self.folded_at[end - 1] + 1


_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Punctuation and symbols that are no part of what a bracket holds when they stand just inside it: emphasis or code
# marks ("[**ops**]" is a bold "[ops]") and decoration ("[=== INTERNAL ===]", "[-- internal --]", "[>> internal]",
# "[-ops-]", '["ops"]'). Not a path's "/" or "\\" ("[/v2/orders]", "[\\share]"), a file's "." ("[./run.sh]"), or
# what opens a tag or a bracket ("<", round and square brackets).
_NOT_DECORATION = frozenset("/\\.<()[]{}")
# Marks just inside a bracket, each stood for by "\0" (never in a folded text: ``normalise`` refuses control
# characters).
# The second form is tried only where a run of marks starts: from inside a run it would scan the run again for its
# bracket, and a postmortem of 16,000 asterisks took 8 s (review 25b).
_MARKS_INSIDE_BRACKETS = lazy_re.compile(r"(?<=[\[<])(?:\s*/)?\s*(\0+)|(?<!\0)(\0+)\s*(?=[\]>])")


def _rendered(folded: str, typed: Sequence[str]) -> _Rendered:
    """``folded`` as it is drawn: a backslash before ASCII punctuation dropped, as CommonMark does ("\\[ops\\]" is
    drawn "[ops]"), and emphasis or code marks just inside a bracket dropped ("[**ops**]" is a bold "[ops]")."""
    kept: list[int] = []
    escaped: set[int] = set()
    index = 0
    while index < len(folded):
        if typed[index] == "\\" and index + 1 < len(folded) and typed[index + 1] in _ASCII_PUNCTUATION:
            index += 1  # the escaped character is drawn as itself, even a backslash ("\\\\[")
            escaped.add(index)
        kept.append(index)
        index += 1
    marked = "".join("\0" if _decoration(typed[i]) else folded[i] for i in kept)
    dropped = {i for m in _MARKS_INSIDE_BRACKETS.finditer(marked) for group in (1, 2) if m.group(group)
               for i in range(m.start(group), m.end(group))}
    kept_at = [(i, at) for i, at in enumerate(kept) if i not in dropped]
    return _Rendered("".join(folded[at] for _, at in kept_at), tuple(typed[at] for _, at in kept_at),
                     tuple(at for _, at in kept_at),
                     frozenset(new for new, (_, at) in enumerate(kept_at) if at in escaped))


@lru_cache(maxsize=1024)
def _decoration(char: str) -> bool:
    """Punctuation or a symbol other than a bracket (Ps, Pe, Pi, Pf: "【", "«" fold to brackets) or a path's mark."""
    return (char not in _NOT_DECORATION and char not in _BRACKET_SYMBOLS
            and unicodedata.category(char) in ("Pc", "Pd", "Po", "Sm", "Sc", "Sk", "So"))


# What makes a bracketed run a link's text in CommonMark: an inline destination right after it ("(https://...)",
# "(<a b>)", with a quoted title), or a reference to a link defined in the text ("[text][ref]", "[text][]"). A
# definition's own label ("[ref]: url") is judged as a label: a plain-text channel shows the line as typed.
_INLINE_DESTINATION = lazy_re.compile(r"\((?:<([^<>\n]*)>|([^\s()<>]+))(?:\s+(?:\"+[^\"\n]*\"+|'[^'\n]*'|\([^()\n]*\)))?\s*\)")
# A destination that is an absolute address: a scheme ("https:", "mailto:", "x://") or a dotted host
# ("example.com/x"), which starts with a letter or digit. A ticket id in round brackets ("[nur intern](INC-7)") is no
# address, nor is a fragment or a relative path ("(#4411)", "(/INC-7)", "(./x)", "(?q)", "(.)"): that is how an issue
# number is written, and the X, SMS, webhook and plain-text channels show the bracket as typed, a label, so it is
# judged as one.
_ADDRESS = lazy_re.compile(r"(?:https?|mailto|tel|ftps?|sftp|file|irc|xmpp|matrix):|[a-z][a-z0-9+.-]{1,31}://"
                      r"|[a-z0-9][^\s/:#?]*\.[a-z]{2,}(?::[0-9]+)?(?:[/?#]|$)", re.IGNORECASE)
_REFERENCE = lazy_re.compile(r"\[([^\[\]\n]{0,64})\]")


def _link_text(opener: re.Match[str], rendered: _Rendered) -> bool:
    """Whether a bracketed run is drawn as a link's text: its brackets unescaped and a destination or a defined
    reference right after it. An undefined reference or a destination with spaces is drawn as the brackets typed."""
    start, end = opener.start(), opener.end()
    if start in rendered.escaped or end - 1 in rendered.escaped or end in rendered.escaped:
        return False
    after = _as_typed(rendered, end, end + 300)
    destination = _INLINE_DESTINATION.match(after)
    if destination is not None:
        return _ADDRESS.match((destination.group(1) or destination.group(2) or "").strip()) is not None
    reference = _REFERENCE.match(after)
    if reference is None:
        return False
    label = reference.group(1).strip() or _as_typed(rendered, start + 1, end - 1).strip()
    typed = _as_typed(rendered, 0, len(rendered.typed))
    return re.search(rf"(?m)^ {{0,3}}\[\s*{re.escape(label)}\s*\]:", typed, re.IGNORECASE) is not None


def _as_typed(rendered: _Rendered, start: int, stop: int) -> str:
    """The characters typed for ``rendered.text[start:stop]``: one folded into several ("m" into "rn") once, so a
    destination reads "mailto:", not "mmailto:"."""
    out: list[str] = []
    index = start
    while index < min(stop, len(rendered.typed)):
        char = rendered.typed[index]
        out.append(char)
        index += max(1, len(_fold_piece(char)))
    return "".join(out)


def _says_public(words: Sequence[str], broken: Sequence[bool], public: frozenset[str],
                 between: frozenset[str], *, opens: bool = False) -> bool:
    """Whether ``words`` (after a negation) say "public" (``_public_index``)."""
    return _public_index(words, broken, public, between, opens=opens) is not None


def _public_index(words: Sequence[str], broken: Sequence[bool], public: frozenset[str],
                  between: frozenset[str], *, opens: bool = False) -> int | None:
    """Where ``words`` (after a negation) start with a word of ``public``, after at most ``_MAX_BETWEEN`` small
    words, the word no adjective describing reach ("nicht öffentlich erreichbar"). ``broken[i]``: whether
    punctuation stands before ``words[i]`` (``_run_words``); ``opens``: whether the negation opens the run, with no
    subject before it (``_PARTICIPLES``). A weak word ("release") counts after ``_WEAK_BETWEEN`` alone. None if they
    do not."""
    weak, weak_between, participles, to_be = _folded_weak_public_words()
    for index, word in enumerate(words[:_MAX_BETWEEN + 1]):
        if word in public:
            said = not _describes_reach(words, broken, index)
        elif word in participles:
            said = opens or any(w in to_be for w in words[:index])
        elif word in weak:
            said = all(w in weak_between for w in words[:index])
        elif word in between:
            continue
        else:
            return None
        return index if said else None
    return None


def _describes_reach(words: Sequence[str], broken: Sequence[bool], index: int) -> bool:
    """Whether the public word at ``index`` is an adjective with a reach word right after it, in the same clause
    ("[API nicht öffentlich erreichbar]"), and the rest of the run after that holds nothing back on its own: no
    "only" word, no restricting phrase. "[not public, visible only to ops]" and "[nicht öffentlich. Sichtbar nur
    für Ops]" are labels: the comma or full stop starts a new clause, and "only" names who may read it."""
    adjectives, reach = _folded_public_adjectives()
    after = index + 1
    if words[index] not in adjectives or after >= len(words) or words[after] not in reach or broken[after]:
        return False
    rest, rest_broken = words[after + 1:], broken[after + 1:]
    only = _folded_restricting_words()[5]  # _ONLY_WORDS
    route = _folded(_ROUTE_WORDS)
    names_reader = any(word in only and next_word not in route for word, next_word in _with_next(rest))
    return not names_reader and not _holds_back(rest, rest_broken)


def _personal_as_noun(words: Sequence[str], index: int, only: frozenset[str]) -> bool:
    """Whether "personal" at ``index`` is the German or Swedish noun for staff: after "für"/"för" ("[nur für
    Personal bitte]") or with no word after it but an "only" word ("[Personal only]")."""
    return (index > 0 and words[index - 1] in ("fur", "for")) or all(w in only for w in words[index + 1:])


def _says_staff_only(words: Sequence[str], staff: frozenset[str], only: frozenset[str]) -> bool:
    """Whether a word of ``staff`` stands beside a word of ``only``, with up to ``_STAFF_ONLY_REACH`` - 1 of
    ``_STAFF_ONLY_BETWEEN`` between ("[staff only]", "[nur für Mitarbeiter]", "[staff use only]", "[Mitarbeiter und
    Partner only]"); "personal" only as no adjective, "ops" and other teams only at the end of the run."""
    between = _folded_staff_only_between()
    for index, word in enumerate(words):
        if word not in staff or (word == _ADJECTIVE_STAFF_WORD and not _personal_as_noun(words, index, only)):
            continue
        if word in _folded(_TEAM_STAFF_WORDS) and not all(w in only or w in between or w in staff
                                                           for w in words[index + 1:]):
            continue
        for side in (words[index + 1:index + 1 + _STAFF_ONLY_REACH],
                     list(reversed(words[max(0, index - _STAFF_ONLY_REACH):index]))):
            for near in side:
                if near in only:
                    return True
                if near not in between:
                    break
    return False


def _restricting_run(opener: re.Match[str], *, link: bool = False) -> bool:
    """A bracketed run of a few words that holds its text back from the public: holding a restricting word ("[ops
    internal]", "[nur für den internen Gebrauch]"), saying "not public" or "do not publish" ("[nicht
    veröffentlichen]", "[not for public release]") or "staff only" ("[nur für Mitarbeiter]"), or a classification
    label alone ("[restricted]", "[TLP:AMBER]"). A link's text ("[Azure Private Link](https://...)") is prose unless
    it is a whole instruction ("[nur intern](mailto:...)": ``_instruction``)."""
    words, broken = _run_words(opener.group(0))
    if len(words) > _MAX_RUN_WORDS:
        return False
    if link:
        return _instruction(words, broken)
    return (_holds_back(words, broken) or _labelled(words, broken, need_modifier=False) or _restricted_tlp(words)
            or _forbids(words, objectless=False) or _off_the_record(words, broken))


def _round_instructions(text: str) -> list[tuple[int, int]]:
    """The round brackets of ``text`` (folded) that hold an instruction to hide (``_round_instruction``), wherever
    they stand."""
    found = []
    closers = _round_closers(text)
    for opener in re.finditer(r"\(", text):
        stop, limit = opener.end(), min(len(text), opener.end() + _ROUND_REACH)
        while stop < limit and text[stop] not in "()[]":
            stop += 1
        end = stop + 1 if stop < len(text) and text[stop] == ")" else stop
        # An inner bracket, a link or a comment does not end the bracket a reader sees ("(staff [only](url))",
        # "(staff (EU) only)"): it is read to its matching ")" too, without the inner brackets' content and with
        # only their delimiters, comments and emphasis marks dropped; either reading holding an instruction counts.
        whole = closers.get(opener.start())
        whole = whole if whole is not None and whole < limit else None
        readings = [text[opener.end():stop]]
        if whole is not None and whole != stop:
            readings.extend(_round_readings(text[opener.end():whole]))
            end = whole + 1
        elif whole is not None:
            readings.append(_round_readings(text[opener.end():whole])[1])
        if any(_round_instruction(reading) for reading in readings):
            found.append((opener.start(), end))
    # A bracket longer than the reach: its last ``_ROUND_REACH`` characters, read back from its ")" ("(... 400
    # characters ..., internal only) root cause CHG-4411" was published). Only from a ")" closing a "(" opened beyond
    # the reach, or closing none with no bracket in its reach: every ")" of a numbered list "1) ... 2) ..." read back
    # took a 190 KB postmortem 20 s.
    opened: list[int] = []
    for bracket in re.finditer(r"[()]", text):
        if bracket.group() == "(":
            opened.append(bracket.start())
            continue
        start = bracket.start() - _ROUND_REACH
        if start <= 0:
            continue
        window = text[start:bracket.start()]
        beyond = opened.pop() < start if opened else ")" not in window
        if beyond and "(" not in window and _round_instruction(window):
            found.append((start, bracket.end()))
    return found


def _round_closers(text: str) -> dict[int, int]:
    """Where the ")" closing each "(" of ``text`` stands, the brackets inside it balanced ("(" and ")", "[" and "]");
    a "(" closed by "]", or holding a bracket closed by the other kind, has none. One pass for all of them: read
    from each "(" to its ")", a run of "(" took a time that grew with its length times the reach."""
    closers: dict[int, int] = {}
    opened: list[tuple[int, str]] = []  # where each bracket still open stands, and the closer it waits for
    for bracket in _BRACKET.finditer(text):
        char, at = bracket.group(), bracket.start()
        if char in "([":
            opened.append((at, ")" if char == "(" else "]"))
        elif opened:
            start, awaited = opened.pop()
            if awaited != char:
                opened.clear()  # every bracket still open holds this one, closed by the wrong kind
            elif char == ")":
                closers[start] = at
    return closers


_BRACKET = lazy_re.compile(r"[()\[\]]")


# An HTML comment (rendered, "<!-- -->" reads "[ --]"), and emphasis marks, which a reader never sees.
_ROUND_HIDDEN = lazy_re.compile(r"[\[<]!?(?:--)?[^\[\]<>]*?--[\]>]|[*~]")


def _round_readings(content: str) -> tuple[str, str]:
    """A round bracket's content as a reader sees it: without its inner brackets' content ("(internal (ops) only)"
    as "internal only"), and with only the delimiters dropped ("(staff [only](url))" as "staff only")."""
    content = _ROUND_HIDDEN.sub("", content)
    outer = _without_inner_brackets(content)
    shown = re.sub(r"\]\s*(?:\([^()]*\)|\[[^\[\]]*\])", "]", content)  # a link's target or label is not shown
    return outer, re.sub(r"[()\[\]]", "", shown)


def _without_inner_brackets(content: str) -> str:
    """``content`` with each bracket pair and what it holds as one space, the brackets inside it balanced (as
    dropping its innermost pairs again and again would leave it: "a (b [c] d) e" is "a   e"; an unbalanced
    "(b ]" is kept). One pass over its brackets, where each round of the dropping read the whole of it again."""
    pieces: list[str] = []
    opened: list[tuple[int, str]] = []  # the piece each bracket still open starts, and the closer it waits for
    last = 0
    for bracket in _BRACKET.finditer(content):
        char = bracket.group()
        pieces.append(content[last : bracket.start()])
        last = bracket.end()
        if char in "([":
            opened.append((len(pieces), ")" if char == "(" else "]"))
            pieces.append(char)
        elif opened and opened[-1][1] == char:
            del pieces[opened.pop()[0] :]
            pieces.append(" ")
        else:
            opened.clear()  # the brackets still open hold this one, closed by the wrong kind: none of them is a pair
            pieces.append(char)
    pieces.append(content[last:])
    return "".join(pieces)


@lru_cache(maxsize=1024)  # a bracket is read from each "(" and each ")" near it: many readings repeat
def _round_instruction(content: str) -> bool:
    """Whether a round bracket holding ``content`` holds an instruction to hide anywhere in it: as a whole ("(need to
    know)", "(do not publish)"), heading what follows a break ("(internal only | cause: ...)"), or among other words
    ("(internal only root cause CHG-4411)", "(please do not share it)", "(TLP:AMBER indicators)"). An unclosed bracket
    (cut by another bracket or the reach) is judged by what it holds up to there: "(staff only [cause ...])".
    Also read respelled (``_respelled``): "(nur fuer Mitarbeiter)", "(staff onIy)"."""
    respelled = _respelled(content)
    return _round_instruction_as_read(content) or (respelled != content and _round_instruction_as_read(respelled))


def _respelled(content: str) -> str:
    """``content`` with each word no list knows spelled as a word one does, if it is one by German written without
    umlauts ("fuer" as "fur": folded, "für" is "fur") or by an I read as l and an l as I, the classic lookalike
    ("onIy" folds to "oniy", "lnternal"), by digits or signs for letters ("int3rnal", "!nternal"), by letters spaced
    apart, across words too ("i n t e r n a l o n l y" as "internal only", ``_segmented``; a team's initials "S.R.E."
    as "sre") or as an abbreviation with its full stop (``_ROUND_ABBREVIATIONS``: "int. only"). Only words that then
    name a list's word change, so prose stays prose."""
    known = _round_vocabulary()

    def respell(match: re.Match[str]) -> str:
        return _known_spelling(match.group(), known) or match.group()

    def unleet(match: re.Match[str]) -> str:
        word = match.group().translate(_LEET_DIGITS)
        typed = match.group()
        if word == typed or len(word) < _MIN_RESPELLED or not word.isalpha() or not any(c.isalpha() for c in typed):
            return typed  # "v2.3.4" stays: its "4" alone would read as the article "a"
        return _known_spelling(word, known) or typed

    def unspace(match: re.Match[str]) -> str:
        letters = _SPACED_BETWEEN.sub("", match.group())
        if len(letters) < _MIN_RESPELLED:  # "(U.S.A. only)" is a country, "(S.R.E. only)" a team
            return letters if letters in _folded(_TEAM_STAFF_WORDS) else match.group()
        return _known_spelling(letters, known) or _segmented(letters, known) or match.group()

    def unabbreviate(match: re.Match[str]) -> str:
        return _ROUND_ABBREVIATIONS[match.group(1).replace("l", "i")] + " "  # "(pr1v.)" folds to "prlv."

    content = _LEET_WORD.sub(unleet, content) if _LEET_BESIDE_LETTER.search(content) else content
    content = _SPACED_LETTERS.sub(unspace, content)
    content = _JOINED.sub(lambda match: _unjoined(match.group()), content)
    content = _ABBREVIATED.sub(unabbreviate, content) if "." in content else content
    return re.sub(r"[^\W\d_]+", respell, content)


# A word with digits or signs typed for letters ("int3rnal", "intern@l", "!nternal"), letters spaced apart by one or
# two spaces, full stops, hyphens, underscores or slashes ("i n t e r n a l", "c.o.n.f.i.d.e.n.t.i.a.l", "i. n. t",
# "s-t-a-f-f o-n-l-y"; an "m" is folded as "rn"), an abbreviation with its full stop (``_ROUND_ABBREVIATIONS``:
# "(int. only)", "(int.only)"; not within a path or a host name, "/etc/nginx/conf.d", "(int.example.com)", "(v1.int.)").
_MIN_RESPELLED = 4  # letters a word read through digits or spaces needs: "4" alone is no "a"
_LEET_WORD = lazy_re.compile(r"(?<![\w@$!])[\w@$!]*?[3457@$!][\w@$!]*")
# Only a digit or sign beside a letter makes a word worth reading (not "(int 4711 ok)", a count or an id).
_LEET_BESIDE_LETTER = lazy_re.compile(r"[^\W\d_][3457@$!]|[3457@$!][^\W\d_]")
_SPACED_LETTERS = lazy_re.compile(r"(?<![^\W\d_])(?:rn|[^\W\d_])(?:[ ._/-]{1,2}(?:rn|[^\W\d_])){2,}(?![^\W\d_])")
_SPACED_BETWEEN = lazy_re.compile(r"[ ._/-]")
_ABBREVIATED = lazy_re.compile(
    r"(?<![\w'./-])(" + "|".join(sorted({*_ROUND_ABBREVIATIONS, *(a.replace("i", "l") for a in _ROUND_ABBREVIATIONS)}))
    + r")\.(?:(?![\w.])|(?=(?:only|use)(?![\w.])))")


# Words typed joined, "(internalonly)", "(STAFFONLY)", "(donotshare)": a run of letters no list knows, long enough
# to hold two words and short enough to split cheaply (``_unjoined``).
_JOINED = lazy_re.compile(r"(?<![^\W\d_])[^\W\d_]{8,32}(?![^\W\d_])")


@lru_cache(maxsize=1024)
def _unjoined(word: str) -> str:
    """``word`` split into words of the vocabulary (``_segmented``) if it is none itself and the split alone is an
    instruction to hide ("internalonly" as "internal only"), else as typed: "database" or "maintenance" stay whole
    whatever they split into."""
    known = _round_vocabulary()
    if word in known:
        return word
    split = _segmented(word, known)
    if split is None or split.count(" ") >= _MAX_JOINED_WORDS:
        return word  # a joined instruction is short ("forinternaluseonly"); a long split is chance, and costly to read
    return split if _round_instruction_as_read(split) else word


_MAX_JOINED_WORDS = 5


def _segmented(letters: str, known: frozenset[str]) -> str | None:
    """``letters`` (a run of letters spaced apart, joined) as words of ``known`` (``_round_vocabulary``) of two letters
    or more, the fewest words ("internalonly" as "internal only", "donotshare" as "do not share"), or None."""
    longest = _longest_round_word()
    # fewest words to each end, and where the last of them starts (back-pointers: no list copied per cell)
    count: list[int | None] = [0, *([None] * len(letters))]
    begins = [0] * (len(letters) + 1)
    for end in range(2, len(letters) + 1):
        for start in range(max(0, end - longest), end - 1):
            before = count[start]
            if before is not None and letters[start:end] in known:
                chosen = count[end]
                if chosen is None or before + 1 < chosen:
                    count[end], begins[end] = before + 1, start
    if not count[-1]:
        return None
    words, end = [], len(letters)
    while end:
        words.append(letters[begins[end]:end])
        end = begins[end]
    return " ".join(reversed(words))


def _known_spelling(word: str, known: frozenset[str]) -> str | None:
    """``word`` as a word of ``known`` by German without umlauts or an I and an l swapped (``_respelled``), or None."""
    if word in known:
        return word
    german = re.sub(r"(?<=.)([aou])e", r"\1", word)
    for spelling in dict.fromkeys((german, word)):
        swaps = [at for at, char in enumerate(spelling) if char in "il"]
        if len(swaps) > _MAX_SWAPS:
            swaps = swaps[:_MAX_SWAPS]
        for mask in range(1 << len(swaps)):
            letters = list(spelling)
            for bit, at in enumerate(swaps):
                if mask >> bit & 1:
                    letters[at] = "l" if letters[at] == "i" else "i"
            if "".join(letters) in known:
                return "".join(letters)
    return None


_MAX_SWAPS = 5


@lru_cache(maxsize=1)
def _round_vocabulary() -> frozenset[str]:
    """Every word the round-bracket rule reads, folded."""
    lists = (_LABEL_WORDS, _LABEL_GLUE, _LABEL_MODIFIERS, _ROUND_STRONG, _ROUND_CORE_MORE, _ROUND_GLUE_MORE,
             _OUTSIDERS, _FOR_WORDS, _ARTICLES, _KEEP_WORDS, _KEPT_BETWEEN, _KEEP_AFTER, _STAFF_ONLY_BETWEEN,
             _PROHIBITED_NOUNS, _PROHIBITIONS, _VERBS_BEFORE_NEGATION, _NEGATIONS_AFTER_VERB, _POLITE, _TELL_WORDS,
             _WEAK_PUBLIC_WORDS, _WEAK_BETWEEN, _PARTICIPLES, _ROUND_ALONE)
    return frozenset().union(*_folded_restricting_words(), *(_folded(words) for words in lists))


@lru_cache(maxsize=1)
def _longest_round_word() -> int:
    return max(map(len, _round_vocabulary()))


def _round_instruction_as_read(content: str) -> bool:
    typed = content
    content = content.replace("ー", "-")  # an em dash folded reads as a letter ("onlyー" one word)
    words, broken = _run_words(content)
    if _instruction(words, broken) or _labelled_alone(typed, words):
        return True
    # a head needs words after it; found once, not by reading the rest after each character (a 400-character bracket
    # of punctuation read it 400 times)
    last = max((at for at, char in enumerate(content) if char.isalnum()), default=-1)
    for at, char in enumerate(content):
        # any punctuation or symbol ends a head: ":", "|", "/", "→", "!", "、" ...
        if char.isalnum() or char in " '" or at >= last:
            continue
        head, head_broken = _run_words(content[:at])
        if len(head) > _MAX_RUN_WORDS:
            break
        if _instruction(head, head_broken):
            return True
    return any(_instruction_at(words[index:], broken[index:]) for index in range(len(words)))


def staff_label(text: str) -> str | None:
    """A label in ``text`` that keeps what its line says from outsiders, as typed: heading a line or a sentence
    ("Internal only: the cause was CHG-4411", "CONFIDENTIAL — ...", "**Staff note:** ...", "Do not share: ...", "Nur
    intern: ..."), standing alone on one ("INTERNAL ONLY"), or between breaks or commas beside its detail ("Cause:
    CHG-4411 — internal only", "Internal only, the cause was CHG-4411"); None if there is none. Brackets mark such
    labels anywhere (``lookalike``); unbracketed, a label needs the breaks that make it one (a colon, a semicolon, a
    dash, an arrow, "|", a symbol, the end of a line or sentence), so "Internal DNS resolvers are failing" and
    "Private Link: errors" stay prose. Staff write such lines to staff channels as a matter of course, so only what
    goes beyond staff is refused (``broadcaster.operations.posting``). Read folded as markers are, so lookalikes
    count, and as drawn: HTML tags are no text ("<b>Internal only:</b>"), a block tag ends a line."""
    shown = _LINE_SEPARATORS.sub("\n", text)
    shown = _PIPE_BREAK.sub(";", shown)  # "|" folds to "l", a letter; between spaces it breaks as ";" does
    fenced = [match.span() for match in _CODE_FENCE.finditer(shown)]
    for reading in _readings(shown):
        folded, where = fold(reading)
        if not folded:
            continue
        folded = _without_tags(folded)
        capitals = [reading[at].isupper() for at in where]
        starts = [start.end() for start in _HEAD_STARTS.finditer(folded)]
        # "Errors rose.Internal only: ...": a sentence typed without its space, told by its capital
        starts += [stop.end() for stop in _STOP_BEFORE_A_LETTER.finditer(folded)
                   if capitals[stop.end()] and not _dotted_name(folded, capitals, stop.end())]
        for start in sorted(starts):
            code = any(begin <= where[min(start, len(where) - 1)] < end for begin, end in fenced)
            found = _label_in_sentence(folded, start, capitals, code=code)
            if found is not None:
                return text[where[found[0]]:where[found[1] - 1] + 1]
    return None


def first_staff_label(texts: Iterable[tuple[str, str]],
                      read: dict[str, str | None] | None = None) -> tuple[str, str] | None:
    """The first of ``texts`` (each a field's name and its text) holding a label for staff (``staff_label``): the
    field's name and the label as typed; None if none does. ``read`` keeps what each text read gave, for a caller
    reading many readers' texts that are mostly the same."""
    read = {} if read is None else read
    for field, text in texts:
        if text not in read:
            read[text] = staff_label(text)
        label = read[text]
        if label is not None:
            return field, label.strip()
    return None


_LINE_SEPARATORS = lazy_re.compile("[\r\v\f\x85\u2028\u2029]")
_STOP_BEFORE_A_LETTER = lazy_re.compile(r"[.!?](?=[^\W\d_])")
# A dotted name mid-sentence, "The Contoso.Internal: namespace": a capitalised word in small letters after a space
# and before a single full stop.
_DOTTED_NAME = lazy_re.compile(r"(?<=[ \t])[^\W\d_][^\W\d_]+\.$")
# A fenced code block: its lines are read for instructions only ("internal: true" in a YAML sample is no label).
_CODE_FENCE = lazy_re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1|\Z)", re.MULTILINE | re.DOTALL)
_PIPE_BREAK = lazy_re.compile(r"(?:(?<=\s)|^)\|(?=\s|$)|(?<=\S)\|(?=\s)|(?<=\s)\|(?=\S)", re.MULTILINE)
_TAG = lazy_re.compile(r"\[(/?)([a-z][a-z0-9]*)(?:[\s=][^\[\]]*)?/?\]")
# Tags a browser draws as a new block: what follows starts a line ("<p>INTERNAL ONLY</p><p>CHG-4411 ...").
_BLOCK_TAGS = ("br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5", "h6",
               "pre", "hr", "blockquote", "summary", "details", "dt", "dd", "dl")


def _without_tags(folded: str) -> str:
    """``folded`` with each HTML or BBCode formatting tag blanked out (folded "<b>" is "[b]"), a block tag's as a
    line's end; the same length, so offsets still name the typed text."""
    if "[" not in folded:
        return folded
    tags, blocks = _folded_formatting_tags(), _folded_block_tags()

    def blank(match: re.Match[str]) -> str:
        if match.group(2) not in tags and match.group(2) not in blocks:
            return match.group()
        return ("\n" if match.group(2) in blocks else " ") + " " * (len(match.group()) - 1)

    return _TAG.sub(blank, folded)


def _dotted_name(folded: str, capitals: Sequence[bool], end: int) -> bool:
    """Whether the stop before ``end`` joins a dotted name mid-sentence ("The Contoso.Internal: namespace"): the word
    before it capitalised, not shouted, after a space, the stop single, and the word after it running straight into
    punctuation. "Resolved.Internal only:", "Errors rose.Internal only:" and "Fixed by Bob.Staff only:" start
    sentences."""
    found = _DOTTED_NAME.search(folded, max(0, end - 40), end)
    if found is None or folded[end - 2:end - 1] in ".!?":
        return False
    after = re.match(r"[^\W\d_]+(.?)", folded[end:end + 40])
    if after is None or not after.group(1) or after.group(1).isspace():
        return False  # "Fixed by Bob.Staff only: ...": the next word goes on as a sentence does
    word = range(found.start(), found.end() - 1)
    return capitals[word.start] and not all(capitals[at] for at in word)


@lru_cache(maxsize=1)
def _folded_block_tags() -> frozenset[str]:
    return frozenset(fold(tag)[0] for tag in _BLOCK_TAGS)


def _label_in_sentence(folded: str, start: int, capitals: Sequence[bool], *, code: bool) -> tuple[int, int] | None:
    """The span of a label among the parts of the line or sentence from ``start`` (``staff_label``; ``capitals``:
    whether each folded character was typed as a capital; ``code``: a line of a fenced code block, where only a
    label phrase counts). A value after a key that names what was affected, ending its sentence, is no label
    ("Impact: internal only", "Network — private"); a table row's cells after its first are values; a question
    labels nothing ("Internal? No, ..."). Label words alone, or a confidentiality label alone, need a firm break
    on both sides (a colon, a semicolon, a dash, "|", the line's end), not an arrow, a slash or a symbol, which
    join words as often ("Internal → external failover", "Private / public subnets")."""
    lead = _LEAD.match(folded, start)
    at = lead.end() if lead else start
    end = _SENTENCE_END.search(folded, at)
    stop = end.start() if end else len(folded)
    if folded[stop:stop + 1] == "?":
        return None
    row = folded[start:at].lstrip(" \t").startswith(";")  # "| Network | private |": the "|" read as ";"
    pieces = re.split(f"({_PART_BREAK})", folded[at:stop])
    key: Sequence[str] = ()
    for index in range(0, len(pieces), 2):
        part = pieces[index]
        span, at = (at, at + len(part)), at + len(part) + len(pieces[index + 1] if index + 1 < len(pieces) else "")
        before = pieces[index - 1] if index else ""
        after = pieces[index + 1] if index + 1 < len(pieces) else ""
        trimmed = _trimmed(folded, *span)
        if trimmed is None:
            key = ()
            continue
        head = folded[trimmed[0]:trimmed[1]]
        words = _run_words(head)[0]
        if (index and row) or (index and _describes(key) and after.strip() in ("", ";") and not _imperative_value(head)):
            key = words
            continue  # a table's value, "Impact: internal only.", "Impact — internal only."
        following = pieces[index + 2] if index + 2 < len(pieces) else ""
        firm = _firm(after, following) and (not index or _firm(before, part))
        where = "code" if code else "after" if index else "head"
        unclosed = head[:1] in "([" and not re.search(r"[)\]]", folded[trimmed[0]:stop])
        if _labels_for_staff(head, words, where=where, firm=firm, after_a_key=bool(index) and before.strip() not in _DASHES,
                             before_a_break=bool(after.strip()), unclosed=unclosed) or (
                words == [_TLP] and _restricted_tlp([_TLP, *_run_words(folded[at:at + 12])[0][:1]])):
            return trimmed
        found = _label_among_commas(head, trimmed[0]) or (
            _shouted_label(head, capitals[trimmed[0]:trimmed[1]], trimmed[0]) if where == "head" else None)
        if found is not None:
            return found
        key = words
    return None


def _firm(separator: str, following: str) -> bool:
    """Whether ``separator`` sets a label apart for sure (``_FIRM_BREAK``); a dash typed right after a word does,
    unless a conjunction follows it, a word's part shared with the next ("Privat- und Geschäftskunden", "Internal-
    and external-facing"). ``following``: the text after the separator."""
    if _FIRM_BREAK.fullmatch(separator) is not None:
        return True
    if separator.strip(" \t-") or not separator.startswith("-"):
        return False
    next_word = _run_words(following)[0][:1]
    return not next_word or next_word[0] not in _folded(_CONJUNCTIONS)


def _describes(key: Sequence[str]) -> bool:
    """Whether a key's words name what was affected, so that its value is no label: "Impact", "Data
    classification", "Affected users" (not "Note for users")."""
    if not key or key[-1] not in _folded(_DESCRIPTIVE_KEYS):
        return False
    return key[-1] != "users" or tuple(key) in (("users",), ("affected", "users"))


def _imperative_value(value: str) -> bool:
    """A value that tells what to do with the text ("Users: do not share."), which no key makes a description;
    a label phrase stays a value ("Impact: internal only.")."""
    words, broken = _run_words(value)
    return bool(words) and _head_instruction(words, broken) and not _label_instruction(words, broken)


def _label_among_commas(part: str, offset: int) -> tuple[int, int] | None:
    """A label phrase between a part's commas ("Internal only, the cause was ...", "Cause: CHG-4411, internal
    only", "The cause, strictly confidential, was ..."): the span of the first, from ``offset``. Not an imperative,
    which is advice as often ("If you did not ask for a code, do not share it")."""
    if "," not in part:
        return None
    for comma in _COMMA_PARTS.finditer(part):
        if comma.group().strip()[:1] in "([`'":
            continue  # a bracket's, a code span's: the bracket rules judge them
        words, broken = _run_words(_without_brackets(comma.group()))
        if words and len(words) <= _MAX_RUN_WORDS and _label_instruction(words, broken):
            stripped = comma.group().strip()
            begin = offset + comma.start() + comma.group().index(stripped)
            return begin, begin + len(stripped)
    return None


def _shouted_label(part: str, capitals: Sequence[bool], offset: int) -> tuple[int, int] | None:
    """A label phrase typed in capitals opening a part, its detail after it without a break: "INTERNAL ONLY the
    cause was CHG-4411", "STRICTLY CONFIDENTIAL root cause ..." (the capitals set it apart as a break would). Not a
    label word alone or an imperative: "CONFIDENTIAL VMs fail to start", "DO NOT SHARE your recovery codes"."""
    shouted = 0
    for word in re.finditer(r"[^\W\d_]+", part):
        if not all(capitals[word.start():word.end()]):
            break
        shouted = word.end()
    if not shouted or shouted == len(part):
        return None
    words, broken = _run_words(part[:shouted])
    return (offset, offset + shouted) if _label_instruction(words, broken) else None


def _trimmed(folded: str, start: int, stop: int) -> tuple[int, int] | None:
    """``folded[start:stop]`` without the spaces and emphasis marks around it; None if it is empty."""
    while start < stop and folded[start] in _AROUND_A_PART:
        start += 1
    while stop > start and folded[stop - 1] in _AROUND_A_PART:
        stop -= 1
    return (start, stop) if start < stop else None


# Where a line's label may start: a line's head (after a quote's ">", folded "]", a list's bullet, number, letter or
# task box, a heading's "#", emphasis, decoration, a symbol or a chat's mention, "@channel"), or a sentence's,
# after its ".", "!" or "?" and any closing quote, bracket or emphasis. A sentence ends there or at its line's end.
# Its parts are cut at ":" (every lookalike colon folds to it), ";" (and "|", read as one), an em dash ("ー"), a
# dash or "/" spaced on both sides, a dash spaced before it, an arrow ("→", "->", "=>"), "»" (folded "]") spaced,
# "·" ("•" folds to it), a symbol ("✅", "🔒"), and emphasis doubled ("**INTERNAL ONLY** the cause ...").
_CLOSING = "\"'’”)\\]*_~"
_HEAD_STARTS = lazy_re.compile(rf"^|(?<=[.!?。])[{_CLOSING}]*[ \t]+", re.MULTILINE)
_DIGIT = "[lo0-9]"  # digits as folded: "1" reads "l", "0" "o"
_LEAD = lazy_re.compile(
    rf"(?:[ \t]*#{_DIGIT}{{1,4}}[ \t]+)?"
    r"(?:[ \t\]#*_~+·=;>-]|[^\w\s\[\](){}<>.,:;!?'\"@&%$/\\|-])*"
    rf"(?:{_DIGIT}{{4}}-{_DIGIT}{{2}}-{_DIGIT}{{2}}(?:[t ]{_DIGIT}{{2}}:{_DIGIT}{{2}}(?::{_DIGIT}{{2}})?(?:\.{_DIGIT}+)?z?)?"
    rf"[ \t]+)?(?:{_DIGIT}{{1,2}}:{_DIGIT}{{2}}(?::{_DIGIT}{{2}})?z?(?:[ \t]*(?:utc|grnt|gmt|cet|cest))?[ \t]+)?"
    rf"(?:\[[ x]\][ \t]+)?(?:(?:{_DIGIT}{{1,3}}|[a-z]|[ivx]{{1,4}})[.)][ \t]+|\((?:{_DIGIT}{{1,3}}|[a-z]|[ivx]{{1,4}})\)[ \t]+"
    rf"|\[{_DIGIT}{{1,3}}\][ \t]+|#{_DIGIT}{{1,4}}[ \t]+)?"
    r"(?:(?:cc[ \t]+)?(?:@[\w.-]+|\[[@!][^\[\]]{0,40}\])[ \t,]+)*")
_SENTENCE_END = lazy_re.compile(rf"[.!?。](?=[{_CLOSING}]*(?:\s|$))|\n")
_PART_BREAK = (r"[:;ー→⇒➔·]|[ \t]+(?:\]\]?|//?|~|[#\\‖]|ll)(?=[ \t])|(?<=[^\W\d_])-+(?=[ \t])|[ \t]+-+(?=[ \t])|[ \t]+-(?=[^\W\d_])|-+\]|=\]"
               r"|\*\*|__|[^\w\s\[\](){}<>.,:;!?'\"@&%$/\\|*_~#=+^`-]")
# The breaks that set a label apart for sure; an arrow, a slash, "»", "~", a symbol or emphasis join words as often.
_DASHES = ("ー", "-", "--", "---")  # what a label after its detail follows ("... — staff note"); not a cell's "|"
_FIRM_BREAK = lazy_re.compile(r"|[:;ー]|[ \t]+-+")
_COMMA_PARTS = lazy_re.compile(r"[^,]+")
_AROUND_A_PART = frozenset(" \t*_~")
_LONGEST_LABEL = 80
# Words that, beside a restricting or label word, keep a head a label: "Internal note:", "Interne Notiz:", "Intern
# anteckning:", "Confidential info:", "Internal FYI:", "Internal update:". Not "comment", a help desk's feature
# ("Private comments: delayed").
_NOTE_WORDS = ("note", "notes", "remark", "remarks", "detail", "details", "context", "memo", "fyi", "aside", "update",
               "updates", "summary", "notiz", "notizen", "anmerkung", "hinweis", "anteckning", "anteckningar",
               "notering", "meddelande", "detaljer", "zwecke", "zweck", "andamal", "verwendung", "root", "cause",
               "rca")
# Sayings that, heading a line, keep it among those who read it: "Between us: ...", "Keep under wraps: ...".
_HEAD_IDIOMS = (("between", "us"), ("just", "between", "us"), ("under", "wraps"), ("keep", "under", "wraps"),
                ("keep", "this", "under", "wraps"), ("unter", "uns"), ("mellan", "oss"), ("not", "for", "sharing"),
                ("no", "external", "sharing"), ("not", "for", "the", "status", "page"), ("not", "for", "the", "page"),
                ("not", "for", "the", "public"), ("not", "for", "publication"), ("far", "ej", "spridas"),
                ("far", "inte", "spridas"), ("far", "ej", "delas"), ("far", "inte", "delas"), ("not", "to", "be", "shared"),
                ("not", "to", "share"), ("not", "to", "be", "shared", "externally"), ("not", "for", "sharing", "externally"),
                ("no", "sharing"),
                ("in", "house", "only"), ("inhouse", "only"), ("keep", "this", "between", "us"), ("not", "external"),
                ("nicht", "nach", "aussen"), ("internally", "only"))
# Keys whose value says what was affected: "Impact: internal only", "Network: private", "Scope: internal".
_DESCRIPTIVE_KEYS = ("impact", "status", "scope", "classification", "sensitivity", "users", "affected", "affects", "network", "networks", "region", "regions",
                     "environment", "repository", "repositories", "repo", "repos", "endpoint", "endpoints", "access",
                     "auswirkung", "auswirkungen", "betroffen", "paverkan", "paverkat")
# A word's part shared with the next one after a dash: "Privat- und Geschäftskunden", "Internal- and external-facing".
_CONJUNCTIONS = ("und", "oder", "and", "or", "och", "eller", "bzw", "sowie", "as", "bis", "to")
# Words that, after the readers of "not for customers", say which ones: a description, no instruction.
_NARROWING = ("on", "in", "with", "who", "that", "which", "using", "whose", "auf", "mit", "im", "die", "der", "pa",
              "med", "som", "i")
# Verbs beside a negation that, heading a line, tell staff what not to do with it: "Do not post:", "Don't mention:".
_HEAD_PUBLIC_VERBS = ("post", "mention", "repeat", "spread", "circulate", "disclose", "leak", "forward", "release")
# What a bare instruction heading a line may hold besides its verb: "Please do not share this with customers";
# "Do not share this code with anyone" advises (a noun).
_BARE_BETWEEN = ("the", "following", "with", "outside", "of", "to", "yet", "until", "anyone", "anybody", "this",
                 "these", "here", "now", "please")


def _labels_for_staff(part: str, words: Sequence[str], *, where: str, firm: bool, after_a_key: bool,
                      before_a_break: bool = False, unclosed: bool = False) -> bool:
    """Whether a part of a line (folded; ``words``: its words) is, as a whole, a label keeping its line from
    outsiders. ``where``: "head" (heading its line or sentence), "after" (after a break) or "code" (a line of a
    code block); ``firm``: set apart by firm breaks (``_label_in_sentence``). Anywhere: an instruction ("internal
    only", "do not share", "not for customers", "keep internal", "strictly confidential", "off the record"). Set
    apart firmly, also a confidentiality label alone ("confidential"), "not public" and a saying ("between us"),
    and, heading its line or after a dash rather than a key's colon, label words alone with their companions
    ("Internal", "Company confidential", "For internal use", "Internal note", "Restricted") and staff named alone or
    with a note ("Staff", "Note to staff"; "Ops" and "Engineering note" name a team). At a head it is also read
    respelled as round brackets are (``_respelled``: "Int3rnal only") and with a slip of a letter (``_untypoed``). A
    part that only starts with a label is prose: "Only internal systems are affected", "Internal only services are
    degraded"; so is advice with an object ("Do not share your API keys", "Keep private keys safe"). A bracket is
    read without its content ("Internal only (ops)"); a part opening with one is the bracket rules' (``lookalike``),
    unless its sentence never closes it (``unclosed``: "[Internal only: ...")."""
    if not words:
        return False
    if part[:1] in "([":
        if not unclosed:
            return False  # a bracket's: the bracket rules judge it ("(private: 3 nodes, public: 2 nodes)")
        part = part[1:]  # "[Internal only: ...", closed nowhere in its sentence: read as if it were not there
    part = _without_brackets(part)
    words, broken = _run_words(part)
    if not words or len(part) > _LONGEST_LABEL:  # measured without its brackets: "Internal only (for ...): ..."
        return False
    if where == "code":
        return len(words) <= _MAX_RUN_WORDS and _label_instruction(words, broken)
    readings = [part] if where == "after" else list(dict.fromkeys((part, _respelled(part), _untypoed(part))))
    for reading in readings:
        read_words, read_broken = _run_words(reading)
        if not read_words or len(read_words) > _MAX_RUN_WORDS:
            continue
        if _head_instruction(read_words, read_broken, firm=firm and before_a_break):
            return True
        if firm and not after_a_key and (_labelled_alone(reading, read_words) or _not_public(read_words)
                                         or tuple(read_words) in _folded_idioms()):
            return True
    if len(words) > _MAX_RUN_WORDS or "," in part or not firm or (where == "after" and after_a_key):
        return False  # "Note to staff, and the rest": a list, no label; "Contact: staff" a key's value
    labels, staff, fillers = _head_label_words()
    team = _folded(_TEAM_STAFF_WORDS)
    for reading in readings:
        read_words = _run_words(reading)[0]
        if all(word in labels or word in staff or word in fillers for word in read_words) and (
                any(word in labels for word in read_words) or any(word in staff and word not in team
                                                                  for word in read_words)):
            return True
    return False


def _head_instruction(words: Sequence[str], broken: Sequence[bool], *, firm: bool = False) -> bool:
    """An instruction that is the whole of a part of a line: a label phrase ("internal only", "staff only",
    "strictly confidential", "off the record"), or a bare imperative ("do not share", "please do not post
    publicly", "not for customers", "keep this internal", "publicera inte"): with nothing but ``_BARE_BETWEEN``
    after its verb, so that advice with an object stays prose ("Do not share this code with anyone", "Do not share
    it", "Keep private keys safe", "Dela inte ditt lösenord"). ``firm``: set apart by a break, where "Keep it
    internal:" labels what follows (a sentence "Keep it private." advises)."""
    if _label_instruction(words, broken):
        return True
    polite = _folded(_POLITE)
    rest = list(words[next((n for n, word in enumerate(words) if word not in polite), len(words)):])
    rest_broken = list(broken[len(words) - len(rest):])
    if not rest:
        return False
    negations, public = _folded_restricting_words()[1], _folded_restricting_words()[2] | _folded(_HEAD_PUBLIC_VERBS)
    bare = _folded(_BARE_BETWEEN) | _folded(_OBJECTLESS) | _folded(_OUTSIDERS) | _folded(_ARTICLES)
    if rest[0] in negations and len(rest) > 1 and rest[1] in public and not _states(rest[1:]) and all(
            w in bare for w in rest[2:]):
        return True  # "do not share", "do not post", "don't mention it to customers"
    restricting = _folded_restricting_words()[0] | _folded(_ROUND_CORE_MORE)
    kept_between = _folded(_KEPT_BETWEEN) if firm else _folded(_KEPT_BETWEEN) - {"it"}
    if rest[0] in _folded(_KEEP_WORDS) and rest[-1] in restricting and all(w in kept_between for w in rest[1:-1]):
        return True  # "keep internal", "keep this internal"; "keep it private" advises
    if _forbids(rest, objectless=True):
        return True
    if rest[0] not in negations:
        return False
    outsiders = _folded(_OUTSIDERS)
    last = max((n for n, word in enumerate(rest) if word in outsiders), default=len(rest))
    narrowed = rest[last + 1:last + 2] != [] and rest[last + 1] in _folded(_NARROWING) and not rest_broken[last + 1]
    if narrowed:  # "Not for customers on the free plan: exports are paused" says which customers
        return False
    return _for_outsiders(rest[1:], rest_broken[1:]) or _tells_outsiders(rest[1:])


def _untypoed(part: str) -> str:
    """``part`` with each word of four letters or more that no list knows and is one slip (``_slip_of``) from a
    word of ``_slipped_words`` spelled as that word: "Intrnal only", "Internal olny", "Staf only", "Not for
    custmers"."""
    return re.sub(r"[^\W\d_]+", lambda match: _spelled(match.group()), part)


@lru_cache(maxsize=4096)
def _spelled(word: str) -> str:
    """One word as ``_untypoed`` reads it; kept, since a postmortem repeats its words thousands of times (a 200 KB
    one was 5 s of the gate's CPU read word by word)."""
    if word == "donot":
        return "do not"
    meant = _slipped_words()
    if len(word) < 4 or word in _round_vocabulary() or (word[-1] == "s" and word[:-1] in meant):
        return word  # "Interns", "Privates": a label word's plural, no slip of "internes"
    return next((r for r in meant if _slip_of(word, r) and word not in (r + "s", r + "e")), word)


@lru_cache(maxsize=1)
def _slipped_words() -> tuple[str, ...]:
    """The words a slip is read as (``_untypoed``): restricting and label words, "only" in its languages, staff,
    the readers kept out ("custmers")."""
    restricting, _, _, _, staff, only, _ = _folded_restricting_words()
    words = restricting | _folded(_ROUND_ALONE) | only | (staff - _folded(_TEAM_STAFF_WORDS)) | _folded(_OUTSIDERS)
    return tuple(sorted(word for word in words if len(word) >= 4))


def _slip_of(word: str, meant: str) -> bool:
    """A letter left out, doubled or two swapped ("intrnal", "internnal", "internla"); not one letter for another,
    which makes other words ("interval")."""
    # Read in one pass, not through ``distance`` (its table for every unknown word against every label word was
    # most of the gate's time on a long postmortem); ``tests/test_gate.py`` checks both say the same.
    if abs(len(word) - len(meant)) == 1:
        longer, shorter = (word, meant) if len(word) > len(meant) else (meant, word)
        at = _first_difference(longer, shorter)
        return longer[at + 1 :] == shorter[at:]
    if len(word) != len(meant) or word == meant:
        return False
    at = _first_difference(word, meant)
    swapped = meant[at + 1 : at + 2] + meant[at : at + 1]
    return len(swapped) == 2 and word[at : at + 2] == swapped and word[at + 2 :] == meant[at + 2 :]


def _first_difference(a: str, b: str) -> int:
    """Where ``a`` and ``b`` first differ (the shorter one's length if it is the longer one's start)."""
    return next((at for at, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


@lru_cache(maxsize=1)
def _folded_idioms() -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(fold(word)[0] for word in idiom) for idiom in _HEAD_IDIOMS)


def _not_public(words: Sequence[str]) -> bool:
    """ "Not public", "Non-public", "Nicht öffentlich", "Inte offentligt", "Not yet public" heading a line: in a
    sentence they state a fact ("the fix is not public yet"), alone before a break they label what follows."""
    negations, adjectives = _folded_restricting_words()[1], _folded_public_adjectives()[0]
    core = [word for word in words if word not in _folded(("yet", "noch", "annu"))]
    return (len(core) == 2 and core[0] in negations and core[1] in adjectives) or core == ["nonpublic"]


def _without_brackets(part: str) -> str:
    """``part`` without its brackets' content, closed ("Internal only (ops)") or cut by the part's break ("Update
    (private: 10.0.0.0/8) ..." is cut at its colon): a bracket is the bracket rules' to judge (``lookalike``)."""
    return _UNCLOSED_BRACKET.sub(" ", _BRACKETED_GROUP.sub(" ", part))


_BRACKETED_GROUP = lazy_re.compile(r"\([^()\[\]]*\)|\[[^()\[\]]*\]")
_UNCLOSED_BRACKET = lazy_re.compile(r"[(\[][^()\[\]]*$|^[^()\[\]]*[)\]]")


@lru_cache(maxsize=1)
def _head_label_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    restricting, _, _, _, staff, only, _ = _folded_restricting_words()
    labels = restricting | _folded(_ROUND_ALONE) | _folded(_LABEL_WORDS) | _folded(("internally",))
    staff = staff - {fold(_ADJECTIVE_STAFF_WORD)[0]}  # "Personal: degraded" is a plan, in English
    fillers = (_folded(_ROUND_COMPANIONS) | _folded(_LABEL_MODIFIERS) | only | _folded(_LABEL_GLUE)
               | _folded(_NOTE_WORDS) | _folded(_POLITE)) - labels - staff
    return labels, staff, fillers


# What ends a label heading its detail, as punctuation ends an instruction's head (``_round_instruction_as_read``), in
# the folded text (an em dash is "ー", "|" an "l"): ":", ";", "/", "→", "|", an em dash, a dash spaced on either side
# or doubled, a full stop, "!" or "?" before a space, "·" ("•" folds to it), "⇒", "➔", a newline (a chat shows it as
# typed; a hard-wrapped "(confidential\ncomputing VMs)" is refused, and says to reword). Not "=", "&" or "+", which
# join a cloud's kinds of machine in ordinary prose ("(confidential & public VMs)", "(N2D + confidential)",
# "(confidential = true)"): review 23m.
# A hyphen joining words is none ("(confidential-computing VMs)"), nor a comma, which lists ("(confidential, internal
# and public buckets)"). An en dash folds to a hyphen: typed without spaces it joins words. "until" and its
# neighbours too: "(confidential until fixed)", "(vertraulich bis auf Weiteres)", "(konfidentiellt tills vidare)" say
# for how long, not which thing.
_ALONE_BREAK = lazy_re.compile(r"[:;/→·⇒➔]|ー|-+(?=\s)|(?<=\s)-+|--+|[.!?](?=\s)|\n|(?<=\s)l(?=\s)"
                          r"|(?<=\s)(?:until|till|bis|tills|pending)(?=\s)")


def _labelled_alone(content: str, words: Sequence[str]) -> bool:
    """Whether a round bracket holds nothing but a confidentiality label (``_ROUND_ALONE``) and its companions
    (``_ROUND_COMPANIONS``: "(confidential)", "(Company Confidential)", "(Internal and Confidential)"), or such a
    label heading what follows a break (``_ALONE_BREAK``: "(confidential: ...)", "(confidential | ...)") or ending
    what precedes one other than a colon ("(CHG-4411 — confidential)"; "(security type: Confidential)" is a
    setting); "private" does neither (``_ROUND_NO_HEAD``). A label beside one other word is refused too
    ("(confidential/public)"): read as a pair, "(confidential/Nightingale: CHG-4411)" was published. A key: value
    list headed by one is refused all the same ("(confidential: 3 nodes, standard: 12 nodes)"): read as a list,
    "(confidential: CHG-4411; cause: ...)" was published. ``words`` are the bracket's (``_run_words``)."""
    labels = _folded(_ROUND_ALONE)
    if labels.isdisjoint(words):
        return False
    spans = list(re.finditer(r"[^\W\d_]+", content.replace("ー", " ")))
    kinds = _label_kinds([span.group() for span in spans], labels)
    if None not in kinds:
        return True
    if "heads" not in kinds:
        return False
    breaks = list(_ALONE_BREAK.finditer(content))
    if not breaks:
        return False
    return _label_heads(spans, kinds, breaks) or _label_ends(spans, kinds, breaks)


def _label_heads(spans: Sequence[re.Match[str]], kinds: Sequence[str | None], breaks: Sequence[re.Match[str]]) -> bool:
    seen, heading = 0, False
    for brk in breaks:
        while seen < len(spans) and spans[seen].end() <= brk.start():
            if kinds[seen] is None:
                return False  # a word no label takes: every longer head holds it too
            heading = heading or kinds[seen] == "heads"
            seen += 1
        if heading:
            return True
    return False


def _label_ends(spans: Sequence[re.Match[str]], kinds: Sequence[str | None], breaks: Sequence[re.Match[str]]) -> bool:
    """Whether the words after the last break before the last word are all label words and companions, with a label
    that heads: "(CHG-4411 — confidential)", "(CHG-4411 | still confidential)"; not "(3 nodes | private beta)"."""
    last = spans[-1].start()
    before = [brk for brk in breaks if brk.end() <= last]
    if not before:
        return False
    brk = before[-1]
    if brk.group() == ":":  # "(security type: Confidential)": a key and its value, not detail and its label
        return False
    tail = [kind for span, kind in zip(spans, kinds, strict=True) if span.start() >= brk.end()]
    return None not in tail and "heads" in tail


def _label_kinds(words: Sequence[str], labels: frozenset[str]) -> list[str | None]:
    """For each word, whether it is a label that may head detail ("heads"), one that may not ("label"), a companion
    ("companion", a phrase of time as a whole: ``_ROUND_TIME_PHRASES``) or none of these (None). Beside "private"
    alone only ``_PRIVATE_COMPANIONS`` are companions."""
    no_head = _folded(_ROUND_NO_HEAD)
    kinds: list[str | None] = [("label" if word in no_head else "heads") if word in labels else None for word in words]
    if "heads" not in kinds:
        companions = _folded(_PRIVATE_COMPANIONS)
        return [kind or ("companion" if word in companions else None) for word, kind in zip(words, kinds, strict=True)]
    companions = _folded(_ROUND_COMPANIONS)
    for at, word in enumerate(words):
        if kinds[at] is None and word in companions:
            kinds[at] = "companion"
        for phrase in _folded_time_phrases():
            if tuple(words[at:at + len(phrase)]) == phrase:
                kinds[at:at + len(phrase)] = ["companion"] * len(phrase)
    return kinds


@lru_cache(maxsize=1)
def _folded_time_phrases() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(fold(word)[0] for word in phrase) for phrase in _ROUND_TIME_PHRASES)  # "time" folds to "tirne"


def _instruction_at(words: Sequence[str], broken: Sequence[bool]) -> bool:
    """Whether an instruction to hide starts at ``words[0]``, whatever follows it: a negation before a public word,
    with or without an object ("do not share", "don't publish it"; "not public" states a fact), or before "for
    customers"; a verb then its negation or a prohibition (``_forbids``); "keep (this) internal"; a restricted TLP
    level; a restricting word beside an "only" word or a degree, or staff with "only" (``_round_label``)."""
    _, negations, public, _, _, _, between = _folded_restricting_words()
    if words[0] in negations and not _states(words[1:]) and (
            _public_index(words[1:], broken[1:], public, between) is not None or _for_outsiders(words[1:], broken[1:])
            or _tells_outsiders(words[1:])):
        return True
    if _forbids(words, objectless=False) or _keeps_internal(words, broken) or (words[0] == _TLP and _restricted_tlp(words[:2])):
        return True
    return any(_round_label(words[:count]) for count in range(1, min(len(words), _MAX_RUN_WORDS) + 1))


def _for_outsiders(words: Sequence[str], broken: Sequence[bool]) -> bool:
    """Whether ``words`` (after a negation) say "for customers" ("(not for customers)", "(nicht für die Kunden)")."""
    if not words or words[0] not in _folded(_FOR_WORDS):
        return False
    at = 2 if words[1:2] and words[1] in _folded(_ARTICLES) else 1
    while at < len(words) and words[at] in _folded(_OUTSIDERS) and at + 1 < len(words) and (
            words[at + 1] in _folded(_OUTSIDERS) and not broken[at + 1]):
        at += 1  # "(not for external users)"
    if at >= len(words) or words[at] not in _folded(_OUTSIDERS):
        return False
    # Whatever follows: "(not for customers yet)", "(... root cause CHG-4411)" hide as much as "(not for customers)";
    # one that says which customers is refused too, and is reworded without brackets (fail closed, review 21r).
    return True


def _tells_outsiders(words: Sequence[str]) -> bool:
    """Whether ``words`` (after a negation) say "tell customers" ("(don't tell customers)", "(do not mention to
    customers)"), "post publicly" ("(do not post publicly)") or "nach außen geben"."""
    if len(words) >= 2 and words[0] in _folded(_TELL_WORDS):
        rest = words[2:] if words[1] in _folded(_ARTICLES) else words[1:]
        rest = rest[1:] if rest[:1] and rest[0] in _folded(_ARTICLES) else rest
        # "(we do not tell users to retry)" says what they are told, not what is kept from them
        return rest[:1] != [] and rest[0] in _folded(_OUTSIDERS) and rest[1:2] != ["to"]
    if len(words) >= 2 and words[0] in _folded(_POST_WORDS) and words[1] in _folded(_POST_HOW):
        return True
    if len(words) >= 2 and words[0] in _folded(_ARTICLES) and words[1] in _folded(_OUTSIDERS):
        # "(nicht an Kunden weitergeben)": the readers before the verb
        public = _folded_restricting_words()[2] | _folded_weak_public_words()[0]
        return words[2:3] != [] and words[2] in public
    return words[:1] == ["nach"] and words[1:2] == ["aussen"] and words[2:3] != [] and (
        words[2] in _folded(_POST_WORDS) or words[2] in _folded_restricting_words()[2])


def _keeps_internal(words: Sequence[str], broken: Sequence[bool]) -> bool:
    """ "(keep internal)", "(keep this internal)", "(håll detta internt)", "(intern halten)", "(keep this in-house)",
    whatever follows."""
    restricting = _folded_restricting_words()[0] | _folded(_ROUND_CORE_MORE)
    if words[0] in restricting:
        return words[1:2] != [] and words[1] in _folded(_KEEP_AFTER)
    if words[0] not in _folded(_KEEP_WORDS):
        return False
    at = 1
    while at < len(words) - 1 and words[at] in _folded(_KEPT_BETWEEN):
        at += 1
    if words[at:at + 2] == ["in", "house"] or words[at:at + 1] == ["inhouse"]:
        return True
    if at >= len(words) or words[at] not in restricting:
        return False
    return True  # "(keep internal now)", "(keep internal root cause ...)": whatever follows (review 21r)


@lru_cache(maxsize=1)
def _round_label_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """``_round_label``'s strong, core and glue words, made once: it is called for every run of every bracket."""
    restricting, _, _, _, _, only, _ = _folded_restricting_words()
    return ((only - {"just"}) | _folded(_ROUND_STRONG),
            restricting | _folded(_ROUND_CORE_MORE) | (_folded(_LABEL_WORDS) - {"know"}),
            _folded(_LABEL_GLUE) | _folded(_ROUND_GLUE_MORE))


def _round_label(words: Sequence[str]) -> bool:
    """Whether ``words`` are a label phrase: restricting or label words with an "only" word or a degree and glue
    between ("internal only", "for internal use only", "strictly confidential", "nur intern"), or staff and other
    groups with "only" ("staff only", "ops only", "only for SRE")."""
    _, _, _, _, staff, only, _ = _folded_restricting_words()
    strong, core, glue = _round_label_words()
    if words[0] in glue or words[-1] in glue:
        return False
    if (all(w in core or w in strong or w in glue for w in words) and any(w in core for w in words)
            and any(w in strong for w in words)):
        return True
    staff_alone = all(w in staff or w in only or w in _folded_staff_only_between() for w in words)
    return staff_alone and _says_staff_only(words, staff, strong)


def _instruction(words: Sequence[str], broken: Sequence[bool]) -> bool:
    """Whether ``words`` are, as a whole, an instruction to hide what follows, which round brackets and a link's text
    cannot make prose: a label (``_label_instruction``) or an imperative (``_imperative``)."""
    return bool(words) and len(words) <= _MAX_RUN_WORDS and (_label_instruction(words, broken)
                                                             or _imperative(words, broken))


def _label_instruction(words: Sequence[str], broken: Sequence[bool]) -> bool:
    """A restricting or label word with "only" or a degree ("(nur intern)", "(internal only)", "(for internal use
    only)"; "(internal)" and "(internal API)" describe a thing), staff and other groups with "only" and nothing else
    ("(staff only)", "(Mitarbeiter und Partner only)"), a restricted TLP level alone ("(TLP:AMBER)"; "(TLP:AMBER
    indicators)" names a feed), or "(off the record)". In round brackets such a phrase counts among other words too
    (``_round_label``)."""
    _, _, _, _, staff, only, _ = _folded_restricting_words()
    staff_alone = all(w in staff or w in only or w in _folded_staff_only_between() for w in words)
    tlp_alone = words[0] == _TLP and (len(words) == 2 or words[2:] == ["strict"]) and _restricted_tlp(words[:2])
    return (_labelled(words, broken, need_modifier=True) or (staff_alone and _says_staff_only(words, staff, only))
            or tlp_alone or _off_the_record(words, broken))


def _off_the_record(words: Sequence[str], broken: Sequence[bool]) -> bool:
    """"(off the record)", "(strictly off the record, please)", "(off record for now)", "(off the record until
    15:00)", or heading its detail after a break ("[off the record: CHG-4411]"): told to one who may not pass it on."""
    asides = _folded(_LABEL_MODIFIERS) | _folded(_POLITE) | _folded(_ROUND_STRONG) | _folded(_ROUND_COMPANIONS)
    start = next((n for n, word in enumerate(words) if word not in asides), len(words))
    for phrase in _OFF_THE_RECORD:
        end = start + len(phrase)
        if tuple(words[start:end]) != phrase or any(broken[start + 1:end]):  # "(off, record)" is two settings
            continue
        rest = [word for word in words[end:] if word not in asides]
        return (end == len(words) or broken[end] or not rest or rest[0] in _folded(_UNTIL)
                or tuple(rest) in _ROUND_TIME_PHRASES)
    return False


def _imperative(words: Sequence[str], broken: Sequence[bool]) -> bool:
    """An instruction not to publish: a negation opening the run before a public word ("(do not publish)", "(not for
    public release)"; "(not public)", "(not yet released)" state a fact; "(please do not share it)" advises the
    reader: ``_objectless``), a verb then its negation or a prohibition (``_forbids``), or labels then one of these
    ("(internal, do not share)", "(confidential - do not share)")."""
    restricting, negations, public, _, _, _, between = _folded_restricting_words()
    polite = _folded(_POLITE)
    start = next((i for i, word in enumerate(words) if word not in polite), len(words))
    rest = words[start:]
    if rest and rest[0] in negations and not _states(rest[1:]):
        at = _public_index(rest[1:], broken[start + 1:], public, between)
        if at is not None and (at > 0 or _objectless(rest[2:])):
            return True
    if _forbids(words, objectless=True):
        return True
    labels = _imperative_labels()
    lead = next((i for i, word in enumerate(words) if word not in labels), len(words))
    return 0 < lead < len(words) and any(w in restricting or w in _folded(_LABEL_WORDS) for w in words[:lead]) and (
        _imperative(words[lead:], broken[lead:]))


@lru_cache(maxsize=1)
def _imperative_labels() -> frozenset[str]:
    restricting, *_, only, _ = _folded_restricting_words()
    return restricting | _folded(_LABEL_WORDS) | _folded(_LABEL_MODIFIERS) | only


def _objectless(after: Sequence[str]) -> bool:
    """Whether what follows a negated public verb leaves it about the text itself: nothing, "this", "the following",
    "externally", "until ..." (``_OBJECTLESS``); an object ("it", "your password", "posts") makes it advice."""
    if not after:
        return True
    if after[0] == "the":
        return after[1:2] != [] and after[1] in _folded(_THE_FOLLOWING)
    return after[0] in _folded(_OBJECTLESS)


def _forbids(words: Sequence[str], *, objectless: bool) -> bool:
    """A public verb then its negation, Swedish word order ("[publicera inte]", "[dela inte]"), or a public noun then
    a prohibition ("[Weitergabe untersagt]", "[distribution prohibited]"), opening the run. ``objectless``: in round
    brackets, nothing but ``_OBJECTLESS`` words may follow the verb ("(dela inte ditt lösenord)" is advice)."""
    polite = _folded(_POLITE)
    rest = words[next((i for i, word in enumerate(words) if word not in polite), len(words)):]
    if rest[:1] and rest[0] in _folded(_VERBS_BEFORE_NEGATION) and rest[1:2] and rest[1] in _folded(
            _NEGATIONS_AFTER_VERB):
        return not objectless or _objectless(rest[2:])
    if not rest or rest[0] not in _folded(_PROHIBITED_NOUNS):
        return False
    negations, between = _folded_restricting_words()[1], _folded(_PROHIBITION_BETWEEN)
    for index, word in enumerate(rest[1:_MAX_BETWEEN + 2], 1):
        if word in _folded(_PROHIBITIONS):
            return True
        if word in negations:
            return rest[index + 1:index + 2] != [] and rest[index + 1] in _folded(_PERMITTED)
        if word not in between:
            return False
    return False


def _states(words: Sequence[str]) -> bool:
    """Whether ``words`` after a negation start with "public" as an adjective, maybe after "yet": "(not public)",
    "(noch nicht öffentlich)" say what a thing is, where "(not for public release)" says what to do."""
    adjectives = _folded_public_adjectives()[0]
    first = 1 if words[:1] and words[0] in _folded(("yet", "noch", "annu")) else 0
    return words[first:first + 1] != [] and words[first] in adjectives


def _labelled(words: Sequence[str], broken: Sequence[bool], *, need_modifier: bool) -> bool:
    """Whether ``words``, up to an "until ..." (``_UNTIL``) or an embargo's time ("[embargoed: 14:00 UTC]"), are label
    words and modifiers alone (``_LABEL_WORDS``; restricting words too when ``need_modifier``, which asks for a
    modifier: "(nur intern)", not "(intern)", and lets ``_LABEL_GLUE`` stand between: "(for internal use only)")."""
    until, timed = _folded(_UNTIL), _folded(_TIMED_LABELS)
    cut = next((i for i, word in enumerate(words)
                if i > 0 and (word in until or (broken[i] and words[i - 1] in timed))), len(words))
    modifiers = _folded(_LABEL_MODIFIERS) | _folded_restricting_words()[5]
    glue = _folded(_LABEL_GLUE) if need_modifier else frozenset()
    core = [word for word in words[:cut] if word not in modifiers and word not in glue]
    if not core or (need_modifier and not any(word in modifiers for word in words[:cut])):
        return False
    labels = _folded(_LABEL_WORDS) | (_folded_restricting_words()[0] if need_modifier else frozenset())
    return all(word in labels for word in core)


def _restricted_tlp(words: Sequence[str]) -> bool:
    """A Traffic Light Protocol label of a level other than CLEAR ("[TLP:AMBER]"); "[TLP:CLEAR]" is public."""
    return any(word == _TLP and next_word and next_word not in _folded(_TLP_PUBLIC)
               for word, next_word in _with_next(words))


def _with_next(words: Sequence[str]) -> list[tuple[str, str]]:
    """Each word with the one after it ("" after the last)."""
    return list(zip(words, [*words[1:], ""][:len(words)], strict=True))


def _run_words(run: str) -> tuple[list[str], list[bool]]:
    """The words of a bracketed run, and for each whether anything but spaces (a comma, a full stop, a digit)
    stands between it and the word before: the "reach" exemption never reads across it (``_describes_reach``)."""
    words: list[str] = []
    broken: list[bool] = []
    position = 0
    for match in re.finditer(r"[^\W\d_]+", run):
        if match.group() == "t" and words and run[position:match.start()] == "'":
            words[-1] += "t"  # "don't" as one word, "dont" (a typographic apostrophe folds to "'")
        elif match.group() == "call" and words and words[-1] == "on" and run[position:match.start()] in (" ", "-"):
            words[-1] = "oncall"  # "[on-call only]", "[on call only]": a team (``_TEAM_STAFF_WORDS``)
        else:
            words.append(match.group())
            broken.append(bool(run[position:match.start()].strip()))
        position = match.end()
    return words, broken


def _holds_back(words: Sequence[str], broken: Sequence[bool]) -> bool:
    """Whether ``words`` hold a restricting word, "staff only" or a negation with a public word (``_restricting_run``)."""
    if not words:
        return False
    restricting, negations, public, technical, staff, only, between = _folded_restricting_words()
    if any(word in restricting and next_word not in technical
           for word, next_word in zip(words, [*words[1:], ""], strict=True)):
        return True
    if _says_staff_only(words, staff, only):
        return True
    return any(word in negations and _says_public(words[i + 1:], broken[i + 1:], public, between, opens=i == 0)
               for i, word in enumerate(words)) or any(
        word.startswith(negation) and word[len(negation):] in public for word in words for negation in negations)


def _tags(folded: str, typed: Sequence[str]) -> str:
    """``folded`` with each bracket as tag syntax reads it (``typed[i]``: the character folded into ``folded[i]``):
    square and curly ones as "[" and "]", ASCII angle brackets as "<" and ">", round ones left as they are."""
    out = []
    for char, source in zip(folded, typed, strict=True):
        if char in "[(" and source in "[{<" or char == "[":
            out.append("<" if source == "<" else "[")
        elif char in "])" and source in "]}>" or char == "]":
            out.append(">" if source == ">" else "]")
        else:
            out.append(char)
    return "".join(out)


def _tag_pairs(tags: str) -> list[tuple[int, int]]:
    """The openers of each tag pair "[X ...]...[/X]" whose X is no formatting tag (``_FORMATTING_TAGS``), its closer
    naming X, a slip or a start of it ("[/redact]"). A pair typed in ASCII angle brackets on both
    sides is XML or HTML quoted (a postmortem's config excerpt: ``<timeout>30</timeout>``), left to the marker
    words' check like any bracketed text."""
    found = []
    for closer in _TAG_CLOSER.finditer(tags):
        word = closer.group(1)
        if word in _folded_formatting_tags() or _PATH_NAMED.search(tags, max(0, closer.start() - 12), closer.start()):
            continue
        joined = _joined_words(closer.group(2) or "")
        openers = [m for m in _TAG_OPENER.finditer(tags, 0, closer.start())
                   if _tag_opener(m) and _closes(word, m.group(1)) and m.group(1) not in _folded_formatting_tags()
                   and _words_after(m)[:len(joined)] == joined]
        if not openers:
            continue
        opener = openers[0]
        if not (tags[opener.start()] == "<" and tags[closer.start()] == "<"):
            found.append((opener.start(), opener.end()))
    return found


def _joined_words(rest: str) -> list[str]:
    """The words a closer's word is joined to without a space ("[/ops-only]": "only"; "[/ops.]": none): the
    closer names them too, so "[/api.json]" closes no "[api]" while "[/sre.only]" closes "[sre.only]"."""
    return re.findall(r"[^\W_]+", re.split(r"\s", rest, maxsplit=1)[0])


def _words_after(opener: re.Match[str]) -> list[str]:
    return re.findall(r"[^\W_]+", opener.group(2))


def _tag_opener(opener: re.Match[str]) -> bool:
    """Not a list of values written without spaces ("[orders,5f1c2a,9be3]"); "[ops,eyes only]" is an opener."""
    rest = opener.group(2)
    return "," not in rest or " " in rest.strip()


def _closes(closer: str, opener: str) -> bool:
    """Whether a closer's word closes an opener's: the same, a start of it ("[/op]" for "[ops]"), or one slip
    from a word of four letters or more ("[/redactd]"; "[app]" and "[/api]" are two names)."""
    if closer == opener:
        return True
    return (len(closer) >= 2 and opener.startswith(closer)) or (min(len(closer), len(opener)) >= 4
                                                              and distance(closer, opener) <= 1)


@lru_cache(maxsize=1)
def _folded_formatting_tags() -> frozenset[str]:
    return frozenset(fold(tag)[0] for tag in _FORMATTING_TAGS)


@lru_cache(maxsize=1)
def _folded_restricting_words() -> tuple[frozenset[str], ...]:
    """``_RESTRICTING_WORDS``, ``_NEGATIONS``, ``_PUBLIC_WORDS``, ``_TECHNICAL_AFTER``, ``_STAFF_WORDS``,
    ``_ONLY_WORDS`` and ``_BETWEEN`` as ``fold`` spells them ("geheim" is "geheirn")."""
    def folded(words: Sequence[str]) -> frozenset[str]:
        return frozenset(fold(word)[0] for word in words)

    return tuple(folded(words) for words in (_RESTRICTING_WORDS, _NEGATIONS, _PUBLIC_WORDS, _TECHNICAL_AFTER,
                                             _STAFF_WORDS, _ONLY_WORDS, _BETWEEN))


@lru_cache(maxsize=1)
def _folded_weak_public_words() -> tuple[frozenset[str], ...]:
    """``_WEAK_PUBLIC_WORDS``, ``_WEAK_BETWEEN``, ``_PARTICIPLES`` and ``_TO_BE`` as ``fold`` spells them."""
    return tuple(_folded(words) for words in (_WEAK_PUBLIC_WORDS, _WEAK_BETWEEN, _PARTICIPLES, _TO_BE))


@cache  # keyed by the module's fixed word lists
def _folded(words: tuple[str, ...]) -> frozenset[str]:
    """A word list as ``fold`` spells it ("tlp:amber" has "arnber"), once per list."""
    return frozenset(fold(word)[0] for word in words)


@lru_cache(maxsize=1)
def _folded_public_adjectives() -> tuple[frozenset[str], frozenset[str]]:
    """``_PUBLIC_ADJECTIVES`` and ``_REACH_WORDS`` as ``fold`` spells them."""
    return (frozenset(fold(word)[0] for word in _PUBLIC_ADJECTIVES), frozenset(fold(word)[0] for word in _REACH_WORDS))


@lru_cache(maxsize=1)
def _folded_staff_only_between() -> frozenset[str]:
    return frozenset(fold(word)[0] for word in _STAFF_ONLY_BETWEEN)


@lru_cache(maxsize=1)
def _folded_marker_words() -> frozenset[str]:
    """``_MARKER_WORDS`` as ``fold`` spells them, which is how texts are searched ("customer" is "custorner")."""
    return frozenset(fold(word)[0] for word in _MARKER_WORDS)


def _letters(word: str) -> str:
    return "".join(c for c in word if c.isalpha())


def _near_for(word: str) -> bool:
    letters = _letters(word)
    return len(letters) >= 2 and within_one_edit(letters, "for")


def _marker_word(word: str) -> bool:
    """A closer's word that reads as a marker's: "for" or "private" or one slip from them, or a marker word."""
    letters = _letters(word)
    return (_near_for(letters) or (len(letters) >= 4 and distance(letters, _WORD) <= 2)
            or letters in _folded_marker_words())


def mistyped_audience_marker(
    text: str, audiences: Iterable[str], *, everyday: Iterable[str] = ()
) -> tuple[int, str] | None:
    """A ``[W ID]`` in ``text`` whose W is one slip from "for" ("[fro acme]", "[fоr acme]"), a ``(for ID)`` or
    ``{for ID}``, or a ``[ID]`` alone, whose ID is within one slip of one of ``audiences`` (ids or names, any
    case): it was meant as that customer's span. Also a bracket or a line headed by words addressed to one
    before its detail ("(for acme: circuit 7)", "[acme only - ...]", "For acme only: ...", ``_addresses``),
    where an id in ``everyday`` (``id_is_a_word``: "cloud", "route") counts by its name alone. Returns (offset in
    ``text``, the text as written) or None. Prose such as "[or the CDN]" names no audience."""
    folded, where = fold(text)
    known = [k for k in (_letters_and_digits(fold(a)[0]) for a in audiences) if k]
    words = {_letters_and_digits(fold(w)[0]) for w in everyday}
    addressable = frozenset(known) - words
    spans = [(m.start(), m.end()) for m in _OPENER.finditer(folded) if _meant_for(m, known, words)]
    spans += [(m.start(), m.end()) for m in (*_NAMED.finditer(folded), *_CLOSER.finditer(folded))
              if any(_names(m.group(1), k) for k in addressable)]
    within = _real_spans(text)  # detail already inside [for ID] or [private] is addressed as it should be
    spans += [(m.start(), m.end())
              for pattern in (_ADDRESSED, _ADDRESSED_ALONE, _ADDRESSED_LINE) for m in pattern.finditer(folded)
              if addressable and not any(begin <= where[m.start("head")] < end for begin, end in within)
              and _addresses(m.group("head"), addressable, alone=pattern is _ADDRESSED)]
    if not spans:
        return None
    start, end = min(spans)
    return where[start], text[where[start]:where[end] if end < len(where) else len(text)]


def _real_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text``'s real ``[for ID]`` and ``[private]`` spans run (an unclosed one to the end); malformed markers
    are ``parse``'s to refuse."""
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    for match in MARKER.finditer(text):
        if match.group(1) and opened is not None:
            spans.append((opened, match.end()))
            opened = None
        elif not match.group(1) and opened is None:
            opened = match.start()
    if opened is not None:
        spans.append((opened, len(text)))
    return spans


def _meant_for(opener: re.Match[str], known: Sequence[str], words: Collection[str] = ()) -> bool:
    """A slip of "[for ID]": an opener one slip from "for" before an id or name within one slip; an id that is an
    everyday word (``words``) only exactly, after "for" itself ("(or edge)" is prose, "(for edge)" is not)."""
    bracket, word, named = opener.group(1), _letters_and_digits(opener.group(2)), _letters_and_digits(opener.group(3))
    slip = _near_for(word) and (word != "for" or bracket == "(")  # an exact "[for ID]" is a real marker
    return slip and any(named == k and word == "for" if k in words else _near_id(named, k) for k in known)


# A run addressed to someone before its detail, in brackets of either kind ("(for acme: circuit 7 down)",
# "[acme only - rack 7]"), or as a line of its own ("For acme only: circuit 7 down"): the head is judged, so the
# detail after it cannot hide whom it was meant for (review 29a).
# The breaks that end a head before its detail, as folded (an en dash folds to "-", an em dash to "ー", ">" to "]"): a
# colon, a semicolon, a dash between spaces or ending the line, an em dash, "--", "->", "=>", "→"; never across a line.
_HEAD_BREAK = r"(?::|;|[ \t]-(?:[ \t]|$)|[ \t]*(?:\u30fc|--|[-=]\]|\u2192))"
_NOT_IN_A_HEAD = r"[^\[\]()\n:;\u30fc]"
# An opening bracket, the head, a break: what follows (nested brackets, any length, never closed) is the detail.
_ADDRESSED = lazy_re.compile(r"[\[(][ \t]*(?P<head>" + _NOT_IN_A_HEAD + r"{1,40}?)" + _HEAD_BREAK, re.MULTILINE)
# A round (or curly) bracket that holds only its head ("(For acme only) ..."): addressed only with an addressing
# word. Square ones are ``_OPENER``'s and ``_NAMED``'s: an exact "[for acme]" is a real marker.
_ADDRESSED_ALONE = lazy_re.compile(r"\(\s*(?P<head>[^\[\]()\n:;]{1,40}?)\s*\)")
# A line's or a sentence's head, after any quote, bullet or number a list gives it ("> For acme only:", "1. To acme
# -", "Errors rose. For acme only: ..."), or after a bracket ("[14:05] For acme only:", "[/for] For acme only:"; as
# folded, ">" is "]" and "•" is "·").
_ADDRESSED_LINE = lazy_re.compile(
    r"(?:^|(?<=[.!?\])])[ \t]+)[ \t]*(?:(?:[>\]*+\-\u00b7\u25aa\u00b0]|\d{1,3}[.)])[ \t]*)*(?P<head>" + _NOT_IN_A_HEAD
    + r"{1,40}?)[ \t]*" + _HEAD_BREAK, re.MULTILINE,
)


@lru_cache(maxsize=4096)  # a postmortem repeats its heads ("Note:", "(see docs: ...)")
def _addresses(head: str, known: frozenset[str], *, alone: bool) -> bool:
    """Whether ``head`` addresses one of the audiences ``known`` (an id or name, exactly) with an addressing word
    ("for acme", a slip of "for", "to acme", "acme only", "only for Acme Corp") or, ``alone`` (a bracket's head before
    its detail), by itself ("(acme: 3 circuits)"); either way an id of four letters or more among at most three words
    ("(acme team: ...)"). A line's head needs an addressing word ("Acme: we are on it" is prose to everyone)."""
    words = re.findall(r"[^\W_]+", head)
    addressing = _folded_addressing()
    core = list(words)
    while core and (core[0] in addressing or _near_for(core[0])):
        core.pop(0)
    while core and core[-1] in addressing:
        core.pop()
    addressed = len(core) < len(words)
    if not core or not (addressed or alone):
        return False
    # Exactly: a word one slip from an id is prose here ("For more: ..." names no customer "moore", "Internal note:"
    # no "node"); a slip of the marker itself is ``_OPENER``'s and ``_NAMED``'s.
    return "".join(core) in known or (len(core) <= 3 and any(len(word) >= 4 and word in known for word in core))


# Words that address a bracketed run to someone: "[to acme]", "[acme only]", "[foracme]".
_ADDRESSING = ("for", "to", "only", "just", "attn", "fao", "re", "customer", "cust", "internal", "private")


def _names(bracketed: str, known: str) -> bool:
    """Whether a bracketed run names audience ``known`` (folded letters and digits) as a marker would: as a whole
    ("[acme]", "[acme corp]"), with addressing words ("[to acme]", "[acme only]"), an id of four letters or more
    among at most three words ("[acme team]", "[cc acme]"), or run together with an addressing word ("[foracme]").
    "[POST /v1/orders]" or "[warning]" name no customer "post" or "ing"."""
    whole = _letters_and_digits(bracketed)
    if _near_id(whole, known):
        return True
    words = re.findall(r"[^\W_]+", bracketed)
    if words[:1] in (["for"], ["private"]):  # a real marker, or a slip ``_OPENER`` judges
        return False
    others = [word for word in words if not _near_id(word, known)]
    if len(others) < len(words) and all(word in _folded_addressing() for word in others):
        return True
    # An id of four letters or more, exactly, with a few words around it ("[acme team]", "[cc acme]"); not a request
    # line or a path ("[POST /v1/orders]" for a customer "post"), nor a word one slip from it ("[host db-1]").
    if len(known) >= 4 and known in words and len(words) <= 3 and "/" not in bracketed:
        return True
    return len(known) >= 4 and any(whole in (word + known, known + word) for word in _folded_addressing())


@lru_cache(maxsize=1)
def _folded_addressing() -> frozenset[str]:
    return frozenset(fold(word)[0] for word in _ADDRESSING)


def _near_id(named: str, known: str) -> bool:
    return named == known or (len(known) >= 4 and within_one_edit(named, known))  # "[or as]" is prose


def within_one_edit(a: str, b: str) -> bool:
    """``distance(a, b) <= 1``, read in one pass: a postmortem's every bracketed head is compared with every
    customer's id (``tests/test_gate.py`` checks both say the same)."""
    if a == b or _slip_of(a, b):
        return True
    if len(a) != len(b):
        return False
    at = _first_difference(a, b)
    return a[at + 1 :] == b[at + 1 :]


def _letters_and_digits(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


def fold(text: str) -> tuple[str, list[int]]:
    """The folded form markers are recognised in, and for each of its characters the source offset."""
    pieces: list[str] = []
    where: list[int] = []
    index = 0
    while index < len(text):
        piece, following = text[index], index + 1
        if piece == "&":
            entity = _ENTITY.match(text, index)
            if entity is not None and html.unescape(entity.group()) != entity.group():
                piece, following = html.unescape(entity.group()), entity.end()
        folded = _fold_piece(piece)
        pieces.append(folded)
        where.extend([index] * len(folded))
        index = following
    return "".join(pieces), where


# What ``_fold_piece`` makes of the ASCII characters that fold to anything but their lower case (their TR 39
# skeletons and brackets), so that a text of ASCII alone never loads ICU: about 10 ms of CPU before every post's
# first request. tests/test_gate.py checks the table against ICU for all 128 characters.
_ASCII_FOLDS = {
    '"': "''", "%": "º/₀", "0": "o", "1": "l", "<": "[", ">": "]", "M": "rn", "`": "'", "m": "rn", "{": "(",
    "|": "l", "}": ")",
}


@lru_cache(maxsize=8192)
def _fold_piece(piece: str) -> str:
    """NFKC, format characters and marks dropped, case folded, TR 39 skeleton, small capitals as
    letters, brackets as ``[ ] ( )``."""
    if len(piece) == 1 and piece.isascii():
        return _ASCII_FOLDS.get(piece, piece.lower())
    return _fold_with_icu(piece)


def _fold_with_icu(piece: str) -> str:
    if piece in _APOSTROPHES:
        return "'"
    text = unicodedata.normalize("NFKC", piece)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    if len(text) == 1 and unicodedata.category(text) == "Lu":
        # A capital's skeleton before case folding: the Greek Epsilon and Nu read as "E" and "N", while their small
        # letters ("ε", "ν") have the skeletons "ꞓ" and "v"; "Ι" (Iota) reads as "l" and keeps its small letter's "i".
        latin = _skeleton(text)
        if len(latin) == 1 and "A" <= latin <= "Z":
            return _fold_piece(latin)
    if len(text) == 1 and _small_lookalike(text):
        # A small Greek or Cyrillic letter whose own skeleton is no Latin letter reads as its capital's: "ε" (skeleton
        # "ꞓ") as "e", "κ" and "к" ("ĸ") as "k", "μ" as "m"; "η" keeps its "n", "ι" its "i".
        return _fold_piece(text.upper())
    text = text.casefold()
    if text in _ROUND:
        return _ROUND[text]
    if text in _BRACKET_SYMBOLS:
        return _BRACKET_SYMBOLS[text]
    if len(text) == 1 and unicodedata.category(text) in ("Ps", "Pe") and "QUOTATION" not in unicodedata.name(text, ""):
        # Before the skeleton: "⸦" (SIDEWAYS U BRACKET) has a Canadian syllabic's ("ᑕ"). Quotation marks that are
        # opening punctuation ("„", "‚") open a quote in German, no bracket.
        return "[" if unicodedata.category(text) == "Ps" else "]"
    text = unicodedata.normalize("NFD", _skeleton(text)).casefold() if text else text
    return "".join(_bracket(_latin_base(c)) for c in text if unicodedata.category(c) not in ("Mn", "Me"))


def _small_lookalike(char: str) -> bool:
    """A small Greek or Cyrillic letter whose skeleton is no ASCII letter (marks aside) and whose capital's is one
    ("ε": "ꞓ" and "E"; not "η": "n"; not "δ": "Δ")."""
    if unicodedata.category(char) != "Ll" or not unicodedata.name(char, "").startswith(("GREEK ", "CYRILLIC ")):
        return False
    own = "".join(c for c in unicodedata.normalize("NFD", _skeleton(char)) if unicodedata.category(c) != "Mn")
    capital = char.upper()
    if (len(own) == 1 and own.isascii() and own.isalpha()) or len(capital) != 1:
        return False
    latin = _skeleton(capital)
    return len(latin) == 1 and "A" <= latin <= "Z"


# Letters read two ways: a small Greek nu looks like "v" (its skeleton) but is the small of "Ν" (N): "[iνternal]".
# ``lookalike`` reads a text with it each way (same length, so offsets hold).
_SECOND_READINGS = {"\u03bd": "\u039d"}


# Accents typed for an apostrophe ("don´t" on a German keyboard): NFKC makes them a space and a combining mark,
# which would split the word ("don", "t").
_APOSTROPHES = frozenset("\u00b4\u02ca\u02cb\u1fef\u1ffd\u1fbd\u1fbf\u1ffe")
# Round and curly brackets as typed (or fullwidth): common in prose, so lenient. Any other
# bracket, even one whose TR 39 skeleton is "(" (〔, ❨), is no ordinary prose: strict.
_ROUND = {"(": "(", "{": "(", ")": ")", "}": ")"}
# Symbols drawn as a bracket that are no opening or closing punctuation (Ps, Pe), so ``_bracket`` misses them: the
# pieces of tall brackets and corners ("⎡private⎤", "⌜private⌝") and the square image and subset signs
# ("⊏private⊐", "⊂private⊃"). Strict, as any bracket other than round and curly.
_BRACKET_SYMBOLS = {**dict.fromkeys("⎡⎣⎛⎝⎧⎩⌜⌞⊏⊑⊂⊆⟃⫷", "["), **dict.fromkeys("⎤⎦⎞⎠⎫⎭⌝⌟⊐⊒⊃⊇⟄⫸", "]")}


def _bracket(char: str) -> str:
    if char in "<«‹" or unicodedata.category(char) == "Ps":
        return "["
    if char in ">»›" or unicodedata.category(char) == "Pe":
        return "]"
    return char


def _skeleton(text: str) -> str:
    return str(_spoof_checker().getSkeleton(0, text))


@lru_cache(maxsize=1)
def _spoof_checker():  # type: ignore[no-untyped-def]
    # Imported on first use: most commands never fold a text, and start-up time matters.
    import icu

    return icu.SpoofChecker()


_LATIN_NAME = lazy_re.compile(r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL |CAPITAL )?([A-Z])(?: |$)")


def _latin_base(char: str) -> str:
    """TR 39 keeps small capitals (ᴘʀɪᴠᴀᴛᴇ) apart from their letters; a reader does not."""
    if char.isascii() or not char.isalpha():
        return char
    named = _LATIN_NAME.match(unicodedata.name(char, ""))
    return named.group(1).lower() if named else char


def distance(a: str, b: str) -> int:
    """Edit distance with transpositions (optimal string alignment): "privte" is 1 from "private"."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return previous[-1]


_ASCII_RUNS = lazy_re.compile(r"[\x00-\x7f]+")


def without_accents(text: str) -> str:
    """``text`` with its accents and other combining marks taken off, compatibility forms folded
    (NFKD): "Störung" is "Storung", "Ｓão" is "Sao". For matching and ids, never for what is shown."""
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFKD", text)
                                                if not unicodedata.combining(c)))


# Turkish and Azerbaijani dotted capital I folds to "i" and a combining dot, and dotless ı folds to itself:
# readers take "İzmir" and "Diyarbakır" for the names "Izmir" and "Diyarbakir" (they are no accents, which
# the guard keeps: "Uber" is not "über").
_TURKIC_I = {"i\u0307": "i", "ı": "i"}
_TURKIC = lazy_re.compile("|".join(_TURKIC_I))


def comparable(text: str) -> str:
    """The folded form two texts are compared in: NFKC, invisible characters dropped, case folded, the
    Turkic i's as i."""
    folded = unicodedata.normalize("NFKC", text)
    if folded.isascii():
        return folded.casefold()
    # Look up each distinct character once, and only those outside ASCII (no format character is
    # in it): the egress guard folds whole pages, thousands of characters of few kinds.
    others = set(_ASCII_RUNS.sub("", folded))
    drop = {ord(c): None for c in others if c in IGNORABLE_MARKS or unicodedata.category(c) == "Cf"}
    kept = (folded.translate(drop) if drop else folded).casefold()
    if "ı" in kept or "\u0307" in kept:
        kept = _TURKIC.sub(lambda m: _TURKIC_I[m.group()], kept)
    return unicodedata.normalize("NFKC", kept)

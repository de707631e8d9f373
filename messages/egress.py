"""The egress guard: the last check before anything leaves for a public place or a customer's channel.

The views are the design: a public formatter is handed a ``PublicView``, which
has no private field, so it cannot print one (and a customer's, an
``AudienceView`` with nothing of anyone else's). This module is defence in depth
against a bug in that design. Every payload that is not internal (a channel's
message, each file of the site, each upload) is checked against the values its
readers may not see, of the update(s) it carries
(``messages.visibility.forbidden_values``); a payload that holds one is refused
as a permanent failure, and nothing is sent.

Payloads are compared as readers would read them: HTML and XML entities are
decoded and tags dropped (Telegram's HTML, a page, a feed), JSON strings are
unescaped, Slack's mrkdwn escapes and links are undone, percent-escapes are
decoded. Both sides are folded by ``messages.gate.comparable`` (compatibility
forms, invisible characters, case) and compared three ways, so that no escape
or markup a formatter adds can split a value out of sight:

* as they are, with runs of white space as one space (a line break where a
  value had a space, a value cut across two messages);
* without markup and escape characters (``ACME\\_CORP``, ``*ACME*CORP``);
* as words: every run of punctuation as one space (``ACME_CORP``, ``acme-corp``
  in a link, ``ACME CORP``), for values of two words or more.

Words a destination prints of its own are not evidence: a customer called
"Next" is not leaked by "Next update by", nor "Post" by "Postmortem". A
caller that can render the same payload without the update's texts (the
*template*: labels, status words, markup, the page's title) hands it to
``guard``; a value that is one of the words the product and its config print
(``own_words``) is then refused only if the payload holds it more often than
the template does. Any other value is refused wherever it appears: a value
only a bug could print (a private note, a ticket) is never excused by a
template that printed it too.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import unquote

from broadcaster.messages.gate import comparable, without_accents

from broadcaster import lazy_re
from broadcaster.errors import DeliveryError


class LeakRefused(DeliveryError):
    """A public payload held a private value of its update: nothing was sent. ``found`` says what alone,
    without the advice for an update already stored (a preview refusing a new one has its own)."""

    def __init__(self, message: str, found: str = "") -> None:
        super().__init__(message, retryable=False)
        self.found = found or message


# Media types for what the channels send; the site's files use their usual ones.
TELEGRAM_HTML = "text/html"  # Telegram's parse_mode=HTML: a few tags, entities
SLACK_MRKDWN = "text/x-slack-mrkdwn"  # &amp; &lt; &gt; escapes, <url|label> links, *_~` markup
SLACK_BLOCKS = "application/x-slack-blocks+json"  # Block Kit JSON whose strings are mrkdwn
HTML_STRINGS = "application/x-html-strings+json"  # JSON whose strings may be HTML (Matrix's formatted_body, a mail's HTML)

_TAG = lazy_re.compile(r"<[^<>]*>")
_SLACK_LINK = lazy_re.compile(r"<([^<>|]*)\|([^<>]*)>")
CALENDAR = "text/calendar"  # iCalendar: folded lines, backslash escapes
_FOLD = lazy_re.compile(r"\r?\n[ \t]")
_ICAL_ESCAPE = lazy_re.compile(r"\\([\\;,nN])")
# Markdown and mrkdwn emphasis and escapes, which never belong to a value as readers see it.
_MARKUP = lazy_re.compile(r"[\\*_~`]")
_PUNCTUATION = lazy_re.compile(r"[\W_]+")
_MIN_FORM = 4  # a derived form shorter than this would match ordinary text
_SIFT_FROM = 16  # values from which a text's vocabulary is searched before the text (``PrivateValues._held``)


def _spaced(folded: str) -> str:
    return " ".join(folded.split())


def _vocabulary(text: str) -> str:
    return " ".join(set(text.split(" ")))


def _markup_free(spaced: str) -> str:
    return _MARKUP.sub("", spaced)


def _words(spaced: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", spaced).split())


def _useful(form: str, *, words: bool = False) -> bool:
    """A derived form is worth a search if it holds a letter and is long enough.

    It is searched in the payload's derived form even when it equals the value
    (``ACMECORP`` in ``*ACME*CORP``). A form of digits alone ("#2026" -> "2026")
    would match any year; a words form of one word is the markup-free form's job
    (but see ``_words_form``).
    """
    return len(form) >= _MIN_FORM and any(c.isalpha() for c in form) and (" " in form or not words)


def _words_form(words: str, markup: str) -> str | None:
    """The words form worth a search: of two words or more, or of one word that is not the markup-free form, whose
    punctuation at an edge it drops ("yahoo" of a customer "Yahoo!"). A name of two words is found without its
    punctuation ("Acme Corp" of "Acme Corp."), and the config's check of its public texts reads a name of one word
    so too (``config_loader._naming``): searched only as written, "Yahoo users see errors" went public."""
    return words if _useful(words, words=True) or (words != markup and _useful(words)) else None


# How often each form of a value (as spaced, markup-free, words) a payload may hold.
Allowance = tuple[int, int, int]
_NEVER: Allowance = (0, 0, 0)


class Compared:
    """A readable text in the three forms values are searched in, each made once, when needed.

    Made once for a long text searched again and again (the product's own words).
    """

    def __init__(self, readable: str) -> None:
        self.base = _spaced(comparable(readable))

    @cached_property
    def markup(self) -> str:
        return _markup_free(self.base)

    @cached_property
    def words(self) -> str:
        return _words(self.base)

    @cached_property
    def vocabulary(self) -> str:
        """Each distinct piece of the spaced form between spaces, once, joined by spaces. A text without spaces
        (a piece of a value, a word of its words form) is somewhere in the text exactly when it is in this, and
        this is a fraction of a long text (a page's JSON of 160,000 characters: 27,000)."""
        return _vocabulary(self.base)

    @cached_property
    def markup_vocabulary(self) -> str:
        """``vocabulary`` of the markup-free form, whose pieces differ where markup stood inside one."""
        return _vocabulary(self.markup)

    def may_hold_words(self, words: tuple[str, ...], *, sifted: bool = False) -> bool:
        """False when the words form cannot hold a value of these ``words``: each of them is in the
        spaced form (the words form only keeps runs of letters and digits of it). Checked first, so
        that a long text's words form, the guard's dearest step, is made only when it may matter.
        ``sifted``: looked for in ``vocabulary`` (worth making when the text is searched for many values)."""
        searched = self.vocabulary if sifted else self.base
        return all(word in searched for word in words)

    def may_hold(self, form: str, *, markup: bool = False) -> bool:
        """False when the spaced form (``markup``: the markup-free form) cannot hold ``form``: a piece of it
        between spaces is in no piece of the text. Searched in ``vocabulary`` rather than in the whole text:
        most values are on no page, and each page is searched for every value."""
        vocabulary = self.markup_vocabulary if markup else self.vocabulary
        return all(piece in vocabulary for piece in form.split(" "))

    def without(self, forms: Iterable[str]) -> Compared:
        """This text with each of ``forms`` (folded) taken out where it stands as whole words, longest
        first: "acme" is taken out of "for acme:", never out of "acme-4711" or "acmelogistics"."""
        masked = Compared("")
        masked.base = _spaced(_whole_words(tuple(forms)).sub(" ", self.base))
        return masked


@lru_cache(maxsize=256)
def _whole_words(forms: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


class OwnNames(tuple[str, ...]):
    """A reader's own names, for ``PrivateValues.of``'s mask (``visibility.readers_own_name``): its full name
    first, the one every rendering addressed to it prints ("For Globex:"), then its id and short names."""


@dataclass(frozen=True)
class PrivateValues:
    """The private values no public payload may hold, kept in their comparable form.

    ``allowed``: values a payload may hold a few times (see ``allowing``), with how often.
    ``mask``: what the readers may read and the product prints itself, their own audience's name,
    taken out of a text before it is searched for the values it holds: another customer's name inside
    it ("Acme Corp" in "For Acme Corp EU:") is not that customer, and must not silence one customer for
    good. Every other value (a ticket "ACME-4711", a customer "Acme Logistics", anything holding
    the name or held by it only in part) is searched in the whole text.
    ``whole``: those of ``mask`` that are the reader's full name, a mask even for a value spelt like it (``_masks``).
    """

    folded: frozenset[str] = frozenset()
    allowed: tuple[tuple[str, Allowance], ...] = ()
    mask: frozenset[str] = frozenset()
    whole: frozenset[str] = frozenset()

    def __getstate__(self) -> dict[str, object]:
        # The values alone, not the forms worked out from them: a full build's workers send back
        # the values of ten thousand pages, which the build keeps and rarely searches with again.
        # A field at its default is left out (the class gives it back).
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}

    @cached_property
    def _forms(self) -> tuple[tuple[str, str | None, str | None, Allowance], ...]:
        """Per value: (as spaced, markup-free or None, words or None, its allowance), in a stable order."""
        allowed = dict(self.allowed)
        return tuple((*_forms_of(value), allowed.get(value, _NEVER)) for value in sorted(self.folded))

    @cached_property
    def _masks(self) -> dict[str, frozenset[str]]:
        """Per value that is part of a name in ``mask``, the names it is part of: the text is searched for it with
        those taken out. Only names longer than the value as the guard reads it (as words: accents, punctuation and
        markup aside, so "globex" is the whole of "Globex &"): one spelt like it is another customer's name or id
        written as the reader's own short name or id ("Acme-Corp", "Acme Corp." against "Acme Corp" of "Acme Corp
        EU"), taken out of no text for it; inside the reader's full name ("For Acme Corp EU:") it still is, or that
        customer could be given no detail at all. The reader's full name (``whole``) is a mask even for a value
        spelt like it: every rendering addressed to a customer called "Globex" prints "For Globex:", and a sister's
        id globex must not refuse each of them."""
        if not self.mask:  # a public page's values: most of a full build's
            return {}
        names = [(name, _words(name), name in self.whole) for name in self.mask]
        masks = {}
        for value, _, value_words, _ in self._forms:
            as_words = _words(value)
            holding = frozenset(
                name for name, words, whole in names
                if (value in name or (value_words is not None and value_words in words))
                and (whole or not (value == name or as_words == words)))
            if holding:
                masks[value] = holding
        return masks

    @cached_property
    def _inside_mask(self) -> frozenset[str]:
        """The values searched with some of ``mask`` taken out (``_masks``)."""
        return frozenset(self._masks)

    @cached_property
    def _each_word(self) -> dict[str, tuple[str, ...]]:
        """A words form -> its words."""
        return {words: tuple(words.split(" ")) for _, _, words, _ in self._forms if words is not None}

    @classmethod
    def of(cls, values: Iterable[str], mask: Iterable[str] = ()) -> PrivateValues:
        """``values`` and ``mask`` folded; the first of a mask of ``OwnNames`` is the reader's full name (``whole``)."""
        whole = mask[:1] if isinstance(mask, OwnNames) else ()
        return cls(_folded(values), mask=_masked(mask), whole=_masked(whole))

    def __or__(self, other: PrivateValues) -> PrivateValues:
        allowed = dict(self.allowed)
        for value, counts in other.allowed:
            allowed[value] = tuple(map(max, allowed.get(value, _NEVER), counts))  # type: ignore[assignment]
        return PrivateValues(self.folded | other.folded, tuple(sorted(allowed.items())), self.mask | other.mask,
                             self.whole | other.whole)

    def __bool__(self) -> bool:
        return bool(self.folded)

    def found_in(self, readable: str | Compared) -> str | None:
        """The first private value (folded) that ``readable`` holds, in any of the three forms, or None."""
        return next(self._held(_compared(readable)), None)

    def allowing(self, template: str | Compared, own_words: Compared | None = None) -> PrivateValues:
        """These values, each allowed as often as the readable ``template`` holds it.

        With ``own_words`` (the words the product and its config print), only a value
        found among them is allowed anything: any other value stays refused wherever
        it appears, however often the template holds it.
        """
        shown = _compared(template)
        held = set(self._held(shown, every=True))
        if own_words is not None and held:
            held &= set(PrivateValues(frozenset(held))._held(own_words, every=True))
        if not held:
            return PrivateValues(self.folded, mask=self.mask, whole=self.whole)
        # Counted in the text as it is searched: without the reader's own name for the values inside it,
        # or each time the template prints that name would allow one more mention of the other value.
        allowed = []
        for value, value_markup, value_words, _ in self._forms:
            if value in held:
                counted = self._searched(shown, value, {})
                allowed.append((value, (counted.base.count(value),
                                        counted.markup.count(value_markup) if value_markup else 0,
                                        counted.words.count(value_words) if value_words else 0)))
        return PrivateValues(self.folded, tuple(allowed), self.mask, self.whole)

    def _searched(self, text: Compared, value: str, masked: dict[frozenset[str], Compared]) -> Compared:
        """``text`` as it is searched for ``value``: without the names of ``mask`` it is part of (``_masks``);
        ``masked`` keeps each such text, made once per set of names."""
        names = self._masks.get(value)
        if names is None:
            return text
        if names not in masked:
            masked[names] = text.without(names)
        return masked[names]

    def _held(self, text: Compared, *, every: bool = False) -> Iterator[str]:
        """The values ``text`` holds more often than they are allowed (each once, in a stable order;
        ``every``: as if nothing were allowed)."""
        masked: dict[frozenset[str], Compared] = {}
        each_word = self._each_word
        # Making a text's vocabulary costs about as much as 25 searches of it: worth it for the linking files,
        # searched for the values of every incident they list, not for an incident page's few.
        sifted = len(self._forms) >= _SIFT_FROM
        for value, value_markup, value_words, allowance in self._forms:
            in_base, in_markup, in_words = _NEVER if every else allowance
            searched = self._searched(text, value, masked)
            if (not sifted or searched.may_hold(value)) and _more(searched.base, value, in_base):
                yield value
            elif (value_markup is not None and (not sifted or searched.may_hold(value_markup, markup=True))
                  and _more(searched.markup, value_markup, in_markup)):
                yield value
            elif (value_words is not None and searched.may_hold_words(each_word[value_words], sifted=sifted)
                  and _more(searched.words, value_words, in_words)):
                yield value


def _folded(values: Iterable[str]) -> frozenset[str]:
    """Each value folded, and again without its accents where it has some: "Nestle Waters" typed for a
    customer "Nestlé Waters" is that customer. Only the values lose their accents, never the texts
    searched: a customer "Uber" is not in the German "über", nor "Mas" in the Spanish "más"."""
    folded = set()
    for value in values:
        folded.add(_fold(value))
        folded.add(_fold_without_accents(value))
    folded.discard("")
    return frozenset(folded)


def _masked(names: Iterable[str]) -> frozenset[str]:
    """Names of a mask, folded (``_folded``) and spaced as the texts they are taken out of."""
    return frozenset(_spaced(f) for f in _folded(names))


# The same values come back page after page (every customer's name is a value of every public
# page): a full build folds and shapes each once, not ten thousand times.
@lru_cache(maxsize=4096)
def _fold(value: str) -> str:
    return comparable(value).strip()


@lru_cache(maxsize=4096)
def _fold_without_accents(value: str) -> str:
    return _fold(without_accents(value))


@lru_cache(maxsize=4096)
def _forms_of(value: str) -> tuple[str, str | None, str | None]:
    """A folded value as spaced, and its markup-free and words forms where they are worth a search."""
    base = _spaced(value)
    markup, words = _markup_free(base), _words(base)
    return base, markup if _useful(markup) else None, _words_form(words, markup)


def _compared(text: str | Compared) -> Compared:
    return text if isinstance(text, Compared) else Compared(text)


def _more(text: str, form: str, allowed: int) -> bool:
    return form in text if not allowed else text.count(form) > allowed


def readable_text(payload: str | bytes, media_type: str = "text/plain") -> str:
    """What a reader of the payload sees, as one text holding every reading of it.

    HTML and XML: entities decoded, and again with tags dropped (HTML: once, as a
    browser shows it; XML: twice, as feeds carry HTML escaped inside it). JSON: its strings, each read as the medium
    after the ``+`` says (Slack's blocks hold mrkdwn), joined and also glued
    (a value cut across two blocks). Slack mrkdwn: escapes and links undone.
    Any percent-escapes (a value in a link) are decoded as a further reading, of the first one: entities decoded
    and tags kept (a link's address), every string of a JSON, so that a name holding "&" ("Globex &amp; Partners")
    reads there as it does everywhere else.
    """
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    readings = _readings(text, media_type)
    if "%" in readings[0]:
        readings.append(unquote(readings[0]))
    return "\n".join(readings)


def _readings(text: str, media_type: str) -> list[str]:
    if media_type.endswith("json"):
        try:
            strings = list(_json_strings(json.loads(text)))
        except ValueError:
            return [text]
        inner = {SLACK_BLOCKS: SLACK_MRKDWN, HTML_STRINGS: "text/html"}.get(media_type, "text/plain")
        read = [(key, "\n".join(_readings(s, inner))) for key, s in strings]
        # The "text" strings in order, alone: a message cut into blocks reads as one text.
        texts = [s for key, s in read if key == "text"]
        return ["\n".join(s for _, s in read), "\n".join(texts), "".join(texts)]
    if media_type == SLACK_MRKDWN:
        unlinked = _SLACK_LINK.sub(lambda m: f"{m.group(1)} {m.group(2)}", text)
        return [_unescape(unlinked)]
    if media_type == CALENDAR:
        # RFC 5545: lines folded at 75 octets (a value may be cut across a fold), TEXT escaped.
        unfolded = _FOLD.sub("", text)
        return [unfolded, _ICAL_ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), unfolded)]
    if "xml" in media_type:
        # A feed carries its items' HTML escaped inside XML: a feed reader shows it decoded twice.
        shown = _unescape(_TAG.sub("", _unescape(_TAG.sub("", text))))
        return [_unescape(_unescape(text)), shown]
    if "html" in media_type:
        # As a browser (or Telegram) shows it: tags dropped, entities decoded once. Twice would take the "<EU>" a
        # name "Globex <EU> Partners" prints as "&lt;EU&gt;" for a tag, and its mask would not be found there.
        return [_unescape(_unescape(text)), _unescape(_TAG.sub("", text))]
    return [text]


# Each "&" of a text that starts one of the references the product's templates, markupsafe and the feeds write.
_COMMON_REFERENCES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&#x27;", "'"), ("&amp;", "&"))
_OTHER_REFERENCE = lazy_re.compile(r"&(?!(?:lt|gt|quot|#39|#x27|amp);)")


def _unescape(text: str) -> str:
    """``html.unescape(text)``, without its call into Python for each reference where every one is of the common
    few: a feed of hundreds of components holds tens of thousands, and reading them was half of a post's CPU.
    ``&amp;`` last, so that the "&" it leaves starts nothing, as in one pass; ``tests/test_egress.py`` checks both
    say the same."""
    if "&" not in text or _OTHER_REFERENCE.search(text):
        return html.unescape(text)
    for reference, char in _COMMON_REFERENCES:
        text = text.replace(reference, char)
    return text


def _json_strings(value: Any, key: str | None = None) -> Iterable[tuple[str | None, str]]:
    """Every string of a JSON value (keys too), with the key it is the value of."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield None, str(name)
            yield from _json_strings(item, str(name))
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item, key)


# A template: the payload rendered without the update's texts, and the words the product and
# its config print of their own (None: every value the rendering holds is allowed as often);
# made only when a value is found (None: cannot be made).
Template = Callable[[], tuple[str | bytes, Compared | None] | None]


def guard(
    payload: str | bytes, values: PrivateValues, where: str, media_type: str = "text/plain",
    template: Template | None = None, *, read: Compared | None = None,
) -> PrivateValues:
    """Raise ``LeakRefused`` if the payload, read as its readers would, holds a private value.

    ``template``: see the module's docstring. Returns the values as this payload was
    found clean, each allowed exactly as often as the payload holds it: checking the
    same bytes again (an upload of a built file) passes, one more occurrence does not.
    ``read``: the payload's ``Compared(readable_text(...))``, when the caller checks one
    long payload against many sets of values.
    """
    if not values:
        return values
    readable = read or Compared(readable_text(payload, media_type))
    found = values.found_in(readable)
    if found is not None and template is not None:
        made = template()
        if made is not None:
            shown, own_words = made
            found = values.allowing(readable_text(shown, media_type), own_words).found_in(readable)
            if found is None:
                return values.allowing(readable)
    if found is not None:
        what = (f"refused to publish {where}: it holds private detail of the update "
                f"({len(found)} characters beginning {found[:2]!r}…). Nothing was sent there.")
        raise LeakRefused(
            f"{what} If the public text or title itself names it (a customer by its name or its id, a ticket or a "
            "private note), correct the update without it (`broadcaster amend`). "
            "Otherwise this is a bug in a formatter or the site builder: report it, and use --skip to publish "
            "elsewhere.",
            found=what,
        )
    return values

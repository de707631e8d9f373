"""The reader's language: every word broadcaster writes itself comes from a gettext catalogue.

``[page] language`` picks it ("en", the default; "sv" and "de" ship). The
catalogues are ``messages/locale/<lang>/LC_MESSAGES/broadcaster.po``, made from
``messages/locale/broadcaster.pot`` (extracted by Babel from the code and the
templates); English is the msgids themselves. Adding a language is one .po file.

Catalogues are compiled when first used, in memory (``read_po`` then
``write_mo``): no binary .mo in git and no build step to forget, for a few
milliseconds once per process and language. An unknown language is a
ConfigError when the config is read (``check_language``).

The language is in effect inside ``speaking(language)``: the site build and
each channel's rendering enter it, so the formatters and the model's labels
read the right catalogue without passing it through every function. Outside,
English. The operator's own text is never translated.

Dates and plurals come from Babel's CLDR data for the language, always with an
explicit locale (Babel would otherwise read the process's LC_TIME).
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Babel loads when a word is first written: the config only asks which languages ship
    from babel.core import Locale
    from babel.numbers import NumberPattern

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "broadcaster"
DEFAULT = "en"

_current: ContextVar[str] = ContextVar("broadcaster_language", default=DEFAULT)


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> tuple[str, ...]:
    """The languages broadcaster can write: English and every shipped catalogue."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {DEFAULT}))


@cache
def translations(language: str) -> stdlib_gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English: the msgids as they are, without loading Babel,
    whose catalogue machinery costs an English command about 10 ms of its start-up)."""
    if language == DEFAULT:
        return stdlib_gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with catalogue_path(language).open("rb") as source:
        catalogue = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Write in ``language`` inside this block (this thread or task only)."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def pgettext(context: str, message: str) -> str:
    return str(translations(_current.get()).pgettext(context, message))


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def number(value: int | float) -> str:
    """A count or figure as the language writes it ("1,234" / "1 234" / "1.234")."""
    if _current.get() == DEFAULT and isinstance(value, int):
        return f"{value:,}"  # CLDR's English, without loading it (``tests/test_language.py`` holds them equal)
    from babel.numbers import format_decimal

    return format_decimal(value, locale=_current.get())


def percent(value: Decimal | float, decimals: int | None = None) -> str:
    """``value`` (0-100) as the language writes a percentage ("99.95%", "99,95 %"), with exactly
    ``decimals`` digits after the separator (None: as many as the value has, "99.9" stays "99.9").
    The caller decides the figure; this only writes it, in the language's own percent pattern
    (spacing, sign) with the digits fixed.
    """
    figure = value if isinstance(value, Decimal) else Decimal(repr(value))
    if decimals is None:
        exponent = figure.normalize().as_tuple().exponent
        decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    if _current.get() == DEFAULT and figure.is_finite() and figure >= 0:
        # CLDR's English percent ("#,##0%", rounded half to even), without loading Babel's locale data: about 15 ms
        # of every English post before its first upload. ``tests/test_language.py`` holds the two equal.
        rounded = (figure / 100 * 100).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
        return f"{rounded:,.{decimals}f}%"
    pattern, locale = _percent_pattern(_current.get(), decimals)
    written: str = pattern.apply(figure / 100, locale)
    return written


@cache
def _percent_pattern(language: str, decimals: int) -> tuple[NumberPattern, Locale]:
    """The language's percent pattern with ``decimals`` fixed digits, parsed once (a page writes
    ninety figures per component)."""
    from babel.core import Locale
    from babel.numbers import parse_pattern

    locale = Locale.parse(language)
    pattern = locale.percent_formats[None].pattern
    return parse_pattern(pattern.replace("0", "0." + "0" * decimals, 1) if decimals else pattern), locale


def month_abbreviations(language: str | None = None) -> tuple[str, ...]:
    """January..December, abbreviated, in ``language`` (default: the one in effect)."""
    return _month_abbreviations(language or _current.get())


# CLDR's English abbreviations, without loading Babel's locale data (``tests/test_language.py`` holds them equal).
_ENGLISH_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def _month_abbreviations(language: str) -> tuple[str, ...]:
    # Once per language: every incident page of a full build asks (Babel parses the locale each time).
    if language == DEFAULT:
        return _ENGLISH_MONTHS
    from babel.dates import get_month_names

    names = get_month_names("abbreviated", locale=language)
    return tuple(names[month] for month in range(1, 13))


def calendar_words(language: str) -> list[str]:
    """Month and day names of ``language`` in every width: the page's own words for the egress guard."""
    from babel.dates import get_day_names, get_month_names

    words: list[str] = []
    for width in ("wide", "abbreviated"):
        words += get_month_names(width, locale=language).values()
        words += get_day_names(width, locale=language).values()
    return words


def catalogue_words(language: str) -> list[str]:
    """Every translation in ``language``'s catalogue (the product's words, as the reader sees them)."""
    from babel.messages.pofile import read_po

    if language == DEFAULT:
        return []
    with catalogue_path(language).open("rb") as source:
        catalogue = read_po(source, locale=language, domain=DOMAIN)
    words: list[str] = []
    for message in catalogue:
        if message.id:
            strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
            words += [s for s in strings if s]
    return words

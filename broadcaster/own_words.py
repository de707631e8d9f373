"""The words broadcaster prints of its own, for the egress guard's templates (``messages.egress``).

A private value among them (a customer called "Next", "Post" or "Operational",
or named like the page) is refused only where the update's own text adds it:
as often as the payload's rendering without the update's texts holds it, it
is the destination's own word. A value outside them is refused wherever it
appears, so a formatter bug that prints a private note or ticket is never
excused by a template that printed it too.

They are read from where they are written, never from what a formatter
returns: the string literals of the code and templates that render payloads
(and of the feed library, which names the feeds' tags), the translations of
the page's language (``[page] language``) and its names of months and days,
and the config's own texts (the page's title and base URL, the time
zone and its abbreviations, the components' names and groups).

Reading the code's literals parses some 100 modules (about 0.4 s of CPU), on
every post of a site whose customer is named like one of these words. They are
kept between commands in jinja's private per-user folder (the one its compiled
templates are kept in: made 0700, refused if anyone else owns it), under the
hash of every source they were read from: a source changed in any byte is read
again, and a kept copy that cannot be read, or does not match its own hash, is
never used.
"""

from __future__ import annotations

import ast
import calendar
import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadcaster import kept
from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.messages import i18n
from broadcaster.messages.egress import Compared

# Packages and modules whose literals can reach a public payload: formatters, the site and
# its templates, the engine's announcements and the labels of the model's values.
_PRINTING = ("broadcaster.channels", "broadcaster.messages", "broadcaster.site", "broadcaster.engine", "feedgen")


def own_words(page: PageConfig, components: Sequence[ComponentConfig]) -> Compared:
    """Every word the product and this config print of their own, ready to be searched."""
    return _compared("\n".join((_product_words(), _language_words(page.language), *_config_words(page, components))))


@lru_cache(maxsize=4)
def _compared(text: str) -> Compared:
    return Compared(text)  # folding some 50,000 characters: once per config and process


@cache
def _product_words() -> str:
    names = [*calendar.month_name, *calendar.month_abbr, *calendar.day_name, *calendar.day_abbr]
    return "\n".join((*(name for name in names if name), _source_words()))


def _source_words() -> str:
    sources = [(path, _read(path)) for path in _sources()]
    key = _key(sources)
    words_kept = _kept(key)
    if words_kept is not None:
        return words_kept
    words = []
    for path, source in sources:
        if path.suffix == ".py":
            words += _literals(source)
        elif source is not None:
            words.append(source.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n"))
    read = "\n".join(w for w in words if w)
    _keep(key, read)
    return read


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _key(sources: list[tuple[Path, bytes | None]]) -> str:
    """What the words are read from: every source's path and bytes, this module and Python's version
    (its ``ast`` may read a literal differently)."""
    digest = hashlib.sha256(sys.version.encode())
    digest.update(Path(__file__).read_bytes())
    for path, source in sources:
        digest.update(os.fsencode(path) + b"\0")
        digest.update(b"-" if source is None else len(source).to_bytes(8, "little") + source)
    return digest.hexdigest()


_KEPT = "broadcaster-own-words-{}.txt"


def _kept(key: str) -> str | None:
    """The words kept under ``key``, if the file is there whole."""
    data = kept.read(_KEPT.format(key))
    try:
        return None if data is None else data.decode("utf-8", errors="surrogatepass")  # a literal may spell a lone surrogate
    except UnicodeDecodeError:
        return None


def _keep(key: str, words: str) -> None:
    kept.write(_KEPT.format(key), words.encode("utf-8", errors="surrogatepass"))


@cache
def _language_words(language: str) -> str:
    """The page's language's own words: its code (the calendar's ``LANGUAGE``), its catalogue's
    translations (they are the product's words, as the reader sees them) and its month and day names."""
    return "\n".join((language, *i18n.catalogue_words(language), *i18n.calendar_words(language)))


def _sources() -> Iterator[Path]:
    for name in _PRINTING:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue  # not installed from source: its words are not excused (fail closed)
        origin = Path(spec.origin)
        if spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                yield from sorted(p for p in Path(folder).rglob("*") if p.suffix in (".py", ".html", ".xml"))
        else:
            yield origin


def _literals(source: bytes | None) -> list[str]:
    """The string literals of a module, docstrings left out (nobody reads them on a page)."""
    if source is None:
        return []
    try:
        tree = ast.parse(source.decode("utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def _config_words(page: PageConfig, components: Iterable[ComponentConfig]) -> list[str]:
    words = [page.title, page.base_url, page.description, page.timezone, *_zone_names(page.timezone)]
    for config in components:
        component = config.component
        words += [component.id, component.name, component.group, component.description]
    return [w for w in words if w]


def _zone_names(timezone: str) -> list[str]:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return []
    year = datetime.now().year
    return [datetime(year, month, 1, tzinfo=zone).tzname() or "" for month in (1, 7)]

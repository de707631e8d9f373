"""Extract broadcaster's own words into messages/locale/broadcaster.pot and merge them into every .po.

    .venv/bin/python scripts/catalogues.py            # after changing a word in the code or templates
    .venv/bin/python scripts/catalogues.py --add xx   # start a new language: messages/locale/xx/LC_MESSAGES/broadcaster.po

tests/test_catalogues.py extracts the same way and fails when the POT is not current or a
catalogue misses, leaves fuzzy or empty, or breaks the placeholders of a message.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "messages" / "locale"
POT = LOCALE / "broadcaster.pot"
# Where broadcaster's own words are written: the formatters, the site's code and its templates.
SOURCES = (ROOT / "messages", ROOT / "broadcaster" / "site", ROOT / "channels")
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def extract() -> Catalog:
    """Every message of the sources, as a template catalogue (sorted, no line numbers: stable diffs)."""
    catalog = Catalog(project="broadcaster", domain="broadcaster", charset="utf-8")
    for folder in SOURCES:
        for filename, _line, message, comments, context in extract_from_dir(
            folder, METHODS, OPTIONS, keywords=DEFAULT_KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            catalog.add(message, None, [(f"{folder.name}/{filename}", 0)], auto_comments=comments, context=context)
    return catalog


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=120, sort_output=True, omit_header=False, include_lineno=False,
                 ignore_obsolete=True)


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "broadcaster.po"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", metavar="LANG", help="start a catalogue for LANG")
    args = parser.parse_args(argv)
    template = extract()
    write(template, POT)
    languages = sorted(p.parent.parent.name for p in LOCALE.glob("*/LC_MESSAGES/broadcaster.po"))
    if args.add and args.add not in languages:
        write(Catalog(locale=args.add, domain="broadcaster", project="broadcaster"), po_path(args.add))
        languages.append(args.add)
    for language in languages:
        with po_path(language).open("rb") as source:
            catalog = read_po(source, locale=language)
        catalog.update(template, no_fuzzy_matching=True)
        write(catalog, po_path(language))
        missing = [m.id for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
        print(f"{language}: {len(missing)} message(s) to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

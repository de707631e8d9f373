"""The catalogues are complete: the POT holds exactly the messages of the code and templates, and
every shipped language translates each of them (every plural form, nothing fuzzy, the same
placeholders). Adding a word without translating it fails here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from broadcaster.messages import i18n

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

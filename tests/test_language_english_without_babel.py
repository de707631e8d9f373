"""English, the default, is written without loading Babel's locale data (about 15 ms of every post before its first
upload): its month abbreviations, counts and percentages are CLDR's English, held here to Babel's own output."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.dates import get_month_names
from babel.numbers import format_decimal
from broadcaster.messages import i18n
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_startup import loaded_after


def babel_percent(figure: Decimal, decimals: int) -> str:
    """What ``i18n.percent`` wrote through Babel for English: its percent pattern with the digits fixed."""
    from babel.core import Locale
    from babel.numbers import parse_pattern

    pattern = Locale.parse("en").percent_formats[None].pattern
    fixed = parse_pattern(pattern.replace("0", "0." + "0" * decimals, 1) if decimals else pattern)
    written: str = fixed.apply(figure / 100, Locale.parse("en"))
    return written


def test_the_english_months_are_cldrs() -> None:
    names = get_month_names("abbreviated", locale="en")
    assert i18n.month_abbreviations("en") == tuple(names[m] for m in range(1, 13))


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_an_english_count_is_cldrs(count: int) -> None:
    with i18n.speaking("en"):
        assert i18n.number(count) == format_decimal(count, locale="en")


@settings(max_examples=2000, deadline=None)
@given(st.decimals(min_value=0, max_value=10**7, allow_nan=False, allow_infinity=False, places=6),
       st.one_of(st.none(), st.integers(0, 4)))
def test_an_english_percentage_is_cldrs(figure: Decimal, decimals: int | None) -> None:
    with i18n.speaking("en"):
        written = i18n.percent(figure, decimals)
    if decimals is None:
        exponent = figure.normalize().as_tuple().exponent
        decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    assert written == babel_percent(figure, decimals)


def test_the_figures_a_page_writes_are_cldrs() -> None:
    """Ties rounded half to even, as Babel rounds them, and the uptime figures the page shows."""
    figures: list[tuple[Decimal | float, int | None, str]] = [
        (Decimal("99.995"), 2, "100.00%"), (Decimal("99.985"), 2, "99.98%"), (Decimal("0.005"), 2, "0.00%"),
        (Decimal(100), None, "100%"), (99.9, None, "99.9%"), (Decimal("12345.5"), 0, "12,346%"),
    ]
    with i18n.speaking("en"):
        for figure, decimals, shown in figures:
            assert i18n.percent(figure, decimals) == shown
            exact = figure if isinstance(figure, Decimal) else Decimal(repr(figure))
            assert shown == babel_percent(exact, decimals if decimals is not None else max(
                0, -int(exact.normalize().as_tuple().exponent)))


def test_other_languages_still_write_through_babel() -> None:
    with i18n.speaking("de"):
        assert i18n.percent(Decimal("99.95"), 2) == babel_de(Decimal("99.95"))
        assert i18n.number(1234567) == format_decimal(1234567, locale="de") == "1.234.567"
    assert i18n.month_abbreviations("sv")[4] == get_month_names("abbreviated", locale="sv")[5]


def babel_de(figure: Decimal) -> str:
    from babel.core import Locale
    from babel.numbers import parse_pattern

    pattern = Locale.parse("de").percent_formats[None].pattern
    written: str = parse_pattern(pattern.replace("0", "0.00", 1)).apply(figure / 100, Locale.parse("de"))
    return written


def test_an_english_post_to_the_site_loads_no_babel(tmp_path: Path) -> None:
    (tmp_path / "broadcaster.toml").write_text(
        '[page]\ntitle = "Acme status"\n\n[[components]]\nid = "api"\nname = "API"\n\n[[components]]\nid = "db"\n'
        'name = "Database"\nsla = 99.9\n', encoding="utf-8")
    loaded = loaded_after("""
        sys.argv = ["broadcaster", "post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors."]
        from broadcaster.cli import main
        main()
    """, tmp_path)
    assert "broadcaster.site.build" in loaded["all"], "the site was not built: the probe proves nothing"
    page = (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    assert "%" in page and "Elevated errors." in page  # the uptime figures were written, and the update
    assert [m for m in loaded["all"] if m.startswith("babel")] == []

"""The visibility rules: markers fail closed, and a public view has no private field at all."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest
from broadcaster.messages.model import Impact, Incident, Status, Update
from broadcaster.messages.visibility import (
    PrivateView,
    PublicView,
    full_text,
    private_view,
    public_text,
    public_view,
    split_private,
    view_for,
    without_text,
)

from broadcaster.errors import InputError

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
INCIDENT = Incident("api-errors", "API errors", Impact.MAJOR, Status.INVESTIGATING, NOW)


def update(message: str, **extra: object) -> Update:
    return Update("api-errors", 1, NOW, Status.INVESTIGATING, message, **extra)  # type: ignore[arg-type]


SPLITS = [
    ("no markers", "All fine.", "All fine.", "All fine."),
    ("one span", "Errors [private]for ACME[/private] elevated.", "Errors elevated.", "Errors for ACME elevated."),
    ("two spans", "[private]a[/private] b [private]c[/private]", "b", "a b c"),
    ("upper case", "x [PRIVATE]y[/PRIVATE] z", "x z", "x y z"),
    ("spaces in marker", "x [ private ]y[ /private ] z", "x z", "x y z"),
    # A span on lines of its own leaves no blank line: one would show the public where it was (review 17j).
    ("multi-line span", "Line one.\n[private]secret\nmore[/private]\nLine two.", "Line one.\nLine two.", "Line one.\nsecret\nmore\nLine two."),
    ("between paragraphs", "Para one.\n\n[private]secret[/private]\n\nPara two.", "Para one.\n\nPara two.", "Para one.\n\nsecret\n\nPara two."),
]


@pytest.mark.parametrize(("message", "public", "full"), [s[1:] for s in SPLITS], ids=[s[0] for s in SPLITS])
def test_public_and_full_text(message: str, public: str, full: str) -> None:
    assert public_text(message) == public
    assert full_text(message) == full


MALFORMED = [
    ("unclosed", "a [private] b"),
    ("stray close", "a [/private] b"),
    ("nested", "[private]a[private]b[/private][/private]"),
    ("missing bracket", "a [private b[/private]"),
    ("half closing", "[private]a[/private b"),
    ("closing without open bracket", "a private] b"),
]


@pytest.mark.parametrize("message", [m for _, m in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_malformed_markers_fail_closed(message: str) -> None:
    with pytest.raises(InputError):
        split_private(message)


def test_public_view_has_no_private_field() -> None:
    names = {f.name for f in fields(PublicView)}
    assert not names & {"private_note", "customers", "tickets", "author", "public_message", "raw_message"}
    view = public_view(INCIDENT, update("x [private]secret[/private]", private_note="note", customers=("ACME",)))
    for name in ("private_note", "customers", "tickets", "author"):
        assert not hasattr(view, name)
    assert "secret" not in view.message


def test_private_view_has_everything() -> None:
    view = private_view(INCIDENT, update("x [private]secret[/private]", private_note="note", customers=("ACME",), tickets=("T-1",)))
    assert isinstance(view, PrivateView)
    assert view.message == "x secret" and view.public_message == "x"
    assert (view.private_note, view.customers, view.tickets) == ("note", ("ACME",), ("T-1",))


def test_without_text_keeps_the_shape_of_the_operators_texts_and_nothing_private() -> None:
    """The egress guard's template: even handed the private view (a bug), it is a public view."""
    full = private_view(INCIDENT, update("Errors for *ACME* [private]edge fra-2[/private], see https://docs.acme.io/x 2.",
                                         private_note="note", customers=("ACME",)),
                        url="https://status.acme.io/incidents/api-errors.html")

    shaped = without_text(full)

    assert type(shaped) is PublicView
    assert shaped.message == "xxxxxx xxx *xxxx* xxxx xxx-2, xxx https://xxxx.xxxx.xx/x 2."
    assert (shaped.incident.title, shaped.incident.id) == ("xxx xxxxxx", "xxx-xxxxxx")
    assert shaped.incident.url == "https://status.acme.io/incidents/xxx-xxxxxx.html"
    assert (shaped.status, shaped.components, shaped.next_update_by) == (full.status, full.components, full.next_update_by)


@pytest.mark.parametrize("visibility", ["public", "", "Private", "anything"])
def test_anything_but_private_gets_the_public_view(visibility: str) -> None:
    view = view_for(visibility, INCIDENT, update("x [private]secret[/private]"))
    assert type(view) is PublicView


def test_notices_have_no_public_view_and_stay_off_the_public_timeline() -> None:
    from broadcaster.messages.visibility import public_incident

    notice = Update("api-errors", 2, NOW, Status.INVESTIGATING, "Update overdue PRIVNOTICE", kind="notice")
    with pytest.raises(ValueError):
        public_view(INCIDENT, notice)
    assert "PRIVNOTICE" in private_view(INCIDENT, notice).message
    timeline = public_incident(INCIDENT, [update("First."), notice])
    assert [v.message for v in timeline.updates] == ["First."]


def test_a_correction_replaces_the_text_it_corrects() -> None:
    from broadcaster.messages.visibility import public_incident

    original = update("Errors in eu-west.")
    correction = Update("api-errors", 2, NOW, Status.INVESTIGATING, "Errors in eu-central. [private]typo by bob[/private]",
                        kind="correction", extra={"corrects": "1"})
    timeline = public_incident(INCIDENT, [original, correction])
    assert len(timeline.updates) == 1
    assert timeline.updates[0].message == "Errors in eu-central."
    assert timeline.updates[0].corrected_at == NOW


def test_emoji_shortcodes_keep_their_space() -> None:
    assert public_text("Fixed :tada: [private]by bob[/private]!") == "Fixed :tada:!"


def test_the_postmortem_shown_is_the_latest_as_last_corrected() -> None:
    from broadcaster.messages.visibility import shown_postmortem

    at = datetime(2026, 12, 3, tzinfo=UTC)

    def update(sequence: int, text: str, kind: str, **extra: str) -> Update:
        return Update("inc", sequence, at, Status.RESOLVED, text, kind=kind, extra=extra)

    first, second = update(3, "v1", "postmortem"), update(4, "v2", "postmortem")
    fixed = update(5, "v2, typo fixed", "correction", corrects="4")
    assert shown_postmortem([update(1, "down", "update")]) is None
    assert shown_postmortem([first, second, update(6, "v1 fixed", "correction", corrects="3")]) == (second, "v2")
    assert shown_postmortem([first, second, fixed]) == (second, "v2, typo fixed")

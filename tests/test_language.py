"""The page in the reader's language (issue 17): ``[page] language`` picks the catalogue every word
broadcaster writes itself comes from (page, feeds, JSON's human-readable fields, channel formatters);
the operator's own text is left as written, and machine values (``indicator``, enums) never change."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest

from tests.conftest import BASE_CONFIG, ENGINE, Project
from tests.fakes.world import FakeWorld
from tests.site_helpers import document

PUBLIC_CHAT = "@acmestatus"


def in_language(language: str) -> str:
    return BASE_CONFIG.replace('timezone = "Europe/Berlin"', f'timezone = "Europe/Berlin"\nlanguage = "{language}"')


@pytest.fixture
def swedish_world(project: Project) -> Iterator[FakeWorld]:
    """X, a public Telegram chat and a private Slack channel, on a Swedish page."""
    with FakeWorld() as world:
        project.write_config(ENGINE + textwrap.dedent(f"""
            [channels.x]
            type = "twitter"
            bearer_token = "${{X_TOKEN}}"
            api_url = "{world.x.url}"

            [channels.tg-public]
            type = "telegram"
            token = "${{TG_TOKEN}}"
            chat_ids = ["{PUBLIC_CHAT}"]
            api_url = "{world.telegram.url}"
        """), base=in_language("sv"))
        project.env.update(world.env)
        yield world


def post(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli(
        "post", "--yes", "--json", "--title", "Fel i kassan", "--impact", "major", "-C", "api=partial_outage",
        "--next-update", "30m", *args, "We are looking into it.",
    )
    assert result.exit_code == 0, result.output
    posted: dict[str, Any] = json.loads(result.stdout)
    return posted


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("sv", ["Pågående incidenter", "Större störning i tjänsten", "Undersöker", "Delvis avbrott", "Påverkan: Större"]),
        ("de", ["Aktuelle Störungen", "Größere Dienststörung", "Wird untersucht", "Teilausfall", "Auswirkung: Erheblich"]),
        ("en", ["Current incidents", "Major service disruption", "Investigating", "Partial outage", "Impact: Major"]),
    ],
)
def test_the_page_feeds_and_json_speak_the_page_language(project: Project, language: str, words: list[str]) -> None:
    project.write_config(base=in_language(language))
    posted = post(project)
    index = (project.site / "index.html").read_text()
    assert f'<html lang="{language}">' in index
    for word in words:
        assert word in index, word
    assert "We are looking into it." in index  # the operator's text as written
    page = (project.site / "incidents" / f"{posted['incident_id']}.html").read_text()
    assert f'<html lang="{language}">' in page and words[2] in page
    summary = json.loads((project.site / "summary.json").read_text())
    assert summary["status"] == {"indicator": "major", "description": words[1]}
    assert summary["incidents"][0]["status"] == "investigating" and summary["incidents"][0]["impact"] == "major"
    for name in ("feed.xml", "atom.xml"):
        feed = feedparser.parse((project.site / name).read_bytes())
        assert not feed.bozo and feed.feed.language == language
        assert feed.entries[0].title == f"[{words[2]}] Fel i kassan"


def test_german_dates_use_german_month_names_and_pattern(project: Project) -> None:
    project.write_config(base=in_language("de"))
    post(project)
    footer = document(project.site, "index.html").one("footer").words()
    assert footer.startswith("Zuletzt aktualisiert ") and ". " in footer  # "2. Dez. 2026, 06:00 UTC"
    assert "Zeiten in UTC und in Europe/Berlin." in footer


def test_an_unknown_language_is_refused_and_nothing_is_stored(project: Project) -> None:
    project.write_config(base=in_language("xx"))
    result = project.cli("post", "--yes", "--title", "API errors", "Looking into it.")
    assert result.exit_code == 2
    assert "language" in result.output and '"sv"' in result.output and "broadcaster.po" in result.output
    assert not (project.site / "index.html").exists()


def test_a_path_as_language_is_refused(project: Project) -> None:
    project.write_config(base=in_language("../../etc"))
    assert project.cli("post", "--yes", "--title", "API errors", "Looking into it.").exit_code == 2


def test_the_channels_write_their_own_words_in_the_page_language(project: Project, swedish_world: FakeWorld) -> None:
    posted = post(project)
    assert {d["destination"]: d["state"] for d in posted["deliveries"]}["x"] == "sent"
    tweet = swedish_world.x.tweets[0].text
    assert tweet.startswith("🔴 Undersöker: Fel i kassan") or "Undersöker: Fel i kassan" in tweet
    assert "Nästa uppdatering senast" in tweet and "Uppdatering 1 · " in tweet
    assert "Next update" not in tweet and "We are looking into it." in tweet
    telegram = swedish_world.telegram_messages(PUBLIC_CHAT)[0].text
    assert "Komponenter" in telegram and "api: Delvis avbrott" in telegram and "Incidentsida" in telegram


def test_a_customer_named_like_a_swedish_status_word_publishes(project: Project, swedish_world: FakeWorld) -> None:
    # "Fungerar" (Operational) is on every Swedish page: the own-words rule must know the catalogue's words.
    # A private value (--customer names an [audiences.ID] since issue 15; a ticket is free text).
    posted = post(project, "--ticket", "Fungerar")
    assert {d["destination"]: d["state"] for d in posted["deliveries"]} == {"site": "sent", "x": "sent", "tg-public": "sent"}
    index = document(project.site, "index.html")
    assert "Fungerar" in index.section("components-heading").words()
    assert posted["incident_id"] in (project.site / "index.html").read_text()


def test_a_customers_own_heading_is_in_the_language_in_effect() -> None:
    # Issue 15's heading over a customer's detail (channels, preview, its private page) is a catalogue word.
    from broadcaster.messages import i18n, words

    with i18n.speaking("sv"):
        assert (words.audience_heading("Acme Corp"), words.named_no_detail()) == ("För Acme Corp:", "(namngiven, ingen detalj)")
    with i18n.speaking("de"):
        assert words.audience_heading("Acme Corp") == "Für Acme Corp:"
    assert words.audience_heading("Acme Corp") == "For Acme Corp:"


@pytest.mark.parametrize("language", ["sv", "de"])
def test_matrix_and_email_write_their_own_words_in_the_page_language(language: str) -> None:
    # messages/rich.py (Matrix and email, issue 18) came before the catalogue; its labels now come from it.
    from broadcaster.messages import i18n, rich

    from tests.channel_updates import update, view

    shown = view(update(), private=True)
    english = rich.plain(shown) + rich.rich_html(shown)
    with i18n.speaking(language):
        translated = rich.plain(shown) + rich.rich_html(shown)
        words = [i18n.gettext("Impact"), i18n.gettext("Incident page"), i18n.gettext("Posted %(time)s").split()[0]]
    assert "Impact" in english and "Incident page" in english and "Posted" in english
    assert all(w in translated for w in words)
    assert not any(w in translated for w in ("Impact", "Incident page", "Posted"))


def test_the_texts_broadcaster_writes_itself_reach_the_channels_in_swedish(project: Project, world: FakeWorld,
                                                                           tmp_path: Path) -> None:
    # maintenance schedule's default message, tick's reminder and overdue notice, and the postmortem announcement
    # were English on every page before (issue 17 point 5); the operator's postmortem is left as written.
    from datetime import UTC, datetime, timedelta

    from tests.fakes.world import OPS_CHATS, PUBLIC_CHAT

    project.write_config(ENGINE + "[maintenance]\nreminder_minutes = 60\n" + world.channels_toml(),
                         base=in_language("sv"))
    scheduled = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "Byte av disk",
                            "--start", "30m", "--end", "2h", "-C", "db")
    assert scheduled.exit_code == 0, scheduled.output
    late = (datetime.now(UTC) - timedelta(seconds=30)).isoformat(timespec="seconds")
    posted = project.cli("post", "--yes", "--json", "--title", "Fel i kassan", "-C", "api", "--next-update", late,
                         "Vi undersöker.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    tick = json.loads(project.cli("tick", "--json").stdout)
    assert len(tick["actions"]) == 2, tick
    tweets = [t.text for t in world.x.tweets]
    assert any("Vi genomför planerat underhåll från" in t for t in tweets), tweets
    assert any("Påminnelse: underhållet börjar" in t for t in tweets), tweets
    for chat in OPS_CHATS:
        assert "Försenad: uppdateringen som utlovades senast" in world.telegram_messages(chat)[-1].text
    assert all("Försenad" not in m.text for m in world.telegram_messages(PUBLIC_CHAT))
    assert project.cli("resolve", incident, "--yes").exit_code == 0
    (tmp_path / "pm.md").write_text("# What happened\n\nA router failed.", encoding="utf-8")
    assert project.cli("postmortem", incident, "--yes", "--file", str(tmp_path / "pm.md")).exit_code == 0
    assert "Vi har publicerat en efteranalys: vad som hände och vad vi ändrar." in world.x.tweets[-1].text
    page = (project.site / "incidents" / f"{incident}.html").read_text(encoding="utf-8")
    assert "A router failed." in page  # the operator's words as written
    assert not any(word in " ".join(tweets) for word in ("We will carry out", "Reminder:", "Overdue", "postmortem"))


def test_a_withdrawal_tells_staff_in_the_page_language(project: Project, world: FakeWorld) -> None:
    from tests.fakes.world import OPS_CHATS

    project.write_config(ENGINE + world.channels_toml(), base=in_language("de"))
    posted = project.cli("post", "--yes", "--json", "--title", "Anmeldefehler", "Wir prüfen das.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    assert project.cli("withdraw", incident, "--yes", "--reason", "falscher Kunde").exit_code == 0
    for chat in OPS_CHATS:
        told = world.telegram_messages(chat)[-1].text
        assert "Zurückgezogen von" in told and "falscher Kunde" in told and "Withdrawn" not in told


def test_a_ticket_named_like_a_translated_announcement_word_does_not_stop_the_announcement(
    project: Project, world: FakeWorld, tmp_path: Path,
) -> None:
    # "Läs den" (Read it) ends every Swedish postmortem announcement: the product's word, not the ticket's leak.
    project.write_config(ENGINE + world.channels_toml(), base=in_language("sv"))
    posted = project.cli("post", "--yes", "--json", "--title", "Fel i kassan", "--ticket", "Läs den", "Vi undersöker.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    assert project.cli("resolve", incident, "--yes").exit_code == 0
    (tmp_path / "pm.md").write_text("# Vad hände\n\nEn router gick sönder.", encoding="utf-8")
    done = project.cli("postmortem", incident, "--yes", "--json", "--file", str(tmp_path / "pm.md"))
    assert done.exit_code == 0, done.output
    states = {d["destination"]: d["state"] for d in json.loads(done.stdout)["deliveries"]}
    assert states["x"] == "sent", states
    assert "Läs den: https://" in world.x.tweets[-1].text

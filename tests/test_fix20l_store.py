"""Fix 20l (review 20l findings 1, 2 and 7): a removal imported from another store is weighed against when the
chat was granted its subscription, not against its last change; a correction every place already has in some
correction of the same words is a repeat; an invite's uses after an import count the chats holding it in both
stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.store import open_store, transfer
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.test_store_review17 import telegram_texts

ACME = Visibility.parse("audience:acme")
PUBLIC = Visibility.parse("public")
CHAT = -1001


def _moved(source: Any, target: Any) -> transfer.ImportResult:
    """``source`` exported and imported into ``target``, as `store export` then `store import` do."""
    return transfer.import_records(target, transfer.read_records(list(transfer.export_lines(source)), "export", {"acme"}))


def _no_new_grant(store: Any, after: str) -> None:
    """What a chat may send a bot without being granted anything: a plain /start, a /components choice, or
    /stop then /start."""
    if after == "start":
        subscribers.subscribe(store, CHAT, ChatKind.GROUP)
    elif after == "components":
        subscribers.choose_components(store, CHAT, ["api"], ["api", "db"])
    else:
        subscribers.unsubscribe(store, CHAT)
        subscribers.subscribe(store, CHAT, ChatKind.GROUP)


@pytest.fixture
def stores(tmp_path: Path) -> Any:
    """The team store, where acme's invite is redeemed, and a fallback kept current by import."""
    team, fallback = open_store(tmp_path / "team.db"), open_store(tmp_path / "fallback.db")
    code, _ = subscribers.create_invite(team, ACME, ["api", "db"])
    subscribers.redeem(team, code, CHAT, ChatKind.GROUP)
    _moved(team, fallback)
    yield team, fallback
    team.close()
    fallback.close()


# -- 1. a removal against the grant, in both directions -------------------------------------------------------------


@pytest.mark.parametrize("after", ["start", "components", "stop"])
def test_a_removal_reaches_a_fallback_where_the_chat_only_sent_commands(stores: Any, after: str) -> None:
    team, fallback = stores
    assert subscribers.remove(team, CHAT)
    _no_new_grant(fallback, after)
    result = _moved(team, fallback)
    assert fallback.subscription(str(CHAT)) is None
    assert result.chats_removed == 1


@pytest.mark.parametrize("after", ["start", "components", "stop"])
def test_a_fallback_export_after_commands_does_not_bring_a_removed_chat_back(stores: Any, after: str) -> None:
    team, fallback = stores
    assert subscribers.remove(team, CHAT)
    _no_new_grant(fallback, after)
    _moved(fallback, team)
    assert team.subscription(str(CHAT)) is None


def test_a_chat_that_started_again_here_after_its_removal_keeps_the_public_view(stores: Any) -> None:
    """Removed, then a new public subscriber here: the fallback's older acme row, changed later by a /components
    choice, must not replace it."""
    team, fallback = stores
    assert subscribers.remove(team, CHAT)
    subscribers.subscribe(team, CHAT, ChatKind.GROUP)
    subscribers.choose_components(fallback, CHAT, ["api"], ["api", "db"])
    _moved(fallback, team)
    kept = team.subscription(str(CHAT))
    assert kept is not None and kept.visibility == PUBLIC and kept.invite is None


def test_a_chat_invited_again_in_the_fallback_after_its_removal_stays(stores: Any) -> None:
    """A redemption after the removal is a new grant, also for a chat subscribed there before."""
    team, fallback = stores
    assert subscribers.remove(team, CHAT)
    code, _ = subscribers.create_invite(fallback, ACME, ["api"])
    subscribers.redeem(fallback, code, CHAT, ChatKind.GROUP)
    _moved(team, fallback)
    kept = fallback.subscription(str(CHAT))
    assert kept is not None and kept.visibility == ACME and kept.components == ("api",)
    _moved(fallback, team)
    assert team.subscription(str(CHAT)) is not None


# -- 7. an invite's uses across two stores ---------------------------------------------------------------------------


def test_an_invite_for_two_taken_once_in_each_store_is_used_up_after_the_import(tmp_path: Path) -> None:
    team, fallback = open_store(tmp_path / "team.db"), open_store(tmp_path / "fallback.db")
    try:
        code, invite = subscribers.create_invite(team, ACME, ["api"], uses=2)
        _moved(team, fallback)
        subscribers.redeem(team, code, -1001, ChatKind.GROUP)
        subscribers.redeem(fallback, code, -1002, ChatKind.GROUP)
        _moved(fallback, team)
        _moved(fallback, team)  # safe to repeat: the same chats are not counted again
        _moved(team, fallback)
        for store in (team, fallback):
            counted = store.invite(invite.hash)
            assert counted is not None and counted.uses == 2
            with pytest.raises(subscribers.InviteRefused):
                subscribers.redeem(store, code, -1003, ChatKind.GROUP)
            assert store.subscription("-1003") is None
    finally:
        team.close()
        fallback.close()


# -- 2. the same correction a third time ---------------------------------------------------------------------------


def _posted(project: Project, world: Any) -> str:
    project.write_config(ENGINE + world.channels_toml())
    created = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Errors on the APi.")
    assert created.exit_code == 0, created.output
    return str(json.loads(created.stdout)["incident_id"])


def _staff_messages(world: Any) -> dict[int, int]:
    from tests.fakes.world import OPS_CHATS

    return {chat: len(telegram_texts(world, str(chat))) for chat in OPS_CHATS}


def test_a_correction_every_place_has_from_two_corrections_is_refused(project: Project, world: Any) -> None:
    incident = _posted(project, world)
    assert project.cli("amend", "--yes", "--only", "tg-ops", incident, "1", "Errors on the API.").exit_code == 0
    assert project.cli("amend", "--yes", incident, "1", "Errors on the API.").exit_code == 0
    staff = _staff_messages(world)
    third = project.cli("amend", "--yes", incident, "1", "Errors on the API.")
    assert third.exit_code == 2, third.output
    assert "Nothing was stored or sent" in third.output
    assert _staff_messages(world) == staff


def test_a_correction_back_to_earlier_words_still_reaches_those_told_other_words(project: Project, world: Any) -> None:
    """#2 X to staff, #3 Y to everyone, then X for everyone: staff's newest words are Y, so they get X again."""
    incident = _posted(project, world)
    assert project.cli("amend", "--yes", "--only", "tg-ops", incident, "1", "Errors on the API.").exit_code == 0
    assert project.cli("amend", "--yes", incident, "1", "Errors on the API!").exit_code == 0
    staff = _staff_messages(world)
    back = project.cli("amend", "--yes", incident, "1", "Errors on the API.")
    assert back.exit_code == 0, back.output
    assert all(_staff_messages(world)[chat] > count for chat, count in staff.items()), back.output

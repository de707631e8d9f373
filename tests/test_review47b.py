"""Review 47b: a post that started its thread anew (the first message was deleted) stays the thread's first
whichever way it is recorded sent: by a resume, by a cut at the deadline, or by `retry --mark-unknown-sent`.

Slack posts a follow-up at top level when the incident's first message is gone (``Receipt.starts_thread``), and
the engine recorded it as its own thread's only when the receipt said so. Recorded any other way, the next
follow-up replied under the deleted message again, was refused, and started yet another thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcaster.delivery import DeliveryState
from broadcaster.store import PlannedDelivery, Store
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures
from tests.test_store_backends import Opener, opener, record  # noqa: F401 - pytest fixture

CHANNEL = "C0PUBLIC01"
TOKEN = "xoxb-review47b-token"
# A sitecustomize that changes when, never what, a command does: it dies as it records a post sent, or claims slowly.
WHEN = Path(__file__).parent / "data" / "review47b"


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels={CHANNEL: "status"}) as fake:
        project.env["SLACK_TOKEN"] = TOKEN
        project.write_config(ENGINE + f'\n[channels.status-slack]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\n'
                             f'channel = "{CHANNEL}"\napi_url = "{fake.api_url}"\n')
        yield fake


def first_message_deleted(project: Project, slack: FakeSlack) -> str:
    """An incident posted to Slack whose first message someone then deleted there; its id."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 0, out
    slack.messages[CHANNEL].remove(slack.top_level(CHANNEL)[0])
    return str(out["incident_id"])


def delivery(project: Project, incident: str, sequence: int) -> dict[str, object]:
    shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    [found] = [d for d in shown if d["sequence"] == sequence and d["destination"] == "status-slack"]
    return dict(found)


def crashed_after_the_top_level_post(project: Project, slack: FakeSlack, incident: str) -> None:
    """Update 2 posted at top level (the thread's first message is gone), confirmed by Slack; the command then
    died as it was recording it sent (a kill -9, a power cut)."""
    process = project.process("post", "--yes", "-i", incident, "-s", "identified", "Cause found.",
                              env={"PYTHONPATH": str(WHEN), "BROADCASTER_TEST_DIE_BEFORE_SENT": f"{CHANNEL}:"})
    process.communicate(timeout=60)
    assert process.returncode == 137
    [orphan] = slack.top_level(CHANNEL)
    assert orphan.text.endswith("Cause found."), orphan.text
    project.cli("retry", incident)  # the site, rebuilt: what is left is the Slack post, of unknown fate


def one_thread_after(project: Project, slack: FakeSlack, incident: str) -> None:
    """The next follow-up replies under the post that started the thread anew: never a third top-level post."""
    code, out = project.cli_json("post", "--yes", "-i", incident, "-s", "resolved", "Fixed.")
    assert code == 0, out
    roots = slack.top_level(CHANNEL)
    assert len(roots) == 1, [m.text for m in roots]
    assert [m.text.split("\n")[-1] for m in slack.replies(CHANNEL, roots[0].ts)] == ["Fixed."]
    assert "Resolved" in roots[0].text or "Resolved" in json.dumps(roots[0].blocks)  # and it is the status card


# -- 3. retry --mark-unknown-sent --------------------------------------------------------------------------------


def test_a_new_thread_s_first_post_marked_sent_by_hand_keeps_the_thread(project: Project, slack: FakeSlack) -> None:
    incident = first_message_deleted(project, slack)
    # The reply is refused (thread_not_found); the top-level post is made, and its answer lost.
    slack.fail(Fault(match="chat.postMessage", reset_after=True, after=1))
    code, out = project.cli_json("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")
    assert code == 3 and delivery(project, incident, 2)["state"] == "unknown", out
    [orphan] = slack.top_level(CHANNEL)
    link = f"https://acme.slack.com/archives/{CHANNEL}/p{orphan.ts.replace('.', '')}"
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"status-slack={link}")
    assert marked.exit_code == 0, marked.output
    one_thread_after(project, slack, incident)


# -- 1. resumed from the confirmed post ----------------------------------------------------------------------------


def test_a_new_thread_s_first_post_confirmed_before_a_crash_is_resumed_not_posted_again(
        project: Project, slack: FakeSlack) -> None:
    incident = first_message_deleted(project, slack)
    crashed_after_the_top_level_post(project, slack, incident)
    code, out = project.cli_json("retry", incident, "--include-unknown")
    assert code == 0, out  # was: posted a second time (the post's id was never stored), a second new thread
    assert len(slack.top_level(CHANNEL)) == 1
    assert delivery(project, incident, 2)["state"] == "sent"
    one_thread_after(project, slack, incident)


def test_a_new_thread_s_first_post_confirmed_before_a_crash_is_marked_sent_with_its_own_id(
        project: Project, slack: FakeSlack) -> None:
    incident = first_message_deleted(project, slack)
    crashed_after_the_top_level_post(project, slack, incident)
    marked = project.cli("retry", incident, "--mark-unknown-sent")
    assert marked.exit_code == 0, marked.output
    [orphan] = slack.top_level(CHANNEL)
    assert delivery(project, incident, 2)["remote_id"] == f"{CHANNEL}:{orphan.ts}"  # was: none known
    one_thread_after(project, slack, incident)


# -- 2. the command's deadline ----------------------------------------------------------------------------------


def test_a_new_thread_s_first_post_found_confirmed_when_the_deadline_cuts_the_resume(
        project: Project, slack: FakeSlack) -> None:
    incident = first_message_deleted(project, slack)
    crashed_after_the_top_level_post(project, slack, incident)
    project.write_config(project.config.read_text().replace("deadline = 20", "deadline = 1"), base="")
    process = project.process("retry", incident, "--include-unknown", "--json",
                              env={"PYTHONPATH": str(WHEN), "BROADCASTER_TEST_SLOW_CLAIM": "2"})
    output, errors = process.communicate(timeout=60)
    assert process.returncode == 0, output + errors  # the deadline came before the send: the post was confirmed
    assert len(slack.top_level(CHANNEL)) == 1
    assert delivery(project, incident, 2)["state"] == "sent"
    project.write_config(project.config.read_text().replace("deadline = 1", "deadline = 20"), base="")
    one_thread_after(project, slack, incident)


# -- the store: both backends ------------------------------------------------------------------------------------


SLACK = PlannedDelivery("status-slack", "", "public")


def _recorded(store: Store, mark: Callable[[Store, int], None]) -> tuple[str | None, bool]:
    _, stored = record(store, plan=[SLACK])
    [found] = store.deliveries(incident_id="api")
    assert store.claim(found.id, "me")
    store.mark_starts_thread(found.id)
    mark(store, found.id)
    again = store.delivery(found.id)
    return again.thread_ref, again.starts_thread


def test_a_delivery_that_starts_its_thread_is_recorded_so_on_both_backends(opener: Opener) -> None:  # noqa: F811
    store = opener()
    thread_ref, starts = _recorded(store, lambda s, d: s.mark_sent(d, "C1:1.1", "C1:0.1"))
    assert (thread_ref, starts) == ("C1:1.1", True)  # its own thread's, whatever first post the caller knew


def test_a_delivery_that_starts_its_thread_survives_its_unknown_fate_on_both_backends(opener: Opener) -> None:  # noqa: F811
    store = opener()

    def unknown_then_sent(s: Store, d: int) -> None:
        s.mark_unknown(d, "the answer was lost")
        assert s.claim(d, "operator", include_unknown=True)
        s.mark_sent(d, "C1:1.1", None)

    assert _recorded(store, unknown_then_sent) == ("C1:1.1", True)
    assert store.delivery(store.deliveries(incident_id="api")[0].id).state == DeliveryState.SENT


def test_a_delivery_that_starts_its_thread_is_moved_and_taken_over_on_both_backends(
        opener: Opener, tmp_path: Path) -> None:  # noqa: F811
    """An export carries it: inserted by an import, and taken over by one whose copy here is unsent while the other
    store's went unknown (settled here by hand, it is the thread's first)."""
    from broadcaster.store import SQLiteStore, transfer

    source, target = SQLiteStore(tmp_path / "source.db"), opener()
    record(source, "api", plan=[SLACK, PlannedDelivery("tg", "@chan", "public")])
    slack, tg = sorted(source.deliveries(), key=lambda d: d.destination != "status-slack")

    def moved() -> transfer.ImportResult:
        return transfer.import_records(target, list(transfer.read_records(list(transfer.export_lines(source)),
                                                                         "export")))

    source.mark_starts_thread(tg.id)
    source.mark_failed(tg.id, "down")
    assert moved().deliveries_added == 2
    here = {d.destination: d for d in target.deliveries()}
    assert (here["tg"].starts_thread, here["status-slack"].starts_thread) == (True, False)
    source.mark_starts_thread(slack.id)
    source.mark_unknown(slack.id, "the answer was lost")
    assert moved().deliveries_in_doubt == 1
    taken = target.delivery(here["status-slack"].id)
    assert (taken.state, taken.starts_thread) == (DeliveryState.UNKNOWN, True)
    target.mark_sent(taken.id, "C1:1.1", None, origin="operator")
    assert target.delivery(taken.id).thread_ref == "C1:1.1"
    source.close()


def test_marking_sent_a_new_thread_s_first_post_of_unknown_id_says_the_thread_starts_again(
        project: Project, slack: FakeSlack) -> None:
    incident = first_message_deleted(project, slack)
    slack.fail(Fault(match="chat.postMessage", reset_after=True, after=1))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")[0] == 3
    marked = project.cli("retry", incident, "--mark-unknown-sent")
    assert marked.exit_code == 0, marked.output
    said = " ".join(marked.output.split())
    # Was: "later updates thread under update #1's post instead", the post deleted: they start yet another thread.
    assert "update #1's post" not in said, said
    assert "--remote-id status-slack=ID" in said and "first message was gone" in said and "yet another thread" in said, said


# -- the neighbourhood: Discord's forum post deleted -------------------------------------------------------------


def test_a_deleted_discord_forum_post_is_opened_anew_once_and_later_updates_go_in_it(project: Project) -> None:
    """The incident's forum post (a thread) deleted in Discord: the next update opened a new one, saying so, but the
    one after went to the deleted thread again, was refused, and opened yet another post: one per update."""
    from tests.fakes.discord import FakeDiscord

    with FakeDiscord(forum=True) as forum:
        project.write_config(ENGINE + f'\n[channels.discord]\ntype = "discord"\nwebhook_url = "${{DISCORD_URL}}"\n'
                             f'api_url = "{forum.api_url}"\n')
        project.env["DISCORD_URL"] = forum.webhook_url
        code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
        assert code == 0, out
        [starter] = forum.messages
        forum.threads.discard(starter.channel_id)  # someone deleted the forum post
        forum.messages.clear()
        for status, text in (("identified", "Cause found."), ("resolved", "Fixed.")):
            code, out = project.cli_json("post", "--yes", "-i", str(out["incident_id"]), "-s", status, text)
            assert code == 0, out
        opened = [m for m in forum.messages if m.body.get("thread_name")]
        assert len(opened) == 1, [m.body.get("thread_name") for m in forum.messages]
        assert [m.channel_id for m in forum.messages] == [opened[0].id] * 2  # "Fixed." in the new post


# -- the neighbourhood: a correction posted anew, then cut by the deadline -------------------------------------------


def test_a_correction_posted_anew_and_cut_at_the_deadline_still_says_the_original_is_up(
        project: Project, slack: FakeSlack) -> None:
    """Slack would not edit the corrected message (cant_update_message: it is still up, uncorrected), so the
    correction went out as a reply; the deadline came while the status card was being refreshed. Recorded sent
    from its confirmed post, the outcome lost the channel's word that the original, with the text taken back, is
    still up and must be corrected or deleted by hand."""
    from tests.fakes.base import Response

    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API: HOST-DB7.")
    assert code == 0, out
    incident = str(out["incident_id"])
    project.write_config(project.config.read_text().replace("timeout = 2\n", "timeout = 5\n")
                         .replace("deadline = 20", "deadline = 2"), base="")
    slack.fail(Fault(match="chat.update", response=Response(200, {"ok": False, "error": "cant_update_message"})),
               Fault(match="chat.update", hang=8))  # the post cannot be edited; the card's edit hangs
    code, out = project.cli_json("amend", "--yes", incident, "1", "Errors on the API: a database.")
    [corrected] = [d for d in out["deliveries"] if d["destination"] == "status-slack"]
    assert corrected["state"] == "sent", corrected
    assert any("still up, uncorrected" in n for n in corrected["notes"]), corrected


def test_a_correction_posted_anew_by_a_later_attempt_still_says_the_original_is_up(
        project: Project, slack: FakeSlack) -> None:
    """The same word lost when the first attempt to post the correction anew was refused for now (503), and the
    next attempt, which posts without trying the edit again, succeeded."""
    from tests.fakes.base import Response

    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API: HOST-DB7.")
    assert code == 0, out
    slack.fail(Fault(match="chat.update", response=Response(200, {"ok": False, "error": "cant_update_message"})),
               Fault(match="chat.postMessage", response=Response(503, {"ok": False, "error": "service_unavailable"})))
    code, out = project.cli_json("amend", "--yes", str(out["incident_id"]), "1", "Errors on the API: a database.")
    [corrected] = [d for d in out["deliveries"] if d["destination"] == "status-slack"]
    assert code == 0 and corrected["state"] == "sent" and corrected["attempts"] == 2, corrected
    assert any("still up, uncorrected" in n for n in corrected["notes"]), corrected


def test_a_correction_posted_anew_and_stopped_by_ctrl_c_keeps_the_word_that_the_original_is_up(
        project: Project, slack: FakeSlack) -> None:
    """Ctrl-C while the status card was refreshed after the correction went out anew: recorded sent from its
    confirmed post (``_stopped_mid_send``), with nothing of the channel's reason: ``show`` said nothing either."""
    import signal
    import time

    from tests.fakes.base import Response

    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API: HOST-DB7.")
    assert code == 0, out
    incident = str(out["incident_id"])
    slack.fail(Fault(match="chat.update", response=Response(200, {"ok": False, "error": "cant_update_message"})),
               Fault(match="chat.update", hang=8))
    process = project.process("amend", "--yes", incident, "1", "Errors on the API: a database.")
    waited_until = time.monotonic() + 20
    while len(slack.messages[CHANNEL]) < 2 and time.monotonic() < waited_until:
        time.sleep(0.02)
    time.sleep(0.3)  # the correction is confirmed; the card's edit hangs
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    corrected = delivery(project, incident, 2)
    assert corrected["state"] == "sent", corrected
    assert "still up, uncorrected" in str(corrected["error"] or ""), corrected


# -- the neighbourhood: an id given by hand that broadcaster itself confirmed ----------------------------------------


def test_a_withdrawal_deletes_a_post_whose_id_broadcaster_confirmed_though_the_operator_gave_it_too(
        project: Project, slack: FakeSlack) -> None:
    """The post's id was confirmed by Slack and stored (its part) before the command died; the operator then marked
    it sent giving that same id (--remote-id). The whole delivery counted as given by hand: withdraw left the post
    up, "an id given by hand may name someone else's post", though broadcaster had the id from Slack itself."""
    incident = first_message_deleted(project, slack)
    crashed_after_the_top_level_post(project, slack, incident)
    [orphan] = slack.top_level(CHANNEL)
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"status-slack={CHANNEL}:{orphan.ts}")
    assert marked.exit_code == 0, marked.output
    code, out = project.cli_json("withdraw", incident, "--yes", "--reason", "posted in error")
    assert code == 0, out
    assert slack.top_level(CHANNEL) == [], [m.text for m in slack.top_level(CHANNEL)]


def test_an_imported_part_marked_sent_without_an_id_stays_the_import_s(project: Project, slack: FakeSlack) -> None:
    """Without --remote-id, a post whose parts an import took over (another store's posts, of unknown fate there)
    was recorded as broadcaster's own: withdraw would delete a post another store, maybe another account, made."""
    from broadcaster import config_loader
    from broadcaster.operations.retrying import mark_unknown_sent
    from broadcaster.store import SQLiteStore, open_store, store_location, transfer
    from broadcaster.store.records import IMPORTED

    config = config_loader.load(str(project.config))
    source, here = SQLiteStore(project.root / "other.db"), open_store(store_location(config, None))
    record(source, "api", plan=[SLACK])
    [theirs] = source.deliveries()
    source.add_part(theirs.id, [f"{CHANNEL}:1699999999.000001"])
    source.mark_unknown(theirs.id, "the answer was lost")
    transfer.import_records(here, list(transfer.read_records(list(transfer.export_lines(source)), "export")))
    [marked] = mark_unknown_sent(config, here)
    assert (marked[0].remote_id, marked[0].remote_origin) == (f"{CHANNEL}:1699999999.000001", IMPORTED)
    source.close()
    here.close()

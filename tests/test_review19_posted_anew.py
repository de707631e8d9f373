"""Found by review 19g: a Telegram correction posted anew (NotEditable) in parts, cut after part 1, is finished by `retry`
as an edit of the original: part 1 of the new post stays up alone, the rest is never sent."""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:tg-token-r19g-a"
CHAT = -1001977
CANT = Response(400, {"ok": False, "error_code": 400, "description": "Bad Request: message can't be edited"})
WAIT = 600  # past the command's deadline: the delivery gives up, failed (nothing in doubt), part 1 recorded
TOO_MANY = Response(429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {WAIT}",
                          "parameters": {"retry_after": WAIT}}, headers={"Retry-After": str(WAIT)})


def _config(project: Project, fake: FakeTelegram) -> None:
    project.env["TG_TOKEN"] = TOKEN
    project.write_config(f'[engine]\ntimeout = 2\ndeadline = 30\nmax_attempts = 2\n\n[channels.tg]\n'
                         f'type = "telegram"\ntoken = "${{TG_TOKEN}}"\n'
                         f'chat_ids = [{CHAT}]\napi_url = "{fake.url}"\n')


def _text(n: int) -> str:
    """A correction whose edit rendering (the original's shorter status) fits one message and whose rendering as a
    new post (the incident's current, longer status) takes two."""
    words = ("Logins failed in eu-central. " + "abcdefghi " * 500)[:n].rstrip()
    return words + "z" * (n - len(words))


def test_a_correction_posted_anew_in_parts_is_finished_not_turned_into_an_edit(project: Project) -> None:
    with FakeTelegram(token=TOKEN, chats={CHAT: "status"}, enforce_limits=False) as fake:
        _config(project, fake)
        posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "-s", "identified",
                             "Logins fail in eu-west.")
        assert posted.exit_code == 0, posted.output
        incident_id = json.loads(posted.stdout)["incident_id"]
        moved = project.cli("post", "--yes", "--json", "-i", incident_id, "-s", "investigating", "--reopen", "Wider.")
        assert moved.exit_code == 0, moved.output
        original = fake.messages[CHAT][0]
        before = len(fake.messages[CHAT])

        # The edit is refused (as Telegram does for a message it no longer lets the bot edit): the engine posts the
        # correction anew, in two parts; part 2 is held off past the deadline.
        fake.fail(Fault(match="editMessageText", response=CANT),
                  Fault(match="sendMessage", response=TOO_MANY, after=1))
        amended = project.cli("amend", incident_id, "1", "--yes", "--json", _text(4036))
        delivery = next(d for d in json.loads(amended.stdout)["deliveries"] if d["destination"] == "tg")
        assert delivery["state"] == "failed", amended.output
        new_posts = fake.messages[CHAT][before:]
        assert len(new_posts) == 1 and "Correction" in new_posts[0].text  # part 1 of the correction is up
        part_one = new_posts[0]

        # A plain retry, once Telegram lets the bot edit again (or the rate limit passed).
        retried = project.cli("retry", incident_id, "--json")
        after = fake.messages[CHAT][before:]
        edited_original = [e for e in fake.edits if e.message_id == original.message_id]
        assert not edited_original and len(after) == 2 and after[1].reply_to_message_id == part_one.message_id, (
            "the retry of a correction whose new post was half sent edited the original instead of finishing it: "
            f"{len(edited_original)} edit(s) of the original, {len(after)} part(s) of the new post up "
            f"(part 1 left alone, cut mid-text); retry said: {retried.stdout[-600:]}")

"""``amend`` of an update still waiting its turn at one chat, while another chat already has it.

``amend`` settles the correction ``skipped`` at a chat where the original is ``pending`` with no parts ("it goes
with this correction's text": ``lifecycle._where_the_original_went``), trusting that the original, once sent,
is rendered from the latest correction (``engine.Publisher._rendered``, ``as_last_corrected``). But the engine
caches one rendering per destination and update (``_renders``), made when the first chat of that update was
sent. A chat of the same table that was waiting behind an earlier update (its 429) is sent later from that cache:
the text the operator corrected, with the correction already settled ``skipped`` there. The chat keeps the wrong
text for good, and ``show`` says it got the corrected one.
"""

from __future__ import annotations

import json
import time

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:tg-token-r17d-c"
A, B = -1001811, -1001812
WAIT = 12
TOO_MANY = Response(429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {WAIT}",
                          "parameters": {"retry_after": WAIT}}, headers={"Retry-After": str(WAIT)})


def test_amend_while_a_chat_still_waits_for_the_update_corrects_that_chat_too(project: Project) -> None:
    with FakeTelegram(token=TOKEN, chats={A: "ops-a", B: "ops-b"}, enforce_limits=False) as fake:
        project.env["TG_TOKEN"] = TOKEN
        project.write_config(f'[engine]\ntimeout = 2\ndeadline = 60\nmax_attempts = 3\n\n[channels.ops]\n'
                             f'type = "telegram"\nvisibility = "private"\ntoken = "${{TG_TOKEN}}"\n'
                             f'chat_ids = [{A}, {B}]\napi_url = "{fake.url}"\n')
        fake.fail(Fault(match="sendMessage", response=TOO_MANY))  # the first chat asked waits WAIT seconds
        first = project.process("post", "--yes", "--title", "API errors", "Errors on the API.")
        until = time.monotonic() + 20
        while time.monotonic() < until and not (fake.messages.get(A) or fake.messages.get(B)):
            time.sleep(0.05)
        blocked = A if not fake.messages.get(A) else B
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        second = project.process("post", "--yes", "-i", incident, "-s", "identified",
                                 "Cause found in region eu-west-1.")
        other = B if blocked == A else A
        until = time.monotonic() + 20
        while time.monotonic() < until and len(fake.messages.get(other, [])) < 2:
            time.sleep(0.05)
        assert len(fake.messages.get(other, [])) == 2  # update 2 is in the other chat; the blocked one waits
        amended = project.cli("amend", incident, "2", "--yes", "--json", "Cause found in region eu-central-1.")
        assert amended.exit_code == 0, amended.output
        first.communicate(timeout=60)
        second.communicate(timeout=60)
        texts = [m.text for m in fake.messages.get(blocked, [])] + [e.text for e in fake.edits if e.chat_id == blocked]
        shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
        blocked_states = [(d["sequence"], d["state"], d.get("reason") or d.get("error")) for d in shown
                          if d["target"] == str(blocked)]
        last_in_blocked = fake.messages[blocked][-1].text
        # The blocked chat must end up reading the corrected text (sent with it, or edited to it).
        assert "eu-west-1" not in last_in_blocked or any("eu-central-1" in t for t in texts), (blocked_states, texts)

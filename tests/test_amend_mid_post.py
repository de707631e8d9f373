"""``amend`` while a post in parts is half out at a chat.

``engine.Publisher._rendered`` now re-reads ``last_correction_after`` on every call while the delivery's
``parts`` (the claim-time ``Delivery``) are empty, and ``_send_once`` renders afresh on every attempt
(``rendered=lambda: self._rendered(destination, delivery)``). A post in two parts whose second part is refused
(a 429) after the first went out is resumed, after an ``amend`` stored meanwhile, from a NEW rendering: part 2 of the
corrected text follows part 1 of the old one. Before 5a3e96b the first rendering was cached and both parts matched.
"""

from __future__ import annotations

import json
import time

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:tg-token-r17g-a"
CHAT = -1001911
WAIT = 4
TOO_MANY = Response(429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {WAIT}",
                          "parameters": {"retry_after": WAIT}}, headers={"Retry-After": str(WAIT)})
OLD = "Errors on the API. " + " ".join(f"alpha{i}" for i in range(560))
NEW = "Errors on the API. " + " ".join(f"omega{i}" for i in range(560))


def test_a_post_in_parts_is_never_finished_from_a_rendering_made_after_an_amend(project: Project) -> None:
    with FakeTelegram(token=TOKEN, chats={CHAT: "ops"}, enforce_limits=False) as fake:
        project.env["TG_TOKEN"] = TOKEN
        project.write_config(f'[engine]\ntimeout = 2\ndeadline = 60\nmax_attempts = 3\n\n[channels.ops]\n'
                             f'type = "telegram"\nvisibility = "private"\ntoken = "${{TG_TOKEN}}"\n'
                             f'chat_ids = [{CHAT}]\napi_url = "{fake.url}"\n')
        fake.fail(Fault(match="sendMessage", response=TOO_MANY, after=1))  # part 1 goes, part 2 waits WAIT s
        first = project.process("post", "--yes", "--title", "API errors", OLD)
        until = time.monotonic() + 20
        while time.monotonic() < until and not fake.messages.get(CHAT):
            time.sleep(0.05)
        assert fake.messages.get(CHAT), first.communicate(timeout=5)
        sent_first = [m.text for m in fake.messages[CHAT]]
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        amend = project.process("amend", incident, "1", "--yes", NEW)
        out, err = first.communicate(timeout=90)
        amend.communicate(timeout=90)
        posted = [r.form.get("text") for r in fake.requests
                  if r.path.endswith("/sendMessage") and str(r.form.get("chat_id")) == str(CHAT)]
        assert len(sent_first) == 1 and "alpha0" in sent_first[0], sent_first
        # Part 2 of the original post must continue the text part 1 began (the same rendering).
        later_parts = [t for t in posted[1:] if t]
        final = [m.text[:40] + " ... " + m.text[-30:] for m in fake.messages[CHAT]]
        edits = [(e.message_id, e.text[:30]) for e in fake.edits]
        assert not any("omega" in str(t) for t in later_parts[:1]), ([str(t)[:60] for t in posted], final, edits)

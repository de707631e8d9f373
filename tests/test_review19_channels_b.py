"""Review 19b, findings 3, 4, 6, 7 and 10: Matrix, Bluesky and email through the real CLI against the fakes.

3. A Matrix withdrawal redacts the edits ``amend`` made, not only the messages: an edit event keeps the corrected
   text (``* …`` and ``m.new_content``) for every client that does not apply edits, and in ``/messages``.
4. A Bluesky record key (public: the post's address) is seeded with the update's number among what the public
   was told, never the store's sequence, whose gaps tell of updates kept from the public.
6. A remote ``http://`` Matrix homeserver is refused as the config is read (the token would cross in clear text).
7. A Matrix message naming hundreds of components is cut to fit one event, its edit too ("…and N more").
10. Matrix's and email's ``key`` (a 29-digit hash, only in transaction ids and Message-IDs) is not read by the
    egress guard: a numeric ticket it held by chance refused the public post.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from broadcaster.channels._ids import stable_digits
from broadcaster.channels.bluesky import _TID_CHARS, _clock_id, record_key
from broadcaster.channels.matrix import MatrixChannel
from broadcaster.messages import matrix as fmt
from broadcaster.messages.model import AffectedComponent, Audience, ComponentStatus
from broadcaster.messages.visibility import private_view

from broadcaster.config import ChannelConfig, Secret
from broadcaster.delivery import Rendered
from broadcaster.errors import ConfigError
from tests.channel_updates import URL, incident, update
from tests.conftest import ENGINE, Project
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.matrix import MAX_EVENT_BYTES, FakeMatrix
from tests.fakes.smtp import SmtpServer
from tests.fakes.webhook import SECRET, FakeReceiver

ROOM = "!status:example.org"
TOKEN = "syt_r19b_fix_SeCrEt_9"
FIXED = datetime(2026, 12, 5, 6, 0, 0, tzinfo=UTC)


def matrix_config(fake: FakeMatrix, extra: str = "") -> str:
    return ENGINE + f"""
[channels.room]
type = "matrix"
homeserver = "{fake.url}"
access_token = "${{MATRIX_TOKEN}}"
room_id = "{ROOM}"
""" + extra


@pytest.fixture
def matrix(project: Project) -> Iterator[FakeMatrix]:
    with FakeMatrix(token=TOKEN, rooms=[ROOM]) as fake:
        project.write_config(matrix_config(fake))
        project.env["MATRIX_TOKEN"] = TOKEN
        yield fake


def cli_json(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli(*args, "--yes", "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def delivery(payload: dict[str, Any], destination: str) -> dict[str, Any]:
    return dict(next(d for d in payload["deliveries"] if d["destination"] == destination))


# -- 3. a Matrix withdrawal redacts the edits too ----------------------------------------------------------------


def test_withdraw_leaves_no_amended_text_readable_in_the_room(project: Project, matrix: FakeMatrix) -> None:
    incident_id = cli_json(project, "post", "--title", "Login errors", "Logins fail at Initrode.")["incident_id"]
    cli_json(project, "amend", incident_id, "1", "Logins fail in eu-west since 09:00.")
    assert len(matrix.events[ROOM]) == 2  # the message and its edit

    cli_json(project, "withdraw", incident_id, "--reason", "posted in error")
    left = [e for e in matrix.events[ROOM] if e.content]
    # The edit event kept body "* ...eu-west..." and m.new_content: any member's client without edits showed it.
    assert not any("eu-west" in json.dumps(e.content) for e in left), [e.content for e in left]
    assert sorted(matrix.redacted) == sorted(e.event_id for e in matrix.events[ROOM])


def test_after_an_amend_follow_ups_reply_to_the_message_and_every_edit_is_redacted(
    project: Project, matrix: FakeMatrix
) -> None:
    incident_id = cli_json(project, "post", "--title", "Login errors", "Logins fail.")["incident_id"]
    [message] = matrix.events[ROOM]
    amended = delivery(cli_json(project, "amend", incident_id, "1", "Logins fail in eu-west."), "room")
    [first_edit] = matrix.edits(ROOM, message.event_id)
    # The correction's id names the message it edited, then its own event.
    assert amended["remote_id"] == f"{ROOM}/{message.event_id}/{first_edit.event_id}"

    cli_json(project, "post", "-i", incident_id, "--status", "identified", "Cause found.")
    follow_up = matrix.events[ROOM][-1]
    # In the thread of the message, replying to it: never to the edit, which clients show as "* …".
    assert follow_up.relation["event_id"] == message.event_id
    assert follow_up.relation["m.in_reply_to"] == {"event_id": message.event_id}

    cli_json(project, "amend", incident_id, "1", "Logins fail in eu-west and us-east.")
    assert len(matrix.edits(ROOM, message.event_id)) == 2  # the second edit replaces the message, not the edit

    withdrawn = cli_json(project, "withdraw", incident_id, "--reason", "posted in error")
    assert delivery(withdrawn, "room")["state"] == "sent"
    assert sorted(matrix.redacted) == sorted(e.event_id for e in matrix.events[ROOM])  # 2 messages, 2 edits
    assert not any("eu-west" in json.dumps(e.content) for e in matrix.events[ROOM])


def test_redacting_an_edit_again_is_one_redaction(matrix: FakeMatrix) -> None:
    channel = MatrixChannel(ChannelConfig("room", "matrix", options={
        "homeserver": matrix.url, "access_token": Secret("MATRIX_TOKEN", TOKEN), "room_id": ROOM}))
    v = private_view(incident(), update(1), url=URL)

    async def post_edit_and_delete_twice() -> list[str]:
        try:
            posted = await channel.send(channel.render(v), target="", thread=None)
            edited = await channel.edit(channel.render(v), target="", remote_id=posted.remote_id)
            for _ in range(2):  # a withdrawal retried: the same transaction ids
                await channel.delete([posted.remote_id, edited.remote_id], target="")
            return [posted.remote_id, edited.remote_id]
        finally:
            await channel.aclose()

    posted_id, edited_id = asyncio.run(post_edit_and_delete_twice())
    assert MatrixChannel.parse_remote_id(edited_id) == MatrixChannel.parse_remote_id(posted_id)  # names the message
    assert len(matrix.redacted) == 2 and len(set(matrix.redacted)) == 2


# -- 4. Bluesky record keys tell nothing of the updates kept from the public ---------------------------------------


def _clock(rkey: str) -> int:
    value = sum(_TID_CHARS.index(c) << (5 * (12 - i)) for i, c in enumerate(rkey))
    return value & 0x3FF


def test_a_bluesky_record_key_is_seeded_with_what_the_public_was_told(project: Project) -> None:
    handle, password = "acme.bsky.social", "bsky-app-SeCrEt-fix19"
    with FakeBluesky(handle=handle, password=password) as sky, FakeReceiver() as hook:
        project.write_config(f"""
[engine]
timeout = 10
deadline = 40
max_attempts = 4

[channels.bluesky]
type = "bluesky"
handle = "{handle}"
app_password = "${{BSKY_PASSWORD}}"
api_url = "{sky.url}"

[channels.ops]
type = "webhook"
visibility = "internal"
url = "{hook.hook_url}"
secret = "${{HOOK_SECRET}}"
""")
        project.env.update({"BSKY_PASSWORD": password, "HOOK_SECRET": SECRET})
        incident_id = cli_json(project, "post", "--title", "Login errors", "Logins fail for some users.")["incident_id"]
        cli_json(project, "post", "-i", incident_id, "--only", "ops", "Staff only: rolling db-7 back.")  # store's 2
        third = cli_json(project, "post", "-i", incident_id, "--status", "identified", "Cause found.")  # store's 3
        assert len(sky.posted) == 2
        rkey = sky.posted[1].rkey

    def guess(sequence: int) -> int:  # what any reader can compute, the table's name guessed
        return _clock_id(f"bluesky\n{handle}\n{incident_id}\n{sequence}")

    # The public's second update, as its readers know it already; never the store's 3 (1 incident id in 1,024,
    # the date's, hashes both alike: then the reader could not tell either).
    assert _clock(rkey) == guess(2)
    assert guess(3) == guess(2) or _clock(rkey) != guess(3), "the record key tells the store's sequence"
    created = datetime.fromisoformat(sky.posted[1].record["createdAt"].replace("Z", "+00:00"))
    assert rkey == record_key(created, f"bluesky\n{handle}\n{incident_id}\n2")
    assert delivery(third, "bluesky")["remote_id"].split("#")[0].endswith(rkey)


# -- 6. a remote http:// homeserver is refused ------------------------------------------------------------------------


def test_a_remote_http_homeserver_is_refused_as_the_config_is_read(project: Project) -> None:
    with FakeMatrix(token=TOKEN, rooms=[ROOM]) as fake:
        project.write_config(ENGINE + f"""
[channels.ops-room]
type = "matrix"
visibility = "internal"
homeserver = "http://matrix.example.org"
access_token = "${{MATRIX_TOKEN}}"
room_id = "{ROOM}"
api_url = "{fake.url}"
""")
        project.env["MATRIX_TOKEN"] = TOKEN
        result = project.cli("post", "--yes", "--title", "DB failover", "--private", "db-7 at Initech", "Failover.")
        assert result.exit_code == 2 and fake.events[ROOM] == [], result.output[-300:]
        assert "homeserver" in result.output and "https://matrix.example.org" in result.output
        assert "clear" in result.output and TOKEN not in result.output
        assert project.cli("list", "--json").stdout.count("db-failover") == 0  # nothing stored


@pytest.mark.parametrize("homeserver", ["http://localhost:8008", "http://127.0.0.1:8008", "http://[::1]:8008",
                                        "https://matrix.example.org"], ids=["localhost", "ipv4", "ipv6", "https"])
def test_http_to_this_machine_and_https_anywhere_are_accepted(homeserver: str) -> None:
    MatrixChannel.validate_options(
        {"homeserver": homeserver, "access_token": Secret("MATRIX_TOKEN", TOKEN), "room_id": ROOM}, "")


@pytest.mark.parametrize("homeserver", ["http://matrix.example.org", "http://10.0.0.5:8008", "http://[fd00::1]"])
def test_http_to_another_machine_is_refused(homeserver: str) -> None:
    with pytest.raises(ConfigError, match="https://"):
        MatrixChannel.validate_options(
            {"homeserver": homeserver, "access_token": Secret("MATRIX_TOKEN", TOKEN), "room_id": ROOM}, "")


# -- 7. many components fit one event, the post and its edit -------------------------------------------------------

COMPONENTS = [f"eu-west-1-customer-facing-api-gateway-cluster-{n:03d}" for n in range(520)]


def _components_config(count: int) -> str:
    return "".join(f'\n[[components]]\nid = "{c}"\nname = "Gateway {n}"\n' for n, c in enumerate(COMPONENTS[:count]))


@pytest.mark.parametrize("count", [260, 520])
def test_an_update_naming_many_components_and_its_correction_fit_one_matrix_event(project: Project, count: int) -> None:
    with FakeMatrix(token=TOKEN, rooms=[ROOM]) as fake:
        # The page of hundreds of components takes a while to build: the room's outcome is what is asserted.
        slow = matrix_config(fake, _components_config(count)).replace("timeout = 2\n", "timeout = 10\n")
        project.write_config(slow.replace("deadline = 20\n", "deadline = 120\n"))
        project.env["MATRIX_TOKEN"] = TOKEN
        args = [a for c in COMPONENTS[:count] for a in ("-C", f"{c}=major_outage")]
        posted = json.loads(project.cli("post", "--yes", "--json", "--title", "Gateway outage", *args,
                                        "Gateways are down.").stdout)
        assert delivery(posted, "room")["state"] == "sent", delivery(posted, "room").get("error")
        amended = json.loads(project.cli("amend", posted["incident_id"], "1", "--yes", "--json",
                                         "Gateways in eu-west-1 are down.").stdout)
        assert delivery(amended, "room")["state"] == "sent", delivery(amended, "room").get("error")
        message, edit = fake.events[ROOM]
    for content in (message.content, edit.content["m.new_content"]):
        assert COMPONENTS[0] in content["body"] and COMPONENTS[count - 1] not in content["body"]
        assert "more" in content["body"] and "more" in content["formatted_body"]
    assert fmt.event_bytes(edit.content) + fmt.ENVELOPE_BYTES <= MAX_EVENT_BYTES


def test_customers_detail_outlasts_the_long_tail_of_a_component_list() -> None:
    named = {f"cust{i}": Audience(f"cust{i}", f"Customer {i}") for i in range(3)}
    components = tuple(AffectedComponent(c, ComponentStatus.MAJOR_OUTAGE) for c in COMPONENTS)
    upd = update(1, message="Gateways are down.", components=components, audiences=tuple(named),
                 audience_detail=tuple((key, f"{key}: your gateways are down") for key in named))
    body = fmt.content(private_view(incident(), upd, url=URL, audiences=named))["body"]
    assert all(f"cust{i}: your gateways are down" in body for i in range(3))  # every customer's detail, whole
    assert COMPONENTS[0] in body and "…and " in body.split("Components:")[1].splitlines()[0]


def test_a_short_component_list_is_never_cut() -> None:
    body = fmt.content(private_view(incident(), update(1), url=URL))["body"]
    assert "Components: api (Partial outage)" in body and "more" not in body


# -- 10. the key's digits are not read by the egress guard -----------------------------------------------------------


def _key(incident_id: str) -> str:
    return stable_digits(incident_id, "1", FIXED.isoformat())


def test_a_numeric_ticket_the_matrix_key_holds_by_chance_does_not_stop_the_public_post(
    project: Project, matrix: FakeMatrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("broadcaster.operations.posting.utcnow", lambda: FIXED)
    incident_id = cli_json(project, "post", "--title", "Login errors", "Logins fail.")["incident_id"]
    [event] = matrix.events[ROOM]
    assert event.txn_id == "bc" + stable_digits("room", ROOM, _key(incident_id), "post")  # the key, as computed here

    ticket = _key("api-errors-2026-12-05")[7:13]  # six digits the next post's key holds
    second = project.cli("post", "--yes", "--json", "--title", "API errors", "--ticket", ticket, "API calls fail.")
    assert delivery(json.loads(second.stdout), "room")["state"] == "sent", second.output
    assert ticket not in json.dumps(matrix.events[ROOM][-1].content)


def test_a_numeric_ticket_the_email_key_holds_by_chance_does_not_stop_the_public_mail(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("broadcaster.operations.posting.utcnow", lambda: FIXED)
    address = "customers@example.net"
    with SmtpServer(tmp_path, security="none") as smtp:
        project.write_config(ENGINE + f"""
[channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "Acme status <status@example.com>"
to = ["{address}"]
""")
        incident_id = cli_json(project, "post", "--title", "Login errors", "Logins fail.")["incident_id"]
        [mail] = smtp.mails
        own_id = f"<{stable_digits('mail', address, _key(incident_id))}.broadcaster@example.com>"
        assert mail.message["Message-ID"] == own_id  # the key, as computed here

        ticket = _key("api-errors-2026-12-05")[7:13]
        second = project.cli("post", "--yes", "--json", "--title", "API errors", "--ticket", ticket, "API calls fail.")
        assert delivery(json.loads(second.stdout), "mail")["state"] == "sent", second.output
        assert len(smtp.mails) == 2 and ticket not in smtp.mails[1].text


@pytest.mark.parametrize("type_name", ["matrix", "email"])
def test_every_payload_but_the_key_is_guarded(type_name: str) -> None:
    from broadcaster.channels.email import EmailChannel

    kind = MatrixChannel if type_name == "matrix" else EmailChannel
    channel = kind.__new__(kind)  # egress_payloads reads no option
    rendered = Rendered("text 482913", "public", payload={
        "content": {"body": "body 482913"}, "subject": "subject 482913", "html": "<p>html 482913</p>",
        "key": "00000000000000000000000482913"})
    read = "\n".join(text for text, _ in channel.egress_payloads(rendered))
    for shown in ("text 482913", "body 482913", "subject 482913", "html 482913"):
        assert shown in read
    assert "00000000000000000000000482913" not in read

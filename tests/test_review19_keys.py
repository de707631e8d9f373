"""Review 19e, findings 1 and 2: keys of ours made from the reader's key, and posts the previous version made.

1. The email Message-ID was seeded with the store's sequence: a subscriber trying small numbers counted the updates
   kept from them. It is seeded with ``view.key`` now, as Bluesky's record key and the webhook's webhook-id.
2. A Bluesky post the previous version made (its record key seeded with the sequence), its answer lost, was posted
   again by the upgraded version's repeat: the new key is free, so the create succeeded. A repeat looks the post up
   under the previous version's key first; a first attempt still makes one request.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from broadcaster.channels._ids import stable_digits
from broadcaster.channels.bluesky import BlueskyChannel, record_key

from broadcaster.delivery import Rendered, SendLog
from broadcaster.errors import DeliveryError
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.smtp import SmtpServer
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.social import B_PASSWORD, sent, update, view
from tests.test_bluesky import channel

FIXED = datetime(2026, 12, 5, 6, 0, 0, tzinfo=UTC)


# -- 1. email: the Message-ID ---------------------------------------------------------------------------------------


def test_a_subscriber_cannot_count_the_updates_kept_from_the_public_from_the_message_id(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Public update 1, update 2 to staff only (``--only ops``), public update 3: the public's second mail. A
    subscriber recomputing its Message-ID with sequences 1..10 finds none but the 2 they know it by; the thread
    goes on under the stored ids (In-Reply-To and References name the first mail)."""
    monkeypatch.setattr("broadcaster.operations.posting.utcnow", lambda: FIXED)
    address = "subscriber@example.net"
    with SmtpServer(tmp_path, security="none") as smtp, FakeReceiver() as ops:
        project.write_config(ENGINE + f"""
[channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "Acme status <status@example.com>"
to = ["{address}"]

[channels.ops]
type = "webhook"
visibility = "internal"
url = "{ops.hook_url}"
secret = "${{HOOK_SECRET}}"
""")
        project.env["HOOK_SECRET"] = SECRET

        def post(*args: str) -> str:
            result = project.cli("post", "--yes", "--json", *args)
            assert result.exit_code == 0, result.output
            return str(json.loads(result.stdout)["incident_id"])

        incident_id = post("--title", "Login errors", "Logins fail for some users.")
        post("-i", incident_id, "--only", "ops", "Staff only: rolling db-7 back.")  # store's 2, kept from the public
        post("-i", incident_id, "--status", "identified", "Cause found.")  # store's 3, the public's 2nd
        assert len(smtp.mails) == 2
        first, told = smtp.mails[0].message, smtp.mails[1].message["Message-ID"]
        assert smtp.mails[1].message["In-Reply-To"] == first["Message-ID"]
        assert smtp.mails[1].message["References"] == first["Message-ID"]

    def candidate(sequence: int) -> str:  # what the subscriber computes
        key = stable_digits(incident_id, str(sequence), FIXED.isoformat())
        return f"<{stable_digits('mail', address, key)}.broadcaster@example.com>"

    found = [n for n in range(1, 11) if candidate(n) == told]
    assert found in ([], [2]), f"the Message-ID gives away the store's sequence {found}: updates were kept from the public"


# -- 2. Bluesky: a post the previous version made ----------------------------------------------------------------------


def _as_the_previous_version(ch: BlueskyChannel, shown: Rendered, sequence: int, incident_id: str) -> Rendered:
    """``shown`` with the record key the version before 15e010a gave it (seeded with the store's sequence)."""
    created = datetime.fromisoformat(str(shown.payload["created_at"]).replace("Z", "+00:00"))
    seed = f"{ch.name}\n{ch.handle}\n{incident_id}\n{sequence}"
    return Rendered(shown.text, shown.visibility, shown.parts, {**shown.payload, "rkey": record_key(created, seed)})


def _posted_by_the_previous_version_its_answer_lost(fake: FakeBluesky, legacy: Rendered) -> None:
    fake.fail(Fault(match="createRecord", reset_after=True), Fault(match="getRecord", reset=True))
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(sent(channel(fake), legacy, None, None))
    assert caught.value.outcome_unknown  # the delivery is left unknown
    fake.clear_faults()
    assert len(fake.posted) == 1


def test_a_post_the_previous_version_made_and_lost_the_answer_of_is_found_not_posted_again() -> None:
    """Update 3, the public's second (update 2 kept to staff). The previous version's post arrived, its answer was
    lost (unknown). The upgraded version's repeat of that delivery (the engine's log says an earlier attempt may
    have arrived) finds it under the previous version's key: no second post, and the receipt names that post."""
    with FakeBluesky(password=B_PASSWORD) as fake:
        ch = channel(fake)
        shown = replace(view(update(3, "Cause found.")), key=2)  # store's 3, the public's 2nd
        rendered = ch.render(shown)
        legacy = _as_the_previous_version(ch, rendered, shown.sequence, shown.incident.id)
        assert legacy.payload["rkey"] != rendered.payload["rkey"]
        assert rendered.payload["previous_rkey"] == legacy.payload["rkey"]
        _posted_by_the_previous_version_its_answer_lost(fake, legacy)
        fake.requests.clear()
        log = SendLog(may_have_arrived=True)
        receipt = asyncio.run(sent(channel(fake), rendered, None, log))
        assert len(fake.posted) == 1, [p.rkey for p in fake.posted]
        assert receipt.remote_id == f"{fake.posted[0].uri}#{fake.posted[0].cid}" == log.parts[0]
        assert not fake.received("createRecord")
        assert not log.on_wire  # nothing was sent by this attempt


def test_the_first_attempt_of_a_fresh_delivery_makes_one_request() -> None:
    """No earlier attempt: nothing to look up, the create is the one request (no getRecord), under the new key."""
    with FakeBluesky(password=B_PASSWORD) as fake:
        ch = channel(fake)
        rendered = ch.render(replace(view(update(3, "Cause found.")), key=2))
        assert "previous_rkey" in rendered.payload
        asyncio.run(sent(ch, rendered, None, SendLog()))
        assert [r.path.rsplit("/", 1)[-1] for r in fake.received("com.atproto.repo.")] == ["com.atproto.repo.createRecord"]
        assert [p.rkey for p in fake.posted] == [rendered.payload["rkey"]]


def test_a_key_the_sequence_gives_alike_has_nothing_to_look_up() -> None:
    """Where the public was told every update (key = sequence) the previous version's key is this one's: no
    look-up, a repeat finds the post by the create's refusal as before."""
    with FakeBluesky(password=B_PASSWORD) as fake:
        ch = channel(fake)
        rendered = ch.render(replace(view(update(2)), key=2))
        assert "previous_rkey" not in rendered.payload


def test_a_repeat_posts_under_the_new_key_when_the_previous_version_made_nothing() -> None:
    """The repeat's look-up finds no post under the previous version's key: the create goes on under the new key
    (the look-up publishes nothing, and costs one request)."""
    with FakeBluesky(password=B_PASSWORD) as fake:
        ch = channel(fake)
        rendered = ch.render(replace(view(update(3, "Cause found.")), key=2))
        asyncio.run(sent(ch, rendered, None, SendLog(may_have_arrived=True)))
        assert [p.rkey for p in fake.posted] == [rendered.payload["rkey"]]
        assert len(fake.received("getRecord")) == 1


def test_another_update_under_the_previous_key_is_not_taken_for_this_one() -> None:
    """A post of another update holds the previous version's key (its own, made at the same instant): it is not
    this post, so this one is made under the new key."""
    with FakeBluesky(password=B_PASSWORD) as fake:
        ch = channel(fake)
        shown = replace(view(update(3, "Cause found.")), key=2)
        rendered = ch.render(shown)
        other = ch.render(replace(view(update(3, "Something else entirely."), url=""), key=3))
        squatter = Rendered(other.text, other.visibility, other.parts,
                            {**other.payload, "rkey": rendered.payload["previous_rkey"]})
        asyncio.run(sent(channel(fake), squatter, None, None))
        asyncio.run(sent(channel(fake), rendered, None, SendLog(may_have_arrived=True)))
        assert sorted(p.rkey for p in fake.posted) == sorted([rendered.payload["previous_rkey"], rendered.payload["rkey"]])


def test_a_look_up_that_fails_posts_nothing_and_leaves_the_delivery_in_doubt() -> None:
    """The previous version's post may be up and could not be looked for: nothing is posted, the error says why,
    and it stays in doubt (unknown), with one repeat allowed (a look-up shows nothing twice)."""
    with FakeBluesky(password=B_PASSWORD) as fake:
        ch = channel(fake)
        rendered = ch.render(replace(view(update(3, "Cause found.")), key=2))
        fake.fail(Fault(match="getRecord", reset=True))
        with pytest.raises(DeliveryError) as caught:
            asyncio.run(sent(ch, rendered, None, SendLog(may_have_arrived=True)))
        assert not fake.posted and not fake.received("createRecord")
        assert caught.value.outcome_unknown and caught.value.repeat_safe and caught.value.retryable
        assert "version before this one" in str(caught.value) and "nothing was posted" in str(caught.value)


def test_the_engine_tells_a_channel_that_an_unknown_deliverys_earlier_run_may_have_posted(tmp_path: Path) -> None:
    """The other half of the repeat above: a delivery an earlier run (the previous version's) left ``unknown`` is
    resent by `retry --include-unknown` with a log saying its post may have arrived, so the channel looks it up
    before posting; a fresh delivery's log says nothing may have."""
    from broadcaster.messages.model import Impact, Incident, Status, Update

    from broadcaster.config_loader import parse
    from broadcaster.delivery import DeliveryState
    from broadcaster.engine import Publisher
    from broadcaster.store import PlannedDelivery, open_store

    config = parse({"page": {"title": "Status", "output_dir": str(tmp_path / "public")}}, tmp_path / "broadcaster.toml")
    store = open_store(tmp_path / "state.db")
    try:
        at = datetime(2026, 12, 1, tzinfo=UTC)
        incident = Incident("api-errors", "API errors", Impact.MINOR, Status.INVESTIGATING, at)
        store.record_update(incident, Update("api-errors", 0, at, Status.INVESTIGATING, "Errors."),
                            [PlannedDelivery("site", "", "public")], new=True)
        [delivery] = store.deliveries()
        publisher = Publisher(config, store)
        site = publisher.destinations["site"]
        assert not publisher._send_log(site, delivery).may_have_arrived
        store.mark_unknown(delivery.id, "the answer was lost")
        in_doubt = store.delivery(delivery.id)
        assert in_doubt.state == DeliveryState.UNKNOWN
        assert publisher._send_log(site, in_doubt).may_have_arrived
    finally:
        store.close()

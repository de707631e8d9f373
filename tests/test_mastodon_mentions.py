"""A review (each test failed before its fix): Mastodon mentions after a character Python calls a word character but Mastodon does not."""

from __future__ import annotations

import pytest
from broadcaster.messages import gate, mastodon

from tests.fakes.mastodon import mentions_in as mastodon_mentions  # Mastodon's own rule
from tests.social import update, view


@pytest.mark.parametrize("before", ["²", "½", "①", "³"])
def test_a_handle_after_a_superscript_or_fraction_is_not_a_mention_on_mastodon(before: str) -> None:
    message = f"Errors rose 10{before}@oncall is paging. See page{before}@support for help."
    assert gate.admit(message, "the message", gate.MESSAGE) == message  # the gate takes it as written
    status = mastodon.format_status(view(update(1, message)))
    assert mastodon_mentions(status) == []  # each would notify that account (and a remote one, @a@evil.social)


def test_a_link_holding_an_at_sign_after_an_equals_sign_stays_whole() -> None:
    # Mastodon's mention pattern never starts after "=" (its look-behind is [=/[:word:]]), so "?var-host=@all"
    # in a link is no mention; defuse_mentions still puts a zero-width non-joiner there, and the link Mastodon
    # (twitter-text) finds then ends at "var-host=": readers open another dashboard than the one written.
    from broadcaster.messages.twitter import _twitter_text

    link = "https://grafana.example.com/d/api?var-host=@all&orgId=1"
    status = mastodon.format_status(view(update(1, f"Dashboard: {link} shows it.")))
    assert link in status
    assert link in _twitter_text().extract_urls(status)


# -- through the real CLI, against FakeMastodon ------------------------------------------------------------

from collections.abc import Iterator  # noqa: E402

from tests.conftest import Project  # noqa: E402
from tests.fakes.bluesky import FakeBluesky  # noqa: E402
from tests.fakes.mastodon import FakeMastodon  # noqa: E402
from tests.social import B_PASSWORD, M_TOKEN, Social, social_project  # noqa: E402


@pytest.fixture
def social(project: Project) -> Iterator[Social]:
    with FakeMastodon(token=M_TOKEN) as masto, FakeBluesky(password=B_PASSWORD) as sky:
        yield from social_project(project, masto, sky)


def test_a_posted_status_mentions_no_one_through_the_cli(social: Social) -> None:
    code, first = social.post("--title", "API errors", "--skip", "sky", "Escalated to tier²@oncall, see footnote¹@support.")
    assert code == 0, first
    [status] = social.mastodon.posted
    assert mastodon_mentions(status.text) == []  # Mastodon notifies @oncall: "²" is no [[:word:]] character

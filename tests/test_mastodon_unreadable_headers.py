"""the channels' new "an unreadable answer is in doubt" rules misreading answers that are plain refusals.

Mastodon.py parses the rate-limit headers of EVERY answer before it looks at the status, and raises
MastodonRatelimitError("Rate limit time calculations failed: ...") when X-RateLimit-Reset cannot be read.
``channels/mastodon.py:_call`` now reads any MastodonRatelimitError other than "Hit rate limit." as an unreadable
success: "may or may not have been done", outcome unknown. On an instance (or a proxy in front of it) whose
X-RateLimit-Reset is one Mastodon.py cannot read, every refusal (401 token, 422 too long, 429) is then recorded
unknown: the operator is told the post may exist, and `retry` holds it, though the instance refused it.
"""

from __future__ import annotations

from tests.conftest import Project
from tests.fakes.base import Request, Response
from tests.fakes.mastodon import FakeMastodon
from tests.test_interrupted_send import mastodon_alone
from tests.test_wire_review17 import post, state_of


def _odd_reset_header_on_every_answer(fake: FakeMastodon) -> None:
    real = fake.dispatch

    def dispatch(request: Request) -> Response:
        answer = real(request)
        return Response(answer.status, answer.body, {**answer.headers, "X-RateLimit-Reset": "soon"},
                        answer.content_type)

    fake.dispatch = dispatch  # type: ignore[method-assign]


def test_a_refused_token_with_an_unreadable_rate_limit_header_is_failed_not_unknown(project: Project) -> None:
    with FakeMastodon() as fake:
        fake.reset(token="another-token-than-the-one-configured")  # every request answered 401
        mastodon_alone(project, fake)
        _odd_reset_header_on_every_answer(fake)
        first = post(project)
        delivery = state_of(first, "masto")
        assert not fake.statuses  # nothing was posted: the instance refused the token
        assert delivery["state"] == "failed", delivery
        assert "may or may not" not in delivery["error"], delivery

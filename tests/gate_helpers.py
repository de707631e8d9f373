"""What the review-20 gate tests share: a public webhook, a post, and the public site's text, to prove a refused
label reached no public place."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from broadcaster.messages import gate
from click.testing import Result

from broadcaster.errors import InputError
from tests.conftest import Project, public_webhook
from tests.fakes.webhook import FakeReceiver

LEAK = "CHG-4411"  # the private text every test's label holds back


@pytest.fixture(name="pub")
def public_receiver(project: Project) -> Iterator[FakeReceiver]:
    """A public webhook channel on the project, and what it received."""
    with public_webhook(project) as hook:
        yield hook


def post_text(project: Project, text: str) -> Result:
    return project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)


def public_files(project: Project) -> str:
    """Every published file of the site, as one text."""
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in project.site.rglob("*")
                     if p.is_file() and not p.name.startswith("."))


def assert_kept_back(project: Project, pub: FakeReceiver, text: str) -> None:
    """``text`` posted is refused (exit 2), and its private part reached neither the webhook nor the site."""
    result = post_text(project, text)
    assert result.exit_code == 2, result.output
    assert not [e for e in pub.events if LEAK in json.dumps(e)], "the public webhook got the span"
    assert LEAK not in public_files(project), "the public page or feeds hold the span"


def assert_taken(project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    """``text`` posted is taken (exit 0), and the public webhook shows ``shown``."""
    result = post_text(project, text)
    assert result.exit_code == 0, result.output
    assert [e for e in pub.events if shown in json.dumps(e, ensure_ascii=False)], "the public webhook lacks the text"


# The fields where a round-bracket instruction is judged (review 21l): a message, a postmortem, a customer's detail.
RULES = [gate.MESSAGE, gate.POSTMORTEM, gate.AUDIENCE_DETAIL]
RULE_IDS = ["message", "postmortem", "for-text"]


def refused(text: str, rule: gate.Rule) -> bool:
    """Whether the input gate refuses ``text`` under ``rule`` (called directly: fast, no CLI)."""
    try:
        gate.admit(text, "message", rule)
    except InputError:
        return True
    return False

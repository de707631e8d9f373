"""What the review-20 gate tests share: a public webhook, a post, and the public site's text, to prove a refused
label reached no public place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import Result

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

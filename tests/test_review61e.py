"""Review 61e: leaks across visibilities where recent reviews had not looked, through the real CLI and the fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver

# -- a customer whose name is one word with punctuation at its edge --------------------------------------------------

# "Yahoo!" with a short id (not looked for: "yh"), beside Acme Corp; a public receiver and acme's own.
YAHOO = """
[engine]
timeout = 2
deadline = 20
max_attempts = 2

[audiences.yh]
name = "Yahoo!"
components = ["web"]

[audiences.acme]
name = "Acme Corp"
components = ["api"]
"""


@pytest.fixture
def receivers(project: Project) -> Iterator[dict[str, FakeReceiver]]:
    started = {name: FakeReceiver().start() for name in ("pub", "acme")}
    try:
        project.env["S"] = SECRET
        project.write_config(YAHOO + "".join(
            f'\n[channels.{name}]\ntype = "webhook"\n{line}\nurl = "{started[name].hook_url}"\nsecret = "${{S}}"\n'
            for name, line in (("pub", ""), ("acme", 'audience = "acme"'))))
        yield started
    finally:
        for fake in started.values():
            fake.stop()


@pytest.mark.parametrize("args", [
    ("-C", "web", "Yahoo users see errors when sending mail."),
    ("-C", "web", "--title", "Errors for Yahoo", "Some users see errors when sending mail."),
    ("-C", "api", "--for", "acme", "Your relay to Yahoo is slow.", "Some users see errors."),
])
def test_a_one_word_customer_name_is_found_without_its_punctuation(
        project: Project, receivers: dict[str, FakeReceiver], args: tuple[str, ...]) -> None:
    """The config check reads "Yahoo Mail relay" as naming the customer "Yahoo!" (punctuation aside, as the guard
    reads a name of two words: "Acme Corp" for "Acme Corp."), but the egress guard searched a one-word name only as
    written, "yahoo!": the public (and another customer) got "Yahoo users see errors", exit 0."""
    options = args if "--title" in args else ("--title", "Mail errors", *args)
    result = project.cli("post", "--yes", "--json", *options)
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["refused"] is True
    assert receivers["pub"].events == [] and receivers["acme"].events == []
    assert json.loads(project.cli("list", "--json").stdout) == []  # nothing stored


def test_the_config_check_and_the_guard_read_a_one_word_name_alike(project: Project) -> None:
    project.write_config(YAHOO + '\n[[components]]\nid = "relay"\nname = "Yahoo relay"\n')
    result = project.cli("list")
    assert result.exit_code == 2 and "names the customer 'Yahoo!'" in result.output, result.output


def test_text_without_the_name_and_the_customer_s_own_channel_still_go(
        project: Project, receivers: dict[str, FakeReceiver]) -> None:
    result = project.cli("post", "--yes", "--json", "--title", "Mail errors", "-C", "web", "-C", "api",
                         "--for", "acme", "Your relay ACM-7 is rerouted.", "Some users see errors (yahooligans aside).")
    assert result.exit_code == 2  # "yahoo" inside a word is searched as the name is everywhere: as a substring
    result = project.cli("post", "--yes", "--json", "--title", "Mail errors", "-C", "web", "-C", "api",
                         "--for", "acme", "Your relay ACM-7 is rerouted.", "Some users see errors.")
    assert result.exit_code == 0, result.output
    assert [e["data"]["update"]["audience"]["detail"] for e in receivers["acme"].events] == [
        "Your relay ACM-7 is rerouted."]
    assert len(receivers["pub"].events) == 1

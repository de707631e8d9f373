"""``visibility._kept_text`` left a blank line (review 17j) where a whole line was a private span.

The line's own line break and the one before it both count as the gap, so the cut leaves "\n\n": a line that was
never there for the public is replaced by a blank line, which loosens a tight list, splits a block of lines (a pipe
table in a webhook receiver's markdown) and adds an empty line to a code block: the public sees where a private line
was, and the operator's layout is not kept as typed (what the tidy-only-at-cuts change promised).
"""

from __future__ import annotations

import html

import pytest
from broadcaster.messages.visibility import audience_text, public_text

from tests.conftest import Project

TABLE = ("| Region | State |\n|---|---|\n| eu-west | degraded |\n[private]| fra-2 (ACME) | down |[/private]\n"
         "| us-east | ok |")


@pytest.mark.parametrize(("typed", "public"), [
    ("- a\n  [private]on pg-7[/private]\n  - b", "- a\n  - b"),
    (TABLE, "| Region | State |\n|---|---|\n| eu-west | degraded |\n| us-east | ok |"),
    ("```\nstep 1\n[private]ssh root@10.0.0.7[/private]\nstep 2\n```", "```\nstep 1\nstep 2\n```"),
], ids=["nested-list", "table-row", "code-line"])
def test_a_line_that_is_a_private_span_is_cut_with_its_line_break(typed: str, public: str) -> None:
    assert public_text(typed) == public
    assert audience_text(typed, "globex") == public


CODE = "Run:\n\n```\nstep 1\n[private]ssh root@fra-2.acme.internal[/private]\nstep 2\n```"


def test_the_public_page_shows_a_code_block_without_the_line_a_private_span_was(project: Project) -> None:
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", CODE)
    assert posted.exit_code == 0, posted.output
    page = html.unescape(next((project.site / "incidents").glob("*.html")).read_text(encoding="utf-8"))
    assert "fra-2" not in page
    code = page[page.find("<pre"):page.find("</pre>")]
    # An empty line inside the operator's code block shows the public where the private line was.
    assert "step 1\nstep 2" in code, code

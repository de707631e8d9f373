"""Fixes of review 17b (findings 5, 6 and 7) and 17c (finding 3), each through the real code.

- 17b#7: a text is tidied only where a private span or a marker was cut out; everything else reaches every reader
  as typed (code blocks, nested lists, hard line breaks).
- 17c#3: an audience's configured name is shown on its private page as text, never as markdown.
- 17b#6: a customer's detail cut to fit Slack ends with the cut note, on its own channel and on staff's.
- 17b#5: a postmortem's ``[for ID]`` span reaches that customer's channels, its ``[private]`` spans staff's.
"""

from __future__ import annotations

import html
import json

import pytest
from broadcaster.messages.visibility import audience_text, full_text, public_text

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.fakes.webhook import FakeReceiver
from tests.test_audiences import said, slack  # noqa: F401  (fixture)
from tests.test_leak_review import hooks, public_files, run  # noqa: F401  (fixture)

# -- 17b#7: tidy only at the cuts ---------------------------------------------------------------------------------

POSTMORTEM = """# What happened

The route map we pushed:

```yaml
routes:
  - dst: 10.0.0.0/8
    via: edge-2
```

Timeline:

- 14:00 alert
    - paged the on-call
    - rollback started
"""


def test_a_postmortem_keeps_the_indentation_of_its_code_blocks_on_the_page(project: Project) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated error rates.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 0
    file = project.root / "pm.md"
    file.write_text(POSTMORTEM, encoding="utf-8")
    assert project.cli("postmortem", "--yes", incident, "--file", str(file)).exit_code == 0
    page = html.unescape((project.site / "incidents" / f"{incident}.html").read_text(encoding="utf-8"))
    assert "routes:\n  - dst: 10.0.0.0/8\n    via: edge-2" in page
    section = page[page.find("14:00 alert"):]
    assert section[:section.find("rollback started")].count("<ul>") == 1  # the nested list stays nested


@pytest.mark.parametrize(("typed", "public", "full"), [
    # No cut: every view is the text as typed.
    ("Code:\n\n    x  =  1\n    y = 2\n\nLine one  \nline two ( see ) !", None, None),
    # Indentation and hard breaks away from a cut stay; the gap the cut left is squeezed.
    ("Steps:\n\n- one [private]on pg-7[/private]\n    - nested\n\nA  B", "Steps:\n\n- one\n    - nested\n\nA  B",
     "Steps:\n\n- one on pg-7\n    - nested\n\nA  B"),
    # A cut before sentence punctuation closes the gap; at most one blank line is left where a span was.
    ("Errors [private]for ACME[/private].", "Errors.", "Errors for ACME."),
    ("One.\n\n[private]pg-7 failed.[/private]\n\nTwo.", "One.\n\nTwo.", "One.\n\npg-7 failed.\n\nTwo."),
    # A cut never joins two words, nor leaves spaces at either end.
    ("Errors[private]on pg-7[/private]now", "Errors now", "Errorson pg-7now"),
    ("[private]pg-7[/private] Errors [for acme]ACM-7[/for]", "Errors", "pg-7 Errors ACM-7"),
    # Chinese and Japanese run words together: no space is put between them.
    ("エラー[private]秘密[/private]発生", "エラー発生", "エラー秘密発生"),
], ids=["no-cut", "indent-kept", "punctuation", "blank-lines", "no-joined-words", "ends", "cjk"])
def test_text_is_tidied_only_where_a_span_was_cut(typed: str, public: str | None, full: str | None) -> None:
    assert public_text(typed) == (typed if public is None else public)
    assert full_text(typed) == (typed if full is None else full)


def test_an_audience_text_keeps_its_own_span_and_the_indentation_around_it() -> None:
    typed = "Status:\n\n    code  block\n\n[for acme]Your circuit ACM-7.[/for] [for globex]GLX-77[/for] Done."
    assert audience_text(typed, "acme") == "Status:\n\n    code  block\n\nYour circuit ACM-7. Done."
    assert audience_text(typed, "globex") == "Status:\n\n    code  block\n\nGLX-77 Done."


# -- 17c#3: an audience's name on its private page is text -------------------------------------------------------

CUSTOMER_PAGE = """
[page]
title = "Acme status"
base_url = "https://status.example.com/"
output_dir = "public"

[[components]]
id = "api"
name = "API"

[audiences.acme]
name = "[Acme](https://evil.example/login) **Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"
"""
TOKEN = "tok_abcdefghijklmnopqrstuvwxyz0123456789"


def test_the_customer_page_shows_the_audience_name_as_text(project: Project) -> None:
    project.write_config(CUSTOMER_PAGE, base="")
    project.env["ACME_FEED_TOKEN"] = TOKEN
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage",
                         "--for", "acme", "Your circuit 7 is down.", "We are looking into it.")
    assert result.exit_code == 0, result.output
    page = (project.site / "a" / TOKEN / "index.html").read_text(encoding="utf-8")
    assert "Your circuit 7 is down." in page
    assert 'href="https://evil.example/login"' not in page and "<em>" not in page
    assert "For [Acme](https://evil.example/login) **Corp:" in html.unescape(page)  # the name as written
    atom = html.unescape(html.unescape((project.site / "a" / TOKEN / "atom.xml").read_text(encoding="utf-8")))
    assert 'href="https://evil.example/login"' not in atom
    assert "For [Acme](https://evil.example/login) **Corp:" in atom


# -- 17b#6: a customer's detail cut to fit Slack says so ---------------------------------------------------------

END = "END-OF-ACME-DETAIL"
CUT_NOTE = "(cut to fit Slack)"


def test_a_long_customer_detail_is_cut_with_a_note_on_its_channel_and_on_staffs(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    chunk = ("Your circuit ACM-7 was rerouted via Frankfurt and back. " * 90)[:4800]
    parts = [chunk + f" Part {n}." for n in (1, 2)] + [chunk + f" {END}"]
    args = [arg for part in parts for arg in ("--for", "acme", part)]
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", *args, "Errors on the API.")
    assert code == 0, out
    acme_blocks = [b for m in slack.messages["C0ACME0001"] for b in m.blocks or []]
    detail = [b["text"]["text"] for b in acme_blocks if b.get("type") == "section" and "text" in b]
    assert END not in said(slack, "C0ACME0001")
    assert any(text.endswith(f"…_{CUT_NOTE}_") or text.endswith(f"… _{CUT_NOTE}_") for text in detail), detail[-1:]
    # Staff's field for acme's detail, cut at a field's length, ends with the same note (it was a bare "…").
    ops_fields = [f["text"] for m in slack.messages["C0OPS00001"] for b in m.blocks or [] for f in b.get("fields", [])]
    acme_field = next(f for f in ops_fields if f.startswith("*For Acme Corp"))
    assert acme_field.endswith(f"… _{CUT_NOTE}_"), acme_field[-80:]


# -- 17b#5: a postmortem's spans reach the readers they were written for -----------------------------------------


@pytest.mark.parametrize("told_before", [True, False], ids=["told-by-component", "told-by-the-span"])
def test_a_postmortem_span_reaches_its_customer_and_private_spans_reach_staff(
        project: Project, hooks: dict[str, FakeReceiver], told_before: bool) -> None:  # noqa: F811
    customer, other, detail, token = (
        ("acme", "globex", "Your circuit ACM-7 flapped 14 times.", "ACM-7") if told_before
        else ("globex", "acme", "Your nightly exports were delayed by GLX-77.", "GLX-77"))
    incident = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
    run(project, "resolve", incident, "Fixed.")
    postmortem = project.root / "pm.md"
    postmortem.write_text(f"# What happened\n\nA router failed. [private]edge router fra-2 lost BGP after "
                          f"CHG-4411[/private]\n\n[for {customer}]{detail}[/for]\n", encoding="utf-8")
    result = run(project, "postmortem", incident, "--file", str(postmortem))
    assert {d["destination"]: d["state"] for d in result["deliveries"]}[f"{customer}-hook"] == "sent"

    told = hooks[customer].events[-1]["data"]
    assert "postmortem" in told["update"]["message"] and token in json.dumps(told)
    assert "CHG-4411" not in json.dumps(told)
    staff = json.dumps(hooks["ops"].events[-1]["data"])
    assert "CHG-4411" in staff and token in staff
    public = json.dumps([e["data"] for e in hooks["pub"].events])
    assert "CHG-4411" not in public and token not in public and token not in public_files(project)
    assert all(token not in json.dumps(e["data"]) for e in hooks[other].events)


def test_on_slack_a_postmortem_announcement_carries_the_customers_detail_and_staffs_private_text(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    assert project.cli("resolve", "--yes", out["incident_id"], "Fixed.").exit_code == 0
    postmortem = project.root / "pm.md"
    postmortem.write_text("# What happened\n\nA router failed.[private] CHG-4411 broke it.[/private]\n\n"
                          "[for acme]Your circuit ACM-7 flapped 14 times.[/for]\n", encoding="utf-8")
    code, out = project.cli_json("postmortem", "--yes", out["incident_id"], "--file", str(postmortem))
    assert code == 0, out
    acme, ops, public = said(slack, "C0ACME0001"), said(slack, "C0OPS00001"), said(slack, "C0PUB00001")
    assert "published a postmortem" in acme and "For Acme Corp:" in acme and "ACM-7 flapped" in acme
    assert "CHG-4411" not in acme
    assert "CHG-4411" in ops and "ACM-7 flapped" in ops
    assert "CHG-4411" not in public and "ACM-7" not in public


def test_a_customer_name_with_punctuation_holding_another_customers_name_still_gets_its_page(
        project: Project) -> None:
    # The page's guard masks the reader's own name: escaped for markdown, the name must still read as typed on
    # the page and in the feeds, or another customer's name inside it would be taken for a leak.
    config = CUSTOMER_PAGE.replace('"[Acme](https://evil.example/login) **Corp"', '"Acme (Globex reseller) Ltd."')
    project.write_config(config + '\n[audiences.globex]\nname = "Globex"\ncomponents = ["api"]\n', base="")
    project.env["ACME_FEED_TOKEN"] = TOKEN
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage",
                         "--for", "acme", "Your circuit 7 is down.", "We are looking into it.")
    assert result.exit_code == 0, result.output
    page = html.unescape((project.site / "a" / TOKEN / "index.html").read_text(encoding="utf-8"))
    assert "For Acme (Globex reseller) Ltd.:" in page and "Your circuit 7 is down." in page
    for feed in ("atom.xml", "feed.xml"):
        text = html.unescape(html.unescape((project.site / "a" / TOKEN / feed).read_text(encoding="utf-8")))
        assert "For Acme (Globex reseller) Ltd.:" in text and "\\(" not in text, feed

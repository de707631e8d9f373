"""The gate's tag-pair and customer-id refusals against ordinary incident text, and their slips (reviews 17f, 17h).

- A tag pair's X was "any word but a formatting tag": quoted log lines (Spring/Tomcat's "[orders,trace,span] ...
  context with path [/orders]", Spring Boot 3.2's root context "[/]"), "[v2] ... [/v2/orders]", a markdown link's
  text followed by a bracketed path, or "[api] POST [/api]" were refused as "looks like a private marker", even
  inside a fenced code block.
- "ℹ️" (U+2139 is a letter) followed by its emoji selector was refused as an invisible character.
- The pair had to close with exactly the same word in square brackets: a slip ("[redacted]..[/redact]",
  "[ops]..[/opz]"), curly braces ("{ops}..{/ops}"), an angle-bracket, backslash or trailing-slash closer, an opener
  with a comma, a link-looking opener, an "@" word or a long opener, or a closer after a word ending in an HTTP
  method ("throughput[/ops]") published the span to everyone. A bare "[/]", "[/payments/]" and "[\\share]" are
  paths, not closers, and "[app]"/"[/api]" two names (17i). "[login] ... [/login]" stays refused: no syntax tells it
  from a tag pair.
- A customer's id among a few words in brackets ("[acme team]", "[cc acme]") was refused, then not (17h), then is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import Project, public_webhook
from tests.fakes.webhook import FakeReceiver

LEAK = "CHG-4411"

SPRING_LOG = """The orders service failed every call:

```
2026-12-05 01:02:03.456 ERROR [orders,5f1c2a,9be3] 1 --- [nio-8080-exec-4] o.a.c.c.C.[.[.[/orders].[dispatcherServlet] : Servlet.service() for servlet [dispatcherServlet] in context with path [/orders] threw exception
```
"""

LOG_EXCERPT = """From the gateway's log:

```
[api-gateway] upstream timed out (110) while reading response header for [/api/v2/orders]
```
"""

DOC_LINK = "See the [API reference](https://docs.example.com/api) for `[/api/v1/users]`; calls there failed."
VERSIONED = "API [v2] clients saw errors: calls to [/v2/orders] timed out."


SPRING_BOOT_32_CONTEXT = """From the orders service:

```
2026-12-05T01:02:03.456Z ERROR 1 --- [orders] [nio-8080-exec-4] o.a.c.c.C.[.[.[/orders].[dispatcherServlet] : Servlet.service() for servlet [dispatcherServlet] in context with path [/orders] threw exception
```
"""

SPRING_BOOT_32 = """From the orders service:

```
2026-12-05T01:02:03.456Z ERROR 1 --- [orders] [nio-8080-exec-4] o.a.c.c.C.[.[.[/].[dispatcherServlet] : Servlet.service() threw exception
```
"""


@pytest.mark.parametrize("text", [
    SPRING_LOG, LOG_EXCERPT, DOC_LINK, VERSIONED, SPRING_BOOT_32,
    "[EU] customers saw 502 errors on the root path [/].",
    "From the gateway log:\n\n```\n[api] POST [/api] 502 upstream timed out\n```",
    "The [app] returned 502 for requests to [/api].",
    "[payments] degraded; see the [/payments/] dashboard.",
    "Windows hosts in [share] could not reach [\\share].",
    SPRING_BOOT_32_CONTEXT,
], ids=["spring-log", "gateway-log", "md-link-then-path", "version-then-path", "spring-boot-3.2-root", "root-path",
        "request-line", "app-then-api", "trailing-slash-path", "backslash-share", "spring-boot-3.2-context-path"])
def test_quoted_logs_and_paths_are_no_marker(project: Project, text: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("text", ["\u2139\ufe0f Scheduled maintenance of the API tonight.",
                                  "Maintenance done \u2139\ufe0f details below."], ids=["info-first", "info-inside"])
def test_the_information_emoji_is_taken(project: Project, text: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)
    assert result.exit_code == 0, result.output


@pytest.fixture
def pub(project: Project) -> Iterator[FakeReceiver]:
    with public_webhook(project) as hook:
        yield hook


def _public_files(project: Project) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in project.site.rglob("*")
                     if p.is_file() and not p.name.startswith("."))


@pytest.mark.parametrize("text", [
    f"API errors. [redacted]edge router fra-2 lost BGP after {LEAK}[/redact]",
    f"API errors. [ops only]edge router fra-2 lost BGP after {LEAK}[/op]",
    f"API errors. [ops, eyes only]edge router fra-2 lost BGP after {LEAK}[/ops]",
    f"API errors. [ops,eyes only]edge router fra-2 lost BGP after {LEAK}[/ops]",
    f"API errors. [ops]Acme's circuit {LEAK} saw low throughput[/ops]",
    f"API errors. [redacted]edge router fra-2 lost BGP after {LEAK}[/redactd]",
    f"API errors. [ops]({LEAK}) edge router fra-2 lost BGP[/ops]",
    f"API errors. [@oncall]edge router fra-2 lost BGP after {LEAK}[/@oncall]",
    f"API errors. [ops note: hold back until the vendor has confirmed the root cause of this]edge router "
    f"fra-2 lost BGP after {LEAK}[/ops]",
    f"API errors. {{ops}}edge router fra-2 lost BGP after {LEAK}{{/ops}}",
    f"API errors. {{redacted}}edge router fra-2 lost BGP after {LEAK}{{/redacted}}",
    f"API errors. [ops]edge router fra-2 lost BGP after {LEAK}</ops>",
], ids=["closer-slip", "closer-short", "comma-opener", "comma-opener-no-space", "method-word-ending",
        "four-letter-slip", "link-looking-opener", "at-opener", "long-opener", "curly-ops", "curly-redacted",
        "square-then-angle"])
def test_a_tag_pair_closed_with_a_slip_or_other_brackets_is_refused(
        project: Project, pub: FakeReceiver, text: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)
    assert result.exit_code == 2, result.output
    assert not [e for e in pub.events if LEAK in json.dumps(e)]
    assert LEAK not in _public_files(project)


# -- F4: Matrix's cut of a staff message points at a page that never holds its private spans -------------------


def test_a_staff_message_cut_for_matrix_does_not_send_staff_to_the_public_page() -> None:
    from broadcaster.messages import matrix as fmt
    from broadcaster.messages.model import Audience
    from broadcaster.messages.visibility import private_view

    from tests.channel_updates import URL, incident, update
    from tests.test_matrix_many_customers import DETAIL

    named = {f"cust{i}": Audience(f"cust{i}", f"Customer {i} " + "n" * 60) for i in range(100)}
    message = "We are looking into it. " * 20 + "[private]Root cause: CHG-4411 pushed a bad route map.[/private]"
    upd = update(1, message=message, audiences=tuple(named),
                 audience_detail=tuple((key, f"{key}: {DETAIL}") for key in named))
    body = fmt.content(private_view(incident(), upd, url=URL, audiences=named))["body"]
    assert "Root cause" not in body  # the staff message was cut before its private span ...
    shown = body.split("\n\n")[1]
    # ... and says the public incident page has it in full, which holds no private span.
    assert "incident page has it in full" not in shown, shown[-120:]


# -- F5: a bracketed word that merely starts or ends with a short customer id is taken for its marker ------------

SHORT_IDS = """
[audiences.ing]
name = "ING Bank"
components = ["api"]

[audiences.post]
name = "Swiss Post"
components = ["db"]
"""


@pytest.mark.parametrize("text", [
    "From the controller's log:\n\n```\n[warning] ingress controller reloaded 40 times\n```",
    "Payments are [pending] while the [billing] queue drains.",
    "From the database log:\n\n```\n[postgres] FATAL: remaining connection slots are reserved\n```",
    "Calls failed: `[POST /v1/orders] 502 Bad Gateway`.",
    "Replica [host db-1] and the [cost center] report lagged.",
], ids=["warning", "pending-billing", "postgres", "http-method", "one-slip-words"])
def test_bracketed_words_holding_a_short_customer_id_are_no_marker(project: Project, text: str) -> None:
    project.write_config(SHORT_IDS)
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)
    assert result.exit_code == 0, result.output


ACME = """
[audiences.acme]
name = "Acme Logistics"
components = ["api"]
"""


@pytest.mark.parametrize("text", [
    f"API errors. [acme eyes only] your circuit {LEAK} at fra-2 lost BGP.",
    f"API errors. [acme customers only] your circuit {LEAK} at fra-2 lost BGP.",
    f"API errors. [acme team] your circuit {LEAK} at fra-2 lost BGP.",
    f"API errors. [cc acme] your circuit {LEAK} at fra-2 lost BGP.",
    f"API errors. [attention acme] your circuit {LEAK} at fra-2 lost BGP.",
], ids=["eyes-only", "customers-only", "team", "cc", "attention"])
def test_a_bracketed_customer_header_is_refused(project: Project, text: str) -> None:
    with public_webhook(project, ACME) as pub:
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)
    assert result.exit_code == 2, result.output
    assert not [e for e in pub.events if LEAK in json.dumps(e)]
    assert LEAK not in _public_files(project)

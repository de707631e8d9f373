"""Fix 20b: text that only looks harmless (review 20b), through the real CLI against the fakes.

- Tag pairs whose word holds punctuation ("[ops-only]...[/ops-only]", "[ops]...[/ops.]"), whose brackets are escaped
  the Markdown way ("\\[ops\\]...\\[/ops\\]") or whose word is set in emphasis or code ("[**ops**]...[/**ops**]")
  were published to everyone, as were marker words in German and Swedish ("[nur intern]", "[hemlig]") and English
  ones after another word ("[ops internal]").
- A server's answer of several lines, or with invisible layout characters, forged delivery lines on the operator's
  terminal in `post`, `retry`, `show` and `channels check`; `store import` took line breaks in a delivery's ids.
- Shell completion printed the config's template names and titles raw; `site serve` logged a decoded
  right-to-left override raw.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages import gate

from broadcaster.errors import InputError, printable
from tests.conftest import Project, public_webhook
from tests.fakes.base import Fault, Response
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import LEAK, public_receiver  # noqa: F401 - public_receiver: the pub fixture
from tests.gate_helpers import public_files as _public_files


def _refused_and_kept_back(project: Project, pub: FakeReceiver, *args: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", *args)
    assert result.exit_code == 2, result.output
    assert "looks like" in result.stderr and "nothing was stored or sent" in result.stderr, result.stderr
    assert not [e for e in pub.events if LEAK in json.dumps(e)], "the public webhook got the span"
    assert LEAK not in _public_files(project), "the public page or feeds hold the span"


# -- 1. tag pairs and marker words ---------------------------------------------------------------------------------

PAIRS = [
    ("hyphen", "[ops-only]", "[/ops-only]"),
    ("underscore", "[eyes_only]", "[/eyes_only]"),
    ("dot", "[sre.only]", "[/sre.only]"),
    ("unicode-hyphen", "[ops\u2010only]", "[/ops\u2010only]"),
    ("plus", "[ops+only]", "[/ops+only]"),
    ("closer-full-stop", "[ops]", "[/ops.]"),
    ("closer-bang", "[ops]", "[/ops!]"),
    ("closer-underscore", "[ops]", "[/ops_]"),
    ("spaced-opener-hyphenated-closer", "[ops only]", "[/ops-only]"),
    ("markdown-escaped", "\\[ops\\]", "\\[/ops\\]"),
    ("markdown-escaped-redacted", "\\[redacted\\]", "\\[/redacted\\]"),
    ("bold", "[**ops**]", "[/**ops**]"),
    ("code", "[`ops`]", "[/`ops`]"),
    ("italic", "[_ops_]", "[/_ops_]"),
]


@pytest.mark.parametrize(("opener", "closer"), [p[1:] for p in PAIRS], ids=[p[0] for p in PAIRS])
def test_a_tag_pair_with_punctuation_escapes_or_emphasis_is_refused(
        project: Project, pub: FakeReceiver, opener: str, closer: str) -> None:
    _refused_and_kept_back(project, pub, f"API errors. {opener}edge router fra-2 lost BGP after {LEAK}{closer} Fixed.")


WORDS = ["[nur intern]", "[internt]", "[endast internt]", "[vertraulich]", "[geheim]", "[hemlig]",
         "[nicht öffentlich]", "[only internal]", "[ops internal]", "[not public]", "[**internal**]", "[interne Notiz]"]


@pytest.mark.parametrize("opener", WORDS)
def test_marker_words_in_german_swedish_and_after_another_word_are_refused(
        project: Project, pub: FakeReceiver, opener: str) -> None:
    _refused_and_kept_back(project, pub, f"API errors. {opener} edge router fra-2 lost BGP after {LEAK}.")


def test_a_hyphenated_tag_pair_in_the_title_is_refused(project: Project, pub: FakeReceiver) -> None:
    result = project.cli("post", "--yes", "--title", f"API errors [ops-only]{LEAK}[/ops-only]", "-C", "api", "Errors.")
    assert result.exit_code == 2, result.output
    assert not pub.events and LEAK not in _public_files(project)


@pytest.mark.parametrize("text", [
    "The [api] returned 502 for calls to [/api.json] and [/api?page=2].",
    "Version [v2] clients failed; [/v2.1] was fine.",
    "Errors on [see below] and [or the CDN] for [four hours].",
    "Hold on [wait for it] while [2 customers affected] recover.",
    "The [international] and [internet] links, [public] notes and [not publicly] said things are fine.",
    "Use *bold* and _italic_ [see **docs**] freely; `code` too.",
    "A literal backslash: C:\\\\[share] and \\\\[x\\\\] in prose.",
], ids=["path-extension-and-query", "version-path", "bracketed-prose", "for-and-customers-later",
        "near-words", "emphasis-in-prose", "escaped-backslashes"])
def test_ordinary_text_with_brackets_is_still_taken(project: Project, pub: FakeReceiver, text: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("rule", [gate.PRIVATE, gate.NAME, gate.TEMPLATE_VALUE], ids=lambda r: r.kind)
def test_fields_without_markers_refuse_the_new_forms_too(rule: gate.Rule) -> None:
    """`--for` detail, a customer, a template value: whatever ``lookalike`` decides, it decides for every field."""
    for text in ("[ops-only]x[/ops-only]", "[nur intern] x", "\\[ops\\]x\\[/ops\\]"):
        with pytest.raises(InputError, match="looks like"):
            gate.admit(text, "the field", rule)


# -- 2. a server's text stays on its delivery's line ---------------------------------------------------------------

FORGED = "nope\n  \u2713 pub                          sent\u2028\u200f\u061c\u200e\u2029x"


def _forged(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip().startswith("\u2713")]


def _layout(text: str) -> set[str]:
    return {"\u2028", "\u2029", "\u200e", "\u200f", "\u061c"} & set(text)


def _refusing(body: str = FORGED) -> list[Fault]:
    return [Fault(response=Response(400, body, content_type="text/plain")) for _ in range(8)]


def test_a_multi_line_answer_stays_on_its_line_in_post_retry_and_show(project: Project) -> None:
    with public_webhook(project) as hook:
        hook.fail(*_refusing())
        posted = project.cli("post", "--yes", "--only", "pub", "--title", "API errors", "Elevated errors.")
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        hook.fail(*_refusing())
        retried = project.cli("retry", incident)
        shown = project.cli("show", incident)
    assert posted.exit_code == 3 and retried.exit_code == 3, (posted.output, retried.output)
    assert shown.exit_code == 0, shown.output
    for result in (posted, retried, shown):
        out = result.stdout + result.stderr
        assert "(HTTP 400: nope / \u2713 pub" in out and "\\u200f\\u061c\\u200e" in out, out  # the answer, one line
        assert not _forged(out), out
        assert not _layout(out), repr(out)


def test_a_multi_line_answer_stays_on_its_line_in_channels_check(project: Project) -> None:
    with public_webhook(project) as hook:
        hook.fail(*_refusing())
        checked = project.cli("channels", "check")
    out = checked.stdout + checked.stderr
    assert "FAIL" in out and "(HTTP 400: nope / \u2713 pub" in out, out
    assert not _forged(out) and not _layout(out), repr(out)


def test_printable_escapes_every_format_character_and_separator() -> None:
    """All of Unicode's Cf, Zl and Zp but the joiners that hold an emoji together (ZWJ, tag characters)."""
    kept = {0x200D, *range(0xE0020, 0xE0080)}
    shown = [c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Cf", "Zl", "Zp")
             and c not in kept and printable(chr(c)) == chr(c)]
    assert shown == [], [hex(c) for c in shown]
    assert printable("a\nb\tc", one_line=True) == "a\\nb\\tc" and printable("a\nb\tc") == "a\nb\tc"
    assert printable("On it \U0001F469\u200d\U0001F4BB") == "On it \U0001F469\u200d\U0001F4BB"


def test_every_character_printable_escapes_is_one_python_does_not_call_printable() -> None:
    # ``printable`` returns a text Python calls printable as it is, unscanned: that holds only if no
    # character it escapes is printable to Python.
    from broadcaster.errors import _UNPRINTABLE

    escaped = [chr(c) for c in range(sys.maxunicode + 1) if _UNPRINTABLE.fullmatch(chr(c))]
    assert len(escaped) > 100 and not [hex(ord(c)) for c in escaped if c.isprintable()]
    for text in ("plain", "caf\u00e9 \u2713", "a\x1b[2Jb", "x\u202ey", "soft\u00adhyphen", "line\u2028sep"):
        assert printable(text) == text if text.isprintable() else printable(text) != text


def _exported_delivery(project: Project, tmp_path: Path) -> list[dict[str, Any]]:
    with public_webhook(project):
        assert project.cli("post", "--yes", "--title", "API errors", "Errors.").exit_code == 0
    path = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(path)).exit_code == 0
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _import(project: Project, tmp_path: Path, lines: list[dict[str, Any]]) -> Any:
    source = tmp_path / "edited.jsonl"
    source.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    target = Project(tmp_path / "target")
    target.root.mkdir()
    target.write_config(project.config.read_text(encoding="utf-8"), base="")
    target.env.update(project.env)
    return target, target.cli("store", "import", str(source))


def _pub_delivery(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for line in lines if "updates" in line for d in line["updates"][0]["deliveries"]
                if d["destination"] == "pub")


@pytest.mark.parametrize("key", ["remote_id", "thread_ref", "claimed_by", "parts"])
def test_store_import_refuses_a_line_break_in_an_id(project: Project, tmp_path: Path, key: str) -> None:
    lines = _exported_delivery(project, tmp_path)
    forged = "msg_1\n  \u2713 pub                          sent"
    _pub_delivery(lines)[key] = [forged] if key == "parts" else forged
    _, result = _import(project, tmp_path, lines)
    assert result.exit_code == 2, result.output
    assert f"{key} " in result.stderr and "line break" in result.stderr and "Nothing was imported" in result.stderr


def test_store_import_takes_an_older_multi_line_error_on_one_line(project: Project, tmp_path: Path) -> None:
    """An export made before errors were kept to one line may hold one of several lines: it imports, one line."""
    lines = _exported_delivery(project, tmp_path)
    _pub_delivery(lines)["last_error"] = "nope\n\u2713 pub sent\u2028x"
    target, result = _import(project, tmp_path, lines)
    assert result.exit_code == 0, result.output
    incident = json.loads(target.cli("list", "--json").stdout)[0]["id"]
    shown = target.cli("show", incident)
    assert "nope\\n" in shown.stdout and not _forged(shown.stdout) and not _layout(shown.stdout), shown.stdout


# -- 3. shell completion -------------------------------------------------------------------------------------------


def _complete(project: Project, shell: str, words: list[str], incomplete: str = "") -> str:
    comp_words = ["broadcaster", "--config", str(project.config), *words, incomplete]
    env = {**os.environ, **project.env, "COMP_WORDS": " ".join(comp_words), "_BROADCASTER_COMPLETE": shell,
           "COMP_CWORD": incomplete if shell == "fish_complete" else str(len(comp_words) - 1)}
    done = subprocess.run([sys.executable, "-c", "from broadcaster.cli import main; main(prog_name='broadcaster')"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=project.root)
    return done.stdout + done.stderr


@pytest.mark.parametrize("shell", ["bash_complete", "zsh_complete", "fish_complete"])
def test_template_completion_prints_names_and_titles_escaped(project: Project, shell: str) -> None:
    project.write_config('[templates.db]\ntitle = "DB \\u001b]0;pwned\\u0007\\u001b[2J {region} down"\n'
                         'message = "m"\n[templates."a\\u001b[31mb"]\ntitle = "t"\nmessage = "m"\n')
    shown = _complete(project, shell, ["post", "--template"])
    assert "db" in shown and "a\\x1b[31mb" in shown, shown  # the names, escaped
    assert not {"\x1b", "\x07"} & set(shown), repr(shown)
    if shell != "bash_complete":  # bash gets values alone
        assert "DB \\x1b]0;pwned\\x07\\x1b[2J {region} down" in shown, repr(shown)


def test_component_completion_draws_a_line_separator_escaped(project: Project) -> None:
    """A config's component name may hold U+2028 (no control character): zsh draws it as the value's help."""
    project.write_config('[[components]]\nid = "edge"\nname = "Edge\\u2028\\u2029Gateway"\n')
    shown = _complete(project, "zsh_complete", ["post", "-C"])
    assert "Edge\\u2028\\u2029Gateway" in shown and not _layout(shown), repr(shown)


def test_a_template_title_of_several_lines_is_a_config_error(project: Project) -> None:
    project.write_config('[templates.db]\ntitle = "DB down\\n  \u2713 pub sent"\nmessage = "m"\n')
    result = project.cli("templates")
    assert result.exit_code == 2, result.output
    assert "templates.db.title" in result.stderr and "must be one line" in result.stderr, result.stderr


# -- 4. site serve's request log -----------------------------------------------------------------------------------


def test_site_serves_request_log_shows_format_characters_escaped(project: Project) -> None:
    assert project.cli("post", "--yes", "--title", "API errors", "Errors.").exit_code == 0
    process = project.process("site", "serve", "--port", "0")
    try:
        url = process.stdout.readline().split(" at ")[1].split()[0]  # type: ignore[union-attr]
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(url + "index.html%E2%80%AE%E2%80%8F%E2%80%A8txt.exe", timeout=5)
            except urllib.error.HTTPError:
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        _, logged = process.communicate(timeout=10)
    # Escaped once by broadcaster; the standard library then doubles a backslash (Python 3.12 and later 3.11s).
    assert re.search(r"index\.html\\+u202e\\+u200f\\+u2028txt\.exe", logged), logged
    assert "\u202e" not in logged and not _layout(logged), repr(logged)

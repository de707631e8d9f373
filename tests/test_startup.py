"""Start-up stays cheap: SDKs load only when a command sends, and X's length is counted without them when it can.

Which modules a command loads is checked in a fresh interpreter (this test
process has long imported every SDK). The upper bound that lets a short X
post skip twitter-text is checked against twitter-text itself, as a property.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from broadcaster.messages import twitter
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT

# Each costs 100-400 ms to import; none is needed to check a config or preview a post.
HEAVY = ("tweepy", "requests", "twitter_text", "pkg_resources", "telegram", "httpx", "slack_sdk", "aiohttp",
         "boto3", "botocore", "psycopg", "standardwebhooks", "nio", "jsonschema", "aiosmtplib")

CHANNELS = """
[[components]]
id = "api"
name = "API"

[publish.bucket]
type = "s3"
bucket = "status"

[channels.x]
type = "twitter"
bearer_token = "${X_TOKEN}"

[channels.tg]
type = "telegram"
token = "${TG_TOKEN}"
chat_ids = ["@acmestatus", -1001001]

[channels.slack]
type = "slack"
visibility = "private"
token = "${SLACK_TOKEN}"
channel = "C0123ABCD"

[channels.discord]
type = "discord"
webhook_url = "${DISCORD_URL}"

[channels.teams]
type = "teams"
webhook_url = "${TEAMS_URL}"

[channels.hook]
type = "webhook"
url = "https://hooks.example.com/status"
secret = "${HOOK_SECRET}"

[channels.matrix]
type = "matrix"
homeserver = "https://matrix.example.org"
access_token = "${MATRIX_TOKEN}"
room_id = "!AbCdEf:example.org"

[channels.email]
type = "email"
host = "smtp.example.com"
username = "status@example.com"
password = "${SMTP_PASSWORD}"
from = "Acme status <status@example.com>"
to = ["customers@example.net"]
"""


def loaded_after(code: str, tmp_path: Path) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter; which HEAVY modules (and others asked about) it left loaded."""
    body = textwrap.indent(textwrap.dedent(code).strip(), "    ")
    report = (
        f"print(json.dumps({{'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules), "
        "'all': sorted(sys.modules)}), file=sys.stderr)"
    )
    probe = f"import json, sys\ntry:\n{body}\nexcept SystemExit:\n    pass\n{report}\n"
    env = {**os.environ, "X_TOKEN": "x", "TG_TOKEN": "1:t", "SLACK_TOKEN": "xoxb-t",
           "DISCORD_URL": "https://discord.com/api/webhooks/123456789012345678/" + "t" * 68,
           "TEAMS_URL": "https://prod-1.westus.logic.azure.com/workflows/a/triggers/manual/paths/invoke?sv=1.0&sig=s1g",
           "HOOK_SECRET": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
           "MATRIX_TOKEN": "syt_t", "SMTP_PASSWORD": "pw"}
    env.pop("BROADCASTER_CONFIG", None)
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    loaded: dict[str, list[str]] = json.loads(result.stderr.strip().splitlines()[-1])
    return loaded


def test_channel_modules_and_config_validation_load_no_sdk(tmp_path: Path) -> None:
    (tmp_path / "broadcaster.toml").write_text(CHANNELS, encoding="utf-8")
    loaded = loaded_after("""
        import broadcaster.channels.slack, broadcaster.channels.telegram, broadcaster.channels.twitter, broadcaster.messages.twitter
        import broadcaster.channels.discord, broadcaster.channels.teams, broadcaster.channels.webhook
        import broadcaster.channels.matrix, broadcaster.channels.email
        from broadcaster import config_loader as config
        assert set(config.load("broadcaster.toml").channels) == {"x", "tg", "slack", "discord", "teams", "hook", "matrix", "email"}
    """, tmp_path)
    assert loaded["heavy"] == []


def test_help_loads_no_sdk_and_no_site_builder(tmp_path: Path) -> None:
    loaded = loaded_after("""
        sys.argv = ["broadcaster", "--help"]
        from broadcaster.cli import main
        main()
    """, tmp_path)
    assert loaded["heavy"] == []
    assert not [m for m in loaded["all"] if m.startswith(("jinja2", "rich", "feedgen", "broadcaster.site"))]
    # The records of a delivery and the did-you-mean matcher are only needed once a command runs.
    assert not {"broadcaster.delivery", "difflib", "asyncio"} & set(loaded["all"])


def test_a_dry_run_to_every_channel_type_loads_no_sdk(tmp_path: Path) -> None:
    (tmp_path / "broadcaster.toml").write_text(CHANNELS, encoding="utf-8")
    loaded = loaded_after("""
        sys.argv = ["broadcaster", "post", "--dry-run", "--json", "--title", "API errors", "-C", "api",
                    "Elevated error rates on the API. See https://docs.example.com/status for details."]
        from broadcaster.cli import main
        main()
    """, tmp_path)
    assert loaded["heavy"] == []


def test_a_dry_run_loads_neither_the_site_builder_nor_asyncio(tmp_path: Path) -> None:
    """Issue 20 point 4: checking that the site's folder is broadcaster's needs no jinja2, and a
    preview starts no event loop (asyncio and ssl are a tenth of a dry run)."""
    (tmp_path / "broadcaster.toml").write_text(CHANNELS, encoding="utf-8")
    loaded = loaded_after("""
        sys.argv = ["broadcaster", "post", "--dry-run", "--title", "API errors", "-C", "api",
                    "Elevated error rates. [private]edge fra-2[/private]"]  # a private value: the page check's path
        from broadcaster.cli import main
        main()
    """, tmp_path)
    assert "broadcaster.site.ownership" in loaded["all"], "the folder was not checked: the probe proves nothing"
    unwanted = ("asyncio", "ssl", "jinja2", "icalendar", "feedgen", "broadcaster.site.build", "broadcaster.site.source")
    assert [m for m in loaded["all"] if m.startswith(unwanted)] == []


def _loaded_by_a_dry_run(tmp_path: Path) -> dict[str, list[str]]:
    """``loaded_after`` a dry run of a new incident with the config in ``tmp_path``."""
    return loaded_after("""
        sys.argv = ["broadcaster", "post", "--dry-run", "--title", "API errors", "-C", "api", "Elevated errors."]
        from broadcaster.cli import main
        main()
    """, tmp_path)


def test_an_english_dry_run_loads_neither_babel_nor_the_terminals_tables(tmp_path: Path) -> None:
    """English is the catalogues' own msgids: Babel's catalogue machinery (about 10 ms of start-up) loads only for
    another language, and rich's tables and live display only where they are drawn (a terminal's progress, a
    list): a dry run prints neither. (Discord's and Teams' cards write figures, in the language's digits: Babel's
    numbers.)"""
    (tmp_path / "broadcaster.toml").write_text(CHANNELS.split("[channels.discord]")[0], encoding="utf-8")
    loaded = _loaded_by_a_dry_run(tmp_path)
    assert "broadcaster.messages.i18n" in loaded["all"], "nothing was written: the probe proves nothing"
    unwanted = ("babel", "rich.table", "rich.live")
    assert [m for m in loaded["all"] if m.startswith(unwanted)] == []


def test_a_swedish_dry_run_speaks_swedish(tmp_path: Path) -> None:
    (tmp_path / "broadcaster.toml").write_text('[page]\nlanguage = "sv"\n' + CHANNELS, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "broadcaster", "post", "--dry-run", "--title", "API errors", "-C",
                           "api", "Elevated errors."], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "X_TOKEN": "x", "TG_TOKEN": "1:t", "SLACK_TOKEN": "xoxb-t",
                               "DISCORD_URL": "https://discord.com/api/webhooks/123456789012345678/" + "t" * 68,
                               "TEAMS_URL": "https://prod-1.westus.logic.azure.com/workflows/a/triggers/manual/paths/"
                                            "invoke?sv=1.0&sig=s1g", "HOOK_SECRET": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                               "MATRIX_TOKEN": "syt_t", "SMTP_PASSWORD": "pw"})
    assert done.returncode == 0, done.stderr
    assert "Undersöker" in done.stdout, done.stdout[:2000]


def test_an_http_url_to_this_machine_loads_no_channel_it_does_not_use(tmp_path: Path) -> None:
    """A config whose S3 endpoint and Telegram api_url are http:// to this machine (a MinIO, a local Bot API
    server) has them checked for clear text against another machine: that check imported the e-mail channel
    (e-mail's headers, markdown-it: about 35 ms of a dry run's 260) for its ``is_loopback`` alone. An http://
    URL to another machine is still refused."""
    config = textwrap.dedent('''
        [publish.bucket]
        type = "s3"
        bucket = "status"
        endpoint_url = "http://127.0.0.1:9"

        [channels.tg]
        type = "telegram"
        token = "${TG_TOKEN}"
        chat_ids = ["@acmestatus"]
        api_url = "http://[::1]:8081"
    ''')
    (tmp_path / "broadcaster.toml").write_text(config, encoding="utf-8")
    loaded = _loaded_by_a_dry_run(tmp_path)
    assert "broadcaster.config_loader" in loaded["all"], "the config was not read: the probe proves nothing"
    unwanted = ("broadcaster.channels.email", "email.headerregistry", "markdown_it")
    assert [m for m in loaded["all"] if m.startswith(unwanted)] == []
    (tmp_path / "broadcaster.toml").write_text(config.replace("127.0.0.1", "192.0.2.10"), encoding="utf-8")
    refused = subprocess.run([sys.executable, "-m", "broadcaster", "post", "--dry-run", "--title", "API errors",
                              "-C", "api", "Elevated errors."], cwd=tmp_path, capture_output=True, text=True,
                             timeout=60, env={**os.environ, "TG_TOKEN": "1:t"})
    assert refused.returncode == 2 and "is http:// to another machine (192.0.2.10)" in refused.stderr, refused.stderr


def test_a_post_in_ascii_loads_no_icu_and_lookalike_markers_are_still_refused(tmp_path: Path) -> None:
    """Issue 20: the markers' lookalike check folds ASCII by a table (``gate._ASCII_FOLDS``), so a text of
    ASCII alone never loads ICU (about 10 ms before every post's first request). A lookalike written in
    ASCII ("[pr1vate]") is refused all the same, and one outside ASCII still folds through ICU."""
    (tmp_path / "broadcaster.toml").write_text(CHANNELS, encoding="utf-8")

    def dry_run(text: str) -> tuple[list[str], str]:
        (tmp_path / "said.txt").unlink(missing_ok=True)
        loaded = loaded_after(f"""
            sys.argv = ["broadcaster", "post", "--dry-run", "--title", "API errors", "-C", "api", {text!r}]
            import contextlib, io
            from broadcaster.cli import main
            said = io.StringIO()
            try:
                with contextlib.redirect_stderr(said):
                    main()
            except SystemExit as exit:
                open("said.txt", "w", encoding="utf-8").write(f"{{exit.code}} {{said.getvalue()}}")
        """, tmp_path)
        return loaded["all"], (tmp_path / "said.txt").read_text(encoding="utf-8")

    loaded, said = dry_run("Elevated errors. [private]edge fra-2[/private] (see <docs> | 100%).")
    assert said.startswith("0 ") and "broadcaster.messages.gate" in loaded and "icu" not in loaded, said
    loaded, said = dry_run("Elevated errors. [pr1vate]edge fra-2[/pr1vate]")
    assert said.startswith("2 ") and "looks like a private marker" in said and "icu" not in loaded, said
    loaded, said = dry_run("Elevated errors. [\u0440rivate]edge fra-2[/\u0440rivate]")  # a Cyrillic "р"
    assert said.startswith("2 ") and "looks like a private marker" in said and "icu" in loaded, said


def test_the_console_script_exits_as_main_does_with_its_objects_frozen(tmp_path: Path) -> None:
    """Issue 20: the console script (``run``) skips the interpreter's garbage hunt at exit, and changes
    nothing else: the exit code, the output, ``atexit`` hooks and the objects' teardown are main's."""
    script = Path(sys.executable).parent / "broadcaster"  # the console script of the environment under test
    entry = "broadcaster.cli:run"
    assert entry in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    probe = textwrap.dedent("""
        import atexit, gc, sys
        atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, file=sys.stderr))
        sys.argv = ["broadcaster", *sys.argv[1:]]
        from broadcaster.cli import run
        run()
    """)
    env = {**os.environ, "NO_COLOR": "1"}
    for args, code in ((["--config", str(tmp_path / "missing.toml"), "list"], 2), (["--version"], 0)):
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=tmp_path, env=env)
        plain = subprocess.run([sys.executable, "-m", "broadcaster", *args], capture_output=True, text=True,
                               cwd=tmp_path, env=env)
        assert (done.returncode, plain.returncode) == (code, code), done.stderr + plain.stderr
        assert done.stdout == plain.stdout and done.stderr.endswith("frozen at exit: True\n")
        assert done.stderr.removesuffix("frozen at exit: True\n") == plain.stderr
    assert "from broadcaster.cli import run" in script.read_text(encoding="utf-8"), "reinstall: pip install -e ."


def test_the_console_script_leaves_as_the_interpreter_would_without_tearing_its_modules_down(tmp_path: Path) -> None:
    """Issue 20: ``run`` ends with ``os._exit`` once the interpreter's exit has done what anyone can see: a thread
    still working is waited for, then the ``atexit`` hooks run, the output buffered by then (a hook's too) is
    written whole, and the exit code is main's. What it skips, the interpreter's teardown, is seen here by the
    audit event the interpreter raises as it clears itself."""
    probe = textwrap.dedent("""
        import atexit, os, pathlib, sys, threading, time
        mark, entry = pathlib.Path(sys.argv[1]), sys.argv[2]
        sys.argv = ["broadcaster", *sys.argv[3:]]

        def late() -> None:
            time.sleep(0.3)
            mark.with_suffix(".thread").write_text("joined")

        def at_exit() -> None:
            mark.write_text("after " + mark.with_suffix(".thread").read_text())
            for _ in range(2_000):  # more than a pipe holds at once, the last of it left in Python's buffer
                print("y" * 50, end="")

        def cleared(event: str, _: object, write=os.write) -> None:
            if event == "cpython.PyInterpreterState_Clear":
                write(2, b"torn down\\n")

        sys.addaudithook(cleared)
        threading.Thread(target=late).start()
        atexit.register(at_exit)
        from broadcaster import cli
        getattr(cli, entry)()
    """)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, "NO_COLOR": "1"}  # output buffered
    for args, code in ((["--config", str(tmp_path / "missing.toml"), "list"], 2), (["--version"], 0)):
        said = {}
        for entry in ("run", "main"):
            mark = tmp_path / f"{entry}-{code}"
            done = subprocess.run([sys.executable, "-c", probe, str(mark), entry, *args], capture_output=True,
                                  text=True, cwd=tmp_path, env=env)
            assert done.returncode == code, done.stderr
            assert mark.read_text() == "after joined"
            said[entry] = done
        assert said["run"].stdout == said["main"].stdout and said["run"].stdout.endswith("y" * 100_000)
        assert said["main"].stderr.endswith("torn down\n")
        assert said["run"].stderr == said["main"].stderr.removesuffix("torn down\n")


def test_counting_a_long_post_loads_twitter_text_without_pkg_resources(tmp_path: Path) -> None:
    loaded = loaded_after("""
        from broadcaster.messages.twitter import weighted_length
        assert weighted_length("x " * 200 + "https://example.com/a 👍🏽 日本") == 400 + 23 + 1 + 2 + 1 + 4
    """, tmp_path)
    assert loaded["heavy"] == ["twitter_text"]


# -- the upper bound of X's weighted length ---------------------------------------

PIECES = [
    "a", "Z", "é", "e\u0301", "ß", "Ω", "\u2126", "\u0958", " ", "\n", "\r\n", "\t", ".", ",", ":", "/", "-", "_",
    "?", "=", "&", "#", "@", "(", ")", "…", "—", "·", "\u00a9", "\u00ae", "\u2122", "\u203c", "\uff0e", "\u3002",
    "日本", "한국", "中文", "🔴", "👍🏽", "👨\u200d👩\u200d👧", "1\ufe0f\u20e3", "#\u20e3", "🇩🇪", "❤️", "\u200d",
    "https://", "http://", "www.", "example", "x", "t.co", ".com", ".co", ".de", ".io", ".museum", ".xn--p1ai",
    "status.example.com/incidents/api-errors-2026-11-25.html", "x.co", "a.b", "1.2.3.4", "localhost:8080",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60).map("".join))
def test_the_upper_bound_is_never_below_the_weighted_length(text: str) -> None:
    assert twitter._upper_bound(text) >= twitter.weighted_length(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=120).map("".join), st.integers(min_value=0, max_value=120))
def test_fits_answers_as_twitter_text_does(text: str, reserve: int) -> None:
    assert twitter.fits(text, reserve) == (twitter.weighted_length(text) <= twitter.MAX_WEIGHTED - reserve)


def test_the_light_emoji_are_the_ones_twitter_text_knows() -> None:
    # Imported the way the product does (it silences the library's pkg_resources warning): on its
    # own, or first in an xdist worker, a bare import fails under filterwarnings = error.
    twitter._twitter_text()
    from twitter_text.regexp.emoji import emoji

    light = {chr(code) for start, end in twitter._LIGHT_RANGES for code in range(start, end + 1)}
    assert {char for char in light if emoji.fullmatch(char)} == twitter._LIGHT_EMOJI


def test_the_light_ranges_are_twitter_texts() -> None:
    twitter._twitter_text()  # see above
    from twitter_text.config import config

    ranges = config["defaults"]["ranges"]
    assert tuple((r["start"], r["end"]) for r in ranges) == twitter._LIGHT_RANGES
    assert {r["weight"] for r in ranges} == {config["defaults"]["scale"]}  # each weighs 1
    assert config["defaults"]["default_weight"] == 2 * config["defaults"]["scale"]


def test_a_typical_post_fits_by_the_bound_alone() -> None:
    post = ("🔴 Investigating: Elevated API errors\n\nElevated error rates on the API. We are investigating.\n\n"
            "Next update by 15:30 UTC.\n\nUpdate 1 · 14:05 UTC\nhttps://status.example.com/incidents/api-errors-2026-11-25.html")
    assert twitter._upper_bound(post) <= twitter.MAX_WEIGHTED
    assert (ROOT / "messages" / "twitter.py").exists()


def test_a_config_with_api_urls_loads_without_urllib3(tmp_path: Path) -> None:
    """Checking where an api_url or S3 endpoint sends (review 20j) asks urllib3 only about an authority that is not
    plain: its import delayed the S3 read-ahead that starts while the config is read (bench fanout, first request)."""
    config = CHANNELS.replace('[channels.matrix]', 'api_url = "http://127.0.0.1:8081/"\n\n[channels.matrix]', 1)
    config = config.replace('bucket = "status"\n', 'bucket = "status"\nendpoint_url = "https://s3.example.net"\n', 1)
    (tmp_path / "broadcaster.toml").write_text(config, encoding="utf-8")
    loaded = loaded_after("""
        from broadcaster import config_loader as config
        assert config.load("broadcaster.toml").channels["hook"].api_url == "http://127.0.0.1:8081/"
    """, tmp_path)
    assert not [m for m in loaded["all"] if m.startswith("urllib3")]

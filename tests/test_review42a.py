"""Review 42a, a hostile pass over the fixes of review 41 (each test failed before its fix).

- ``store import`` took a file's detail written for a table's ``renamed_from`` whatever this store's record of the
  id said: into a store whose ``acme`` served Initech, Acme Inc's detail went under ``acme``, and Initech's page
  showed it once its table was back.
- ``withdraw`` refused for a missing (or empty) secret advised ``--skip``, an option ``withdraw`` does not have.
- Two blank feed tokens (now missing) were refused as one token shared, by every command.
- A ``[publish.NAME]`` without a type was told ``e.g. type = "slack"``, no publish type; ``type = 5``, "is required".
- ``scripts/demo.sh`` on a config broadcaster refuses exited 1 with a traceback of its JSON reader.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import Project

REPO = Path(__file__).resolve().parent.parent

FEED_TOKEN = "f9Q2kL7xVt3mZp8RwY4nB6cD1hJ5sE0u"


def _audience(name: str, renamed_from: str = "") -> str:
    was = f'renamed_from = "{renamed_from}"\n' if renamed_from else ""
    return f'\n[audiences.acme]\nname = "{name}"\n{was}components = ["api"]\nfeed_token = "${{ACME_FEED}}"\n'


def test_an_import_for_the_renamed_from_name_is_refused_where_the_id_serves_a_third_customer(
        project: Project, tmp_path: Path) -> None:
    project.env["ACME_FEED"] = FEED_TOKEN
    other = Project(tmp_path / "other", env=dict(project.env))  # another store, whose acme was Acme Inc
    other.root.mkdir()
    other.write_config(_audience("Acme Inc"))
    assert other.cli("post", "--yes", "--title", "Router down", "-C", "api", "--for", "acme",
                     "Acme Inc circuit C-17 rerouted.", "Routing problem.").exit_code == 0
    export = tmp_path / "other.jsonl"
    assert other.cli("store", "export", str(export)).exit_code == 0

    project.write_config(_audience("Initech"))  # here, acme served Initech
    assert project.cli("post", "--yes", "--title", "DB slow", "-C", "api", "--for", "acme",
                       "Initech account 99 is slow.", "Database slow.").exit_code == 0
    project.write_config(_audience("Acme Corp", renamed_from="Acme Inc"))  # the other store's config
    refused = project.cli("store", "import", str(export))
    assert refused.exit_code == 2, refused.output
    said = " ".join(refused.output.split())
    assert "Nothing was imported." in said and '"initech"' in said, said
    assert 'add renamed_from = "acme inc"' not in said, said  # it is there already: no fix

    project.write_config(_audience("Initech"))
    assert project.cli("site", "build").exit_code == 0
    page = (project.site / "a" / FEED_TOKEN / "index.html").read_text(encoding="utf-8")
    assert "Initech account 99" in page and "C-17" not in page


def test_the_demo_on_a_config_broadcaster_refuses_says_why_and_exits_2(tmp_path: Path) -> None:
    # Run again after the user edited its config wrongly, the demo's new `list --json | python` exited 1 with a
    # JSONDecodeError traceback after broadcaster's own message (a post alone exited 2, that message only).
    demo = tmp_path / "demo"
    demo.mkdir()
    env = {**os.environ, "DEMO_DIR": str(demo), "DEMO_INSTALL": "0"}
    env.pop("BROADCASTER_CONFIG", None)
    (demo / "broadcaster.toml").write_text('[page]\ntitle = "Example status"\ntitel = "typo"\n', encoding="utf-8")
    result = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "titel" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_withdrawal_refused_for_an_empty_secret_gives_no_advice_of_an_option_withdraw_lacks(project: Project) -> None:
    from tests.fakes.webhook import SECRET, FakeReceiver

    hook = FakeReceiver().start()
    try:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(f'\n[channels.ops]\ntype = "webhook"\nvisibility = "internal"\nurl = "{hook.hook_url}"\n'
                             'secret = "${HOOK_SECRET}"\n')
        posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors.")
        assert posted.exit_code == 0, posted.output
        incident = json.loads(posted.stdout)["incident_id"]
        refused = project.cli("withdraw", incident, "--yes", env={"HOOK_SECRET": ""})
        assert refused.exit_code == 2, refused.output
        said = " ".join(refused.output.split())
        assert "HOOK_SECRET" in said and "Nothing was stored or sent." in said, said
        assert "--skip" not in said, said  # `withdraw --skip`: "No such option"
        assert project.cli("withdraw", incident, "--skip", "ops").exit_code == 2  # as said: withdraw has none
    finally:
        hook.stop()


def test_a_publish_target_without_a_type_is_given_a_publish_type_as_example(project: Project) -> None:
    project.write_config('\n[publish.www]\npath = "www"\n')
    listed = project.cli("list")
    assert listed.exit_code == 2, listed.output
    said = " ".join(listed.output.split())
    assert 'publish.www.type: is required (e.g. type = "s3")' in said, said  # "slack" is no publish type
    project.write_config('\n[channels.ops]\ntype = 5\n')
    listed = project.cli("list")
    assert listed.exit_code == 2 and "is required" not in listed.output, listed.output  # it is there, not a name


def test_two_blank_feed_tokens_are_empty_not_one_token_shared(project: Project) -> None:
    # A blank value counts as missing (review 41b), but two of them were "the same token" as the config was read:
    # every command was refused (`list` too), and told to give each customer its own token.
    project.write_config('\n[audiences.globex]\ncomponents = ["api"]\nfeed_token = "${GLOBEX_FEED}"\n'
                         '\n[audiences.initech]\ncomponents = ["api"]\nfeed_token = "${INITECH_FEED}"\n')
    blank = {"GLOBEX_FEED": " ", "INITECH_FEED": " "}
    listed = project.cli("list", env=blank)
    assert listed.exit_code == 0, listed.output
    built = project.cli("site", "build", env=blank)
    assert built.exit_code == 2, built.output
    said = " ".join(built.output.split())
    assert "(set, but empty)" in said and "same token" not in said, said  # named by its key (site build)


def test_retry_with_an_empty_secret_says_it_has_no_value_not_that_it_is_unset(project: Project) -> None:
    # Review 42a: "ops.secret: ${HOOK_SECRET} (set, but empty) is not set where `broadcaster retry` ran" said both.
    from tests.fakes.webhook import SECRET, FakeReceiver

    hook = FakeReceiver().start()
    try:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(f'\n[engine]\nmax_attempts = 1\n\n[channels.ops]\ntype = "webhook"\n'
                             f'visibility = "internal"\nurl = "{hook.hook_url}"\nsecret = "${{HOOK_SECRET}}"\n')
        hook.stop()  # refused at once: the delivery is left failed, for retry
        posted = project.cli("post", "--yes", "--title", "API errors", "Elevated errors.")
        assert posted.exit_code == 3, posted.output
        retried = project.cli("retry", env={"HOOK_SECRET": ""})
        said = " ".join(retried.output.split())
        assert "(set, but empty) has no value where `broadcaster retry` ran" in said, said
        assert "is not set" not in said, said
    finally:
        hook.stop()


def test_site_build_with_an_empty_feed_token_names_its_key(project: Project) -> None:
    # Review 42a: `site build` said only "environment variable ACME_FEED is set but empty", not which key needs it.
    project.write_config('\n[audiences.acme]\nname = "Acme Corp"\nfeed_token = "${ACME_FEED}"\n')
    for env in ({"ACME_FEED": ""}, {}):  # set but empty, and unset
        built = project.cli("site", "build", env=env)
        assert built.exit_code == 2, built.output
        said = " ".join(built.output.split())
        assert "audiences.acme.feed_token: ${ACME_FEED}" in said and "Nothing was built." in said, said
        assert not (project.site / "index.html").exists()

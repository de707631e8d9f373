"""Two machines of one PostgreSQL team store, their configs spelling one place differently."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import Project
from tests.fakes.s3 import S3Server
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture
from tests.test_hosts_git import git
from tests.test_hosts_review16 import no_git_config  # noqa: F401
from tests.test_s3_foreign_files import BUCKET, s3  # noqa: F401
from tests.test_store_review17 import other_project


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)


def _post(machine: Project, title: str) -> tuple[int, str, dict[str, object]]:
    result = machine.cli("post", "--yes", "--json", "--title", title, f"{title}: investigating.")
    return result.exit_code, result.output, json.loads(result.stdout) if result.stdout.startswith("{") else {}


@pytest.mark.parametrize("kind", ["git", "s3"])
def test_two_team_machines_spelling_one_place_differently_are_not_refused_as_restored(
        project: Project, pg_server: PgServer, team_db: str, kind: str, request: pytest.FixtureRequest) -> None:
    """A spells the git remote "/srv/status.git", B "/srv/status.git/" (or the S3 endpoint with a trailing slash,
    "localhost" for "127.0.0.1", ssh for https on real teams): one place, one store, two `published:` keys. Each
    machine's post after the other's is refused as "restored from a backup ... --replace-later", exit 3."""
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
    if kind == "git":
        request.getfixturevalue("no_git_config")
        remote = project.root / "remote.git"
        git("init", "-q", "--bare", str(remote))
        a_place = f'[publish.pages]\ntype = "git"\nremote = "{remote}"\nbranch = "gh-pages"\n'
        b_place = f'[publish.pages]\ntype = "git"\nremote = "{remote}/"\nbranch = "gh-pages"\n'
    else:
        server: S3Server = request.getfixturevalue("s3")
        a_place = server.publish_toml(BUCKET)
        b_place = a_place.replace(f'endpoint_url = "{server.url}"', f'endpoint_url = "{server.url}/"')
        assert a_place != b_place
    project.write_config(store + a_place)
    project.env[PASSWORD_ENV] = pg_server.password
    laptop = other_project(project.root, "laptop", project)
    laptop.write_config(store + b_place)

    assert _post(project, "Alpha outage")[0] == 0
    assert _post(laptop, "Bravo outage")[0] == 0
    code, output, _ = _post(project, "Charlie outage")  # the team's own latest state: nothing restored
    assert "restored from a backup" not in output and "--replace-later" not in output, output
    assert code == 0, output

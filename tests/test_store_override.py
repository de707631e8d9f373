"""``--store`` names a file or a store URL; anything else is refused, and its password never shown.

Found by a review: a libpq keyword string (``host=db password=...``) or a URL missing its ``//`` was
opened as a file: a new, empty store named after it (the password in a file name, outside
``.broadcaster/`` and so not ignored by git), and the post went past the team store without a word.
A malformed URL's password was printed in the ``--debug`` traceback.
"""

from __future__ import annotations

import pytest

from tests.conftest import Project

PASSWORD = "S3cretPGpass"


@pytest.mark.parametrize("store", [
    f"host=db.internal password={PASSWORD} dbname=broadcaster",
    f"dbname=broadcaster user=oncall password={PASSWORD}",
    f"postgresql:/oncall:{PASSWORD}@db.internal/broadcaster",
    f"postgres:oncall:{PASSWORD}@db.internal/broadcaster",
], ids=["keywords", "keywords-dbname-first", "url-missing-a-slash", "url-missing-both"])
def test_a_store_that_is_neither_a_file_nor_a_url_is_refused_unshown(
    project: Project, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.root)  # where a relative --store would be made
    before = {p for p in project.root.rglob("*")}
    for flags in ((), ("--debug",)):
        result = project.cli(*flags, "--store", store, "post", "--yes", "--only", "site", "--title", "Foo", "Errors.")
        assert result.exit_code == 2, result.stdout + result.stderr
        assert "--store" in result.stderr and PASSWORD.lower() not in (result.stdout + result.stderr).lower()
    assert {p for p in project.root.rglob("*")} == before  # no store made, no page written


def test_a_malformed_store_url_keeps_its_password_out_of_the_debug_traceback(project: Project) -> None:
    result = project.cli("--debug", "--store", f"postgresql://oncall:{PASSWORD}@[::1/broadcaster", "list")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "not a valid PostgreSQL URL" in result.stderr and PASSWORD.lower() not in result.stderr.lower()

"""A post refused at its preview, run where there is no config and no store (a `cd` typo), said "Nothing was stored or
sent" and left ./.broadcaster/state.db: the next `list` there read it as an empty store (exit 0) instead of saying no
store is here (reviews 55b, 56a). With the built-in default, the preview now reads an empty store that leaves nothing
behind, and only the publication makes the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.test_confirmation import in_terminal
from tests.test_review55b import _here, wrong_folder  # noqa: F401 - wrong_folder is a fixture


@pytest.mark.parametrize(("args", "said"), [
    (("post", "--yes", "--title", "API errors", "-C", "api", "Investigating."), "unknown component 'api'"),
    (("post", "--yes", "--title", "API errors", "--impact", "majr", "Investigating."), "unknown impact 'majr'"),
    (("post", "--yes", "--title", "API errors", "--only", "slack", "Investigating."), "no destination named 'slack'"),
    (("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", "2h", "--end", "1h", "-C", "db"),
     "unknown component 'db'"),
], ids=["unknown-component", "unknown-impact", "unknown-destination", "maintenance-unknown-component"])
def test_a_post_refused_where_there_is_no_store_makes_none(wrong_folder: Path, args: tuple[str, ...], said: str) -> None:  # noqa: F811
    refused = _here(*args)
    assert refused.exit_code == 2, refused.output
    assert said in refused.output, refused.output
    assert sorted(p.name for p in wrong_folder.iterdir()) == []
    assert list((wrong_folder.parent / "tmp").iterdir()) == []
    listed = _here("list")
    assert listed.exit_code == 2 and "no store here" in listed.output, listed.output


def test_a_post_confirmed_at_the_prompt_is_stored_in_the_folder_s_own_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview reads the empty scratch store; the publication, confirmed on a terminal, goes into the real file."""
    folder = Project(tmp_path / "typo")
    folder.root.mkdir()
    code, shown = in_terminal(folder, ["post", "--title", "API errors", "Investigating."], b"y\n", b"Publish now?",
                              built_in=True)
    assert code == 0, shown
    assert (folder.root / ".broadcaster" / "state.db").is_file()
    assert (folder.root / "public" / "index.html").is_file()
    monkeypatch.chdir(folder.root)
    listed = json.loads(_here("list", "--json").stdout)
    assert [i["title"] for i in listed] == ["API errors"], listed


def test_a_post_declined_at_the_prompt_makes_no_store(tmp_path: Path) -> None:
    folder = Project(tmp_path / "typo")
    folder.root.mkdir()
    code, shown = in_terminal(folder, ["post", "--title", "API errors", "Investigating."], b"n\n", b"Publish now?",
                              built_in=True)
    assert code == 2, shown
    assert "Publish now?" in shown
    assert sorted(p.name for p in folder.root.iterdir()) == []

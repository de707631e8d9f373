"""Found by review 19i: e6da327's import secret check leaves some texts of a record out. See /work/wt/review-19i.md."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project
from tests.test_review19_words import ACME_TOKEN, FEED_TOKENS, GLOBEX_TOKEN, HEADER, _record


@pytest.mark.parametrize("where", ["extra-key", "customers", "incident-id"])
def test_an_imported_record_holding_a_feed_token_anywhere_is_refused(project: Project, where: str) -> None:
    project.env.update(GLOBEX_TOKEN=GLOBEX_TOKEN, ACME_TOKEN=ACME_TOKEN)
    project.write_config(FEED_TOKENS)
    record = _record("API errors.", [])
    update = record["updates"][0]  # type: ignore[index]
    if where == "extra-key":
        update["extra"] = {GLOBEX_TOKEN: "x"}
    elif where == "customers":
        update["customers"] = [GLOBEX_TOKEN]
    else:
        record["incident"]["id"] = f"api-errors-{GLOBEX_TOKEN}"  # type: ignore[index]
    path = project.root / "export.jsonl"
    path.write_text(json.dumps(HEADER) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    imported = project.cli("store", "import", str(path))
    assert imported.exit_code == 2, imported.output
    assert GLOBEX_TOKEN not in imported.output



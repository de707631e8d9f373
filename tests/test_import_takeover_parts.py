"""Import's takeover (review 17j) of the other store's part-sent deliveries (transfer._take_over_what_may_be_posted)."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.test_leak_review import hooks, run  # noqa: F401  (fixture)


def test_taking_over_the_other_stores_longer_parts_keeps_the_parts_this_store_posted(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:  # noqa: F811
    store = project.root / "here.db"
    posted = run(project, "--store", str(store), "post", "--title", "API errors", "-C", "api", "Errors on the API.")
    incident = posted["incident_id"]
    # This store posted the first part of the update at "pub" (id part-a-here), then failed.
    with sqlite3.connect(store) as db:
        db.execute("UPDATE deliveries SET state='failed', remote_id=NULL, sent_at=NULL, parts=?, remote_origin=?"
                   " WHERE destination='pub'", (json.dumps(["part-a-here"]), "broadcaster"))
    out = project.root / "there.jsonl"
    assert project.cli("--store", str(store), "store", "export", str(out)).exit_code == 0
    # The other store (a copy of this one that kept posting) got two parts out at the same place, then failed.
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in lines[1:]:
        for update in line.get("updates", []):
            for delivery in update["deliveries"]:
                if delivery["destination"] == "pub":
                    delivery.update(parts=["part-b-there", "part-c-there"], state="failed")
    out.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    imported = project.cli("--store", str(store), "store", "import", str(out))
    assert imported.exit_code == 0, imported.output
    with sqlite3.connect(store) as db:
        row = db.execute("SELECT parts, remote_origin, last_error FROM deliveries WHERE destination='pub' AND"
                         " incident_id=?", (incident,)).fetchone()
    # The post this store wrote is forgotten: parts replaced by the other store's, the place marked imported. A
    # withdraw deletes only posts on record as this store's, so part-a-here stays up at a public place, unnamed.
    assert "part-a-here" in json.dumps(row), row

"""A review of the first fix (each test failed before its fix): uptime history must start only at records shown to the public. ``named_before`` matches the incident
row, whose ``components`` column is the incident's current components: a staff-only update today that names a
component on an incident opened before the window makes that component "named before the window" on the public
page (its uptime history grows to the full 90 days the moment a staff note is posted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcaster.messages.model import Incident

from broadcaster import compose, config_loader
from broadcaster.config import Config
from broadcaster.delivery import DeliveryState
from broadcaster.store import Store, open_store
from broadcaster.store.records import PlannedDelivery

CONFIG = """
[page]
title = "x"
base_url = "https://status.example.com/"
output_dir = "public"

[[components]]
id = "api"
name = "API"

[[components]]
id = "db"
name = "Database"
"""


def _public_incident_200_days_ago(store: Store, settings: Config, now: datetime) -> Incident:
    draft = compose.Draft(message="Errors on the API.", incident_id=None, title="API errors", impact="minor",
                          status="investigating", components=("api",), private="", tickets=(), next_update=None,
                          etr=None)
    incident, update = compose.build(draft, None, settings, now - timedelta(days=200))
    incident, _ = store.record_update(incident, update, [PlannedDelivery("site", "", "public", DeliveryState.SENT)],
                                      new=True)
    return incident


def _staff_only_update_naming_db(store: Store, settings: Config, incident: Incident, now: datetime,
                                 status: str) -> Incident:
    """Today, a note to staff only that names the database on that old incident."""
    staff = compose.Draft(message="Staff: the db replica is involved too.", incident_id=incident.id, title=None,
                          impact=None, status=status, components=("db",), private="", tickets=(),
                          next_update=None, etr=None)
    incident, update = compose.build(staff, incident, settings, now - timedelta(hours=1))
    store.record_update(incident, update, [PlannedDelivery("site", "", "public", DeliveryState.SKIPPED, "staff"),
                                           PlannedDelivery("ops", "", "internal", DeliveryState.SENT)], new=False)
    return incident


def test_a_staff_update_naming_a_component_does_not_start_its_public_history(tmp_path: Path) -> None:
    config = tmp_path / "broadcaster.toml"
    config.write_text(CONFIG, encoding="utf-8")
    settings = config_loader.load(str(config))
    store = open_store(tmp_path / "state.db")
    now = datetime.now(UTC)
    try:
        incident = _public_incident_200_days_ago(store, settings, now)
        window = now - timedelta(days=90)
        assert store.named_before(["api", "db"], window) == {"api"}
        incident = _staff_only_update_naming_db(store, settings, incident, now, "identified")
        assert store.kept_off([incident.id]) == {(incident.id, 2)}
        assert store.named_before(["api", "db"], window) == {"api"}, "db was never named to the public"
    finally:
        store.close()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def test_a_staff_update_changes_no_public_file(tmp_path: Path) -> None:
    """The same, on the built site: a staff-only update of an old public incident changes public bytes."""
    from tests.conftest import Project

    project = Project(tmp_path)
    project.write_config()
    settings = config_loader.load(str(project.config))
    store = open_store(settings.store_path if settings.store_path.is_absolute() else tmp_path / settings.store_path)
    now = datetime.now(UTC)
    try:
        incident = _public_incident_200_days_ago(store, settings, now)
    finally:
        store.close()
    assert project.cli("site", "build").exit_code == 0
    before = _files(project.site)
    store = open_store(settings.store_path if settings.store_path.is_absolute() else tmp_path / settings.store_path)
    try:
        incident = _staff_only_update_naming_db(store, settings, incident, now, "investigating")
    finally:
        store.close()
    assert project.cli("site", "build").exit_code == 0
    after = _files(project.site)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == [], f"public files changed by a staff-only update: {changed}"

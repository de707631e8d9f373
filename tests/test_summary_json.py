"""summary.json: the Statuspage summary shape that status-page readers already consume."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import Impact, Status
from broadcaster.messages.visibility import PublicIncident

from broadcaster.site.build import build_site
from tests.site_helpers import NOW, Step, affected, make_incident, sample_incidents, site_data

BASE = "https://status.example.com/"
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


def summary(tmp_path: Path, incidents: list[PublicIncident], **page: Any) -> dict[str, Any]:
    build_site(site_data(incidents, **page), tmp_path, pages=incidents)
    payload: dict[str, Any] = json.loads((tmp_path / "summary.json").read_bytes())
    return payload


@pytest.fixture
def document(tmp_path: Path) -> dict[str, Any]:
    return summary(tmp_path, sample_incidents(), base_url=BASE, timezone="Europe/Berlin")


def test_top_level_shape(document: dict[str, Any]) -> None:
    assert list(document) == ["page", "status", "components", "incidents", "scheduled_maintenances"]
    assert document["page"] == {
        "id": "acme-status",
        "name": "Acme status",
        "url": BASE,
        "time_zone": "Europe/Berlin",
        "updated_at": "2024-05-02T08:00:00Z",  # the newest update, not the build time
    }
    assert document["status"] == {"indicator": "major", "description": "Major service disruption"}


def test_components_follow_the_page_order_with_statuspage_groups(document: dict[str, Any]) -> None:
    rows = document["components"]
    assert [(c["id"], c["group"], c["group_id"], c["position"]) for c in rows] == [
        ("mail", False, None, 1),
        ("group:Core", True, None, 2),
        ("api", False, "group:Core", 3),
        ("web", False, "group:Core", 4),
        ("group:Data", True, None, 5),
        ("db", False, "group:Data", 6),
    ]
    by_id = {c["id"]: c for c in rows}
    assert (
        by_id["api"]["status"] == "partial_outage"
        and by_id["group:Core"]["status"] == "partial_outage"
    )
    assert by_id["db"]["status"] == "operational"  # maintenance not started, db incident resolved
    assert by_id["group:Core"]["components"] == ["api", "web"]
    assert by_id["api"]["description"] == "The REST API" and by_id["web"]["description"] is None
    assert by_id["api"]["updated_at"] == "2024-05-02T07:30:00Z"
    for row in rows:
        assert set(row) >= {
            "id",
            "name",
            "status",
            "description",
            "group",
            "group_id",
            "position",
            "updated_at",
            "showcase",
            "only_show_if_degraded",
        }
        # Our one addition to Statuspage's component: null here, as no uptime was computed.
        assert row.get("uptime_90d", "absent") == ("absent" if row["group"] else None)


def test_incidents_lists_open_incidents_with_their_updates_newest_first(
    document: dict[str, Any],
) -> None:
    [incident] = document["incidents"]
    assert incident["id"] == "2024-05-02-api"
    assert incident["name"] == "Elevated API errors"
    assert (incident["status"], incident["impact"]) == ("identified", "major")
    assert (incident["created_at"], incident["updated_at"]) == (
        "2024-05-02T07:00:00Z",
        "2024-05-02T07:30:00Z",
    )
    assert incident["resolved_at"] is None and incident["monitoring_at"] is None
    assert incident["shortlink"] == BASE + "incidents/2024-05-02-api.html"
    assert [c["id"] for c in incident["components"]] == ["api"]
    updates = incident["incident_updates"]
    assert [(u["id"], u["status"]) for u in updates] == [
        ("2024-05-02-api-2", "identified"),
        ("2024-05-02-api-1", "investigating"),
    ]
    assert updates[0]["body"] == "A bad deploy.\n\n- rolling back\n- watching errors"
    assert updates[0]["created_at"] == updates[0]["display_at"] == "2024-05-02T07:30:00Z"
    assert updates[0]["affected_components"] == [
        {"code": "api", "name": "API", "old_status": "operational", "new_status": "partial_outage"}
    ]
    assert updates[1]["affected_components"] == []


def test_scheduled_maintenances_carry_their_window(document: dict[str, Any]) -> None:
    [maintenance] = document["scheduled_maintenances"]
    assert maintenance["id"] == "2024-05-10-maint"
    assert (maintenance["status"], maintenance["impact"]) == ("scheduled", "maintenance")
    assert maintenance["scheduled_for"] == "2024-05-10T09:00:00Z"
    assert maintenance["scheduled_until"] == "2024-05-10T11:00:00Z"


def test_closed_incidents_are_not_listed(document: dict[str, Any]) -> None:
    listed = {i["id"] for i in document["incidents"] + document["scheduled_maintenances"]}
    assert not listed & {"2024-05-01-db", "2024-04-01-old"}


def test_times_are_utc_iso_8601(document: dict[str, Any]) -> None:
    import re

    def times(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [
                t
                for k, v in value.items()
                for t in (
                    ([v] if k.endswith(("_at", "_for", "_until")) and v is not None else [])
                    + times(v)
                )
            ]
        if isinstance(value, list):
            return [t for v in value for t in times(v)]
        return []

    found = times(document)
    assert len(found) > 20 and all(re.match(ISO, t) for t in found)


def test_old_status_follows_the_timeline(tmp_path: Path) -> None:
    incident = make_incident(
        "api",
        components=affected(api="major_outage"),
        steps=[
            Step(Status.INVESTIGATING, "Down.", {"components": affected(api="major_outage")}),
            Step(
                Status.MONITORING, "Better.", {"components": affected(api="degraded_performance")}
            ),
        ],
    )
    updates = summary(tmp_path, [incident])["incidents"][0]["incident_updates"]
    assert [
        (a["old_status"], a["new_status"]) for u in updates for a in u["affected_components"]
    ] == [
        ("major_outage", "degraded_performance"),
        ("operational", "major_outage"),
    ]
    assert summary(tmp_path, [incident])["incidents"][0]["monitoring_at"] == "2024-05-01T12:30:00Z"


def test_markup_characters_are_escaped_so_the_file_is_inert_in_html(tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script> & co"
    incident = make_incident("x", hostile, steps=[Step(Status.INVESTIGATING, hostile)])
    build_site(site_data([incident]), tmp_path, pages=[incident])
    raw = (tmp_path / "summary.json").read_text(encoding="utf-8")
    assert "<" not in raw and ">" not in raw and "&" not in raw
    parsed = json.loads(raw)
    assert parsed["incidents"][0]["name"] == hostile
    assert parsed["incidents"][0]["incident_updates"][0]["body"] == hostile


def test_no_base_url_gives_relative_shortlinks(tmp_path: Path) -> None:
    document = summary(tmp_path, sample_incidents())
    assert document["page"]["url"] == ""
    assert document["incidents"][0]["shortlink"] == "incidents/2024-05-02-api.html"


# -- The indicator: one row per situation ------------------------------------------

RUNNING = (NOW - timedelta(minutes=5), NOW + timedelta(hours=1))
LATER = (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))


def incident(
    impact: Impact = Impact.MAJOR, status: Status = Status.INVESTIGATING, **components: str
) -> PublicIncident:
    steps = [Step(Status.INVESTIGATING, "Looking.")]
    if status != Status.INVESTIGATING:
        steps.append(Step(status, "Changed."))
    return make_incident(
        f"i-{impact}-{status}", impact=impact, components=affected(**components), steps=steps
    )


def maintenance(
    status: Status = Status.IN_PROGRESS, window: tuple[Any, ...] = RUNNING, **components: str
) -> PublicIncident:
    steps = [Step(Status.SCHEDULED, "Planned.")] + (
        [Step(status, "Now.")] if status != Status.SCHEDULED else []
    )
    return make_incident(
        f"m-{status}-{window[0]:%H%M}",
        kind="maintenance",
        impact=Impact.NONE,
        components=affected(**components),
        scheduled=window,
        steps=steps,
    )


INDICATOR_CASES = [
    ([], "none", "All systems operational"),
    ([incident(Impact.MINOR)], "minor", "Minor service disruption"),
    ([incident(Impact.MAJOR)], "major", "Major service disruption"),
    ([incident(Impact.CRITICAL)], "critical", "Critical service outage"),
    ([incident(Impact.NONE)], "none", "Systems operational, incident open"),
    ([incident(Impact.NONE, api="degraded_performance")], "minor", "Minor service disruption"),
    ([incident(Impact.NONE, api="partial_outage")], "major", "Major service disruption"),
    ([incident(Impact.MINOR, api="major_outage")], "critical", "Critical service outage"),
    ([incident(Impact.CRITICAL, api="degraded_performance")], "critical", "Critical service outage"),
    (
        [incident(Impact.CRITICAL, Status.RESOLVED, api="major_outage")],
        "none",
        "All systems operational",
    ),
    ([incident(Impact.MAJOR, Status.MONITORING)], "major", "Major service disruption"),
    ([maintenance(db="under_maintenance")], "maintenance", "Under maintenance"),
    ([maintenance()], "maintenance", "Under maintenance"),
    (
        [maintenance(Status.SCHEDULED, LATER, db="under_maintenance")],
        "none",
        "All systems operational",
    ),
    (
        [maintenance(Status.SCHEDULED, RUNNING, db="under_maintenance")],
        "maintenance",
        "Under maintenance",
    ),
    ([maintenance(Status.COMPLETED, db="under_maintenance")], "none", "All systems operational"),
    (
        [maintenance(db="under_maintenance"), incident(Impact.MINOR)],
        "minor",
        "Minor service disruption",
    ),
    (
        [maintenance(db="under_maintenance"), incident(Impact.NONE)],
        "maintenance",
        "Under maintenance",
    ),
]
INDICATOR_IDS = [
    "nothing",
    "minor-impact",
    "major-impact",
    "critical-impact",
    "no-impact-but-open",
    "degraded-component",
    "partial-outage-component",
    "major-outage-beats-minor-impact",
    "critical-impact-beats-degraded",
    "resolved-counts-for-nothing",
    "monitoring-still-counts",
    "maintenance-in-progress",
    "maintenance-without-components",
    "maintenance-not-yet-started",
    "scheduled-window-running",
    "maintenance-completed",
    "incident-beats-maintenance",
    "maintenance-beats-open-incident-without-impact",
]


@pytest.mark.parametrize(
    ("incidents", "indicator", "description"), INDICATOR_CASES, ids=INDICATOR_IDS
)
def test_indicator(
    tmp_path: Path, incidents: list[PublicIncident], indicator: str, description: str
) -> None:
    document = summary(tmp_path, incidents)
    assert document["status"] == {"indicator": indicator, "description": description}

"""Stores with a realistic history: N incidents of 5 updates each, written the way ``post`` writes them.

Every update goes through ``compose.build`` (the same checks and incident
state as the CLI) and ``Store.record_update`` with a delivery per configured
destination, recorded as sent. Text varies like an on-call engineer's does:
one to four sentences, now and then a link, emphasis, a private span, a
private note, customers and tickets, an ETR or a promised next update.

Incidents start one a day, going back N days (about what a busy public
service posts), each resolved about two hours later, except the newest, which
is still open: the benchmarks post their updates to it. So the front page
(the last 14 days) looks alike at every size, and only the history grows.

Generating 10,000 incidents takes a while, so stores are cached in
``bench/.cache`` by size, generator version, store schema and config, and copied per run.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import CACHE, log

if TYPE_CHECKING:
    from broadcaster.config import Config
    from broadcaster.destination import Destination
    from broadcaster.store import Store

GENERATOR_VERSION = 1
SEED = 20261125
UPDATES_PER_INCIDENT = 5

COMPONENTS_TOML = """
[[components]]
id = "api"
name = "API"
group = "Core"

[[components]]
id = "web"
name = "Dashboard"
group = "Core"

[[components]]
id = "webhooks"
name = "Webhooks"
group = "Core"

[[components]]
id = "auth"
name = "Login and SSO"
group = "Core"

[[components]]
id = "db"
name = "Database"
group = "Infrastructure"

[[components]]
id = "cdn"
name = "CDN"
group = "Infrastructure"
"""
COMPONENT_IDS = ("api", "web", "webhooks", "auth", "db", "cdn")

_TITLES = (
    "Elevated API error rates", "Delayed webhook deliveries", "Dashboard login failures",
    "Increased latency in eu-west", "Degraded search performance", "Intermittent 502 errors",
    "SSO sign-in failures for some customers", "Slow database queries", "CDN cache misses in APAC",
    "Missing metrics in the dashboard", "Failed payment webhooks", "API timeouts for large exports",
)
_OPENERS = (
    "We are investigating elevated error rates on {component}.",
    "Some customers see failed requests to {component}.",
    "{component} responds slowly for a part of our customers.",
    "We see increased latency on {component} since {time} UTC.",
    "Requests to {component} fail intermittently with 502 errors.",
)
_CAUSES = (
    "The cause is a faulty load balancer in one region; traffic is being moved away from it.",
    "A configuration change made at {time} UTC caused the errors and is being rolled back.",
    "A database failover left read replicas behind; they are catching up now.",
    "An upstream provider has a network problem; we are routing around it.",
    "A deploy introduced a regression in request validation. A fix is being deployed.",
)
_PROGRESS = (
    "Error rates are dropping. We keep watching closely.",
    "The fix is deployed to all regions and we are monitoring the results.",
    "Most requests succeed again; a backlog of *queued deliveries* is being processed.",
    "Latency is back to normal levels for **most** customers. See https://docs.acme.example/status for details.",
    "Queued jobs are being retried automatically; no action is needed on your side.",
)
_CLOSERS = (
    "This incident has been resolved. We are sorry for the disruption.",
    "All systems are operating normally. A postmortem will follow within five working days.",
    "The issue is fixed and the backlog has been processed. Thank you for your patience.",
)
_EXTRA = (
    "Retries with exponential backoff will succeed.",
    "No data was lost.",
    "Customers on the EU cluster are not affected.",
    "We will post the next update within 30 minutes.",
    "Webhooks sent during the incident are redelivered in order.",
)
_PRIVATE_SPANS = (
    " [private]edge router fra-2 dropped its BGP session[/private]",
    " [private]db-primary-3 failed over at 14:02[/private]",
    " [private]rollback of change CHG-48213[/private]",
)
_CUSTOMERS = ("Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises")
_STATUSES = ("investigating", "identified", "monitoring", "monitoring", "resolved")
_OPEN_STATUSES = ("investigating", "identified", "identified", "monitoring", "monitoring")
_OFFSETS_MIN = (0, 20, 45, 80, 120)


def store_for(config_path: Path, incidents: int, target: Path) -> Path:
    """Put a store with ``incidents`` incidents at ``target`` (generated once, then copied)."""
    from broadcaster.store import SCHEMA_VERSION

    # The schema in the name: a store cached by a broadcaster whose migrations differ (another
    # branch, an older version) is made again rather than migrated by code that did not write it.
    cached = CACHE / f"store-{incidents}-v{GENERATOR_VERSION}-s{SCHEMA_VERSION}-{_config_key(config_path)}.db"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")  # two runs at once each write their own
        log(f"generating a store with {incidents:,} incidents (cached in {CACHE.name}/ for next time)")
        generate(config_path, incidents, partial)
        partial.rename(cached)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target)
    return target


def _config_key(config_path: Path) -> str:
    """Deliveries depend on the destinations and components in the config."""
    return hashlib.sha256(config_path.read_bytes()).hexdigest()[:10]


def generate(config_path: Path, incidents: int, path: Path, *, now: datetime | None = None) -> None:
    """Write ``incidents`` incidents of 5 updates each into a new SQLite store at ``path``."""
    from broadcaster import config_loader
    from broadcaster.destinations import destinations
    from broadcaster.store import open_store

    settings = config_loader.load(str(config_path))
    all_destinations = destinations(settings)
    rng = random.Random(SEED)
    now = now or datetime.now(UTC)
    store = open_store(path)
    try:
        for index in range(incidents):
            days_ago = incidents - index
            newest = index == incidents - 1
            start = now - timedelta(hours=3) if newest else now - timedelta(days=days_ago, hours=rng.randint(0, 20))
            _write_incident(store, settings, all_destinations, rng, start, newest)
    finally:
        store.close()


def _write_incident(store: Store, settings: Config, all_destinations: dict[str, Destination], rng: random.Random,
                    start: datetime, newest: bool) -> None:
    from broadcaster import compose
    from broadcaster.delivery import DeliveryState
    from broadcaster.destinations import plan

    title = rng.choice(_TITLES)
    components = rng.sample(COMPONENT_IDS, rng.randint(1, 2))
    impact = rng.choice(("minor", "minor", "major", "critical"))
    statuses = _OPEN_STATUSES if newest else _STATUSES
    existing = None
    for step, status in enumerate(statuses):
        when = start + timedelta(minutes=_OFFSETS_MIN[step] + rng.randint(0, 9))
        draft = compose.Draft(
            message=_message(rng, step, status, components[0]),
            incident_id=existing.id if existing else None,
            title=title if existing is None else None,
            impact=impact if existing is None else None,
            status=status,
            components=tuple(components) if step in (0, 4) else (),
            private=rng.choice(("", "", "Paged the database team.", "Runbook RB-112 step 4.")),
            # Customer names as internal detail (--customer takes configured audiences since issue 15).
            tickets=(*rng.sample(_CUSTOMERS, rng.randint(0, 2)),
                     *(f"INC-{rng.randint(1000, 99999)}" for _ in range(rng.randint(0, 1)))),
            next_update="30m" if status in ("investigating", "identified") and rng.random() < 0.6 else None,
            etr="2h" if status == "identified" and rng.random() < 0.4 else None,
        )
        incident, update = compose.build(draft, existing, settings, when)
        component_ids = {c.id for c in incident.components}
        planned = [replace(p, state=DeliveryState.SENT) if p.state == DeliveryState.PENDING else p
                   for p in plan(all_destinations, component_ids)]
        existing, _ = store.record_update(incident, update, planned, new=existing is None)


def _message(rng: random.Random, step: int, status: str, component: str) -> str:
    pools = (_OPENERS, _CAUSES, _PROGRESS, _PROGRESS, _CLOSERS)
    time_text = f"{rng.randint(0, 23):02d}:{rng.choice(('05', '20', '35', '50'))}"
    sentences = [rng.choice(pools[min(step, 4)] if status != "resolved" else _CLOSERS)]
    sentences += rng.sample(_EXTRA, rng.randint(0, 3))
    text = " ".join(sentences).format(component=component.upper() if component == "api" else component, time=time_text)
    if rng.random() < 0.25:
        text += rng.choice(_PRIVATE_SPANS)
    return text

"""Read-only reports for the terminal: list, show, channels check, site publish."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from broadcaster.config import Config
from broadcaster.messages.model import Incident
from broadcaster.messages.visibility import full_text, full_title, public_text
from broadcaster.redaction import redact
from broadcaster.report import STATE_STYLE, console
from broadcaster.store import Store, utcnow
from broadcaster.times import format_time


def overdue(store: Store, incident: Incident, now: datetime | None = None) -> bool:
    """An open incident whose last update promised another that is late."""
    if not incident.is_open:
        return False
    updates = store.updates(incident.id)
    promised = updates[-1].next_update_by if updates else None
    return promised is not None and promised < (now or utcnow())


def print_list(config: Config, store: Store, *, limit: int, as_json: bool) -> None:
    incidents = store.list_incidents(limit=limit)
    if as_json:
        click.echo(json.dumps([
            {
                "id": i.id, "title": i.title, "status": i.status.value, "impact": i.impact.value,
                "kind": i.kind, "open": i.is_open, "overdue": overdue(store, i),
                "created_at": i.created_at.isoformat(),
                "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
            }
            for i in incidents
        ]))
        return
    out = console()
    if not incidents:
        out.print("No incidents yet. Post one: broadcaster post --title 'API errors' 'Investigating elevated errors.'", markup=False)
        return
    table = Table(box=None, header_style="bold")
    for column in ("id", "status", "impact", "title", "started", "updates", "undelivered"):
        table.add_column(column, no_wrap=column != "title")
    for incident in incidents:
        updates = store.updates(incident.id)
        undelivered = len(store.deliveries(incident_id=incident.id, states=("pending", "failed", "unknown", "sending")))
        status = Text(incident.status.value, style="yellow" if incident.is_open else "green")
        if overdue(store, incident):
            status.append(" OVERDUE", style="bold red")
        table.add_row(
            Text(incident.id), status, Text(incident.impact.value), Text(incident.title),
            Text(format_time(incident.created_at)), Text(str(len(updates))),
            Text(str(undelivered), style="red") if undelivered else Text("0", style="dim"),
        )
    out.print(table)


def print_incident(config: Config, store: Store, incident: Incident, *, as_json: bool) -> None:
    updates = store.updates(incident.id)
    deliveries = store.deliveries(incident_id=incident.id)
    if as_json:
        click.echo(json.dumps(_incident_json(incident, updates, deliveries), ensure_ascii=False))
        return
    out = console()
    out.print(Text(full_title(incident), style="bold") + Text(f"  ({incident.id})"))
    if full_title(incident) != incident.title:
        out.print(Text(f"[private] title; the public reads: {incident.title}", style="red"))
    out.print(Text(f"{incident.status.label} · impact {incident.impact.value} · started {format_time(incident.created_at, config.page.zone)}"))
    if incident.components:
        out.print(Text("Components: " + ", ".join(f"{c.id} ({c.status.value})" for c in incident.components)))
    for update in updates:
        out.print()
        out.print(Text(f"#{update.sequence}", style="bold") + Text(
            f" {format_time(update.created_at, config.page.zone)} · {update.status.label}"
            + (f" · by {update.author}" if update.author else "")))
        out.print(Text("  " + public_text(update.raw_message)))
        private_bits = _private_summary(update)
        if private_bits:
            out.print(Text("  [private] " + private_bits, style="red"))
        if update.etr:
            out.print(Text(f"  ETR {format_time(update.etr, config.page.zone)}"))
        if update.next_update_by:
            out.print(Text(f"  Next update by {format_time(update.next_update_by, config.page.zone)}"))
    out.print()
    table = Table(title="Deliveries", box=None, header_style="bold", title_justify="left")
    for column in ("#", "destination", "target", "state", "remote id", "attempts", "error / note"):
        table.add_column(column)
    for d in deliveries:
        mark, style = STATE_STYLE.get(d.state, ("?", ""))
        table.add_row(Text(str(d.sequence)), Text(d.destination), Text(d.target or ""), Text(f"{mark} {d.state}", style=style),
                      Text(d.remote_id or ""), Text(str(d.attempts)), Text(redact(d.last_error or "")))
    out.print(table)


def _private_summary(update: Any) -> str:
    parts = []
    full, public = full_text(update.raw_message), public_text(update.raw_message)
    if full != public:
        parts.append(f"full text: {full}")
    if update.private_note:
        parts.append(update.private_note)
    if update.customers:
        parts.append("customers: " + ", ".join(update.customers))
    if update.tickets:
        parts.append("tickets: " + ", ".join(update.tickets))
    return " · ".join(parts)


def _incident_json(incident: Incident, updates: list[Any], deliveries: list[Any]) -> dict[str, Any]:
    from broadcaster.cli import _delivery_json

    return {
        "id": incident.id, "title": incident.title, "private_title": full_title(incident),
        "status": incident.status.value, "impact": incident.impact.value, "kind": incident.kind,
        "created_at": incident.created_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "components": [{"id": c.id, "status": c.status.value} for c in incident.components],
        "updates": [
            {
                "sequence": u.sequence, "status": u.status.value, "created_at": u.created_at.isoformat(),
                "message": public_text(u.raw_message), "private_message": full_text(u.raw_message),
                "private_note": u.private_note, "customers": list(u.customers), "tickets": list(u.tickets),
                "etr": u.etr.isoformat() if u.etr else None,
                "next_update_by": u.next_update_by.isoformat() if u.next_update_by else None,
                "author": u.author,
            }
            for u in updates
        ],
        "deliveries": [_delivery_json(d) for d in deliveries],
    }


def print_checks(config: Config) -> bool:
    """Run every channel's and target's check concurrently; print a table; True if all pass."""
    from broadcaster.delivery import CheckResult
    from broadcaster.destinations import destinations

    all_destinations = [d for d in destinations(config).values() if d.kind != "site"]
    secrets = config.secret_values()
    if not all_destinations:
        console().print("No channels or publish targets configured. See `broadcaster init` for examples.", markup=False)
        return True

    async def run() -> list[CheckResult]:
        async def one(destination: Any) -> list[CheckResult]:
            try:
                if destination.kind == "channel":
                    channel = destination.channel
                    channel.request_timeout = config.engine.timeout
                    try:
                        return await asyncio.wait_for(channel.check(), config.engine.timeout * 2)
                    finally:
                        await channel.aclose()
                return await asyncio.wait_for(destination.host.check(), config.engine.timeout * 2)
            except TimeoutError:
                return [CheckResult(destination.name, "", False, "no answer in time; check api_url and the network")]
            except Exception as exc:  # noqa: BLE001 - report every destination, whatever breaks
                return [CheckResult(destination.name, "", False, str(exc))]  # scrubbed with the rest below

        results = await asyncio.gather(*(one(d) for d in all_destinations))
        return [r for group in results for r in group]

    results = asyncio.run(run())
    results += shared_targets(results, {d.name: d.visibility for d in all_destinations})
    table = Table(box=None, header_style="bold")
    for column in ("destination", "target", "", "detail"):
        table.add_column(column)
    for result in results:
        mark = Text("ok", style="green") if result.ok else Text("FAIL", style="red")
        # What a server answered may echo a credential, in any case or encoding.
        table.add_row(Text(result.channel), Text(result.target), mark, Text(redact(result.detail, secrets)))
    console().print(table)
    return all(r.ok for r in results)


def shared_targets(results: list[Any], visibility: dict[str, str]) -> list[Any]:
    """A failed line for each chat reached from a public and a private table once names are resolved.

    The config loader compares targets as written; only the service knows that
    ``@acmestatus`` and ``-1001234567890`` are one chat.
    """
    from broadcaster.delivery import CheckResult

    by_target: dict[str, list[Any]] = {}
    for result in results:
        if result.ok and result.resolved:
            by_target.setdefault(result.resolved, []).append(result)
    found = []
    for resolved, reached in by_target.items():
        if len({visibility.get(r.channel) for r in reached}) > 1:
            where = ", ".join(f"[channels.{r.channel}] ({visibility.get(r.channel)}) as {r.target}" for r in reached)
            found.append(CheckResult(reached[0].channel, reached[0].target, False,
                                     f"one chat ({resolved}) is a target of {where}. One chat cannot be both public "
                                     "and private: remove it from one of the tables."))
    return found


def publish_site(config: Config, store: Store) -> bool:
    from broadcaster.destinations import destinations
    from broadcaster.errors import DeliveryError
    from broadcaster.operations import rebuild_site
    from broadcaster.site import source as site_source

    built = rebuild_site(config, store)
    out = console()
    out.print(f"Built {len(built.hashes)} files into {config.output_dir}.", markup=False)
    if built.problems:
        print_left_out(built.problems, config.secret_values())
    hosts = [d for d in destinations(config).values() if d.kind == "host"]
    ok = True
    secrets = config.secret_values()  # what a storage service or git answered may echo a credential
    for destination in hosts:
        try:
            receipt = asyncio.run(site_source.publish(store, destination.host, built, wait=config.engine.deadline))
            out.print(Text("  ✓ ", style="green") + Text(redact(f"{destination.name}: {receipt.remote_id}", secrets)))
        except DeliveryError as exc:
            ok = False
            out.print(Text("  ✗ ", style="red") + Text(redact(f"{destination.name}: {exc}", secrets)))
    if not hosts:
        out.print("No [publish.NAME] targets configured: the site is only in the local folder.", markup=False)
    return ok and not built.problems


def print_left_out(problems: Sequence[str], secrets: Sequence[str]) -> None:
    """Incidents a build left out: loud, on standard error, each with its id (and no secret)."""
    err = console(stderr=True)
    for problem in problems:
        err.print(Text("✗ " + redact(problem, secrets), style="red"))
    err.print(Text("The rest of the site was built. See `broadcaster show ID` for each record."))


def now_utc() -> datetime:
    return datetime.now(UTC)

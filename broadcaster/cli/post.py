"""Commands that publish an update: post, resolve, preview; and retry, which sends what is not sent yet."""

from __future__ import annotations

import json
from typing import Any

import click

from broadcaster.cli.group import EXIT_DELIVERY
from broadcaster.cli.options import (
    common,
    complete_incident,
    load_config,
    message_options,
    open_store,
    template_options,
)
from broadcaster.cli.publishing import _delivery_json, progress_for, publish_command, read_message
from broadcaster.errors import InputError


@click.command()
@click.argument("message", required=False)
@click.option("--incident", "-i", "incident_id", metavar="ID", shell_complete=complete_incident,
              help="Post an update to this incident (omit for a new incident).")
@click.option("--title", "-t", help="Title of a new incident (or a new title).")
@click.option("--impact", help="none, minor, major or critical.")
@click.option("--status", "-s", help="investigating (default), identified, monitoring or resolved.")
@click.option("--reopen", is_flag=True, help="Allow an update to a resolved incident, or a backward status move.")
@template_options
@message_options
@common
@click.pass_context
def post(ctx: click.Context, message: str | None, **options: Any) -> None:
    """Post a new incident, or an update with --incident ID.

    MESSAGE is the public text; `-` reads it from standard input, and on a
    terminal with no MESSAGE your $EDITOR opens. Write private detail inside
    [private]...[/private], or with --private, --customer and --ticket.
    """
    _post(ctx, message, options)


@click.command()
@click.argument("incident_id", metavar="ID", shell_complete=complete_incident)
@click.argument("message", required=False)
@message_options
@common
@click.pass_context
def resolve(ctx: click.Context, incident_id: str, message: str | None, **options: Any) -> None:
    """Resolve an incident, with an optional closing MESSAGE."""
    options.update(incident_id=incident_id, status="resolved", title=None, impact=None, reopen=False)
    _post(ctx, message or "This incident has been resolved.", options)


@click.command()
@click.argument("message", required=False)
@click.option("--incident", "-i", "incident_id", metavar="ID")
@click.option("--title", "-t")
@click.option("--impact")
@click.option("--status", "-s")
@click.option("--reopen", is_flag=True)
@template_options
@message_options
@common
@click.pass_context
def preview(ctx: click.Context, message: str | None, **options: Any) -> None:
    """Show exactly what every destination would receive (same options as post); sends nothing."""
    options["dry_run"] = True
    _post(ctx, message, options)


def _post(ctx: click.Context, message: str | None, options: dict[str, Any]) -> None:
    from broadcaster import compose, lifecycle, operations

    config = load_config(ctx)
    if options.get("sets") and not options.get("template"):
        raise InputError("--set fills the placeholders of a template: use it with --template NAME "
                         "(see `broadcaster templates`). Nothing was stored or sent.")
    store = open_store(ctx)
    if options.get("template"):
        options = {**options, **_from_template(lifecycle.apply_template(config, options["template"], lifecycle.parse_sets(options["sets"])), options)}
        message = message if message is not None else options.pop("template_message", None)
    existing = operations.find_incident(store, options["incident_id"]) if options.get("incident_id") else None
    text = read_message(message, existing, store)
    draft = compose.Draft(
        message=text,
        incident_id=existing.id if existing else None,
        title=options.get("title"),
        impact=options.get("impact"),
        status=options.get("status"),
        components=options["components"],
        private=options["private"],
        customers=options["customers"],
        tickets=options["tickets"],
        etr=options["etr"],
        next_update=options["next_update"],
        reopen=bool(options.get("reopen")),
    )

    def run(**extra: Any) -> Any:
        return operations.post(config, store, draft, only=options["only"], skip=options["skip"], **extra)

    publish_command(ctx, run, options)


def _from_template(filled: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Template fields, overridden by anything typed on the command line."""
    merged: dict[str, Any] = {}
    for key in ("title", "impact", "status"):
        if not options.get(key) and filled.get(key):
            merged[key] = filled[key]
    if not options.get("components") and filled.get("components"):
        merged["components"] = tuple(filled["components"])
    if not options.get("private") and filled.get("private"):
        merged["private"] = filled["private"]
    if filled.get("message"):
        merged["template_message"] = filled["message"]
    return merged


@click.command()
@click.argument("incident_id", metavar="[INCIDENT]", required=False, shell_complete=complete_incident)
@click.option("--include-unknown", is_flag=True, help="Also resend posts whose fate is unknown (may post twice).")
@click.option("--mark-unknown-sent", is_flag=True,
              help="You checked that the posts whose fate is unknown are there: record them as sent, never resend.")
@click.option("--remote-id", "remote_ids", multiple=True, metavar="DEST[:CHAT]=ID",
              help="With --mark-unknown-sent: the id or link of the post you found, so later updates thread under it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@common
@click.pass_context
def retry(ctx: click.Context, incident_id: str | None, include_unknown: bool, mark_unknown_sent: bool,
          remote_ids: tuple[str, ...], as_json: bool) -> None:
    """Send every delivery not yet sent, oldest first. Never posts again what was sent.

    A post is `unknown` when its request may have reached the service but no
    answer came back (a timeout, a dropped connection, a process killed
    mid-request): it may or may not exist, so it is not resent by itself.
    Check the destination, then either resend it (--include-unknown) or record
    it as sent (--mark-unknown-sent, with --remote-id to keep threading under
    it). The site and its publish targets are simply redone.
    """
    from broadcaster import operations, report

    if include_unknown and mark_unknown_sent:
        raise InputError("choose one: --include-unknown resends unknown deliveries, --mark-unknown-sent records them as sent.")
    if remote_ids and not mark_unknown_sent:
        raise InputError("--remote-id goes with --mark-unknown-sent: it records the id of a post you found.")
    config = load_config(ctx)
    store = open_store(ctx)
    out = report.console()
    found = operations.find_incident(store, incident_id).id if incident_id else None
    if mark_unknown_sent:
        from broadcaster.engine import Publisher

        Publisher(config, store).reap()
        for delivery, threading in operations.mark_unknown_sent(config, store, found, remote_ids):
            where = f"{delivery.destination} {delivery.target}".rstrip()
            out.print(f"Recorded as sent: {delivery.incident_id} #{delivery.sequence} → {where}; {threading}.", markup=False)
    targets = [(d.destination, d.target) for d in operations.retry_todo(config, store, found, include_unknown=include_unknown)]
    with progress_for(out, targets, as_json) as progress:
        result = operations.retry(config, store, found, include_unknown=include_unknown, progress=progress)
    not_done = [o for o in result.outcomes if o.state not in ("sent", "skipped")]
    if as_json:
        click.echo(json.dumps({
            "incident_id": found,
            "deliveries": [o.as_json() for o in result.outcomes],
            "unknown": [_delivery_json(d) for d in result.unknown],
        }, ensure_ascii=False))
    else:
        if not result.outcomes:
            out.print("Nothing to resend: every delivery is sent or skipped.", markup=False)
        else:
            report.print_outcomes(out, f"Resent {len(result.outcomes)} delivery(ies):", result.outcomes, found)
        for delivery in result.unknown:
            out.print(report.unknown_line(delivery))
    if not_done or result.unknown:
        ctx.exit(EXIT_DELIVERY)


COMMANDS = (post, resolve, preview, retry)

"""The one path of every command that publishes new text: preview, confirm, publish with progress, report."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from broadcaster.cli.group import EXIT_DELIVERY
from broadcaster.errors import InputError


def publish_command(ctx: click.Context, run: Callable[..., Any], options: dict[str, Any]) -> None:
    """Preview, confirm (public posts cannot be taken back), publish with live progress, report.

    ``run(dry_run=..., progress=...)`` performs the publication; every command
    that publishes new text goes through here.
    """
    from broadcaster import report

    out = report.console()
    if options.get("dry_run"):
        result = run(dry_run=True)
        print_post_result(out, result, options["as_json"])
        refuse_leaking_preview(result)
        return
    preview_result = run(dry_run=True)
    confirm_publication(preview_result, options["yes"])
    targets = [(p.destination, p.target) for p in preview_result.previews if p.state == "pending"]
    with progress_for(out, targets, options["as_json"]) as progress:
        result = run(progress=progress)
    print_post_result(out, result, options["as_json"])
    if result.failed:
        ctx.exit(EXIT_DELIVERY)


def refuse_leaking_preview(result: Any) -> None:
    """A dry run whose public rendering holds private detail says so and exits 2 (nothing was stored or sent)."""
    refused = sorted({p.destination for p in result.previews if p.refused})
    if refused:
        raise InputError(
            f"the public rendering for {', '.join(refused)} holds private detail of this update, so the egress "
            "guard would refuse to send it there (see above). Nothing was stored or sent. Take the private "
            "text out of the public message and title, or leave those destinations out with --skip."
        )


def read_message(message: str | None, existing: Any, store: Any) -> str:
    """The message from the argument, standard input (``-``) or the editor."""
    if message == "-":
        data = sys.stdin.buffer.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"standard input is not UTF-8 text (byte {exc.start}); convert it and try again.") from exc
    if message is None:
        from broadcaster import report

        if not report.is_terminal():
            raise InputError("no MESSAGE given. Pass it as an argument, or `-` to read it from standard input.")
        from broadcaster.compose_editor import compose_in_editor

        return compose_in_editor(existing, store.updates(existing.id) if existing else [])
    if any("\udc80" <= ch <= "\udcff" for ch in message):
        raise InputError("the message is not valid UTF-8 text; fix your terminal's encoding or pass it with `-` from a UTF-8 file.")
    return message


def confirm_publication(preview_result: Any, yes: bool) -> None:
    """Public posts cannot be taken back: show what goes where and ask, unless --yes."""
    from broadcaster import report

    if yes:
        return
    if not report.is_terminal():
        raise InputError("refusing to publish without confirmation (not a terminal). Public posts cannot be taken back: add --yes.")
    out = report.console()
    public = next((p for p in preview_result.previews if p.rendered and p.visibility == "public" and p.destination != "site"), None)
    out.rule("What the public will read", align="left")
    shown = public or next((p for p in preview_result.previews if p.rendered), None)
    if shown and shown.refused:
        out.print(f"REFUSED: {shown.refused}", markup=False, style="bold red")
    else:
        out.print(shown.rendered.text if shown and shown.rendered else "", markup=False)
    out.rule("Destinations", align="left")
    counts: dict[tuple[str, str], int] = {}
    for entry in preview_result.previews:
        if entry.state == "pending":
            counts[(entry.destination, entry.visibility)] = counts.get((entry.destination, entry.visibility), 0) + 1
    refused = {p.destination for p in preview_result.previews if p.refused}
    for (name, visibility), count in counts.items():
        chats = f" ({count} chats)" if count > 1 else ""
        warning = " REFUSED by the egress guard: nothing will be sent there" if name in refused else ""
        out.print(f"  {name} [{visibility}]{chats}{warning}", markup=False)
    if not click.confirm("Publish now?", default=False):
        raise InputError("not published: nothing was stored or sent.")


class progress_for:
    """Live progress on a terminal; nothing (a clean result at the end) otherwise."""

    def __init__(self, out: Any, targets: Sequence[tuple[str, str]], as_json: bool) -> None:
        from broadcaster import report

        self.live = None
        if not as_json and out.is_terminal and targets:
            self.live = report.TerminalProgress(out, targets)

    def __enter__(self) -> Any:
        return self.live.__enter__() if self.live else None

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.live.__exit__(*exc)


def print_post_result(out: Any, result: Any, as_json: bool) -> None:
    from broadcaster import report
    from broadcaster.engine import incident_url

    if as_json:
        payload = {
            "incident_id": result.incident.id,
            "sequence": result.update.sequence,
            "status": result.update.status.value,
            "title": result.incident.title,
            "new_incident": result.new,
            "dry_run": result.dry_run,
            "notices": [o.as_json() for o in getattr(result, "notices", [])],
            "deliveries": [o.as_json() for o in result.outcomes] if not result.dry_run else [
                {
                    "destination": p.destination, "target": p.target, "visibility": p.visibility,
                    "state": p.state if p.state == "skipped" else "failed" if p.refused else "pending",
                    "remote_id": None, "error": p.refused or p.reason or None,
                    "rendered": p.rendered.messages if p.rendered and not p.refused else None,
                }
                for p in result.previews
            ],
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    from rich.text import Text

    if result.dry_run:
        out.print(Text("Dry run", style="bold") + Text(
            f": {result.incident.id} #{result.update.sequence} ({result.update.status.value}); nothing stored or sent."))
        report.print_previews(out, result.previews)
        return
    config = click.get_current_context().find_root().obj["loaded"]
    heading = Text(result.incident.id, style="bold") + Text(f" #{result.update.sequence} ({result.update.status.value}) stored.")
    url = incident_url(config, result.incident.id)
    if url:
        heading.append(f" {url}")
    report.print_outcomes(out, heading, result.outcomes, result.incident.id)
    if any(o.destination == "site" and o.state == "sent" for o in result.outcomes):
        out.print(f"Page: {config.output_dir / 'index.html'}", markup=False)


def _scrubbed(text: str | None) -> str | None:
    """A stored text as shown: rows written before a secret was known to redaction are scrubbed here."""
    from broadcaster.redaction import redact

    return redact(text) if text else text


def _delivery_json(delivery: Any) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "incident_id": delivery.incident_id,
        "sequence": delivery.sequence,
        "destination": delivery.destination,
        "target": delivery.target,
        "visibility": delivery.visibility,
        "state": delivery.state,
        "remote_id": delivery.remote_id,
        "thread_ref": delivery.thread_ref,
        "attempts": delivery.attempts,
        "error": _scrubbed(delivery.last_error),
        "parts": list(delivery.parts),
        "updated_at": delivery.updated_at.isoformat(),
    }

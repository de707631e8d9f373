"""The ``broadcaster`` command. Commands parse, call one function, print.

This is the only module that turns errors into exit codes:
0 all good; 2 bad input or config (nothing stored, nothing sent);
3 stored, but at least one destination failed (see ``show``, resend with ``retry``);
1 anything unexpected.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from broadcaster import __version__
from broadcaster.errors import BroadcasterError, InputError

EXIT_OK, EXIT_INPUT, EXIT_DELIVERY = 0, 2, 3


class _Group(click.Group):
    """Maps BroadcasterError to a one-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        from broadcaster.redaction import install_logging

        # Every log record of every library is scrubbed of the config's secrets, and
        # the SDKs' own logs stay silent unless --debug.
        with install_logging(_debug(ctx)) as switch:
            ctx.find_root().ensure_object(dict)["log_switch"] = switch
            return self._invoke_reporting(ctx)

    def _invoke_reporting(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BroadcasterError as exc:
            _report_error(ctx, exc, exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted. Whatever was stored is safe: see `broadcaster show`, resend with `broadcaster retry`.", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - last line of defence: no raw traceback for operators
            _report_error(ctx, exc, 1, unexpected=True)


def _report_error(ctx: click.Context, exc: BaseException, code: int, unexpected: bool = False) -> None:
    import traceback

    from broadcaster.redaction import redact

    secrets = _known_secrets(ctx)
    if _debug(ctx):
        click.echo(redact("".join(traceback.format_exception(exc)), secrets), err=True)
    message = redact(str(exc), secrets)
    if unexpected:
        message = f"unexpected error ({type(exc).__name__}): {message.rstrip('.')}. Run again with --debug for details."
    click.echo(f"error: {message}", err=True)
    ctx.exit(code)


def _known_secrets(ctx: click.Context) -> list[str]:
    config = (ctx.find_root().obj or {}).get("loaded")
    return config.secret_values() if config is not None else []


def _debug(ctx: click.Context) -> bool:
    return bool((ctx.find_root().obj or {}).get("debug"))


def _remember(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
    if value is not None and value is not False:
        root = ctx.find_root()
        root.obj = root.obj or {}
        root.obj[_param.name] = value
        if _param.name == "debug":  # given after the command name: the logs open up now
            from broadcaster.redaction import set_debug

            set_debug(root.obj.get("log_switch"), True)
    return value


STORE_HELP = ("Use this store for this one command instead of [store]: a file (e.g. a local fallback "
              "while the team database is down) or a postgresql:// URL.")


def common(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--config`` and ``--debug`` on every command too, so they work in either position."""
    command = click.option("--config", "-c", "config", expose_value=False, callback=_remember, metavar="FILE",
                           help="Config file (default: $BROADCASTER_CONFIG, then ./broadcaster.toml).")(command)
    command = click.option("--store", "store", expose_value=False, callback=_remember, metavar="PATH|URL",
                           help=STORE_HELP)(command)
    return click.option("--debug", is_flag=True, expose_value=False, callback=_remember,
                        help="Show tracebacks and the libraries' logs (secrets redacted).")(command)


def load_config(ctx: click.Context) -> Any:
    from broadcaster import config_loader as config_module

    root = ctx.find_root()
    root.obj = root.obj or {}
    if "loaded" not in root.obj:
        from broadcaster.redaction import remember

        root.obj["loaded"] = config_module.load(root.obj.get("config"))
        remember(root.obj["loaded"].secret_values())
    return root.obj["loaded"]


def open_store(ctx: click.Context) -> Any:
    from broadcaster.store import open_store as _open
    from broadcaster.store import store_location

    config = load_config(ctx)
    store = _open(store_location(config, (ctx.find_root().obj or {}).get("store")))
    ctx.call_on_close(store.close)
    return store


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "-c", "config", expose_value=False, callback=_remember, metavar="FILE",
              help="Config file (default: $BROADCASTER_CONFIG, then ./broadcaster.toml).")
@click.option("--store", "store", expose_value=False, callback=_remember, metavar="PATH|URL", help=STORE_HELP)
@click.option("--debug", is_flag=True, expose_value=False, callback=_remember, help="Show tracebacks and the libraries' logs (secrets redacted).")
@click.version_option(__version__, prog_name="broadcaster")
def main() -> None:
    """Publish incident updates to a status page, feeds, X, Telegram and Slack at once.

    Exit codes: 0 all good; 2 bad input or config (nothing stored or sent);
    3 stored, but at least one destination failed (see `show`, resend with `retry`).
    """


# -- post / resolve / preview --------------------------------------------------


def _completer(kind: str) -> Callable[[click.Context, click.Parameter, str], list[Any]]:
    """Shell completion from the config and the store; silent when either cannot be read."""

    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        try:
            config = load_config(ctx)
            if kind == "incident":
                items = _incidents_for_completion(ctx, config)
            elif kind == "component":
                from broadcaster.messages.model import ComponentStatus

                head, sep, _ = incomplete.partition("=")
                items = ([(f"{head}={s.value}", "") for s in ComponentStatus] if sep
                         else [(c.component.id, c.component.name) for c in config.components])
            elif kind == "destination":
                items = [(name, "") for name in config.destination_names]
            else:
                items = [(name, str(t.get("title", ""))) for name, t in config.templates.items()]
        except Exception:  # noqa: BLE001 - completion must never print a traceback into a shell
            return []
        return [CompletionItem(value, help=help_text or None) for value, help_text in items if value.startswith(incomplete)]

    return complete


def _incidents_for_completion(ctx: click.Context, config: Any) -> list[tuple[str, str]]:
    """Incident ids from the store this command would use (``--store``, ``[store] url``, the file);
    an embedded file that does not exist yet is not created by pressing Tab."""
    from pathlib import Path

    from broadcaster.store import open_store as _open
    from broadcaster.store import store_location

    location = store_location(config, (ctx.find_root().obj or {}).get("store"))
    text = location if isinstance(location, str) else ""
    path = location if isinstance(location, Path) else Path(text.removeprefix("sqlite:///")) if text.startswith("sqlite:///") else None
    if path is not None and not path.is_file():
        return []
    store = _open(location)
    try:
        return [(i.id, i.title) for i in store.list_incidents(limit=200)]
    finally:
        store.close()


complete_incident = _completer("incident")


def publish_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every publishing command has: destinations, dry run, JSON, confirmation."""
    options = [
        click.option("--only", "only", multiple=True, metavar="NAMES", shell_complete=_completer("destination"),
                     help="Send only to these destinations (comma-separated; `site` is the page)."),
        click.option("--skip", "skip", multiple=True, metavar="NAMES", shell_complete=_completer("destination"),
                     help="Do not send to these destinations."),
        click.option("--dry-run", is_flag=True, help="Render every destination; store and send nothing."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object (stable format, see README)."),
        click.option("--yes", "-y", is_flag=True, help="Publish without asking for confirmation."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def message_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Private detail, times and components of an update, plus the publishing options."""
    options = [
        click.option("--private", "-p", "private", default="", metavar="TEXT", help="Private detail: only private channels see it."),
        click.option("--customer", "customers", multiple=True, metavar="NAME", help="Affected customer (private; repeatable)."),
        click.option("--ticket", "tickets", multiple=True, metavar="REF", help="Ticket reference (private; repeatable)."),
        click.option("--etr", metavar="WHEN", help="Estimated time to restore: 30m, 2h, 15:30 or ISO time."),
        click.option("--next-update", "next_update", metavar="WHEN", help="When the next update is promised: 30m, 2h, 15:30 or ISO time."),
        click.option("--component", "-C", "components", multiple=True, metavar="ID[=STATUS]", shell_complete=_completer("component"),
                     help="Affected component, optionally with its status (repeatable)."),
    ]
    for option in reversed(options):
        command = option(command)
    return publish_options(command)


@main.command()
@click.argument("message", required=False)
@click.option("--incident", "-i", "incident_id", metavar="ID", shell_complete=complete_incident,
              help="Post an update to this incident (omit for a new incident).")
@click.option("--title", "-t", help="Title of a new incident (or a new title).")
@click.option("--impact", help="none, minor, major or critical.")
@click.option("--status", "-s", help="investigating (default), identified, monitoring or resolved.")
@click.option("--reopen", is_flag=True, help="Allow an update to a resolved incident, or a backward status move.")
@click.option("--template", "template", metavar="NAME", shell_complete=_completer("template"),
              help="Start from [templates.NAME] (see `broadcaster templates`).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A value for a template placeholder (repeatable).")
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


@main.command()
@click.argument("incident_id", metavar="ID", shell_complete=complete_incident)
@click.argument("message", required=False)
@message_options
@common
@click.pass_context
def resolve(ctx: click.Context, incident_id: str, message: str | None, **options: Any) -> None:
    """Resolve an incident, with an optional closing MESSAGE."""
    options.update(incident_id=incident_id, status="resolved", title=None, impact=None, reopen=False)
    _post(ctx, message or "This incident has been resolved.", options)


@main.command()
@click.argument("message", required=False)
@click.option("--incident", "-i", "incident_id", metavar="ID")
@click.option("--title", "-t")
@click.option("--impact")
@click.option("--status", "-s")
@click.option("--reopen", is_flag=True)
@click.option("--template", "template", metavar="NAME", shell_complete=_completer("template"),
              help="Start from [templates.NAME] (see `broadcaster templates`).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A value for a template placeholder (repeatable).")
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
    from broadcaster.site.links import incident_url

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


# -- retry --------------------------------------------------------------------


@main.command()
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


from broadcaster.cli_store import store as _store_group  # noqa: E402 - registers `broadcaster store`

main.add_command(_store_group)

# Commands kept in their own modules register themselves on `main` when imported.
from broadcaster import cli_inspect as _cli_inspect  # noqa: E402,F401
from broadcaster import cli_lifecycle as _cli_lifecycle  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Commands for the rest of an incident's life: amend, postmortem, maintenance, tick, templates, completion."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from broadcaster.cli.group import EXIT_DELIVERY
from broadcaster.cli.options import (
    an_incident_id,
    common,
    complete_audience,
    complete_component,
    complete_incident,
    load_config,
    once,
    open_store,
    open_store_to_publish,
    private_option,
    publish_options,
)
from broadcaster.cli.publishing import publish_command, read_bounded, read_message
from broadcaster.errors import InputError, did_you_mean, printable

if TYPE_CHECKING:
    from broadcaster.lifecycle import StepSkips
    from broadcaster.messages.gate import Rule
    from broadcaster.messages.model import Update


class UpdateNumber(click.ParamType[int]):
    """An update's number as every output writes it, ``#2``, or bare, ``2``."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        found = re.fullmatch(r"#?(\d{1,9})", str(value).strip(), re.ASCII)
        if found is None:
            self.fail(f"{value!r} is not an update number: give it as 2 or #2 (`broadcaster show ID` lists them).",
                      param, ctx)
        return int(found.group(1))


@click.command()
@click.argument("incident_id", metavar="INCIDENT", callback=an_incident_id, shell_complete=complete_incident)
@click.argument("sequence", type=UpdateNumber(), metavar="SEQ")
@click.argument("message", required=False)
@private_option("Replace the update's private note (internal channels only); without it, the note stays.")
@click.option("--for", "for_detail", multiple=True, nargs=2, metavar="ID TEXT", shell_complete=complete_audience,
              help="Replace customer ID's detail (\"\" takes it out); the rest of the update's is kept (repeatable).")
@publish_options
@common
@click.pass_context
def amend(ctx: click.Context, /, incident_id: str, sequence: int, message: str | None, private: str,
          for_detail: tuple[tuple[str, str], ...], **options: Any) -> None:
    """Correct update SEQ of an incident.

    Edited in place where the medium allows it (the page, the feeds, Telegram,
    Slack, Matrix, Mastodon, Discord); posted as a correction where it does
    not (a reply on X and Bluesky, a card on Teams, a mail in the thread on
    email); webhooks get an update.amended event. The store keeps the original and the correction; what
    readers saw beside the text (each customer's detail, the private note)
    stays unless given again.
    """
    from broadcaster import lifecycle, operations

    config, store = load_config(ctx), open_store(ctx, reads=bool(options.get("dry_run")))
    incident = operations.incident_to_post_to(store, incident_id)
    original = _update_to_correct(store, incident.id, sequence)
    if original is None and message is None:
        text = ""  # no editor for an update amend will not correct: lifecycle.amend refuses SEQ, listing the updates
    else:
        text = read_message(message, incident, store, _limit_of(original), correcting=original)

    def run(**extra: Any) -> Any:
        return lifecycle.amend(config, store, incident.id, sequence, text, private=private, for_detail=for_detail,
                               only=options["only"], skip=options["skip"], **extra)

    publish_command(ctx, run, options)


def _update_to_correct(store: Any, incident_id: str, sequence: int) -> Update | None:
    """Update ``sequence`` as last corrected (as a new correction builds on it: staff's latest), or None if ``amend``
    does not correct it (none such, a correction or a notice): ``lifecycle.amend`` says why."""
    from broadcaster.messages.model import INTERNAL
    from broadcaster.messages.visibility import PRIVATE_KINDS, as_last_corrected

    updates = store.updates(incident_id)
    original = next((u for u in updates if u.sequence == sequence), None)
    if original is None or original.kind == "correction" or original.kind in PRIVATE_KINDS:
        return None
    return as_last_corrected(original, updates, store.left_out_by_operator(incident_id, INTERNAL))


def _limit_of(original: Update | None) -> Rule:
    """The limit of the text a correction replaces (a postmortem's is 200 KB, a message's 5,000 characters): standard
    input is read up to it, and ``lifecycle.amend`` admits the text by the same rule."""
    from broadcaster.messages.gate import MESSAGE, POSTMORTEM

    return POSTMORTEM if original is not None and original.kind == "postmortem" else MESSAGE


@click.command()
@click.argument("incident_id", metavar="INCIDENT", callback=an_incident_id, shell_complete=complete_incident)
@click.option("--file", "-f", "path", required=True, multiple=True, callback=once, metavar="FILE", help="The postmortem in markdown (`-` for standard input).")
@publish_options
@common
@click.pass_context
def postmortem(ctx: click.Context, /, incident_id: str, path: str, **options: Any) -> None:
    """Publish the postmortem of a resolved incident.

    It gets its own section on the incident page (markdown, sanitised), a feed
    entry, and a short announcement with the link on the channels, threaded
    under the incident where the medium threads.
    """
    from broadcaster import lifecycle

    config, store = load_config(ctx), open_store(ctx, reads=bool(options.get("dry_run")))
    from broadcaster.messages.gate import POSTMORTEM

    text = read_message("-", None, store, POSTMORTEM) if path == "-" else _read_file(path, POSTMORTEM)

    def run(**extra: Any) -> Any:
        return lifecycle.postmortem(config, store, incident_id, text, only=options["only"], skip=options["skip"],
                                    widen=options["widen"], **extra)

    publish_command(ctx, run, options)


def _read_file(path: str, rule: Rule) -> str:
    try:
        with open(path, "rb") as handle:
            # A byte order mark starting the file (Notepad writes one) is its encoding's mark, not the postmortem's text.
            return read_bounded(handle, rule, path).decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"--file {path} not found: nothing was stored or sent. Check the path{_nearby(Path(path))}, "
                         "then run the command again (`--file -` reads the postmortem from standard input).") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8. Nothing was stored or sent.") from exc
    except OSError as exc:  # a folder, a file we may not read
        raise InputError(f"cannot read --file {path}: {exc.strerror or exc}. Nothing was stored or sent.") from None


def _nearby(path: Path) -> str:
    """``(did you mean 'pm.md'?)`` from the files beside a mistyped one, or ""."""
    try:
        names = [str(path.parent / f.name) for f in path.parent.iterdir() if f.is_file()]
    except OSError:
        return ""
    hint = did_you_mean(str(path), names).strip()
    return f" ({hint[0].lower()}{hint[1:]})" if hint else ""


# -- maintenance -------------------------------------------------------------------


@click.group()
def maintenance() -> None:
    """Scheduled maintenance: schedule, start, verifying, complete, cancel.

    Post updates in between with `broadcaster post -i ID`; `broadcaster tick`
    starts and completes windows at their scheduled times.
    """


@maintenance.command("schedule")
@click.argument("message", required=False)
@click.option("--title", "-t", required=True, multiple=True, callback=once, help="What the maintenance is.")
@click.option("--start", required=True, multiple=True, callback=once, metavar="WHEN",
              help="Start: 2h, 15:30 or an ISO time.")
@click.option("--end", required=True, multiple=True, callback=once, metavar="WHEN",
              help="End: a duration after the start (2h) or a time.")
@click.option("--component", "-C", "components", multiple=True, metavar="ID", shell_complete=complete_component,
              help="A component under maintenance (repeatable).")
@private_option("Private detail.")
@click.option("--again", is_flag=True,
              help="Announce it though it repeats a window announced within the hour (the same title, text, components and times).")
@publish_options
@common
@click.pass_context
def maintenance_schedule(ctx: click.Context, /, message: str | None, title: str, start: str, end: str,
                         components: tuple[str, ...], private: str, again: bool, **options: Any) -> None:
    """Announce a maintenance window: on the page as upcoming, in the feeds and on the channels."""
    from broadcaster import lifecycle

    config, store = load_config(ctx), open_store_to_publish(ctx, creates=True, dry_run=bool(options.get("dry_run")))
    # None: a standard announcement with the window's times (no editor: the standard one is the usual text).
    text = _maintenance_message(message, store) or ""

    def run(**extra: Any) -> Any:
        used = store if extra.get("dry_run") else store.lasting()  # the preview's may leave nothing behind
        return lifecycle.schedule_maintenance(config, used, title=title, start=start, end=end, components=components,
                                              message=text, private=private, only=options["only"], skip=options["skip"],
                                              again=again, **extra)

    publish_command(ctx, run, options)


def _maintenance_message(message: str | None, store: Any) -> str | None:
    """A maintenance command's MESSAGE: None when omitted (lifecycle then uses the standard text), and ``-`` read
    from standard input, as for every command taking a MESSAGE. A message given but empty is refused as ``post``
    refuses it: a command meant to pipe the text in (``notes | broadcaster maintenance start ID -``) whose first
    part printed nothing, or given ``"$NOTES"`` with the variable unset, must not announce the standard text
    instead, as if the operator had chosen it."""
    if message is None:
        return None
    from broadcaster.messages.visibility import validate_message

    text = read_message(message, None, store)
    validate_message(text)
    return text


def _step_command(name: str, status: str, help_text: str) -> None:
    @maintenance.command(name, help=help_text)
    @click.argument("incident_id", metavar="ID", callback=an_incident_id, shell_complete=complete_incident)
    @click.argument("message", required=False)
    @private_option("Private detail.")
    @publish_options
    @common
    @click.pass_context
    def command(ctx: click.Context, /, incident_id: str, message: str | None, private: str, **options: Any) -> None:
        from broadcaster import lifecycle

        config, store = load_config(ctx), open_store(ctx, reads=bool(options.get("dry_run")))
        text = _maintenance_message(message, store)

        def run(**extra: Any) -> Any:
            # No message: the step's standard one, in [page] language (lifecycle picks it).
            chosen = {"private": private, "only": options["only"], "skip": options["skip"], "widen": options["widen"],
                      **extra}
            if status == CANCEL:
                return lifecycle.cancel_maintenance(config, store, incident_id, text, **chosen)
            return lifecycle.maintenance_step(config, store, incident_id, status, text, **chosen)

        publish_command(ctx, run, options)


CANCEL = "cancelled"  # not a status: cancelling completes a window before its start
_step_command("start", "in_progress", "Start a scheduled maintenance window now.")
_step_command("verifying", "verifying", "Mark a maintenance window as verifying.")
_step_command("complete", "completed", "Complete a maintenance window.")
_step_command("cancel", CANCEL, "Cancel a maintenance window that has not started (the calendar marks it cancelled).")


# -- tick --------------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@common
@click.pass_context
def tick(ctx: click.Context, /, as_json: bool) -> None:
    """Do what is due now; for cron or a systemd timer, safe to run every minute.

    Starts and completes maintenance windows at their scheduled times, reminds
    of a window starting within [maintenance] reminder_minutes, and tells the
    internal channels when a promised update is overdue or an SLA is breached
    (and a customer's channels when its own SLA is). Running it twice posts
    nothing twice.
    """
    from broadcaster import lifecycle

    config, store = load_config(ctx), open_store(ctx)
    result = lifecycle.tick(config, store)
    if as_json:
        from broadcaster.cli import records
        from broadcaster.cli.plain import print_json

        print_json(records.tick_json(result), ensure_ascii=True)
    elif result.busy:
        click.echo("Another `broadcaster tick` is running; nothing done.")
    elif not result.actions:
        click.echo("Nothing due." + _no_notices_why(config, store))
    else:
        skips = {found.label: found for found in result.skips()}
        for action in result.actions:
            click.echo(f"- {action}")
            if action in skips:
                click.echo(_skipped_line(skips[action]))
        _print_not_sent(result)
    if result.failed:
        ctx.exit(EXIT_DELIVERY)


SKIP_REASONS_SHOWN = 3  # a chat's own reason names the chat: a thousand would be a thousand reasons


def _skipped_line(found: StepSkips) -> str:
    """``  12 of 200 deliveries sent, 188 skipped as they went: WHY (188)``: under a step's line, which alone read as done."""
    shown = "; ".join(f"{why or 'no reason recorded'} ({count})" for why, count in found.reasons[:SKIP_REASONS_SHOWN])
    more = len(found.reasons) - SKIP_REASONS_SHOWN
    if more > 0:
        shown += f"; and {more} other reason(s): `broadcaster show {found.label.split()[-1]}` lists each delivery"
    skipped = sum(count for _, count in found.reasons)
    return printable(f"  {found.sent} of {found.of} deliveries sent, {skipped} skipped as they went: {shown}",
                     one_line=True)


def _print_not_sent(result: Any) -> None:
    """Each delivery a tick could not make, with why: from cron, its output is the operator's only word of it."""
    from broadcaster.cli import output
    from broadcaster.delivery import DONE_STATES

    out = output.console()
    for done in result.results:
        missed = [o for o in done.outcomes if o.state not in DONE_STATES]
        if missed:
            for line in output.outcome_lines(missed):
                out.print(line)
            out.print(f"  Resend with `broadcaster retry {done.incident.id}` once the cause is fixed.", markup=False)
        output.print_elsewhere(out, done)  # team mode: where this machine's config cannot send it


# -- templates and completion ------------------------------------------------------------


@click.command()
@common
@click.pass_context
def templates(ctx: click.Context) -> None:
    """List the [templates.NAME] of the config and the values each needs (--set key=value)."""
    from broadcaster.templates import template_fields

    config = load_config(ctx)
    if not config.templates:
        click.echo("No templates. Add [templates.NAME] with title, impact, components, status, message.")
        return
    for name, template in config.templates.items():
        fields = template_fields(template)
        needs = " ".join(f"--set {f}=..." for f in fields)
        # The config's own text, shown escaped: an escape sequence in it would otherwise drive the terminal.
        click.echo(printable(f"{name}: {template.get('title', '')}" + (f"  (needs {needs})" if needs else "")))


def _no_notices_why(config: Any, store: Any) -> str:
    """Why "nothing due" may hide a late update: notices go to internal channels only."""
    from broadcaster.notices import has_private_channels

    if has_private_channels(config, store):  # "private" is "internal" since audiences: ask the config, not the text
        return ""
    return (" No channel has visibility = \"internal\" (or \"private\") and no chat subscribed to internal updates, "
            "and overdue-update and SLA notices go to internal channels only, so a late update would not be announced "
            "here. Add one (see `broadcaster init`); `broadcaster list` marks overdue incidents meanwhile.")


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: eval "$(broadcaster completion bash)"."""
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None
    root = click.get_current_context().find_root().command
    click.echo(completer(root, {}, "broadcaster", "_BROADCASTER_COMPLETE").source())


COMMANDS = (amend, postmortem, maintenance, tick, templates, completion)

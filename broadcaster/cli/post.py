"""Commands that publish an update: post, resolve, preview, withdraw; and retry, which sends what is not sent yet."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from broadcaster.cli.group import EXIT_DELIVERY
from broadcaster.cli.options import (
    F,
    an_incident_id,
    apply_options,
    closing_message_options,
    common,
    complete_impact,
    complete_incident,
    complete_status,
    load_config,
    message_options,
    once,
    once_id,
    once_text,
    open_store,
    open_store_to_publish,
    preview_message_options,
    store_override,
    template_options,
)
from broadcaster.cli.publishing import publish_command, read_message
from broadcaster.errors import InputError, did_you_mean

if TYPE_CHECKING:
    from broadcaster.config import Config


def _update_fields(command: F) -> F:
    """What an update of ``post`` (and ``preview``) says: each said once (an option given twice with two values
    is refused: which incident, title, impact or status is meant is never guessed)."""
    options = [
        click.option("--incident", "-i", "incident_id", metavar="ID", multiple=True, callback=once_id,
                     shell_complete=complete_incident, help="Post an update to this incident (omit for a new incident)."),
        click.option("--title", "-t", metavar="TEXT", multiple=True, callback=once,
                     help="Title of a new incident (or a new title)."),
        click.option("--impact", metavar="TEXT", multiple=True, callback=once, shell_complete=complete_impact,
                     help="none, minor, major or critical (a new incident without it: minor)."),
        click.option("--status", "-s", metavar="TEXT", multiple=True, callback=once, shell_complete=complete_status,
                     help="investigating, identified, monitoring or resolved. Without it a new incident starts "
                          "investigating and a follow-up keeps the incident's status."),
        click.option("--reopen", is_flag=True, help="Allow an update to a resolved incident, or a backward status move."),
        click.option("--again", is_flag=True,
                     help="Post it though it repeats a post just made (an open incident's title and text, or the "
                          "latest update)."),
    ]
    return apply_options(command, options)


@click.command()
@click.argument("message", required=False)
@_update_fields
@template_options
@message_options
@common
@click.pass_context
def post(ctx: click.Context, /, message: str | None, **options: Any) -> None:
    """Post a new incident, or an update with --incident ID.

    MESSAGE is the public text; `-` reads it from standard input, and on a
    terminal with no MESSAGE your $EDITOR opens. Write staff-only detail inside
    [private]...[/private] or with --private and --ticket, and a customer's own
    detail with --for ID TEXT (--customer ID tells that customer's channels).
    """
    _post(ctx, message, options)


@click.command()
@click.argument("incident_id", metavar="ID", callback=an_incident_id, shell_complete=complete_incident)
@click.argument("message", required=False)
@closing_message_options
@common
@click.pass_context
def resolve(ctx: click.Context, /, incident_id: str, message: str | None, **options: Any) -> None:
    """Resolve an incident, with an optional closing MESSAGE."""
    options.update(incident_id=incident_id, status="resolved", title=None, impact=None, reopen=False)
    _post(ctx, message or None, options, message_may_be_an_id=message is not None, standard=_resolved_message)


def _resolved_message(config: Config) -> str:
    """``resolve``'s text when none is given: stored as the update's own, so in [page] language, as every text
    broadcaster writes itself (the page's readers read no other)."""
    from broadcaster.messages import i18n, words

    with i18n.speaking(config.page.language):
        return words.resolved_message()


@click.command()
@click.argument("message", required=False)
@_update_fields
@template_options
@preview_message_options
@common
@click.pass_context
def preview(ctx: click.Context, /, message: str | None, **options: Any) -> None:
    """Show exactly what every destination would receive; stores and sends nothing.

    It takes post's options; --yes and --dry-run have nothing to do here, as
    nothing is published.
    """
    options.update(dry_run=True, yes=False)
    _post(ctx, message, options)


# How long, at most, the command waits for the reads it started to leave before it goes on (its next imports
# would share the GIL with them): a read normally leaves within 20 ms; a TLS handshake that never ends must
# not hold up a refusal.
READ_AHEAD_WAIT = 0.25


def _read_ahead(ctx: click.Context, options: dict[str, Any], tables: Mapping[str, Any], base_dir: Path) -> None:
    """Nothing will ask before publishing: each publish target's first read leaves as soon as its table is
    read (``SiteHost.read_ahead``), for the targets --only/--skip leave in, named exactly (a misspelt name
    is refused later, where the command checks all of them). What a target started ends with the command."""
    if not options.get("yes") or options.get("dry_run"):
        return
    import time

    from broadcaster.config import destination_names
    from broadcaster.registry import load_host_class

    only, skip = set(destination_names(options["only"])), set(destination_names(options["skip"]))
    leaving = []
    for name, table in tables.items():
        if (options["only"] and name not in only) or name in skip:  # --only "" names nothing: no read
            continue
        try:
            host = load_host_class(table.type)(table, base_dir)
            started = host.read_ahead()
        except Exception:  # noqa: BLE001 - a head start, never a new way to fail: the command says what is wrong
            continue
        if started is not None:
            ctx.call_on_close(host.taken_ahead)  # dropped if no warm-up took it (a refusal)
            leaving.append(started)
    deadline = time.monotonic() + READ_AHEAD_WAIT
    for event in leaving:
        event.wait(max(0.0, deadline - time.monotonic()))


def _post(ctx: click.Context, /, message: str | None, options: dict[str, Any], *,
          message_may_be_an_id: bool = False, standard: Callable[[Config], str] | None = None) -> None:
    """``standard``: the command's own text when no MESSAGE is given (the editor opens without one)."""
    config = load_config(ctx, publish_known=partial(_read_ahead, ctx, options))
    from broadcaster import compose, operations

    options = operations.with_template(config, options)
    message = message if message is not None else options.pop("template_message", None)
    if message is None and standard is not None:
        message = standard(config)
    # A follow-up has nothing to follow in a store not made yet: with the built-in default it is refused before one
    # is made (review 55b); a new --store file is still made, as for any post (README: a fallback's first post).
    creates = not options.get("incident_id") or store_override(ctx) is not None
    store = open_store_to_publish(ctx, creates=creates, dry_run=bool(options.get("dry_run")))
    existing = operations.incident_to_post_to(store, options["incident_id"]) if options.get("incident_id") else None
    if message_may_be_an_id and message and " " not in message.strip() and store.incident(message.strip()):
        raise InputError(f"{message.strip()!r} is an incident, not a closing message: `resolve` takes one incident. "
                         f"Resolve each on its own (broadcaster resolve {existing.id if existing else '...'}; "
                         f"broadcaster resolve {message.strip()}). Nothing was stored or sent.")
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
        for_detail=tuple(options.get("for_detail") or ()),
        etr=options["etr"],
        next_update=options["next_update"],
        reopen=bool(options.get("reopen")),
    )

    def run(**extra: Any) -> Any:
        used = store if extra.get("dry_run") else store.lasting()  # the preview's may leave nothing behind
        return operations.post(config, used, draft, only=options["only"], skip=options["skip"],
                               widen=options["widen"], again=bool(options.get("again")), **extra)

    publish_command(ctx, run, options)


@click.command()
@click.argument("incident_id", metavar="[INCIDENT]", required=False, callback=an_incident_id,
                shell_complete=complete_incident)
@click.option("--include-unknown", is_flag=True, help="Also resend posts whose fate is unknown (may post twice).")
@click.option("--mark-unknown-sent", is_flag=True,
              help="You checked that the posts whose fate is unknown are there: record them as sent, never resend.")
@click.option("--remote-id", "remote_ids", multiple=True, metavar="DEST[:CHAT]=ID",
              help="With --mark-unknown-sent: the id or link of the post you found, so later updates thread under it.")
@click.option("--skip-removed", "skip_removed", multiple=True, metavar="DEST[:CHAT]",
              help="Team mode: skip for good what waits for DEST (or that chat of it), which this config does not have, "
                   "or has for other readers (taken out of the team's config, or changed), instead of leaving it for a "
                   "machine whose config has it. Repeatable.")
@click.option("--mark-deleted", "mark_deleted", multiple=True, metavar="DEST[:CHAT]",
              help="With INCIDENT: you deleted by hand the withdrawn incident's posts at DEST (or that chat of it) that "
                   "this table's credentials cannot delete (another account's or instance's): record the withdrawal "
                   "done there. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@common
@click.pass_context
def retry(ctx: click.Context, /, incident_id: str | None, include_unknown: bool, mark_unknown_sent: bool,
          remote_ids: tuple[str, ...], skip_removed: tuple[str, ...], mark_deleted: tuple[str, ...],
          as_json: bool) -> None:
    """Send every delivery not yet sent, oldest first. Never posts again what was sent.

    A post is `unknown` when its request may have reached the service but no
    answer came back (a timeout, a dropped connection, a process killed
    mid-request): it may or may not exist, so it is not resent by itself.
    Check the destination, then either resend it (--include-unknown) or record
    it as sent (--mark-unknown-sent, with --remote-id to keep threading under
    it). The site and its publish targets are simply redone.

    A withdrawal's delete refused on posts this table's credentials cannot
    delete (another Mastodon instance's or account's, another X or Bluesky
    account's, another Discord webhook's) fails at every retry: delete them by
    hand, then record it with `broadcaster retry ID --mark-deleted DEST`.
    """
    from broadcaster import operations
    from broadcaster.cli import output

    if include_unknown and mark_unknown_sent:
        raise InputError("choose one: --include-unknown resends unknown deliveries, --mark-unknown-sent records them as sent.")
    if remote_ids and not mark_unknown_sent:
        raise InputError("--remote-id goes with --mark-unknown-sent: it records the id of a post you found.")
    _check_mark_deleted(incident_id, mark_deleted, skip_removed)
    config = load_config(ctx)
    store = open_store(ctx)
    out = output.console()
    found = operations.find_incident(store, incident_id).id if incident_id else None
    if skip_removed:
        _check_skip_removed(skip_removed, operations.waiting_elsewhere(config, store, found,
                                                                       include_unknown=include_unknown))
    # Checked before anything is recorded: a refused name must leave --mark-unknown-sent's deliveries as they were.
    by_hand = operations.deletes_to_mark(config, store, found, mark_deleted) if found and mark_deleted else []
    marked = operations.mark_unknown_sent(config, store, found, remote_ids) if mark_unknown_sent else []
    deleted, tried_first = operations.mark_deleted(config, store, by_hand)
    if not as_json:  # with --json, stdout holds the one object, which lists them
        output.print_marked_sent(out, marked)
        output.print_marked_deleted(out, deleted)
    targets = [(d.destination, d.target) for d in operations.retry_todo(config, store, found, include_unknown=include_unknown)]
    with output.progress_for(out, targets, as_json) as progress:
        result = operations.retry(config, store, found, include_unknown=include_unknown, progress=progress,
                                  skip_removed=skip_removed)
    # What still held a post this table can delete went with the retry first: what it could not delete is recorded.
    later, left = operations.mark_deleted(config, store, tried_first)
    result = operations.with_marked(result, later)
    output.print_retry(out, found, result, as_json, marked, [*deleted, *later],
                       operations.not_marked_deleted(config, store, left))
    if result.failed:
        ctx.exit(EXIT_DELIVERY)


def _check_mark_deleted(incident_id: str | None, names: tuple[str, ...], skip_removed: tuple[str, ...]) -> None:
    """``--mark-deleted`` names one incident's withdrawal's deletes, never every incident's by a destination's name;
    and a place it records deleted by hand is not one ``--skip-removed`` leaves undone for good."""
    if names and not incident_id:
        raise InputError("--mark-deleted records one withdrawn incident's deletes done by hand: name it, as in "
                         f"`broadcaster retry INCIDENT --mark-deleted {names[0]}`. Nothing was recorded or sent.")
    both = sorted(set(names) & set(skip_removed))
    if both:
        raise InputError(f"choose one for {both[0]}: --mark-deleted records its withdrawal's delete done by hand, "
                         "--skip-removed skips what waits there for good. Nothing was recorded or sent.")


def _check_skip_removed(names: tuple[str, ...], waiting: set[str]) -> None:
    """Each name of ``--skip-removed`` must be one whose deliveries this retry would leave for another member's
    config: a typo, or a destination this config has, must not skip what it did not mean (nothing is sent first)."""
    for name in names:
        if name not in waiting:
            hint = did_you_mean(name, sorted(waiting)) or (
                f" Those waiting for another member's config: {', '.join(sorted(waiting))}." if waiting else
                " Nothing waits for another member's config here.")
            raise InputError(f"--skip-removed {name}: no delivery this retry would leave for another member's config "
                             f"goes there.{hint} Nothing was skipped or sent.")


@click.command()
@click.argument("incident_id", metavar="ID", callback=an_incident_id, shell_complete=complete_incident)
@click.option("--reason", multiple=True, callback=once_text, metavar="TEXT",
              help="Why (private: `show` and the private channels show it, the public never does).")
@click.option("--dry-run", is_flag=True, help="Show what would happen; store and send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--yes", "-y", is_flag=True, help="Withdraw without asking for confirmation.")
@common
@click.pass_context
def withdraw(ctx: click.Context, /, incident_id: str, reason: str, **options: Any) -> None:
    """Take back an incident posted in error.

    It leaves the page, the feeds and the JSON (hosts delete its files); its
    posts are deleted on X, Telegram, Slack, Mastodon, Bluesky, Discord and
    Matrix (customers' channels too), a short "posted in error" follow-up goes
    where a medium cannot delete, and internal channels get a note with the
    reason. The store keeps it, marked withdrawn (see `show`). A
    deletion that fails exits 3; `broadcaster retry` finishes it.

    Posts this table's credentials cannot delete (another Mastodon instance's
    or account's, another X or Bluesky account's, another Discord webhook's)
    are left up, named with their links, and fail at every retry: delete them
    by hand, then record it with `broadcaster retry ID --mark-deleted DEST`.
    A dry run lists them under "Left up".
    """
    from broadcaster import operations

    config, store = load_config(ctx), open_store(ctx, reads=bool(options.get("dry_run")))
    incident = operations.find_incident(store, incident_id)

    def run(**extra: Any) -> Any:
        return operations.withdraw(config, store, incident.id, reason, **extra)

    publish_command(ctx, run, options)


COMMANDS = (post, resolve, preview, retry, withdraw)

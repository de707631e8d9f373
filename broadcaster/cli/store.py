"""``broadcaster store``: create or upgrade the store's schema, and move its history between stores.

Thin commands over ``broadcaster.store`` and ``broadcaster.store.transfer``.
Every one works on the configured store, or on the one ``--store`` names, so
moving an embedded file (or an outage's fallback file) into the team database
is::

    broadcaster --store fallback.db store export fallback.jsonl
    broadcaster store import fallback.jsonl
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from broadcaster.cli.options import common, load_config, open_store
from broadcaster.customer_ids import claim_audience_ids, refuse_imported_for_another
from broadcaster.errors import InputError


@click.group()
def store() -> None:
    """Create or upgrade the store, and move its history to another store."""


@store.command("migrate")
@common
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create the store's tables, or upgrade them after upgrading broadcaster.

    The embedded file is upgraded by any command; a team database only by this
    one, since every member then needs the new version.
    """
    from broadcaster.store import SCHEMA_VERSION

    opened = open_store(ctx, upgrade=True, creates=True)
    if opened.migrated_from is None:
        click.echo(f"{opened.location}: schema {SCHEMA_VERSION}, up to date.")
    elif opened.migrated_from == 0:
        click.echo(f"{opened.location}: created (schema {SCHEMA_VERSION}).")
    else:
        click.echo(f"{opened.location}: upgraded from schema {opened.migrated_from} to {SCHEMA_VERSION}.")


@store.command("export")
@click.argument("output", metavar="[FILE]", default="-", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@common
@click.pass_context
def export(ctx: click.Context, /, output: Path) -> None:
    """Write every incident, update, delivery, invite and subscription as JSON lines to FILE (default: standard output).

    The file holds private detail (notes, customers, tickets) and is created
    readable by you only.
    """
    from broadcaster.store import transfer as store_transfer

    opened = open_store(ctx, reads=True)
    secrets = load_config(ctx).secret_values()
    if str(output) == "-":
        with _utf8_stdout() as out:
            result = store_transfer.export_to(opened, out, secrets)
        where = "standard output"
    else:
        with store_transfer.open_private(output) as out:
            result = store_transfer.export_to(opened, out, secrets)
        where = str(output)
    click.echo(
        f"Exported {result.incidents} incident(s), {result.updates} update(s) and {result.deliveries} "
        f"delivery record(s){_subscribers(result.invites, result.subscriptions, 'with')}{_removals(result.removals)} from "
        f"{opened.location} to {where}. It holds private detail: keep it safe.",
        err=True,
    )


@contextmanager
def _utf8_stdout() -> Iterator[IO[str]]:
    """Standard output as UTF-8 whatever the terminal's encoding: an export is a file `store import` reads as
    UTF-8, and `> export.jsonl` from a Latin-1 session wrote "é" as one byte import then refused."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None or (sys.stdout.encoding or "").lower().replace("-", "") == "utf8":
        yield sys.stdout
        return
    sys.stdout.flush()
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="\n")
    try:
        yield out
    finally:
        out.flush()
        out.detach()  # the wrapper goes, standard output stays open


@store.command("import")
@click.argument("source", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--same-customers", is_flag=True,
              help="The file's customers are this config's of the same ids: for an export that does not say whom "
                   "its customers' detail was written for (made before 2026-12-07).")
@common
@click.pass_context
def import_(ctx: click.Context, /, source: Path, same_customers: bool) -> None:
    """Add the incidents of a `store export` FILE (`-`: standard input) to the store; safe to repeat.

    Incidents already there are merged (updates they have are skipped), a
    different incident under a taken id gets a new id, and thread references
    are kept, so the next update threads under the posts made before.
    """
    from broadcaster.store import transfer as store_transfer

    if str(source) == "-":
        from broadcaster.cli.publishing import standard_input

        name, handle = "standard input", standard_input("the export", "the export FILE's path", "imported")
    else:
        try:
            name, handle = str(source), source.open(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror or exc}. Check the path.") from exc
    with handle:
        config = load_config(ctx)
        try:
            names = {key: a.name for key, a in config.audiences.items()}
            everyday = {key for key, a in config.audiences.items() if a.id_is_a_word}
            records = list(store_transfer.read_records(handle, name, config.audiences, config.component_ids, names,
                                                       everyday))
        except UnicodeDecodeError as exc:  # a gzipped export, the state file itself
            raise InputError(f"{name} is not text (byte {exc.start} is not UTF-8): a `store export` file is JSON lines. "
                             "Is it compressed (gunzip it first) or the state file itself? Nothing was imported.") from exc
    from broadcaster.compose import refuse_secrets
    from broadcaster.registry import refuse_posts_in_other_chats

    refuse_posts_in_other_chats(config.channels, records)
    for record in records:  # as the command line refuses them: a page would publish it, staff's chats hold it
        if "incident" in record:
            refuse_secrets(store_transfer.texts_of(record), config)
    named, written_for = store_transfer.audience_ids_of(records), store_transfer.names_written_for(records)
    unsaid = sorted(named - written_for.keys())
    refuse_imported_for_another(config, written_for, {})
    if unsaid and not same_customers:
        raise InputError(
            f"{name} holds detail for, or chats of, {', '.join(unsaid)}, and does not say for which customer it was "
            "written (an export made before 2026-12-07, or of a customer that left before then). If they are this "
            "config's customers of the same ids, import it again with --same-customers; an id since given to another "
            "customer would show that customer the detail under its name. Nothing was imported.")
    # Opened (or made) only once the file is known good: a refused import leaves no new state file behind.
    opened = open_store(ctx, creates=True, restores=True)
    refuse_imported_for_another(config, written_for, opened.audience_names())
    if unsaid:  # --same-customers: as the config names them, once it agrees with the store
        claim_audience_ids(config, opened, "Nothing was imported.")
    result = store_transfer.import_records(opened, records, names)
    _print_import(opened, result)
    _print_chats_kept_off(result)


def _print_import(opened: Any, result: Any) -> None:
    click.echo(
        f"Imported {result.incidents} incident(s) into {opened.location}: {result.incidents_added} new, "
        f"{result.incidents_merged} already there; {result.updates_added} update(s) added, "
        f"{result.updates_skipped} already there; {result.deliveries_added} delivery record(s) added, "
        f"{result.deliveries_marked_sent} marked sent"
        f"{_subscribers(result.invites_added, result.subscriptions_added, 'and', ' added')}."
    )
    if result.chats_removed:
        click.echo(f"  {result.chats_removed} chat(s) removed in the other store (`broadcaster subscribers remove`) "
                   "after they last changed here: removed here too.")
    if result.kept_off_used_up:
        click.echo(f"  {result.kept_off_used_up} chat(s) joined the other store with an invite already used up here "
                   "(`--uses`, counting the chats that joined with it in either store): not subscribed. Send those "
                   "that should be a new invite (`broadcaster subscribers invite`).")
    for old, new in result.renamed:
        click.echo(f"  {old} is now {new}: the id was taken by a different incident.")
    for incident_id, count in result.withdrawn_here:
        click.echo(f"  {incident_id} was withdrawn in the other store: it leaves this store's page at the next build "
                   f"(`broadcaster site publish`), and `broadcaster retry` deletes what this store posted of it "
                   f"({count} place(s)).")
    for incident_id, count in result.kept_withdrawn:
        click.echo(f"  {incident_id} stays withdrawn: {count} update(s) the file adds after its withdrawal are kept "
                   f"for the record, never published or sent. Posts the other store made of them stay up: "
                   f"`broadcaster show {incident_id}` lists them, to delete by hand.")
    for incident_id, count in result.overtaken:
        click.echo(f"  {incident_id}: {count} update(s) of the other store were overtaken here (this store posted a "
                   "later update at the same place, or closed the incident, or wrote a later version of the same "
                   "postmortem or correction, which stays the one shown): not sent there, since after it they would "
                   f"read as news or take the newer text back. Kept for the record: `broadcaster show {incident_id}`.")
    for incident_id, count in result.overtaken_here:
        click.echo(f"  {incident_id}: {count} update(s) of this store not sent yet were overtaken by later ones the "
                   "other store posted at the same place: not sent there, since after those they would read as news "
                   f"or take the newer text back. Kept for the record: `broadcaster show {incident_id}`.")
    if result.deliveries_in_doubt:
        # Two causes, one count: the delivery's own note (`show`) says which. Naming only the first sent an operator
        # looking for a post that may be missing where both stores had posted parts of it.
        click.echo(f"  {result.deliveries_in_doubt} post(s) not sent here may exist: the other store's request got no "
                   "answer, or both stores posted parts of them at the same place. They are now unknown here, and `broadcaster retry` holds them: check each destination "
                   "(`broadcaster show ID`), then `broadcaster retry ID --mark-unknown-sent` (it is there) or "
                   "`--include-unknown` (it is not).")
    if result.deliveries_resumed:
        click.echo(f"  {result.deliveries_resumed} post(s) the other store sent in part: `broadcaster retry` sends "
                   "the rest after its parts.")
    if result.incidents_added or result.updates_added:
        # The other store's posts built a page from its incidents alone (a fallback while the team database was
        # down): until this store's next build, readers see that page.
        click.echo("  The page still shows what the other store last built: `broadcaster retry`, then "
                   "`broadcaster site publish` (the page from this whole store).")
    from broadcaster.cli.output import deliveries
    from broadcaster.delivery import DeliveryState  # here: `--help` never needs the delivery records

    waiting = opened.deliveries(states=(DeliveryState.PENDING, DeliveryState.FAILED))
    in_doubt = opened.deliveries(states=(DeliveryState.UNKNOWN,))
    if waiting:
        click.echo(f"{deliveries(len(waiting))} not sent yet: `broadcaster retry` sends them.")
    if in_doubt:
        click.echo(f"{deliveries(len(in_doubt))} in doubt (unknown): `broadcaster retry` holds them until you have "
                   "checked whether each post exists (`broadcaster show ID`).")


def _print_chats_kept_off(result: Any) -> None:
    """The file's active chats the import did not subscribe: removed here since, or let in by the other store with
    an invite revoked here (``transfer.removed_here_since``, ``joined_with_an_invite_revoked_here``)."""
    if result.kept_off_removed:
        click.echo(f"  {result.kept_off_removed} chat(s) removed here (`broadcaster subscribers remove`) after the file "
                   "was written: not subscribed again.")
    if result.kept_off_revoked:
        click.echo(f"  {result.kept_off_revoked} chat(s) joined the other store with an invite revoked here: not "
                   "subscribed. Send those that should be a new invite (`broadcaster subscribers invite`).")


def _subscribers(invites: int, subscriptions: int, joined: str, done: str = "") -> str:
    """The bot's invites and subscriptions moved, when there were any (issue 19)."""
    if not invites and not subscriptions:
        return ""
    return f", {joined} {invites} invite(s) and {subscriptions} subscription(s){done}"


def _removals(count: int) -> str:
    """The chats `subscribers remove` forgot, carried so that the store imported into forgets them too."""
    return f", and {count} removed chat(s)" if count else ""


COMMANDS = (store,)

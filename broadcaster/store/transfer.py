"""Move a store's whole history between backends as JSON lines (``broadcaster store export/import``).

The format: a header line, then one line per incident holding its updates, each
with its deliveries::

    {"format": "broadcaster-store", "version": 1, "schema": 3, "source": "sqlite", "exported_at": "..."}
    {"incident": {...columns...}, "updates": [{...columns..., "deliveries": [{...}, ...]}, ...]}
    {"invite": {...columns...}}
    {"migrated": {"chat_id": "...", "to": "..."}}
    {"subscription": {...columns...}}
    {"removed": {"chat_id": "...", "removed_at": "..."}}

Columns are the store's own (times as ISO 8601 UTC, JSON columns parsed), so
an export holds PRIVATE detail (notes, customers, tickets): it is written
readable by its owner only. Delivery rows keep ``remote_id`` and
``thread_ref``, which is what lets the next update thread under the posts
made before the move, and ``parts`` (the confirmed messages of a post sent in
parts) with ``rendering`` (what they were cut from), so a retry after the move
resumes where the old store stopped, with the rest of the same messages; and
``starts_thread`` (its post went out as the thread's first, the first one gone).

Import is one transaction per incident, and safe to repeat:

* an incident id the target does not have is inserted as it was;
* the same incident (same id and creation time) is merged: updates already
  there (same creation time and text) are skipped, but a delivery the export
  saw sent is recorded as sent, so ``retry`` will not post it again; other
  updates are appended after the target's, renumbered in their order, and
  what names one of them by its number (a correction the update it corrects,
  an overdue notice the update whose promise was missed) is renumbered with them;
* a different incident under an id the target already uses gets the next free
  id (``api-2``) and is reported as renamed;
* a withdrawal is never taken back: the earlier ``withdrawn_at`` of the two copies
  wins, and updates imported after the withdrawal are kept as a record, never sent.

A delivery exported while ``sending`` arrives as ``unknown``: the process that
claimed it cannot finish it in the new store.

Invites (their hashes: a code is never stored) and the bot's subscriptions follow
the incidents. An invite already there keeps the larger use count and any
revocation of either copy, and then counts at least the chats holding it in
either store, so an import never gives an invite uses back; a file's chat that
would take a use of an invite beyond its ``--uses`` (counting this store's uses
and the file's chats let in before it, earliest joined first) is not subscribed.
A chat subscribed in both keeps the copy with the later grant (``joined_at``:
its redemption or public join), and only for the same grant the copy changed
last (its components, a /stop): a command grants nothing. A chat ``subscribers
remove`` forgot travels as a ``removed`` line: the importing store keeps the
later removal time, forgets a subscription of that chat granted before it, and
never subscribes the chat again from a copy granted before it. A group that
became a supergroup travels as a ``migrated`` line: both stores then know its
two ids as one chat, for removals as for its subscription. (A broadcaster older
than these lines refuses such a file, naming the line, rather than reviving the
chat.) A subscription's visibility must be its invite's (public without one).
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from broadcaster import lazy_re
from broadcaster.config import SITE_DESTINATION
from broadcaster.delivery import DONE_STATES, DeliveryState, storable_id
from broadcaster.errors import InputError
from broadcaster.messages.model import OVERTAKEN, Status, Update, Visibility
from broadcaster.messages.visibility import PRIVATE_KINDS, corrected_sequence, written_texts_read_by
from broadcaster.store.contract import SCHEMA_VERSION, Store, numbered_id
from broadcaster.store.import_check import (
    check_record,
    check_subscriber_record,
    label_beyond_staff,
    sequence_key,
    staff_label_beside_name,
)
from broadcaster.store.records import (
    DELIVERY_COLUMNS,
    IMPORTED,
    INCIDENT_COLUMNS,
    UPDATE_COLUMNS,
    WRITTEN,
    Row,
    as_prose,
    iso,
    parsed_json,
    portable,
    storable,
    title_split_as_today,
    utc,
    utcnow,
)
from broadcaster.store.subscriptions import INVITE_COLUMNS, SUBSCRIPTION_COLUMNS

FORMAT = "broadcaster-store"
FORMAT_VERSION = 1
_UPDATE_FIELDS = tuple(c for c in UPDATE_COLUMNS if c != "incident_id")
_DELIVERY_FIELDS = tuple(c for c in DELIVERY_COLUMNS if c not in ("incident_id", "sequence"))
# A delivery here that the export saw sent is recorded sent, unless a process is sending it now.
_UNSENT = frozenset({DeliveryState.PENDING, DeliveryState.FAILED, DeliveryState.UNKNOWN})
_MAYBE_POSTED = frozenset({DeliveryState.SENT, DeliveryState.SENDING, DeliveryState.UNKNOWN})
# The bot's records, imported after the incidents in this order (a subscription weighed against what the file's
# migrations link, then the removals, which forget what was granted before them).
_SUBSCRIBER_RECORDS = {"invite": 1, "migrated": 2, "subscription": 3, "removed": 4}
AUDIENCE_NAMES = "audience_names"  # a record ``read_records`` makes of the header's: no line of the file
_AUDIENCES_SCHEMA = 4  # the schema that made "[for ID]" a marker
_PUBLIC_TITLE_SCHEMA = 2  # the schema that split a title typed with [private] spans into its public part and raw_title
_ABANDONED = "exported while a process was sending it: the post may or may not exist"
_IN_DOUBT = ("the store this was imported from may have posted it (its request got no answer there): check the "
             "destination, then `broadcaster retry --mark-unknown-sent` (it is there) or `--include-unknown` (it is not)")
_POSTED_APART = ("the store this was imported from posted other parts of this update at the same place (both stores "
                 "posted some): check the destination, then `broadcaster retry --mark-unknown-sent` or "
                 "`--include-unknown`; this store's own parts stay on record")
_OVERTAKEN = ("superseded: imported from another store, written before update #{sequence} of this store, which was "
              "posted here first (or closes the incident). Never sent: after it, this older update would read as "
              "news. Kept for the record")
_OVERTAKEN_VERSION = ("superseded: imported from another store, an older version of a text (a postmortem's, or a "
                      "correction) than this store's latest, which is the one in force. Never sent: it would take the "
                      "newer text back. Kept for the record (`broadcaster show`)")
_OVERTAKEN_BY_THE_FILE = ("superseded: update #{sequence}, imported from another store and written after this one, "
                          "was posted here by that store. Never sent: after it, this older update would read as news "
                          "(or take the newer text back). Kept for the record")
_AFTER_WITHDRAWAL = ("imported after this incident was withdrawn here: never sent. If the other store posted it, "
                     "it is still up (an imported post is never deleted): delete it by hand")


@dataclass
class ExportResult:
    incidents: int = 0
    updates: int = 0
    deliveries: int = 0
    invites: int = 0
    subscriptions: int = 0
    removals: int = 0


@dataclass
class ImportResult:
    incidents_added: int = 0
    incidents_merged: int = 0
    updates_added: int = 0
    updates_skipped: int = 0
    deliveries_added: int = 0
    deliveries_marked_sent: int = 0
    deliveries_in_doubt: int = 0  # unsent here, unknown there (the other store's post may exist): now unknown here
    deliveries_resumed: int = 0  # unsent here, posted in part there: the other store's confirmed parts taken over
    invites_added: int = 0
    subscriptions_added: int = 0
    chats_removed: int = 0  # subscribed here, removed in the other store after: forgotten here too
    # the file's chats that would take an invite's use beyond its --uses (the other store did not know the uses
    # here), an inactive one too (it could come back on the invite uncounted): not subscribed
    kept_off_used_up: int = 0
    kept_off_removed: int = 0  # the file's active chats removed here since they were granted: not subscribed again
    kept_off_revoked: int = 0  # the file's chats (active or not) that joined with an invite revoked here: not subscribed
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (id in the export, id stored)
    # (incident id, updates): a withdrawn incident the file added updates to, kept off the page and channels
    kept_withdrawn: list[tuple[str, int]] = field(default_factory=list)
    # (incident id, posts): an incident live here that the file withdraws; its posts made here are deleted by retry
    withdrawn_here: list[tuple[str, int]] = field(default_factory=list)
    # (incident id, updates): the file's updates written before one this store posted at the same place (or before
    # its resolution); their unsent deliveries there are skipped, the updates kept as history
    overtaken: list[tuple[str, int]] = field(default_factory=list)
    # (incident id, updates): this store's updates not yet sent at a place where the other store posted a later one
    # of the file's; their unsent deliveries there are skipped
    overtaken_here: list[tuple[str, int]] = field(default_factory=list)

    @property
    def incidents(self) -> int:
        return self.incidents_added + self.incidents_merged


# -- export ----------------------------------------------------------------------


# A character JSON leaves as it is and no terminal shows: one of a post id a service made or of a chat's title (a
# right-to-left override reverses the rest of the line of `store export` with no file, written to the terminal).
_UNSHOWN = lazy_re.compile(r"[^\x20-\x7e]")


def _json_line(record: dict[str, Any]) -> str:
    """``record`` as one JSON line: non-ASCII text kept as it is, but for each character that is never printed,
    written as its escape (read back the same)."""
    return _UNSHOWN.sub(_escaped_unshown, json.dumps(record, ensure_ascii=False))


def _escaped_unshown(found: re.Match[str]) -> str:
    char = found.group()
    return char if char.isprintable() else json.dumps(char)[1:-1]


def export_lines(store: Store, secrets: Iterable[str] = ()) -> Iterator[str]:
    """The header, then one JSON line per incident, in id order; stored errors scrubbed of ``secrets``."""
    header = {
        "format": FORMAT, "version": FORMAT_VERSION, "schema": SCHEMA_VERSION,
        "source": store.backend, "exported_at": utcnow().isoformat(timespec="microseconds"),
    }
    if names := store.audience_names():
        # Which customer each audience id's detail was written for (``customer_ids.py``): an import into another
        # store must neither forget it nor hand the detail to another customer of the same id there.
        header["audience_names"] = names
    yield _json_line(header)
    for rows, updates in store.incident_batches():
        for row in rows:
            yield _json_line(_incident_record(store, row, updates[row["id"]], secrets))
    for row in store.select("SELECT * FROM invites ORDER BY created_at, hash"):
        yield json.dumps({"invite": portable(row, INVITE_COLUMNS)})
    for old_chat_id, new_chat_id in store.migrations():  # before the subscriptions, which an import weighs by them
        yield json.dumps({"migrated": {"chat_id": old_chat_id, "to": new_chat_id}})
    for row in store.select("SELECT * FROM subscriptions ORDER BY joined_at, chat_id"):
        yield _json_line({"subscription": {**portable(row, SUBSCRIPTION_COLUMNS), "active": bool(row["active"])}})
    for chat_id, removed_at in store.removals():
        yield json.dumps({"removed": {"chat_id": chat_id, "removed_at": iso(removed_at)}})


def _ids_as_stored_today(record: dict[str, Any]) -> None:
    """A delivery's post ids as the engine stores them today (``storable_id``): a version before 91f90d8 kept a
    control character or a line break a service put in one as it came, and `store import` refuses it (no post id
    holds one): the store's own export was refused, and the store could not be moved or restored. Escaped, the id
    names no post, as it does in a store written today: withdraw leaves the post to the operator, saying so."""
    for key in ("remote_id", "thread_ref"):
        if isinstance(record.get(key), str):
            record[key] = storable_id(record[key])
    if isinstance(record.get("parts"), list):
        record["parts"] = [storable_id(part) if isinstance(part, str) else part for part in record["parts"]]


def _incident_record(store: Store, row: Row, update_rows: list[Row], secrets: Iterable[str] = ()) -> dict[str, Any]:
    from broadcaster.redaction import stored_text

    deliveries: dict[int, list[dict[str, Any]]] = {}
    for delivery in store.select(
        "SELECT * FROM deliveries WHERE incident_id = ? ORDER BY sequence, id", (row["id"],)
    ):
        record = portable(delivery, _DELIVERY_FIELDS)
        if record.get("last_error"):
            # An error an SDK echoed a credential into, stored before redaction knew it (or a proxy's key
            # stored before a user alone in a URL was masked): it would travel on to other stores.
            record["last_error"] = stored_text(record["last_error"], secrets)
        _ids_as_stored_today(record)
        deliveries.setdefault(delivery["sequence"], []).append(record)
    return {
        "incident": portable(row, INCIDENT_COLUMNS),
        "updates": [
            {**portable(u, _UPDATE_FIELDS), "deliveries": deliveries.get(u["sequence"], [])}
            for u in update_rows
        ],
    }


def export_to(store: Store, out: IO[str], secrets: Iterable[str] = ()) -> ExportResult:
    """Write the whole store to ``out``, stored errors scrubbed of ``secrets``; returns what was written."""
    result = ExportResult()
    for n, line in enumerate(export_lines(store, secrets)):
        out.write(line + "\n")
        record = json.loads(line)
        if "invite" in record:
            result.invites += 1
        elif "subscription" in record:
            result.subscriptions += 1
        elif "removed" in record:
            result.removals += 1
        elif "migrated" in record:
            continue  # a group's two ids, which the removals and subscriptions go by
        elif n:
            result.incidents += 1
            result.updates += len(record["updates"])
            result.deliveries += sum(len(u["deliveries"]) for u in record["updates"])
    return result


@contextmanager
def open_private(path: Path) -> Iterator[IO[str]]:
    """A file only its owner can read (an export holds private detail), put at ``path`` whole or not at all.

    Written as a temporary file beside ``path`` (``0600`` from its creation) and renamed over it
    once complete: a full disk used to leave a cut file that a later import refused as "not JSON",
    or a good older export cut short. On any failure the temporary file is removed; an ``OSError``
    (the disk full, the folder unwritable) is an ``InputError`` saying what became of ``path``.
    """
    if _a_stream(path):
        yield from _written_in_place(path)
        return
    _refuse_to_replace(path)
    existed = os.path.lexists(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _unwritable(path, exc, existed) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(fd, 0o600)  # whatever the umask: the owner reads it, and may change it
            yield out
            out.flush()
            os.fsync(out.fileno())  # some file systems tell of a full disk only here
        os.replace(temporary, path)
    except BaseException as exc:
        _remove(temporary)
        if isinstance(exc, OSError):
            raise _unwritable(path, exc, existed) from exc
        raise


def _refuse_to_replace(path: Path) -> None:
    """An existing file at ``path`` is replaced only if it is an earlier export: a slip of the name (the store
    itself, the config, a note) would otherwise be lost for good, and the store with it."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(4096)
    except FileNotFoundError:
        return
    except OSError:
        return  # a folder or an unreadable file: writing there fails and says so
    if not first:
        return  # empty (made by `mktemp`, say): nothing to lose
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not (isinstance(header, dict) and header.get("format") == FORMAT):
        raise InputError(
            f"{path} exists and is not a `broadcaster store export` file: it was left as it was, and nothing was "
            "exported. Export to a new name (an earlier export of the same name is replaced), or move that file away."
        )


def _a_stream(path: Path) -> bool:
    """A pipe or a device, not a file: ``store export >(gzip > x.gz)``, a FIFO, ``/dev/stdout``. It is written
    as it is read; there is nothing to rename over it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _written_in_place(path: Path) -> Iterator[IO[str]]:
    try:
        out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed below, its errors told as the file's
    except OSError as exc:
        raise _unwritable(path, exc, True) from exc
    try:
        with out:
            yield out
    except OSError as exc:
        raise _unwritable(path, exc, True) from exc


def _remove(temporary: str) -> None:
    try:
        os.unlink(temporary)
    except OSError:
        pass  # already gone; what went wrong before is what the operator is told


def _unwritable(path: Path, exc: OSError, existed: bool) -> InputError:
    kept = f"the {path.name} already there is left as it was" if existed else f"no {path.name} was made"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        todo = "Free space on that disk, or export to a file on another disk."
    elif exc.errno == errno.EFBIG:
        todo = "The file is larger than this system allows (`ulimit -f`): raise the limit, or export elsewhere."
    else:
        todo = "Check the path and that you may write in its folder."
    return InputError(f"cannot write the export to {path}: {exc.strerror or exc}. Nothing was exported ({kept}). {todo}")


# -- import ----------------------------------------------------------------------


def texts_of(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every text of a checked incident record, each named as an operator finds it in the file."""
    incident = record["incident"]
    label = "the incident"  # its id may be the very secret: never quoted back
    texts = [(f"{label}: id", incident["id"]), (f"{label}: title", incident["title"]),
             (f"{label}: raw_title", incident["raw_title"])]
    for update in record["updates"]:
        at = f"{label}: update #{update['sequence']}"
        texts += [(f"{at}: raw_message", update["raw_message"]), (f"{at}: private_note", update["private_note"]),
                  (f"{at}: author", update.get("author", ""))]
        texts += [(f"{at}: a key of extra", key) for key in update.get("extra", {})]
        texts += [(f"{at}: an extra value", value) for value in update.get("extra", {}).values()]
        texts += [(f"{at}: customers", name) for name in update.get("customers", ())]
        texts += [(f"{at}: tickets", ticket) for ticket in update.get("tickets", ())]
        texts += [(f"{at}: audience_detail for {key}", text) for key, text in update.get("audience_detail", ())]
    return texts


def audience_ids_of(records: Iterable[Mapping[str, Any]]) -> set[str]:
    """The audience ids an export's records are of: customers named (``--customer``), given detail (``--for``, a
    ``[for ID]`` span), told a notice of their own (an SLA breach, and staff's note of it), sent to (a delivery to
    their channels), or whose chats and invites they are."""
    from broadcaster.messages import gate

    found: set[str] = set()
    for record in records:
        for update in record.get("updates", ()):
            found.update(update.get("audiences") or ())
            found.update(key for key, _ in update.get("audience_detail") or ())
            found.update(gate.audience_ids(str(update.get("raw_message", "")), "raw_message"))
            extra = update.get("extra") or {}
            if extra.get("audience"):
                found.add(str(extra["audience"]))
            if str(extra.get("notice", "")).startswith("audience_sla") and extra.get("of"):
                found.add(str(extra["of"]))  # staff's note of a customer's breach names the customer by its id
            found.update(str(d.get("visibility", "")).removeprefix("audience:") for d in update.get("deliveries") or ()
                         if str(d.get("visibility", "")).startswith("audience:"))
        for kind in ("invite", "subscription"):
            readers = str((record.get(kind) or {}).get("visibility", ""))
            if readers.startswith("audience:"):
                found.add(readers.removeprefix("audience:"))
    return found


def names_written_for(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The header's names (``AUDIENCE_NAMES``) of the ids the records hold anything of (``audience_ids_of``): the
    header names every id its store knew, some since given to others, which the file says nothing of."""
    header: Mapping[str, str] = next((r[AUDIENCE_NAMES] for r in records if AUDIENCE_NAMES in r), {})
    held = audience_ids_of(records)
    return {key: name for key, name in header.items() if key in held}


def read_records(
    lines: Iterable[str], name: str, audiences: Collection[str] = frozenset(),
    components: Collection[str] | None = None, audience_names: Mapping[str, str] | None = None,
    everyday: Collection[str] = frozenset(),
) -> Iterator[Mapping[str, Any]]:
    """The incident records of an export, each checked as input is; ``InputError`` names the bad line.

    ``audiences`` are the config's audience ids, ``components`` its component ids: a record
    naming any other is refused (``components=None``: not checked); ``everyday``, the ids that are everyday words
    (``id_is_a_word``), name their customer by its name alone.
    """
    header_seen, schema, bot_records, incident_records = False, 0, list[Mapping[str, Any]](), list[Mapping[str, Any]]()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}, line {number}: not JSON ({exc.msg}). Is this a `broadcaster store export` file?") from exc
        if not header_seen:
            schema = _check_header(record, name)
            header_seen = True
            if isinstance(names := record.get("audience_names"), dict) and names:
                if not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
                    raise InputError(f"{name}: the header's audience_names is not a table of names. Was the header "
                                     "edited? Export the store again; nothing was imported.")
                yield {AUDIENCE_NAMES: names}
            continue
        if isinstance(record, dict) and len(record) == 1 and record.keys() & _SUBSCRIBER_RECORDS:
            bot_records.append(check_subscriber_record(record, f"{name}, line {number}", audiences))
            yield bot_records[-1]
            continue
        if not isinstance(record, dict) or not isinstance(record.get("incident"), dict) or not isinstance(record.get("updates"), list):
            raise InputError(f"{name}, line {number}: not an incident record of a `broadcaster store export` file.")
        if schema < _PUBLIC_TITLE_SCHEMA:
            record = _title_split(record)
        if schema < _AUDIENCES_SCHEMA:
            record = _written_before_audiences(record)
        incident_records.append(check_record(record, f"{name}, line {number}", audiences, components, audience_names,
                                             everyday))
        yield incident_records[-1]
    if not header_seen:
        raise InputError(f"{name} is empty: export with `broadcaster --store FILE store export OUT.jsonl` first.")
    _refuse_visibilities_no_invite_gives(None, bot_records)  # before a store is opened (or made) for the file
    _refuse_migrations_that_cannot_be(None, bot_records)
    _refuse_an_incident_twice(incident_records)


def _check_header(record: Any, name: str) -> int:
    """The schema of the store the file was exported from (0 when the header does not say)."""
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InputError(f"{name} does not start with a `broadcaster store export` header; nothing was imported.")
    schema = record.get("schema", 0)
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 0:
        raise InputError(
            f"{name}: the header's schema {schema!r} is not a schema version (a whole number, as `store export` "
            "writes it). Was the header edited? Export the store again; nothing was imported."
        )
    if record.get("version") != FORMAT_VERSION or schema > SCHEMA_VERSION:
        raise InputError(
            f"{name} was written by a newer broadcaster (format {record.get('version')}, schema "
            f"{schema}); upgrade broadcaster to import it. Nothing was imported."
        )
    return schema


def _title_split(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """An incident record exported before titles had a public part, its title split as the upgrade splits a store's
    (``records.title_split_as_today``): the whole title, [private] span and all, was its public title."""
    incident = record.get("incident")
    if not isinstance(incident, dict) or not isinstance(incident.get("title"), str) or incident.get("raw_title"):
        return record
    title, raw_title = title_split_as_today(incident["title"])
    return {**record, "incident": {**incident, "title": title, "raw_title": raw_title}}


def _written_before_audiences(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """An incident record exported before audiences, its texts as migration 4 keeps a store's (``records.as_prose``):
    "[For details]" was prose then, and read as an audience marker it refused the whole file."""
    incident, updates = record.get("incident"), record.get("updates")
    if not isinstance(incident, dict) or not isinstance(updates, list):
        return record  # the check says what is wrong with it
    texts = {key: as_prose(incident[key]) for key in ("title", "raw_title") if isinstance(incident.get(key), str)}
    return {**record, "incident": {**incident, **texts}, "updates": [_update_as_prose(u) for u in updates]}


def _update_as_prose(update: Any) -> Any:
    """Each text of an update the gate reads markers in, "[for ...]" as prose: the message, the private note, the
    author, each customer and ticket."""
    if not isinstance(update, dict):
        return update
    texts = {key: as_prose(update[key]) for key in ("raw_message", "private_note", "author") if isinstance(update.get(key), str)}
    names = {key: [as_prose(v) if isinstance(v, str) else v for v in update[key]]
             for key in ("customers", "tickets") if isinstance(update.get(key), list)}
    return {**update, **texts, **names}


def import_records(store: Store, records: Iterable[Mapping[str, Any]],
                   audience_names: Mapping[str, str] | None = None) -> ImportResult:
    """Import every record, one transaction per incident; returns what happened.

    Every record is read and checked (``broadcaster.store.import_check``) before the
    first is stored: a bad record anywhere refuses the whole file. ``audience_names``:
    the config's customers' names, by id.
    """
    result = ImportResult()
    records = list(records)
    written_for = names_written_for(records)
    every = sorted((r for r in records if AUDIENCE_NAMES not in r), key=_import_order)  # stable: incidents first
    _refuse_visibilities_no_invite_gives(store, every)
    _refuse_migrations_that_cannot_be(store, every)
    _refuse_an_incident_twice(every)
    _refuse_staff_labels_merged_in(store, every, audience_names or {})
    uses = _Uses.left_here(store)  # before the file's counts are merged in: what this store itself gave out
    holders = _invite_holders(store)  # before the import: a chat the file's removal forgets used one too
    for record in every:
        try:
            with store.transaction():
                if "invite" in record:
                    result.invites_added += _import_invite(store, record["invite"])
                elif "migrated" in record:
                    store.apply_migration(record["migrated"]["chat_id"], record["migrated"]["to"])
                elif "subscription" in record:
                    _import_subscription(store, record["subscription"], uses, result)
                elif "removed" in record:
                    removal = record["removed"]
                    result.chats_removed += store.apply_removal(removal["chat_id"], utc(removal["removed_at"]))  # type: ignore[arg-type]
                else:
                    _import_incident(store, record, result)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            where = record.get("incident", {}).get("id", "?")
            raise InputError(
                f"incident {where!r} in the export is incomplete or malformed ({type(exc).__name__}: {exc}); "
                "it was not imported (the ones before it were)."
            ) from exc
    _count_every_holder(store, holders, every, uses.kept_off)
    known = store.audience_names()
    if new := {key: name for key, name in written_for.items() if key not in known}:
        store.note_audience_names(new)
    return result


def _refuse_an_incident_twice(every: list[Mapping[str, Any]]) -> None:
    """A file holding one incident twice (the same id, created at the same instant): an export writes each once,
    and the second copy would be merged into the first after the checks, which read each alone (the first's
    detail for a customer sent to it by the second's delivery)."""
    seen: dict[str, list[str]] = {}  # created_at -> the ids of the file's incidents created then
    for record in every:
        incident = record.get("incident")
        if not isinstance(incident, Mapping):
            continue
        ids = seen.setdefault(incident["created_at"], [])
        twice = next((other for other in ids if _copies(other, incident["id"]) or _copies(incident["id"], other)), None)
        if twice is not None:
            raise InputError(f"incident {incident['id']!r} is in the file twice (also as {twice!r}, created at the same "
                             "instant: an import takes a renamed copy for the same incident); an export holds each "
                             "incident once. Keep one of its records. Nothing was imported.")
        ids.append(incident["id"])


def _copies(first: str, other: str) -> bool:
    """Whether ``other`` is an id an import would take for ``first``'s copy (``_copy_here``: it, or it renamed)."""
    suffix = other[len(first) + 1:]
    return other == first or (other.startswith(first + "-") and suffix.isascii() and suffix.isdigit())


def _refuse_staff_labels_merged_in(store: Store, every: list[Mapping[str, Any]], names: Mapping[str, str]) -> None:
    """A file's update that this store has (its incident's copy here holds one of the same time and message) is
    merged: the file's deliveries are added to this store's copy, which ``retry`` then sends and the page shows
    once any public delivery of it is not skipped. The check of the file read the file's copy; this store's is read
    too, with its deliveries and the file's together, as the check reads an update (``post`` read it for the
    readers it had then: a customer's detail written when the customer had no channel, a title kept to staff)."""
    columns = ("created_at", "raw_message", "kind", "audiences", "audience_detail", "extra", "sequence")
    with store.transaction():  # one read of what the file meets here, before anything is stored
        copies = [(record, existing) for record in every if "incident" in record
                  if (existing := _copy_here(store, record["incident"])) is not None]
        found_here = {existing["id"]: (
            {_same_update(u): u for u in (portable(r, columns) for r in store.select(
                f"SELECT {', '.join(columns)} FROM updates WHERE incident_id = ?", (existing["id"],)))},
            store.select("SELECT sequence, visibility, state, last_error FROM deliveries WHERE incident_id = ?",
                         (existing["id"],)),
        ) for _, existing in copies}
    for record, existing in copies:
        mine, recorded = found_here[existing["id"]]
        # The merge takes the file's incident columns, its title among them, when the file's copy changed last: the
        # title then heads this store's updates on the page, and this store's title the file's when it did not.
        newer = record["incident"]["updated_at"] > portable(existing, ("updated_at",))["updated_at"]
        title = record["incident"]["title"] if newer else existing["title"]
        theirs = {_same_update(u): u for u in record["updates"]}
        for key, copy_here in mine.items():
            file_copy = theirs.get(key)
            if (file_copy is None or not file_copy["deliveries"]) and title == existing["title"]:
                continue  # nothing this store's copy had not been read with
            added = file_copy["deliveries"] if file_copy else []
            found = (_notice_label(title, copy_here, added, names) if copy_here["kind"] in PRIVATE_KINDS
                     else label_beyond_staff(title, copy_here, [
                         *(r for r in recorded if r["sequence"] == copy_here["sequence"]), *added]))
            _refuse_label(existing["id"], f"update #{copy_here['sequence']} here", found)
        for key, update in theirs.items():
            if key not in mine and title != record["incident"]["title"] and update["kind"] not in PRIVATE_KINDS:
                _refuse_label(existing["id"], f"the file's update #{update['sequence']}, under this store's title,",
                              label_beyond_staff(title, update, update["deliveries"]))


def _refuse_label(incident_id: str, what: str, found: tuple[str, str] | None) -> None:
    if found is not None:
        raise InputError(
            f"incident {incident_id!r}: merged, {what} has {found[1]!r} heading or ending a line in {found[0]}, a "
            "label for staff, and readers beyond staff would then read it (retry sends it, the page shows it). Mark "
            "the file's deliveries of it skipped, or amend it here first. Nothing was imported.")


def _notice_label(title: str, notice: Mapping[str, Any], deliveries: Iterable[Mapping[str, Any]],
                  names: Mapping[str, str]) -> tuple[str, str] | None:
    """A label in this store's notice as the readers of the file's deliveries still to make beyond staff read it
    (no page shows a notice; only what is sent counts), its customer's name read as the product names it."""
    for visibility in sorted({d["visibility"] for d in deliveries
                              if d["state"] not in DONE_STATES and d["visibility"] != "internal"}):
        readers = Visibility.parse(visibility)
        found = staff_label_beside_name(written_texts_read_by(
            title, notice["raw_message"], notice["kind"], notice["audience_detail"], readers),
            names.get(readers.audience))
        if found is not None:
            return found
    return None


def _import_order(record: Mapping[str, Any]) -> tuple[int, str]:
    """Incidents, then invites, migrations, subscriptions (earliest joined first: a chat the other store let in
    beyond an invite's ``--uses`` is a later one) and removals."""
    kind = next(iter(record)) if len(record) == 1 else ""
    subscription = record.get("subscription")
    joined = iso(utc(subscription["joined_at"])) if isinstance(subscription, Mapping) else ""
    return _SUBSCRIBER_RECORDS.get(kind, 0), joined or ""


def _refuse_visibilities_no_invite_gives(store: Store | None, records: list[Mapping[str, Any]]) -> None:
    """A subscription's visibility is its invite's (from the file, else this store's), or public without one
    (``import_check`` refuses that): an edited or damaged export must not give a chat more than an invite did.
    Checked before the first record is stored; without a store, against the file's invites only."""
    given = {r["invite"]["hash"]: r["invite"]["visibility"] for r in records if "invite" in r}
    for record in records:
        subscription = record.get("subscription")
        if not subscription or not subscription.get("invite"):
            continue
        invite_hash = subscription["invite"]
        if invite_hash not in given:
            if store is None:
                continue
            known = store.invite(invite_hash)
            given[invite_hash] = str(known.visibility) if known is not None else None
        if given[invite_hash] != subscription["visibility"]:
            what = "no invite in the file or this store" if given[invite_hash] is None else (
                f"its invite {invite_hash[:12]} gives {given[invite_hash]}")
            raise InputError(
                f"the subscription of chat {subscription['chat_id']} says {subscription['visibility']}, but {what}: "
                "a chat's visibility is only ever an invite's. Nothing was imported: export the other store again, "
                "or remove that record."
            )


def _refuse_migrations_that_cannot_be(store: Store | None, records: list[Mapping[str, Any]]) -> None:
    """A ``migrated`` line links two chats as one group for good (a removal of either forgets both, a subscription
    follows to the new id): refused, before the first record is stored, when its old id or its new one already
    migrated otherwise (in the file or this store: Telegram migrates a group once, into a supergroup made for it),
    or when both chats hold live subscriptions (in the file or this store) of other readers: a real migration leaves
    none at the old id in the store that saw it, and an edited line would move one customer's chat into another's."""
    to: dict[str, str] = dict(store.migrations()) if store is not None else {}
    came_from = {new: old for old, new in to.items()}
    live: dict[str, set[str]] = {}
    for record in records:
        subscription = record.get("subscription")
        if subscription and subscription["active"]:
            live.setdefault(subscription["chat_id"], set()).add(subscription["visibility"])
    for record in records:
        if "migrated" not in record:
            continue
        old, new = record["migrated"]["chat_id"], record["migrated"]["to"]
        if to.get(old, new) != new or came_from.get(new, old) != old:
            other = f"{old} became {to[old]}" if to.get(old, new) != new else f"{came_from[new]} became {new}"
            raise InputError(
                f"the file says group {old} became supergroup {new}, but {other} (in the file or this store): "
                "Telegram turns a group into a supergroup once. Nothing was imported: remove the wrong line from the "
                "file (an edited or damaged export) and import it again.")
        to[old], came_from[new] = new, old
        readers = [_live_readers(store, live, chat) for chat in (old, new)]
        if readers[0] and readers[1] and len(readers[0] | readers[1]) > 1:
            raise InputError(
                f"the file says group {old} became supergroup {new}, but both are subscribed, to other readers' "
                f"updates ({', '.join(sorted(readers[0]))}; {', '.join(sorted(readers[1]))}): taken, {old}'s "
                f"subscription would move to {new}. Nothing was imported: if the line is wrong (an edited export), "
                "remove it and import again; if the group did migrate, remove the line too: a send to the old id "
                "never follows it into a supergroup subscribed to other readers.")


def _live_readers(store: Store | None, live: Mapping[str, set[str]], chat: str) -> set[str]:
    """The visibilities of ``chat``'s active subscriptions in the file (``live``) and in this store."""
    here = store.subscription(chat) if store is not None else None
    return live.get(chat, set()) | ({str(here.visibility)} if here is not None and here.active else set())


def _invite_holders(store: Store) -> dict[str, set[str]]:
    """For each invite, the chats that hold it here: each took one of its uses."""
    holders: dict[str, set[str]] = {}
    for row in store.select("SELECT chat_id, invite FROM subscriptions WHERE invite IS NOT NULL"):
        holders.setdefault(row["invite"], set()).add(row["chat_id"])
    return holders


def _count_every_holder(
    store: Store, holders: dict[str, set[str]], records: Iterable[Mapping[str, Any]], kept_off: Collection[tuple[str, str]]
) -> None:
    """An invite's uses raised to the chats holding it across both stores (here before the import, or in the file),
    a group counted once under its two ids (``chat_ids``): ``--uses 2`` taken once in each store is used up, though
    each counter says 1 (the larger of the two let a third chat in). The file's chats the import kept off the
    invite (used up or revoked here) took none of its uses here. Safe to repeat: the chats are counted once each,
    however often the file is imported."""
    for record in records:
        subscription = record.get("subscription")
        if subscription and subscription.get("invite") and (subscription["invite"], subscription["chat_id"]) not in kept_off:
            holders.setdefault(subscription["invite"], set()).add(subscription["chat_id"])
    one_chat = _one_id_per_chat(store.migrations())
    with store.transaction():
        for invite_hash, chats in holders.items():
            count = len({one_chat(chat) for chat in chats})
            store.run("UPDATE invites SET uses = ? WHERE hash = ? AND uses < ?", (count, invite_hash, count))


def _one_id_per_chat(migrations: Iterable[tuple[str, str]]) -> Callable[[str], str]:
    """A function naming each chat by one of its ids, the same for a group's old id and its supergroup's."""
    parent: dict[str, str] = {}

    def root(chat: str) -> str:
        while parent.get(chat, chat) != chat:
            chat = parent[chat]
        return chat

    for old, new in migrations:
        parent[root(old)] = root(new)
    return root


def _import_incident(store: Store, record: Mapping[str, Any], result: ImportResult) -> None:
    incident = record["incident"]
    updates = sorted(record["updates"], key=lambda u: u["sequence"])
    existing = _copy_here(store, incident)
    if existing is not None:
        result.incidents_merged += 1
        _merge(store, {**incident, "id": existing["id"]}, existing, updates, result)
        return
    stored_id = store.insert_incident(dict(zip(INCIDENT_COLUMNS, storable(incident, INCIDENT_COLUMNS), strict=True)))
    if stored_id != incident["id"]:
        result.renamed.append((incident["id"], stored_id))
    result.incidents_added += 1
    for update in updates:
        _insert_update(store, stored_id, update["sequence"], update, result)
    _never_send_overtaken_versions(store, stored_id)  # the other store's history, carried: never sent here either
    withdrawal = _withdrawal_sequence(store, stored_id)
    if withdrawal is not None:
        # As a merge does: ``retry`` holds back only the updates before a withdrawal, and an edited file (or one
        # from a store that kept posting) may bring some after it.
        _never_send_after_withdrawal(store, stored_id)
        after = sum(1 for u in updates if u["sequence"] > withdrawal)
        if after:
            result.kept_withdrawn.append((stored_id, after))


def _copy_here(store: Store, incident: Mapping[str, Any]) -> Row | None:
    """This store's copy of the file's incident, locked: the one under its id, or under the ``id-2``, ``id-3``...
    an earlier import of the same file renamed it to (the id was taken by a different incident). A copy is the
    incident created at the same instant; without the renamed ones, importing a file again made another copy,
    and retry sent its unsent posts a second time."""
    for n in itertools.count(1):
        candidate = numbered_id(incident["id"], n)
        row = store.select_one(f"SELECT * FROM incidents WHERE id = ?{store.lock_for_update}", (candidate,))
        if row is None:
            return None
        if portable(row, ("created_at",))["created_at"] == incident["created_at"]:
            return row
    raise AssertionError("unreachable")  # pragma: no cover - itertools.count never ends


def _merge(store: Store, incident: Mapping[str, Any], existing: Row, updates: list[Mapping[str, Any]], result: ImportResult) -> None:
    stored = {
        _same_update(u): u["sequence"]
        for u in (portable(r, ("created_at", "raw_message", "sequence")) for r in store.select(
            "SELECT created_at, raw_message, sequence FROM updates WHERE incident_id = ?", (incident["id"],)
        ))
    }
    first_new = next_sequence = store.next_sequence(incident["id"])
    numbers: dict[int, int] = {}  # the file's sequence -> the one stored here
    versions = _Versions.here(store, incident["id"])
    for update in updates:
        sequence = stored.get(_same_update(update))
        if sequence is not None:
            numbers[update["sequence"]] = sequence
            result.updates_skipped += 1
            _insert_deliveries(store, incident["id"], sequence, update["deliveries"], result)
            continue
        numbers[update["sequence"]] = next_sequence
        added = versions.weighed({**_renumbered(update, numbers), "sequence": next_sequence})
        _insert_update(store, incident["id"], next_sequence, added, result)
        next_sequence += 1
    overtaken = (_hold_back_overtaken(store, incident["id"], first_new)
                 | _never_send_overtaken_versions(store, incident["id"], first_new))
    if overtaken:
        result.overtaken.append((incident["id"], len(overtaken)))
    if overtaken_here := _hold_back_what_the_file_overtook(store, incident["id"], first_new):
        result.overtaken_here.append((incident["id"], overtaken_here))
    withdrawal = _withdrawal_sequence(store, incident["id"])
    if _merge_incident(store, incident, existing) is not None and withdrawal is not None:
        _never_send_after_withdrawal(store, incident["id"])
        posts = _withdraw_posts_made_here(store, incident["id"], withdrawal)
        if posts:
            result.withdrawn_here.append((incident["id"], posts))
        after = next_sequence - max(first_new, withdrawal + 1)
        if after > 0:
            result.kept_withdrawn.append((incident["id"], after))


def _same_update(update: Mapping[str, Any]) -> tuple[str, str]:
    """What makes a file's update one this store has (a merge adds the file's deliveries to it, and the check of a
    merge reads this store's copy): the same time and the same message as written."""
    return update["created_at"], update["raw_message"]


def _hold_back_overtaken(store: Store, incident_id: str, first_new: int) -> set[int]:
    """The file's updates appended here (from ``first_new``) that this store has overtaken: at each place where one
    of this store's updates written after it was posted (or may have been), or closes the incident and goes first,
    its unsent delivery is skipped. Sent after it (a fallback's "Identified" after the team's "Resolved"), it read
    as news and put the incident back a step. A withdrawal is never overtaken: it takes posts down. Only this store's
    status updates (kind ``update``, the resolution among them) overtake: a correction, a staff notice, a reminder or
    a postmortem tells readers nothing new of the incident's state, so the file's update is still news to readers
    who never got it (an older version of the same text is ``_Versions``'). Returns the updates held back somewhere."""
    latest: dict[tuple[str, str], tuple[str, int]] = {}  # place -> (created_at, sequence) of this store's newest
    for row in store.select(
        "SELECT u.sequence, u.created_at, d.destination, d.target FROM updates u JOIN deliveries d"
        " ON d.incident_id = u.incident_id AND d.sequence = u.sequence WHERE u.incident_id=? AND u.sequence<?"
        " AND u.kind='update' AND (d.state IN (?, ?, ?) OR d.parts<>'[]' OR (d.state<>? AND u.status IN (?, ?)))",
        (incident_id, first_new, DeliveryState.SENT, DeliveryState.SENDING, DeliveryState.UNKNOWN,
         DeliveryState.SKIPPED, *(s.value for s in Status if s.is_closed)),
    ):
        written, place = portable(row, ("created_at",))["created_at"], (row["destination"], row["target"])
        if place not in latest or written > latest[place][0]:
            latest[place] = (written, row["sequence"])
    held: set[int] = set()
    for update in store.select("SELECT sequence, created_at FROM updates WHERE incident_id=? AND sequence>=?"
                               " AND kind<>'withdrawal' ORDER BY sequence", (incident_id, first_new)):
        written, skipped = portable(update, ("created_at",))["created_at"], 0
        for delivery in store.select(f"SELECT id, destination, target FROM deliveries WHERE incident_id=? AND"
                                     f" sequence=? AND state IN ({','.join('?' * len(_UNSENT))})",
                                     (incident_id, update["sequence"], *sorted(_UNSENT))):
            newer = latest.get((delivery["destination"], delivery["target"]))
            if newer is None or newer[0] <= written:
                continue
            skipped += store.run(
                f"UPDATE deliveries SET state=?, last_error=?, claimed_by=NULL, updated_at=? WHERE id=?"
                f" AND state IN ({','.join('?' * len(_UNSENT))})",
                (DeliveryState.SKIPPED, _OVERTAKEN.format(sequence=newer[1]), iso(utcnow()), delivery["id"],
                 *sorted(_UNSENT)),
            )
        if skipped:
            held.add(int(update["sequence"]))
    return held


@dataclass
class _Versions:
    """The versions of each text of an incident this store holds (the postmortem's, each update's corrections): when
    the latest in force was written. A file's version written before it is kept as history (``OVERTAKEN``): numbered
    after this store's, it would otherwise have become the latest (the page showing the older text, ``retry`` sending
    it as a correction of the newer). Newest by time wins, as a status update's overtaking does."""

    latest: dict[str, str]  # the text ("postmortem", or the sequence a correction corrects) -> when last written
    kinds: dict[str, str]  # sequence -> kind, to tell a postmortem's corrections from another update's
    gone: set[str]  # the sequences of versions kept as history: a correction of one is history too

    @classmethod
    def here(cls, store: Store, incident_id: str) -> _Versions:
        versions = cls({}, {}, set())
        for row in store.select("SELECT sequence, created_at, kind, extra FROM updates WHERE incident_id=?"
                                " ORDER BY sequence", (incident_id,)):
            versions.weighed({**portable(row, ("created_at", "sequence", "kind")), "extra": parsed_json(row["extra"]) or {}},
                             mark=False)
        return versions

    def weighed(self, update: Mapping[str, Any], *, mark: bool = True) -> Mapping[str, Any]:
        """``update``, marked ``OVERTAKEN`` (with ``mark``) if a version of its text written after it is in force."""
        sequence, extra = str(update["sequence"]), update["extra"]
        self.kinds[sequence] = update["kind"]
        text = self._text_of(update)
        if text is None:
            return update
        newer = self.latest.get(text, "")
        if OVERTAKEN in extra or extra.get("corrects") in self.gone or (mark and newer > update["created_at"]):
            self.gone.add(sequence)
            why = newer if newer > update["created_at"] else "with the version it corrects"
            return update if OVERTAKEN in extra or not mark else {**update, "extra": {**extra, OVERTAKEN: why}}
        self.latest[text] = max(newer, update["created_at"])
        return update

    def _text_of(self, update: Mapping[str, Any]) -> str | None:
        if update["kind"] == "postmortem":
            return "postmortem"
        if update["kind"] != "correction":
            return None
        corrected = str(update["extra"].get("corrects", ""))
        return "postmortem" if self.kinds.get(corrected) == "postmortem" else corrected


def _hold_back_what_the_file_overtook(store: Store, incident_id: str, first_new: int) -> int:
    """This store's own unsent deliveries that one of the file's updates overtook: written after it, and posted (or
    maybe posted) at the same place by the other store. ``retry`` sends in sequence order, so this store's older
    update would go out after the newer one readers have: a status update putting the incident back a step, a
    postmortem version or correction taking the newer text back. A status update overtakes any update but a
    withdrawal; a version overtakes the older versions of its own text. Returns how many updates were held back."""
    history = store.history(incident_id)
    kinds = {u.sequence: u.kind for u in history}
    by_sequence = {u.sequence: u for u in history}
    posted: dict[tuple[str, str], list[Update]] = {}  # place -> the file's updates the other store posted there
    for delivery in store.deliveries(incident_id=incident_id):
        if delivery.sequence >= first_new and (delivery.state in _MAYBE_POSTED or delivery.parts):
            posted.setdefault((delivery.destination, delivery.target), []).append(by_sequence[delivery.sequence])
    held: set[int] = set()
    for delivery in store.deliveries(incident_id=incident_id, states=sorted(_UNSENT)):
        own = by_sequence[delivery.sequence]
        # The page is built from the whole store, in order: it takes both. Skipped there, with the channels, the
        # update would read as kept from the public (``Store.kept_off``) and leave the page.
        if own.sequence >= first_new or own.kind == "withdrawal" or delivery.destination == SITE_DESTINATION:
            continue
        newer = next((u for u in posted.get((delivery.destination, delivery.target), [])
                      if u.created_at > own.created_at and _overtakes(u, own, kinds)), None)
        if newer is not None and store.run(
            "UPDATE deliveries SET state=?, last_error=?, claimed_by=NULL, updated_at=? WHERE id=? AND state=?",
            (DeliveryState.SKIPPED, _OVERTAKEN_BY_THE_FILE.format(sequence=newer.sequence), iso(utcnow()), delivery.id,
             delivery.state),
        ):
            held.add(own.sequence)
    return len(held)


def _overtakes(newer: Update, older: Update, kinds: Mapping[int, str]) -> bool:
    """Whether ``newer``, posted at a place, makes ``older`` (written before it) old news there."""
    if newer.kind == "update":
        return True
    text = _text_of_version(newer, kinds)
    return text is not None and text == _text_of_version(older, kinds)


def _text_of_version(update: Update, kinds: Mapping[int, str]) -> str | None:
    """Which text ``update`` is a version of: the postmortem, or the update a correction corrects; None for others."""
    corrected = corrected_sequence(update)
    if update.kind == "postmortem" or (corrected is not None and kinds.get(corrected) == "postmortem"):
        return "postmortem"
    return None if corrected is None else str(corrected)


def _never_send_overtaken_versions(store: Store, incident_id: str, first_new: int = 1) -> set[int]:
    """Skip every unsent delivery of the versions kept as history (``OVERTAKEN``, and corrections of them), at every
    place: the newer version in force is what readers are owed there. Returns those the file added (from
    ``first_new``): kept as history whether or not anything of theirs was still to send."""
    history = {u.sequence for u in store.history(incident_id)} - {u.sequence for u in store.updates(incident_id)}
    for sequence in sorted(history):
        store.run(f"UPDATE deliveries SET state=?, last_error=?, claimed_by=NULL, updated_at=? WHERE incident_id=?"
                  f" AND sequence=? AND state IN ({','.join('?' * len(_UNSENT))})",
                  (DeliveryState.SKIPPED, _OVERTAKEN_VERSION, iso(utcnow()), incident_id, sequence, *sorted(_UNSENT)))
    return {sequence for sequence in history if sequence >= first_new}


def _renumbered(update: Mapping[str, Any], numbers: Mapping[int, int]) -> Mapping[str, Any]:
    """``update`` with the update its ``extra`` names (``SEQUENCE_KEYS``) by its number here: the file's number
    names another update once the merge has appended the file's after this store's. The check made sure it
    names an earlier update of the record, so ``numbers`` has it."""
    key = sequence_key(update)
    if key is None or key not in update["extra"]:
        return update
    return {**update, "extra": {**update["extra"], key: str(numbers[int(update["extra"][key])])}}


def _withdrawal_sequence(store: Store, incident_id: str) -> int | None:
    """The sequence of the incident's last withdrawal (this store's or an imported one), if any."""
    found = store.select_one("SELECT MAX(sequence) AS s FROM updates WHERE incident_id=? AND kind='withdrawal'",
                             (incident_id,))
    return int(found["s"]) if found is not None and found["s"] is not None else None


def _merge_incident(store: Store, incident: Mapping[str, Any], existing: Row) -> str | None:
    """Take the imported copy's columns when it changed last, except a withdrawal: the earlier of the two copies'
    wins, so a copy still live in another store (a fallback that kept posting after this one withdrew it) never
    puts the incident back on the page. Returns the merged ``withdrawn_at``."""
    here = portable(existing, ("updated_at", "withdrawn_at"))
    withdrawn_at: str | None = min(filter(None, (incident["withdrawn_at"], here["withdrawn_at"])), default=None)
    newer = incident["updated_at"] > here["updated_at"]
    if not newer and withdrawn_at == here["withdrawn_at"]:
        return withdrawn_at
    changed = [c for c in INCIDENT_COLUMNS if c not in ("id", "created_at")] if newer else ["withdrawn_at"]
    merged = {**incident, "withdrawn_at": withdrawn_at}
    values = dict(zip(INCIDENT_COLUMNS, storable(merged, INCIDENT_COLUMNS), strict=True))
    store.run(
        f"UPDATE incidents SET {', '.join(f'{c}=?' for c in changed)}, version = version + 1 WHERE id=?",
        [*(values[c] for c in changed), incident["id"]],
    )
    return withdrawn_at


def _withdraw_posts_made_here(store: Store, incident_id: str, sequence: int) -> int:
    """The file withdraws an incident this store kept posting (the other store withdrew it meanwhile): the
    withdrawal gets a pending delivery at each place this store posted, so ``retry`` deletes those posts
    (or tells the internal channels) as ``withdraw`` would have. Returns how many places.

    Where the other store's withdrawal is on record (imported), a public or customer's place is done again
    here (it could not delete this store's posts); an internal one was told already. Safe to repeat: a
    place done here is on record as this store's, and an import of the same file again, which records the
    other store's over a pending one, is undone the same way until ``retry`` has done it."""
    posted = store.select(
        "SELECT DISTINCT destination, target, visibility FROM deliveries WHERE incident_id=? AND sequence<? AND"
        " remote_origin=? AND (state=? OR state=? OR parts<>'[]')",
        (incident_id, sequence, WRITTEN, DeliveryState.SENT, DeliveryState.UNKNOWN),
    )
    now, added = iso(utcnow()), 0
    for row in posted:
        place = (incident_id, sequence, row["destination"], row["target"])
        if _withdrawn_here(store, incident_id, row["destination"], row["target"]):
            continue
        # The other store's withdrawal at a public or customer's place, imported, could not delete this store's
        # posts: it is done again here. An internal place it told is left as told.
        redone = Visibility.parse(row["visibility"]).outside and store.run(
            "UPDATE deliveries SET state=?, remote_id=NULL, thread_ref=NULL, attempts=0, last_error=NULL, claimed_by=NULL,"
            " claimed_at=NULL, sent_at=NULL, parts='[]', remote_origin=?, updated_at=?, starts_thread=? WHERE"
            " incident_id=? AND sequence=? AND destination=? AND target=? AND remote_origin=?",
            (DeliveryState.PENDING, WRITTEN, now, False, *place, IMPORTED),
        )
        added += redone or store.run(
            "INSERT INTO deliveries(incident_id, sequence, destination, target, visibility, state, created_at,"
            " updated_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (incident_id, sequence, destination, target) DO NOTHING",
            (*place, row["visibility"], DeliveryState.PENDING, now, now),
        )
    return added


def _withdrawn_here(store: Store, incident_id: str, destination: str, target: str) -> bool:
    """Whether this store withdrew the incident at this place itself (``withdraw``, or a retry of a withdrawal
    done again here): place by place, since a retry may have done some places and not others."""
    return store.select_one(
        "SELECT 1 AS here FROM deliveries d JOIN updates u ON u.incident_id = d.incident_id AND u.sequence = d.sequence"
        " WHERE d.incident_id=? AND d.destination=? AND d.target=? AND u.kind='withdrawal' AND d.remote_origin=?"
        " AND d.state=?",
        (incident_id, destination, target, WRITTEN, DeliveryState.SENT),
    ) is not None


def _never_send_after_withdrawal(store: Store, incident_id: str) -> None:
    """Updates imported after the withdrawal are the other store's record, not an outbox: their unsent deliveries
    are skipped, since ``retry`` holds back only a withdrawn incident's updates before its withdrawal."""
    store.run(
        "UPDATE deliveries SET state=?, last_error=?, claimed_by=NULL, updated_at=? WHERE incident_id=?"
        " AND state IN (?, ?, ?) AND sequence > (SELECT MAX(sequence) FROM updates WHERE incident_id=?"
        " AND kind='withdrawal')",
        (DeliveryState.SKIPPED, _AFTER_WITHDRAWAL, iso(utcnow()), incident_id, *sorted(_UNSENT), incident_id),
    )


def _insert_update(store: Store, incident_id: str, sequence: int, update: Mapping[str, Any], result: ImportResult) -> None:
    values = {**update, "incident_id": incident_id, "sequence": sequence}
    store.run(
        f"INSERT INTO updates({', '.join(UPDATE_COLUMNS)}) VALUES ({','.join('?' * len(UPDATE_COLUMNS))})",
        storable(values, UPDATE_COLUMNS),
    )
    result.updates_added += 1
    _insert_deliveries(store, incident_id, sequence, update["deliveries"], result)


def _insert_deliveries(
    store: Store, incident_id: str, sequence: int, deliveries: list[Mapping[str, Any]], result: ImportResult
) -> None:
    """Insert deliveries the target lacks; one the export saw sent wins over an unsent one there."""
    key = "incident_id=? AND sequence=? AND destination=? AND target=?"
    for delivery in deliveries:
        # An export from schema 1 has no parts: nothing was recorded part by part then.
        # Whoever wrote these posts, it was not this store: withdraw never deletes them. Before schema 8 no
        # rendering was kept with the parts, and before schema 9 no word of a post that started its thread anew.
        values = {"parts": [], "rendering": None, "starts_thread": False, **delivery, "incident_id": incident_id,
                  "sequence": sequence, "remote_origin": IMPORTED}
        in_doubt_there = _ABANDONED if values["state"] == DeliveryState.SENDING else _IN_DOUBT
        if values["state"] == DeliveryState.SENDING:
            values.update(state=DeliveryState.UNKNOWN, claimed_by=None, last_error=_ABANDONED)
        where = (incident_id, sequence, values["destination"], values["target"])
        here = store.select_one(f"SELECT state, parts FROM deliveries WHERE {key}", where)
        if here is None:
            result.deliveries_added += store.run(
                f"INSERT INTO deliveries({', '.join(DELIVERY_COLUMNS)})"
                f" VALUES ({','.join('?' * len(DELIVERY_COLUMNS))})"
                " ON CONFLICT (incident_id, sequence, destination, target) DO NOTHING",
                storable(values, DELIVERY_COLUMNS),
            )
        elif values["state"] == DeliveryState.SENT:
            # Conditional, like a claim: a row another process is sending right now is left to it.
            result.deliveries_marked_sent += store.run(
                "UPDATE deliveries SET state=?, remote_id=?, thread_ref=?, sent_at=?, updated_at=?, parts=?,"
                " last_error=NULL, claimed_by=NULL, remote_origin=?, rendering=NULL, starts_thread=?"
                f" WHERE {key} AND state IN (?, ?, ?)",
                (DeliveryState.SENT, values["remote_id"], values["thread_ref"], values["sent_at"], values["updated_at"],
                 json.dumps(values["parts"]), IMPORTED, bool(values["starts_thread"]), *where, *sorted(_UNSENT)),
            )
        else:
            _take_over_what_may_be_posted(store, where, here, values, in_doubt_there, result)


def _take_over_what_may_be_posted(
    store: Store, where: tuple[str, int, str, str], here: Row, values: Mapping[str, Any], note: str,
    result: ImportResult,
) -> None:
    """A delivery not sent here that the other store may have posted, or posted in part: a retry here would post it
    again. One whose fate is unknown there becomes unknown here (``retry`` holds it for the operator); the other
    store's confirmed parts, when more than this store's, are taken over (a retry resumes after them)."""
    key = "incident_id=? AND sequence=? AND destination=? AND target=?"
    # As an export writes them today (``storable_id``): a store written before 91f90d8 holds a part with a control
    # character raw, and the other store's export of the same part (a backup of it went on) brings it escaped; as
    # text they differed, and the delivery was put in doubt, "posted apart", for parts both posted alike.
    parts_here = [storable_id(part) if isinstance(part, str) else part for part in parsed_json(here["parts"]) or []]
    # Taken over only where they go on from this store's own: parts of its own it posted are never forgotten (a
    # withdrawal deletes what is on record as this store's). Other parts at the same place: both posted some.
    longer = len(values["parts"]) > len(parts_here) and values["parts"][: len(parts_here)] == parts_here
    apart = len(values["parts"]) > len(parts_here) and not longer
    in_doubt = (values["state"] == DeliveryState.UNKNOWN or apart) and here["state"] != DeliveryState.UNKNOWN
    note = _POSTED_APART if apart else note
    if here["state"] not in _UNSENT or not (in_doubt or longer):
        return
    state = DeliveryState.UNKNOWN if in_doubt else here["state"]
    parts = values["parts"] if longer else parts_here
    thread_ref = values["thread_ref"] if longer else None
    # Parts taken over go with the rendering they were cut from (none from an export before schema 8): the rest is
    # sent from it, never counted in messages of this store's rendering.
    rendering = json.dumps(values["rendering"], ensure_ascii=False) if longer and values["rendering"] else None
    # A post the other store made (or may have made) as its thread's first: settled here, by a resume or by hand, it
    # is recorded as the thread's first too.
    starts_thread = bool(values["starts_thread"]) and (in_doubt or longer)
    # Conditional, like a claim: a row another process is sending right now is left to it.
    changed = store.run(
        "UPDATE deliveries SET state=?, parts=?, thread_ref=COALESCE(?, thread_ref), claimed_by=NULL, updated_at=?,"
        " last_error=CASE WHEN ? THEN ? ELSE last_error END, rendering=CASE WHEN ? THEN ? ELSE rendering END,"
        " remote_origin=CASE WHEN ? THEN ? ELSE remote_origin END, starts_thread=(starts_thread OR ?)"
        f" WHERE {key} AND state=?",
        (state, json.dumps(parts), thread_ref, iso(utcnow()), in_doubt, note, longer, rendering, longer, IMPORTED,
         starts_thread, *where, here["state"]),
    )
    if changed and in_doubt:
        result.deliveries_in_doubt += 1
    elif changed:
        result.deliveries_resumed += 1


def _import_invite(store: Store, invite: Mapping[str, Any]) -> int:
    """Insert an invite the store lacks (1); one it has keeps the larger use count and any revocation (0). After
    the subscriptions, ``_count_every_holder`` raises the count to the chats holding it in either store."""
    stored = store.select_one(f"SELECT uses FROM invites WHERE hash = ?{store.lock_for_update}", (invite["hash"],))
    if stored is None:
        return store.run(
            f"INSERT INTO invites({', '.join(INVITE_COLUMNS)}) VALUES ({','.join('?' * len(INVITE_COLUMNS))})",
            storable(invite, INVITE_COLUMNS),
        )
    values = dict(zip(INVITE_COLUMNS, storable(invite, INVITE_COLUMNS), strict=True))
    store.run(
        "UPDATE invites SET uses = CASE WHEN uses < ? THEN ? ELSE uses END, revoked_at = COALESCE(revoked_at, ?)"
        " WHERE hash = ?",
        (values["uses"], values["uses"], values["revoked_at"], invite["hash"]),
    )
    return 0


@dataclass
class _Uses:
    """The uses each invite with a ``--uses`` limit has left here, read before the import and spent by the file's
    chats it lets in, and the file's chats kept off an invite (invite hash, chat)."""

    left: dict[str, int]
    kept_off: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def left_here(cls, store: Store) -> _Uses:
        rows = store.select("SELECT hash, max_uses, uses FROM invites WHERE max_uses IS NOT NULL")
        return cls({row["hash"]: int(row["max_uses"]) - int(row["uses"]) for row in rows})

    def admits(self, subscription: Mapping[str, Any], stored: Row | None) -> bool:
        """Whether the file's subscription may take a use of its invite here, spending it if so: the other store
        did not know the uses here, and may have let more chats in than ``--uses`` allows. An inactive one takes one
        too: a chat holding the invite comes back on it uncounted (a /stop's /start, a private chat's, its own link
        opened again), and it is counted among the invite's chats after the import (``_count_every_holder``). A chat
        that holds the invite here was counted here, and keeps it."""
        invite = subscription.get("invite")
        if not invite or (stored is not None and stored["invite"] == invite):
            return True
        if invite not in self.left:  # no limit, or an invite this store did not know: the other store counted it
            return True
        if self.left[invite] <= 0:
            self.kept_off.add((invite, subscription["chat_id"]))
            return False
        self.left[invite] -= 1
        return True


def _import_subscription(store: Store, subscription: Mapping[str, Any], uses: _Uses, result: ImportResult) -> None:
    """Insert a chat's subscription, or replace one the store has that the file's copy wins over (``_copy_wins``);
    counted in ``result``."""
    values = {**subscription, "active": 1 if subscription["active"] else 0}
    stored = store.select_one(
        f"SELECT joined_at, updated_at, invite, visibility FROM subscriptions WHERE chat_id = ?{store.lock_for_update}",
        (values["chat_id"],),
    )
    if stored is not None and not _copy_wins(stored, values):
        return
    if removed_here_since(store, values):
        # granted before the removal here: a chat subscribed here since keeps this store's row
        result.kept_off_removed += values["active"]
        return
    if joined_with_an_invite_revoked_here(store, values, stored):
        uses.kept_off.add((values["invite"], values["chat_id"]))
        result.kept_off_revoked += 1
        return
    if not uses.admits(values, stored):
        result.kept_off_used_up += 1
        return
    if stored is not None:
        store.run("DELETE FROM subscriptions WHERE chat_id = ?", (values["chat_id"],))
    result.subscriptions_added += store.run(
        f"INSERT INTO subscriptions({', '.join(SUBSCRIPTION_COLUMNS)})"
        f" VALUES ({','.join('?' * len(SUBSCRIPTION_COLUMNS))})",
        storable(values, SUBSCRIPTION_COLUMNS),
    )


def _copy_wins(stored: Row, subscription: Mapping[str, Any]) -> bool:
    """Whether the file's copy of a chat's subscription replaces this store's: the later grant (``joined_at``: a
    redemption, or the public join) wins, since a /start, a /components choice or a /stop grants nothing and must
    not undo an invite redeemed later in the other store. For the same grant (the same invite, or both public
    without one) the copy changed last wins: the chat's own latest choice of components, or its /stop."""
    here, there = portable(stored, ("joined_at", "updated_at")), portable(subscription, ("joined_at", "updated_at"))
    same_grant = stored["invite"] == subscription["invite"] and stored["visibility"] == subscription["visibility"]
    if not same_grant and here["joined_at"] != there["joined_at"]:
        return bool(there["joined_at"] > here["joined_at"])
    return bool(there["updated_at"] > here["updated_at"])


def removed_here_since(store: Store, subscription: Mapping[str, Any]) -> bool:
    """Whether ``subscribers remove`` forgot the chat here after the file's copy was granted (``joined_at``: its
    redemption, or its public join): an export made before the removal (a backup, the file the store was moved
    with), or one where the chat only sent /start or chose components since, must not subscribe it again."""
    removed_at = store.removed_at(subscription["chat_id"])
    return removed_at is not None and removed_at >= utc(subscription["joined_at"])  # type: ignore[operator]


def joined_with_an_invite_revoked_here(store: Store, subscription: Mapping[str, Any], stored: Row | None) -> bool:
    """Whether the file's subscription took an invite that this store had revoked by then: the other store did not
    know, and let a chat in with it. An inactive one too: a private chat's /start brings it back as it was. A chat
    that held the invite here already keeps it (revoking keeps the chats that joined). When it took the invite: its
    joining, or its last change if it is here with another one."""
    invite = subscription.get("invite")
    if not invite or (stored is not None and stored["invite"] == invite):
        return False
    row = store.select_one("SELECT revoked_at FROM invites WHERE hash = ?", (invite,))
    revoked_at = utc(row["revoked_at"]) if row is not None else None
    took = utc(subscription["joined_at"] if stored is None else subscription["updated_at"])
    return revoked_at is not None and took is not None and took >= revoked_at

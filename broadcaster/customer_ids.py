"""Which customer each ``[audiences.ID]`` id has served: an id that carried one customer's detail never carries another's.

A customer's detail (``--for ID``, ``[for ID]``) and the customers an incident names are stored by id, and routed to
whoever that id's table describes when a page is built or a message sent. A departed customer's table copied for the
next one with its id kept (``[audiences.globex]`` now "Globex Travel Ltd", once "Globex Corporation") would hand the
new customer the old one's incidents and detail, under the new name, on its page, feeds and channels. So the store
keeps the name each id served, and a command that would publish (or a build) is refused while an id the store holds
anything of (``Store.holds_audience``: an update naming it, its detail, a delivery to its channels, a chat or an
invite of its) is configured under another name. A customer that was only renamed says so in its table,
``renamed_from = "<the old name>"``, and the next command that publishes moves the record to the new name.

Names are compared folded as the egress guard folds them (case, compatibility forms, invisible characters, runs of
white space), so writing a name another way is no new customer. A new store starts without the record, as it starts
without the page paths' (``site/tokens.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from broadcaster.errors import ConfigError, InputError

if TYPE_CHECKING:
    from broadcaster.config import Config
    from broadcaster.store import Store

__all__ = ["claim_audience_ids", "refuse_imported_for_another", "refuse_reused_audience_ids"]


def refuse_reused_audience_ids(config: Config, store: Store, consequence: str) -> dict[str, str]:
    """ConfigError while an audience id is configured under another name than the customer it served; else the
    (id -> folded name) records a publishing command makes or moves. ``consequence`` ends the message
    ("Nothing was stored or sent.")."""
    if not config.audience_tables:
        return {}
    served = store.audience_names()
    records = {}
    for key, table in config.audience_tables.items():
        name, before = _folded(table.audience.name), served.get(key)
        if before == name:
            continue
        renamed = table.renamed_from is not None and _folded(table.renamed_from) == before
        if before is not None and not renamed and store.holds_audience(key):
            raise ConfigError(_reused(key, table.audience.name, before, table.renamed_from, consequence))
        records[key] = name  # new, renamed, or nothing stored under it yet: nothing to hand over
    return records


def claim_audience_ids(config: Config, store: Store, consequence: str) -> None:
    """Refuse as ``refuse_reused_audience_ids`` does, then remember (or move, for a rename) the name each id serves."""
    records = refuse_reused_audience_ids(config, store, consequence)
    if records:
        store.note_audience_names(records)


def refuse_imported_for_another(config: Config, written_for: Mapping[str, str], served: Mapping[str, str]) -> None:
    """``store import``: InputError when the file's detail for an id was written for another customer than the one
    that id serves here (``served``, this store's record; else the config's table, or its ``renamed_from``; or the
    table's name where this store's record is its ``renamed_from``, the rename still to be recorded). Its
    detail would be shown to that customer under its name. Checked before anything is imported."""
    for key, name in sorted(written_for.items()):
        table = config.audience_tables.get(key)
        here = served.get(key) or (_folded(table.audience.name) if table is not None else None)
        # A rename joins the two names the table gives, and those alone: both the file's name and this store's must be
        # one of them (the file's store, or this one, may be yet to record it). The file's name being renamed_from
        # says nothing of a third customer this store's id served: its detail would be mixed with that one's.
        names = {_folded(table.audience.name), _folded(table.renamed_from)} if (
            table is not None and table.renamed_from is not None) else set()
        if here is not None and here != name and not {here, name} <= names:
            # The old name is the one to give: this store's, when the file's is the table's own (renamed here too).
            old = here if table is not None and _folded(table.audience.name) == name else name
            fix = (f"Its renamed_from names the file's customer, not this store's: import the file into a store "
                   f"whose {key} is that customer" if old in names else
                   f"If it is the same customer, renamed, add renamed_from = {_quoted(old)} to [audiences.{key}] and "
                   "import again")
            raise InputError(
                f"the file's incidents and detail for {key} were written for a customer named {_quoted(name)}, but "
                f"here {key} is {_quoted(here)} (as broadcaster compares names): imported, that customer's detail "
                f"would be shown to {_quoted(here)} under its name. {fix}. Nothing was imported."
            )


def _reused(key: str, name: str, before: str, renamed_from: str | None, consequence: str) -> str:
    said = f" Its renamed_from ({_quoted(renamed_from)}) is not that name either." if renamed_from is not None else ""
    return (
        f"[audiences.{key}] is named {_quoted(name)}, but the store's incidents and detail for {key} were written "
        f"for a customer named {_quoted(before)} (as broadcaster compares names).{said} If this is another "
        "customer, whoever its pages and channels reach would read that customer's detail: give its table an id "
        f"of its own (e.g. [audiences.{key}-2]). If it is the same customer, renamed, add "
        f"renamed_from = {_quoted(before)} to the table. {consequence}"
    )


def _quoted(name: str) -> str:
    """As a TOML basic string, which takes JSON's escapes: the advice can be pasted into the config."""
    return json.dumps(name, ensure_ascii=False)


def _folded(name: str) -> str:
    from broadcaster.messages.gate import comparable

    return " ".join(comparable(name).split())

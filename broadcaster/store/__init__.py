"""The state store: what callers use, from the modules that define it.

``contract`` (the ``Store`` every backend fulfils, in SQL both speak), ``records``
(rows and the values read from them), ``sqlite`` and ``pg`` (the two backends),
``location`` (choosing one), ``transfer`` and ``import_check`` (export and import).
Nothing in the package imports this module, so it can name them all without a cycle.
"""

from broadcaster.store.contract import (
    CONFLICT_ATTEMPTS,
    SCHEMA_VERSION,
    Store,
    alive_here,
    owner_is_alive,
    process_owner,
)
from broadcaster.store.location import is_postgres_url, open_store, store_location
from broadcaster.store.records import Delivery, PlannedDelivery, Row, utcnow
from broadcaster.store.sqlite import SQLiteStore

__all__ = [
    "CONFLICT_ATTEMPTS",
    "SCHEMA_VERSION",
    "Delivery",
    "PlannedDelivery",
    "Row",
    "SQLiteStore",
    "Store",
    "is_postgres_url",
    "open_store",
    "alive_here",
    "owner_is_alive",
    "process_owner",
    "store_location",
    "utcnow",
]

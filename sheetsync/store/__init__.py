"""The model's storage: the Store (versioned records, snapshots, baselines, locks) over SQLAlchemy 2 Core.

Every model table keeps its history in place: a record version is a row with
``_valid_from`` and ``_valid_to`` (NULL while current), so the model as of any
moment is one query, and week-over-week comes free. Every pull or sync adds a
``snapshots`` row: when, which source, the content hash and the values read.
SQLite is the default (a file beside the config); PostgreSQL for a shared model
(``postgresql://`` URLs use psycopg 3).

The schema is managed by Alembic (``sheetsync.migrations``): opening a Store
brings the model to the newest revision, cheaply when it is there already.
``METADATA`` (``sheetsync.schema``) describes that newest schema for queries;
a test checks the two agree.

Concurrency: ``transaction()`` is the one way to write. On SQLite it begins
with ``BEGIN IMMEDIATE``, so writers queue (up to the busy timeout) instead of
failing halfway; on PostgreSQL writers run side by side and
``lock(conn, name)`` serialises the ones that touch the same resource
(``source:<name>`` for a sync of one source).

``Store`` is made of parts, one module each: ``engine`` (opening,
transactions), ``locks``, ``reads`` (as-of and current records), ``keys``
(record keys, re-keying), ``records`` (writing versions), ``snapshots`` and
``snapshot_values``, ``state`` (digests, write times), ``baselines``;
``codec`` encodes a snapshot's values and ``bulk`` inserts many rows fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..schema import METADATA, SCHEMA, utcnow
from .baselines import Baseline, Baselines
from .codec import (
    decode_values,
    encode_rows,
    encode_values,
    iter_values,
    load_values,
)
from .engine import Connected
from .keys import Keys, Rekey, record_key, record_keys, show_key
from .locks import Locks
from .reads import AsOfReads, CurrentReads
from .records import RecordWrites
from .snapshot_values import SnapshotValues
from .snapshots import Snapshot, SnapshotLog, SnapshotWrites, SourceBindings
from .state import ModelState

if TYPE_CHECKING:
    from ..config import Config

__all__ = [
    "METADATA",
    "SCHEMA",
    "Baseline",
    "Rekey",
    "Snapshot",
    "Store",
    "open_store",
    "decode_values",
    "encode_rows",
    "encode_values",
    "iter_values",
    "load_values",
    "record_key",
    "record_keys",
    "show_key",
    "utcnow",
]


class Store(
    Connected,
    Locks,
    AsOfReads,
    CurrentReads,
    Keys,
    RecordWrites,
    SnapshotWrites,
    SnapshotLog,
    SnapshotValues,
    SourceBindings,
    ModelState,
    Baselines,
):
    """The model: a SQLAlchemy engine over SQLite or PostgreSQL."""


def open_store(config: Config) -> Store:
    """Open the configured model. Only the default location's folder
    (``.sheetsync/``) is created; a configured one must exist."""
    return Store(config.default_db_url(), create_folder=not config.db)

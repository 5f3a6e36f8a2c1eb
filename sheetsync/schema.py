"""The model's database: its tables (the newest schema), how an engine opens it, the lock namespace.

``METADATA`` describes the newest schema; the Alembic revisions
(``sheetsync.migrations``) build the same one step by step, and a test checks
the two agree. Every model table keeps its history in place: a record version
is a row with ``_valid_from`` and ``_valid_to`` (NULL while current), both
naive UTC (``utcnow``).

``open_engine`` turns a ``--db`` URL into an engine: plain ``postgresql://``
URLs use psycopg 3; SQLite connections get sheetsync's settings (busy timeout,
WAL, and BEGIN emitted by sheetsync itself, so transactions and DDL behave as
SQLAlchemy says they do). The store (``sheetsync.store``) and the migrations
both build on this module; it imports neither.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .errors import ConfigError
from .model import TABLES

_KIND_TYPES = {
    "text": sa.Text,
    "number": sa.Float,
    "percent": sa.Float,
    "date": sa.Date,
    "period": sa.String(32),
    "bool": sa.Boolean,
}


def _build_metadata() -> tuple[sa.MetaData, dict[str, sa.Table]]:
    md = sa.MetaData()
    tables: dict[str, sa.Table] = {}
    for spec in TABLES.values():
        cols = [
            sa.Column("_id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("_key", sa.Text, nullable=False),
            sa.Column("_valid_from", sa.DateTime, nullable=False),
            sa.Column("_valid_to", sa.DateTime, nullable=True),
            sa.Column("_source", sa.String(200), nullable=True),
            # The sheet row the version was read from (revision 0011_cells).
            sa.Column("_row", sa.Integer, nullable=True),
        ]
        cols += [sa.Column(f.name, _KIND_TYPES[f.kind]) for f in spec.fields]
        t = sa.Table(spec.name, md, *cols)
        # At most one current version per key (revision 0002); the one index on
        # _key, so each version written updates one index (revision 0003).
        sa.Index(
            f"uq_{spec.name}_current_key",
            t.c._key,
            unique=True,
            sqlite_where=t.c._valid_to.is_(None),
            postgresql_where=t.c._valid_to.is_(None),
        )
        tables[spec.name] = t
    tables["snapshots"] = sa.Table(
        "snapshots",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("taken_at", sa.DateTime, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),  # pull | push | sync
        sa.Column("content_hash", sa.String(128)),
        sa.Column("summary", sa.JSON),
        sa.Column(
            "values_z", sa.LargeBinary
        ),  # zlib(JSON {table: {"fields": [...], "rows": [...]}})
        # A pull's layout (revision 0011_cells): {table: {"sheet": "Quotas",
        # "columns": {field: 1-based column}}}; with a version's _row, its cells.
        sa.Column("layout", sa.JSON(none_as_null=True), nullable=True),  # None: SQL NULL
        sa.Index("ix_snapshots_source_id", "source", "id"),
    )
    tables["sends"] = sa.Table(
        "sends",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("period", sa.String(64), nullable=False),  # e.g. "2026-W49"
        sa.Column("group_name", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("pack_hash", sa.String(128), nullable=False),  # what the pack is made of
        sa.Column("status", sa.String(20), nullable=False),  # sending|sent|failed|unknown
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("first_attempt_at", sa.DateTime),
        sa.Column("last_attempt_at", sa.DateTime),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("message_id", sa.String(400)),
        sa.Column("subject", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("claimed_by", sa.String(300)),  # "host:pid" of the run sending it (0006)
        # The ledger's guarantee that a pack is sent once (sheetsync.ledger): keep it.
        sa.UniqueConstraint(
            "period", "recipient", "pack_hash", name="uq_sends_period_recipient_pack"
        ),
        sa.Index("ix_sends_status", "status"),
    )
    # The key each record table's _key was made with, where it is not the
    # built-in one (revision 0004); see Store.rekey.
    tables["table_keys"] = sa.Table(
        "table_keys",
        md,
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("key_fields", sa.JSON, nullable=False),  # ["project", "name"]
        sa.Column("changed_at", sa.DateTime, nullable=False),
    )
    # Which file or spreadsheet each source's snapshots were read from
    # (revision 0005): a source is one copy, never two under one name.
    tables["source_bindings"] = sa.Table(
        "source_bindings",
        md,
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("binding", sa.Text, nullable=False),  # absolute path or spreadsheet URL
        sa.Column("bound_at", sa.DateTime, nullable=False),
    )
    # Named copies of the plan as of a day (revision 0010_baselines); see
    # Store.save_baseline.
    tables["baselines"] = sa.Table(
        "baselines",
        md,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("known_at", sa.DateTime, nullable=False),
        sa.Column("saved_at", sa.DateTime, nullable=False),
        sa.Column("values_z", sa.LargeBinary, nullable=False),  # encode_values of the records
    )
    return md, tables


METADATA, SCHEMA = _build_metadata()


def utcnow() -> datetime:
    """Naive UTC now, the timestamps stored in the model."""
    return datetime.now(UTC).replace(tzinfo=None)


LOCK_NAMESPACE = 0x5EE7  # advisory locks: sheetsync's first key (store locks and migrations)
BUSY_TIMEOUT_MS = 30000
# Execution option read by _sqlite_begin: this transaction takes the write lock now.
IMMEDIATE = {"sheetsync_begin": "BEGIN IMMEDIATE"}


def engine_url(url: str) -> sa.URL:
    """Parse a --db URL; plain postgresql:// (and postgres://) use psycopg 3."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def open_engine(url: str, *, create_folder: bool = False) -> tuple[sa.Engine, str]:
    """An engine on the model at ``url``, and the URL to show (password hidden).
    A SQLite file's folder must exist unless ``create_folder`` (the default
    ``.sheetsync/``); ConfigError when ``url`` is none sheetsync can use."""
    try:
        parsed = engine_url(url)
    except sa.exc.ArgumentError as e:
        raise ConfigError(f"--db {url!r} is not a database URL sheetsync can use ({e})") from None
    display_url = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_folder(parsed, display_url, create_folder)
    try:
        engine = sa.create_engine(parsed)
    except (sa.exc.ArgumentError, ImportError) as e:
        raise ConfigError(
            f"--db {display_url!r} is not a database URL sheetsync can use ({e})"
        ) from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine, display_url


def _sqlite_folder(parsed: sa.URL, display_url: str, create_folder: bool) -> None:
    """Check (or, with ``create_folder``, make) a SQLite file's folder."""
    db = parsed.database or ""
    if db and db != ":memory:" and not db.startswith("file:"):
        folder = Path(db).absolute().parent
        if create_folder:
            try:
                folder.mkdir(exist_ok=True)
            except OSError as e:
                raise ConfigError(
                    f"cannot create the model's folder {folder}: {e.strerror}"
                ) from None
        elif not folder.is_dir():
            raise ConfigError(
                f"the model's folder {folder} does not exist ({display_url})",
                hint="create it first, or check the path given with --db or db =",
            )


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level; _sqlite_begin emits BEGIN itself, so
    # transactions (and DDL in migrations) behave as SQLAlchemy says they do.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first: the next line may wait
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get("sheetsync_begin", "BEGIN"))

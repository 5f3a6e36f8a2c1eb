"""The model's storage: schema, versioned records, snapshots (SQLAlchemy 2 Core).

Every model table keeps its history in place: a record version is a row with
``_valid_from`` and ``_valid_to`` (NULL while current), so the model as of any
moment is one query, and week-over-week comes free. Every pull or sync adds a
``snapshots`` row: when, which source, the content hash and the values read.
SQLite is the default (a file beside the config); PostgreSQL for a shared model
(``postgresql://`` URLs use psycopg 3).

The schema is managed by Alembic (``sheetsync.migrations``): opening a Store
brings the model to the newest revision, cheaply when it is there already.
``METADATA`` describes that newest schema for queries; a test checks the two
agree.

Concurrency: ``transaction()`` is the one way to write. On SQLite it begins
with ``BEGIN IMMEDIATE``, so writers queue (up to the busy timeout) instead of
failing halfway; on PostgreSQL writers run side by side and
``lock(conn, name)`` serialises the ones that touch the same resource
(``source:<name>`` for a sync of one source).
"""

from __future__ import annotations

import json
import operator
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from .errors import ConfigError, KeyChangeError, RefusedError, UsageError
from .model import (
    KEY_JOIN,
    KEY_SEPARATOR,
    TABLES,
    Record,
    Table,
    join_key,
    key_texts,
    key_title,
    with_key,
)

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
        sa.Column("pack_hash", sa.String(128), nullable=False),  # content of the pack
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


def record_keys(table: Table, records: list[Record]) -> list[str]:
    """``record_key`` of many records at once."""
    try:
        return key_texts(records, list(table.key))
    except KeyError:
        return [record_key(table, r) for r in records]


def _part_keys(part: dict[str, Any], key: tuple[str, ...]) -> set[str]:
    """The keys (made with ``key``) of a snapshot table's rows."""
    return set(key_texts(part["rows"], [part["fields"].index(k) for k in key]))


def show_key(key: str) -> str:
    """A stored record key as a person reads it: "P1 / Kickoff"."""
    return key.replace(KEY_SEPARATOR, KEY_JOIN)


@dataclass(frozen=True)
class Rekey:
    """A table's records moved to a new key (``Store.rekey``)."""

    table: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    records: int  # current records re-keyed
    new_title: str = ""
    old_title: str = ""

    def line(self, headers: dict[str, str] | None = None) -> str:
        spec = with_key(TABLES[self.table], self.new)
        new = key_title(spec, headers) if headers else self.new_title
        return f"{self.table}: now matched by {new} (was {self.old_title})"


def record_key(table: Table, record: Record) -> str:
    """The stored identity of a record: its key fields' text, joined."""
    return join_key(tuple(record.get(k) for k in table.key))


def encode_values(
    tables: dict[str, list[Record]], keys: dict[str, tuple[str, ...]] | None = None
) -> bytes:
    """Compact, compressed form of records for a snapshot (JSON, dates as ISO text);
    ``keys``: each table's key, recorded where it is not the built-in one."""
    out = {}
    for name, records in tables.items():
        names = [f.name for f in TABLES[name].fields]
        present = [n for n in names if records and n in records[0]]
        if len(present) > 1:
            try:  # records read from one sheet share their fields: the fast path
                out[name] = (present, list(map(operator.itemgetter(*present), records)))
                continue
            except KeyError:
                pass
        out[name] = (names, [[r.get(n) for n in names] for r in records])
    return encode_rows(out, keys)


def encode_rows(
    tables: dict[str, tuple[list[str], list[tuple]]],
    keys: dict[str, tuple[str, ...]] | None = None,
) -> bytes:
    """``encode_values`` of records given as (fields, value tuples) per table."""
    out: dict[str, dict[str, Any]] = {}
    for name, (fields, rows) in tables.items():
        out[name] = {"fields": fields, "rows": rows}
        key = (keys or {}).get(name)
        if key and tuple(key) != TABLES[name].key:  # absent: the built-in key
            out[name]["key"] = list(key)
    return zlib.compress(orjson.dumps(out), 1)


def _load_values(blob: bytes) -> dict[str, Any]:
    text = zlib.decompress(blob)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # snapshots written before 0.2 may hold NaN
        return json.loads(text)


def load_values(blob: bytes) -> dict[str, Any]:
    """A snapshot's values as stored: {table: {"fields": [...], "rows": [...]}}."""
    return _load_values(blob)


def decode_values(blob: bytes | None) -> dict[str, list[Record]]:
    if not blob:
        return {}
    out: dict[str, list[Record]] = {}
    for name, part in _load_values(blob).items():
        kinds = [TABLES[name].field_by_name[f].kind for f in part["fields"]]
        out[name] = [
            {
                f: (date.fromisoformat(v) if k == "date" and v else v)
                for f, k, v in zip(part["fields"], kinds, row, strict=True)
            }
            for row in part["rows"]
        ]
    return out


@dataclass(frozen=True)
class Snapshot:
    id: int
    taken_at: datetime
    source: str
    kind: str
    content_hash: str | None
    summary: dict[str, Any]


@dataclass(frozen=True)
class Baseline:
    """A named copy of the plan as of a day (``Store.save_baseline``)."""

    name: str
    as_of: date
    known_at: datetime  # the moment whose records it holds (plan.known_at)
    saved_at: datetime
    records: dict[str, int]  # table -> record count


class Store:
    """The model: a SQLAlchemy engine over SQLite or PostgreSQL."""

    def __init__(self, url: str, *, migrate: bool = True, create_folder: bool = False) -> None:
        """Open (and, if behind, upgrade) the model at ``url``. A SQLite file's
        folder must exist unless ``create_folder`` (the default ``.sheetsync/``)."""
        self.url = url
        try:
            parsed = _engine_url(url)
        except sa.exc.ArgumentError as e:
            raise ConfigError(
                f"--db {url!r} is not a database URL sheetsync can use ({e})"
            ) from None
        self.display_url = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() == "sqlite":
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
                        f"the model's folder {folder} does not exist ({self.display_url})",
                        hint="create it first, or check the path given with --db or db =",
                    )
        try:
            self.engine = sa.create_engine(parsed)
        except (sa.exc.ArgumentError, ImportError) as e:
            raise ConfigError(
                f"--db {self.display_url!r} is not a database URL sheetsync can use ({e})"
            ) from None
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_connect)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        if migrate:
            try:
                from .migrations import ensure_current

                ensure_current(self.engine, _IMMEDIATE)
            except sa.exc.OperationalError as e:
                self.engine.dispose()
                if _sqlite_busy(e):
                    raise RefusedError(
                        f"the model at {self.display_url} is busy: another sheetsync is "
                        "upgrading or writing it",
                        hint="try again when it has finished",
                    ) from None
                raise ConfigError(
                    f"cannot open the model at {self.display_url}: {_first_line(e.orig)}"
                ) from None
            except BaseException:
                self.engine.dispose()
                raise

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[sa.Connection]:
        """One all-or-nothing unit of work; the only way sheetsync writes.

        SQLite: begins with BEGIN IMMEDIATE, taking the database's write lock
        up front, so a second writer waits its turn (busy timeout) rather than
        failing at its first write; ``wait=False`` refuses at once instead.
        PostgreSQL: an ordinary READ COMMITTED transaction; call ``lock()``
        for the resources it must have to itself.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**_IMMEDIATE)
            nowait = self.dialect == "sqlite" and not wait
            if nowait:  # on the driver connection: no SQLAlchemy autobegin
                conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
            try:
                with conn.begin():
                    if nowait:
                        conn.connection.dbapi_connection.execute(
                            f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}"
                        )
                        nowait = False
                    yield conn
            except sa.exc.IntegrityError as e:
                table = _current_version_clash(e)
                if table is None:
                    raise
                # Another transaction made a current version of the same record
                # meanwhile: a concurrent sync that did not lock its source.
                raise RefusedError(
                    f"another sheetsync changed {table} in this model at the same time; "
                    "nothing was written",
                    hint="try again when it has finished",
                ) from None
            except sa.exc.OperationalError as e:
                if _sqlite_busy(e):
                    raise RefusedError(
                        "another sheetsync is writing to this model"
                        + ("" if not wait else f" and has been for {_BUSY_TIMEOUT_MS // 1000} s"),
                        hint="try again when it has finished",
                    ) from None
                raise
            finally:
                if nowait:
                    conn.connection.dbapi_connection.execute(
                        f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}"
                    )

    def lock(self, conn: sa.Connection, name: str, wait: bool = True) -> None:
        """Have the named resource to this transaction alone until it ends.

        ``name`` is e.g. ``"source:plan"`` (a sync of source plan) or
        ``"send:2026-W49"``. PostgreSQL: a transaction-scoped advisory lock
        (released at commit or rollback); ``wait=False`` raises RefusedError
        at once when another transaction holds it. SQLite: ``transaction()``
        already holds the whole database's write lock, so there is nothing
        more to take.
        """
        if self.dialect != "postgresql":
            return
        key = (LOCK_NAMESPACE, sa.func.hashtext(name))
        if wait:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(*key)))
            return
        if not conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(*key))).scalar():
            raise RefusedError(_busy_message(name), hint="try again when it has finished")

    # ------------------------------------------------------------ reading

    def records(
        self, table: str, as_of: datetime | None = None, conn: sa.Connection | None = None
    ) -> list[Record]:
        """Records of ``table`` as they are now, or as they were at ``as_of``."""
        names = [f.name for f in TABLES[table].fields]
        rows = self._select(table, as_of, conn)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _select(
        self,
        table: str,
        as_of: datetime | None = None,
        conn: sa.Connection | None = None,
        *,
        with_key: bool = False,
    ) -> list[Any]:
        """Rows of the record versions valid now (or at ``as_of``), oldest first."""
        t = SCHEMA[table]
        columns = [t.c[f.name] for f in TABLES[table].fields]
        q = sa.select(t.c._key, *columns) if with_key else sa.select(*columns)
        q = _valid_at(t, q, as_of).order_by(t.c._id)
        if conn is not None:
            return conn.execute(q).all()  # fetched at once: a third faster than row by row
        with self.engine.connect() as c:
            return c.execute(q).all()

    def versions(self, table: str, as_of: datetime | None = None) -> list[Any]:
        """The record versions behind ``records(table, as_of)``, in the same order,
        with where each was read (``_source``, ``_valid_from``, ``_row``)."""
        t = SCHEMA[table]
        q = _valid_at(t, sa.select(t), as_of).order_by(t.c._id)
        with self.engine.connect() as c:
            return c.execute(q).all()

    def all_records(self, as_of: datetime | None = None) -> dict[str, list[Record]]:
        """Every table's records, now or at ``as_of``."""
        with self.engine.connect() as c:
            return {name: self.records(name, as_of, c) for name in TABLES}

    def current_rows(self, conn: sa.Connection, table: str) -> dict[str, Any]:
        """The current records of ``table`` by their stored key, as rows of
        (key, every field in model order): cheaper than ``keyed`` when few are
        looked at. The stored key is the configured one once ``rekey`` ran."""
        return {row[0]: row for row in self._select(table, conn=conn, with_key=True)}

    def current_rows_of(
        self, conn: sa.Connection, table: str, keys: Iterable[str]
    ) -> dict[str, Any]:
        """``current_rows`` of only these keys (those the model holds)."""
        t = SCHEMA[table]
        columns = [t.c._key, *(t.c[f.name] for f in TABLES[table].fields)]
        keys = list(keys)
        out: dict[str, Any] = {}
        for i in range(0, len(keys), 500):
            q = sa.select(*columns).where(t.c._valid_to.is_(None))
            out.update(
                (row[0], row) for row in conn.execute(q.where(t.c._key.in_(keys[i : i + 500])))
            )
        return out

    def keyed(
        self, conn: sa.Connection, table: str, spec: Table | None = None
    ) -> dict[str, Record]:
        """The current records of ``table`` by their key (``spec``'s; default: built-in)."""
        spec = spec or TABLES[table]
        names = [f.name for f in spec.fields]
        rows = self._select(table, conn=conn, with_key=True)
        if self.model_key(conn, table) == spec.key:  # stored under this key already
            return {row[0]: dict(zip(names, row[1:], strict=True)) for row in rows}
        records = [dict(zip(names, row[1:], strict=True)) for row in rows]
        return dict(zip(record_keys(spec, records), records, strict=True))

    # ------------------------------------------------------------ keys

    def model_key(self, conn: sa.Connection, table: str) -> tuple[str, ...]:
        """The key the model's records of ``table`` are stored under."""
        t = SCHEMA["table_keys"]
        q = sa.select(t.c.key_fields).where(t.c.table_name == table)
        stored = conn.execute(q).scalar()
        return tuple(stored) if stored else TABLES[table].key

    def rekey(self, conn: sa.Connection, spec: Table, *, apply: bool = True) -> Rekey | None:
        """Store ``spec.table``'s records under ``spec.key`` if the model used another key.

        Every current record's new key is made from its stored fields; all the
        versions of that record (its history) move with it. Raises
        KeyChangeError, writing nothing, when a current record has a blank key
        field or shares its new key with another. ``apply=False`` only checks.
        None: the model uses ``spec.key`` already.
        """
        old = self.model_key(conn, spec.name)
        if old == spec.key:
            return None
        if apply:
            self.lock(conn, f"keys:{spec.name}")
            old = self.model_key(conn, spec.name)  # after the lock: what a rival wrote
            if old == spec.key:
                return None
        t = SCHEMA[spec.name]
        current = conn.execute(
            sa.select(t.c._id, t.c._key, *[t.c[k] for k in spec.key]).where(t.c._valid_to.is_(None))
        ).all()
        new_of: dict[str, str] = {}
        owners: dict[str, list[str]] = {}
        blank: list[str] = []
        for row in current:
            parts = tuple(row[2:])
            if any(v is None or v == "" for v in parts):
                blank.append(row._key)
                continue
            new = join_key(parts)
            new_of[row._key] = new
            owners.setdefault(new, []).append(row._key)
        clashes = {k: v for k, v in owners.items() if len(v) > 1}
        old_spec = with_key(TABLES[spec.name], old)
        if blank or clashes:
            raise KeyChangeError(
                spec.name,
                spec.title,
                key_title(spec),
                key_title(old_spec),
                [show_key(k) for k in blank],
                {show_key(k): [show_key(o) for o in v] for k, v in clashes.items()},
            )
        if not current:  # nothing to move (a first pull): only remember the key
            if apply:
                self._record_key(conn, spec)
            return None
        result = Rekey(spec.name, old, spec.key, len(current), key_title(spec), key_title(old_spec))
        if not apply:
            return result
        # Current versions first to unique stand-ins (the one-current-version
        # index is checked row by row), then every version to its new key.
        conn.execute(
            sa.update(t)
            .where(t.c._valid_to.is_(None))
            .values(_key=sa.literal("\x1e") + sa.cast(t.c._id, sa.Text))
        )
        closed = conn.execute(sa.select(t.c._id, t.c._key).where(t.c._valid_to.is_not(None))).all()
        moves = [{"b_id": r._id, "b_key": new_of[r._key]} for r in current]
        moves += [{"b_id": r._id, "b_key": new_of[r._key]} for r in closed if r._key in new_of]
        stmt = (
            sa.update(t).where(t.c._id == sa.bindparam("b_id")).values(_key=sa.bindparam("b_key"))
        )
        for i in range(0, len(moves), BULK_CHUNK):
            conn.execute(stmt, moves[i : i + BULK_CHUNK])
        self._record_key(conn, spec)
        return result

    def _record_key(self, conn: sa.Connection, spec: Table) -> None:
        t = SCHEMA["table_keys"]
        conn.execute(sa.delete(t).where(t.c.table_name == spec.name))
        conn.execute(
            sa.insert(t).values(
                table_name=spec.name, key_fields=list(spec.key), changed_at=utcnow()
            )
        )

    def history(
        self, table: str, key: str
    ) -> list[tuple[datetime, datetime | None, str | None, Record]]:
        """Every version of one record: (valid from, valid to, source, values)."""
        t = SCHEMA[table]
        names = [f.name for f in TABLES[table].fields]
        q = sa.select(t).where(t.c._key == key).order_by(t.c._valid_from, t.c._id)
        with self.engine.connect() as c:
            return [
                (r._valid_from, r._valid_to, r._source, {n: getattr(r, n) for n in names})
                for r in c.execute(q)
            ]

    # ------------------------------------------------------------ writing

    def apply(
        self,
        conn: sa.Connection,
        table: str,
        upserts: Iterable[Record],
        deletes: Iterable[str],
        *,
        source: str,
        at: datetime,
        replaced: Iterable[str] | None = None,
        keys: Iterable[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
        spec: Table | None = None,
        sheet_rows: list[int] | None = None,
    ) -> None:
        """Close the current versions of changed/deleted records and insert new ones.

        ``replaced``: keys of the upserts that have a current version (None: all
        of them may); passing it spares a bulk load the needless updates.
        ``spec``: the table as configured (its key makes ``keys`` when not given).
        ``sheet_rows``: the sheet row each upsert was read from (a pull).
        """
        spec = spec or TABLES[table]
        upserts = list(upserts)
        names = [f.name for f in spec.fields]
        try:  # records read from one sheet all hold the same fields
            rows = list(map(operator.itemgetter(*names), upserts))
        except KeyError:
            rows = [tuple(r.get(n) for n in names) for r in upserts]
        if keys is None:
            keys = [record_key(spec, r) for r in upserts]
        self.apply_rows(
            conn,
            table,
            names,
            rows,
            deletes,
            source=source,
            at=at,
            replaced=replaced,
            keys=keys,
            progress=progress,
            sheet_rows=sheet_rows,
        )

    def apply_rows(
        self,
        conn: sa.Connection,
        table: str,
        fields: list[str],
        rows: list[tuple],
        deletes: Iterable[str],
        *,
        source: str,
        at: datetime,
        keys: Iterable[str],
        replaced: Iterable[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
        sheet_rows: list[int] | None = None,
    ) -> None:
        """``apply`` for records given as value tuples in ``fields`` order (the
        fields left out are stored blank); ``keys`` are their record keys,
        ``sheet_rows`` the rows they were read from (a pull; None: unknown)."""
        t = SCHEMA[table]
        keys = list(keys)
        closing = list(keys) if replaced is None else list(replaced)
        closing += list(deletes)
        for i in range(0, len(closing), 500):
            chunk = closing[i : i + 500]
            conn.execute(
                sa.update(t)
                .where(t.c._key.in_(chunk))
                .where(t.c._valid_to.is_(None))
                .values(_valid_to=at)
            )
        if rows:  # _valid_to stays NULL: the new versions are current
            constants = {"_valid_from": at, "_source": source}
            _bulk_insert(conn, t, keys, fields, rows, constants, progress, sheet_rows)

    def add_snapshot(
        self,
        conn: sa.Connection,
        *,
        source: str,
        kind: str,
        at: datetime,
        content_hash: str | None,
        summary: dict[str, Any],
        values: dict[str, list[Record]] | bytes | None,
        keys: dict[str, tuple[str, ...]] | None = None,
        layout: dict[str, Any] | None = None,
    ) -> int:
        """Record a pull/push/sync; ``values`` are the records, or ``encode_values`` of them
        (``keys``: each table's key, when ``values`` are records). ``layout``: a
        pull's sheet and field columns per table (see SCHEMA["snapshots"])."""
        t = SCHEMA["snapshots"]
        res = conn.execute(
            sa.insert(t).values(
                taken_at=at,
                source=source,
                kind=kind,
                content_hash=content_hash,
                summary=summary,
                layout=layout,
                values_z=(
                    values
                    if isinstance(values, bytes) or values is None
                    else encode_values(values, keys)
                ),
            )
        )
        return int(res.inserted_primary_key[0])

    def source_binding(self, conn: sa.Connection, source: str) -> str | None:
        """The file or spreadsheet ``source`` was last synced from (None: not yet bound)."""
        t = SCHEMA["source_bindings"]
        return conn.execute(sa.select(t.c.binding).where(t.c.source == source)).scalar()

    def bind_source(self, conn: sa.Connection, source: str, binding: str, at: datetime) -> None:
        """Record that ``source`` is ``binding`` from now on (call under its lock)."""
        t = SCHEMA["source_bindings"]
        old = self.source_binding(conn, source)
        if old == binding:
            return
        if old is None:
            conn.execute(sa.insert(t).values(source=source, binding=binding, bound_at=at))
        else:
            conn.execute(
                sa.update(t).where(t.c.source == source).values(binding=binding, bound_at=at)
            )

    def repeat_snapshot(
        self,
        conn: sa.Connection,
        snapshot_id: int,
        *,
        at: datetime,
        summary: dict[str, Any],
        content_hash: str | None,
        layout: dict[str, Any] | None = None,
    ) -> int:
        """Record a pull that read the values snapshot ``snapshot_id`` holds:
        a new snapshot of the same source and values (copied inside the
        database, never decoded), taken ``at``. ``layout``: where this read
        found them (None: where that snapshot's read did, copied too)."""
        t = SCHEMA["snapshots"]
        old = sa.select(
            sa.literal(at, sa.DateTime),
            t.c.source,
            sa.literal("pull"),
            sa.literal(content_hash, sa.String(128)),
            sa.literal(summary, sa.JSON),
            t.c.values_z,
            t.c.layout if layout is None else sa.literal(layout, t.c.layout.type),
        ).where(t.c.id == snapshot_id)
        columns = ["taken_at", "source", "kind", "content_hash", "summary", "values_z", "layout"]
        res = conn.execute(sa.insert(t).from_select(columns, old).returning(t.c.id))
        return int(res.scalar_one())

    def table_state(self, conn: sa.Connection, table: str) -> list[Any]:
        """What changes whenever ``table``'s current records do: the number of
        versions (a write adds one per record, none is ever removed), of
        current versions (a deletion only closes one) and the key they are
        stored under (a re-key only renames)."""
        t = SCHEMA[table]
        versions = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
        current = conn.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c._valid_to.is_(None))
        ).scalar()
        return [versions, current, list(self.model_key(conn, table))]

    # ------------------------------------------------------------ baselines

    def save_baseline(
        self, name: str, as_of: date, known_at: datetime, records: dict[str, list[Record]]
    ) -> Baseline:
        """Keep a copy of ``records`` (the plan as of ``as_of``) under ``name``.

        The copy holds every field, so it survives later pulls, key changes and
        migrations. Raises UsageError when the name is taken.
        """
        t = SCHEMA["baselines"]
        saved = utcnow()
        with self.transaction() as conn:
            self.lock(conn, f"baseline:{name}")
            if conn.execute(sa.select(t.c.name).where(t.c.name == name)).first():
                raise UsageError(
                    f"a baseline named {name!r} exists already",
                    hint=f"choose another name, or `sheetsync baseline drop {name}` first",
                )
            conn.execute(
                sa.insert(t).values(
                    name=name,
                    as_of=as_of,
                    known_at=known_at,
                    saved_at=saved,
                    values_z=encode_values(records),
                )
            )
        return Baseline(name, as_of, known_at, saved, {k: len(v) for k, v in records.items()})

    def baselines(self) -> list[Baseline]:
        """The saved baselines, oldest plan first."""
        t = SCHEMA["baselines"]
        q = sa.select(t.c.name, t.c.as_of, t.c.known_at, t.c.saved_at, t.c.values_z)
        with self.engine.connect() as c:
            rows = c.execute(q.order_by(t.c.as_of, t.c.name)).all()
        return [
            Baseline(
                r.name,
                r.as_of,
                r.known_at,
                r.saved_at,
                {k: len(v["rows"]) for k, v in _load_values(r.values_z).items()},
            )
            for r in rows
        ]

    def baseline_records(self, name: str) -> tuple[Baseline, dict[str, list[Record]]]:
        """A saved baseline and its records; UsageError when there is none by that name."""
        t = SCHEMA["baselines"]
        with self.engine.connect() as c:
            row = c.execute(sa.select(t).where(t.c.name == name)).first()
        if row is None:
            known = [b.name for b in self.baselines()]
            raise UsageError(
                f"no baseline named {name!r}"
                + (f"; the model holds {', '.join(known)}" if known else ""),
                hint="save one with `sheetsync baseline save NAME`",
            )
        records = decode_values(row.values_z)
        counts = {k: len(v) for k, v in records.items()}
        return Baseline(row.name, row.as_of, row.known_at, row.saved_at, counts), records

    def drop_baseline(self, name: str) -> None:
        """Forget a saved baseline (UsageError when there is none by that name)."""
        self.baseline_records(name)
        t = SCHEMA["baselines"]
        with self.transaction() as conn:
            conn.execute(sa.delete(t).where(t.c.name == name))

    # ------------------------------------------------------------ snapshots

    def last_write_at(self, conn: sa.Connection | None = None) -> datetime | None:
        """When the model last changed: its newest record version or snapshot (None: empty)."""
        snaps = SCHEMA["snapshots"]
        queries = [
            sa.select(sa.func.max(sa.func.coalesce(SCHEMA[n].c._valid_to, SCHEMA[n].c._valid_from)))
            for n in TABLES
        ]  # a deleted record's _valid_to is a write too
        queries.append(sa.select(sa.func.max(snaps.c.taken_at)))
        if conn is None:
            with self.engine.connect() as c:
                times = [c.execute(q).scalar() for q in queries]
        else:
            times = [conn.execute(q).scalar() for q in queries]
        return max((t for t in times if t is not None), default=None)

    def first_version_at(self) -> datetime | None:
        """When the model's oldest record version was written (None: empty model)."""
        with self.engine.connect() as c:
            times = [
                c.execute(sa.select(sa.func.min(SCHEMA[n].c._valid_from))).scalar() for n in TABLES
            ]
        return min((t for t in times if t is not None), default=None)

    def snapshots(self, source: str | None = None, limit: int = 50) -> list[Snapshot]:
        t = SCHEMA["snapshots"]
        q = sa.select(t.c.id, t.c.taken_at, t.c.source, t.c.kind, t.c.content_hash, t.c.summary)
        if source:
            q = q.where(t.c.source == source)
        q = q.order_by(t.c.id.desc()).limit(limit)
        with self.engine.connect() as c:
            return [Snapshot(*row) for row in c.execute(q)]

    def snapshot_keys(
        self,
        snapshot_id: int,
        conn: sa.Connection | None = None,
        specs: dict[str, Table] | None = None,
    ) -> dict[str, set[str]]:
        """The record keys a snapshot holds, per table (cheaper than its values).

        Keys are made with ``specs``' keys (default: built-in), whatever key
        the snapshot was taken under; see ``_snapshot_table_keys``.
        """
        t = SCHEMA["snapshots"]
        q = sa.select(t.c.values_z).where(t.c.id == snapshot_id)
        if conn is not None:
            blob = conn.execute(q).scalar()
        else:
            with self.engine.connect() as c:
                blob = c.execute(q).scalar()
        if not blob:
            return {}
        out = {}
        for name, part in _load_values(blob).items():
            spec = (specs or {}).get(name) or TABLES[name]
            if all(k in part["fields"] for k in spec.key):
                out[name] = _part_keys(part, spec.key)
                continue
            # Taken under another key, without this key's fields: the records
            # it held, found among the current ones by that key.
            then = with_key(TABLES[name], tuple(part.get("key") or TABLES[name].key))
            held = _part_keys(part, then.key)
            if conn is None:
                with self.engine.connect() as c:
                    records = self.records(name, conn=c)
            else:
                records = self.records(name, conn=conn)
            out[name] = {
                new
                for old, new in zip(
                    record_keys(then, records), record_keys(spec, records), strict=True
                )
                if old in held
            }
        return out

    def snapshot_rows(
        self, snapshot_id: int, conn: sa.Connection
    ) -> dict[str, tuple[list[str], list[list]]]:
        """A snapshot's values per table as (fields, one list per record, in
        ``fields`` order), dates as dates: what ``encode_rows`` was given."""
        t = SCHEMA["snapshots"]
        blob = conn.execute(sa.select(t.c.values_z).where(t.c.id == snapshot_id)).scalar()
        out = {}
        for name, part in (_load_values(blob) if blob else {}).items():
            fields, rows = part["fields"], part["rows"]
            dates = [
                i for i, f in enumerate(fields) if TABLES[name].field_by_name[f].kind == "date"
            ]
            seen: dict[Any, Any] = {None: None}
            for row in rows if dates else ():  # in place: no second copy of a big table
                for i in dates:
                    v = row[i]
                    row[i] = seen[v] if v in seen else seen.setdefault(v, date.fromisoformat(v))
            out[name] = (fields, rows)
        return out

    def snapshot_values(self, snapshot_id: int) -> dict[str, list[Record]]:
        t = SCHEMA["snapshots"]
        with self.engine.connect() as c:
            blob = c.execute(sa.select(t.c.values_z).where(t.c.id == snapshot_id)).scalar()
        return decode_values(blob)

    def first_read_between(self, after: datetime, until: datetime) -> datetime | None:
        """When the first snapshot taken after ``after`` and by ``until`` was taken."""
        t = SCHEMA["snapshots"]
        q = sa.select(sa.func.min(t.c.taken_at)).where(t.c.taken_at > after, t.c.taken_at <= until)
        with self.engine.connect() as c:
            return c.execute(q).scalar()

    def read_snapshots(self, cutoff: datetime, *, first: bool = False) -> list[Snapshot]:
        """Per source, the last snapshot taken at or before ``cutoff`` (with ``first``:
        each source's first snapshot): which reads a plan as of a day reflects."""
        t = SCHEMA["snapshots"]
        pick = sa.func.min(t.c.id) if first else sa.func.max(t.c.id)
        ids = sa.select(pick).group_by(t.c.source)
        if not first:
            ids = ids.where(t.c.taken_at <= cutoff)
        q = sa.select(
            t.c.id, t.c.taken_at, t.c.source, t.c.kind, t.c.content_hash, t.c.summary
        ).where(t.c.id.in_(ids))
        with self.engine.connect() as c:
            return [Snapshot(*row) for row in c.execute(q.order_by(t.c.source))]

    def last_snapshot(
        self,
        source: str,
        kinds: tuple[str, ...] = ("pull", "push", "sync"),
        conn: sa.Connection | None = None,
    ) -> Snapshot | None:
        t = SCHEMA["snapshots"]
        q = (
            sa.select(t.c.id, t.c.taken_at, t.c.source, t.c.kind, t.c.content_hash, t.c.summary)
            .where(t.c.source == source)
            .where(t.c.kind.in_(kinds))
            .order_by(t.c.id.desc())
            .limit(1)
        )
        if conn is not None:
            row = conn.execute(q).first()
        else:
            with self.engine.connect() as c:
                row = c.execute(q).first()
        return Snapshot(*row) if row else None


def _valid_at(t: sa.Table, q: sa.Select, as_of: datetime | None) -> sa.Select:
    """``q`` limited to the versions valid now (None) or at ``as_of``."""
    if as_of is None:
        return q.where(t.c._valid_to.is_(None))
    return q.where(t.c._valid_from <= as_of).where(
        sa.or_(t.c._valid_to.is_(None), t.c._valid_to > as_of)
    )


LOCK_NAMESPACE = 0x5EE7  # advisory locks: sheetsync's first key (see migrations)
_BUSY_TIMEOUT_MS = 30000
# Execution option read by _sqlite_begin: this transaction takes the write lock now.
_IMMEDIATE = {"sheetsync_begin": "BEGIN IMMEDIATE"}


def _engine_url(url: str) -> sa.URL:
    """Parse a --db URL; plain postgresql:// (and postgres://) use psycopg 3."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _busy_message(name: str) -> str:
    kind, _, what = name.partition(":")
    if kind == "source" and what:
        return (
            f"another sheetsync is syncing source {what!r} into this model; "
            "try again when it has finished"
        )
    if kind == "send" and what:
        return (
            f"another sheetsync is sending {what!r} from this model; try again when it has finished"
        )
    return f"another sheetsync holds {name!r} in this model; try again when it has finished"


def _current_version_clash(e: sa.exc.IntegrityError) -> str | None:
    """The record table whose one-current-version index ``e`` violates, if any."""
    msg = str(e.orig)
    for name in TABLES:
        if f"uq_{name}_current_key" in msg or f"{name}._key" in msg:
            return name
    return None


def _sqlite_busy(e: sa.exc.OperationalError) -> bool:
    return "database is locked" in str(e.orig) or "database is busy" in str(e.orig)


def _first_line(e: BaseException | None) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level; _sqlite_begin emits BEGIN itself, so
    # transactions (and DDL in migrations) behave as SQLAlchemy says they do.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")  # first: the next line may wait
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get("sheetsync_begin", "BEGIN"))


BULK_CHUNK = 20_000  # rows per progress report


def _bulk_insert(
    conn: sa.Connection,
    t: sa.Table,
    keys: list[str],
    names: list[str],
    rows: list[tuple],
    constants: dict[str, Any],
    progress: Callable[[int, int], None] | None = None,
    sheet_rows: list[int] | None = None,
) -> None:
    """Insert new current versions: ``keys[i]`` with ``rows[i]`` (values in
    ``names`` order), ``sheet_rows[i]`` as ``_row`` when given, and
    ``constants`` (the same in every row), without SQLAlchemy's per-row
    statement machinery (3× faster). SQLite gets many rows per INSERT
    statement; other databases the driver's executemany."""
    dialect = conn.dialect
    per_row = {"_key": keys}
    if sheet_rows is not None:
        per_row["_row"] = sheet_rows
    rows = _bind_values(t, dialect, names, rows)
    fixed = {}
    for name, value in constants.items():
        p = _processor(t.c[name], dialect)
        fixed[name] = p(value) if p is not None else value
    if dialect.name == "sqlite":
        _sqlite_bulk_insert(conn, t, per_row, names, rows, fixed, progress)
        return
    quote = dialect.identifier_preparer.quote
    tail = tuple(fixed.values())
    params = [
        (*lead, *row, *tail)
        for lead, row in zip(zip(*per_row.values(), strict=True), rows, strict=True)
    ]
    all_names = [*per_row, *names, *fixed]
    marks = ", ".join(["%s"] * len(all_names))
    sql = f"INSERT INTO {quote(t.name)} ({', '.join(map(quote, all_names))}) VALUES ({marks})"
    total = len(params)
    for start in range(0, total, BULK_CHUNK):
        conn.exec_driver_sql(sql, params[start : start + BULK_CHUNK])
        if progress:
            progress(min(start + BULK_CHUNK, total), total)


# Column types whose bind conversion is the identity for these Python types.
_NATIVE: dict[type, set[type]] = {
    sa.Float: {float, type(None)},
    sa.Boolean: {bool, type(None)},
}


def _processor(column: sa.Column, dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """SQLAlchemy's conversion of a Python value for ``column`` on ``dialect``."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _bind_values(t: sa.Table, dialect: sa.Dialect, names: list[str], rows: list[tuple]) -> list:
    """``rows`` with SQLAlchemy's bind conversions applied, column by column and
    once per distinct value (most repeat), skipping the columns whose values the
    driver takes as they are (mapped numbers are floats already)."""
    todo = {}
    for i, name in enumerate(names):
        p = _processor(t.c[name], dialect)
        if p is None:
            continue
        native = _NATIVE.get(type(t.c[name].type))
        if native and set(map(type, map(operator.itemgetter(i), rows))) <= native:
            continue
        todo[i] = p
    if not todo or not rows:
        return rows
    columns = list(zip(*rows, strict=True))
    for i, p in todo.items():
        seen: dict[Any, Any] = {None: None}
        columns[i] = [seen[v] if v in seen else seen.setdefault(v, p(v)) for v in columns[i]]
    return list(zip(*columns, strict=True))


def _sqlite_bulk_insert(
    conn: sa.Connection,
    t: sa.Table,
    per_row: dict[str, list],
    names: list[str],
    rows: list[tuple],
    constants: dict[str, Any],
    progress: Callable[[int, int], None] | None,
) -> None:
    """Many rows per statement with numbered parameters: the constants are ?1,
    ?2 …, then the statement's keys (and sheet rows: ``per_row``'s lists, one
    value per row), then its rows' values, so no row tuple is rebuilt (a third
    faster than one INSERT per row)."""
    quote = conn.dialect.identifier_preparer.quote
    width, lead, extra = len(names), len(constants), len(per_row)
    limit = conn.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(500, (limit - lead) // (width + extra)))
    columns = ", ".join(map(quote, [*constants, *per_row, *names]))
    head = f"INSERT INTO {quote(t.name)} ({columns}) VALUES "
    consts = [f"?{i + 1}" for i in range(lead)]

    def statement(n: int) -> str:
        values = lead + extra * n  # parameters before the first row's values
        groups = (
            "("
            + ", ".join(
                [
                    *consts,
                    *(f"?{lead + e * n + r + 1}" for e in range(extra)),
                    *(f"?{values + r * width + c + 1}" for c in range(width)),
                ]
            )
            + ")"
            for r in range(n)
        )
        return head + ", ".join(groups)

    lead_values = tuple(constants.values())
    lists = list(per_row.values())

    def params(start: int, stop: int) -> tuple:
        heads = chain.from_iterable(x[start:stop] for x in lists)
        return (*lead_values, *heads, *chain.from_iterable(rows[start:stop]))

    total = len(rows)
    full = total - total % per
    sql = statement(per)
    for start in range(0, full, BULK_CHUNK):
        stop = min(start + BULK_CHUNK, full)
        conn.exec_driver_sql(sql, [params(i, i + per) for i in range(start, stop, per)])
        if progress:
            progress(stop, total)
    if full < total:
        conn.exec_driver_sql(statement(total - full), params(full, total))
        if progress:
            progress(total, total)

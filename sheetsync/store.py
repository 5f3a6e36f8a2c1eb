"""The model's storage: schema, versioned records, snapshots (SQLAlchemy 2 Core).

Every model table keeps its history in place: a record version is a row with
``_valid_from`` and ``_valid_to`` (NULL while current), so the model as of any
moment is one query, and week-over-week comes free. Every pull or sync adds a
``snapshots`` row: when, which source, the content hash and the values read.
SQLite is the default (a file beside the config); PostgreSQL for a shared model.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .errors import ConfigError
from .model import TABLES, Record, Table

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
        ]
        cols += [sa.Column(f.name, _KIND_TYPES[f.kind]) for f in spec.fields]
        t = sa.Table(spec.name, md, *cols)
        sa.Index(f"ix_{spec.name}_current", t.c._key, t.c._valid_to)
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
    )
    tables["sends"] = sa.Table(
        "sends",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("period", sa.String(64), nullable=False),  # e.g. "2026-W49"
        sa.Column("group_name", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("pack_hash", sa.String(128), nullable=False),  # content of the pack
        sa.Column("status", sa.String(20), nullable=False),  # sending | sent | failed
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("first_attempt_at", sa.DateTime),
        sa.Column("last_attempt_at", sa.DateTime),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("message_id", sa.String(400)),
        sa.Column("subject", sa.Text),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("period", "recipient", "pack_hash", name="uq_sends_period_recipient_pack"),
    )
    return md, tables


METADATA, SCHEMA = _build_metadata()


def utcnow() -> datetime:
    """Naive UTC now, the timestamps stored in the model."""
    return datetime.now(UTC).replace(tzinfo=None)


def record_key(table: Table, record: Record) -> str:
    """The stored identity of a record: its key fields, JSON-encoded."""
    return json.dumps([_jsonable(record.get(k)) for k in table.key], ensure_ascii=False)


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


def encode_values(tables: dict[str, list[Record]]) -> bytes:
    """Compact, compressed form of records for a snapshot."""
    out = {}
    for name, records in tables.items():
        names = [f.name for f in TABLES[name].fields]
        out[name] = {
            "fields": names,
            "rows": [[_jsonable(r.get(n)) for n in names] for r in records],
        }
    return zlib.compress(json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode(), 1)


def decode_values(blob: bytes | None) -> dict[str, list[Record]]:
    if not blob:
        return {}
    data = json.loads(zlib.decompress(blob))
    out: dict[str, list[Record]] = {}
    for name, part in data.items():
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


class Store:
    """The model: a SQLAlchemy engine over SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) not in ("", ":memory:"):
                path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, ImportError) as e:
            raise ConfigError(
                f"--db {url!r} is not a database URL sheetsync can use ({e})"
            ) from None
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            METADATA.create_all(self.engine)
        except sa.exc.OperationalError as e:
            raise ConfigError(f"cannot open the model at {url}: {e.orig}") from None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One all-or-nothing unit of work."""
        with self.engine.begin() as conn:
            yield conn

    # ------------------------------------------------------------ reading

    def records(
        self, table: str, as_of: datetime | None = None, conn: sa.Connection | None = None
    ) -> list[Record]:
        """Records of ``table`` as they are now, or as they were at ``as_of``."""
        t = SCHEMA[table]
        spec = TABLES[table]
        q = sa.select(*[t.c[f.name] for f in spec.fields])
        if as_of is None:
            q = q.where(t.c._valid_to.is_(None))
        else:
            q = q.where(t.c._valid_from <= as_of).where(
                sa.or_(t.c._valid_to.is_(None), t.c._valid_to > as_of)
            )
        q = q.order_by(t.c._id)
        if conn is not None:
            return [dict(row._mapping) for row in conn.execute(q)]
        with self.engine.connect() as c:
            return [dict(row._mapping) for row in c.execute(q)]

    def all_records(self, as_of: datetime | None = None) -> dict[str, list[Record]]:
        """Every table's records, now or at ``as_of``."""
        with self.engine.connect() as c:
            return {name: self.records(name, as_of, c) for name in TABLES}

    def keyed(self, conn: sa.Connection, table: str) -> dict[str, Record]:
        spec = TABLES[table]
        return {record_key(spec, r): r for r in self.records(table, conn=conn)}

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
    ) -> None:
        """Close the current versions of changed/deleted records and insert new ones."""
        t = SCHEMA[table]
        spec = TABLES[table]
        rows = [
            {
                "_key": record_key(spec, r),
                "_valid_from": at,
                "_valid_to": None,
                "_source": source,
                **{f.name: r.get(f.name) for f in spec.fields},
            }
            for r in upserts
        ]
        closing = [r["_key"] for r in rows] + list(deletes)
        for i in range(0, len(closing), 500):
            chunk = closing[i : i + 500]
            conn.execute(
                sa.update(t)
                .where(t.c._key.in_(chunk))
                .where(t.c._valid_to.is_(None))
                .values(_valid_to=at)
            )
        if rows:
            conn.execute(sa.insert(t), rows)

    def add_snapshot(
        self,
        conn: sa.Connection,
        *,
        source: str,
        kind: str,
        at: datetime,
        content_hash: str | None,
        summary: dict[str, Any],
        values: dict[str, list[Record]] | None,
    ) -> int:
        t = SCHEMA["snapshots"]
        res = conn.execute(
            sa.insert(t).values(
                taken_at=at,
                source=source,
                kind=kind,
                content_hash=content_hash,
                summary=summary,
                values_z=encode_values(values) if values is not None else None,
            )
        )
        return int(res.inserted_primary_key[0])

    # ------------------------------------------------------------ snapshots

    def snapshots(self, source: str | None = None, limit: int = 50) -> list[Snapshot]:
        t = SCHEMA["snapshots"]
        q = sa.select(t.c.id, t.c.taken_at, t.c.source, t.c.kind, t.c.content_hash, t.c.summary)
        if source:
            q = q.where(t.c.source == source)
        q = q.order_by(t.c.id.desc()).limit(limit)
        with self.engine.connect() as c:
            return [Snapshot(*row) for row in c.execute(q)]

    def snapshot_values(self, snapshot_id: int) -> dict[str, list[Record]]:
        t = SCHEMA["snapshots"]
        with self.engine.connect() as c:
            blob = c.execute(sa.select(t.c.values_z).where(t.c.id == snapshot_id)).scalar()
        return decode_values(blob)

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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()

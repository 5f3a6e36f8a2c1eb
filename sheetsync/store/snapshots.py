"""Snapshots: the log of every pull, push and sync (when, which source, what it read) and source bindings.

Every pull or sync adds a ``snapshots`` row: when, which source, the content
hash, a summary and the values read (``sheetsync.store.codec``); a pull also
keeps where it found each table (its layout). ``source_bindings`` remembers
which file or spreadsheet each source was read from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..model import Record
from ..schema import SCHEMA
from .codec import encode_values


@dataclass(frozen=True)
class Snapshot:
    id: int
    taken_at: datetime
    source: str
    kind: str
    content_hash: str | None
    summary: dict[str, Any]


class SnapshotWrites:
    """Store part: recording a pull, push or sync."""

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


class SnapshotLog:
    """Store part: which snapshots were taken, and when."""

    def snapshots(self, source: str | None = None, limit: int = 50) -> list[Snapshot]:
        t = SCHEMA["snapshots"]
        q = sa.select(t.c.id, t.c.taken_at, t.c.source, t.c.kind, t.c.content_hash, t.c.summary)
        if source:
            q = q.where(t.c.source == source)
        q = q.order_by(t.c.id.desc()).limit(limit)
        with self.engine.connect() as c:
            return [Snapshot(*row) for row in c.execute(q)]

    def snapshot_layout(self, snapshot_id: int, conn: sa.Connection) -> dict[str, Any] | None:
        """Where snapshot ``snapshot_id``'s read found each table (see SCHEMA["snapshots"]);
        None when it kept none (a push or sync, or a pull before revision 0011_cells)."""
        t = SCHEMA["snapshots"]
        return conn.execute(sa.select(t.c.layout).where(t.c.id == snapshot_id)).scalar()

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


class SourceBindings:
    """Store part: which file or spreadsheet each source is."""

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

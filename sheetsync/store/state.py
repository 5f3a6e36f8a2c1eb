"""The model's state without its records: whether it holds any, when it changed, digests of it.

Cheap questions a command asks before (or instead of) reading records: a
report's cache key (``versions_digest``), whether a table changed
(``table_state``), when the model was last written or first read.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..model import TABLES
from ..schema import SCHEMA
from .reads import valid_at


class ModelState:
    """Store part: what changed, and when, without reading a record."""

    def has_records(self, as_of: datetime) -> bool:
        """Whether any table held a record at ``as_of``."""
        with self.engine.connect() as c:
            for name in TABLES:
                t = SCHEMA[name]
                if c.execute(valid_at(t, sa.select(t.c._id), as_of).limit(1)).first():
                    return True
        return False

    def versions_digest(self, as_of: datetime) -> str:
        """A digest of which record versions were valid at ``as_of``: it changes
        whenever ``all_records(as_of)`` would, without reading a record.

        A version is only ever added (with an id larger than every earlier one)
        or closed (its ``_valid_to`` set, once); its values never change and it
        is never deleted. So the set valid at a moment only loses ids it had
        and gains new, larger ones: with as many in as out, the ids' sum grows.
        Per table, the count and the sum of the ids therefore name the set.
        """
        h = hashlib.sha256(b"sheetsync-versions-v1\0")
        with self.engine.connect() as c:
            for name in TABLES:
                t = SCHEMA[name]
                q = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(t.c._id), 0))
                n, total = c.execute(valid_at(t, q, as_of)).one()
                h.update(f"{name}:{int(n)}:{int(total)}\0".encode())
        return h.hexdigest()

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

    def first_read_between(self, after: datetime, until: datetime) -> datetime | None:
        """When the first snapshot taken after ``after`` and by ``until`` was taken."""
        t = SCHEMA["snapshots"]
        q = sa.select(sa.func.min(t.c.taken_at)).where(t.c.taken_at > after, t.c.taken_at <= until)
        with self.engine.connect() as c:
            return c.execute(q).scalar()

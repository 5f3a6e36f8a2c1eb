"""Writes of record versions: close the current versions of changed records, insert new ones.

A record is never updated in place: ``apply`` sets the old version's
``_valid_to`` and inserts the new version as current, so the model as of any
moment stays one query (``sheetsync.store.reads``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa

from ..model import TABLES, Record, Table
from ..schema import SCHEMA
from .bulk import bulk_insert
from .keys import record_key


class RecordWrites:
    """Store part: writing record versions (inside ``transaction()``)."""

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
            bulk_insert(conn, t, keys, fields, rows, constants, progress, sheet_rows)

"""A snapshot's values read back: its record keys, its records, a chunk of rows at a time.

What a snapshot read is kept encoded (``sheetsync.store.codec``); these read
it without decoding more than asked: the keys it holds (``snapshot_keys``),
its rows a chunk at a time (``snapshot_chunks``), or all its records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa

from ..model import TABLES, Record, Table, key_texts, with_key
from ..schema import SCHEMA
from .codec import decode_values, iter_values, load_values
from .keys import record_keys


def _part_keys(part: dict[str, Any], key: tuple[str, ...]) -> set[str]:
    """The keys (made with ``key``) of a snapshot table's rows."""
    return set(key_texts(part["rows"], [part["fields"].index(k) for k in key]))


class SnapshotValues:
    """Store part: the values a snapshot holds."""

    def _values_blob(self, snapshot_id: int, conn: sa.Connection | None) -> bytes | None:
        t = SCHEMA["snapshots"]
        q = sa.select(t.c.values_z).where(t.c.id == snapshot_id)
        if conn is not None:
            return conn.execute(q).scalar()
        with self.engine.connect() as c:
            return c.execute(q).scalar()

    def snapshot_keys(
        self,
        snapshot_id: int,
        conn: sa.Connection | None = None,
        specs: dict[str, Table] | None = None,
        among: dict[str, set[str]] | None = None,
    ) -> dict[str, set[str]]:
        """The record keys a snapshot holds, per table (cheaper than its values;
        read a chunk of rows at a time). ``among``: only these keys of these
        tables are looked for (the others' keys are never all held).

        Keys are made with ``specs``' keys (default: built-in), whatever key
        the snapshot was taken under: a table taken under another key, without
        this key's fields, is matched through the current records."""
        blob = self._values_blob(snapshot_id, conn)
        out: dict[str, set[str]] = {}
        foreign = False
        for name, fields, rows in iter_values(blob):
            if among is not None and name not in among:
                continue
            spec = (specs or {}).get(name) or TABLES[name]
            found = out.setdefault(name, set())
            if not all(k in fields for k in spec.key):
                foreign = True
                continue
            keys = key_texts(rows, [fields.index(k) for k in spec.key])
            found.update(keys if among is None else among[name].intersection(keys))
        if foreign:  # rare (a key changed): the stored key comes after the rows
            for name, part in load_values(blob).items():  # type: ignore[arg-type]
                spec = (specs or {}).get(name) or TABLES[name]
                if name in out and not all(k in part["fields"] for k in spec.key):
                    out[name] = self._keys_by_old_key(name, part, spec, conn)
                    if among is not None:
                        out[name] &= among[name]
        return out

    def _keys_by_old_key(
        self, name: str, part: dict[str, Any], spec: Table, conn: sa.Connection | None
    ) -> set[str]:
        """The keys (``spec``'s) of the current records a snapshot table taken
        under another key, without ``spec``'s fields, held."""
        then = with_key(TABLES[name], tuple(part.get("key") or TABLES[name].key))
        held = _part_keys(part, then.key)
        if conn is None:
            with self.engine.connect() as c:
                records = self.records(name, conn=c)
        else:
            records = self.records(name, conn=conn)
        return {
            new
            for old, new in zip(record_keys(then, records), record_keys(spec, records), strict=True)
            if old in held
        }

    def snapshot_chunks(
        self, snapshot_id: int, conn: sa.Connection
    ) -> Iterator[tuple[str, list[str], list[list]]]:
        """A snapshot's values, ``VALUES_CHUNK`` or so rows at a time: (table,
        fields, one list per record in ``fields`` order), dates as dates, in
        stored order (what ``encode_rows`` was given); see ``iter_values``."""
        kinds: dict[str, list[int]] = {}
        seen: dict[Any, Any] = {None: None}
        for name, fields, rows in iter_values(self._values_blob(snapshot_id, conn)):
            if name not in kinds:
                field_of = TABLES[name].field_by_name
                kinds[name] = [i for i, f in enumerate(fields) if field_of[f].kind == "date"]
            dates = kinds[name]
            for row in rows if dates else ():  # in place: no second copy
                for i in dates:
                    v = row[i]
                    row[i] = seen[v] if v in seen else seen.setdefault(v, date.fromisoformat(v))
            yield name, fields, rows

    def snapshot_values(self, snapshot_id: int) -> dict[str, list[Record]]:
        t = SCHEMA["snapshots"]
        with self.engine.connect() as c:
            blob = c.execute(sa.select(t.c.values_z).where(t.c.id == snapshot_id)).scalar()
        return decode_values(blob)

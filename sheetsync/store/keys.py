"""Record keys: a record's stored identity, how it is shown, and re-keying a table's records.

A record version's ``_key`` is its key fields' text, joined (``record_key``);
a table whose configured key is not the built-in one has its records moved to
that key once (``Store.rekey``), and the ``table_keys`` table remembers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import KeyChangeError
from ..model import (
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
from ..schema import SCHEMA, utcnow
from .bulk import BULK_CHUNK


def record_keys(table: Table, records: list[Record]) -> list[str]:
    """``record_key`` of many records at once."""
    try:
        return key_texts(records, list(table.key))
    except KeyError:
        return [record_key(table, r) for r in records]


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


class Keys:
    """Store part: the key each table's records are stored under, and moving them to another."""

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

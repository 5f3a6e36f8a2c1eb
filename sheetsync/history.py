"""What changed in the model, and when: a record's log and a period's changes.

Every record version keeps when it was written (``_valid_from``), when it was
replaced (``_valid_to``) and by which source, so history is a query. One
function compares two states of records, :func:`diff_keyed`: the report's
"what changed" section and ``sheetsync changes`` both go through it (the
first over the whole plan a week apart, the second over the versions a
period touched, read from the store without loading every record).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from .model import KEY_JOIN, KEY_SEPARATOR, TABLES, Record, Table
from .store import SCHEMA, Store, record_keys, show_key

ADDED, CHANGED, REMOVED = "new", "changed", "removed"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class RecordChange:
    """One record that is new, changed or gone between two states."""

    table: str
    key: str  # stored key
    kind: str  # new | changed | removed
    before: Record | None
    after: Record | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def shown_key(self) -> str:
        return show_key(self.key)


@dataclass
class TableChanges:
    table: str
    added: list[RecordChange] = field(default_factory=list)
    changed: list[RecordChange] = field(default_factory=list)
    removed: list[RecordChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def keys(self, kind: str) -> set[str]:
        return {c.key for c in getattr(self, {ADDED: "added", CHANGED: "changed"}.get(kind, kind))}


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)
    return False


def field_changes(before: Record, after: Record, fields: Sequence[str]) -> tuple[FieldChange, ...]:
    """The fields whose value differs between two versions of one record."""
    return tuple(
        FieldChange(f, before.get(f), after.get(f))
        for f in fields
        if not _same(before.get(f), after.get(f))
    )


def diff_keyed(
    table: str, before: Mapping[str, Record], after: Mapping[str, Record]
) -> TableChanges:
    """New, changed and removed records between two states of one table (records
    by stored key). THE comparison behind ``changes`` and the report's section."""
    names = [f.name for f in TABLES[table].fields]
    out = TableChanges(table)
    for key in sorted(after.keys() - before.keys()):
        out.added.append(RecordChange(table, key, ADDED, None, after[key]))
    for key in sorted(before.keys() & after.keys()):
        diffs = field_changes(before[key], after[key], names)
        if diffs:
            out.changed.append(RecordChange(table, key, CHANGED, before[key], after[key], diffs))
    for key in sorted(before.keys() - after.keys()):
        out.removed.append(RecordChange(table, key, REMOVED, before[key], None))
    return out


def diff_records(
    before: Mapping[str, list[Record]],
    after: Mapping[str, list[Record]],
    specs: Mapping[str, Table] | None = None,
) -> dict[str, TableChanges]:
    """``diff_keyed`` of every table of two whole states (e.g. the plan a week apart),
    records matched by their key under ``specs`` (default: built-in keys)."""
    out = {}
    for name in TABLES:
        spec = (specs or {}).get(name) or TABLES[name]
        b, a = list(before.get(name, [])), list(after.get(name, []))
        out[name] = diff_keyed(
            name,
            dict(zip(record_keys(spec, b), b, strict=True)),
            dict(zip(record_keys(spec, a), a, strict=True)),
        )
    return out


# --------------------------------------------------------------------------- from the store


def _touched(
    conn: sa.Connection, table: str, since: datetime | None, until: datetime | None, key: str | None
) -> list[Any]:
    """The versions of ``table`` written or replaced in ``(since, until]`` (every
    version when ``since`` is None), by key and age."""
    t = SCHEMA[table]
    q = sa.select(t)
    if since is not None:
        written = t.c._valid_from > since
        replaced = t.c._valid_to > since
        if until is not None:
            written = sa.and_(written, t.c._valid_from <= until)
            replaced = sa.and_(replaced, t.c._valid_to <= until)
        q = q.where(sa.or_(written, replaced))
    if key is not None:
        q = q.where(t.c._key == key)
    return conn.execute(q.order_by(t.c._key, t.c._valid_from, t.c._id)).all()


def _valid_at(version: Any, moment: datetime) -> bool:
    return version._valid_from <= moment and (
        version._valid_to is None or version._valid_to > moment
    )


def changes_between(
    store: Store, since: datetime, until: datetime | None = None, tables: Iterable[str] = ()
) -> dict[str, TableChanges]:
    """What changed in the model from ``since`` to ``until`` (None: now), per table:
    ``diff_keyed`` of the two states, read from the versions the period touched."""
    out = {}
    with store.engine.connect() as conn:
        for name in tables or TABLES:
            names = [f.name for f in TABLES[name].fields]
            before: dict[str, Record] = {}
            after: dict[str, Record] = {}
            end = until or datetime.max
            for v in _touched(conn, name, since, until, None):
                if _valid_at(v, since):
                    before[v._key] = {n: getattr(v, n) for n in names}
                if _valid_at(v, end):
                    after[v._key] = {n: getattr(v, n) for n in names}
            out[name] = diff_keyed(name, before, after)
    return out


@dataclass(frozen=True)
class LogEntry:
    """One change of one record: when, by which source, what (and which cell)."""

    at: datetime
    table: str
    key: str
    kind: str  # new | changed | removed
    source: str | None
    fields: tuple[FieldChange, ...]
    cells: dict[str, str] = field(default_factory=dict)  # field -> 'Sheet'!F5

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(sep=" ", timespec="seconds"),
            "table": self.table,
            "key": show_key(self.key),
            "change": self.kind,
            "source": self.source,
            "fields": [
                {
                    "field": c.field,
                    "old": _jsonable(c.old),
                    "new": _jsonable(c.new),
                    "cell": self.cells.get(c.field),
                }
                for c in self.fields
            ],
        }


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


def stored_key(spec: Table, text: str) -> str:
    """A key as a person types it ("P1 / Kickoff", or "P1" for a one-field key)."""
    if len(spec.key) == 1:
        return text
    sep = KEY_JOIN if KEY_JOIN in text else KEY_JOIN.strip()
    parts = [p.strip() for p in text.split(sep)]
    return KEY_SEPARATOR.join(parts)


def record_log(
    store: Store,
    table: str,
    key: str | None = None,
    *,
    field_name: str | None = None,
    since: datetime | None = None,
    cells: Any = None,
) -> list[LogEntry]:
    """The changes of one record (stored ``key``) or of a whole table, oldest first.

    ``field_name``: only changes of that field. ``since``: only changes after it.
    ``cells``: a ``sheetsync.provenance.Provenance``, naming each field's cell.
    """
    names = [f.name for f in TABLES[table].fields]
    wanted = [field_name] if field_name else names
    with store.engine.connect() as conn:
        versions = _touched(conn, table, since, None, key)
    out: list[LogEntry] = []

    def entry(v: Any, kind: str, fields: tuple[FieldChange, ...]) -> None:
        if fields or not field_name:
            cells_of = _cells(cells, table, v, fields)
            out.append(LogEntry(v._valid_from, table, v._key, kind, v._source, fields, cells_of))

    def added(v: Any) -> tuple[FieldChange, ...]:
        return tuple(
            FieldChange(n, None, getattr(v, n)) for n in wanted if getattr(v, n) is not None
        )

    prev: Any = None
    for v in versions:
        if prev is not None and prev._key != v._key:
            _closing(out, prev, table, names, wanted, since)
            prev = None
        if prev is None:
            if since is None or v._valid_from > since:  # first seen in the period
                entry(v, ADDED, added(v))
        elif prev._valid_to != v._valid_from:  # removed, then back
            _closing(out, prev, table, names, wanted, since)
            entry(v, ADDED, added(v))
        else:
            before = {n: getattr(prev, n) for n in names}
            diffs = field_changes(before, {n: getattr(v, n) for n in names}, wanted)
            if diffs:
                entry(v, CHANGED, diffs)
        prev = v
    if prev is not None:
        _closing(out, prev, table, names, wanted, since)
    out.sort(key=lambda e: (e.at, e.key))
    return out


def _closing(
    out: list[LogEntry],
    v: Any,
    table: str,
    names: list[str],
    wanted: list[str],
    since: datetime | None,
) -> None:
    """A version closed with no successor: the record was removed then."""
    if v._valid_to is None or (since is not None and v._valid_to <= since):
        return
    out.append(
        LogEntry(
            v._valid_to,
            table,
            v._key,
            REMOVED,
            None,
            tuple(FieldChange(n, getattr(v, n), None) for n in wanted if getattr(v, n) is not None),
        )
    )


def _cells(cells: Any, table: str, version: Any, fields: Iterable[FieldChange]) -> dict[str, str]:
    if cells is None:
        return {}
    return {c.field: a for c in fields if (a := cells.address(table, version, c.field))}

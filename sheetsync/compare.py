"""What a pull changes in the model: a sheet's records compared, in bounded memory.

A pull holds the records it read; what they are compared with is never held
whole beside them (beyond ``PREFETCH_ROWS`` decoded ahead). ``since_pull``
compares a settled source's sheet with the values of its last pull, row by row
in place, reading that snapshot a chunk at a time (``prefetch`` decodes the
first chunks while the sheet is parsed); only the rows that differ are looked
up in the model (``diff_some``).
Otherwise ``diff_whole`` compares every record with the model's current
ones, which come from the database a chunk at a time and are found in the
read by key; the last pull's keys are looked at only for the records the
model holds and the sheet no longer has.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from .mapping import MappedTable, picker
from .merge import same
from .model import Record, key_texts
from .store import Store


@dataclass
class TableDiff:
    """What one table's records change in the model."""

    new: list[int] | None = None  # indexes of the read's records the model lacks; None: all
    updates: list[Record] = field(default_factory=list)  # changed records, every field
    update_keys: list[str] = field(default_factory=list)
    update_at: list[int] = field(default_factory=list)  # their sheet rows
    deletes: list[str] = field(default_factory=list)  # held by the source before, gone now
    unchanged: int = 0


@dataclass(frozen=True)
class SincePull:
    """A table's read against the values its source's last pull held."""

    rows: list[int]  # indexes of the records not as held then (changed, moved or new)
    gone: set[str]  # keys held then that the sheet no longer has
    same: bool  # the very same values, in the same order


def since_pull(
    store: Store,
    conn: Any,
    snapshot_id: int,
    tables: dict[str, MappedTable],
    chunks: Iterable[tuple[str, list[str], list[list]]] | None = None,
) -> dict[str, SincePull]:
    """``tables`` against snapshot ``snapshot_id``, in one pass over it, for
    the tables it holds with the same fields (the others: not comparable);
    ``chunks``: its ``snapshot_chunks``, when begun already (``prefetch``).

    Rows are compared in place (a sheet mostly keeps its order): a record
    equal to the one held at its position is the same record, unchanged."""
    found: dict[str, _Held] = {}
    if chunks is None:
        chunks = store.snapshot_chunks(snapshot_id, conn)
    for name, fields, rows in chunks:
        mt = tables.get(name)
        if mt is not None and fields == mt.fields:
            found.setdefault(name, _Held(mt)).add(rows)
    return {name: held.result() for name, held in found.items()}


PREFETCH_ROWS = 100_000  # snapshot rows decoded ahead, while the sheets are parsed


Chunks = Iterator[tuple[str, list[str], list]]


def prefetch(
    store: Store, conn: Any, snapshot_ids: list[int], limit: int = PREFETCH_ROWS
) -> dict[int, tuple[list, Chunks]]:
    """Each snapshot's ``snapshot_chunks`` for ``since_pull`` (``chain`` the
    two), the first ``limit`` rows in all decoded now: a caller waiting for a
    sheet that calamine parses (with the GIL released) decodes meanwhile what
    it will compare the sheet with; bounded, so a big sheet's snapshot is
    never held whole beside it. Rows decoded ahead are tuples, the others
    lists; the caller's dict keeps the decoded ones until it drops it."""
    out = {}
    for sid in snapshot_ids:
        chunks = store.snapshot_chunks(sid, conn)
        ahead = []
        while limit > 0 and (chunk := next(chunks, None)) is not None:
            name, fields, rows = chunk
            # as tuples, like the read's (``_Held.add`` then makes none), their
            # texts interned as the read interns its own (``mapping``): a
            # record as it was is then compared field by field at a glance
            ahead.append((name, fields, list(map(_interned_row, rows))))
            limit -= len(rows)
            del chunk, rows
        out[sid] = (ahead, chunks)
    return out


def _interned_row(row: list, intern: Callable[[str], str] = sys.intern) -> tuple:
    return tuple([intern(v) if type(v) is str else v for v in row])


class _Held:
    """``since_pull`` of one table, fed the snapshot's rows chunk by chunk."""

    def __init__(self, mt: MappedTable) -> None:
        self.mt = mt
        self.count = 0  # rows held so far
        self.rows: list[int] = []
        self.old: list[list] = []  # held rows not at their place any more

    def add(self, chunk: list) -> None:
        values = self.mt.values
        start, self.count = self.count, self.count + len(chunk)
        stop = min(self.count, len(values))
        if start < stop:
            held = chunk if type(chunk[0]) is tuple else map(tuple, chunk)  # as ``prefetch``'s
            pairs = map(operator.ne, values[start:stop], held)
            for i in compress(range(start, stop), pairs):
                self.rows.append(i)
                self.old.append(chunk[i - start])
        self.old += chunk[max(0, stop - start) :]  # beyond the sheet's last record

    def result(self) -> SincePull:
        mt = self.mt
        n = len(mt.values)
        self.rows += range(min(self.count, n), n)
        was = key_texts(self.old, [mt.fields.index(k) for k in mt.table.key])
        gone = set(was) - {mt.keys[i] for i in self.rows}
        return SincePull(self.rows, gone, not self.rows and not gone and self.count == n)


def diff_some(store: Store, conn: Any, mt: MappedTable, held: SincePull) -> TableDiff:
    """``mt``'s changes when only ``held.rows`` can differ from the model."""
    keys = mt.keys
    model = store.current_rows_of(conn, mt.table.name, [*(keys[i] for i in held.rows), *held.gone])
    diff = TableDiff(new=[], unchanged=len(keys) - len(held.rows))
    pairs = []
    for i in held.rows:
        old = model.get(keys[i])
        if old is None:
            diff.new.append(i)  # type: ignore[union-attr]
        else:
            pairs.append((i, old))
    _compare(mt, pairs, diff)
    diff.deletes = [k for k in held.gone if k in model]
    return diff


def diff_whole(store: Store, conn: Any, mt: MappedTable, last_id: int | None) -> TableDiff:
    """``mt``'s changes against every current record of its table (streamed
    from the model); the records the sheet lacks are deleted when the
    source's last snapshot (``last_id``) held them."""
    diff = TableDiff()
    index: dict[str, int] | None = None  # the read's records by key, once the model has any
    seen = bytearray(len(mt.keys))
    absent: list[str] = []
    for chunk in store.current_chunks(conn, mt.table.name):
        if index is None:
            index = dict(zip(mt.keys, range(len(mt.keys)), strict=True))
        pairs = []
        for old in chunk:
            i = index.get(old[0])
            if i is None:
                absent.append(old[0])
            else:
                seen[i] = 1
                pairs.append((i, old))
        _compare(mt, pairs, diff)
    if index is None:  # the model holds none of this table: every record is new
        return diff
    del index
    diff.new = list(compress(range(len(seen)), map(operator.not_, seen)))
    if absent and last_id is not None:
        name = mt.table.name
        held = store.snapshot_keys(last_id, conn, {name: mt.table}, among={name: set(absent)})
        diff.deletes = [k for k in absent if k in held.get(name, ())]
    return diff


def _compare(mt: MappedTable, pairs: list[tuple[int, Any]], diff: TableDiff) -> None:
    """Each of ``mt``'s records ``i`` against the model's current row ``old``
    of its key (key, every field in model order): unchanged, or an update."""
    names = [f.name for f in mt.table.fields]
    fields = mt.fields
    old_values_of = picker([1 + names.index(f) for f in fields])  # old[0] is the key
    values, keys, rows = mt.values, mt.keys, mt.rows
    for i, old in pairs:
        new, old_values = values[i], old_values_of(old)
        if new == old_values or all(map(same, new, old_values)):
            diff.unchanged += 1
            continue
        record = dict(zip(names, old[1:], strict=True))
        record.update(zip(fields, new, strict=True))
        diff.updates.append(record)
        diff.update_keys.append(keys[i])
        diff.update_at.append(rows[i])

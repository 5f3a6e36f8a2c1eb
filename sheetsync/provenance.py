"""Where each field of each record version was read: its sheet, row and column.

A pull stores, per record version, the sheet row it was read from (``_row``),
and per snapshot the sheet and the column of each field (``layout``): the two
give the cell of every field of every version (:class:`Provenance`), which
``explain``, ``log`` and the report's appendix name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .grid import a1, cell_ref
from .model import Table, key_texts
from .store import SCHEMA, Store, load_values


@dataclass(frozen=True)
class Cell:
    """One field of one record version, where it was read."""

    source: str
    sheet: str
    row: int
    column: int
    read_at: datetime

    @property
    def address(self) -> str:
        return cell_ref(self.sheet, a1(self.row, self.column))


class Provenance:
    """Each record version's cells: its pull's sheet and columns, its row."""

    def __init__(self, store: Store, config: Any = None) -> None:
        self.store = store
        self.config = config
        self._layouts: dict[tuple[str, datetime], dict[str, Any]] | None = None

    def layouts(self) -> dict[tuple[str, datetime], dict[str, Any]]:
        """Every pull's layout by (source, when): few rows, read once."""
        if self._layouts is None:
            t = SCHEMA["snapshots"]
            q = sa.select(t.c.source, t.c.taken_at, t.c.layout).where(t.c.layout.is_not(None))
            with self.store.engine.connect() as c:
                self._layouts = {(r.source, r.taken_at): r.layout for r in c.execute(q) if r.layout}
        return self._layouts

    def cell(self, table: str, version: Any, field: str) -> Cell | None:
        """The cell ``field`` of ``version`` (a row with _source, _valid_from, _row)
        was read from; None when unknown (written by a sync, or before cells were kept)."""
        row = getattr(version, "_row", None)
        if row is None or version._source is None:
            return None
        layout = self.layouts().get((version._source, version._valid_from), {}).get(table)
        if not layout or field not in layout["columns"]:
            return None
        return Cell(
            version._source, layout["sheet"], row, layout["columns"][field], version._valid_from
        )

    def address(self, table: str, version: Any, field: str) -> str | None:
        c = self.cell(table, version, field)
        return c.address if c else None

    def last_read(
        self, table: str, source: str, cutoff: datetime | None, spec: Table
    ) -> tuple[dict[str, Any], datetime, dict[str, int]] | None:
        """Where ``source``'s last read at or before ``cutoff`` found ``table``: its
        layout, when it was read, and each record's sheet row by stored key (a
        record whose values did not change keeps its version, but may have moved).
        A pull that skipped the unchanged source repeats the read it looked at:
        the cells are that read's, and so is the time (so a look changes no report)."""
        t = SCHEMA["snapshots"]
        q = sa.select(t.c.taken_at, t.c.layout, t.c.values_z, t.c.summary).where(
            t.c.source == source, t.c.layout.is_not(None)
        )
        if cutoff is not None:
            q = q.where(t.c.taken_at <= cutoff)
        with self.store.engine.connect() as c:
            snap = c.execute(q.order_by(t.c.id.desc()).limit(1)).first()
            if snap is None or not snap.layout or "rows" not in snap.layout.get(table, {}):
                return None
            read_at, summary = snap.taken_at, snap.summary
            while summary and summary.get("unchanged_since"):  # a look: the read it repeats
                earlier = sa.select(t.c.taken_at, t.c.summary)
                row = c.execute(earlier.where(t.c.id == summary["unchanged_since"])).first()
                if row is None:
                    break
                read_at, summary = row
        part = load_values(snap.values_z).get(table)
        if not part or not all(k in part["fields"] for k in spec.key):
            return None
        keys = key_texts(part["rows"], [part["fields"].index(k) for k in spec.key])
        rows = [r for first, n in snap.layout[table]["rows"] for r in range(first, first + n)]
        if len(rows) != len(keys):
            return None
        return snap.layout[table], read_at, dict(zip(keys, rows, strict=True))


def cell_ranges(cells: Iterable[Cell]) -> str:
    """ "'Quotas'!F2:F12, F14, 'Budget'!C2:C11": addresses, contiguous rows as ranges."""
    by: dict[tuple[str, int], list[int]] = {}
    for c in cells:
        by.setdefault((c.sheet, c.column), []).append(c.row)
    out = []
    last_sheet = None
    for (sheet, col), rows in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        rows = sorted(set(rows))
        runs: list[tuple[int, int]] = []
        for r in rows:
            if runs and r == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], r)
            else:
                runs.append((r, r))
        for first, last in runs:
            ref = a1(first, col) if first == last else f"{a1(first, col)}:{a1(last, col)}"
            out.append(ref if sheet == last_sheet else cell_ref(sheet, ref))
            last_sheet = sheet
    return ", ".join(out)

"""Writing a spreadsheet: every change in one ``spreadsheets.batchUpdate``, all or
nothing (the grid grows first, then typed values go in, in runs of adjacent cells)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .meta import SheetMeta
from .values import append_dim, parse_a1, to_api, update_cells

_SheetCells = dict[str, dict[int, dict[int, object]]]  # sheet -> row -> column -> value


@dataclass
class WriteResult:
    """What one :meth:`GoogleSheet.write_cells` did."""

    cells: int = 0
    rows_appended: int = 0
    grid_rows_added: dict[str, int] = field(default_factory=dict)
    requests: int = 0  # spreadsheets.batchUpdate calls: 1 (grid growth and values at once)


class Writing:
    """The writing part of a :class:`~.sheet.GoogleSheet`."""

    key: str
    http: Any
    _data_rows: dict[str, int]
    _call: Callable[..., Any]
    _require: Callable[[Iterable[str]], list[SheetMeta]]
    read_sheets: Callable[[Sequence[str]], Any]

    def write_cells(
        self,
        changes: Iterable[tuple[str, str, object]],
        appends: Iterable[tuple[str, Sequence[object]]] = (),
    ) -> WriteResult:
        """Write ``(sheet, "B7", value)`` changes and append ``(sheet, row)`` rows,
        all or nothing, in one ``spreadsheets.batchUpdate``.

        The grid grows first in the same request (``appendDimension``) when it
        is too small; then ``updateCells`` writes typed values: a number stays
        a number, a date becomes its serial (the cell keeps its date format),
        a text starting with ``=`` stays text, ``None`` clears the cell.
        Appended rows go below the last row that holds data (as read by
        :meth:`read_sheets` or :meth:`read_grid`; sheets not read yet cost
        one ``values:batchGet`` first).
        """
        changes = list(changes)
        appends = list(appends)
        metas = {
            m.title: m for m in self._require([c[0] for c in changes] + [a[0] for a in appends])
        }
        result = WriteResult()
        if not changes and not appends:
            return result

        # where appended rows go
        by_sheet: dict[str, list[list[object]]] = {}
        for sheet, row in appends:
            by_sheet.setdefault(sheet, []).append(list(row))
        unknown = [s for s in by_sheet if s not in self._data_rows]
        if unknown:
            self.read_sheets(unknown)

        cells, need = _cells_and_need(changes, by_sheet, self._data_rows)
        requests = _grid_growth(need, metas, result)  # the grid grows first, in the same request
        requests += _cell_runs(cells, metas, result)
        for sheet, rows in by_sheet.items():
            requests.append(update_cells(metas[sheet].sheet_id, self._data_rows[sheet], 0, rows))
            result.cells += sum(len(r) for r in rows)
            result.rows_appended += len(rows)

        self._call(self.http.batch_update, self.key, {"requests": requests})
        result.requests = 1
        for sheet, (nr, nc) in need.items():
            m = metas[sheet]
            m.rows, m.cols = max(m.rows, nr), max(m.cols, nc)
        for sheet, rows in by_sheet.items():
            self._data_rows[sheet] += len(rows)
        return result


def _cells_and_need(
    changes: list[tuple[str, str, object]],
    by_sheet: dict[str, list[list[object]]],
    data_rows: dict[str, int],
) -> tuple[_SheetCells, dict[str, tuple[int, int]]]:
    """The changed cells by sheet and row (for the size check and for merging
    into runs), and the (rows, columns) each sheet's grid must hold."""
    cells: _SheetCells = {}
    need: dict[str, tuple[int, int]] = {}
    for sheet, ref, value in changes:
        r, c = parse_a1(ref)
        to_api(value)  # refuses what cannot be written, before anything is sent
        cells.setdefault(sheet, {}).setdefault(r, {})[c] = value
        nr, nc = need.get(sheet, (0, 0))
        need[sheet] = (max(nr, r + 1), max(nc, c + 1))
    for sheet, rows in by_sheet.items():
        start = data_rows[sheet]
        nr, nc = need.get(sheet, (0, 0))
        width = max((len(r) for r in rows), default=0)
        need[sheet] = (max(nr, start + len(rows)), max(nc, width))
    return cells, need


def _grid_growth(
    need: dict[str, tuple[int, int]], metas: dict[str, SheetMeta], result: WriteResult
) -> list[dict[str, Any]]:
    """``appendDimension`` requests for the grids too small for ``need``."""
    requests: list[dict[str, Any]] = []
    for sheet, (nr, nc) in need.items():
        m = metas[sheet]
        if nr > m.rows:
            requests.append(append_dim(m.sheet_id, "ROWS", nr - m.rows))
            result.grid_rows_added[sheet] = nr - m.rows
        if nc > m.cols:
            requests.append(append_dim(m.sheet_id, "COLUMNS", nc - m.cols))
    return requests


def _cell_runs(
    cells: _SheetCells, metas: dict[str, SheetMeta], result: WriteResult
) -> list[dict[str, Any]]:
    """``updateCells`` requests for the changed cells: one per run of adjacent cells in a row."""
    requests: list[dict[str, Any]] = []
    for sheet, rows in cells.items():
        sheet_id = metas[sheet].sheet_id
        for r in sorted(rows):
            cols = rows[r]
            run: list[object] = []
            start = prev = -2
            for c in sorted(cols):
                if c != prev + 1 and run:
                    requests.append(update_cells(sheet_id, r, start, [run]))
                    run = []
                if not run:
                    start = c
                run.append(cols[c])
                prev = c
            if run:
                requests.append(update_cells(sheet_id, r, start, [run]))
            result.cells += len(cols)
    return requests

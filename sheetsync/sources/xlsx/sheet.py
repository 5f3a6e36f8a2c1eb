"""One worksheet patched: every edit a push plans on a sheet, spliced into its bytes.

Cells written, rows cleared and appended, the ``<dimension>`` grown.

``Sheet`` is assembled from its parts, each in its own module:

* ``rows.SheetXml``, ``RowIndex``, ``RowSearch``: the XML, its rows and cells, the splice;
* ``formula_scan.FormulaIndex``, ``FormulaDeps``: formula cells, what they refer
  to, missing and stale cached results;
* ``cells.CellEncoding``, ``RowEdits``: values as ``<c>`` XML, written into existing rows;
* ``appends.TemplateRows``, ``RowAppends``: new rows below the data in the shape of the
  row above (formulas carried down), tables ending there extended.
"""

from __future__ import annotations

import re

from ...grid import a1
from ..changes import CellValue, CellWrite, RowAppend
from .appends import RowAppends
from .formula_scan import FormulaDeps
from .refs import parse_range, parse_ref, range_ref
from .result import PatchResult


class Sheet(RowAppends, FormulaDeps):
    """One worksheet's XML, the edits planned on it and the splice that applies them."""

    def apply(
        self,
        sheet: str,
        writes: list[CellWrite],
        appends: list[RowAppend],
        deletes: list[int],
        tables: list[tuple[str, bytes]],
        result: PatchResult,
    ) -> dict[str, bytes]:
        """Plan every edit on this sheet; return the table parts that change."""
        by_row: dict[int, dict[int, tuple[CellValue, bool]]] = {}
        for num in deletes:
            row, _ = self.find_row(num)
            if row is not None:
                cols = {c.col: (None, True) for c in self.cells(row)}
                by_row.setdefault(num, {}).update(cols)
                result.deleted_rows.append(num)
        for w in writes:
            r, c = parse_ref(w.ref)
            by_row.setdefault(r, {})[c] = (w.value, False)

        table_parts: dict[str, bytes] = {}
        new_rows: dict[int, tuple[bytes, list[tuple[int, bytes]]]] = {}
        if appends:
            written_rows = [
                r for r, vals in by_row.items() if any(v is not None for v, _ in vals.values())
            ]
            new_rows, table_parts = self._plan_appends(
                sheet, appends, tables, max(written_rows, default=0), result
            )

        for num, values in sorted(by_row.items()):
            row, _ = self.find_row(num)
            if num in new_rows:
                raise ValueError(f"'{sheet}'!row {num}: written and appended in the same patch")
            if row is not None:
                self._patch_row(sheet, row, values, result)
            else:
                cells = []
                for col, (value, is_delete) in sorted(values.items()):
                    if is_delete or value is None:
                        continue
                    ref = a1(num, col)
                    cells.append((col, self._value_xml(b' r="' + ref.encode() + b'"', value, True)))
                    result.written.append(CellWrite(sheet, ref, value))
                    self.new_bounds.append((num, col))
                if cells:
                    new_rows[num] = (b"", cells)

        # Place new rows in row order; merge into a row element that already exists.
        for num in sorted(new_rows):
            row_attrs, cells = new_rows[num]
            row, pos = self.find_row(num)
            if row is not None:
                self._merge_row(row, cells)
            else:
                self.edits.append((pos, pos, self._row_xml(num, row_attrs, [x for _, x in cells])))
        if self.edits and self.sd_open[2]:
            # <sheetData/> → <sheetData>...</sheetData>
            s, e, _ = self.sd_open
            tag = self.data[s:e]
            self.edits.append((s, e, tag[:-2].rstrip() + b">"))
            self.edits.append((e, e, b"</" + self.p + b"sheetData>"))
        if self.edits:
            self._update_dimension()
        return table_parts

    def _update_dimension(self) -> None:
        if not self.new_bounds:
            return
        m = re.search(
            rb"<" + re.escape(self.p) + rb"""dimension\b[^>]*?\sref\s*=\s*(["'])([^"']*)\1""",
            self.data[: self.sd_open[0]],
        )
        if not m:
            return
        try:
            r1, c1, r2, c2 = parse_range(m.group(2).decode())
        except ValueError:
            return
        rows = [r for r, _ in self.new_bounds]
        cols = [c for _, c in self.new_bounds]
        empty = self._row_re.search(self.data, *self.sd_body) is None
        if empty:
            r1, c1, r2, c2 = min(rows), min(cols), max(rows), max(cols)
        else:
            r1, c1, r2, c2 = min(r1, *rows), min(c1, *cols), max(r2, *rows), max(c2, *cols)
        new = range_ref(r1, c1, r2, c2).encode()
        if new != m.group(2):
            self.edits.append((m.start(2), m.end(2), new))

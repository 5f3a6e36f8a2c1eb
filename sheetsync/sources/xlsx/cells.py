"""Cell values as worksheet XML (``<c>`` elements), written into rows that exist.

Numbers, booleans, dates in the workbook's epoch and inline strings; a cell keeps its
style, and a formula cell is never written.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from ...grid import a1, to_serial
from ..changes import CellValue, CellWrite
from .formula_scan import FormulaIndex
from .result import PatchResult
from .rows import Row, SheetXml
from .xmlbytes import drop_attrs, set_attr, xml_text


def _number(x: float | int) -> bytes:
    if isinstance(x, int):
        return str(x).encode()
    if not math.isfinite(x):
        raise ValueError(f"cannot write {x!r} into a cell")
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x)).encode()
    return repr(x).encode()


class CellEncoding(SheetXml):
    """Values and rows as the XML that holds them."""

    def _value_xml(self, attrs: bytes, value: CellValue, new: bool) -> bytes:
        p = self.p
        attrs = drop_attrs(attrs, (b"t", b"vm", b"cm"))
        if isinstance(value, bool):
            return (
                b"<"
                + p
                + b"c"
                + attrs
                + b' t="b"><'
                + p
                + b"v>"
                + (b"1" if value else b"0")
                + b"</"
                + p
                + b"v></"
                + p
                + b"c>"
            )
        if isinstance(value, date | datetime):
            if self.date_style is not None and not re.search(rb"\ss\s*=", attrs):
                attrs += b' s="' + str(self.date_style).encode() + b'"'
            value = to_serial(value, date1904=self.date1904, phantom_leap_day=True)
        if isinstance(value, int | float):
            return (
                b"<"
                + p
                + b"c"
                + attrs
                + b"><"
                + p
                + b"v>"
                + _number(value)
                + b"</"
                + p
                + b"v></"
                + p
                + b"c>"
            )
        if value is None:
            return b"<" + p + b"c" + attrs + b"/>"
        if isinstance(value, str):
            text = xml_text(value).encode()
            space = b' xml:space="preserve"' if value != value.strip() or "\n" in value else b""
            return (
                b"<"
                + p
                + b"c"
                + attrs
                + b' t="inlineStr"><'
                + p
                + b"is><"
                + p
                + b"t"
                + space
                + b">"
                + text
                + b"</"
                + p
                + b"t></"
                + p
                + b"is></"
                + p
                + b"c>"
            )
        try:
            return self._value_xml(attrs, float(value), new)  # Decimal, numpy numbers...
        except (TypeError, ValueError):
            raise TypeError(f"cannot write a {type(value).__name__} into a cell") from None

    def _row_xml(self, num: int, attrs: bytes, cells: list[bytes]) -> bytes:
        p = self.p
        attrs = b' r="' + str(num).encode() + b'"' + drop_attrs(attrs, (b"r",))
        if not cells:
            return b"<" + p + b"row" + attrs + b"/>"
        return b"<" + p + b"row" + attrs + b">" + b"".join(cells) + b"</" + p + b"row>"

    @staticmethod
    def _widen_spans(attrs: bytes, cols: list[int]) -> bytes:
        m = re.search(rb"""\sspans\s*=\s*["'](\d+):(\d+)["']""", attrs)
        if not m:
            return attrs
        lo, hi = min(int(m.group(1)), *cols), max(int(m.group(2)), *cols)
        if (lo, hi) == (int(m.group(1)), int(m.group(2))):
            return attrs
        return set_attr(attrs, b"spans", f"{lo}:{hi}".encode())


class RowEdits(CellEncoding, FormulaIndex):
    """Values written into rows that exist: cells replaced or inserted in column order."""

    def _patch_row(
        self, sheet: str, row: Row, values: dict[int, tuple[CellValue, bool]], result: PatchResult
    ) -> None:
        """Write ``values`` (col → (value, is_delete)) into an existing row."""
        cells = self.cells(row)
        by_col = {c.col: c for c in cells}
        replaced: list[tuple[int, int, bytes]] = []
        inserts: dict[int, list[bytes]] = {}  # position → new cells
        new_cols: list[int] = []
        for col, (value, is_delete) in sorted(values.items()):
            ref = a1(row.num, col)
            cell = by_col.get(col)
            if (cell is not None and cell.formula) or self.in_array(row.num, col):
                if not is_delete or (cell is not None and cell.has_data):
                    result.skipped_formulas.append(CellWrite(sheet, ref, value))
                continue
            if is_delete and (cell is None or not cell.has_data):
                continue
            if cell is not None:
                attrs = cell.attrs if cell.has_r else b' r="' + ref.encode() + b'"' + cell.attrs
                replaced.append((cell.start, cell.end, self._value_xml(attrs, value, False)))
            elif value is None:
                continue
            else:
                pos = next((c.start for c in cells if c.col > col), row.close_start)
                inserts.setdefault(pos, []).append(
                    self._value_xml(b' r="' + ref.encode() + b'"', value, True)
                )
                new_cols.append(col)
            if not is_delete:
                result.written.append(CellWrite(sheet, ref, value))
        # (A cell without r= sits right after its left neighbour, so no insert can land
        # between the two: cells after an insert never need pinning.)
        if new_cols and row.self_closing:
            # <row .../> becomes <row ...>cells</row>
            cells_xml = b"".join(b"".join(v) for _, v in sorted(inserts.items()))
            attrs = self._widen_spans(row.attrs, new_cols)
            self.edits.append(
                (
                    row.start,
                    row.end,
                    b"<" + self.p + b"row" + attrs + b">" + cells_xml + self._row_close,
                )
            )
            self.new_bounds.extend((row.num, c) for c in new_cols)
            return
        if new_cols:
            attrs = self._widen_spans(row.attrs, new_cols)
            if attrs != row.attrs:
                self.edits.append((row.start, row.open_end, b"<" + self.p + b"row" + attrs + b">"))
            self.new_bounds.extend((row.num, c) for c in new_cols)
        for pos, xs in inserts.items():
            self.edits.append((pos, pos, b"".join(xs)))
        self.edits.extend(replaced)

    def _merge_row(self, row: Row, new: list[tuple[int, bytes]]) -> None:
        """Put ``new`` cells into an existing row; its cells holding data win."""
        old = self.cells(row)
        keep = {c.col: c for c in old}
        merged: list[tuple[int, bytes | memoryview]] = []
        view = memoryview(self.data)
        for col, xml in new:
            c = keep.get(col)
            if c is None or not c.has_data:
                keep.pop(col, None)
                merged.append((col, xml))
        for c in keep.values():
            raw = view[c.start : c.end]
            if not c.has_r:
                raw = (
                    b"<"
                    + self.p
                    + b"c"
                    + b' r="'
                    + a1(row.num, c.col).encode()
                    + b'"'
                    + bytes(raw)[len(self.p) + 2 :]
                )
            merged.append((c.col, raw))
        merged.sort(key=lambda x: x[0])
        attrs = self._widen_spans(row.attrs, [c for c, _ in merged])
        body = b"".join(bytes(x) for _, x in merged)
        self.edits.append(
            (row.start, row.end, b"<" + self.p + b"row" + attrs + b">" + body + self._row_close)
        )

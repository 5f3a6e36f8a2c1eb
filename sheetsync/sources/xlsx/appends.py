"""Rows appended below a worksheet's data, in the shape of the row above; tables extended.

The row above is the template (its height, its styles across the data's block), its
formulas are carried down with relative rows shifted, and an Excel table ending there
is extended (its ``ref`` and ``autoFilter ref``).
"""

from __future__ import annotations

import re

from ...errors import WorkbookError
from ...grid import a1, column_index
from ..changes import CellWrite, RowAppend
from .cells import RowEdits
from .formulas import shift_formula
from .refs import MAX_COL, MAX_ROW, parse_range, range_ref
from .result import PatchResult
from .rows import Cell, Row
from .xmlbytes import drop_attrs, parse_attrs, set_attr, xml_text, xml_unescape


class TemplateRows(RowEdits):
    """A new row in the shape of a template row: its attributes, its cells' styles
    across the data's block, its formulas carried down (relative rows shifted)."""

    def _new_row(
        self,
        sheet: str,
        num: int,
        ap: RowAppend,
        like: tuple[Row | None, list[Cell], bool],
        block: tuple[int, int],
        result: PatchResult,
    ) -> tuple[bytes, list[tuple[int, bytes]]]:
        """Row ``num``'s attributes and cells: ``ap``'s values, and the cells of the
        template row (``like``: the row, its cells, whether it is a table's header
        row, which lends nothing) across ``block`` (columns lo..hi) restyled, their
        formulas carried down."""
        template, tcells, header_template = like
        lo, hi = block
        values = {column_index(k): v for k, v in ap.values.items()}
        cells_xml: list[tuple[int, bytes]] = []
        done: set[int] = set()
        for c in tcells if not header_template else []:
            if not lo <= c.col <= hi:
                continue
            ref = a1(num, c.col)
            style = drop_attrs(c.attrs, (b"r", b"t", b"vm", b"cm"))
            attrs = b' r="' + ref.encode() + b'"' + style
            if c.formula:
                fx = self._carry_formula(sheet, c, template.num if template else 0, num, result)
                if c.col in values:
                    result.skipped_formulas.append(CellWrite(sheet, ref, values[c.col]))
                body = b">" + fx + self._cell_close if fx else b"/>"
                cells_xml.append((c.col, b"<" + self.p + b"c" + attrs + body))
            elif c.col in values:
                cells_xml.append((c.col, self._value_xml(attrs, values[c.col], True)))
            else:
                cells_xml.append((c.col, b"<" + self.p + b"c" + attrs + b"/>"))
            done.add(c.col)
            self.new_bounds.append((num, c.col))
        for col, value in values.items():
            if col not in done:
                xml = self._value_xml(b' r="' + a1(num, col).encode() + b'"', value, True)
                cells_xml.append((col, xml))
                self.new_bounds.append((num, col))
        cells_xml.sort(key=lambda x: x[0])
        row_attrs = b""
        if template is not None and not header_template:
            row_attrs = drop_attrs(template.attrs, (b"r", b"hidden", b"collapsed"))
            cols_here = [c for c, _ in cells_xml]
            if cols_here and re.search(rb"\sspans\s*=", row_attrs):
                row_attrs = set_attr(
                    row_attrs, b"spans", f"{min(cols_here)}:{max(cols_here)}".encode()
                )
        return row_attrs, cells_xml

    def _carry_formula(
        self, sheet: str, cell: Cell, from_row: int, to_row: int, result: PatchResult
    ) -> bytes | None:
        m = re.search(rb"<((?:[\w.-]+:)?)f\b([^>]*?)(/?)>(?:([^<]*)</(?:[\w.-]+:)?f>)?", cell.inner)
        if not m:
            return None
        fp, a = m.group(1), parse_attrs(m.group(2))
        kind = a.get(b"t", b"normal")
        text: str | None = None
        ref = a1(to_row, cell.col)
        if kind == b"normal" and m.group(4):
            text = shift_formula(xml_unescape(m.group(4).decode()), to_row - from_row)
        elif kind == b"shared":
            master = self._shared_master(a.get(b"si", b""))
            if master:
                mr, mc, mtext = master
                text = shift_formula(mtext, to_row - mr, cell.col - mc)
        if text is None:
            result.warnings.append(
                f"'{sheet}'!{ref}: the formula of the row above ({kind.decode()}) was not carried down; "
                "the cell was left empty"
            )
            return None
        keep = b"".join(b" " + k + b'="' + v + b'"' for k, v in a.items() if k in (b"ca", b"aca"))
        return b"<" + fp + b"f" + keep + b">" + xml_text(text).encode() + b"</" + fp + b"f>"


class RowAppends(TemplateRows):
    """Rows appended after the last row with data, in the shape of the row above."""

    def _plan_appends(
        self,
        sheet: str,
        appends: list[RowAppend],
        tables: list[tuple[str, bytes]],
        written_to: int,
        result: PatchResult,
    ) -> tuple[dict[int, tuple[bytes, list[tuple[int, bytes]]]], dict[str, bytes]]:
        want = {column_index(k) for a in appends for k in a.values}
        for k in (k for a in appends for k in a.values):
            if not re.fullmatch(r"[A-Za-z]{1,3}", k) or column_index(k) > MAX_COL:
                raise ValueError(f"not a column letter: {k!r}")
        template, tcells = self._append_template(want)
        # after the last data row, and after any row this patch writes values into
        last = max(template.num if template else 0, written_to)
        tinfo = [(part, xml, _table_info(xml)) for part, xml in tables]
        lo, hi = (min(want), max(want)) if want else (1, 1)
        extend, lo, hi = _tables_to_extend(sheet, tinfo, last, lo, hi)
        header_template = False
        if template is not None:
            # the block the data sits in: grow through neighbouring filled cells
            filled = {c.col for c in tcells if c.has_data}
            while lo - 1 in filled:
                lo -= 1
            while hi + 1 in filled:
                hi += 1
            header_template = any(
                info and info["range"][0] == last and info["header"] for _, _, info in tinfo
            )
        new_rows: dict[int, tuple[bytes, list[tuple[int, bytes]]]] = {}
        for i, ap in enumerate(appends):
            num = last + 1 + i
            if num > MAX_ROW:
                raise WorkbookError(f"'{sheet}': no room for more rows")
            new_rows[num] = self._new_row(
                sheet, num, ap, (template, tcells, header_template), (lo, hi), result
            )
            result.appended_rows.append(num)
        table_parts: dict[str, bytes] = {}
        last_new = last + len(appends)
        for part, xml, info in extend:
            r1, c1, _, c2 = info["range"]
            table_parts[part] = _extend_table(xml, range_ref(r1, c1, last_new, c2))
        return new_rows, table_parts

    def _append_template(self, want: set[int]) -> tuple[Row | None, list[Cell]]:
        """The last row with data in one of the appended columns (any column when
        ``want`` is empty), and its cells."""
        for row in self.rows_reversed():
            cells = self.cells(row)
            if any(c.has_data and (not want or c.col in want) for c in cells):
                return row, cells
        return None, []


def _table_info(xml: bytes) -> dict | None:
    m = re.search(rb"<(?:[\w.-]+:)?table\b([^>]*)>", xml)
    if not m:
        return None
    a = parse_attrs(m.group(1))
    try:
        rng = parse_range(a.get(b"ref", b"").decode())
    except ValueError:
        return None
    return {
        "range": rng,
        "name": a.get(b"displayName", a.get(b"name", b"?")).decode(),
        "totals": int(a.get(b"totalsRowCount", b"0") or 0) > 0,
        "header": a.get(b"headerRowCount", b"1") != b"0",
    }


def _tables_to_extend(
    sheet: str, tinfo: list[tuple[str, bytes, dict | None]], last: int, lo: int, hi: int
) -> tuple[list[tuple[str, bytes, dict]], int, int]:
    """The tables that end on row ``last`` and overlap columns lo..hi (which grow to
    cover them); a table ending there with a totals row is refused."""
    extend: list[tuple[str, bytes, dict]] = []
    for part, xml, info in tinfo:
        if info is None:
            continue
        r1, c1, r2, c2 = info["range"]
        if r2 == last and c1 <= hi and lo <= c2:
            if info["totals"]:
                raise WorkbookError(
                    f"'{sheet}': table {info['name']} ends with a totals row; sheetsync cannot add rows "
                    "above it yet",
                    hint="add the rows in Excel, or turn the totals row off",
                )
            extend.append((part, xml, info))
            lo, hi = min(lo, c1), max(hi, c2)
    return extend, lo, hi


def _extend_table(xml: bytes, new_ref: str) -> bytes:
    ref_attr = re.compile(rb"""(\sref\s*=\s*)(["'])[^"']*\2""")
    out = xml
    for tag in (rb"table", rb"autoFilter"):
        m = re.search(rb"<(?:[\w.-]+:)?" + tag + rb"\b[^>]*>", out)
        if m:
            new_tag = ref_attr.sub(
                lambda r: r.group(1) + b'"' + new_ref.encode() + b'"', m.group(), count=1
            )
            out = out[: m.start()] + new_tag + out[m.end() :]
    return out

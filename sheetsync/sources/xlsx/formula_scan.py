"""A worksheet's formulas: where they are, what they refer to, results missing or stale.

Which cells hold or are covered by a formula, shared formulas through their master,
what each refers to (for ``deps``), and cached results found missing (the
uncalculated-formula scan) or removed (a result gone stale).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

from ...grid import column_index
from .deps import Formula, Parsed, parse_formula
from .formulas import F_ANY, F_ELEMENT, V_ELEMENT, has_formula_tag
from .refs import parse_range
from .rows import CELL_REF, RowSearch
from .xmlbytes import drop_attrs, parse_attrs, xml_unescape


class FormulaIndex(RowSearch):
    """Where the formulas are: formula cells, array ranges, shared masters, and
    the formula cells without a cached result."""

    def has_formulas(self) -> bool:
        if self._formulas is None:
            self._formulas = has_formula_tag(self.data, self.p)
        return self._formulas

    def arrays(self) -> list[tuple[int, int, int, int]]:
        """Ranges covered by array and data-table formulas."""
        if self._arrays is None:
            self._arrays = []
            if self.has_formulas() and (b"array" in self.data or b"dataTable" in self.data):
                for m in re.finditer(rb"<(?:[\w.-]+:)?f\b([^>]*)>", self.data):
                    a = parse_attrs(m.group(1))
                    if a.get(b"t") in (b"array", b"dataTable") and b"ref" in a:
                        with contextlib.suppress(ValueError):
                            self._arrays.append(parse_range(a[b"ref"].decode()))
        return self._arrays

    def in_array(self, row: int, col: int) -> bool:
        return any(r1 <= row <= r2 and c1 <= col <= c2 for r1, c1, r2, c2 in self.arrays())

    def formula_positions(self) -> set[tuple[int, int]]:
        found: set[tuple[int, int]] = set()
        data = self.data
        for row in self.rows():
            if F_ANY.search(data, row.open_end, row.close_start):
                found.update((row.num, c.col) for c in self.cells(row) if c.formula)
        for r1, c1, r2, c2 in self.arrays():
            found.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
        return found

    def _shared_master(self, si: bytes) -> tuple[int, int, str] | None:
        """(row, col, text) of the master cell of shared formula ``si``."""
        if si not in self._masters:
            self._masters[si] = self._find_shared_master(si)
        return self._masters[si]

    def _find_shared_master(self, si: bytes) -> tuple[int, int, str] | None:
        for m in re.finditer(rb"<(?:[\w.-]+:)?f\b([^>]*)>([^<]*)<", self.data):
            a = parse_attrs(m.group(1))
            if a.get(b"t") == b"shared" and a.get(b"si") == si and b"ref" in a and m.group(2):
                r1, c1, _, _ = parse_range(a[b"ref"].decode())
                return r1, c1, xml_unescape(m.group(2).decode())
        return None

    def uncalculated(self) -> set[str]:
        """Refs of the formula cells that hold no cached result."""
        data, p = self.data, self.p
        cell_open, cell_close = b"<" + p + b"c", b"</" + p + b"c>"
        body_start, body_end = self.sd_body
        v_tag = re.compile(rb"<" + re.escape(p) + rb"v\b")
        out = set()
        f_re = re.compile(rb"<" + re.escape(p) + rb"f\b")
        for m in f_re.finditer(data, body_start, body_end):
            at = data.rfind(cell_open, body_start, m.start())
            end = data.find(cell_close, m.end(), body_end)
            if at < 0 or end < 0 or v_tag.search(data, m.end(), end):
                continue
            rm = CELL_REF.search(data, at, data.find(b">", at))
            if rm is not None:
                out.add(rm.group(1).decode().upper() + rm.group(2).decode())
        return out


class FormulaDeps(FormulaIndex):
    """What each formula refers to, and the removal of results gone stale."""

    def formulas(self, sheet: str) -> list[Formula]:
        """Every formula of this sheet with what it refers to (shared formulas
        through their master, array formulas with the range they fill)."""
        out: list[Formula] = []
        parsed: dict[str, Parsed] = {}

        def parse(text: str) -> Parsed:
            if text not in parsed:
                parsed[text] = parse_formula(text)
            return parsed[text]

        data, p = self.data, self.p
        cell_open = b"<" + p + b"c"
        body_start, body_end = self.sd_body
        f_re = re.compile(
            rb"<" + re.escape(p) + rb"f\b([^>]*?)(?:/>|>([^<]*)</" + re.escape(p) + rb"f>)"
        )
        for m in f_re.finditer(data, body_start, body_end):
            at = data.rfind(cell_open, body_start, m.start())
            tag_end = data.find(b">", at)
            rm = CELL_REF.search(data, at, tag_end) if at >= 0 else None
            if rm is None:  # a cell without r=: read the rows one by one
                return self._formulas_by_row(sheet, parse)
            row, col = int(rm.group(2)), column_index(rm.group(1).decode())
            a = parse_attrs(m.group(1))
            kind = a.get(b"t", b"normal")
            text = xml_unescape(m.group(2).decode()) if m.group(2) else ""
            f = self._formula(sheet, row, col, a, kind, text, parse)
            out.append(f)
        return out

    def _formulas_by_row(self, sheet: str, parse: Callable[[str], Parsed]) -> list[Formula]:
        out: list[Formula] = []
        data = self.data
        for row in self.rows():
            if not F_ANY.search(data, row.open_end, row.close_start):
                continue
            for c in self.cells(row):
                m = F_ELEMENT.search(c.inner)
                if not m:
                    continue
                a = parse_attrs(m.group(2))
                kind = a.get(b"t", b"normal")
                text = xml_unescape((m.group(3) or b"").decode())
                out.append(self._formula(sheet, row.num, c.col, a, kind, text, parse))
        return out

    def _formula(
        self,
        sheet: str,
        row: int,
        col: int,
        a: dict[bytes, bytes],
        kind: bytes,
        text: str,
        parse: Callable[[str], Parsed],
    ) -> Formula:
        f = Formula(sheet, row, col, Parsed(unanalysable=True))
        if kind == b"shared" and not text:
            master = self._shared_master(a.get(b"si", b""))
            if master:
                mr, mc, mtext = master
                f = Formula(sheet, row, col, parse(mtext), row - mr, col - mc)
        elif kind in (b"normal", b"shared", b"array") and text:
            f.parsed = parse(text)
        if kind in (b"array", b"dataTable") and b"ref" in a:
            with contextlib.suppress(ValueError):
                f.outputs = parse_range(a[b"ref"].decode())
        return f

    def drop_cached(self, cells: set[tuple[int, int]]) -> bool:
        """Remove the cached value (``<v>``, and ``t``) of these cells; True if any had one."""
        by_row: dict[int, set[int]] = {}
        for r, c in cells:
            by_row.setdefault(r, set()).add(c)
        before = len(self.edits)
        for num, cols in sorted(by_row.items()):
            row, _ = self.find_row(num)
            if row is None:
                continue
            for cell in self.cells(row):
                if cell.col not in cols:
                    continue
                inner = V_ELEMENT.sub(b"", cell.inner)
                if inner == cell.inner:
                    continue
                attrs = drop_attrs(cell.attrs, (b"t",))
                p = self.p
                xml = b"<" + p + b"c" + attrs + b">" + inner + b"</" + p + b"c>"
                self.edits.append((cell.start, cell.end, xml))
        return len(self.edits) > before

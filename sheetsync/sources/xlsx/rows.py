"""A worksheet's XML and its row index: rows and cells located without parsing the sheet.

Where ``<sheetData>``, each row and each cell sit, and the planned edits spliced into
the original bytes.

Rows are found by searching the byte range (rows are in ascending order), so a
write to one row of a big sheet reads only a few kilobytes of it; sheets whose
rows lack ``r=`` fall back to a full index.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ...grid import column_index
from .formulas import F_ANY
from .xmlbytes import BadSheet


@dataclass
class Cell:
    col: int
    start: int  # absolute offsets into the sheet XML
    end: int
    attrs: bytes  # the raw attribute text of the open tag (leading space included)
    inner: bytes  # content between <c ...> and </c>; b"" when self-closing
    has_r: bool

    @property
    def formula(self) -> bool:
        return bool(F_ANY.search(self.inner))

    @property
    def has_data(self) -> bool:
        return (
            self.formula
            or b"<" in self.inner
            and bool(re.search(rb"<(?:[\w.-]+:)?(?:v|is)\b", self.inner))
        )


ROW_NUM = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")
_CELL_COL = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]{1,3})\$?\d+["']""")
CELL_REF = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]{1,3})\$?(\d+)["']""")


class NoRowNumbers(Exception):
    pass


@dataclass
class Row:
    num: int
    start: int
    open_end: int  # just after the open tag
    close_start: int  # start of </row> (== open_end when self-closing)
    end: int
    attrs: bytes
    self_closing: bool


class SheetXml:
    """One worksheet's XML: its ``<sheetData>``, the edits planned on it and the
    splice that applies them (``pieces``). The parts of ``sheet.Sheet`` build on it;
    their state (row and formula caches, the epoch and date style for new cells)
    is set up here, so that none of them needs a constructor of its own."""

    def __init__(
        self,
        data: bytes,
        date1904: bool = False,
        date_style: int | None = None,
        where: str = "worksheet",
    ) -> None:
        self.where = where
        self.data = data
        self.date1904 = date1904
        self.date_style = date_style
        m = re.search(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData\b[^>]*?(/?)>", data)
        if not m:
            raise BadSheet(f"{where} has no <sheetData>")
        self.p = m.group(1)
        self.sd_open = (m.start(), m.end(), bool(m.group(2)))
        if m.group(2):
            self.sd_body = (m.end(), m.end())
        else:
            close = data.find(b"</" + self.p + b"sheetData>", m.end())
            if close < 0:
                raise BadSheet(f"{where}: <sheetData> is not closed")
            self.sd_body = (m.end(), close)
        self.edits: list[tuple[int, int, bytes]] = []
        self._rows: list[Row] | None = None
        self._row_re = re.compile(rb"<" + re.escape(self.p) + rb"row\b([^>]*?)(/?)>")
        self._cell_full = re.compile(
            rb"<"
            + re.escape(self.p)
            + rb"c(?=[\s/>])([^>]*?)(?:/>|>(.*?)</"
            + re.escape(self.p)
            + rb"c>)",
            re.S,
        )
        self._cell_tag = re.compile(rb"<" + re.escape(self.p) + rb"c[\s/>]")
        self._row_close = b"</" + self.p + b"row>"
        self._cell_close = b"</" + self.p + b"c>"
        self._arrays: list[tuple[int, int, int, int]] | None = None
        self._no_row_numbers = False
        self._seen_nums: list[int] = []  # rows already located, for find_row
        self._seen: list[re.Match[bytes]] = []
        self._formulas: bool | None = None
        self._masters: dict[bytes, tuple[int, int, str] | None] = {}
        self.new_bounds: list[tuple[int, int]] = []

    def pieces(self) -> list[bytes | memoryview]:
        """The patched XML as a list of byte pieces (slices of the original, not copies)."""
        view = memoryview(self.data)
        out: list[bytes | memoryview] = []
        pos = 0
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], e[1])):
            if start < pos:
                raise AssertionError("overlapping worksheet edits")
            out.append(view[pos:start])
            out.append(new)
            pos = end
        out.append(view[pos:])
        return out


class RowIndex(SheetXml):
    """Rows and cells in document order: the full index, the rows from the last up."""

    def _row_at(self, m: re.Match[bytes], num: int) -> Row:
        if m.group(2):
            return Row(num, m.start(), m.end(), m.end(), m.end(), m.group(1), True)
        c = self.data.find(self._row_close, m.end(), self.sd_body[1])
        if c < 0:
            raise BadSheet(f"{self.where}: row {num} is not closed")
        return Row(num, m.start(), m.end(), c, c + len(self._row_close), m.group(1), False)

    def rows_reversed(self) -> Iterator[Row]:
        """Rows from the last one up."""
        if self._rows is not None or self._no_row_numbers:
            yield from reversed(self.rows())
            return
        start, pos = self.sd_body
        tag = b"<" + self.p + b"row"
        while (i := self.data.rfind(tag, start, pos)) >= 0:
            pos = i
            m = self._row_re.match(self.data, i, self.sd_body[1])
            if m is None:
                continue
            rm = ROW_NUM.search(m.group(1))
            if rm is None:
                self._no_row_numbers = True
                yield from reversed([r for r in self.rows() if r.start < i + 1])
                return
            yield self._row_at(m, int(rm.group(1)))

    def rows(self) -> list[Row]:
        """Every row (a full index; only for sheets whose rows lack r=, and formula_cells)."""
        if self._rows is None:
            rows: list[Row] = []
            data, pos, end = self.data, self.sd_body[0], self.sd_body[1]
            search, close, prev = self._row_re.search, self._row_close, 0
            r_attr = ROW_NUM
            while (m := search(data, pos, end)) is not None:
                attrs = m.group(1)
                rm = r_attr.search(attrs)
                num = int(rm.group(1)) if rm else prev + 1
                if m.group(2):
                    rows.append(Row(num, m.start(), m.end(), m.end(), m.end(), attrs, True))
                    pos = m.end()
                else:
                    c = data.find(close, m.end(), end)
                    if c < 0:
                        raise BadSheet(f"{self.where}: row {num} is not closed")
                    pos = c + len(close)
                    rows.append(Row(num, m.start(), m.end(), c, pos, attrs, False))
                prev = num
            self._rows = rows
        return self._rows

    def cells(self, row: Row) -> list[Cell]:
        out: list[Cell] = []
        prev = 0
        for m in self._cell_full.finditer(self.data, row.open_end, row.close_start):
            attrs = m.group(1)
            rm = _CELL_COL.search(attrs)
            col = column_index(rm.group(1).decode()) if rm else prev + 1
            out.append(Cell(col, m.start(), m.end(), attrs, m.group(2) or b"", rm is not None))
            prev = col
        if len(self._cell_tag.findall(self.data, row.open_end, row.close_start)) != len(out):
            raise BadSheet(f"{self.where}: a cell of row {row.num} is not closed")
        return out


class RowSearch(RowIndex):
    """Finding one row by its number without indexing the sheet."""

    def find_row(self, num: int) -> tuple[Row | None, int]:
        """(row ``num`` or None, the offset where it starts or would be inserted).

        Rows are in ascending order (the spec requires it), so this searches the
        byte range (interpolating, then halving, between rows already seen)
        instead of indexing every row; sheets whose rows lack ``r=`` fall back
        to a full index.
        """
        if self._rows is None and not self._no_row_numbers:
            try:
                return self._search_row(num)
            except NoRowNumbers:
                self._no_row_numbers = True
        rows = self.rows()
        i = bisect.bisect_left([r.num for r in rows], num)
        if i < len(rows):
            return (rows[i] if rows[i].num == num else None), rows[i].start
        return None, self.sd_body[1]

    def _search_row(self, num: int) -> tuple[Row | None, int]:
        nums, seen = self._seen_nums, self._seen
        i = bisect.bisect_left(nums, num)
        if i < len(nums) and nums[i] == num:
            return self._row_at(seen[i], num), seen[i].start()
        # every row starting at or after lo is numbered above lo_num; none in [hi, ...) is below hi_num
        lo, lo_num = (seen[i - 1].end(), nums[i - 1]) if i else (self.sd_body[0], 0)
        hi, hi_num = (seen[i].start(), nums[i]) if i < len(nums) else (self.sd_body[1], None)
        step = 0
        while hi - lo > 4096:
            step += 1
            if hi_num is not None and step % 2:  # interpolate: rows are mostly evenly sized
                mid = lo + (hi - lo) * (num - lo_num - 1) // max(hi_num - lo_num, 1)
                mid = min(max(mid - 256, lo), hi - 1)
            else:
                mid = (lo + hi) // 2
            found = self._probe(mid)
            if found is None or found[1].start() >= hi:
                hi = mid
            elif found[0] == num:
                return self._row_at(found[1], num), found[1].start()
            elif found[0] < num:
                lo, lo_num = found[1].end(), found[0]
            else:
                hi, hi_num = found[1].start(), found[0]
        pos = lo
        while (found := self._probe(pos)) is not None:
            n, m = found
            if n >= num:
                return (self._row_at(m, n) if n == num else None), m.start()
            pos = m.end()
        return None, self.sd_body[1]

    def _probe(self, pos: int) -> tuple[int, re.Match[bytes]] | None:
        """(number, tag match) of the first row whose tag starts at or after ``pos``."""
        m = self._row_re.search(self.data, pos, self.sd_body[1])
        if m is None:
            return None
        rm = ROW_NUM.search(m.group(1))
        if rm is None:
            raise NoRowNumbers
        num = int(rm.group(1))
        i = bisect.bisect_left(self._seen_nums, num)
        if i == len(self._seen_nums) or self._seen_nums[i] != num:
            self._seen_nums.insert(i, num)
            self._seen.insert(i, m)
        return num, m

"""Which formula cells may depend on cells a push wrote (their cached results go stale).

A push writes values; Excel keeps each formula's last result in the file
(``<v>``), and every reader that does not recalculate (LibreOffice on load,
calamine, pandas, sheetsync's own pull) shows that old result. So the writer
removes the cached result of every formula that *may* depend on a written
cell (the patch then sets ``fullCalcOnLoad``, and Excel or LibreOffice
recalculates on open).

"May depend" errs on the side of yes. A formula depends on a written cell
when one of its references covers it: cells and ranges (``A1``, ``$B$2:C9``),
whole columns and rows (``B:B``, ``3:5``), on its own sheet or another
(``Quotas!F:F``, ``'Q 1'!A1``), through a defined name (resolved to its
references), or through another formula that depends on it (followed to the
end). Anything that cannot be analysed from the text counts as dependent:
structured table references (``Table1[Sales]``, ``[@Sales]``), external
workbooks, 3-D references, unknown names, and the functions whose references
are computed or that change on their own (INDIRECT, OFFSET, RAND, NOW ...).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ...grid import column_index
from .refs import MAX_COL, MAX_ROW
from .xmlbytes import xml_unescape

#: Functions whose references are computed at run time, or that recalculate on their own.
UNANALYSABLE = frozenset(
    {"INDIRECT", "OFFSET", "RAND", "RANDBETWEEN", "RANDARRAY", "NOW", "TODAY", "CELL", "INFO"}
)
#: Names that are not defined names.
_LITERALS = frozenset({"TRUE", "FALSE"})

_TOKENS = re.compile(
    r"""
      (?P<str>"(?:[^"]|"")*")
    | (?P<err>\#[A-Z0-9/]+[!?]?)
    | (?<![\w.$\\])
      (?:(?P<sheet>'(?:[^']|'')+'|[A-Za-z_\\][\w.]*)!)?
      (?P<ref>
          \$?[A-Za-z]{1,3}\$?[0-9]{1,7}(?::\$?[A-Za-z]{1,3}\$?[0-9]{1,7})?
        | \$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}
        | \$?[0-9]{1,7}:\$?[0-9]{1,7}
      )(?![\w(!\[.])
    | (?P<br>\[)
    | (?<![\w.$\\])(?P<name>[A-Za-z_\\][\w.\\]*)(?P<call>\s*\()?
    """,
    re.VERBOSE,
)
_CELL = re.compile(r"(\$?)([A-Za-z]{1,3})?(\$?)([0-9]{1,7})?$")


@dataclass(frozen=True)
class Ref:
    """A rectangle a formula refers to; ``sheet`` None: the formula's own sheet.
    ``rel``: which of (r1, c1, r2, c2) move when the formula is copied."""

    sheet: str | None
    r1: int
    c1: int
    r2: int
    c2: int
    rel: tuple[bool, bool, bool, bool] = (False, False, False, False)

    def moved(self, drow: int, dcol: int) -> Ref:
        if not (drow or dcol) or not any(self.rel):
            return self
        d = (drow, dcol, drow, dcol)
        r1, c1, r2, c2 = (
            v + (dv if rel else 0)
            for v, dv, rel in zip((self.r1, self.c1, self.r2, self.c2), d, self.rel, strict=True)
        )
        return Ref(self.sheet, r1, c1, r2, c2, self.rel)


@dataclass(frozen=True)
class Parsed:
    """What one formula text refers to."""

    refs: tuple[Ref, ...] = ()
    names: tuple[str, ...] = ()  # defined names used (upper case)
    unanalysable: bool = False


def _unquote(sheet: str) -> str:
    return sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet


def _corner(text: str) -> tuple[int | None, bool, int | None, bool]:
    """(row, row relative, col, col relative) of ``$A$1``, ``A``, ``$3`` ..."""
    m = _CELL.match(text)
    if not m:
        raise ValueError(text)
    col = column_index(m.group(2)) if m.group(2) else None
    row = int(m.group(4)) if m.group(4) else None
    return row, not m.group(3) if m.group(2) else not m.group(1), col, not m.group(1)


def _ref(sheet: str | None, text: str) -> Ref | None:
    a, _, b = text.partition(":")
    try:
        r1, rr1, c1, rc1 = _corner(a)
        r2, rr2, c2, rc2 = _corner(b) if b else (r1, rr1, c1, rc1)
    except ValueError:
        return None
    if c1 is not None and c1 > MAX_COL or c2 is not None and c2 > MAX_COL:
        return None  # a name such as LOG10 that looks like a cell
    if r1 is None or r2 is None:  # whole columns
        r1, r2, rr1, rr2 = 1, MAX_ROW, False, False
    if c1 is None or c2 is None:  # whole rows
        c1, c2, rc1, rc2 = 1, MAX_COL, False, False
    return Ref(
        sheet,
        min(r1, r2),
        min(c1, c2),
        max(r1, r2),
        max(c1, c2),
        (rr1, rc1, rr2, rc2),
    )


def parse_formula(text: str) -> Parsed:
    """The references, defined names and unanalysable parts of one formula."""
    refs: list[Ref] = []
    names: list[str] = []
    unanalysable = False
    for m in _TOKENS.finditer(text):
        if m.group("str") or m.group("err"):
            continue
        if m.group("br"):
            unanalysable = True  # structured reference or external workbook
            continue
        if m.group("ref"):
            sheet = m.group("sheet")
            if sheet and (":" in sheet or sheet.startswith("[")):
                unanalysable = True  # 3-D reference
                continue
            ref = _ref(_unquote(sheet) if sheet else None, m.group("ref"))
            if ref is None:
                unanalysable = True
            else:
                refs.append(ref)
            continue
        name = m.group("name")
        if name is None:
            continue
        upper = name.upper()
        if m.group("call"):
            if upper.rsplit(".", 1)[-1] in UNANALYSABLE:
                unanalysable = True
            continue
        if upper in _LITERALS:
            continue
        end = m.end()
        if end < len(text) and text[end] in "[!":
            unanalysable = True  # Table1[...] or a sheet prefix not followed by a reference
            continue
        names.append(upper)
    return Parsed(tuple(refs), tuple(names), unanalysable)


@dataclass
class Formula:
    """One formula cell (or array range): where it is, what it shows, what it reads."""

    sheet: str
    row: int
    col: int
    parsed: Parsed
    drow: int = 0  # a shared formula's offset from its master
    dcol: int = 0
    outputs: tuple[int, int, int, int] | None = None  # an array formula's range

    def rects(self) -> Iterable[Ref]:
        for r in self.parsed.refs:
            yield r.moved(self.drow, self.dcol)

    def cells(self) -> Iterable[tuple[int, int]]:
        if self.outputs is None:
            yield self.row, self.col
            return
        r1, c1, r2, c2 = self.outputs
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                yield r, c


@dataclass
class Dirty:
    """Cells whose value changed, per sheet (lower-cased name): single cells by
    column, and whole rows (appended or cleared)."""

    cells: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)

    def add(self, sheet: str, row: int, col: int) -> None:
        col_rows = self.cells.setdefault(sheet.lower(), {}).setdefault(col, [])
        i = bisect.bisect_left(col_rows, row)
        if i == len(col_rows) or col_rows[i] != row:
            col_rows.insert(i, row)

    def add_row(self, sheet: str, row: int) -> None:
        rows = self.rows.setdefault(sheet.lower(), [])
        i = bisect.bisect_left(rows, row)
        if i == len(rows) or rows[i] != row:
            rows.insert(i, row)

    def __bool__(self) -> bool:
        return bool(self.cells) or bool(self.rows)

    def hits(self, sheet: str, r1: int, c1: int, r2: int, c2: int) -> bool:
        key = sheet.lower()
        rows = self.rows.get(key)
        if rows:
            i = bisect.bisect_left(rows, r1)
            if i < len(rows) and rows[i] <= r2:
                return True
        for col, col_rows in self.cells.get(key, {}).items():
            if c1 <= col <= c2:
                i = bisect.bisect_left(col_rows, r1)
                if i < len(col_rows) and col_rows[i] <= r2:
                    return True
        return False


def defined_names(workbook_xml: bytes) -> dict[str, list[Parsed]]:
    """Each defined name (upper case) with what its definitions refer to."""
    out: dict[str, list[Parsed]] = {}
    for m in re.finditer(
        rb"<(?:[\w.-]+:)?definedName\b([^>]*)>(.*?)</(?:[\w.-]+:)?definedName>",
        workbook_xml,
        re.S,
    ):
        nm = re.search(rb"""\sname\s*=\s*["']([^"']*)["']""", m.group(1))
        if nm:
            name = xml_unescape(nm.group(1).decode()).upper()
            out.setdefault(name, []).append(parse_formula(xml_unescape(m.group(2).decode())))
    return out


def stale_cells(
    formulas: list[Formula], dirty: Dirty, names: dict[str, list[Parsed]]
) -> dict[str, set[tuple[int, int]]]:
    """The (row, col) per sheet of every formula cell that may depend on a
    ``dirty`` cell, directly or through other formulas; ``dirty`` grows by them."""

    def depends(f: Formula) -> bool:
        if f.parsed.unanalysable:
            return True
        for r in f.rects():
            if dirty.hits(r.sheet or f.sheet, r.r1, r.c1, r.r2, r.c2):
                return True
        for name in f.parsed.names:
            defs = names.get(name)
            if defs is None:
                return True  # not a defined name we know: in doubt
            for d in defs:
                if d.unanalysable or d.names:
                    return True
                if any(dirty.hits(r.sheet or f.sheet, r.r1, r.c1, r.r2, r.c2) for r in d.refs):
                    return True
        return False

    stale: dict[str, set[tuple[int, int]]] = {}
    todo = list(formulas)
    if not dirty:
        return stale
    changed = True
    while changed and todo:
        changed = False
        rest = []
        for f in todo:
            if depends(f):
                for r, c in f.cells():
                    stale.setdefault(f.sheet, set()).add((r, c))
                    dirty.add(f.sheet, r, c)
                changed = True
            else:
                rest.append(f)
        todo = rest
    return stale

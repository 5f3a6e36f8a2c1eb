"""A1 cell and range references bounded by a worksheet's limits (1,048,576 rows, XFD columns).

Kept apart from ``grid.parse_a1_strict`` on purpose: a patch tells a cell off
the sheet (``A0``, ``XFE1``: "out of the sheet") from text that is no cell
reference at all, and accepts the leading zeros a file may hold (``A01``).
"""

from __future__ import annotations

import re

from ...grid import a1, column_index

MAX_ROW = 1_048_576
MAX_COL = 16_384

_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def parse_ref(ref: str) -> tuple[int, int]:
    """(row, col) of ``B7`` or ``$B$7``; ValueError when not a cell of a worksheet."""
    m = _REF_RE.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    row, col = int(m.group(2)), column_index(m.group(1))
    if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        raise ValueError(f"cell reference out of the sheet: {ref!r}")
    return row, col


def parse_range(text: str) -> tuple[int, int, int, int]:
    """(row1, col1, row2, col2) of ``A1:C5`` or ``A1``."""
    a, _, b = text.partition(":")
    r1, c1 = parse_ref(a)
    r2, c2 = parse_ref(b) if b else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def range_ref(r1: int, c1: int, r2: int, c2: int) -> str:
    """``A1:C5``, or ``A1`` for a single cell."""
    a, b = a1(r1, c1), a1(r2, c2)
    return a if a == b else f"{a}:{b}"

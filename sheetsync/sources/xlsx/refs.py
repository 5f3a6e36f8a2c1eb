"""A1 cell and range references bounded by a worksheet's limits (1,048,576 rows, XFD columns)."""

from __future__ import annotations

from ...grid import a1, parse_a1_strict

MAX_ROW = 1_048_576
MAX_COL = 16_384


def parse_ref(ref: str) -> tuple[int, int]:
    """(row, col) of ``B7`` or ``$B$7``; ValueError when not a cell of a worksheet
    ("out of the sheet" for ``A0`` or ``XFE1``)."""
    return parse_a1_strict(ref, MAX_ROW, MAX_COL)


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

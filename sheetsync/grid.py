"""A worksheet's values as a grid, with A1 addresses. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def column_letter(col: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A → 1, AA → 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def a1(row: int, col: int) -> str:
    """1-based row and column → "E14"."""
    return f"{column_letter(col)}{row}"


def parse_a1(ref: str) -> tuple[int, int]:
    """ "E14" → (14, 5): 1-based row and column."""
    letters = ref.rstrip("0123456789")
    return int(ref[len(letters) :]), column_index(letters)


@dataclass
class Grid:
    """Cell values of one worksheet; ``rows[0]`` is row 1, ``rows[r][0]`` column A.

    Empty cells are ``None`` or ``""``. ``date1904`` tells which epoch plain
    date serial numbers use.
    """

    sheet: str
    rows: list[list[Any]]
    date1904: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def value(self, row: int, col: int) -> Any:
        """Value at 1-based row and column, None outside the grid."""
        if 0 < row <= len(self.rows):
            r = self.rows[row - 1]
            if 0 < col <= len(r):
                return r[col - 1]
        return None

    @property
    def height(self) -> int:
        return len(self.rows)

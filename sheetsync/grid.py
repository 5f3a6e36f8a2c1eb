"""A worksheet's values as a grid, with A1 addresses. No I/O."""

from __future__ import annotations

from collections.abc import Iterator
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


CHUNK_ROWS = 50_000  # rows converted at a time


@dataclass
class Grid:
    """Cell values of one worksheet; ``rows[0]`` is row 1, ``rows[r][0]`` column A.

    Empty cells are ``None`` or ``""``. ``date1904`` tells which epoch plain
    date serial numbers use.

    A streamed grid (``rest`` set) holds only its first rows in ``rows``; the
    others come once, in chunks, from ``chunks()``: a reader that maps them
    as they come never holds a sheet's worth of cells.
    """

    sheet: str
    rows: list[list[Any]]
    date1904: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    rest: Iterator[list[list[Any]]] | None = None  # the rows after ``rows``, in chunks

    def ensure(self, n: int) -> None:
        """Have at least the first ``n`` rows (or all there are) in ``rows``."""
        while self.rest is not None and len(self.rows) < n:
            chunk = next(self.rest, None)
            if chunk is None:
                self.rest = None
            else:
                self.rows.extend(chunk)

    def chunks(self, start: int, size: int = CHUNK_ROWS) -> Iterator[list[list[Any]]]:
        """The rows from index ``start`` on, in chunks of about ``size``. A
        streamed grid gives them once and keeps only the rows before ``start``."""
        if self.rest is None:
            for i in range(start, len(self.rows), size):
                yield self.rows[i : i + size]
            return
        self.ensure(start)
        head = self.rows[start:]
        del self.rows[start:]
        rest, self.rest = self.rest, None
        if head:
            yield head
        del head
        yield from rest

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

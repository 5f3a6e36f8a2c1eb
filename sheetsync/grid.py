"""Cell addresses and cell values shared by every source: A1 references, sheet-title quoting,
spreadsheet serial dates, and a worksheet's values as a grid. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
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


_A1 = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,8})$")


def parse_a1_strict(
    ref: str, max_row: int | None = None, max_col: int | None = None
) -> tuple[int, int]:
    """ " $E$14 " → (14, 5). ValueError "not a cell reference" when ``ref`` is no
    cell's address, "out of the sheet" when it is one past the sheet's edge (row
    0, or beyond ``max_row``/``max_col``). Leading zeros, as files hold them, are fine."""
    m = _A1.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    row, col = int(m.group(2)), column_index(m.group(1))
    if (
        row < 1
        or (max_row is not None and row > max_row)
        or (max_col is not None and col > max_col)
    ):
        raise ValueError(f"cell reference out of the sheet: {ref!r}")
    return row, col


def quote_sheet(title: str) -> str:
    """A sheet title as a formula or API range writes it: ``Dana's plan`` → ``'Dana''s plan'``."""
    return "'" + title.replace("'", "''") + "'"


def cell_ref(sheet: str, cell: str | None = None) -> str:
    """``'Projects'!E2`` (or ``'Projects'`` without a cell): where messages point."""
    return f"{quote_sheet(sheet)}!{cell}" if cell else quote_sheet(sheet)


# ---------------------------------------------------------------- serial dates
# Spreadsheets count days from 1899-12-30 (Excel's 1904 system: from 1904-01-01).
# Excel (not Google Sheets) also counts Lotus 1-2-3's phantom 29 Feb 1900 as serial 60,
# so its serials below 61 are one day ahead of the calendar: ``phantom_leap_day=True``.

EPOCH_1900 = datetime(1899, 12, 30)
EPOCH_1904 = datetime(1904, 1, 1)
_MARCH_1900 = datetime(1900, 3, 1)
MAX_SERIAL = 2_958_466  # 31 Dec 9999 + 1


def to_serial(
    value: date | datetime | time, *, date1904: bool = False, phantom_leap_day: bool = False
) -> int | float:
    """A date, datetime or time of day as a serial number: whole days are ints."""
    if isinstance(value, time):
        return (
            value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        ) / 86400
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    moment = moment.replace(tzinfo=None)
    delta = moment - (EPOCH_1904 if date1904 else EPOCH_1900)
    serial: int | float = delta.days
    if delta.seconds or delta.microseconds:
        serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    if phantom_leap_day and not date1904 and moment < _MARCH_1900:
        serial -= 1
    return serial


def serial_to_date(
    serial: float, *, date1904: bool = False, phantom_leap_day: bool = False
) -> date:
    """The calendar day of a serial number (its time of day dropped); ValueError out of range."""
    if not 0 < serial < MAX_SERIAL:
        raise ValueError(f"{serial!r} is not a date serial")
    days = int(serial)
    if phantom_leap_day and not date1904 and days < 61:
        days += 1  # Excel's 1..59 are 1 Jan..28 Feb 1900; 60 is the day that never was
    return (EPOCH_1904 if date1904 else EPOCH_1900).date() + timedelta(days=days)


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

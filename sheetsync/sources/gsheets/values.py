"""Cell values between Python and the Sheets API: serial dates, typed
``updateCells`` data, and the rows of a ``spreadsheets.get`` answer as
``values:batchGet`` gives them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ... import grid
from ...grid import column_letter

Cells = list[list[object]]


def to_serial(value: dt.date | dt.datetime | dt.time) -> int | float:
    """A date, datetime or time as a Sheets serial number (days since 1899-12-30)."""
    if not isinstance(value, dt.date | dt.time):
        raise TypeError(value)
    return grid.to_serial(value)


def to_api(value: object) -> object:
    """A Python value as a RAW cell value: dates → serials, None → "" (cleared)."""
    if value is None:
        return ""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written to Google Sheets")
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return to_serial(value)
    return str(value)


def parse_a1(ref: str) -> tuple[int, int]:
    """``"B7"`` as 0-based (row, column)."""
    row, col = grid.parse_a1_strict(ref)
    return row - 1, col - 1


def col_letters(col0: int) -> str:
    """The letters of a 0-based column."""
    return column_letter(col0 + 1)


# What values:batchGet (UNFORMATTED_VALUE) shows for a cell whose formula fails.
_ERRORS = {
    "NULL_VALUE": "#NULL!",
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "VALUE": "#VALUE!",
    "REF": "#REF!",
    "NAME": "#NAME?",
    "NUM": "#NUM!",
    "N_A": "#N/A",
    "LOADING": "Loading...",
}


def plain(value: Mapping[str, Any] | None) -> object:
    """An ExtendedValue as values:batchGet would give it ("" for none)."""
    if not value:
        return ""
    for kind in ("numberValue", "stringValue", "boolValue"):
        if kind in value:
            return value[kind]
    if "errorValue" in value:
        err = value["errorValue"]
        return _ERRORS.get(err.get("type", ""), err.get("message") or "#ERROR!")
    return ""


def grid_rows(data: list[Mapping[str, Any]]) -> tuple[Cells, set[str]]:
    """The rows of a sheet's GridData (effective values, trailing blanks
    trimmed, as values:batchGet gives them) and its formula cells."""
    rows: Cells = []
    formulas: set[str] = set()
    for block in data:
        r0, c0 = int(block.get("startRow", 0)), int(block.get("startColumn", 0))
        for i, row in enumerate(block.get("rowData") or []):
            cells = row.get("values") or []
            out = [""] * c0 + [plain(cell.get("effectiveValue")) for cell in cells]
            for j, cell in enumerate(cells):
                if "formulaValue" in (cell.get("userEnteredValue") or {}):
                    formulas.add(f"{col_letters(c0 + j)}{r0 + i + 1}")
            while out and out[-1] == "":
                out.pop()
            while len(rows) < r0 + i:
                rows.append([])
            rows.append(out)
    while rows and not rows[-1]:
        rows.pop()
    return rows, formulas


def extended(value: object) -> dict[str, Any]:
    """A Python value as updateCells' CellData: typed, so text stays text."""
    v = to_api(value)
    if v == "" and value is None:
        return {}  # no userEnteredValue, and the mask names it: the cell is cleared
    if isinstance(v, bool):
        return {"userEnteredValue": {"boolValue": v}}
    if isinstance(v, int | float):
        return {"userEnteredValue": {"numberValue": v}}
    return {"userEnteredValue": {"stringValue": str(v)}}


def update_cells(sheet_id: int, row0: int, col0: int, rows: list[list[object]]) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row0, "columnIndex": col0},
            "rows": [{"values": [extended(v) for v in row]} for row in rows],
            "fields": "userEnteredValue",
        }
    }


def append_dim(sheet_id: int, dimension: str, length: int) -> dict[str, Any]:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}

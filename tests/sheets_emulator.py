"""A Google Sheets API v4 (+ Drive v3 files, + OAuth token) emulator on loopback.

A real HTTP server on ``127.0.0.1`` (ephemeral port) that keeps spreadsheets in
memory and answers the subset of the APIs that gspread 6 and sheetsync use:

Sheets v4
    ``GET  /v4/spreadsheets/{id}`` (``fields``, ``includeGridData``, ``ranges``)
    ``POST /v4/spreadsheets/{id}:batchUpdate`` (addSheet, deleteSheet,
    updateSheetProperties, updateSpreadsheetProperties, appendDimension,
    insertDimension, deleteDimension, repeatCell/numberFormat,
    updateCells/userEnteredValue), all requests applied or none
    ``GET  /v4/spreadsheets/{id}/values/{range}``, ``PUT`` (update),
    ``POST …/values/{range}:append``, ``POST …/values/{range}:clear``
    ``GET  …/values:batchGet``, ``POST …/values:batchUpdate``, ``POST …/values:batchClear``
Drive v3
    ``POST /drive/v3/files`` (create a spreadsheet), ``GET /drive/v3/files/{id}``,
    ``GET /drive/v3/files`` (list with a small ``q`` subset), ``DELETE /drive/v3/files/{id}``
OAuth
    ``POST /token``: any JWT-bearer or refresh-token grant gets a bearer token,
    so a service-account JSON whose ``token_uri`` points here runs google-auth's
    real signing and refresh path without leaving the machine.

Values: ``valueRenderOption`` (FORMATTED_VALUE / UNFORMATTED_VALUE / FORMULA),
``dateTimeRenderOption`` (SERIAL_NUMBER / FORMATTED_STRING), ``valueInputOption``
(RAW keeps strings as strings; USER_ENTERED turns numbers, percentages, booleans,
ISO and US dates into typed values and ``=…`` into a formula evaluated for simple
arithmetic, cell references and SUM/MIN/MAX/AVERAGE/COUNT), ``majorDimension``,
A1 ranges with quoted or bare sheet names, whole rows / columns / sheets, and
Google's grid limits ("exceeds grid limits") on reads and writes.

Test hooks: ``requests`` (the request log), ``counts`` (per kind),
``fail_next(n, status, retry_after=None)``, ``drop_next(n)`` (close the
connection without answering), ``deny(spreadsheet_id)`` (403 for that
spreadsheet), ``reset_counts()``, and seeding helpers that bypass HTTP.
Errors use Google's JSON shape ``{"error": {"code", "message", "status"}}``.

``gspread_client(emulator)`` returns a real :class:`gspread.Client` whose
:class:`gspread.http_client.HTTPClient` subclass rewrites Google URLs to the
emulator (and refuses any URL it cannot rewrite to loopback).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import datetime as dt
import json
import math
import random
import re
import string
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

SHEETS_HOST = "https://sheets.googleapis.com"
DRIVE_HOST = "https://www.googleapis.com"
OAUTH_HOST = "https://oauth2.googleapis.com"
SHEETS_MIME = "application/vnd.google-apps.spreadsheet"
MAX_CELLS = 10_000_000
EPOCH = dt.date(1899, 12, 30)

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_STATUS_MESSAGES = {
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per "
    "minute per user' of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "The service is currently unavailable.",
}

# Copied from a real spreadsheets.get answer (see tests/…/conformance cassettes).
_DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
_THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        {"colorType": "TEXT", "color": {"rgbColor": {}}},
        {"colorType": "BACKGROUND", "color": {"rgbColor": {"red": 1, "green": 1, "blue": 1}}},
        {
            "colorType": "ACCENT1",
            "color": {"rgbColor": {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}},
        },
        {
            "colorType": "ACCENT2",
            "color": {"rgbColor": {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}},
        },
        {
            "colorType": "ACCENT3",
            "color": {"rgbColor": {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}},
        },
        {
            "colorType": "ACCENT4",
            "color": {"rgbColor": {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}},
        },
        {
            "colorType": "ACCENT5",
            "color": {"rgbColor": {"red": 1, "green": 0.42745098, "blue": 0.003921569}},
        },
        {
            "colorType": "ACCENT6",
            "color": {"rgbColor": {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}},
        },
        {
            "colorType": "LINK",
            "color": {"rgbColor": {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}},
        },
    ],
}


class ApiError(Exception):
    """An error answer in Google's JSON shape."""

    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS_NAMES.get(code, "UNKNOWN")

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def _bad(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


# --------------------------------------------------------------------------- A1


def col_letters(col0: int) -> str:
    out = ""
    n = col0 + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


_SIMPLE_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOKS_LIKE_CELL = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d+[Cc]\d+)$")
_CELL_PART = re.compile(r"^\$?([A-Za-z]{0,3})\$?(\d*)$")


def quote_title(title: str) -> str:
    """A sheet title as Google writes it in a range: bare when simple, else quoted."""
    if _SIMPLE_TITLE.match(title) and not _LOOKS_LIKE_CELL.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_range(text: str) -> tuple[str | None, str | None, bool]:
    """``'My sheet'!A1:B2`` → (sheet, a1, quoted). Bare text without ``!`` → (text, None, False)."""
    if text.startswith("'"):
        i, name = 1, []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    name.append("'")
                    i += 2
                    continue
                break
            name.append(ch)
            i += 1
        else:
            raise _bad(f"Unable to parse range: {text}")
        rest = text[i + 1 :]
        if rest == "":
            return "".join(name), None, True
        if rest.startswith("!"):
            return "".join(name), rest[1:], True
        raise _bad(f"Unable to parse range: {text}")
    if "!" in text:
        sheet, a1 = text.rsplit("!", 1)
        return sheet, a1, False
    return text, None, False


def _parse_cell_part(part: str, whole: str) -> tuple[int | None, int | None]:
    m = _CELL_PART.match(part.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise _bad(f"Unable to parse range: {whole}")
    col = col_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise _bad(f"Unable to parse range: {whole}")
    return row, col


@dataclass
class Rng:
    sheet: Sheet
    r1: int
    c1: int
    r2: int  # inclusive
    c2: int  # inclusive
    open_end: bool = False  # the range named only a start cell (writes may extend it)

    def a1(self) -> str:
        start = f"{col_letters(self.c1)}{self.r1 + 1}"
        end = f"{col_letters(self.c2)}{self.r2 + 1}"
        cells = start if (self.r1, self.c1) == (self.r2, self.c2) else f"{start}:{end}"
        return f"{quote_title(self.sheet.title)}!{cells}"


# ------------------------------------------------------------------------ cells


@dataclass
class Cell:
    value: Any = None  # str | int | float | bool | None (empty)
    formula: str | None = None
    fmt: str | None = None  # number format kind, see _format_number
    is_error: bool = False

    def empty(self) -> bool:
        return self.formula is None and (self.value is None or self.value == "")


def _num(v: float | int) -> int | float:
    """JSON number as Google writes it: integral values without a fraction."""
    if isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    return v


def _general(v: float | int) -> str:
    v = _num(v)
    if isinstance(v, int):
        return str(v)
    if abs(v) >= 1e15 or (v != 0 and abs(v) < 1e-9):
        mant, exp = f"{v:.5E}".split("E")
        return f"{mant.rstrip('0').rstrip('.')}E{int(exp):+03d}"
    return f"{round(v, 10):.10f}".rstrip("0").rstrip(".")


def serial_to_datetime(serial: float) -> dt.datetime:
    return dt.datetime.combine(EPOCH, dt.time()) + dt.timedelta(days=serial)


def _format_number(v: Any, fmt: str | None) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if fmt is None or fmt == "general":
        return _general(v)
    if fmt.startswith("date:") or fmt.startswith("datetime:") or fmt.startswith("time:"):
        try:
            d = serial_to_datetime(float(v))
        except (OverflowError, ValueError):
            return _general(v)
        kind, style = fmt.split(":", 1)
        if style == "iso":
            date = f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
        else:  # us
            date = f"{d.month}/{d.day}/{d.year}"
        clock = f"{d.hour}:{d.minute:02d}:{d.second:02d}"
        if kind == "date":
            return date
        if kind == "time":
            return clock
        return f"{date} {clock}"
    if fmt.startswith("percent:"):
        places = int(fmt.split(":")[1])
        return f"{v * 100:.{places}f}%"
    if fmt.startswith("number:"):
        places = int(fmt.split(":")[1])
        return f"{v:,.{places}f}"
    if fmt.startswith("currency:"):
        places = int(fmt.split(":")[1])
        sign = "-" if v < 0 else ""
        return f"{sign}${abs(v):,.{places}f}"
    return _general(v)


def _is_datetime_fmt(fmt: str | None) -> bool:
    return bool(fmt) and fmt.split(":", 1)[0] in ("date", "datetime", "time")


_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_PERCENT = re.compile(r"^([+-]?\d+(\.\d+)?)\s*%$")
_CURRENCY = re.compile(r"^(-)?\$(\d{1,3}(,\d{3})+|\d+)(\.(\d+))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def datetime_to_serial(d: dt.date | dt.datetime) -> int | float:
    if isinstance(d, dt.datetime):
        delta = d - dt.datetime.combine(EPOCH, dt.time(), tzinfo=d.tzinfo)
        return _num(delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6)
    return (d - EPOCH).days


def _parse_user_entered(text: str) -> tuple[Any, str | None, str | None]:
    """USER_ENTERED text → (value, formula, inferred format)."""
    s = text.strip()
    if text.startswith("="):
        return None, text, None
    if text.startswith("'"):
        return text[1:], None, None
    if s.upper() in ("TRUE", "FALSE"):
        return s.upper() == "TRUE", None, None
    if s and any(ch.isdigit() for ch in s):
        if _NUMBER.match(s):
            grouped = "," in s
            v = float(s.replace(",", ""))
            places = len(s.split(".")[1]) if "." in s and "e" not in s.lower() else 0
            return _num(v), None, (f"number:{places}" if grouped else None)
        m = _PERCENT.match(s)
        if m:
            places = len(m.group(2)) - 1 if m.group(2) else 0
            return _num(float(m.group(1)) / 100), None, f"percent:{places}"
        m = _CURRENCY.match(s)
        if m:
            v = float(m.group(2).replace(",", "") + (m.group(4) or ""))
            v = -v if m.group(1) else v
            return _num(v), None, f"currency:{len(m.group(5) or '') or 2}"
        for rx, style in ((_ISO_DATE, "iso"), (_US_DATE, "us")):
            m = rx.match(s)
            if not m:
                continue
            g = m.groups()
            y, mo, d = (
                (int(g[0]), int(g[1]), int(g[2]))
                if style == "iso"
                else (
                    int(g[2]),
                    int(g[0]),
                    int(g[1]),
                )
            )
            try:
                base = dt.datetime(y, mo, d, int(g[3] or 0), int(g[4] or 0), int(g[5] or 0))
            except ValueError:
                break
            kind = "datetime" if g[3] is not None else "date"
            return datetime_to_serial(base), None, f"{kind}:{style}"
    return text, None, None


# --------------------------------------------------------------------- formulas

_REF = re.compile(
    r"(?:(?P<sheet>'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_]*)!)?"
    r"\$?(?P<c1>[A-Z]{1,3})\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Z]{1,3})\$?(?P<r2>\d+))?"
)
_FUNCS = {
    "SUM": lambda xs: sum(xs),
    "MIN": lambda xs: min(xs) if xs else 0,
    "MAX": lambda xs: max(xs) if xs else 0,
    "AVERAGE": lambda xs: sum(xs) / len(xs) if xs else _div0(),
    "COUNT": lambda xs: len(xs),
}


class _FormulaError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _div0() -> float:
    raise _FormulaError("#DIV/0!")


class _Evaluator:
    """A small, safe evaluator: numbers, + - * / ^ &, refs, ranges, a few functions."""

    def __init__(self, book: Spreadsheet, sheet: Sheet, depth: int) -> None:
        self.book, self.sheet, self.depth = book, sheet, depth

    def run(self, formula: str) -> Any:
        if self.depth > 50:
            raise _FormulaError("#REF!")
        refs: list[list[Any]] = []

        def sub(m: re.Match[str]) -> str:
            refs.append(self._ref_values(m))
            return f"__ref{len(refs) - 1}__"

        body = formula[1:]
        body = re.sub(r'"[^"]*"', lambda m: repr(m.group(0)[1:-1]), body)
        body = _REF.sub(sub, body)
        body = body.replace("^", "**").replace("&", "@").replace("<>", "!=")
        try:
            tree = ast.parse(body, mode="eval")
        except SyntaxError as e:
            raise _FormulaError("#ERROR!") from e
        return self._eval(tree.body, refs)

    def _ref_values(self, m: re.Match[str]) -> list[Any]:
        sheet = self.sheet
        if m.group("sheet"):
            name = m.group("sheet")
            if name.startswith("'"):
                name = name[1:-1].replace("''", "'")
            sheet = self.book.sheet_by_title(name)
            if sheet is None:
                raise _FormulaError("#REF!")
        r1, c1 = int(m.group("r1")) - 1, col_index(m.group("c1"))
        r2 = int(m.group("r2")) - 1 if m.group("r2") else r1
        c2 = col_index(m.group("c2")) if m.group("c2") else c1
        out = []
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                v = self.book.effective(sheet, r, c, self.depth + 1)
                if isinstance(v, _ErrorValue):
                    raise _FormulaError(v.code)
                out.append(v)
        return out

    def _eval(self, node: ast.AST, refs: list[list[Any]]) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
            return node.value
        if isinstance(node, ast.Name):
            if node.id.startswith("__ref"):
                vals = refs[int(node.id[5:-2])]
                if len(vals) != 1:
                    raise _FormulaError("#VALUE!")
                v = vals[0]
                return 0 if v is None else v
            if node.id.upper() in ("TRUE", "FALSE"):
                return node.id.upper() == "TRUE"
            raise _FormulaError("#NAME?")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = self._number(self._eval(node.operand, refs))
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = self._eval(node.left, refs), self._eval(node.right, refs)
            if isinstance(node.op, ast.MatMult):
                return self._text(a) + self._text(b)
            a, b = self._number(a), self._number(b)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                return a / b if b else _div0()
            if isinstance(node.op, ast.Pow):
                return a**b
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            a, b = self._eval(node.left, refs), self._eval(node.comparators[0], refs)
            op = node.ops[0]
            table = {ast.Lt: a < b, ast.Gt: a > b, ast.LtE: a <= b, ast.GtE: a >= b}
            if isinstance(op, ast.NotEq):
                return a != b
            for k, v in table.items():
                if isinstance(op, k):
                    return v
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = _FUNCS.get(node.func.id.upper())
            if fn is None:
                raise _FormulaError("#NAME?")
            xs: list[float] = []
            for arg in node.args:
                if isinstance(arg, ast.Name) and arg.id.startswith("__ref"):
                    xs.extend(
                        v
                        for v in refs[int(arg.id[5:-2])]
                        if isinstance(v, int | float) and not isinstance(v, bool)
                    )
                else:
                    xs.append(self._number(self._eval(arg, refs)))
            return fn(xs)
        raise _FormulaError("#ERROR!")

    @staticmethod
    def _number(v: Any) -> float:
        if isinstance(v, bool):
            return float(v)
        if isinstance(v, int | float):
            return v
        if v is None or v == "":
            return 0
        try:
            return float(str(v))
        except ValueError as e:
            raise _FormulaError("#VALUE!") from e

    @staticmethod
    def _text(v: Any) -> str:
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, int | float):
            return _general(v)
        return "" if v is None else str(v)


# ----------------------------------------------------------------------- model


@dataclass
class Sheet:
    sheet_id: int
    title: str
    index: int
    row_count: int = 1000
    column_count: int = 26
    extra_grid: dict[str, Any] = field(default_factory=dict)  # frozenRowCount, ...
    extra_props: dict[str, Any] = field(default_factory=dict)  # hidden, tabColorStyle, ...
    rows: list[list[Cell | None]] = field(default_factory=list)

    def properties(self) -> dict[str, Any]:
        grid = {"rowCount": self.row_count, "columnCount": self.column_count, **self.extra_grid}
        props = {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "gridProperties": grid,
        }
        props.update(self.extra_props)
        return props

    def cell(self, r: int, c: int) -> Cell | None:
        if r < len(self.rows):
            row = self.rows[r]
            if c < len(row):
                return row[c]
        return None

    def cell_for_write(self, r: int, c: int) -> Cell:
        rows = self.rows
        if r >= len(rows):
            rows.extend([] for _ in range(r + 1 - len(rows)))
        row = rows[r]
        if c >= len(row):
            row.extend([None] * (c + 1 - len(row)))
        cell = row[c]
        if cell is None:
            cell = row[c] = Cell()
        return cell

    def data_extent(self) -> tuple[int, int]:
        """(rows, columns) that hold a value."""
        nrows = ncols = 0
        for r, row in enumerate(self.rows):
            last = -1
            for c, cell in enumerate(row):
                if cell is not None and not cell.empty():
                    last = c
            if last >= 0:
                nrows = r + 1
                ncols = max(ncols, last + 1)
        return nrows, ncols


def _new_id(n: int = 44) -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "1" + "".join(random.choice(alphabet) for _ in range(n - 1))


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


@dataclass
class Spreadsheet:
    id: str
    title: str
    sheets: list[Sheet] = field(default_factory=list)
    locale: str = "en_US"
    time_zone: str = "Etc/GMT"
    created: str = field(default_factory=_now)
    modified: str = field(default_factory=_now)
    parents: list[str] = field(default_factory=list)
    denied: bool = False

    def sheet_by_title(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title == title:
                return s
        return None

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        return None

    def new_sheet_id(self) -> int:
        while True:
            sid = random.randint(1, 2**31 - 1)
            if self.sheet_by_id(sid) is None:
                return sid

    def reindex(self) -> None:
        self.sheets.sort(key=lambda s: s.index)
        for i, s in enumerate(self.sheets):
            s.index = i

    def total_cells(self, skip: Sheet | None = None) -> int:
        return sum(s.row_count * s.column_count for s in self.sheets if s is not skip)

    # ---- values

    def effective(self, sheet: Sheet, r: int, c: int, depth: int = 0) -> Any:
        cell = sheet.cell(r, c)
        if cell is None:
            return None
        if cell.formula is None:
            return cell.value
        try:
            return _num(_Evaluator(self, sheet, depth).run(cell.formula))
        except _FormulaError as e:
            return _ErrorValue(e.code)
        except (ZeroDivisionError, OverflowError, TypeError, ValueError, RecursionError):
            return _ErrorValue("#ERROR!")

    def render(self, sheet: Sheet, r: int, c: int, value_render: str, dt_render: str) -> Any:
        cell = sheet.cell(r, c)
        if cell is None or cell.empty():
            return ""
        if value_render == "FORMULA" and cell.formula is not None:
            return cell.formula
        v = self.effective(sheet, r, c)
        if isinstance(v, _ErrorValue):
            return v.code
        if v is None:
            return ""
        if isinstance(v, str):
            return v
        if value_render == "FORMATTED_VALUE":
            return _format_number(v, cell.fmt)
        if (
            dt_render == "FORMATTED_STRING"
            and _is_datetime_fmt(cell.fmt)
            and not isinstance(v, bool)
        ):
            return _format_number(v, cell.fmt)
        return _num(v) if not isinstance(v, bool) else v

    def resolve(self, text: str, *, for_write: bool = False) -> Rng:
        name, a1, quoted = split_range(text)
        sheet: Sheet | None
        if a1 is None:
            sheet = self.sheet_by_title(name) if name is not None else None
            if sheet is None and not quoted:
                # not a sheet name: an A1 range on the first sheet
                sheet, a1 = (self.sheets[0] if self.sheets else None), name
            if sheet is None:
                raise _bad(f"Unable to parse range: {text}")
        else:
            sheet = self.sheet_by_title(name or "")
            if sheet is None:
                raise _bad(f"Unable to parse range: {text}")
        if a1 is None:
            return Rng(sheet, 0, 0, sheet.row_count - 1, sheet.column_count - 1)
        start, _, end = a1.partition(":")
        r1, c1 = _parse_cell_part(start, text)
        open_end = not end
        if end:
            r2, c2 = _parse_cell_part(end, text)
        else:
            if r1 is None or c1 is None:
                raise _bad(f"Unable to parse range: {text}")
            r2, c2 = r1, c1
        # whole columns / rows
        if r1 is None and c1 is not None and r2 is None:
            r1, r2 = 0, sheet.row_count - 1
        if c1 is None and r1 is not None and c2 is None:
            c1, c2 = 0, sheet.column_count - 1
        r1 = 0 if r1 is None else r1
        c1 = 0 if c1 is None else c1
        r2 = sheet.row_count - 1 if r2 is None else r2
        c2 = sheet.column_count - 1 if c2 is None else c2
        r1, r2 = min(r1, r2), max(r1, r2)
        c1, c2 = min(c1, c2), max(c1, c2)
        if r2 >= sheet.row_count or c2 >= sheet.column_count:
            raise self.grid_error(sheet, r1, c1, r2, c2)
        return Rng(sheet, r1, c1, r2, c2, open_end=open_end)

    @staticmethod
    def grid_error(sheet: Sheet, r1: int, c1: int, r2: int, c2: int) -> ApiError:
        bad_r = r2 if r2 >= sheet.row_count else r1
        bad_c = c2 if c2 >= sheet.column_count else c1
        where = f"{quote_title(sheet.title)}!{col_letters(bad_c)}{bad_r + 1}"
        return _bad(
            f"Range ({where}) exceeds grid limits. Max rows: {sheet.row_count}, "
            f"max columns: {sheet.column_count}"
        )


class _ErrorValue:
    def __init__(self, code: str) -> None:
        self.code = code


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    kind: str
    status: int = 0
    body_size: int = 0
    at: float = field(default_factory=time.monotonic)


# ------------------------------------------------------------------ the server


def _fields_tree(spec: str) -> dict[str, Any]:
    """Parse a partial-response ``fields`` mask into a nested dict (leaf = {})."""
    pos = 0

    def parse_list() -> dict[str, Any]:
        nonlocal pos
        tree: dict[str, Any] = {}
        while pos < len(spec):
            # one path
            m = re.compile(r"\s*([A-Za-z0-9_*]+(?:[./][A-Za-z0-9_*]+)*)\s*").match(spec, pos)
            if not m:
                raise _bad(f"Invalid field selection {spec}")
            pos = m.end()
            parts = re.split(r"[./]", m.group(1))
            node = tree
            for p in parts:
                node = node.setdefault(p, {})
            if pos < len(spec) and spec[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(spec) or spec[pos] != ")":
                    raise _bad(f"Invalid field selection {spec}")
                pos += 1
                _merge(node, sub)
            if pos < len(spec) and spec[pos] == ",":
                pos += 1
                continue
            break
        return tree

    tree = parse_list()
    if pos != len(spec):
        raise _bad(f"Invalid field selection {spec}")
    return tree


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for k, v in other.items():
        _merge(into.setdefault(k, {}), v)


def _apply_fields(obj: Any, tree: dict[str, Any]) -> Any:
    if not tree or "*" in tree:
        return obj
    if isinstance(obj, list):
        return [_apply_fields(x, tree) for x in obj]
    if isinstance(obj, dict):
        out = {}
        for k, sub in tree.items():
            if k in obj:
                out[k] = _apply_fields(obj[k], sub)
        return out
    return obj


class SheetsEmulator:
    """The in-memory state plus the HTTP server. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.lock = threading.RLock()
        self.requests: list[RequestRecord] = []
        self.tokens_issued = 0
        self._failures: list[tuple[int, float | None]] = []
        self._drops = 0
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        h, p = self._server.server_address[:2]
        self.url = f"http://{h}:{p}"

    # ---- lifecycle

    def start(self) -> SheetsEmulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SheetsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test hooks

    @property
    def counts(self) -> Counter[str]:
        """Requests received per kind (``"values.batchGet"``, ``"spreadsheets.get"``, ...)."""
        with self.lock:
            return Counter(r.kind for r in self.requests)

    def count(self, kind: str | None = None) -> int:
        with self.lock:
            if kind is None:
                return sum(1 for r in self.requests if r.kind != "oauth.token")
            return sum(1 for r in self.requests if r.kind == kind)

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()

    def fail_next(self, n: int, status: int = 429, retry_after: float | None = None) -> None:
        """Answer the next ``n`` API requests (not token requests) with ``status``."""
        with self.lock:
            self._failures.extend([(status, retry_after)] * n)

    def drop_next(self, n: int) -> None:
        """Close the connection without an answer for the next ``n`` API requests."""
        with self.lock:
            self._drops += n

    def deny(self, spreadsheet_id: str, denied: bool = True) -> None:
        """Make a spreadsheet answer 403 PERMISSION_DENIED (not shared with the caller)."""
        with self.lock:
            self.spreadsheets[spreadsheet_id].denied = denied

    # ---- seeding (no HTTP, not counted)

    def create_spreadsheet(
        self,
        title: str = "Untitled spreadsheet",
        sheets: dict[str, list[list[Any]]] | list[str] | None = None,
        *,
        rows: int = 1000,
        cols: int = 26,
        value_input: str = "USER_ENTERED",
    ) -> str:
        with self.lock:
            ss = Spreadsheet(id=_new_id(), title=title)
            names = list(sheets) if sheets else ["Sheet1"]
            for i, name in enumerate(names):
                data = sheets[name] if isinstance(sheets, dict) else []
                nrows = max(rows, len(data))
                ncols = max(cols, max((len(r) for r in data), default=0))
                sid = 0 if i == 0 else ss.new_sheet_id()
                ss.sheets.append(Sheet(sid, name, i, nrows, ncols))
            self.spreadsheets[ss.id] = ss
        if isinstance(sheets, dict):
            for name, data in sheets.items():
                if data:
                    self.set_values(ss.id, name, data, value_input=value_input)
        return ss.id

    def set_values(
        self,
        spreadsheet_id: str,
        range_: str,
        values: list[list[Any]],
        *,
        value_input: str = "USER_ENTERED",
    ) -> None:
        with self.lock:
            ss = self.spreadsheets[spreadsheet_id]
            rng = ss.resolve(range_, for_write=True)
            _write_values(ss, rng, values, value_input, "ROWS", range_)

    def set_format(self, spreadsheet_id: str, range_: str, fmt: str | None) -> None:
        """Give a range a number format (``"date:iso"``, ``"percent:0"``, ...)."""
        with self.lock:
            ss = self.spreadsheets[spreadsheet_id]
            rng = ss.resolve(range_)
            for r in range(rng.r1, rng.r2 + 1):
                for c in range(rng.c1, rng.c2 + 1):
                    rng.sheet.cell_for_write(r, c).fmt = fmt

    def get_values(
        self,
        spreadsheet_id: str,
        range_: str,
        value_render: str = "UNFORMATTED_VALUE",
        dt_render: str = "SERIAL_NUMBER",
    ) -> list[list[Any]]:
        with self.lock:
            ss = self.spreadsheets[spreadsheet_id]
            return _read_values(ss, ss.resolve(range_), value_render, dt_render, "ROWS")

    def grid_size(self, spreadsheet_id: str, sheet: str) -> tuple[int, int]:
        with self.lock:
            s = self.spreadsheets[spreadsheet_id].sheet_by_title(sheet)
            assert s is not None
            return s.row_count, s.column_count

    # ---- request handling

    def handle(
        self, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes | None]:
        """One request → (status, headers, body); ``body is None`` means drop the connection."""
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        path = split.path
        kind = _kind(method, path)
        rec = RequestRecord(method, path, query, kind, body_size=len(body))
        with self.lock:
            self.requests.append(rec)
            if kind != "oauth.token":
                if self._drops:
                    self._drops -= 1
                    rec.status = -1
                    return -1, {}, None
                if self._failures:
                    status, retry_after = self._failures.pop(0)
                    rec.status = status
                    err = ApiError(status, _STATUS_MESSAGES.get(status, "Error"))
                    hdrs = {}
                    if retry_after is not None:
                        hdrs["Retry-After"] = str(retry_after).removesuffix(".0")
                    return status, hdrs, json.dumps(err.body()).encode()
            try:
                if kind != "oauth.token":
                    auth = headers.get("Authorization") or ""
                    if not auth.lower().startswith("bearer ") or len(auth) <= 7:
                        raise ApiError(
                            401,
                            "Request is missing required authentication credential. "
                            "Expected OAuth 2 access token, login cookie or other valid "
                            "authentication credential.",
                        )
                payload: Any = None
                if body:
                    ctype = headers.get("Content-Type") or ""
                    if "json" in ctype or body[:1] in (b"{", b"["):
                        try:
                            payload = json.loads(body)
                        except ValueError as e:
                            raise _bad(f"Invalid JSON payload received. {e}") from e
                    else:
                        payload = parse_qs(body.decode(), keep_blank_values=True)
                status, result = self._dispatch(method, path, query, payload)
            except ApiError as e:
                rec.status = e.code
                return e.code, {}, json.dumps(e.body()).encode()
            rec.status = status
            if result is None:
                return status, {}, b""
            return status, {}, json.dumps(result, ensure_ascii=False).encode()

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], payload: Any
    ) -> tuple[int, Any]:
        q1 = {k: v[-1] for k, v in query.items()}
        if path == "/token" and method == "POST":
            self.tokens_issued += 1
            return 200, {
                "access_token": f"emulator-token-{self.tokens_issued}",
                "expires_in": 3599,
                "token_type": "Bearer",
            }
        if path.startswith("/drive/v3/files"):
            return self._drive(method, path[len("/drive/v3/files") :], q1, payload)
        if path.startswith("/v4/spreadsheets/"):
            rest = path[len("/v4/spreadsheets/") :]
            return self._sheets(method, rest, query, q1, payload)
        raise ApiError(404, f"Method not found: {method} {path}", "NOT_FOUND")

    # ---- drive

    def _drive_file(self, ss: Spreadsheet) -> dict[str, Any]:
        return {
            "kind": "drive#file",
            "id": ss.id,
            "name": ss.title,
            "mimeType": SHEETS_MIME,
            "createdTime": ss.created,
            "modifiedTime": ss.modified,
            "parents": ss.parents or ["root"],
        }

    def _drive(self, method: str, rest: str, q: dict[str, str], payload: Any) -> tuple[int, Any]:
        default = ("kind", "id", "name", "mimeType")
        tree = _fields_tree(q["fields"]) if q.get("fields") else None
        if rest in ("", "/"):
            if method == "POST":
                payload = payload or {}
                if payload.get("mimeType", SHEETS_MIME) != SHEETS_MIME:
                    raise _bad("The emulator only creates Google Sheets files.")
                ss = Spreadsheet(id=_new_id(), title=payload.get("name") or "Untitled spreadsheet")
                ss.parents = list(payload.get("parents") or [])
                ss.sheets.append(Sheet(0, "Sheet1", 0))
                self.spreadsheets[ss.id] = ss
                f = self._drive_file(ss)
                out = _apply_fields(f, tree) if tree else {k: f[k] for k in default}
                return 200, out
            if method == "GET":
                files = [self._drive_file(s) for s in self.spreadsheets.values() if not s.denied]
                files = [f for f in files if _drive_query_match(f, q.get("q", ""))]
                listing = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
                if tree:
                    return 200, _apply_fields(listing, tree)
                listing["files"] = [{k: f[k] for k in default} for f in files]
                return 200, listing
            raise ApiError(405, "Method not allowed", "INVALID_ARGUMENT")
        file_id = unquote(rest.lstrip("/").split("/")[0])
        ss = self.spreadsheets.get(file_id)
        if ss is None or ss.denied:
            raise ApiError(404, f"File not found: {file_id}.", "NOT_FOUND")
        if method == "GET":
            f = self._drive_file(ss)
            return 200, (_apply_fields(f, tree) if tree else {k: f[k] for k in default})
        if method == "DELETE":
            del self.spreadsheets[file_id]
            return 204, None
        if method == "PATCH":
            if payload and "name" in payload:
                ss.title = payload["name"]
            f = self._drive_file(ss)
            return 200, (_apply_fields(f, tree) if tree else {k: f[k] for k in default})
        raise ApiError(405, "Method not allowed", "INVALID_ARGUMENT")

    # ---- sheets

    def _sheets(
        self,
        method: str,
        rest: str,
        query: dict[str, list[str]],
        q: dict[str, str],
        payload: Any,
    ) -> tuple[int, Any]:
        # rest: "{id}", "{id}:batchUpdate", "{id}/values/{range}[:op]", "{id}/values:batchGet"
        head, _, tail = rest.partition("/")
        sid, _, op = head.partition(":")
        sid = unquote(sid)
        ss = self.spreadsheets.get(sid)
        if ss is None:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        if ss.denied:
            raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
        if not tail:
            if op == "" and method == "GET":
                return 200, self._get_spreadsheet(ss, query, q)
            if op == "batchUpdate" and method == "POST":
                return 200, self._batch_update(ss, payload or {})
            raise ApiError(404, "Method not found.", "NOT_FOUND")
        if tail.startswith("values:"):
            op = tail[len("values:") :]
            if op == "batchGet" and method == "GET":
                return 200, self._values_batch_get(ss, query, q)
            if op == "batchUpdate" and method == "POST":
                return 200, self._values_batch_update(ss, payload or {})
            if op == "batchClear" and method == "POST":
                rngs = [ss.resolve(r) for r in (payload or {}).get("ranges", [])]
                for rng in rngs:
                    _clear(rng)
                self._touch(ss)
                return 200, {"spreadsheetId": ss.id, "clearedRanges": [r.a1() for r in rngs]}
            raise ApiError(404, "Method not found.", "NOT_FOUND")
        if tail.startswith("values/"):
            raw = tail[len("values/") :]
            raw_range, _, vop = raw.rpartition(":") if ":" in raw else (raw, "", "")
            if vop not in ("append", "clear"):
                raw_range, vop = raw, ""
            range_text = unquote(raw_range)
            if vop == "" and method == "GET":
                rng = ss.resolve(range_text)
                major = q.get("majorDimension", "ROWS")
                out: dict[str, Any] = {"range": rng.a1(), "majorDimension": major}
                vals = _read_values(
                    ss,
                    rng,
                    q.get("valueRenderOption", "FORMATTED_VALUE"),
                    q.get("dateTimeRenderOption", "SERIAL_NUMBER"),
                    major,
                )
                if vals:
                    out["values"] = vals
                return 200, out
            if vop == "" and method == "PUT":
                vio = _value_input(q)
                body = payload or {}
                rng = ss.resolve(range_text, for_write=True)
                res = _write_values(
                    ss,
                    rng,
                    body.get("values") or [],
                    vio,
                    body.get("majorDimension", "ROWS"),
                    range_text,
                )
                self._touch(ss)
                return 200, self._update_response(ss, res, q)
            if vop == "append" and method == "POST":
                return 200, self._append(ss, range_text, q, payload or {})
            if vop == "clear" and method == "POST":
                rng = ss.resolve(range_text)
                _clear(rng)
                self._touch(ss)
                return 200, {"spreadsheetId": ss.id, "clearedRange": rng.a1()}
        raise ApiError(404, "Method not found.", "NOT_FOUND")

    @staticmethod
    def _touch(ss: Spreadsheet) -> None:
        ss.modified = _now()

    def _update_response(self, ss: Spreadsheet, res: _WriteResult, q: dict[str, str]) -> Any:
        out: dict[str, Any] = {"spreadsheetId": ss.id}
        if res.rng is not None:
            out["updatedRange"] = res.rng.a1()
            out["updatedRows"] = res.rows
            out["updatedColumns"] = res.cols
            out["updatedCells"] = res.cells
            if q.get("includeValuesInResponse", "").lower() == "true":
                data: dict[str, Any] = {"range": res.rng.a1(), "majorDimension": "ROWS"}
                vals = _read_values(
                    ss,
                    res.rng,
                    q.get("responseValueRenderOption", "FORMATTED_VALUE"),
                    q.get("responseDateTimeRenderOption", "SERIAL_NUMBER"),
                    "ROWS",
                )
                if vals:
                    data["values"] = vals
                out["updatedData"] = data
        return out

    def _append(
        self, ss: Spreadsheet, range_text: str, q: dict[str, str], body: dict[str, Any]
    ) -> Any:
        vio = _value_input(q)
        base = ss.resolve(range_text)
        sheet = base.sheet
        values = body.get("values") or []
        if body.get("majorDimension", "ROWS") == "COLUMNS":
            values = _transpose(values)
        # The "table": for a one-cell range, the block of consecutive non-empty rows
        # starting there (an empty start cell takes the values itself, as gspread's
        # insert_row relies on); for a larger range, everything down to its last
        # row holding a value.
        table_c2 = base.c2 if not base.open_end else sheet.column_count - 1

        def has_data(r: int) -> bool:
            if r >= len(sheet.rows):
                return False
            row = sheet.rows[r]
            return any(
                row[c] is not None and not row[c].empty()
                for c in range(base.c1, min(len(row), table_c2 + 1))
            )

        last = -1
        first_table_row = None
        if base.open_end:
            r = base.r1
            while r < sheet.row_count and has_data(r):
                first_table_row = base.r1 if first_table_row is None else first_table_row
                last = r
                r += 1
        else:
            for r in range(base.r1, min(len(sheet.rows), base.r2 + 1)):
                if has_data(r):
                    last = r
                    if first_table_row is None:
                        first_table_row = r
        start = last + 1 if last >= 0 else base.r1
        if q.get("insertDataOption") == "INSERT_ROWS" and values:
            _insert_rows(sheet, start, len(values))
            sheet.row_count += len(values)
        ncols = max((len(r) for r in values), default=0)
        need_rows = start + len(values)
        need_cols = base.c1 + ncols
        if need_rows > sheet.row_count or need_cols > sheet.column_count:
            new_rows, new_cols = max(need_rows, sheet.row_count), max(need_cols, sheet.column_count)
            if ss.total_cells(skip=sheet) + new_rows * new_cols > MAX_CELLS:
                raise _bad(
                    "This action would increase the number of cells in the workbook above "
                    f"the limit of {MAX_CELLS} cells."
                )
            sheet.row_count, sheet.column_count = new_rows, new_cols
        target = Rng(sheet, start, base.c1, start, base.c1, open_end=True)
        res = _write_values(ss, target, values, vio, "ROWS", range_text)
        self._touch(ss)
        out: dict[str, Any] = {"spreadsheetId": ss.id}
        if last >= 0 and first_table_row is not None:
            _, data_cols = sheet.data_extent()
            trng = Rng(sheet, first_table_row, base.c1, last, max(base.c1, data_cols - 1))
            out["tableRange"] = trng.a1()
        out["updates"] = self._update_response(ss, res, q)
        return out

    def _values_batch_get(
        self, ss: Spreadsheet, query: dict[str, list[str]], q: dict[str, str]
    ) -> Any:
        major = q.get("majorDimension", "ROWS")
        vr = q.get("valueRenderOption", "FORMATTED_VALUE")
        dr = q.get("dateTimeRenderOption", "SERIAL_NUMBER")
        rngs = [ss.resolve(r) for r in query.get("ranges", [])]
        out = []
        for rng in rngs:
            item: dict[str, Any] = {"range": rng.a1(), "majorDimension": major}
            vals = _read_values(ss, rng, vr, dr, major)
            if vals:
                item["values"] = vals
            out.append(item)
        return {"spreadsheetId": ss.id, "valueRanges": out}

    def _values_batch_update(self, ss: Spreadsheet, body: dict[str, Any]) -> Any:
        vio = body.get("valueInputOption")
        if vio not in ("RAW", "USER_ENTERED"):
            raise _bad("'valueInputOption' is required but not specified")
        data = body.get("data") or []
        # validate everything first: the batch is all-or-nothing
        planned = []
        for i, item in enumerate(data):
            if "range" not in item:
                raise _bad(f"Invalid data[{i}]: range is required")
            rng = ss.resolve(item["range"], for_write=True)
            values = item.get("values") or []
            if item.get("majorDimension", "ROWS") == "COLUMNS":
                values = _transpose(values)
            _check_write(ss, rng, values, item["range"])
            planned.append((rng, values, item["range"]))
        responses = []
        rows_touched: set[tuple[int, int]] = set()
        cols_touched: set[tuple[int, int]] = set()
        sheets: set[int] = set()
        cells = 0
        for rng, values, text in planned:
            res = _write_values(ss, rng, values, vio, "ROWS", text)
            resp: dict[str, Any] = {"spreadsheetId": ss.id}
            if res.rng is not None:
                resp.update(
                    updatedRange=res.rng.a1(),
                    updatedRows=res.rows,
                    updatedColumns=res.cols,
                    updatedCells=res.cells,
                )
                sid = rng.sheet.sheet_id
                sheets.add(sid)
                rows_touched.update((sid, r) for r in range(res.rng.r1, res.rng.r2 + 1))
                cols_touched.update((sid, c) for c in range(res.rng.c1, res.rng.c2 + 1))
                cells += res.cells
            responses.append(resp)
        self._touch(ss)
        out: dict[str, Any] = {"spreadsheetId": ss.id}
        if cells:
            out.update(
                totalUpdatedRows=len(rows_touched),
                totalUpdatedColumns=len(cols_touched),
                totalUpdatedCells=cells,
                totalUpdatedSheets=len(sheets),
            )
        out["responses"] = responses
        return out

    def _get_spreadsheet(
        self, ss: Spreadsheet, query: dict[str, list[str]], q: dict[str, str]
    ) -> Any:
        tree = _fields_tree(q["fields"]) if q.get("fields") else None
        grid = q.get("includeGridData", "false").lower() == "true"
        ranges = [ss.resolve(r) for r in query.get("ranges", [])]
        want_data = grid or (tree is not None and "data" in tree.get("sheets", {}))
        sheets_out = []
        targets = ss.sheets
        if ranges:
            ids = {r.sheet.sheet_id for r in ranges}
            targets = [s for s in ss.sheets if s.sheet_id in ids]
        # only what the field mask asks for is built (a big grid's formatted
        # values and pixel sizes cost far more than its values)
        data_tree = (tree or {}).get("sheets", {}).get("data") if tree else None
        cell_tree = (data_tree or {}).get("rowData", {}).get("values") if data_tree else None
        for s in targets:
            entry: dict[str, Any] = {"properties": s.properties()}
            if want_data:
                rngs = [r for r in ranges if r.sheet is s] or [
                    Rng(s, 0, 0, s.row_count - 1, s.column_count - 1)
                ]
                entry["data"] = [self._grid_data(ss, r, data_tree, cell_tree) for r in rngs]
            sheets_out.append(entry)
        out = {
            "spreadsheetId": ss.id,
            "properties": {
                "title": ss.title,
                "locale": ss.locale,
                "autoRecalc": "ON_CHANGE",
                "timeZone": ss.time_zone,
                "defaultFormat": copy.deepcopy(_DEFAULT_FORMAT),
                "spreadsheetTheme": copy.deepcopy(_THEME),
            },
            "sheets": sheets_out,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{ss.id}/edit",
        }
        return _apply_fields(out, tree) if tree else out

    def _grid_data(
        self,
        ss: Spreadsheet,
        rng: Rng,
        data_tree: dict[str, Any] | None = None,
        cell_tree: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        s = rng.sheet
        row_data = []
        last_row = min(rng.r2, len(s.rows) - 1)
        for r in range(rng.r1, last_row + 1):
            vals = []
            row = s.rows[r]
            for c in range(rng.c1, min(rng.c2, len(row) - 1) + 1):
                vals.append(self._cell_data(ss, s, r, c, cell_tree))
            while vals and not vals[-1]:
                vals.pop()
            row_data.append({"values": vals} if vals else {})
        while row_data and not row_data[-1]:
            row_data.pop()
        out: dict[str, Any] = {}
        if rng.r1:
            out["startRow"] = rng.r1
        if rng.c1:
            out["startColumn"] = rng.c1
        if row_data:
            out["rowData"] = row_data
        if data_tree is None or "rowMetadata" in data_tree:
            out["rowMetadata"] = [{"pixelSize": 21} for _ in range(rng.r1, rng.r2 + 1)]
        if data_tree is None or "columnMetadata" in data_tree:
            out["columnMetadata"] = [{"pixelSize": 100} for _ in range(rng.c1, rng.c2 + 1)]
        return out

    def _cell_data(
        self, ss: Spreadsheet, s: Sheet, r: int, c: int, want: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        cell = s.cell(r, c)
        if cell is None or cell.empty():
            return {}

        def typed(v: Any) -> dict[str, Any]:
            if isinstance(v, _ErrorValue):
                return {"errorValue": {"type": "ERROR", "message": v.code}}
            if isinstance(v, bool):
                return {"boolValue": v}
            if isinstance(v, int | float):
                return {"numberValue": _num(v)}
            return {"stringValue": "" if v is None else str(v)}

        out: dict[str, Any] = {}
        if want is None or "userEnteredValue" in want:
            out["userEnteredValue"] = (
                {"formulaValue": cell.formula} if cell.formula is not None else typed(cell.value)
            )
        if want is None or "effectiveValue" in want:
            out["effectiveValue"] = typed(ss.effective(s, r, c))
        if want is None or "formattedValue" in want:
            out["formattedValue"] = ss.render(s, r, c, "FORMATTED_VALUE", "SERIAL_NUMBER")
        return out

    # ---- spreadsheets:batchUpdate

    def _batch_update(self, ss: Spreadsheet, body: dict[str, Any]) -> Any:
        reqs = body.get("requests") or []
        # rows are copied only when a request can move or drop cells
        row_ops = {"insertDimension", "deleteDimension", "updateSheetProperties", "updateCells"}
        snapshot = _snapshot(
            ss, with_rows=any(isinstance(r, dict) and set(r) & row_ops for r in reqs)
        )
        replies = []
        self._cell_undo: list[tuple[Cell, dict[str, Any]]] = []  # cells changed in place
        try:
            for i, req in enumerate(reqs):
                if len(req) != 1:
                    raise _bad(f"Invalid requests[{i}]: exactly one kind of request is required")
                ((name, args),) = req.items()
                handler = getattr(self, f"_bu_{name}", None)
                if handler is None:
                    raise _bad(f"Invalid requests[{i}]: the emulator does not implement {name}")
                try:
                    replies.append(handler(ss, args or {}))
                except ApiError as e:
                    raise _bad(f"Invalid requests[{i}].{name}: {e.message}") from e
        except ApiError:
            for cell, state in reversed(self._cell_undo):
                cell.__dict__.update(state)
            _restore(ss, snapshot)
            raise
        finally:
            self._cell_undo = []
        self._touch(ss)
        out: dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            out["updatedSpreadsheet"] = self._get_spreadsheet(ss, {}, {})
        return out

    def _sheet_arg(self, ss: Spreadsheet, sheet_id: Any) -> Sheet:
        s = ss.sheet_by_id(int(sheet_id or 0))
        if s is None:
            raise ApiError(400, f"No grid with id: {sheet_id}")
        return s

    def _bu_addSheet(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        props = args.get("properties") or {}
        title = props.get("title")
        if title is None:
            n = len(ss.sheets) + 1
            while ss.sheet_by_title(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        if ss.sheet_by_title(title) is not None:
            raise ApiError(
                400,
                f'A sheet with the name "{title}" already exists. Please enter another name.',
            )
        sid = props.get("sheetId")
        if sid is not None and ss.sheet_by_id(int(sid)) is not None:
            raise ApiError(400, f"A sheet with id {sid} already exists.")
        grid = props.get("gridProperties") or {}
        rows, cols = int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26))
        if ss.total_cells() + rows * cols > MAX_CELLS:
            raise ApiError(
                400,
                "This action would increase the number of cells in the workbook above the "
                f"limit of {MAX_CELLS} cells.",
            )
        index = int(props.get("index", len(ss.sheets)))
        for s in ss.sheets:
            if s.index >= index:
                s.index += 1
        sheet = Sheet(int(sid) if sid is not None else ss.new_sheet_id(), title, index, rows, cols)
        sheet.extra_grid = {k: v for k, v in grid.items() if k not in ("rowCount", "columnCount")}
        ss.sheets.append(sheet)
        ss.reindex()
        return {"addSheet": {"properties": sheet.properties()}}

    def _bu_deleteSheet(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        sid = args.get("sheetId")
        s = ss.sheet_by_id(int(sid)) if sid is not None else None
        if s is None:
            raise ApiError(400, f"No sheet with id: {sid}")
        if len(ss.sheets) == 1:
            raise ApiError(400, "You can't remove all the sheets in a document.")
        ss.sheets.remove(s)
        ss.reindex()
        return {}

    def _bu_updateSpreadsheetProperties(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        props = args.get("properties") or {}
        fields = _field_list(args.get("fields"), props)
        for f in fields:
            if f == "title":
                ss.title = props.get("title", ss.title)
            elif f == "locale":
                ss.locale = props.get("locale", ss.locale)
            elif f == "timeZone":
                ss.time_zone = props.get("timeZone", ss.time_zone)
        return {}

    def _bu_updateSheetProperties(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        props = args.get("properties") or {}
        s = self._sheet_arg(ss, props.get("sheetId"))
        for f in _field_list(args.get("fields"), props):
            parts = f.replace(".", "/").split("/")
            value: Any = props
            for p in parts:
                value = value.get(p) if isinstance(value, dict) else None
            if parts == ["title"]:
                if value and value != s.title and ss.sheet_by_title(value) is not None:
                    raise ApiError(
                        400,
                        f'A sheet with the name "{value}" already exists. '
                        "Please enter another name.",
                    )
                s.title = value or s.title
            elif parts == ["index"]:
                idx = int(value or 0)
                others = [x for x in ss.sheets if x is not s]
                others.insert(min(idx, len(others)), s)
                for i, x in enumerate(others):
                    x.index = i
                ss.reindex()
            elif parts == ["gridProperties"]:
                for k, v in (value or {}).items():
                    self._set_grid(ss, s, k, v)
            elif parts[0] == "gridProperties" and len(parts) == 2:
                self._set_grid(ss, s, parts[1], value)
            elif parts[0] not in ("sheetId", "sheetType"):
                if value is None:
                    s.extra_props.pop(parts[0], None)
                else:
                    s.extra_props[parts[0]] = props.get(parts[0])
        return {}

    def _set_grid(self, ss: Spreadsheet, s: Sheet, key: str, value: Any) -> None:
        if key in ("rowCount", "columnCount"):
            n = int(value or 0)
            if n < 1:
                raise ApiError(400, f"Invalid {key}: must be at least 1")
            rows = n if key == "rowCount" else s.row_count
            cols = n if key == "columnCount" else s.column_count
            if ss.total_cells(skip=s) + rows * cols > MAX_CELLS:
                raise ApiError(
                    400,
                    "This action would increase the number of cells in the workbook above "
                    f"the limit of {MAX_CELLS} cells.",
                )
            s.row_count, s.column_count = rows, cols
            del s.rows[rows:]
            for row in s.rows:
                del row[cols:]
        elif value is None:
            s.extra_grid.pop(key, None)
        else:
            s.extra_grid[key] = value

    def _bu_appendDimension(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        s = self._sheet_arg(ss, args.get("sheetId"))
        length = int(args.get("length") or 0)
        if length < 1:
            raise ApiError(400, "length must be at least 1")
        if args.get("dimension") == "ROWS":
            self._set_grid(ss, s, "rowCount", s.row_count + length)
        elif args.get("dimension") == "COLUMNS":
            self._set_grid(ss, s, "columnCount", s.column_count + length)
        else:
            raise ApiError(400, "dimension must be ROWS or COLUMNS")
        return {}

    def _bu_updateCells(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        """Cell values from ``rows`` at ``start`` (or a ``range``'s top left),
        as Google does for ``fields: "userEnteredValue"``: typed values, a
        stringValue stays text, a cell without userEnteredValue is cleared."""
        fields = {f.strip() for f in str(args.get("fields") or "").split(",") if f.strip()}
        if not fields:
            raise ApiError(400, "At least one field must be specified.")
        if not fields <= {"userEnteredValue", "*"}:
            raise ApiError(400, f"the emulator does not implement fields {sorted(fields)}")
        if "start" in args:
            at = args["start"] or {}
            s = self._sheet_arg(ss, at.get("sheetId"))
            r0, c0 = int(at.get("rowIndex", 0)), int(at.get("columnIndex", 0))
        elif "range" in args:
            at = args["range"] or {}
            s = self._sheet_arg(ss, at.get("sheetId"))
            r0, c0 = int(at.get("startRowIndex", 0)), int(at.get("startColumnIndex", 0))
        else:
            raise ApiError(400, "Must specify either start or range")
        rows = args.get("rows") or []
        for i, row in enumerate(rows):
            values = row.get("values") or []
            if values and (r0 + i >= s.row_count or c0 + len(values) > s.column_count):
                raise Spreadsheet.grid_error(s, r0 + i, c0, r0 + i, c0 + len(values) - 1)
        for i, row in enumerate(rows):
            for j, data in enumerate(row.get("values") or []):
                value = (data or {}).get("userEnteredValue")
                existing = s.cell(r0 + i, c0 + j)
                if existing is None and not value:
                    continue  # clearing a cell that holds nothing
                cell = s.cell_for_write(r0 + i, c0 + j)
                self._cell_undo.append((cell, dict(cell.__dict__)))
                _set_extended(cell, value)
        return {}

    def _bu_insertDimension(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        r = args.get("range") or {}
        s = self._sheet_arg(ss, r.get("sheetId"))
        start, end = int(r.get("startIndex", 0)), int(r.get("endIndex", 0))
        if end <= start:
            raise ApiError(400, "endIndex must be greater than startIndex")
        n = end - start
        if r.get("dimension") == "ROWS":
            if start > s.row_count:
                raise ApiError(400, f"startIndex {start} is after the last row")
            self._set_grid(ss, s, "rowCount", s.row_count + n)
            _insert_rows(s, start, n)
        elif r.get("dimension") == "COLUMNS":
            if start > s.column_count:
                raise ApiError(400, f"startIndex {start} is after the last column")
            self._set_grid(ss, s, "columnCount", s.column_count + n)
            for row in s.rows:
                if start < len(row):
                    row[start:start] = [None] * n
        else:
            raise ApiError(400, "dimension must be ROWS or COLUMNS")
        return {}

    def _bu_deleteDimension(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        r = args.get("range") or {}
        s = self._sheet_arg(ss, r.get("sheetId"))
        start, end = int(r.get("startIndex", 0)), int(r.get("endIndex", 0))
        if r.get("dimension") == "ROWS":
            end = min(end, s.row_count)
            if end - start >= s.row_count:
                raise ApiError(400, "You can't delete all the rows on the sheet.")
            del s.rows[start:end]
            s.row_count -= max(0, end - start)
        elif r.get("dimension") == "COLUMNS":
            end = min(end, s.column_count)
            if end - start >= s.column_count:
                raise ApiError(400, "You can't delete all the columns on the sheet.")
            for row in s.rows:
                del row[start:end]
            s.column_count -= max(0, end - start)
        else:
            raise ApiError(400, "dimension must be ROWS or COLUMNS")
        return {}

    def _bu_repeatCell(self, ss: Spreadsheet, args: dict[str, Any]) -> Any:
        """Only ``userEnteredFormat.numberFormat`` is honoured (other formats are accepted)."""
        gr = args.get("range") or {}
        s = self._sheet_arg(ss, gr.get("sheetId"))
        nf = ((args.get("cell") or {}).get("userEnteredFormat") or {}).get("numberFormat")
        if nf is None:
            return {}
        fmt = _number_format_kind(nf)
        r1, r2 = int(gr.get("startRowIndex", 0)), int(gr.get("endRowIndex", s.row_count))
        c1, c2 = int(gr.get("startColumnIndex", 0)), int(gr.get("endColumnIndex", s.column_count))
        for r in range(r1, min(r2, s.row_count)):
            for c in range(c1, min(c2, s.column_count)):
                s.cell_for_write(r, c).fmt = fmt
        return {}


def _number_format_kind(nf: dict[str, Any]) -> str | None:
    kind = nf.get("type", "NUMBER")
    pattern = nf.get("pattern", "")
    style = "us" if "/" in pattern else "iso"
    if kind == "DATE":
        return f"date:{style}"
    if kind == "DATE_TIME":
        return f"datetime:{style}"
    if kind == "TIME":
        return "time:iso"
    if kind == "PERCENT":
        return f"percent:{len(pattern.split('.')[1].rstrip('%')) if '.' in pattern else 0}"
    if kind == "CURRENCY":
        return "currency:2"
    if kind == "NUMBER" and pattern:
        return f"number:{len(pattern.split('.')[1]) if '.' in pattern else 0}"
    return None


def _field_list(fields: str | None, props: dict[str, Any]) -> list[str]:
    if not fields:
        raise ApiError(400, "At least one field must be updated, but fields was empty.")
    if fields.strip() == "*":
        return list(props)
    return [f.strip() for f in fields.split(",") if f.strip()]


def _snapshot(ss: Spreadsheet, with_rows: bool = True) -> Any:
    return (
        list(ss.sheets),
        ss.title,
        ss.locale,
        ss.time_zone,
        [
            (
                s,
                s.title,
                s.index,
                s.row_count,
                s.column_count,
                dict(s.extra_grid),
                dict(s.extra_props),
                [list(r) for r in s.rows] if with_rows else s.rows,
            )
            for s in ss.sheets
        ],
    )


def _restore(ss: Spreadsheet, snap: Any) -> None:
    sheets, ss.title, ss.locale, ss.time_zone, states = snap
    ss.sheets = sheets
    for s, title, index, rc, cc, eg, ep, rows in states:
        s.title, s.index, s.row_count, s.column_count = title, index, rc, cc
        s.extra_grid, s.extra_props, s.rows = eg, ep, rows


def _insert_rows(sheet: Sheet, start: int, n: int) -> None:
    if start < len(sheet.rows):
        sheet.rows[start:start] = [[] for _ in range(n)]


def _value_input(q: dict[str, str]) -> str:
    vio = q.get("valueInputOption")
    if vio is None:
        raise _bad("'valueInputOption' is required but not specified")
    if vio not in ("RAW", "USER_ENTERED"):
        raise _bad(f"Invalid value at 'value_input_option' ({vio})")
    return vio


def _transpose(values: list[list[Any]]) -> list[list[Any]]:
    width = max((len(c) for c in values), default=0)
    return [[col[i] if i < len(col) else None for col in values] for i in range(width)]


def _read_values(
    ss: Spreadsheet, rng: Rng, value_render: str, dt_render: str, major: str
) -> list[list[Any]]:
    if value_render not in ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"):
        raise _bad(f"Invalid value at 'value_render_option' ({value_render})")
    if dt_render not in ("SERIAL_NUMBER", "FORMATTED_STRING"):
        raise _bad(f"Invalid value at 'date_time_render_option' ({dt_render})")
    s = rng.sheet
    out: list[list[Any]] = []
    last_r = min(rng.r2, len(s.rows) - 1)
    for r in range(rng.r1, last_r + 1):
        row = s.rows[r]
        vals: list[Any] = []
        for c in range(rng.c1, min(rng.c2, len(row) - 1) + 1):
            cell = row[c]
            vals.append("" if cell is None else ss.render(s, r, c, value_render, dt_render))
        while vals and vals[-1] == "":
            vals.pop()
        out.append(vals)
    while out and not out[-1]:
        out.pop()
    if major == "COLUMNS" and out:
        width = max(len(r) for r in out)
        cols = [[row[i] if i < len(row) else "" for row in out] for i in range(width)]
        for col in cols:
            while col and col[-1] == "":
                col.pop()
        out = cols
        while out and not out[-1]:
            out.pop()
    elif major not in ("ROWS", "COLUMNS"):
        raise _bad(f"Invalid value at 'major_dimension' ({major})")
    return out


@dataclass
class _WriteResult:
    rng: Rng | None
    rows: int = 0
    cols: int = 0
    cells: int = 0


def _check_write(ss: Spreadsheet, rng: Rng, values: list[list[Any]], text: str) -> None:
    nrows = len(values)
    ncols = max((len(r) for r in values), default=0)
    if not nrows or not ncols:
        return
    if not rng.open_end:
        if nrows > rng.r2 - rng.r1 + 1:
            raise _bad(
                f"Requested writing within range [{text}], but tried writing to row "
                f"[{rng.r1 + nrows}]"
            )
        if ncols > rng.c2 - rng.c1 + 1:
            raise _bad(
                f"Requested writing within range [{text}], but tried writing to column "
                f"[{col_letters(rng.c1 + ncols - 1)}]"
            )
    r2, c2 = rng.r1 + nrows - 1, rng.c1 + ncols - 1
    if r2 >= rng.sheet.row_count or c2 >= rng.sheet.column_count:
        raise ss.grid_error(rng.sheet, rng.r1, rng.c1, r2, c2)


def _write_values(
    ss: Spreadsheet,
    rng: Rng,
    values: list[list[Any]],
    value_input: str,
    major: str,
    text: str,
) -> _WriteResult:
    if major == "COLUMNS":
        values = _transpose(values)
    _check_write(ss, rng, values, text)
    nrows = len(values)
    ncols = max((len(r) for r in values), default=0)
    if not nrows or not ncols:
        return _WriteResult(None)
    sheet = rng.sheet
    cells = 0
    for i, row in enumerate(values):
        if not isinstance(row, list):
            raise _bad(f"Invalid values[{i}]: a row must be a list")
        for j, v in enumerate(row):
            cells += 1
            if v is None:
                continue  # null: leave the cell as it is
            cell = sheet.cell_for_write(rng.r1 + i, rng.c1 + j)
            _set_cell(cell, v, value_input)
    out = Rng(sheet, rng.r1, rng.c1, rng.r1 + nrows - 1, rng.c1 + ncols - 1)
    return _WriteResult(out, nrows, ncols, cells)


def _set_cell(cell: Cell, v: Any, value_input: str) -> None:
    cell.formula = None
    if isinstance(v, dict | list):
        raise _bad("Invalid values: a cell value must be a string, number or boolean")
    if isinstance(v, (bool, int | float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise _bad("Invalid values: NaN and infinity are not numbers in JSON")
        cell.value = v
        return
    s = str(v)
    if s == "":
        cell.value = None
        return
    if value_input == "RAW":
        cell.value = s
        return
    value, formula, fmt = _parse_user_entered(s)
    cell.value, cell.formula = value, formula
    if fmt is not None and (
        cell.fmt is None or _is_datetime_fmt(fmt) != _is_datetime_fmt(cell.fmt)
    ):
        cell.fmt = fmt


def _set_extended(cell: Cell, value: dict[str, Any] | None) -> None:
    """A cell from an ExtendedValue (None: cleared), as updateCells sets it."""
    cell.formula, cell.is_error = None, False
    if not value:
        cell.value = None
        return
    if len(value) != 1:
        raise _bad(
            "Invalid value: exactly one of numberValue, stringValue, boolValue, formulaValue"
        )
    ((kind, v),) = value.items()
    if kind == "numberValue" and isinstance(v, int | float) and not isinstance(v, bool):
        cell.value = v
    elif kind == "stringValue" and isinstance(v, str):
        cell.value = v  # text, even when it starts with "="
    elif kind == "boolValue" and isinstance(v, bool):
        cell.value = v
    elif kind == "formulaValue" and isinstance(v, str) and v.startswith("="):
        cell.value, cell.formula, _ = _parse_user_entered(v)
    else:
        raise _bad(f"Invalid value at 'userEnteredValue.{kind}': {json.dumps(v)}")


def _clear(rng: Rng) -> None:
    s = rng.sheet
    for r in range(rng.r1, min(rng.r2, len(s.rows) - 1) + 1):
        row = s.rows[r]
        for c in range(rng.c1, min(rng.c2, len(row) - 1) + 1):
            cell = row[c]
            if cell is not None:
                cell.value, cell.formula = None, None


_QUERY_TERM = re.compile(
    r"""\s*(?P<field>\w+)\s*(?P<op>=|!=|contains|in)\s*(?P<q>["'])(?P<value>.*?)(?P=q)\s*"""
    r"""|\s*(?P<value2>["'].*?["'])\s+in\s+(?P<field2>\w+)\s*"""
    r"""|\s*(?P<bfield>\w+)\s*=\s*(?P<bool>true|false)\s*""",
    re.IGNORECASE,
)


def _drive_query_match(f: dict[str, Any], q: str) -> bool:
    if not q.strip():
        return True
    for term in re.split(r"\s+and\s+", q.strip(), flags=re.IGNORECASE):
        m = _QUERY_TERM.fullmatch(term)
        if not m:
            raise _bad(f"Invalid Value: q ({term})")
        if m.group("bfield"):
            if m.group("bfield") == "trashed" and m.group("bool").lower() == "true":
                return False
            continue
        if m.group("field2"):  # 'folder' in parents
            if m.group("value2")[1:-1] not in f.get(m.group("field2"), []):
                return False
            continue
        fld, op, value = m.group("field"), m.group("op").lower(), m.group("value")
        have = f.get(fld)
        if op == "=" and have != value:
            return False
        if op == "!=" and have == value:
            return False
        if op == "contains" and value not in str(have or ""):
            return False
        if op == "in" and value not in (have or []):
            return False
    return True


def _kind(method: str, path: str) -> str:
    if path == "/token":
        return "oauth.token"
    if path.startswith("/drive/v3/files"):
        rest = path[len("/drive/v3/files") :].strip("/")
        if not rest:
            return {"POST": "drive.files.create", "GET": "drive.files.list"}.get(
                method, f"drive.files.{method.lower()}"
            )
        return {"GET": "drive.files.get", "DELETE": "drive.files.delete"}.get(
            method, f"drive.files.{method.lower()}"
        )
    if path.startswith("/v4/spreadsheets/"):
        rest = path[len("/v4/spreadsheets/") :]
        head, _, tail = rest.partition("/")
        if not tail:
            return (
                "spreadsheets.batchUpdate" if head.endswith(":batchUpdate") else "spreadsheets.get"
            )
        if tail.startswith("values:"):
            return "values." + tail[len("values:") :]
        if tail.endswith(":append"):
            return "values.append"
        if tail.endswith(":clear"):
            return "values.clear"
        return {"GET": "values.get", "PUT": "values.update"}.get(method, "values.other")
    return "other"


def _make_handler(emu: SheetsEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "ESF"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = emu.handle(self.command, self.path, self.headers, body)
            if payload is None:  # drop the connection
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if status != 204:
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            else:
                self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    return Handler


# ------------------------------------------------------------ gspread plumbing


def rewrite_url(url: str, base_url: str) -> str:
    """Google API URL → the same path on the emulator; anything else is refused."""
    for host in (SHEETS_HOST, DRIVE_HOST, OAUTH_HOST):
        if url.startswith(host + "/"):
            return base_url + url[len(host) :]
    if url.startswith(base_url + "/"):
        return url
    raise AssertionError(f"refusing to send a request off loopback: {url}")


def http_client_class(base_url: str) -> type:
    """A gspread ``HTTPClient`` subclass that sends every request to ``base_url``."""
    from gspread.http_client import HTTPClient

    class EmulatorHTTPClient(HTTPClient):
        emulator_url = base_url

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            return super().request(method, rewrite_url(endpoint, base_url), *args, **kwargs)

    return EmulatorHTTPClient


class StaticToken:
    """Helpers to build credentials that only ever talk to the emulator."""

    @staticmethod
    def credentials(token: str = "emulator-static-token") -> Any:
        from google.oauth2.credentials import Credentials

        return Credentials(token=token)


def gspread_client(emulator: SheetsEmulator, credentials: Any = None) -> Any:
    """A real ``gspread.Client`` whose requests go to the emulator."""
    import gspread

    creds = credentials if credentials is not None else StaticToken.credentials()
    return gspread.Client(creds, http_client=http_client_class(emulator.url))


def write_service_account_file(path: Any, emulator: SheetsEmulator, email: str) -> Any:
    """A service-account JSON with a fresh RSA key whose ``token_uri`` is the emulator."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "sheetsync-tests",
        "private_key_id": "0" * 40,
        "private_key": pem,
        "client_email": email,
        "client_id": "100000000000000000000",
        "auth_uri": f"{emulator.url}/auth",
        "token_uri": f"{emulator.url}/token",
        "auth_provider_x509_cert_url": f"{emulator.url}/certs",
        "client_x509_cert_url": f"{emulator.url}/certs/robot",
    }
    path.write_text(json.dumps(info))
    return path


def write_authorized_user_file(path: Any, emulator: SheetsEmulator, account: str = "") -> Any:
    """An OAuth authorized-user token file whose ``token_uri`` is the emulator."""
    info = {
        "type": "authorized_user",
        "client_id": "emulator-client.apps.googleusercontent.com",
        "client_secret": "emulator-secret",
        "refresh_token": "emulator-refresh-token",
        "token_uri": f"{emulator.url}/token",
    }
    if account:
        info["account"] = account
    path.write_text(json.dumps(info))
    return path


@pytest.fixture
def sheets_emulator() -> Iterator[SheetsEmulator]:
    """A fresh emulator on 127.0.0.1 for one test."""
    with SheetsEmulator() as emu:
        yield emu

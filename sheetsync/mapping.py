"""Headers ↔ fields, coercion and validation, with every error naming its cell.

``map_grid`` turns one worksheet into records of one model table. It finds the
header row, matches headers to fields (case- and space-insensitive, with
aliases), coerces each cell to its field's kind and collects every problem as
a ``CellError`` such as ``'Quotas'!E14 (Target ($)): "12k" is not a number``.
"""

from __future__ import annotations

import difflib
import functools
import operator
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import NoneType
from typing import Any

from .errors import CellError
from .grid import Grid, a1, serial_to_date
from .model import KEY_JOIN, Field, Record, Table, fills_key, join_key, key_texts_of_columns
from .periods import MONTHS, parse_period, period_of
from .table_mapping import TableMapping, normalize_header

HEADER_SCAN_ROWS = 30
BLANK_MARKS = {"", "-", "–", "—"}
TOTAL_MARKS = {"total", "totals", "grand total", "sum", "subtotal"}


class Invalid(Exception):
    """A cell value that does not fit its field; the message says what was expected."""


# ---------------------------------------------------------------- coercion

_NUMBER_JUNK = re.compile(r"[\s\u00a0\u202f,'’_]|[$€£¥₹]|\b(?:usd|eur|gbp|chf|jpy|aud|cad)\b", re.I)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$", re.I)
TRUE_WORDS = {"yes", "y", "true", "t", "1", "x", "✓", "✔", "☑", "✅", "done", "on"}
FALSE_WORDS = {"no", "n", "false", "f", "0", "✗", "✘", "☐", "off", ""}


def _show(value: object) -> str:
    text = str(value)
    return f'"{text[:40]}…"' if len(text) > 40 else f'"{text}"'


def to_number(value: Any) -> float | None:
    if type(value) is float:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"{_show(value)} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (date, datetime, timedelta)):
        raise Invalid(f"{_show(value)} is a date, not a number")
    text = str(value).strip()
    if text in BLANK_MARKS:
        return None
    negative = False
    t = text
    if t.startswith("(") and t.endswith(")"):
        negative, t = True, t[1:-1]
    percent = t.endswith("%")
    if percent:
        t = t[:-1]
    t = _NUMBER_JUNK.sub("", t)
    if t.endswith("-"):  # trailing minus, as some ledgers write it
        negative, t = not negative, t[:-1]
    if not _NUMBER.match(t):
        raise Invalid(f"{_show(text)} is not a number")
    number = float(t)
    if percent:
        number /= 100
    return -number if negative else number


def _serial_to_date(serial: float, date1904: bool) -> date:
    try:
        return serial_to_date(serial, date1904=date1904)
    except ValueError:
        raise Invalid(f"{_show(serial)} is not a date") from None


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ t].*)?$", re.I)
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_WORDS = re.compile(r"^(?:[a-z]+,? )?(\d{1,2})(?:st|nd|rd|th)?[ -]([a-z]+\.?)[ ,-]+(\d{4})$", re.I)
_WORDS_US = re.compile(r"^(?:[a-z]+,? )?([a-z]+\.?) (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})$", re.I)


def _make_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y if y >= 100 else 2000 + y, m, d)
    except ValueError:
        return None


def to_date(value: Any, date1904: bool = False, dayfirst: bool = False) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise Invalid(f"{_show(value)} is not a date")
    if isinstance(value, (int, float)):
        return _serial_to_date(float(value), date1904)
    text = " ".join(str(value).split())
    if text in BLANK_MARKS:
        return None
    found: date | None = None
    if m := _ISO.match(text):
        found = _make_date(int(m[1]), int(m[2]), int(m[3]))
    elif m := _NUMERIC.match(text):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        first, second = (_make_date(y, b, a), _make_date(y, a, b))
        found = (first or second) if dayfirst else (second or first)
    elif m := _WORDS.match(text):
        mo = MONTHS.get(m[2].lower())
        found = _make_date(int(m[3]), mo, int(m[1])) if mo else None
    elif m := _WORDS_US.match(text):
        mo = MONTHS.get(m[1].lower())
        found = _make_date(int(m[3]), mo, int(m[2])) if mo else None
    if found is None:
        raise Invalid(f"{_show(text)} is not a date (expected e.g. 2026-03-31 or 31 Mar 2026)")
    return found


def to_text(value: Any) -> str | None:
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def to_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return None if text == "" else False
    raise Invalid(f"{_show(value)} is not yes or no (expected yes/no, true/false, ✓ or blank)")


def to_period(value: Any) -> str | None:
    if type(value) is date or type(value) is datetime:
        return period_of(value)
    if value is None or value == "":
        return None
    if type(value) in (int, float) and 20_000 <= value < 80_000:
        value = _serial_to_date(float(value), False)  # a date serial (Google Sheets sends these)
    label = _parse_period_cached(value) if type(value) is str else parse_period(value)
    if label is None:
        raise Invalid(
            f"{_show(value)} is not a period "
            "(expected e.g. Jan 2026, 2026-03, 2026-Q3, FY27 H1 or 2026-W48)"
        )
    return label


_parse_period_cached = functools.lru_cache(maxsize=4096)(parse_period)


def converter(kind: str, date1904: bool = False, dayfirst: bool = False) -> Callable[[Any], Any]:
    """The coercion function for a field kind."""
    if kind == "number" or kind == "percent":
        return to_number
    if kind == "date":
        return lambda v: to_date(v, date1904, dayfirst)
    if kind == "bool":
        return to_bool
    if kind == "period":
        return to_period
    return to_text


# ---------------------------------------------------------------- headers


def field_headers(f: Field, mapping: TableMapping | None) -> tuple[str, ...]:
    """Headers a field is known by: the config's, else its label, name and aliases."""
    if mapping and f.name in mapping.columns:
        return tuple(normalize_header(h) for h in mapping.columns[f.name])
    names = (f.title, f.name, f.name.replace("_", " "), *f.aliases)
    return tuple(dict.fromkeys(normalize_header(n) for n in names))


def match_headers(
    header_cells: list[Any], table: Table, mapping: TableMapping | None
) -> dict[str, int]:
    """Field name → 1-based column, for the fields whose header is present.

    Config mappings win; built-in aliases fill the rest, first match first,
    never reusing a column.
    """
    positions: dict[str, int] = {}
    for col, cell in enumerate(header_cells, start=1):
        key = normalize_header(cell)
        if key and key not in positions:
            positions[key] = col
    found: dict[str, int] = {}
    used: set[int] = set()
    explicit = [f for f in table.fields if mapping and f.name in mapping.columns]
    implicit = [f for f in table.fields if f not in explicit]
    for f in explicit + implicit:
        for header in field_headers(f, mapping):
            col = positions.get(header)
            if col is not None and col not in used:
                found[f.name] = col
                used.add(col)
                break
    return found


def find_header_row(grid: Grid, table: Table, mapping: TableMapping | None) -> int | None:
    """The row (1-based) among the first rows that names the most fields, if any does."""
    best, best_row = 0, None
    required = {f.name for f in table.fields if f.required}
    for r in range(1, min(grid.height, HEADER_SCAN_ROWS) + 1):
        matched = match_headers(grid.rows[r - 1], table, mapping)
        score = len(matched) + (2 if required <= matched.keys() else 0)
        if len(matched) >= 2 and score > best:
            best, best_row = score, r
    return best_row


# ---------------------------------------------------------------- mapping


@dataclass
class MappedTable:
    """One worksheet read as one model table."""

    table: Table
    sheet: str
    header_row: int
    columns: dict[str, int]  # field → 1-based column
    headers: dict[str, str]  # field → header text as written
    fields: list[str] = field(default_factory=list)  # the mapped fields, in model order
    values: list[tuple] = field(default_factory=list)  # each record's values, in `fields` order
    keys: list[str] = field(default_factory=list)  # each record's stored identity (key_texts)
    rows: list[int] = field(default_factory=list)  # sheet row of each record
    errors: list[CellError] = field(default_factory=list)  # row-level problems
    fatal: list[CellError] = field(default_factory=list)  # sheet-level problems
    skipped_rows: list[int] = field(default_factory=list)
    # True: no value in ``values`` is None (known from the read, so nobody scans them for it)
    blank_free: bool = False
    _records: list[Record] | None = field(default=None, repr=False)

    @property
    def records(self) -> list[Record]:
        """The records as dicts (made on first use: a large pull never needs them)."""
        if self._records is None:
            names = self.fields
            self._records = [dict(zip(names, v, strict=True)) for v in self.values]
        return self._records

    def keep(self, indexes: list[int]) -> None:
        """Keep only the records at ``indexes`` (in order)."""
        self.values = [self.values[i] for i in indexes]
        self.keys = [self.keys[i] for i in indexes]
        self.rows = [self.rows[i] for i in indexes]
        self._records = None

    def address(self, row: int, field_name: str) -> str:
        return a1(row, self.columns[field_name])


def _sheet_error(sheet: str, message: str, column: str = "", cell: str = "") -> CellError:
    return CellError(sheet, cell, column, message)


def map_grid(
    grid: Grid | None,
    table: Table,
    mapping: TableMapping,
    *,
    sheet_names: list[str] = (),  # type: ignore[assignment]
    dayfirst: bool = False,
) -> MappedTable:
    """Read ``grid`` as records of ``table``; problems are collected, never raised."""
    if grid is None:
        close = difflib.get_close_matches(mapping.sheet, list(sheet_names), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(repr(s) for s in sheet_names)
        err = _sheet_error(
            mapping.sheet,
            f"no worksheet named {mapping.sheet!r}{hint} (the workbook has {listing})",
        )
        return MappedTable(table, mapping.sheet, 0, {}, {}, fatal=[err])
    grid.ensure(max(HEADER_SCAN_ROWS, mapping.header_row or 0))  # a streamed grid: its head
    header_row = mapping.header_row or find_header_row(grid, table, mapping)
    if header_row is None or header_row > grid.height:
        wanted = ", ".join(f.title for f in table.fields if f.required)
        err = _sheet_error(
            grid.sheet,
            f"no header row found for {table.title} (looked for headers such as {wanted} "
            f"in the first {HEADER_SCAN_ROWS} rows)",
        )
        return MappedTable(table, grid.sheet, 0, {}, {}, fatal=[err])
    header_cells = grid.rows[header_row - 1]
    columns = match_headers(header_cells, table, mapping)
    headers = {f: str(header_cells[c - 1]).strip() for f, c in columns.items()}
    result = MappedTable(table, grid.sheet, header_row, columns, headers)
    result.fields = [f.name for f in table.fields if f.name in columns]
    for f in table.fields:
        if f.name in columns or not (f.required or (f.name in mapping.columns)):
            continue
        expected = field_headers(f, mapping)
        shown = " or ".join(repr(h) for h in (mapping.columns.get(f.name) or (f.title,)))
        taken = [o for o, c in columns.items() if normalize_header(header_cells[c - 1]) in expected]
        if taken:
            result.fatal.append(
                _sheet_error(
                    grid.sheet,
                    f"column {shown} is mapped to {table.field_by_name[taken[0]].title} already; "
                    f"one column cannot also be {f.title}",
                    cell=f"{header_row}:{header_row}",
                )
            )
            continue
        present = [str(h).strip() for h in header_cells if normalize_header(h)]
        close = difflib.get_close_matches(
            expected[0], [normalize_header(h) for h in present], n=1, cutoff=0.6
        )
        hint = ""
        if close:
            hint = (
                f"; did you mean {next(h for h in present if normalize_header(h) == close[0])!r}?"
            )
        shown = " or ".join(repr(h) for h in (mapping.columns.get(f.name) or (f.title,)))
        result.fatal.append(
            _sheet_error(
                grid.sheet,
                f"no column {shown} for {f.title} in header row {header_row}{hint}",
                cell=f"{header_row}:{header_row}",
            )
        )
    if result.fatal:
        return result
    _read_rows(grid, result, dayfirst)
    if fills_key(table) and "key" not in columns:
        _fill_key(result)
    return result


def _fill_key(result: MappedTable) -> None:
    """No ID column: each record's ``key`` is made of its key fields' values
    (one: that value; several: joined with " / "), so whatever shows or refers
    to a record by ``key`` keeps working."""
    idx = [result.fields.index(k) for k in result.table.key]
    pick = picker(idx)
    result.fields.insert(0, "key")
    result.values = [(KEY_JOIN.join(map(str, pick(v))), *v) for v in result.values]
    result._records = None


def _convert_column(
    values: Sequence[Any],
    conv: Callable[[Any], Any],
    kind: str = "",
    intern: bool = False,
) -> tuple[Sequence[Any], dict[int, str], bool]:
    """A whole column converted, {index: problem} for the cells that did not
    fit, and whether any converted cell may be blank (False: none is None).
    ``intern``: each text is the interpreter's one string of that text
    (``sys.intern``), so a text repeated down the column (a team, a region, a
    rep) is one string, not one per cell, and is the very string a snapshot
    decoded for comparison holds (``compare.prefetch``): equal at a glance."""
    types = set(map(type, values))
    try:
        if kind == "number" and types <= {float, NoneType}:
            # already numbers: nothing to convert (the common case)
            return values, {}, NoneType in types
        if kind == "number":  # floats pass untouched, blanks become None, the rest is parsed
            return (
                [v if type(v) is float else None if v == "" else conv(v) for v in values],
                {},
                True,
            )
        if kind == "text" and types == {str}:  # strip at C speed; blanks become None
            distinct = set(values)
            if len(distinct) * 4 < len(values):  # repetitive (teams, regions): strip each once
                done = {v: _interned(intern, v.strip()) for v in distinct}
                if "" in done.values():
                    return [done[v] or None for v in values], {}, True
                return list(map(done.__getitem__, values)), {}, False
            stripped = list(map(str.strip, values))
            if intern:
                stripped = list(map(sys.intern, stripped))
            if "" in stripped:
                return [v or None for v in stripped], {}, True
            return stripped, {}, False
        if kind == "text" and types <= {str, NoneType}:
            return [v.strip() or None if v is not None else None for v in values], {}, True
        mixed_bools = bool in types and len(types - {bool, NoneType}) > 0  # True == 1 in a set
        distinct = set() if mixed_bools else set(values)
        if distinct and len(distinct) * 4 < len(
            values
        ):  # repetitive (months, teams): convert each once
            done = {v: conv(v) for v in distinct}
            if intern:  # periods, dates as text
                done = {v: _interned(True, c) if type(c) is str else c for v, c in done.items()}
            return list(map(done.__getitem__, values)), {}, None in done.values()
        return [conv(v) for v in values], {}, True
    except Invalid:
        pass
    out: list[Any] = []
    errors: dict[int, str] = {}
    for i, v in enumerate(values):
        try:
            out.append(conv(v))
        except Invalid as e:
            out.append(None)
            errors[i] = str(e)
    return out, errors, True


def _interned(intern: bool, text: str) -> str:
    """``text``, as the interpreter's one string of it when ``intern``."""
    return sys.intern(text) if intern else text


def picker(indexes: list[int]) -> Callable[[Any], tuple]:
    """A fast function picking ``indexes`` out of a row, always as a tuple."""
    if not indexes:
        return lambda _row: ()
    if len(indexes) == 1:
        i = indexes[0]
        return lambda row: (row[i],)
    return operator.itemgetter(*indexes)


def _blank(v: Any) -> bool:
    return v is None or (type(v) is str and not v.strip())


def _read_rows(grid: Grid, result: MappedTable, dayfirst: bool) -> None:
    """Convert a chunk of rows at a time, column by column (fast), then check
    the rows that need it one by one; repeated keys are found at the end."""
    first_row = result.header_row + 1
    # Rows skipped for a bad cell whose key cells are valid: (key text, row, key values).
    # They count for duplicates whatever else is wrong with them: a bad cell never
    # hides a repeated key, and --skip-invalid skips every row of an ambiguous key.
    bad_keys: list[tuple[str, int, tuple]] = []
    result.blank_free = True  # until a chunk may hold a blank value
    for data in grid.chunks(result.header_row):
        _read_chunk(grid, data, first_row, result, dayfirst, bad_keys)
        first_row += len(data)
    if (
        len(set(result.keys)) < len(result.keys)
        or (bad_keys and {k for k, _, _ in bad_keys} & set(result.keys))
        or len({k for k, _, _ in bad_keys}) < len(bad_keys)
    ):
        _drop_repeated_keys(grid.sheet, result, bad_keys)


def _read_chunk(
    grid: Grid,
    data: list[list[Any]],
    first_row: int,
    result: MappedTable,
    dayfirst: bool,
    bad_keys: list[tuple[str, int, tuple]],
) -> None:
    """``_read_rows`` of the rows ``data``, the first of them sheet row ``first_row``."""
    table = result.table
    fields = [f for f in table.fields if f.name in result.columns]
    raw_cols: list[Sequence[Any]] = []
    cols: list[Sequence[Any]] = []
    col_errors, blanks = [], []
    shortest = min(map(len, data), default=0)
    for f in fields:
        i = result.columns[f.name] - 1
        if i < shortest:  # every row reaches this column: take it at C speed
            raw: Sequence[Any] = list(map(operator.itemgetter(i), data))
        else:
            raw = [row[i] if i < len(row) else None for row in data]
        converted, errors, blank = _convert_column(
            raw, converter(f.kind, grid.date1904, dayfirst), f.kind, intern=True
        )
        raw_cols.append(raw)
        cols.append(converted)
        col_errors.append(errors)
        blanks.append(blank)
    required = [j for j, f in enumerate(fields) if f.required]
    bad_rows = set().union(*(e.keys() for e in col_errors)) if col_errors else set()
    key_idx = [result.fields.index(k) for k in table.key]
    if not bad_rows and not any(blanks[j] and None in cols[j] for j in required):
        # the common case: clean rows, none to look at twice
        result.blank_free = result.blank_free and not any(blanks)
        result.keys.extend(key_texts_of_columns([cols[k] for k in key_idx]))
        result.values.extend(zip(*cols, strict=True))
        result.rows.extend(range(first_row, first_row + len(data)))
        return
    result.blank_free = False
    required_of = picker(required)
    key_of = picker(key_idx)
    for idx, values in enumerate(zip(*cols, strict=True)):
        r = first_row + idx
        if idx in bad_rows or None in required_of(values):
            if all(_blank(rc[idx]) for rc in raw_cols):
                continue  # blank or spacer row
            missing = [j for j in required if values[j] is None]
            first = values[key_idx[0]]
            if (
                isinstance(first, str)
                and first.casefold() in TOTAL_MARKS
                and all(values[k] is None for k in key_idx[1:])
            ):
                continue  # a totals row under the table
            for j, f in enumerate(fields):
                cell = a1(r, result.columns[f.name])
                if idx in col_errors[j]:
                    message = col_errors[j][idx]
                elif j in missing:
                    message = f"is blank; every row needs a {f.title}"
                else:
                    continue
                result.errors.append(
                    CellError(grid.sheet, cell, result.headers[f.name], message, r)
                )
            key = key_of(values)
            if all(
                v is not None and idx not in col_errors[k]
                for k, v in zip(key_idx, key, strict=True)
            ):
                bad_keys.append((join_key(key), r, key))
            result.skipped_rows.append(r)
            continue
        result.values.append(values)
        result.keys.append(join_key(key_of(values)))
        result.rows.append(r)


def _drop_repeated_keys(
    sheet: str, result: MappedTable, bad_keys: Sequence[tuple[str, int, tuple]] = ()
) -> None:
    """Every row of a key more than one row has is an error naming the others,
    and none of them is kept (``bad_keys``: rows already skipped for a bad cell)."""
    table = result.table
    key_of = picker([result.fields.index(k) for k in table.key])
    k0 = table.key[0]
    rows_of: dict[str, list[int]] = {}
    for text, r in zip(result.keys, result.rows, strict=True):
        rows_of.setdefault(text, []).append(r)
    for text, r, _ in bad_keys:
        rows_of.setdefault(text, []).append(r)
    keep = []
    for i, (text, r) in enumerate(zip(result.keys, result.rows, strict=True)):
        if len(rows_of[text]) == 1:
            keep.append(i)
            continue
        _duplicate(sheet, result, k0, r, key_of(result.values[i]), rows_of[text])
        result.skipped_rows.append(r)
    for text, r, key in bad_keys:
        if len(rows_of[text]) > 1:
            _duplicate(sheet, result, k0, r, key, rows_of[text])
    result.keep(keep)
    result.errors.sort(key=lambda e: e.row or 0)  # in sheet order, as found row by row
    result.skipped_rows.sort()


def _duplicate(
    sheet: str, result: MappedTable, k0: str, r: int, key: tuple, same: list[int]
) -> None:
    others = sorted(o for o in same if o != r)
    shown = ", ".join(str(k) for k in key)
    rows_text = ("row " if len(others) == 1 else "rows ") + ", ".join(map(str, others))
    verb = "has" if len(others) == 1 else "have"
    result.errors.append(
        CellError(
            sheet,
            a1(r, result.columns[k0]),
            result.headers[k0],
            f"duplicate key ({shown}): {rows_text} {verb} the same",
            r,
        )
    )

"""Fast bulk inserts of new record versions (many rows per statement, bind conversions once per value)."""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable
from itertools import chain
from typing import Any

import sqlalchemy as sa

BULK_CHUNK = 20_000  # rows per progress report


def bulk_insert(
    conn: sa.Connection,
    t: sa.Table,
    keys: list[str],
    names: list[str],
    rows: list[tuple],
    constants: dict[str, Any],
    progress: Callable[[int, int], None] | None = None,
    sheet_rows: list[int] | None = None,
) -> None:
    """Insert new current versions: ``keys[i]`` with ``rows[i]`` (values in
    ``names`` order), ``sheet_rows[i]`` as ``_row`` when given, and
    ``constants`` (the same in every row), without SQLAlchemy's per-row
    statement machinery (3× faster). SQLite gets many rows per INSERT
    statement; other databases the driver's executemany."""
    dialect = conn.dialect
    per_row = {"_key": keys}
    if sheet_rows is not None:
        per_row["_row"] = sheet_rows
    rows = _bind_values(t, dialect, names, rows)
    fixed = {}
    for name, value in constants.items():
        p = _processor(t.c[name], dialect)
        fixed[name] = p(value) if p is not None else value
    if dialect.name == "sqlite":
        _sqlite_bulk_insert(conn, t, per_row, names, rows, fixed, progress)
        return
    quote = dialect.identifier_preparer.quote
    tail = tuple(fixed.values())
    params = [
        (*lead, *row, *tail)
        for lead, row in zip(zip(*per_row.values(), strict=True), rows, strict=True)
    ]
    all_names = [*per_row, *names, *fixed]
    marks = ", ".join(["%s"] * len(all_names))
    sql = f"INSERT INTO {quote(t.name)} ({', '.join(map(quote, all_names))}) VALUES ({marks})"
    total = len(params)
    for start in range(0, total, BULK_CHUNK):
        conn.exec_driver_sql(sql, params[start : start + BULK_CHUNK])
        if progress:
            progress(min(start + BULK_CHUNK, total), total)


# Column types whose bind conversion is the identity for these Python types.
_NATIVE: dict[type, set[type]] = {
    sa.Float: {float, type(None)},
    sa.Boolean: {bool, type(None)},
}


def _processor(column: sa.Column, dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """SQLAlchemy's conversion of a Python value for ``column`` on ``dialect``."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _bind_values(t: sa.Table, dialect: sa.Dialect, names: list[str], rows: list[tuple]) -> list:
    """``rows`` with SQLAlchemy's bind conversions applied, column by column and
    once per distinct value (most repeat), skipping the columns whose values the
    driver takes as they are (mapped numbers are floats already)."""
    todo = {}
    for i, name in enumerate(names):
        p = _processor(t.c[name], dialect)
        if p is None:
            continue
        native = _NATIVE.get(type(t.c[name].type))
        if native and set(map(type, map(operator.itemgetter(i), rows))) <= native:
            continue
        todo[i] = p
    if not todo or not rows:
        return rows
    columns = list(zip(*rows, strict=True))
    for i, p in todo.items():
        seen: dict[Any, Any] = {None: None}
        columns[i] = [seen[v] if v in seen else seen.setdefault(v, p(v)) for v in columns[i]]
    return list(zip(*columns, strict=True))


# Rows per SQLite INSERT: preparing a statement of numbered parameters costs
# more than linearly in its rows (500 rows: ~75 ms, once per connection; 100
# rows: ~5 ms), and more rows per statement barely speed the inserts up.
ROWS_PER_INSERT = 100


def _sqlite_bulk_insert(
    conn: sa.Connection,
    t: sa.Table,
    per_row: dict[str, list],
    names: list[str],
    rows: list[tuple],
    constants: dict[str, Any],
    progress: Callable[[int, int], None] | None,
) -> None:
    """Many rows per statement with numbered parameters: the constants are ?1,
    ?2 …, then the statement's keys (and sheet rows: ``per_row``'s lists, one
    value per row), then its rows' values, so no row tuple is rebuilt (a third
    faster than one INSERT per row)."""
    quote = conn.dialect.identifier_preparer.quote
    width, lead, extra = len(names), len(constants), len(per_row)
    limit = conn.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(ROWS_PER_INSERT, (limit - lead) // (width + extra)))
    columns = ", ".join(map(quote, [*constants, *per_row, *names]))
    head = f"INSERT INTO {quote(t.name)} ({columns}) VALUES "
    consts = [f"?{i + 1}" for i in range(lead)]

    def statement(n: int) -> str:
        values = lead + extra * n  # parameters before the first row's values
        groups = (
            "("
            + ", ".join(
                [
                    *consts,
                    *(f"?{lead + e * n + r + 1}" for e in range(extra)),
                    *(f"?{values + r * width + c + 1}" for c in range(width)),
                ]
            )
            + ")"
            for r in range(n)
        )
        return head + ", ".join(groups)

    lead_values = tuple(constants.values())
    lists = list(per_row.values())

    def params(start: int, stop: int) -> tuple:
        heads = chain.from_iterable(x[start:stop] for x in lists)
        return (*lead_values, *heads, *chain.from_iterable(rows[start:stop]))

    total = len(rows)
    full = total - total % per  # rows in full statements; the rest in one more
    sql = statement(per)
    step = max(per, BULK_CHUNK // per * per)  # whole statements between reports
    for start in range(0, total, step):
        stop = min(start + step, total)
        if start < min(stop, full):
            conn.exec_driver_sql(
                sql, [params(i, i + per) for i in range(start, min(stop, full), per)]
            )
        if stop > full:
            conn.exec_driver_sql(statement(total - full), params(full, total))
        if progress:
            progress(stop, total)

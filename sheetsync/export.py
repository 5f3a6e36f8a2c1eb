"""Dump the model's records to JSON or CSV files.

CSV text that a spreadsheet would run as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return: CSV injection, OWASP) is
written with a leading ``'``, so opening the file in Excel or LibreOffice
shows the text and runs nothing; numbers stay numbers. ``raw`` writes text
exactly as stored, for programs that read the CSV.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from .errors import UsageError
from .model import TABLES
from .store import Store


def _tables(names: tuple[str, ...]) -> list[str]:
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise UsageError(
            f"unknown table {', '.join(unknown)}", hint=f"tables are: {', '.join(TABLES)}"
        )
    return list(names) or list(TABLES)


Output = Path | TextIO  # a file, or an open text stream (stdout)


@contextlib.contextmanager
def _opened(output: Output) -> Iterator[TextIO]:
    if isinstance(output, Path):
        with open(output, "w", newline="", encoding="utf-8") as fh:
            yield fh
    else:
        yield output
        output.flush()


def export_json(
    store: Store, output: Output, names: tuple[str, ...] = ()
) -> list[tuple[Output, int]]:
    """One JSON object {table: [records]}; dates as ISO text."""
    data = {n: store.records(n) for n in _tables(names)}
    with _opened(output) as fh:
        fh.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    return [(output, sum(len(v) for v in data.values()))]


#: What makes a spreadsheet read a CSV cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` safe to open in a spreadsheet: text that would start a formula
    gets a leading ``'``; numbers, dates and other text are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_csv(
    store: Store, output: Output, names: tuple[str, ...] = (), *, raw: bool = False
) -> list[tuple[Output, int]]:
    """One CSV per table; with a single table, exactly ``output``. A stream
    (stdout) takes one table only. Text that would start a formula is prefixed
    with ``'`` unless ``raw``."""
    chosen = _tables(names)
    if not isinstance(output, Path) and len(chosen) != 1:
        raise UsageError(
            "CSV to stdout holds one table: choose it with --table",
            hint=f"tables are: {', '.join(TABLES)}; or write files with -o NAME.csv",
        )
    written: list[tuple[Output, int]] = []
    for n in chosen:
        path = (
            output
            if len(chosen) == 1 or not isinstance(output, Path)
            else output.with_name(f"{output.stem}-{n}{output.suffix or '.csv'}")
        )
        fields = [f.name for f in TABLES[n].fields]
        records = store.records(n)
        with _opened(path) as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            if raw:
                w.writerows(records)
            else:
                w.writerows({k: neutralise(v) for k, v in r.items()} for r in records)
        written.append((path, len(records)))
    return written

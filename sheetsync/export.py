"""Dump the model's records to JSON or CSV files.

CSV text that a spreadsheet would run as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return: CSV injection, OWASP) is
written with a leading ``'``, so opening the file in Excel or LibreOffice
shows the text and runs nothing; numbers stay numbers. ``raw`` writes text
exactly as stored, for programs that read the CSV.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

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


def export_json(store: Store, output: Path, names: tuple[str, ...] = ()) -> list[tuple[Path, int]]:
    """One JSON object {table: [records]}; dates as ISO text."""
    data = {n: store.records(n) for n in _tables(names)}
    output.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
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
    store: Store, output: Path, names: tuple[str, ...] = (), *, raw: bool = False
) -> list[tuple[Path, int]]:
    """One CSV per table; with a single table, exactly ``output``. Text that
    would start a formula is prefixed with ``'`` unless ``raw``."""
    chosen = _tables(names)
    written = []
    for n in chosen:
        path = (
            output
            if len(chosen) == 1
            else output.with_name(f"{output.stem}-{n}{output.suffix or '.csv'}")
        )
        fields = [f.name for f in TABLES[n].fields]
        records = store.records(n)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            if raw:
                w.writerows(records)
            else:
                w.writerows({k: neutralise(v) for k, v in r.items()} for r in records)
        written.append((path, len(records)))
    return written

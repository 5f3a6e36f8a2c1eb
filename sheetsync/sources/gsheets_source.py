"""A Google Sheet as a sync source: the Source protocol over ``gsheets.GoogleSheet``.

Per command: one metadata request and one ``values:batchGet`` to read every
mapped worksheet; one ``values:batchGet`` (formulas) before writing, so formula
cells are never overwritten; one ``values:batchUpdate`` for all changes (plus
one ``spreadsheets:batchUpdate`` only when the grid must grow).

Google offers no compare-and-swap on values, so a change made in the browser
between sheetsync's read and its write (a second or so) is not detected, and
after a write the content hash is unknown until the next read (so the next
``push`` cannot refuse on "changed since read"); ``sync`` always merges.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..grid import Grid, a1, column_index
from .changes import CellWrite, RowAppend
from .gsheets import WriteResult, open_spreadsheet

if TYPE_CHECKING:
    from ..config import SourceConfig

API_URL_ENV = "SHEETSYNC_GOOGLE_API_URL"


class GSheetsSource:
    """A Google Sheet named by key or URL in the config."""

    def __init__(self, config: SourceConfig) -> None:
        assert config.spreadsheet is not None
        self.name = config.name
        self.config = config
        self.sheet = open_spreadsheet(
            config.spreadsheet,
            str(config.credentials) if config.credentials else None,
            retries=config.retries,
            base_url=config.api_url or os.environ.get(API_URL_ENV) or None,
        )
        self._hash: str | None = None
        self._widths: dict[str, int] = {}
        self._formulas: dict[str, set[str]] = {}

    def sheet_names(self) -> list[str]:
        return self.sheet.sheet_names()

    def read(self, sheets: list[str], *, stream: bool = False) -> dict[str, Grid]:
        present = [s for s in sheets if s in set(self.sheet.sheet_names())]
        values = self.sheet.read_sheets(present)
        self._hash = hashlib.sha256(
            json.dumps([values.get(s) for s in present], default=str).encode()
        ).hexdigest()
        self._widths = {s: max((len(r) for r in rows), default=0) for s, rows in values.items()}
        return {s: Grid(s, rows, date1904=False) for s, rows in values.items()}

    def fingerprint(self) -> str:
        if self._hash is None:
            self.read(self.sheet_names())
        return self._hash or ""

    def revision(self) -> str | None:
        return None

    def formula_cells(self, sheet: str) -> set[str]:
        if sheet not in self._formulas:
            resp = self.sheet._call(
                self.sheet.http.values_batch_get,
                self.sheet.key,
                [f"'{sheet.replace(chr(39), chr(39) * 2)}'"],
                {"valueRenderOption": "FORMULA", "majorDimension": "ROWS"},
            )
            rows = (resp.get("valueRanges") or [{}])[0].get("values", [])
            self._formulas[sheet] = {
                a1(r, c)
                for r, row in enumerate(rows, start=1)
                for c, v in enumerate(row, start=1)
                if isinstance(v, str) and v.startswith("=")
            }
        return self._formulas[sheet]

    def write(
        self,
        writes: list[CellWrite],
        appends: list[RowAppend],
        deletes: Mapping[str, list[int]],
        *,
        expected_hash: str | None,
        force: bool,
    ) -> WriteResult:
        changes: list[tuple[str, str, Any]] = [(w.sheet, w.ref, w.value) for w in writes]
        for sheet, rows in deletes.items():
            width = self._widths.get(sheet, 0)
            for r in rows:
                changes += [
                    (sheet, a1(r, c), None)
                    for c in range(1, width + 1)
                    if a1(r, c) not in self.formula_cells(sheet)
                ]
        rows_out = []
        for ap in appends:
            width = max(column_index(col) for col in ap.values)
            row = [None] * width
            for col, v in ap.values.items():
                row[column_index(col) - 1] = v
            rows_out.append((ap.sheet, row))
        result = self.sheet.write_cells(changes, rows_out)
        self._hash = ""  # unknown until read again; a later push then skips the changed-since check
        self._formulas.clear()
        return result

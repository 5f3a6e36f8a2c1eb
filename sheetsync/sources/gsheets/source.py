"""A Google Sheet as a sync source: the Source protocol over :class:`.sheet.GoogleSheet`.

Per command: a pull (or validate) reads every mapped worksheet with one
``values:batchGet``; a push, sync or diff reads values, formulas and grid
sizes with one ``spreadsheets.get``, and writes every change with one
``spreadsheets.batchUpdate`` (grid growth and typed values together, all or
nothing). The revision is the hash of the values read (Google has no cheaper
one): an unchanged sheet still costs its one request, but is neither mapped
nor written.

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

from ...grid import Grid, a1, column_index
from ..changes import CellWrite, RowAppend
from .sheet import open_spreadsheet
from .write import WriteResult

if TYPE_CHECKING:
    from ...config import SourceConfig

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
        self._names: list[str] | None = None
        self._values: dict[str, list[list[Any]]] | None = None  # read by revision()
        self._widths: dict[str, int] = {}
        self._formulas: dict[str, set[str]] = {}

    def sheet_names(self) -> list[str]:
        if self._names is not None:
            return self._names
        return self.sheet.sheet_names()

    def _configured(self) -> list[str]:
        return list(dict.fromkeys(m.sheet for m in self.config.tables.values()))

    def read(self, sheets: list[str], *, stream: bool = False) -> dict[str, Grid]:
        """``stream`` (a pull): values only, one ``values:batchGet``; otherwise
        values, formulas and grid sizes, one ``spreadsheets.get``."""
        if stream:
            values = self._values if self._values and list(self._values) == sheets else None
            values = values or self.sheet.read_sheets(sheets)
        else:
            values, self._formulas = self.sheet.read_grid(sheets)
        self._values = None
        self._names = list(values)  # every one asked for exists (else the read raised)
        self._hash = _values_hash(values, sheets)
        self._widths = {s: max((len(r) for r in rows), default=0) for s, rows in values.items()}
        return {s: Grid(s, rows, date1904=False) for s, rows in values.items()}

    def revision(self) -> str | None:
        """The hash of the configured worksheets' values: reading them is the
        one request a pull makes, kept for ``read``."""
        if self._hash is None:
            sheets = self._configured()
            self._values = self.sheet.read_sheets(sheets)
            self._hash = _values_hash(self._values, sheets)
        return self._hash

    def fingerprint(self) -> str:
        if self._hash is None:
            self.read(self._configured(), stream=True)
        return self._hash or ""

    def formula_cells(self, sheet: str) -> set[str]:
        if sheet not in self._formulas:  # not read with its formulas yet
            _, formulas = self.sheet.read_grid([sheet])
            self._formulas.update(formulas)
        return self._formulas[sheet]

    def write_refusal(self) -> None:
        """A Google Sheet has no lock file: nothing refuses a write in advance."""
        return None

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


def _values_hash(values: Mapping[str, Any], sheets: list[str]) -> str:
    return hashlib.sha256(
        json.dumps([values.get(s) for s in sheets], default=str).encode()
    ).hexdigest()

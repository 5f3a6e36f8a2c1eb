"""Sources: one module per backend behind one small protocol, imported lazily.

A backend is registered by dotted path (as tablib does with its formats), so
``sheetsync --help`` never imports calamine, openpyxl or gspread.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .changes import CellWrite, RowAppend

if TYPE_CHECKING:
    from ..config import SourceConfig
    from ..grid import Grid

__all__ = ["BACKENDS", "CellWrite", "RowAppend", "Source", "open_source"]

BACKENDS = {
    "xlsx": "sheetsync.sources.xlsx:XlsxSource",
    "gsheets": "sheetsync.sources.gsheets.source:GSheetsSource",
    "mindmap": "sheetsync.sources.mindmap:MindMapSource",
}


class Source(Protocol):
    """What sync needs from a workbook or spreadsheet."""

    name: str

    def sheet_names(self) -> list[str]:
        """Worksheet names, in workbook order."""
        ...

    def read(self, sheets: list[str], *, stream: bool = False) -> dict[str, Grid]:
        """Values of the named worksheets (all in one go); ``stream``: grids
        that may give their rows in chunks, once (``Grid.chunks``)."""
        ...

    def fingerprint(self) -> str:
        """A content hash of the source as read, to detect changes since."""
        ...

    def revision(self) -> str | None:
        """Cheaply, without reading the values: a text that changes whenever
        the content does (None: not known). A pull skips a source whose
        revision is the one it read last time."""
        ...

    def formula_cells(self, sheet: str) -> set[str]:
        """A1 refs of the cells of ``sheet`` that hold formulas (never written)."""
        ...

    def write_refusal(self) -> Exception | None:
        """Why a write would be refused right now (e.g. the workbook is open
        in Excel), or None: what a dry run warns about."""
        ...

    def write(
        self,
        writes: list[CellWrite],
        appends: list[RowAppend],
        deletes: Mapping[str, list[int]],
        *,
        expected_hash: str | None,
        force: bool,
    ) -> Any:
        """Write only these cells and rows, all at once; refuse if the source
        changed since ``expected_hash`` (unless ``force``)."""
        ...


def open_source(config: SourceConfig) -> Source:
    """The backend for ``config.kind``, opened on the configured location."""
    module_name, _, cls_name = BACKENDS[config.kind].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(config)

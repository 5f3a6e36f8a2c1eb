"""Sources: one module per backend behind one small protocol, imported lazily.

A backend is registered by dotted path (as tablib does with its formats), so
``sheetsync --help`` never imports calamine, openpyxl or gspread.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import SourceConfig
    from ..grid import Grid

BACKENDS = {
    "xlsx": "sheetsync.sources.xlsx:XlsxSource",
    "gsheets": "sheetsync.sources.gsheets_source:GSheetsSource",
}


class Source(Protocol):
    """What sync needs from a workbook or spreadsheet."""

    name: str

    def sheet_names(self) -> list[str]:
        """Worksheet names, in workbook order."""
        ...

    def read(self, sheets: list[str]) -> dict[str, Grid]:
        """Values of the named worksheets (all in one go)."""
        ...

    def fingerprint(self) -> str:
        """A content hash of the source as read, to detect changes since."""
        ...


def open_source(config: SourceConfig) -> Source:
    """The backend for ``config.kind``, opened on the configured location."""
    module_name, _, cls_name = BACKENDS[config.kind].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(config)

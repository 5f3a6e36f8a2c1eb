"""Excel workbooks (.xlsx/.xlsm): read into grids, and patched losslessly in place.

The modules follow a workbook through sheetsync:

* ``package``: the zip and its parts; the safety checks every read and write runs first;
* ``reader``: the values of the sheets, via calamine; ``source``: the backend (``XlsxSource``);
* ``patch``: ``patch_workbook``: plan the edits, write the new file beside the old,
  fsync, swap, keep a backup (through ``sheetsync.atomic``);
* ``sheet``: one worksheet's edits, from ``rows`` (the XML and its row index),
  ``formula_scan`` (its formulas), ``cells`` (values as XML, rows edited) and
  ``appends`` (rows added, formulas carried down, tables extended);
* ``deps``: which formulas may depend on a written cell; ``formulas``: formula text;
* ``zipcopy``: the zip rewritten with unchanged members copied raw;
* ``scan``: formula cells, and those left without a result;
* ``refs``, ``xmlbytes``, ``result``: A1 references, raw XML bytes, what a patch did.

Reading never loads the writer: ``patch_workbook`` and the other writing names
below are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .package import CFB_MAGIC, check_package, check_workbook
from .reader import read_workbook
from .source import XlsxSource

if TYPE_CHECKING:
    from .formulas import shift_formula
    from .patch import patch_workbook
    from .result import PatchResult
    from .scan import formula_cells, uncalculated_cells

__all__ = [
    "CFB_MAGIC",
    "PatchResult",
    "XlsxSource",
    "check_package",
    "check_workbook",
    "formula_cells",
    "patch_workbook",
    "read_workbook",
    "shift_formula",
    "uncalculated_cells",
]

_WRITING = {
    "PatchResult": "result",
    "formula_cells": "scan",
    "patch_workbook": "patch",
    "shift_formula": "formulas",
    "uncalculated_cells": "scan",
}


def __getattr__(name: str) -> Any:
    """The writing side's names, imported when first asked for."""
    if name in _WRITING:
        return getattr(importlib.import_module(f".{_WRITING[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

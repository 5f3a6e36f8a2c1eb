"""What a patch of a workbook did (``PatchResult``).

Cells written and skipped, rows appended and cleared, results removed, the backup kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..changes import CellWrite


@dataclass
class PatchResult:
    """What ``patch_workbook`` did. ``backup`` is None when nothing was written."""

    written: list[CellWrite] = field(default_factory=list)
    skipped_formulas: list[CellWrite] = field(default_factory=list)
    appended_rows: list[int] = field(default_factory=list)
    deleted_rows: list[int] = field(default_factory=list)
    backup: Path | None = None
    warnings: list[str] = field(default_factory=list)
    changed: bool = False
    uncached: set[tuple[str, str]] = field(default_factory=set)  # (sheet, ref): result removed

"""The workbook backend (``kind = "xlsx"``): a workbook on disk, read and patched.

Read through ``reader``; written through ``patch``, which loads only when a push
writes or asks about formulas.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ...atomic import check_not_open
from ...errors import RefusedError
from ...grid import Grid
from ..changes import CellWrite, FileRevision, RowAppend
from .reader import read_workbook

if TYPE_CHECKING:
    from ...config import SourceConfig
    from .result import PatchResult


class XlsxSource(FileRevision):
    """A workbook on disk."""

    def __init__(self, config: SourceConfig) -> None:
        assert config.path is not None
        self.name = config.name
        self.config = config
        self.path: Path = config.path
        self._names: list[str] | None = None
        self._hash: str | None = None

    def sheet_names(self) -> list[str]:
        if self._names is None:
            self._names, _ = read_workbook(self.path, [])
        return self._names

    def read(self, sheets: list[str], *, stream: bool = False) -> dict[str, Grid]:
        self.revision()  # the bytes about to be parsed (unless hashed just before)
        self._names, grids = read_workbook(self.path, sheets, stream=stream)
        return grids

    def uncalculated_cells(self, sheets: list[str]) -> dict[str, set[str]]:
        """Formula cells without a calculated result, per sheet (after a push)."""
        from .scan import uncalculated_cells

        return uncalculated_cells(self.path, sheets)

    def formula_cells(self, sheet: str) -> set[str]:
        from .scan import formula_cells  # the writer loads only when writing

        return formula_cells(self.path, sheet)

    def write_refusal(self) -> RefusedError | None:
        """Why a write would be refused now (the file is open in Excel), or None."""
        try:
            check_not_open(self.path)
            if self.path.is_symlink():
                check_not_open(self.path.resolve())
        except RefusedError as e:
            return e
        return None

    def write(
        self,
        writes: list[CellWrite],
        appends: list[RowAppend],
        deletes: Mapping[str, list[int]],
        *,
        expected_hash: str | None,
        force: bool,
    ) -> PatchResult:
        from .patch import patch_workbook

        result = patch_workbook(
            self.path,
            writes,
            appends,
            deletes,
            backups=self.config.backups,
            expected_sha256=expected_hash,
            force=force,
        )
        self._hash = None
        return result

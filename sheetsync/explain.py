"""Where each number comes from: the cells behind a record version.

Filled in by the cell-provenance work (step 3); ``Provenance.address`` gives
None while the model holds no cell positions.
"""

from __future__ import annotations

from typing import Any


class Provenance:
    """Each record version's cells: its source's sheet, its row, the field's column."""

    def __init__(self, store: Any, config: Any) -> None:
        self.store = store
        self.config = config

    def address(self, version: Any, field: str) -> str | None:
        return None

"""Mind maps as a source: XMind (Zen and 8), FreeMind/Freeplane and OPML.

A map is read into one goal tree (``tree.Node``), each level of which fills
one model table (``records``); the workbook's mapping then coerces and
validates it, and errors are named by the node's path. Each format is one
small module, imported only when a file of that format is read or written.
Mind map sources are read-only: ``sheetsync export --format xmind`` writes
the live plan as a map instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import RefusedError, WorkbookError
from ..changes import CellWrite, RowAppend, file_sha256
from .tree import MindMap, Node

if TYPE_CHECKING:
    from ...config import SourceConfig
    from ...grid import Grid

__all__ = ["FORMATS", "MindMap", "MindMapSource", "Node", "read_tree", "write_tree"]

#: Format name → module; file suffixes → format.
FORMATS = {
    "xmind": "sheetsync.sources.mindmap.xmind",
    "mm": "sheetsync.sources.mindmap.freemind",
    "opml": "sheetsync.sources.mindmap.opml",
}
SUFFIXES = {".xmind": "xmind", ".mm": "mm", ".opml": "opml"}
READ_ONLY = (
    "mind map sources are read-only; export the live plan with "
    "`sheetsync export --format xmind -o plan.xmind`"
)


def format_of(path: Path) -> str:
    """The map format a file name says (.xmind, .mm, .opml)."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise WorkbookError(
            f"{path.name}: is not a mind map sheetsync reads (.xmind, .mm or .opml)"
        )
    return fmt


def _module(fmt: str) -> Any:
    return importlib.import_module(FORMATS[fmt])


def read_tree(path: Path) -> MindMap:
    """Read any supported map into a goal tree; refusals are one-line WorkbookErrors."""
    try:
        return _module(format_of(path)).read(path)
    except RecursionError:  # a reader's own bound comes first; this is the last guard
        raise WorkbookError(f"{path.name}: nests too deep; refusing it") from None


def write_tree(mind_map: MindMap, path: Path, fmt: str) -> None:
    """Write a goal tree as ``fmt`` (xmind, mm or opml)."""
    _module(fmt).write(mind_map, path)


class MindMapSource:
    """A mind map file: each level of its tree is read as one table (the "sheet")."""

    read_only = True

    def __init__(self, config: SourceConfig) -> None:
        assert config.path is not None
        self.name = config.name
        self.config = config
        self.path: Path = config.path
        self._hash: str | None = None

    def sheet_names(self) -> list[str]:
        return list(self.config.levels)

    def read(self, sheets: list[str], *, stream: bool = False) -> dict[str, Grid]:
        """Each level of the tree as a grid (a map is small: never streamed)."""
        from .records import tree_grids

        self._hash = file_sha256(self.path) if self.path.exists() else None
        mind_map = read_tree(self.path)
        grids = tree_grids(mind_map, self.config.levels, self.config.tables, self.config.skip_root)
        return {s: grids[s] for s in sheets if s in grids}

    def revision(self) -> str | None:
        """The SHA-256 of the file's bytes (None: no such file)."""
        if self._hash is None and self.path.is_file():
            self._hash = file_sha256(self.path)
        return self._hash

    def fingerprint(self) -> str:
        if self._hash is None:
            self._hash = file_sha256(self.path)
        return self._hash

    def formula_cells(self, sheet: str) -> set[str]:
        return set()

    def write_refusal(self) -> RefusedError:
        """A map is never written: the reason, for a dry run to warn with."""
        return RefusedError(
            f"{self.name}: {self.path.name}: {READ_ONLY}",
            hint="pull (the map into the model) works; make the change in the map itself",
        )

    def write(
        self,
        writes: list[CellWrite],
        appends: list[RowAppend],
        deletes: Mapping[str, list[int]],
        *,
        expected_hash: str | None,
        force: bool,
    ) -> Any:
        raise self.write_refusal()

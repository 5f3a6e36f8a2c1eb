"""What sync asks of a source: cell writes, row appends, and the content hash
that tells whether the source changed since it was read.

Kept apart from the backends so that reading never loads the writers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

CellValue = str | float | int | bool | date | datetime | None


@dataclass(frozen=True)
class CellWrite:
    """Write ``value`` into ``sheet``!``ref`` (``ref`` like ``"G7"``)."""

    sheet: str
    ref: str
    value: CellValue


@dataclass(frozen=True)
class RowAppend:
    """Append one row to ``sheet``: column letter → value."""

    sheet: str
    values: Mapping[str, CellValue]


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, streamed."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class FileRevision:
    """``revision`` and ``fingerprint`` of a source that is one file (``self.path``):
    the SHA-256 of its bytes, computed once per read (``self._hash``)."""

    path: Path
    _hash: str | None

    def revision(self) -> str | None:
        """The SHA-256 of the file's bytes (None: no such file)."""
        if self._hash is None and self.path.is_file():
            self._hash = file_sha256(self.path)
        return self._hash

    def fingerprint(self) -> str:
        if self._hash is None:
            self._hash = file_sha256(self.path)
        return self._hash

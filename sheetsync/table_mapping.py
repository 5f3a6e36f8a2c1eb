"""Where one model table sits in a source: ``TableMapping`` and how headers compare.

Below both ``config`` (which builds a ``TableMapping`` from sheetsync.toml) and
``mapping`` (which reads a sheet's grid with one), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def normalize_header(text: object) -> str:
    """Header comparison key: lower case, single spaces, no surrounding space."""
    return " ".join(str(text).replace("\n", " ").split()).casefold() if text is not None else ""


@dataclass(frozen=True)
class TableMapping:
    """Where one model table sits in a source and how its headers map to fields."""

    table: str
    sheet: str
    header_row: int | None = None  # None: found automatically
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> headers
    readonly: tuple[str, ...] = ()
    key: tuple[str, ...] | None = None  # field names; None: the table's built-in key

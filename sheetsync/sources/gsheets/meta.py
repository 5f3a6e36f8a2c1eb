"""What a spreadsheet holds: its title and worksheets (ids, tab order, grid sizes),
fetched on first need and kept for the life of a :class:`~.sheet.GoogleSheet`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import WorkbookError


@dataclass
class SheetMeta:
    sheet_id: int
    title: str
    index: int
    rows: int
    cols: int


def sheet_meta(p: Mapping[str, Any]) -> SheetMeta:
    """A worksheet's ``properties`` as the API gives them."""
    grid = p.get("gridProperties", {})
    return SheetMeta(
        int(p.get("sheetId", 0)),
        p["title"],
        int(p.get("index", 0)),
        int(grid.get("rowCount", 0)),
        int(grid.get("columnCount", 0)),
    )


class Metadata:
    """The metadata part of a :class:`~.sheet.GoogleSheet`: which worksheets exist."""

    METADATA_FIELDS = (
        "spreadsheetId,properties.title,"
        "sheets.properties(sheetId,title,index,gridProperties(rowCount,columnCount))"
    )

    key: str
    http: Any
    _title: str | None
    _sheets: dict[str, SheetMeta]  # known so far
    _all: bool  # every worksheet known (fetched by metadata)
    _data_rows: dict[str, int]
    _call: Callable[..., Any]

    def refresh(self) -> None:
        """Forget cached metadata; the next call fetches it again."""
        self._sheets = {}
        self._all = False
        self._data_rows.clear()

    def _metadata(self) -> dict[str, SheetMeta]:
        """Every worksheet (one request, the first time)."""
        if not self._all:
            meta = self._call(
                self.http.fetch_sheet_metadata, self.key, {"fields": self.METADATA_FIELDS}
            )
            self._title = meta.get("properties", {}).get("title", self.key)
            self._sheets = {
                m.title: m for m in (sheet_meta(s["properties"]) for s in meta.get("sheets", []))
            }
            self._all = True
        return self._sheets

    @property
    def title(self) -> str:
        if self._title is None:
            self._metadata()
        return self._title or self.key

    def sheet_names(self) -> list[str]:
        """Worksheet titles in tab order."""
        return [m.title for m in sorted(self._metadata().values(), key=lambda m: m.index)]

    def grid_size(self, sheet: str) -> tuple[int, int]:
        """(rows, columns) of a worksheet's grid, as last known."""
        m = self._require([sheet])[0]
        return m.rows, m.cols

    def _require(self, names: Iterable[str]) -> list[SheetMeta]:
        wanted = list(dict.fromkeys(names))
        sheets = self._sheets if all(n in self._sheets for n in wanted) else self._metadata()
        missing = [n for n in wanted if n not in sheets]
        if missing:
            have = ", ".join(repr(n) for n in self.sheet_names()) or "none"
            what = "worksheet" if len(missing) == 1 else "worksheets"
            raise WorkbookError(
                f"{what} {', '.join(repr(n) for n in missing)} not found in Google Sheet "
                f"'{self.title}'; it has: {have}",
                hint="fix the sheet name in sheetsync.toml or rename the tab",
            )
        return [sheets[n] for n in wanted]

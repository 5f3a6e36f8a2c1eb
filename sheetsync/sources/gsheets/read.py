"""Reading a spreadsheet: values only in one ``values:batchGet`` (a pull), or values,
formulas and grid sizes in one ``spreadsheets.get`` (a push's or sync's one read)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ...errors import RemoteError
from ...grid import quote_sheet
from .meta import SheetMeta, sheet_meta
from .values import Cells, grid_rows


class Reading:
    """The reading part of a :class:`~.sheet.GoogleSheet`."""

    key: str
    http: Any
    _title: str | None
    _sheets: dict[str, SheetMeta]
    _data_rows: dict[str, int]
    _call: Callable[..., Any]
    _require: Callable[[Iterable[str]], list[SheetMeta]]

    def read_sheets(self, names: Sequence[str]) -> dict[str, Cells]:
        """Values of the named worksheets in one ``values:batchGet`` (a pull's one request).

        Rows are lists (row 1 is index 0) with Google's trailing blanks trimmed;
        numbers stay numbers and dates are serial numbers (days since 1899-12-30).
        A missing worksheet costs one metadata request more, to say which exist.
        """
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        try:
            resp = self._call(
                self.http.values_batch_get,
                self.key,
                [quote_sheet(n) for n in names],
                {
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER",
                    "majorDimension": "ROWS",
                },
            )
        except RemoteError:
            self._require(names)  # a missing worksheet: say which ones exist
            raise
        out: dict[str, Cells] = {}
        for name, vr in zip(names, resp.get("valueRanges", []), strict=True):
            rows = vr.get("values", [])
            out[name] = rows
            self._data_rows[name] = len(rows)
        return out

    GRID_FIELDS = (
        "properties.title,sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)),"
        "data(startRow,startColumn,rowData.values(userEnteredValue,effectiveValue)))"
    )

    def read_grid(self, names: Sequence[str]) -> tuple[dict[str, Cells], dict[str, set[str]]]:
        """Values and formula cells of the named worksheets, with their grid
        sizes, in one ``spreadsheets.get`` (a push's or sync's one read).

        The values are what :meth:`read_sheets` gives; the formulas are the A1
        refs of the cells holding one (never written).
        """
        names = list(dict.fromkeys(names))
        if not names:
            return {}, {}
        try:
            meta = self._call(
                self.http.fetch_sheet_metadata,
                self.key,
                {"fields": self.GRID_FIELDS, "ranges": [quote_sheet(n) for n in names]},
            )
        except RemoteError:
            self._require(names)
            raise
        self._title = meta.get("properties", {}).get("title", self._title or self.key)
        values: dict[str, Cells] = {}
        formulas: dict[str, set[str]] = {}
        for sheet in meta.get("sheets", []):
            m = sheet_meta(sheet["properties"])
            self._sheets[m.title] = m  # their grid sizes, for the write
            rows, cells = grid_rows(sheet.get("data") or [])
            values[m.title], formulas[m.title] = rows, cells
            self._data_rows[m.title] = len(rows)
        return values, formulas

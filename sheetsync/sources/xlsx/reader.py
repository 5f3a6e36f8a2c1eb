"""Reading a workbook into grids: its sheets' values via calamine, fast and style-free.

The package's safety checks (``package.check_workbook``) run first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import WorkbookError
from ...grid import CHUNK_ROWS, Grid
from .halves import cuttable, split_rows
from .package import check_workbook


def read_workbook(
    path: Path, sheets: list[str] | None = None, *, stream: bool = False
) -> tuple[list[str], dict[str, Grid]]:
    """Sheet names and the values of ``sheets`` (None: all), via calamine;
    ``stream``: grids whose rows come in chunks (``Grid.chunks``), a big
    sheet's parsed in two halves at once (``halves``)."""
    import python_calamine as pc

    date1904 = check_workbook(path)
    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError:
        raise WorkbookError(
            f"{path.name}: is password-protected", hint="remove the password in Excel and run again"
        ) from None
    except Exception as e:  # calamine's errors carry the cause in their text
        raise WorkbookError(f"{path.name}: cannot be read ({type(e).__name__}: {e})") from None
    names = list(wb.sheet_names)
    grids: dict[str, Grid] = {}
    wanted = [s for s in (names if sheets is None else sheets) if s in names]
    cut = cuttable(path, wanted) if stream else {}
    try:
        for sheet in wanted:
            if stream:
                whole = lambda sheet=sheet: _whole(path, sheet)  # noqa: E731
                halves = split_rows(path, sheet, cut[sheet], whole) if sheet in cut else None
                rest = _row_chunks(wb.get_sheet_by_name(sheet)) if halves is None else halves
                grids[sheet] = Grid(sheet, [], date1904, rest=rest)
                continue
            ws = wb.get_sheet_by_name(sheet)
            rows: list[list[Any]] = ws.to_python(skip_empty_area=False)
            grids[sheet] = Grid(sheet, rows, date1904)
    except Exception as e:
        raise WorkbookError(f"{path.name}: sheet {sheet!r} cannot be read ({e})") from None
    finally:
        wb.close()
    return names, grids


def _row_chunks(ws: Any) -> Iterator[list[list[Any]]]:
    """A loaded sheet's rows from row 1 and column A (as ``to_python`` gives
    them), a chunk at a time; the sheet is freed once they are all given."""
    from itertools import islice

    rows = ws.iter_rows()  # from row 1, but from the first column in use
    pad = [""] * ws.start[1] if ws.start else []
    del ws
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield [pad + r for r in chunk] if pad else chunk


def _whole(path: Path, sheet: str) -> Iterator[list[list[Any]]]:
    """``_row_chunks`` of ``sheet``, loaded on its own (what ``halves`` falls back on)."""
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
        try:
            ws = wb.get_sheet_by_name(sheet)
        finally:
            wb.close()
    except Exception as e:  # calamine's errors carry the cause in their text
        raise WorkbookError(f"{path.name}: sheet {sheet!r} cannot be read ({e})") from None
    yield from _row_chunks(ws)

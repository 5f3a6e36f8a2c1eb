"""Formula cells of a workbook, and those without a calculated result (after a push).

What a pull asks after a push, read without holding a big sheet whole.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from ...errors import WorkbookError
from ...grid import a1
from .package import FULL_CALC, Package, check_workbook, open_checked, open_zip
from .sheet import Sheet


def formula_cells(path: Path, sheet: str) -> set[str]:
    """Refs (``"B7"``) of the cells of ``sheet`` that hold or are covered by a formula."""
    path = Path(path)
    check_workbook(path)
    with open_checked(path) as f, open_zip(path, f) as zf:
        pkg = Package(path, zf)
        part = pkg.sheet_part(sheet)
        ws = Sheet(pkg.read(part), where=part)
        return {a1(r, c) for r, c in ws.formula_positions()}


def uncalculated_cells(path: Path, sheets: Iterable[str]) -> dict[str, set[str]]:
    """Refs of the formula cells with no calculated result (no cached ``<v>``),
    per sheet: what a push leaves until Excel or LibreOffice recalculates.
    Only looked for when the workbook asks to be recalculated on open
    (``fullCalcOnLoad``, as a push sets it); otherwise ``{}`` at once."""
    path = Path(path)
    with open_checked(path) as f, open_zip(path, f) as zf:
        pkg = Package(path, zf)
        if not FULL_CALC.search(pkg.read(pkg.workbook_part)):
            return {}
        out: dict[str, set[str]] = {}
        for sheet in sheets:
            try:
                part = pkg.sheet_part(sheet)
            except WorkbookError:
                continue
            refs = _uncalculated_streamed(zf, pkg.names[part.lower()], part)
            if refs:
                out[sheet] = refs
        return out


SCAN_PIECE = 1 << 22  # bytes of a sheet's XML looked at at a time


def _uncalculated_streamed(zf: zipfile.ZipFile, name: str, where: str) -> set[str]:
    """``Sheet.uncalculated`` of a sheet's XML read a piece at a time, each
    piece cut after its last closed cell, so a big sheet is never held whole."""
    out: set[str] = set()
    data = b""
    prefix: bytes | None = None  # the namespace prefix of <sheetData>, once met
    close = b""
    with zf.open(name) as f:
        while True:
            piece = f.read(SCAN_PIECE)
            data += piece
            if prefix is None:
                m = _SHEET_DATA.search(data)
                if m is None:
                    if piece:
                        continue
                    return out  # no cells at all (the reader says what is wrong)
                prefix, data = m.group(1), data[m.start() :]
                close = b"</" + prefix + b"c>"
            cut = data.rfind(close) if piece else len(data)
            if cut < 0:
                continue
            cut += len(close) if piece else 0
            part, data = data[:cut], data[cut:]
            if not part.startswith(b"<" + prefix + b"sheetData"):
                part = b"<" + prefix + b"sheetData>" + part
            out |= Sheet(part + b"</" + prefix + b"sheetData>", where=where).uncalculated()
            if not piece:
                return out


_SHEET_DATA = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData\b")

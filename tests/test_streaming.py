"""A pull maps a sheet's rows a chunk at a time: the same records and errors as a whole read."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from conftest import CORPUS, require_shared

import sheetsync.sources.xlsx.reader as xlsx
from sheetsync.config import load_config
from sheetsync.errors import WorkbookError
from sheetsync.mapping import map_grid
from sheetsync.sources.xlsx.reader import read_workbook


def test_streamed_rows_are_the_whole_read_on_the_corpus(monkeypatch):
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", 3)  # many chunks even for small sheets
    compared = 0
    for path in sorted(require_shared(CORPUS).glob("*.xls*")):
        try:
            _, whole = read_workbook(path)
        except WorkbookError:
            continue  # refused whole, refused streamed (tests/test_init_and_corpus.py)
        _, streamed = read_workbook(path, stream=True)
        for name, grid in whole.items():
            rows = [row for chunk in streamed[name].chunks(0) for row in chunk]
            assert rows == grid.rows, (path.name, name)
            compared += 1
    assert compared >= 40


def _mapped(grid, config, table: str):
    m = config.sources["plan"].tables[table]
    return map_grid(grid, config.table_spec(table), m, sheet_names=[grid.sheet])


@pytest.mark.parametrize("chunk", [1, 4, 50_000])
def test_a_streamed_sheet_maps_like_a_whole_one(sample_dir: Path, monkeypatch, chunk):
    """Bad cells, blank rows, a totals row and repeated keys, in several chunks."""
    book = sample_dir / "sales_plan.xlsx"
    wb = openpyxl.load_workbook(book)
    ws = wb["Quotas"]
    ws["E14"] = "12k"
    ws["A30"], ws["D30"] = ws["A3"].value, ws["D3"].value  # the key of row 3 again
    for cell in ws[40]:
        cell.value = None  # a blank row
    ws["A45"] = None  # a row without its key
    ws.append(["Total", None, None, None, 1, 2, 3])
    wb.save(book)
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", chunk)
    config = load_config(sample_dir / "sheetsync.toml")
    _, whole = read_workbook(book, ["Quotas"])
    _, streamed = read_workbook(book, ["Quotas"], stream=True)
    a = _mapped(whole["Quotas"], config, "quotas")
    b = _mapped(streamed["Quotas"], config, "quotas")
    assert [str(e) for e in b.errors] == [str(e) for e in a.errors]
    assert any("duplicate key" in str(e) for e in a.errors)
    assert "'Quotas'!E14 (Target ($)): \"12k\" is not a number" in map(str, a.errors)
    assert (b.values, b.keys, b.rows, b.skipped_rows) == (a.values, a.keys, a.rows, a.skipped_rows)
    # gone: the bad cell, both rows of the repeated key (neither is the record for
    # sure), the blanked row, the keyless row
    assert len(a.values) == 139 - 5 and a.skipped_rows == [3, 14, 30, 45]

"""The lossless .xlsx patch writer, on real workbooks (no mocks).

Every workbook of ``../shared/corpus/xlsx`` that holds data gets one cell
written and one row appended; then the package is compared part by part with
the original: same members in the same order, every other member byte-identical
(compressed bytes included), and inside the worksheet only the written cell,
the appended row and the dimension differ.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import struct
import zipfile
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
import python_calamine as pc

from sheetsync.errors import RefusedError, WorkbookError
from sheetsync.sources.changes import CellWrite, RowAppend, file_sha256
from sheetsync.sources.xlsx import formula_cells, patch_workbook, shift_formula

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus" / "xlsx"
pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")

CORPUS_FILES = sorted(p.name for p in CORPUS.glob("*.xls[xm]")) if CORPUS.is_dir() else []


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(
            f"the shared workbook corpus is absent ({CORPUS}); it comes with the project's ../shared"
        )
    return CORPUS


def copy(corpus: Path, name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copyfile(corpus / name, dst)
    return dst


# ----------------------------------------------------------------------------- package helpers


def raw_member(path: Path, info: zipfile.ZipInfo) -> bytes:
    """The compressed bytes of a member, as stored."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        head = f.read(30)
        nlen, xlen = struct.unpack("<HH", head[26:30])
        f.seek(info.header_offset + 30 + nlen + xlen)
        return f.read(info.compress_size)


def changed_members(before: Path, after: Path) -> set[str]:
    """Members whose data differ; asserts the same members in the same order, compression kept."""
    with zipfile.ZipFile(before) as a, zipfile.ZipFile(after) as b:
        assert a.namelist() == b.namelist()
        changed = set()
        for ia, ib in zip(a.infolist(), b.infolist(), strict=True):
            if a.read(ia) != b.read(ib):
                changed.add(ia.filename)
                continue
            assert (ia.compress_type, ia.CRC, ia.compress_size) == (
                ib.compress_type,
                ib.CRC,
                ib.compress_size,
            )
            assert raw_member(before, ia) == raw_member(after, ib), ia.filename
            assert (ia.date_time, ia.external_attr, ia.extra, ia.comment) == (
                ib.date_time,
                ib.external_attr,
                ib.extra,
                ib.comment,
            )
        return changed


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def sheet_part(path: Path, sheet: str) -> str:
    """The worksheet part of ``sheet`` (through workbook.xml and its rels)."""
    wb = member(path, "xl/workbook.xml").decode("utf-8-sig")
    rels = member(path, "xl/_rels/workbook.xml.rels").decode("utf-8-sig")
    for m in re.finditer(r"<(?:\w+:)?sheet\b[^>]*>", wb):
        name = re.search(r'\sname="([^"]*)"', m.group()).group(1)
        rid = re.search(r'\s\w+:id="([^"]*)"', m.group()).group(1)
        if name.replace("&amp;", "&") == sheet:
            rel = re.search(r'<Relationship\b[^>]*Id="' + rid + r'"[^>]*>', rels).group()
            target = re.search(r'Target="([^"]*)"', rel).group(1)
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise AssertionError(sheet)


def without(xml: bytes, refs: list[str], rows: list[int]) -> bytes:
    """``xml`` minus the <c> of ``refs``, the <row> of ``rows`` and the <dimension>."""
    for ref in refs:
        xml = re.sub(
            rb'<(\w+:)?c r="' + ref.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</(\w+:)?c>)',
            b"",
            xml,
            flags=re.S,
        )
    for r in rows:
        xml = re.sub(
            rb'<(\w+:)?row r="' + str(r).encode() + rb'"(?:[^>]*/>|[^>]*>.*?</(\w+:)?row>)',
            b"",
            xml,
            flags=re.S,
        )
    return re.sub(rb"<(\w+:)?dimension [^>]*>", b"", xml)


def uncached(xml: bytes, refs: Iterable[str]) -> bytes:
    """``xml`` with the cached value (``<v>``, ``t``) of the cells ``refs`` removed:
    what a push does to the formulas that depend on what it wrote."""
    for ref in refs:
        pat = rb'<(\w+:)?c r="' + ref.encode() + rb'"([^>]*)>(.*?)</(\w+:)?c>'

        def strip(m: re.Match[bytes], ref: str = ref) -> bytes:
            attrs = re.sub(rb'\st="[^"]*"', b"", m.group(2))
            inner = re.sub(rb"<(\w+:)?v>[^<]*</(\w+:)?v>|<(\w+:)?v/>", b"", m.group(3))
            p = m.group(1) or b""
            return (
                b"<" + p + b'c r="' + ref.encode() + b'"' + attrs + b">" + inner + b"</" + p + b"c>"
            )

        xml = re.sub(pat, strip, xml, count=1, flags=re.S)
    return xml


def cell_xml(path: Path, part: str, ref: str) -> bytes:
    m = re.search(
        rb'<(\w+:)?c r="' + ref.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</(\w+:)?c>)',
        member(path, part),
        re.S,
    )
    return m.group() if m else b""


def style_of(xml: bytes) -> bytes | None:
    m = re.search(rb'\ss="(\d+)"', xml.split(b">", 1)[0])
    return m.group(1) if m else None


def calamine_value(path: Path, sheet: str, ref: str) -> object:
    row, col = openpyxl.utils.cell.coordinate_to_tuple(ref)
    wb = pc.CalamineWorkbook.from_path(str(path))
    try:
        rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    finally:
        wb.close()
    return rows[row - 1][col - 1] if row <= len(rows) and col <= len(rows[row - 1]) else None


def new_value(v: object) -> object:
    if isinstance(v, bool):
        return not v
    if isinstance(v, int | float):
        return v + 1
    if isinstance(v, datetime):
        return v + timedelta(days=1, hours=1)
    if isinstance(v, date):
        return v + timedelta(days=1)
    return f"edited ✓ & <ok> (was {len(str(v))} chars)"


def pick_cell(path: Path) -> tuple[str, str, object] | None:
    """(sheet, ref, value) of a plain value cell worth writing (calamine + the XML), or None."""
    if not zipfile.is_zipfile(path):
        return None
    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except Exception:
        return None
    try:
        for sheet in wb.sheet_names:
            try:
                part = sheet_part(path, sheet)
                xml = member(path, part)
            except (AssertionError, KeyError):
                continue  # a chart sheet
            merged: set[tuple[int, int]] = set()
            for m in re.finditer(rb'<(?:\w+:)?mergeCell ref="([A-Z]+\d+):([A-Z]+\d+)"', xml):
                (r1, c1), (r2, c2) = (
                    openpyxl.utils.cell.coordinate_to_tuple(x.decode()) for x in m.groups()
                )
                merged.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
                merged.discard((r1, c1))  # the anchor holds the merged cell's value
            for r, row in enumerate(
                wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False), 1
            ):
                for c, v in enumerate(row, 1):
                    if v in ("", None) or isinstance(v, time | timedelta) or (r, c) in merged:
                        continue
                    ref = openpyxl.utils.get_column_letter(c) + str(r)
                    x = cell_xml(path, part, ref)
                    if x and not re.search(rb"<(\w+:)?f[ >/]", x):
                        return sheet, ref, v
    finally:
        wb.close()
    return None


def load(path: Path) -> openpyxl.Workbook | None:
    """openpyxl's view of the workbook, or None when openpyxl cannot load it at all."""
    try:
        return openpyxl.load_workbook(path)
    except Exception:
        return None


def look(cell: object) -> tuple[str, ...]:
    """What openpyxl says a cell looks like: font, fill, border, alignment, number format."""
    return tuple(
        repr(getattr(cell, a)) for a in ("font", "fill", "border", "alignment", "number_format")
    )


def same_value(got: object, want: object) -> bool:
    if isinstance(want, date) and not isinstance(want, datetime):
        want = datetime(want.year, want.month, want.day)
    if isinstance(got, date) and not isinstance(got, datetime):
        got = datetime(got.year, got.month, got.day)
    if isinstance(want, datetime):
        return isinstance(got, datetime) and abs((got - want).total_seconds()) < 0.01
    if isinstance(want, float) and isinstance(got, (int, float)):
        return abs(got - want) < 1e-9 * max(1, abs(want))
    return got == want


# ----------------------------------------------------------------------------- the corpus, part by part


@pytest.mark.parametrize("name", CORPUS_FILES or ["(corpus absent)"])
def test_corpus_write_and_append_changes_nothing_else(
    corpus: Path, tmp_path: Path, name: str
) -> None:
    path = copy(corpus, name, tmp_path)
    picked = pick_cell(path)
    if picked is None:
        if not zipfile.is_zipfile(path):  # password-protected: refused, untouched
            before = path.read_bytes()
            with pytest.raises(WorkbookError, match=re.escape(name)):
                patch_workbook(path, [CellWrite("Sheet1", "A1", 1)])
            assert path.read_bytes() == before
            return
        # no plain value cell to overwrite: write into a fresh cell of the first sheet instead
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).sheet_names[0]
        orig = tmp_path / ("orig-" + name)
        shutil.copyfile(path, orig)
        result = patch_workbook(path, [CellWrite(sheet, "H40", "written by sheetsync")], backups=0)
        assert result.written and result.changed
        part = sheet_part(path, sheet)
        changed = changed_members(orig, path)
        assert part in changed and changed <= {part, "xl/workbook.xml"}
        assert calamine_value(path, sheet, "H40") == "written by sheetsync"
        return
    sheet, ref, old = picked
    value = new_value(old)
    col = re.match(r"[A-Z]+", ref).group()
    orig = tmp_path / ("orig-" + name)
    shutil.copyfile(path, orig)
    part = sheet_part(path, sheet)
    old_style = style_of(cell_xml(orig, part, ref))
    wb0 = load(orig)
    old_look = look(wb0[sheet][ref]) if wb0 else None

    result = patch_workbook(
        path, [CellWrite(sheet, ref, value)], [RowAppend(sheet, {col: value})], backups=0
    )

    assert result.written == [CellWrite(sheet, ref, value)]
    assert result.skipped_formulas == []
    [new_row] = result.appended_rows
    changed = changed_members(orig, path)
    assert part in changed
    stale: dict[str, list[str]] = {}  # formulas depending on what was written: result removed
    for stale_sheet, stale_ref in result.uncached:
        stale.setdefault(sheet_part(path, stale_sheet), []).append(stale_ref)
    for other in changed - {part}:
        before, after = member(orig, other), member(path, other)
        if other in stale:  # another sheet's formulas that read the written cells
            assert uncached(before, stale[other]) == after, other
        elif other.endswith("workbook.xml"):  # only calcPr may change, and only when formulas exist
            assert b'fullCalcOnLoad="1"' in after
            assert re.sub(rb'\s?fullCalcOnLoad="1"|<calcPr/>', b"", after) == re.sub(
                rb'\s?fullCalcOnLoad="\w+"|<calcPr/>', b"", before
            )
        else:  # a table that the appended row extends: only its ranges change
            assert "tables/" in other, other
            assert re.sub(rb'ref="[^"]*"', b"", before) == re.sub(rb'ref="[^"]*"', b"", after)
            assert re.search(
                rb'<table\b[^>]*ref="[A-Z]+\d+:[A-Z]+' + str(new_row).encode() + b'"', after
            )
    # inside the worksheet: only the written cell, the appended row and the dimension differ
    before, after = member(orig, part), member(path, part)
    before = uncached(before, stale.get(part, []))
    assert without(before, [ref], [new_row]) == without(after, [ref], [new_row])
    # the written cell keeps its style, and both readers see the new value
    assert style_of(cell_xml(path, part, ref)) == old_style
    assert same_value(calamine_value(path, sheet, ref), value)
    assert calamine_value(path, sheet, f"{col}{new_row}") not in (None, "")
    wb = load(path)
    assert (wb is None) == (wb0 is None)  # openpyxl reads it if it read the original
    if wb is not None:
        ws = wb[sheet]
        assert same_value(ws[ref].value, value), (ws[ref].value, value)
        assert look(ws[ref]) == old_look
        merged = {rc for rng in ws.merged_cells.ranges for rc in rng.cells}
        if openpyxl.utils.cell.coordinate_to_tuple(f"{col}{new_row}") not in merged:
            assert same_value(ws[f"{col}{new_row}"].value, value) or isinstance(value, date)
    # the appended row takes the formatting of the row above
    above = style_of(cell_xml(path, part, f"{col}{new_row - 1}"))
    if above is not None:
        assert style_of(cell_xml(path, part, f"{col}{new_row}")) == above
    # the dimension covers the new row
    dim = re.search(rb'<(?:\w+:)?dimension ref="([^"]*)"', after)
    if dim and b":" in dim.group(1):
        assert int(re.search(rb"(\d+)$", dim.group(1)).group(1)) >= new_row


def test_corpus_protected_workbook_is_refused_with_its_name(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "pass_protected.xlsx", tmp_path)
    with pytest.raises(WorkbookError) as e:
        patch_workbook(path, [CellWrite("Sheet1", "A1", 1)])
    assert "pass_protected.xlsx" in e.value.message and "password" in e.value.message
    assert "\n" not in e.value.message
    assert path.read_bytes() == (corpus / "pass_protected.xlsx").read_bytes()


def test_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("just text\n")
    with pytest.raises(WorkbookError, match=r"notes\.xlsx.*not an Excel workbook"):
        patch_workbook(path, [CellWrite("Sheet1", "A1", 1)])
    with pytest.raises(WorkbookError, match="no such file"):
        patch_workbook(tmp_path / "missing.xlsx", [CellWrite("Sheet1", "A1", 1)])


def test_unknown_sheet_is_named(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    with pytest.raises(WorkbookError, match=r"no sheet 'Nope' \(sheets: 'Sheet1'\)"):
        patch_workbook(path, [CellWrite("Nope", "A1", 1)])


# ----------------------------------------------------------------------------- values


def test_text_goes_inline_and_shared_strings_stay_identical(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    texts = {"B2": "  spaced\nlines ", "B3": "tab\there & <there>", "B4": "ünïcødé ✓", "A2": ""}
    patch_workbook(path, [CellWrite("Sheet1", r, v) for r, v in texts.items()], backups=0)
    assert changed_members(corpus / "inventory-table.xlsx", path) == {"xl/worksheets/sheet1.xml"}
    assert b't="inlineStr"' in cell_xml(path, "xl/worksheets/sheet1.xml", "B2")
    assert b'xml:space="preserve"' in cell_xml(path, "xl/worksheets/sheet1.xml", "B2")
    ws = openpyxl.load_workbook(path)["Sheet1"]
    for ref, v in texts.items():
        assert (ws[ref].value or "") == v
        assert (calamine_value(path, "Sheet1", ref) or "") == v


def test_control_characters_are_escaped_the_excel_way(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    text = "a\x01b_x000D_c\r\nd"
    patch_workbook(path, [CellWrite("Sheet1", "B2", text)], backups=0)
    xml = cell_xml(path, "xl/worksheets/sheet1.xml", "B2")
    assert b"_x0001_" in xml and b"_x005F_x000D_" in xml and b"_x000D_\n" in xml
    assert calamine_value(path, "Sheet1", "B2") == text


def test_numbers_booleans_and_none(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "temperature-table.xlsx", tmp_path)
    part = "xl/worksheets/sheet1.xml"
    before_style = style_of(cell_xml(path, part, "B2"))
    patch_workbook(
        path,
        [
            CellWrite("Sheet1", "B2", 0.1 + 0.2),
            CellWrite("Sheet1", "B3", 10**15),
            CellWrite("Sheet1", "A2", True),
            CellWrite("Sheet1", "A3", None),
        ],
        backups=0,
    )
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert ws["B2"].value == 0.1 + 0.2 and ws["B3"].value == 10**15
    assert ws["A2"].value is True and ws["A3"].value is None
    assert style_of(cell_xml(path, part, "B2")) == before_style
    assert cell_xml(path, part, "A3") == b'<c r="A3" s="1"/>'  # value gone, style kept
    assert calamine_value(path, "Sheet1", "A2") is True


@pytest.mark.parametrize(
    ("name", "serial"),
    [("date.xlsx", b"45366.520833333336"), ("date_1904.xlsx", b"43904.520833333336")],
)
def test_dates_use_the_workbook_epoch(
    corpus: Path, tmp_path: Path, name: str, serial: bytes
) -> None:
    path = copy(corpus, name, tmp_path)
    when = datetime(2024, 3, 15, 12, 30)
    ws0 = openpyxl.load_workbook(path)["Sheet1"]
    ref = next(
        c.coordinate for row in ws0.iter_rows() for c in row if isinstance(c.value, datetime)
    )
    patch_workbook(
        path,
        [CellWrite("Sheet1", ref, when), CellWrite("Sheet1", "D30", date(2024, 3, 15))],
        backups=0,
    )
    assert serial in cell_xml(path, "xl/worksheets/sheet1.xml", ref)
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert ws[ref].value == when
    assert ws["D30"].value == datetime(2024, 3, 15)  # a new cell gets the workbook's date style
    assert calamine_value(path, "Sheet1", ref) == when


def test_new_cells_and_rows_go_in_order(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    writes = {"E3": "right", "D2": 4, "B9": "after", "A7": "between", "Z1": 1}
    patch_workbook(path, [CellWrite("Sheet1", r, v) for r, v in writes.items()], backups=0)
    xml = member(path, "xl/worksheets/sheet1.xml")
    rows = [int(r) for r in re.findall(rb'<row r="(\d+)"', xml)]
    assert rows == sorted(rows) == [1, 2, 3, 4, 5, 7, 9]
    for row in re.findall(rb"<row [^>]*>(.*?)</row>", xml):
        cols = [
            openpyxl.utils.column_index_from_string(c.decode())
            for c in re.findall(rb'<c r="([A-Z]+)', row)
        ]
        assert cols == sorted(cols)
    assert re.search(rb'<dimension ref="A1:Z9"/>', xml)
    assert re.search(rb'<row r="3" spans="1:5"', xml)
    ws = openpyxl.load_workbook(path)["Sheet1"]
    for ref, v in writes.items():
        assert ws[ref].value == v
        assert calamine_value(path, "Sheet1", ref) == v


def test_rows_and_cells_without_r_attributes(corpus: Path, tmp_path: Path) -> None:
    src = copy(corpus, "inventory-table.xlsx", tmp_path)
    path = tmp_path / "no-r.xlsx"
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as b:
        for info in a.infolist():
            data = a.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'(<(?:row|c)) r="[A-Z]*\d+"', rb"\1", data)
            b.writestr(info, data)
    patch_workbook(
        path,
        [CellWrite("Sheet1", "B3", "x"), CellWrite("Sheet1", "B7", "y")],
        [RowAppend("Sheet1", {"A": 9})],
        backups=0,
    )
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=8)] == [
        [1, "Apple", 50],
        [2, "x", 200],
        [3, "Orange", 60],
        [4, "Pear", 100],
        [None, None, None],
        [None, "y", None],
        [9, None, None],  # appended after the last row written
    ]


# ----------------------------------------------------------------------------- formulas


def test_formula_cells_are_never_overwritten(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "shared_formula_simple.xlsx", tmp_path)
    assert formula_cells(path, "Sheet1") == {"B1", "B2", "B3"}
    result = patch_workbook(
        path, [CellWrite("Sheet1", "B2", 99), CellWrite("Sheet1", "A2", 20)], backups=0
    )
    assert result.skipped_formulas == [CellWrite("Sheet1", "B2", 99)]
    assert result.written == [CellWrite("Sheet1", "A2", 20)]
    part, orig = "xl/worksheets/sheet1.xml", corpus / "shared_formula_simple.xlsx"
    # B2 (=A2*2) keeps its formula and loses its now stale result; B1 and B3 keep theirs
    assert cell_xml(path, part, "B2") == uncached(cell_xml(orig, part, "B2"), ["B2"])
    assert b"<v>" in cell_xml(orig, part, "B2") and b"<v>" not in cell_xml(path, part, "B2")
    assert result.uncached == {("Sheet1", "B2")}
    for ref in ("B1", "B3"):
        assert cell_xml(path, part, ref) == cell_xml(orig, part, ref)
    # Excel is told to recalculate on open
    assert re.search(rb'<calcPr [^>]*fullCalcOnLoad="1"', member(path, "xl/workbook.xml"))
    assert openpyxl.load_workbook(path)["Sheet1"]["B2"].value == "=A2*2"


def test_only_formula_writes_leave_the_file_alone(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "shared_formula_simple.xlsx", tmp_path)
    before = path.stat()
    result = patch_workbook(path, [CellWrite("Sheet1", "B1", 5)])
    assert not result.changed and result.backup is None and result.skipped_formulas
    assert path.read_bytes() == (corpus / "shared_formula_simple.xlsx").read_bytes()
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert not (tmp_path / ".sheetsync").exists()


def test_workbook_without_formulas_keeps_workbook_xml(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "table-multiple.xlsx", tmp_path)
    patch_workbook(path, [CellWrite("Sheet1", "C2", 3)], backups=0)
    assert changed_members(corpus / "table-multiple.xlsx", path) == {"xl/worksheets/sheet1.xml"}


def test_shared_formulas_are_carried_down_when_appending(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "shared_formula_simple.xlsx", tmp_path)
    result = patch_workbook(
        path,
        [],
        [RowAppend("Sheet1", {"A": 4, "B": 123}), RowAppend("Sheet1", {"A": 5})],
        backups=0,
    )
    assert result.appended_rows == [4, 5]
    assert result.skipped_formulas == [CellWrite("Sheet1", "B4", 123)]  # B holds a formula
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert [ws["B4"].value, ws["B5"].value] == ["=A4*2", "=A5*2"]


def test_formulas_with_many_reference_forms_are_carried_down(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    ws.append(["Rep", "Q", "Won", "Rate", "Total", "Label"])
    ws.append(["a", 10, 5, "=C2/B2", "=SUM($B$2:B2)", "=IF(C2>0,\"A1 ok\",Plan!A2&'Plan'!$A2)"])
    wb.save(path)
    patch_workbook(path, [], [RowAppend("Plan", {"A": "b", "B": 20, "C": 7})], backups=0)
    ws = openpyxl.load_workbook(path)["Plan"]
    assert [c.value for c in ws[3]] == [
        "b",
        20,
        7,
        "=C3/B3",
        "=SUM($B$2:B3)",
        "=IF(C3>0,\"A1 ok\",Plan!A3&'Plan'!$A3)",
    ]


@pytest.mark.parametrize(
    ("formula", "drow", "dcol", "expected"),
    [
        ("A1*2", 1, 0, "A2*2"),
        ("$A$1+A$1+$A1", 3, 0, "$A$1+A$1+$A4"),
        ("SUM(B2:B9)/COUNT(Sheet1!C2:C9)", 1, 0, "SUM(B3:B10)/COUNT(Sheet1!C3:C10)"),
        ("'My Sheet'!B2&\"B2\"", 2, 0, "'My Sheet'!B4&\"B2\""),
        ("Table1[[#This Row],[Q1]]*LOG10(A1)", 5, 0, "Table1[[#This Row],[Q1]]*LOG10(A6)"),
        ("SUM(5:5)+SUM($5:$6)", 1, 0, "SUM(6:6)+SUM($5:$6)"),
        ("A1+B1", 0, 2, "C1+D1"),
        ("A1048576", 1, 0, None),
    ],
)
def test_shift_formula(formula: str, drow: int, dcol: int, expected: str | None) -> None:
    assert shift_formula(formula, drow, dcol) == expected


# ----------------------------------------------------------------------------- appending and tables


@pytest.mark.parametrize(
    ("name", "sheet", "values", "table", "before", "after"),
    [
        (
            "inventory-table.xlsx",
            "Sheet1",
            {"A": 5, "B": "Plum", "C": 7},
            "xl/tables/table1.xml",
            "A1:C5",
            "A1:C6",
        ),
        (
            "table-multiple.xlsx",
            "Sheet3",
            {"A": "Kiwi", "B": 3},
            "xl/tables/table4.xml",
            "A7:B11",
            "A7:B12",
        ),
        (
            "temperature-table.xlsx",
            "Sheet1",
            {"A": "hot", "B": 40},
            "xl/tables/table1.xml",
            "A1:B3",
            "A1:B4",
        ),
    ],
)
def test_append_extends_the_excel_table(
    corpus: Path,
    tmp_path: Path,
    name: str,
    sheet: str,
    values: dict,
    table: str,
    before: str,
    after: str,
) -> None:
    path = copy(corpus, name, tmp_path)
    assert f'ref="{before}"'.encode() in member(path, table)
    result = patch_workbook(path, [], [RowAppend(sheet, values)], backups=0)
    xml = member(path, table)
    assert f'<autoFilter ref="{after}"'.encode() in xml and re.search(
        rb'<table [^>]*ref="' + after.encode(), xml
    )
    part = sheet_part(path, sheet)
    assert changed_members(corpus / name, path) == {part, table}
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    [row] = result.appended_rows
    assert [ws[f"{c}{row}"].value for c in values] == list(values.values())
    assert any(t.ref == after for t in ws.tables.values())
    # formatting of the row above: row attributes and cell styles
    row_tag = re.search(rb'<row r="' + str(row).encode() + rb'"[^>]*>', member(path, part)).group()
    above_tag = re.search(
        rb'<row r="' + str(row - 1).encode() + rb'"[^>]*>', member(path, part)
    ).group()
    assert row_tag.replace(f'r="{row}"'.encode(), b"") == above_tag.replace(
        f'r="{row - 1}"'.encode(), b""
    )
    for c in values:
        assert style_of(cell_xml(path, part, f"{c}{row}")) == style_of(
            cell_xml(path, part, f"{c}{row - 1}")
        )
    # the other table on the sheet is untouched
    if name == "table-multiple.xlsx":
        assert member(path, "xl/tables/table3.xml") == member(corpus / name, "xl/tables/table3.xml")


def test_append_merges_into_a_row_holding_other_data(corpus: Path, tmp_path: Path) -> None:
    # Two tables side by side: D8:E38 and I8:J40; a row appended to the first lands on row 39,
    # which already holds cells of the second.
    name = "table_with_insertrow_attribute.xlsx"
    path = copy(corpus, name, tmp_path)
    ws0 = openpyxl.load_workbook(path)["Sheet1"]
    right_side = [ws0["I39"].value, ws0["J39"].value]
    result = patch_workbook(path, [], [RowAppend("Sheet1", {"D": 31})], backups=0)
    assert result.appended_rows == [39]
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert [ws["I39"].value, ws["J39"].value] == right_side
    assert ws["D39"].value == 31 and ws["E39"].value == "=RAND()*100"
    assert b'ref="D8:E39"' in member(path, "xl/tables/table1.xml")
    assert changed_members(corpus / name, path) == {
        "xl/worksheets/sheet1.xml",
        "xl/tables/table1.xml",
        "xl/workbook.xml",
    }


def test_append_into_an_empty_sheet(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "vba.xlsm", tmp_path)
    result = patch_workbook(path, [], [RowAppend("Sheet1", {"A": "first", "C": 3})], backups=0)
    assert result.appended_rows == [1]
    xml = member(path, "xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:C1"/>' in xml and b"<sheetData><row " in xml
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert [ws["A1"].value, ws["C1"].value] == ["first", 3]


# ----------------------------------------------------------------------------- deleting


def test_delete_rows_clears_values_and_keeps_styles_and_formulas(
    corpus: Path, tmp_path: Path
) -> None:
    path = copy(corpus, "shared_formula_simple.xlsx", tmp_path)
    result = patch_workbook(path, [], delete_rows={"Sheet1": [2, 50]}, backups=0)
    assert result.deleted_rows == [2]
    assert result.skipped_formulas == [CellWrite("Sheet1", "B2", None)]
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert ws["A2"].value is None and ws["B2"].value == "=A2*2" and ws["A3"].value == 3
    assert re.search(rb'<row r="2"', member(path, "xl/worksheets/sheet1.xml"))

    path = copy(corpus, "temperature-table.xlsx", tmp_path)
    patch_workbook(path, [], delete_rows={"Sheet1": [2]}, backups=0)
    assert cell_xml(path, "xl/worksheets/sheet1.xml", "A2") == b'<c r="A2" s="1"/>'
    assert cell_xml(path, "xl/worksheets/sheet1.xml", "B2") == b'<c r="B2" s="2"/>'


# ----------------------------------------------------------------------------- packages that openpyxl damages


# Whether openpyxl (3.1) can load the workbook at all: pivots.xlsx makes it raise a TypeError
# in its pivot-cache reader.
OPENPYXL_LOADS = {"vba.xlsm": True, "pivots.xlsx": False, "picture.xlsx": True}


@pytest.mark.parametrize("name", list(OPENPYXL_LOADS))
def test_keeps_every_part_that_openpyxl_loses(corpus: Path, tmp_path: Path, name: str) -> None:
    path = copy(corpus, name, tmp_path)
    sheet, ref, old = pick_cell(path) or ("Sheet1", "B2", "new")
    patch_workbook(path, [CellWrite(sheet, ref, new_value(old))], backups=0)
    changed = changed_members(corpus / name, path)
    assert changed <= {sheet_part(path, sheet), "xl/workbook.xml"}
    with zipfile.ZipFile(corpus / name) as a, zipfile.ZipFile(path) as b:
        orig, ours = set(a.namelist()), set(b.namelist())
    assert ours == orig
    assert same_value(calamine_value(path, sheet, ref), new_value(old))

    via_openpyxl = tmp_path / ("openpyxl-" + name)
    if not OPENPYXL_LOADS[name]:  # openpyxl cannot even load some workbooks Excel wrote
        with pytest.raises(TypeError):
            openpyxl.load_workbook(corpus / name)
        print(f"{name}: {len(orig)} parts; openpyxl cannot load it; sheetsync keeps all")
        return
    wb = openpyxl.load_workbook(corpus / name)
    wb[sheet][ref] = new_value(old)
    wb.save(via_openpyxl)
    with zipfile.ZipFile(via_openpyxl) as c:
        lost = sorted(orig - set(c.namelist()))
    print(
        f"{name}: {len(orig)} parts; openpyxl load+save loses {len(lost)}: {lost}; sheetsync keeps all"
    )
    assert lost  # informational: the reason this writer exists
    if name == "vba.xlsm":
        assert member(path, "xl/vbaProject.bin") == member(corpus / name, "xl/vbaProject.bin")


# ----------------------------------------------------------------------------- safety


def test_excel_lock_file_refuses_unless_forced(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    (tmp_path / "~$inventory-table.xlsx").write_bytes(b"\0" * 165)
    with pytest.raises(RefusedError) as e:
        patch_workbook(path, [CellWrite("Sheet1", "C2", 1)])
    assert "close it in Excel and run again, or use --force" in str(e.value)
    assert e.value.exit_code == 5
    assert path.read_bytes() == (corpus / "inventory-table.xlsx").read_bytes()
    assert patch_workbook(path, [CellWrite("Sheet1", "C2", 1)], force=True).changed


def test_libreoffice_lock_file_refuses(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    (tmp_path / ".~lock.inventory-table.xlsx#").write_text("user,host")
    with pytest.raises(RefusedError, match="LibreOffice"):
        patch_workbook(path, [CellWrite("Sheet1", "C2", 1)])


def test_changed_on_disk_refuses_unless_forced(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    seen = file_sha256(path)
    assert seen == hashlib.sha256(path.read_bytes()).hexdigest()
    patch_workbook(path, [CellWrite("Sheet1", "C2", 1)], expected_sha256=seen)  # matches: fine
    with pytest.raises(RefusedError) as e:
        patch_workbook(path, [CellWrite("Sheet1", "C3", 2)], expected_sha256=seen)  # stale
    assert "changed since sheetsync last read it" in str(e.value) and "sheetsync sync" in str(
        e.value
    )
    assert "--force" in str(e.value)
    assert patch_workbook(
        path, [CellWrite("Sheet1", "C3", 2)], expected_sha256=seen, force=True
    ).changed


def test_backups_rotate(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    versions = [path.read_bytes()]
    backups = []
    for i in range(4):
        r = patch_workbook(path, [CellWrite("Sheet1", "C2", i)], backups=2)
        versions.append(path.read_bytes())
        backups.append(r.backup)
    folder = tmp_path / ".sheetsync" / "backups"
    kept = sorted(folder.iterdir())
    assert kept == sorted(backups[-2:])
    assert [p.read_bytes() for p in sorted(kept)] == versions[2:4]
    assert all(p.name.startswith("inventory-table.") and p.suffix == ".xlsx" for p in kept)
    # a custom folder, and no backup at all
    other = tmp_path / "elsewhere"
    r = patch_workbook(path, [CellWrite("Sheet1", "C2", 10)], backup_dir=other, backups=1)
    assert r.backup and r.backup.parent == other and r.backup.read_bytes() == versions[-1]
    assert patch_workbook(path, [CellWrite("Sheet1", "C2", 11)], backups=0).backup is None
    # a backup of another workbook in the same folder is never rotated away
    path2 = copy(corpus, "temperature-table.xlsx", tmp_path)
    patch_workbook(path2, [CellWrite("Sheet1", "B2", 1)], backups=1)
    patch_workbook(path, [CellWrite("Sheet1", "C2", 12)], backups=1)
    names = sorted(p.name.split(".")[0] for p in folder.iterdir())
    assert names == ["inventory-table", "temperature-table"]


def test_stale_temp_files_of_dead_processes_are_removed(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    stale = tmp_path / ".inventory-table.xlsx.sheetsync-999999999.tmp"
    stale.write_bytes(b"half a zip")
    patch_workbook(path, [CellWrite("Sheet1", "C2", 1)], backups=0)
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory-table.xlsx"]


def test_file_mode_is_kept(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "inventory-table.xlsx", tmp_path)
    path.chmod(0o640)
    patch_workbook(path, [CellWrite("Sheet1", "C2", 1)], backups=0)
    assert path.stat().st_mode & 0o777 == 0o640


def test_zip64_packages_fall_back_to_a_member_by_member_copy(corpus: Path, tmp_path: Path) -> None:
    src = corpus / "inventory-table.xlsx"
    path = tmp_path / "zip64.xlsx"
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as b:
        for info in a.infolist():
            with b.open(info.filename, "w", force_zip64=True) as out:
                out.write(a.read(info))
    patch_workbook(path, [CellWrite("Sheet1", "C2", 42)], backups=0)
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(path) as b:
        assert a.namelist() == b.namelist()
        assert [n for n in a.namelist() if a.read(n) != b.read(n)] == ["xl/worksheets/sheet1.xml"]
    assert openpyxl.load_workbook(path)["Sheet1"]["C2"].value == 42


def test_array_formula_cells_are_skipped_and_not_carried_down(tmp_path: Path) -> None:
    from openpyxl.worksheet.formula import ArrayFormula

    path = tmp_path / "array.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["n", "double"])
    for i in range(2, 5):
        ws.append([i])
    ws["B2"] = ArrayFormula("B2:B4", "=A2:A4*2")
    wb.save(path)
    assert {"B2", "B3", "B4"} <= formula_cells(path, "Sheet")
    result = patch_workbook(
        path,
        [CellWrite("Sheet", "B3", 1), CellWrite("Sheet", "A3", 30)],
        [RowAppend("Sheet", {"A": 5})],
        backups=0,
    )
    assert result.skipped_formulas == [CellWrite("Sheet", "B3", 1)]
    assert result.written == [CellWrite("Sheet", "A3", 30)]
    assert result.appended_rows == [5]
    assert openpyxl.load_workbook(path)["Sheet"]["A5"].value == 5


def test_several_sheets_in_one_patch(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "table-multiple.xlsx", tmp_path)
    patch_workbook(path, [CellWrite("Sheet1", "C2", 11), CellWrite("Sheet3", "B2", 12)], backups=0)
    assert changed_members(corpus / "table-multiple.xlsx", path) == {
        sheet_part(path, "Sheet1"),
        sheet_part(path, "Sheet3"),
    }
    wb = openpyxl.load_workbook(path)
    assert (wb["Sheet1"]["C2"].value, wb["Sheet3"]["B2"].value) == (11, 12)


def rewrite_member(src: Path, dst: Path, name: str, edit) -> None:
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        for info in a.infolist():
            data = a.read(info)
            b.writestr(info, edit(data) if info.filename == name else data)


def test_table_with_a_totals_row_refuses_appends(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "totals.xlsx"
    rewrite_member(
        corpus / "inventory-table.xlsx",
        path,
        "xl/tables/table1.xml",
        lambda d: d.replace(b'totalsRowShown="0"', b'totalsRowCount="1"'),
    )
    before = path.read_bytes()
    with pytest.raises(WorkbookError, match="totals row"):
        patch_workbook(path, [], [RowAppend("Sheet1", {"A": 5})])
    assert path.read_bytes() == before


def test_damaged_sheet_xml_is_refused_with_the_file_name(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "damaged.xlsx"
    rewrite_member(
        corpus / "inventory-table.xlsx",
        path,
        "xl/worksheets/sheet1.xml",
        lambda d: d.replace(b"</row></sheetData>", b"</sheetData>"),
    )
    with pytest.raises(WorkbookError, match=r"damaged\.xlsx: .*row 5 is not closed"):
        patch_workbook(path, [CellWrite("Sheet1", "C5", 1)])


def test_a_symlinked_workbook_stays_a_symlink(corpus: Path, tmp_path: Path) -> None:
    real = copy(corpus, "inventory-table.xlsx", tmp_path)
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "plan.xlsx"
    link.symlink_to(real)
    r = patch_workbook(link, [CellWrite("Sheet1", "C2", 5)])
    assert link.is_symlink() and openpyxl.load_workbook(link)["Sheet1"]["C2"].value == 5
    assert r.backup and r.backup.parent == tmp_path / ".sheetsync" / "backups"


def test_many_appends_in_one_patch(corpus: Path, tmp_path: Path) -> None:
    path = copy(corpus, "shared_formula_simple.xlsx", tmp_path)
    result = patch_workbook(
        path, [], [RowAppend("Sheet1", {"A": i}) for i in range(4, 504)], backups=0
    )
    assert result.appended_rows == list(range(4, 504))
    xml = member(path, "xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:B503"/>' in xml
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert [(ws[f"A{i}"].value, ws[f"B{i}"].value) for i in (4, 250, 503)] == [
        (4, "=A4*2"),
        (250, "=A250*2"),
        (503, "=A503*2"),
    ]

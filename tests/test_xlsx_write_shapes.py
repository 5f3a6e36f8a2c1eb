"""The patch writer on rare, hand-built package and worksheet shapes (no mocks).

Each workbook here is a minimal .xlsx written with ``zipfile`` from literal XML
parts, so that one unusual shape (a self-closing row, a bad dimension, a table
without a ref, a zip with bytes before it, ...) is present on purpose. Writes go
through ``patch_workbook``; results are read back with openpyxl, and parts the
patch must not touch are compared byte for byte.
"""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from sheetsync.errors import WorkbookError
from sheetsync.sources.changes import CellWrite, RowAppend
from sheetsync.sources.xlsx import patch_workbook, uncalculated_cells

pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
R_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
SHEET_PART = "xl/worksheets/sheet1.xml"


def sheet_xml(body: str, before: str = '<dimension ref="A1:B2"/>') -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}>{before}{body}</worksheet>'


def build(
    path: Path,
    sheet: str,
    *,
    calc: str = "",
    tables: dict[str, str] | None = None,
    chart_sheet: bool = False,
) -> Path:
    """A one-sheet workbook ('S') with ``sheet`` as its worksheet XML."""
    tables = tables or {}
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/{SHEET_PART}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    )
    root_rels = (
        f"<Relationships {PKG_REL}>"
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    chart = '<sheet name="C" sheetId="2" r:id="rId2"/>' if chart_sheet else ""
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook {NS} {R_NS}>'
        f'<sheets><sheet name="S" sheetId="1" r:id="rId1"/>{chart}</sheets>{calc}</workbook>'
    )
    wb_rels = (
        f"<Relationships {PKG_REL}>"
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/chartsheet" Target="chartsheets/sheet1.xml"/>'
        "</Relationships>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", root_rels)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        z.writestr(SHEET_PART, sheet)
        if tables:
            rels = "".join(
                f'<Relationship Id="rT{i}" Type="{REL}/table" Target="../tables/{name}"/>'
                for i, name in enumerate(tables)
            )
            z.writestr(
                "xl/worksheets/_rels/sheet1.xml.rels",
                f"<Relationships {PKG_REL}>{rels}</Relationships>",
            )
            for name, xml in tables.items():
                z.writestr(f"xl/tables/{name}", xml)
    return path


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def values(path: Path) -> dict[str, object]:
    ws = openpyxl.load_workbook(path)["S"]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


ROWS = '<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c></row></sheetData>'


def test_decimal_values_are_written_as_numbers(tmp_path: Path) -> None:
    p = build(tmp_path / "d.xlsx", sheet_xml(ROWS))
    patch_workbook(p, [CellWrite("S", "A1", Decimal("2.5"))])
    assert values(p) == {"A1": 2.5, "B1": 2}


def test_a_value_of_no_cell_type_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    p = build(tmp_path / "t.xlsx", sheet_xml(ROWS))
    before = p.read_bytes()
    with pytest.raises(TypeError, match="cannot write a object into a cell"):
        patch_workbook(p, [CellWrite("S", "A1", object())])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot write nan"):
        patch_workbook(p, [CellWrite("S", "A1", float("nan"))])
    assert p.read_bytes() == before


@pytest.mark.parametrize(
    ("ref", "message"),
    [("A-1", "not a cell reference"), ("A0", "out of the sheet"), ("XFE1", "out of the sheet")],
)
def test_bad_refs_fail_before_touching_the_file(tmp_path: Path, ref: str, message: str) -> None:
    p = build(tmp_path / "r.xlsx", sheet_xml(ROWS))
    before = p.read_bytes()
    with pytest.raises(ValueError, match=message):
        patch_workbook(p, [CellWrite("S", ref, 1)])
    assert p.read_bytes() == before


def test_a_self_closing_row_gets_its_cells_and_wider_spans(tmp_path: Path) -> None:
    body = '<sheetData><row r="1" spans="1:2"><c r="A1"><v>1</v></c></row><row r="2" spans="1:1" ht="20" customHeight="1"/></sheetData>'
    p = build(tmp_path / "sc.xlsx", sheet_xml(body))
    patch_workbook(p, [CellWrite("S", "C2", 7)])
    assert values(p) == {"A1": 1, "C2": 7}
    xml = member(p, SHEET_PART)
    assert b'<row r="2" spans="1:3" ht="20" customHeight="1"><c r="C2"><v>7</v></c></row>' in xml
    assert b'<dimension ref="A1:C2"/>' in xml


def test_a_new_cell_in_a_row_without_spans(tmp_path: Path) -> None:
    p = build(tmp_path / "ns.xlsx", sheet_xml(ROWS))
    patch_workbook(p, [CellWrite("S", "D1", "x")])
    assert values(p) == {"A1": 1, "B1": 2, "D1": "x"}
    assert b'<row r="1"><c r="A1">' in member(p, SHEET_PART)


@pytest.mark.parametrize(
    "before", ['<dimension ref="nonsense"/>', ""], ids=["bad-dimension", "no-dimension"]
)
def test_an_unreadable_or_missing_dimension_is_left_as_it_is(tmp_path: Path, before: str) -> None:
    p = build(tmp_path / "dim.xlsx", sheet_xml(ROWS, before=before))
    patch_workbook(p, [CellWrite("S", "E9", 5)])
    assert values(p) == {"A1": 1, "B1": 2, "E9": 5}
    xml = member(p, SHEET_PART)
    assert xml.startswith(sheet_xml("", before=before).removesuffix("</worksheet>").encode())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<sheetPr/>", "has no <sheetData>"),
        ('<sheetData><row r="1"><c r="A1"><v>1</v></c></row>', "<sheetData> is not closed"),
        ('<sheetData><row r="1"><c r="A1"><v>1</v></c></sheetData>', "row 1 is not closed"),
        (
            '<sheetData><row r="1"><c r="A1"><v>1</v></row></sheetData>',
            "a cell of row 1 is not closed",
        ),
    ],
)
def test_broken_worksheets_are_refused_with_the_part_named(
    tmp_path: Path, body: str, message: str
) -> None:
    p = build(tmp_path / "b.xlsx", sheet_xml(body))
    before = p.read_bytes()
    with pytest.raises(WorkbookError, match=message):
        patch_workbook(p, [CellWrite("S", "B1", 3)], [RowAppend("S", {"A": 1})])
    assert p.read_bytes() == before


def test_written_and_appended_into_the_same_row_is_refused(tmp_path: Path) -> None:
    p = build(tmp_path / "wa.xlsx", sheet_xml(ROWS))
    with pytest.raises(ValueError, match="row 2: written and appended in the same patch"):
        patch_workbook(p, [CellWrite("S", "A2", None)], [RowAppend("S", {"A": 3})])


@pytest.mark.parametrize("col", ["A1", "XFE"])
def test_append_with_a_bad_column_letter_is_refused(tmp_path: Path, col: str) -> None:
    p = build(tmp_path / "bc.xlsx", sheet_xml(ROWS))
    before = p.read_bytes()
    with pytest.raises(ValueError, match="not a column letter"):
        patch_workbook(p, [], [RowAppend("S", {col: 1})])
    assert p.read_bytes() == before


@pytest.mark.parametrize(
    "table",
    [
        '<table xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" id="1" name="T" displayName="T"/>',
        "<other/>",
    ],
    ids=["no-ref", "no-table-element"],
)
def test_a_table_part_that_cannot_be_read_is_left_alone(tmp_path: Path, table: str) -> None:
    p = build(tmp_path / "tb.xlsx", sheet_xml(ROWS), tables={"table1.xml": table})
    patch_workbook(p, [], [RowAppend("S", {"A": 9})])
    assert values(p) == {"A1": 1, "B1": 2, "A2": 9}
    assert member(p, "xl/tables/table1.xml") == table.encode()


def test_a_data_table_formula_is_not_carried_down_and_says_so(tmp_path: Path) -> None:
    body = (
        '<sheetData><row r="1"><c r="A1"><v>1</v></c>'
        '<c r="B1"><f t="dataTable" ref="B1:B1" dt2D="0" dtr="0" r1="A1"/><v>4</v></c></row></sheetData>'
    )
    p = build(tmp_path / "dt.xlsx", sheet_xml(body))
    result = patch_workbook(p, [], [RowAppend("S", {"A": 2})])
    assert any("B2" in w and "dataTable" in w for w in result.warnings), result.warnings
    assert values(p)["A2"] == 2
    assert "B2" not in values(p)


def test_formulas_in_rows_without_r_and_escaped_characters(tmp_path: Path) -> None:
    # cells without r= make the stale-result scan read row by row; &#x41; / &#66; are A / B
    body = (
        '<sheetData><row r="1"><c><v>1</v></c><c><v>2</v></c>'
        "<c><f>&#x41;1+&#66;1</f><v>3</v></c></row></sheetData>"
    )
    p = build(tmp_path / "nr.xlsx", sheet_xml(body, before=""))
    result = patch_workbook(p, [CellWrite("S", "A1", 10)])
    assert ("S", "C1") in result.uncached
    ws = openpyxl.load_workbook(p)["S"]
    assert (ws["A1"].value, ws["B1"].value, ws["C1"].value) == (10, 2, "=A1+B1")
    assert b"<v>3</v>" not in member(p, SHEET_PART)


@pytest.mark.parametrize(
    ("calc", "expected"),
    [
        ('<calcPr calcId="1" fullCalcOnLoad="0"/>', b'<calcPr calcId="1" fullCalcOnLoad="1"/>'),
        ("", b'<calcPr fullCalcOnLoad="1"/></workbook>'),
        ("<extLst/>", b'<calcPr fullCalcOnLoad="1"/><extLst/>'),
    ],
    ids=["flag-off", "no-calcPr", "before-extLst"],
)
def test_full_calc_on_load_is_set_in_every_workbook_shape(
    tmp_path: Path, calc: str, expected: bytes
) -> None:
    body = '<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="B1"><f>A1*2</f><v>2</v></c></row></sheetData>'
    p = build(tmp_path / "fc.xlsx", sheet_xml(body), calc=calc)
    patch_workbook(p, [CellWrite("S", "A1", 5)])
    assert expected in member(p, "xl/workbook.xml")
    assert uncalculated_cells(p, ["S", "missing"]) == {"S": {"B1"}}


def test_uncalculated_cells_of_a_sheet_without_cells(tmp_path: Path) -> None:
    p = build(tmp_path / "e.xlsx", sheet_xml("<sheetPr/>"), calc='<calcPr fullCalcOnLoad="1"/>')
    assert uncalculated_cells(p, ["S"]) == {}


def test_a_chart_sheet_holds_no_cells(tmp_path: Path) -> None:
    p = build(tmp_path / "ch.xlsx", sheet_xml(ROWS), chart_sheet=True)
    with pytest.raises(WorkbookError, match="sheet 'C' is a chart sheet or missing"):
        patch_workbook(p, [CellWrite("C", "A1", 1)])


def test_a_zip_with_bytes_before_it_is_rewritten_member_by_member(tmp_path: Path) -> None:
    # a self-extractor style prefix: the raw copy's offsets no longer add up
    plain = build(tmp_path / "plain.xlsx", sheet_xml(ROWS))
    p = tmp_path / "prefixed.xlsx"
    p.write_bytes(b"\0" * 64 + plain.read_bytes())
    with zipfile.ZipFile(p) as z:
        before = {n: z.read(n) for n in z.namelist()}
    patch_workbook(p, [CellWrite("S", "B1", 8)])
    assert values(p) == {"A1": 1, "B1": 8}
    with zipfile.ZipFile(p) as z:
        assert z.namelist() == list(before)
        assert {n: z.read(n) for n in z.namelist() if n != SHEET_PART} == {
            n: d for n, d in before.items() if n != SHEET_PART
        }


def test_missing_file_folder_and_old_binary_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="no such file"):
        uncalculated_cells(tmp_path / "nope.xlsx", ["S"])
    with pytest.raises(WorkbookError, match="is a folder"):
        uncalculated_cells(tmp_path, ["S"])
    old = tmp_path / "old.xlsx"
    old.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512)
    with pytest.raises(WorkbookError, match="password-protected .* or an old .xls"):
        uncalculated_cells(old, ["S"])
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(WorkbookError, match="is not an Excel workbook"):
        uncalculated_cells(junk, ["S"])


def test_a_zip_without_a_workbook_part_is_named(tmp_path: Path) -> None:
    p = tmp_path / "nowb.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(WorkbookError, match=r"no xl/workbook.xml"):
        uncalculated_cells(p, ["S"])


def test_backups_to_another_file_system_are_copied(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another file system than the temp folder")
    p = build(tmp_path / "bk.xlsx", sheet_xml(ROWS))
    original = p.read_bytes()
    folder = shm / f"sheetsync-test-{tmp_path.name}"
    try:
        patch_workbook(p, [CellWrite("S", "A1", 4)], backups=2, backup_dir=folder)
        (backup,) = folder.iterdir()
        assert backup.read_bytes() == original
    finally:
        for f in folder.glob("*"):
            f.unlink()
        folder.rmdir()


def test_none_into_cells_and_rows_that_do_not_exist_writes_nothing(tmp_path: Path) -> None:
    p = build(tmp_path / "none.xlsx", sheet_xml(ROWS))
    before = p.read_bytes()
    result = patch_workbook(p, [CellWrite("S", "C1", None), CellWrite("S", "A5", None)])
    assert result.written == []
    assert p.read_bytes() == before


def test_dates_before_march_1900_skip_the_phantom_leap_day(tmp_path: Path) -> None:
    from datetime import date

    p = build(tmp_path / "dt.xlsx", sheet_xml(ROWS))
    patch_workbook(p, [CellWrite("S", "A1", date(1900, 1, 2))])
    assert b'<c r="A1"><v>2</v></c>' in member(p, SHEET_PART)


def test_append_below_the_last_row_of_the_sheet_is_refused(tmp_path: Path) -> None:
    body = '<sheetData><row r="1048576"><c r="A1048576"><v>1</v></c></row></sheetData>'
    p = build(tmp_path / "full.xlsx", sheet_xml(body))
    before = p.read_bytes()
    with pytest.raises(WorkbookError, match="no room for more rows"):
        patch_workbook(p, [], [RowAppend("S", {"A": 2})])
    assert p.read_bytes() == before


def test_a_shared_formula_without_its_master_is_not_carried_down(tmp_path: Path) -> None:
    body = (
        '<sheetData><row r="1"><c r="A1"><v>1</v></c>'
        '<c r="B1"><f t="shared" si="7"/><v>2</v></c></row></sheetData>'
    )
    p = build(tmp_path / "sh.xlsx", sheet_xml(body))
    result = patch_workbook(p, [CellWrite("S", "A1", 3)], [RowAppend("S", {"A": 4})])
    assert any("B2" in w and "(shared)" in w for w in result.warnings), result.warnings
    got = values(p)
    assert (got["A1"], got["A2"], "B2" in got) == (3, 4, False)
    assert b'<c r="B1"><f t="shared" si="7"/>' in member(p, SHEET_PART)


def test_a_temp_file_of_a_running_process_is_kept(tmp_path: Path) -> None:
    import os

    p = build(tmp_path / "live.xlsx", sheet_xml(ROWS))
    live = tmp_path / f".live.xlsx.sheetsync-{os.getppid()}.tmp"
    live.write_bytes(b"another writer's work")
    patch_workbook(p, [CellWrite("S", "A1", 6)])
    assert live.read_bytes() == b"another writer's work"
    assert values(p)["A1"] == 6


def test_a_name_too_long_to_open_is_named(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match=r"cannot be opened \(File name too long\)"):
        uncalculated_cells(tmp_path / ("x" * 300 + ".xlsx"), ["S"])


def test_shift_formula_leaves_names_past_the_last_column_alone() -> None:
    # XFZ1 / ZZZ9 look like refs but lie past column XFD: they are names, not moved
    from sheetsync.sources.xlsx import shift_formula

    assert shift_formula("XFZ1+A1", 1) == "XFZ1+A2"
    assert shift_formula("ZZZ9*2", 1, 1) == "ZZZ9*2"


def test_a_table_without_an_autofilter_is_extended(tmp_path: Path) -> None:
    body = (
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>K</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>V</t></is></c></row>'
        '<row r="2"><c r="A2"><v>1</v></c><c r="B2"><v>2</v></c></row></sheetData>'
    )
    table = (
        f'<table {NS} id="1" name="T" displayName="T" ref="A1:B2">'
        '<tableColumns count="2"><tableColumn id="1" name="K"/><tableColumn id="2" name="V"/>'
        "</tableColumns></table>"
    )
    p = build(tmp_path / "tf.xlsx", sheet_xml(body), tables={"table1.xml": table})
    patch_workbook(p, [], [RowAppend("S", {"A": 3, "B": 4})])
    assert member(p, "xl/tables/table1.xml") == table.replace("A1:B2", "A1:B3").encode()
    assert values(p) == {"A1": "K", "B1": "V", "A2": 1, "B2": 2, "A3": 3, "B3": 4}


def test_a_forced_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = build(tmp_path / "real.xlsx", sheet_xml(ROWS))
    link = tmp_path / "link.xlsx"
    link.symlink_to(target)
    (tmp_path / "~$real.xlsx").write_bytes(b"lock")  # ignored: forced
    patch_workbook(link, [CellWrite("S", "A1", 11)], force=True)
    assert link.is_symlink()
    assert values(target) == {"A1": 11, "B1": 2}

"""A big sheet parsed in two halves at once gives the very rows of one parse.

Every sheet of ``../shared/corpus/xlsx`` is cut (``min_bytes=0``: whatever its
size) and its rows compared, cell for cell, with calamine's whole-sheet load;
then made-up sheets whose shapes a cut must survive: halves of other widths
and first columns, a blank stretch at the cut, shared strings, a namespace
prefix, and the shapes that must fall back to one parse (rows without their
numbers, rows out of order across the cut, a cut inside a comment).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import python_calamine as pc
from conftest import CORPUS, require_shared

from sheetsync.sources.xlsx import halves
from sheetsync.sources.xlsx.reader import _whole, read_workbook


def _whole_rows(path: Path, sheet: str) -> list[list]:
    return [row for chunk in _whole(path, sheet) for row in chunk]


def _split(path: Path, sheet: str, **kw) -> tuple[list[list] | None, list[str]]:
    """The halves' rows (None: not cut), and whether the whole parse was asked for."""
    asked: list[str] = []

    def whole():
        asked.append(sheet)
        return _whole(path, sheet)

    member = halves.cuttable(path, [sheet], min_bytes=0, **kw).get(sheet)
    chunks = None if member is None else halves.split_rows(path, sheet, member, whole)
    return (None if chunks is None else [r for c in chunks for r in c]), asked


def _corpus_sheets() -> list[tuple[str, str]]:
    out = []
    for p in sorted(CORPUS.glob("*.xls[xm]")) if CORPUS.is_dir() else []:
        try:
            names = pc.CalamineWorkbook.from_path(str(p)).sheet_names
        except Exception:  # noqa: BLE001 - calamine cannot open it (a password)
            continue
        out += [(p.name, n) for n in names]
    return out


CORPUS_SHEETS = _corpus_sheets()


@pytest.mark.parametrize(("name", "sheet"), CORPUS_SHEETS)
def test_every_corpus_sheet_cut_in_two_reads_as_one_parse(name: str, sheet: str):
    path = require_shared(CORPUS) / name
    try:
        expected = _whole_rows(path, sheet)
    except Exception:  # noqa: BLE001 - not a worksheet calamine reads (a chart sheet)
        pytest.skip(f"{name} [{sheet}]: calamine reads no cells from it")
    rows, _ = _split(path, sheet)
    assert rows is None or rows == expected


def test_the_corpus_is_really_cut():
    """Not a vacuous check: most of the corpus' sheets are really cut."""
    require_shared(CORPUS)
    cut = 0
    for name, sheet in CORPUS_SHEETS:
        try:
            many = len(_whole_rows(CORPUS / name, sheet)) >= 2
        except Exception:  # noqa: BLE001
            continue
        cut += many and _split(CORPUS / name, sheet)[0] is not None
    assert cut >= 25, cut  # 31 of the 47 sheets when written


# ---------------------------------------------------------------- made-up shapes


def _book(tmp_path: Path, rows: dict[int, dict[int, object]], name: str = "big.xlsx") -> Path:
    """A workbook whose sheet "Data" holds ``rows`` {row: {column: value}}."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for r, cells in rows.items():
        for c, v in cells.items():
            ws.cell(r, c).value = v
    path = tmp_path / name
    wb.save(path)
    return path


def _rewrite(path: Path, change, extra: dict[str, bytes] | None = None) -> None:
    """Rewrite the sheet's XML of ``path`` with ``change(xml) -> xml`` (and
    ``extra`` parts, or other parts, replaced by name)."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members["xl/worksheets/sheet1.xml"] = change(members["xl/worksheets/sheet1.xml"])
    members.update(extra or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


SST = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def _to_shared_strings(path: Path) -> None:
    """Turn openpyxl's inline strings into a shared string table, as Excel writes them."""
    texts: dict[bytes, int] = {}

    def shared(xml: bytes) -> bytes:
        def one(m: re.Match) -> bytes:
            i = texts.setdefault(m[2], len(texts))
            return m[1] + b' t="s"><v>' + str(i).encode() + b"</v></c>"

        return re.sub(
            rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is><t>(.*?)</t></is></c>', one, xml
        )

    with zipfile.ZipFile(path) as z:
        rels = z.read("xl/_rels/workbook.xml.rels")
        types = z.read("[Content_Types].xml")
        xml = shared(z.read("xl/worksheets/sheet1.xml"))
    items = b"".join(b"<si><t>" + t + b"</t></si>" for t in texts)
    sst = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" '
        b'uniqueCount="%d">%s</sst>' % (len(texts), len(texts), items)
    )
    rel = b'<Relationship Type="%s" Target="sharedStrings.xml" Id="rId99" /></Relationships>' % SST
    kind = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    over = b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s" /></Types>' % kind
    _rewrite(
        path,
        lambda _: xml,
        {
            "xl/sharedStrings.xml": sst,
            "xl/_rels/workbook.xml.rels": rels.replace(b"</Relationships>", rel),
            "[Content_Types].xml": types.replace(b"</Types>", over),
        },
    )


def _table(n: int = 600, **shape) -> dict[int, dict[int, object]]:
    rows = {1: {1: "Rep", 2: "Month", 3: "Sales"}}
    for r in range(2, n + 2):
        rows[r] = {1: f"Rep {r % 37}", 2: date(2026, r % 12 + 1, 1), 3: r * 10.5}
    return rows


def test_halves_of_other_widths_and_first_columns(tmp_path):
    rows = _table()
    for r in range(320, 602):  # the second half starts further right, and ends further out
        rows[r] = {4: f"x{r}", 7: r}
    path = _book(tmp_path, rows)
    got, asked = _split(path, "Data")
    assert got is not None and not asked
    assert got == _whole_rows(path, "Data")
    assert len({len(r) for r in got}) == 1  # every row as wide as the sheet


def test_a_blank_stretch_at_the_cut(tmp_path):
    rows = {r: v for r, v in _table().items() if not 250 <= r <= 400}
    path = _book(tmp_path, rows)
    got, _ = _split(path, "Data")
    assert got is not None
    assert got == _whole_rows(path, "Data")
    assert got[300] == [""] * 3


def test_shared_strings_and_a_late_first_row(tmp_path):
    rows = {r + 5: {c + 2: v for c, v in cells.items()} for r, cells in _table().items()}
    path = _book(tmp_path, rows)
    _to_shared_strings(path)
    with zipfile.ZipFile(path) as z:
        assert b't="s"' in z.read("xl/worksheets/sheet1.xml")
    got, _ = _split(path, "Data")
    assert got is not None and got == _whole_rows(path, "Data")
    assert got[5][2] == "Rep" and got[0] == [""] * 5


def test_a_namespace_prefix(tmp_path):
    path = _book(tmp_path, _table())

    def prefixed(xml: bytes) -> bytes:
        xml = re.sub(rb"<(/?)(?!\?)([A-Za-z])", rb"<\1x:\2", xml)
        return xml.replace(
            b"<x:worksheet ",
            b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ',
            1,
        )

    _rewrite(path, prefixed)
    expected = _whole_rows(path, "Data")
    assert expected[1][0] == "Rep 2"
    got, _ = _split(path, "Data")
    assert got is not None and got == expected


def test_rows_without_their_numbers_are_never_cut(tmp_path):
    path = _book(tmp_path, _table())
    _rewrite(path, lambda xml: re.sub(rb'(<row) r="\d+"', rb"\1", xml))
    assert _whole_rows(path, "Data")[2][0] == "Rep 3"
    assert _split(path, "Data")[0] is None


def test_rows_out_of_order_across_the_cut_are_parsed_whole(tmp_path):
    path = _book(tmp_path, _table())

    def move_first_row_last(xml: bytes) -> bytes:
        row = re.search(rb'<row r="2".*?</row>', xml, re.S)[0]
        xml = xml.replace(row, b"", 1)
        return xml.replace(b"</sheetData>", row + b"</sheetData>", 1)

    _rewrite(path, move_first_row_last)
    got, asked = _split(path, "Data")
    assert asked == ["Data"]  # the second half held row 2: parsed again, whole
    assert got == _whole_rows(path, "Data") and got[1][0] == "Rep 2"


def test_a_sheet_with_a_comment_is_never_cut(tmp_path):
    path = _book(tmp_path, _table())

    def comment_the_middle(xml: bytes) -> bytes:
        start = xml.index(b'<row r="250"')
        end = xml.index(b'<row r="450"')
        return xml[:start] + b"<!--" + xml[start:end] + b"-->" + xml[end:]

    _rewrite(path, comment_the_middle)
    expected = _whole_rows(path, "Data")
    assert expected[300] == [""] * 3  # commented out
    assert _split(path, "Data") == (None, [])  # not cut: the caller parses it whole


def test_sizes_and_cores_decide_when_to_cut(tmp_path, monkeypatch):
    path = _book(tmp_path, _table())
    size = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    sheet = "xl/worksheets/sheet1.xml"
    assert halves.cuttable(path, ["Data"], min_bytes=size, max_bytes=size) == {"Data": sheet}
    assert halves.cuttable(path, ["Data"], min_bytes=size + 1) == {}
    assert halves.cuttable(path, ["Data"], min_bytes=0, max_bytes=size - 1) == {}
    assert halves.cuttable(path, ["Data", "No such"], min_bytes=0) == {"Data": sheet}
    monkeypatch.setattr(halves, "_cores", lambda: 1)
    assert halves.cuttable(path, ["Data"], min_bytes=0) == {}


def test_a_streamed_read_of_a_big_sheet_is_cut(tmp_path, monkeypatch):
    """read_workbook cuts a sheet in its size range and gives the same grid."""
    path = _book(tmp_path, _table(3000))
    size = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    cuts = []
    real = halves.split_rows

    def spy(*a, **kw):
        out = real(*a, **kw)
        cuts.append(out is not None)
        return out

    monkeypatch.setattr("sheetsync.sources.xlsx.reader.split_rows", spy)
    monkeypatch.setattr(halves, "SPLIT_MIN", size // 2)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    _, grids = read_workbook(path, ["Data"], stream=True)
    streamed = [r for c in grids["Data"].chunks(0) for r in c]
    assert cuts == [True]
    assert streamed == _whole_rows(path, "Data")
    assert list(temp.iterdir()) == []  # the halves' files are gone


def test_a_stored_sheet_is_cut_and_a_damaged_one_left_to_the_whole_parse(tmp_path):
    path = _book(tmp_path, _table())
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    stored = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    got, _ = _split(stored, "Data")
    assert got is not None and got == _whole_rows(path, "Data")
    # one byte of the sheet's value changed behind its CRC: never read as it is
    data = bytearray(stored.read_bytes())
    at = data.index(b"Rep 11")
    data[at : at + 6] = b"Rep 99"
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(bytes(data))
    assert _split(damaged, "Data")[0] is None


def test_halves_files_are_unnamed_on_linux_else_deleted_and_swept(tmp_path, monkeypatch):
    """However the process ends, no half is left in the temporary folder: on
    Linux the files never have a name; elsewhere each is deleted once calamine
    has it open, and one left by a process that ended before that is swept."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    path = _book(tmp_path, _table())
    if hasattr(halves.os, "O_TMPFILE"):
        f, name = halves._temp_file()
        assert name.startswith("/proc/self/fd/") and list(temp.iterdir()) == []
        f.close()
        monkeypatch.delattr(halves.os, "O_TMPFILE")
    stale, fresh = temp / "sheetsync-half-old.xlsx", temp / "sheetsync-half-new.xlsx"
    for p in (stale, fresh):
        p.write_bytes(b"left behind")
    old = time.time() - halves.STALE - 60
    os.utime(stale, (old, old))
    got, _ = _split(path, "Data")
    assert got == _whole_rows(path, "Data")
    assert sorted(p.name for p in temp.iterdir()) == [fresh.name]  # a live one's stays


KILLED = """
import sys, tempfile
from pathlib import Path
tempfile.tempdir = sys.argv[2]
from sheetsync.sources.xlsx import halves
from sheetsync.sources.xlsx.reader import _whole
p = Path(sys.argv[1])
print("go", flush=True)
member = halves.cuttable(p, ["Data"], min_bytes=0)["Data"]
for _ in range(50):
    list(halves.split_rows(p, "Data", member, lambda: _whole(p, "Data")))
"""


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="unnamed files are Linux's")
def test_a_process_killed_while_it_cuts_leaves_no_half_behind(tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    path = _book(tmp_path, _table(20_000))
    for delay in (0.05, 0.15, 0.3):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED, str(path), str(temp)], stdout=subprocess.PIPE
        )
        assert child.stdout.readline() == b"go\n"
        time.sleep(delay)
        child.kill()
        child.wait()
        assert list(temp.iterdir()) == []


def _commented_middle(xml: bytes) -> bytes:
    start, end = xml.index(b'<row r="250"'), xml.index(b'<row r="251"')
    return xml[:start] + b"<!--" + xml[start:end] + b"-->" + xml[end:]


@pytest.mark.parametrize(
    "change",
    [
        # a commented row at the cut, the comment's "<!--" closed again by the tail
        lambda x: _commented_middle(x).replace(b"</worksheet>", b"<!-- c --></worksheet>"),
        lambda x: (
            x.replace(b'<row r="250"', b'<?keep <row r="250"', 1)
            .replace(b'<row r="251"', b'?><row r="251"', 1)
            .replace(b"</worksheet>", b"<?end?></worksheet>")
        ),
        lambda x: x.replace(b"<sheetData>", b"<!-- <sheetData> --><sheetData>", 1),
        lambda x: x.replace(b"</worksheet>", b"<!-- <row r='9'/></sheetData> --></worksheet>"),
        # two sheetData elements: calamine reads the first only
        lambda x: x.replace(b'<row r="300"', b'</sheetData><sheetData><row r="300"', 1),
    ],
    ids=["comment-at-cut", "pi-at-cut", "comment-in-head", "comment-in-tail", "two-sheetData"],
)
def test_shapes_where_a_tag_may_be_no_tag_are_parsed_whole(tmp_path, change):
    """Found by a hostile review: each gave other rows than one parse."""
    path = _book(tmp_path, _table())
    _rewrite(path, change)
    assert _whole_rows(path, "Data")  # calamine reads it, in one piece
    assert _split(path, "Data") == (None, [])  # and only so


def test_a_half_calamine_refuses_falls_back_to_the_whole_parse(tmp_path, monkeypatch):
    path = _book(tmp_path, _table())

    def refusing(half, sheet):
        def load():
            halves._let_go(*half)
            raise ValueError("calamine: cannot read this half")

        return load

    monkeypatch.setattr(halves, "_loader", refusing)
    got, asked = _split(path, "Data")
    assert asked == ["Data"] and got == _whole_rows(path, "Data")


def test_the_whole_parse_names_a_sheet_calamine_cannot_read(tmp_path):
    from sheetsync.errors import WorkbookError

    path = _book(tmp_path, _table())
    with pytest.raises(WorkbookError, match=r"big.xlsx: sheet 'Nope' cannot be read"):
        next(_whole(path, "Nope"))

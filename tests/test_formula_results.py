"""After a push no formula shows a stale result (issue 12, item 2).

A push removes the cached result of every formula that may depend on a cell
it wrote, on any sheet (``sources/xlsx/deps.py``). The oracle is headless
LibreOffice: it opens the pushed workbook and, as a second opinion, the same
workbook with *every* cached result removed (so it must compute everything);
every formula must show the same value in both. Before, LibreOffice kept
showing the old results (Sales 15000 → 9000 still showed "% to Target" 1.25).
Everything but the written cells and those results stays byte-identical.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import CORPUS, require_shared, soffice_convert
from openpyxl.utils.cell import coordinate_to_tuple
from test_xlsx_write import changed_members, member, sheet_part, uncached, without

from sheetsync.config import load_config
from sheetsync.errors import WorkbookError
from sheetsync.sources.changes import CellWrite
from sheetsync.sources.xlsx import formula_cells, patch_workbook
from sheetsync.store import Store, utcnow

_CELL = re.compile(rb"<((?:\w+:)?)c\b([^>]*)>(.*?)</(?:\w+:)?c>", re.S)


def recalculated_everywhere(path: Path, out: Path) -> Path:
    """A copy of ``path`` with the cached result of every formula removed."""

    def strip(m: re.Match[bytes]) -> bytes:
        if not re.search(rb"<(\w+:)?f[\s>/]", m.group(3)):
            return m.group()
        attrs = re.sub(rb'\st="[^"]*"', b"", m.group(2))
        inner = re.sub(rb"<(\w+:)?v>[^<]*</(\w+:)?v>|<(\w+:)?v/>", b"", m.group(3))
        return b"<" + m.group(1) + b"c" + attrs + b">" + inner + b"</" + m.group(1) + b"c>"

    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                data = _CELL.sub(strip, data)
            dst.writestr(info, data)
    return out


def formulas_of(path: Path) -> dict[str, set[str]]:
    from python_calamine import CalamineWorkbook

    out = {}
    for sheet in CalamineWorkbook.from_path(str(path)).sheet_names:
        try:
            out[sheet] = formula_cells(path, sheet)
        except WorkbookError:  # a chart sheet
            continue
    return out


def shown(path: Path, tmp: Path) -> dict[tuple[str, str], object]:
    """Every formula cell's value as LibreOffice computes and saves it (read back by calamine)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(soffice_convert(path, "xlsx", tmp)))
    out = {}
    for sheet, refs in formulas_of(path).items():
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        for ref in sorted(refs):
            r, c = coordinate_to_tuple(ref)
            inside = r <= len(rows) and c <= len(rows[r - 1])
            out[(sheet, ref)] = rows[r - 1][c - 1] if inside else None
    return out


def assert_no_stale_result(pushed: Path, tmp: Path) -> dict[tuple[str, str], object]:
    fresh = recalculated_everywhere(pushed, tmp / f"fresh-{pushed.name}")
    got, want = shown(pushed, tmp / "lo-pushed"), shown(fresh, tmp / "lo-fresh")
    assert got == want
    return got


def assert_only_results_removed(orig: Path, pushed: Path, result, written: dict[str, list]):
    """Only the written cells and the removed results differ, part by part."""
    stale: dict[str, list[str]] = {}
    for sheet, ref in result.uncached:
        stale.setdefault(sheet_part(pushed, sheet), []).append(ref)
    parts = {sheet_part(pushed, s): refs for s, refs in written.items()}
    for part in changed_members(orig, pushed):
        before, after = member(orig, part), member(pushed, part)
        if part.endswith("workbook.xml"):
            assert re.sub(rb'\s?fullCalcOnLoad="1"', b"", after) == re.sub(
                rb'\s?fullCalcOnLoad="\w+"', b"", before
            )
            continue
        assert part in stale or part in parts, part
        before = uncached(before, stale.get(part, []))
        refs = parts.get(part, [])
        assert without(before, refs, []) == without(after, refs, []), part


def test_pushed_sample_shows_the_right_dependent_values(sample_dir, run_cli, tmp_path):
    cfg = sample_dir / "sheetsync.toml"
    wb = sample_dir / "sales_plan.xlsx"
    # The user opened the plan in LibreOffice and saved it: every formula now
    # carries its result (the generated sample has none).
    shutil.copyfile(soffice_convert(wb, "xlsx", tmp_path / "saved"), wb)
    assert run_cli("--config", cfg, "pull").exit_code == 0
    ws = openpyxl.load_workbook(wb)["Quotas"]
    row = next(r[0].row for r in ws.iter_rows(min_row=2) if r[5].value and r[4].value)
    quota, closed = ws[f"E{row}"].value, ws[f"F{row}"].value
    before = openpyxl.load_workbook(wb, data_only=True)["Quotas"][f"H{row}"].value
    assert before == pytest.approx(closed / quota)
    store = Store(load_config(cfg).default_db_url())
    rep, period = ws[f"A{row}"].value, f"{ws[f'D{row}'].value:%Y-%m}"
    q = next(x for x in store.records("quotas") if (x["rep"], x["period"]) == (rep, period))
    new = float(round(closed * 0.6))
    with store.transaction() as conn:  # a teammate's sync: closed drops to 60% of it
        store.apply(conn, "quotas", [{**q, "closed": new}], [], source="t", at=utcnow())
    store.close()
    orig = tmp_path / "orig.xlsx"
    shutil.copyfile(wb, orig)
    r = run_cli("--config", cfg, "push")
    assert r.exit_code == 0 and f"'Quotas'!F{row}" in r.output, r.output

    values = assert_no_stale_result(wb, tmp_path)
    assert values[("Quotas", f"H{row}")] == pytest.approx(new / quota)
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(wb)).get_sheet_by_name("Quotas").to_python()
    assert sheet[row - 1][7] == ""  # sheetsync's own reader: no old result, none at all

    # The push is this patch: the written cell, and the results that read it
    # (this row's attainment, the Dashboard's team totals over Quotas!F:F).
    again = tmp_path / "again.xlsx"
    shutil.copyfile(orig, again)
    result = patch_workbook(again, [CellWrite("Quotas", f"F{row}", new)], backups=0)
    assert again.read_bytes() == wb.read_bytes()
    assert ("Quotas", f"H{row}") in result.uncached
    assert {s for s, _ in result.uncached} == {"Quotas", "Dashboard"}
    assert ("Quotas", f"H{row + 1}") not in result.uncached  # other rows keep theirs
    assert_only_results_removed(orig, wb, result, {"Quotas": [f"F{row}"]})


CORPUS_WRITES = {
    # workbook: (sheet, cell, value, a dependent formula cell, its expected value)
    "shared_formula_simple.xlsx": ("Sheet1", "A2", 20, "B2", 40),
    "pivots.xlsx": ("", "D5", 1234, "G5", None),  # the first sheet whose G5 is =D5/E5
}


@pytest.mark.parametrize("name", sorted(CORPUS_WRITES))
def test_pushed_corpus_workbooks_show_the_right_dependent_values(name, tmp_path):
    src = require_shared(CORPUS / name)
    sheet, ref, value, dependent, expected = CORPUS_WRITES[name]
    path = tmp_path / name
    shutil.copyfile(src, path)
    sheet = sheet or next(s for s, refs in formulas_of(path).items() if dependent in refs)
    result = patch_workbook(path, [CellWrite(sheet, ref, value)], backups=0)
    assert (sheet, dependent) in result.uncached
    values = assert_no_stale_result(path, tmp_path)
    if expected is None:  # G = D / E
        from python_calamine import CalamineWorkbook

        e = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
        expected = value / e[int(ref[1:]) - 1][4]
    assert values[(sheet, dependent)] == pytest.approx(expected)
    assert_only_results_removed(src, path, result, {sheet: [ref]})


def test_pull_never_stores_a_result_it_cannot_know(sample_dir, run_cli, tmp_path):
    """A mapped formula column (Attainment, read into ``commit``) after a push:
    its results are gone, so the pull says it cannot know them and writes
    nothing, until the workbook has been opened and saved."""
    cfg = sample_dir / "sheetsync.toml"
    wb = sample_dir / "sales_plan.xlsx"
    text = cfg.read_text(encoding="utf-8")
    text = text.replace(
        "[sources.plan.tables.quotas.columns]\n",
        '[sources.plan.tables.quotas.columns]\ncommit = "Attainment"\n',
    )
    cfg.write_text(
        text.replace(
            "[sources.plan.tables.quotas]\n",
            '[sources.plan.tables.quotas]\nreadonly = ["commit"]\n',
        ),
        encoding="utf-8",
    )
    shutil.copyfile(soffice_convert(wb, "xlsx", tmp_path / "saved"), wb)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    store = Store(load_config(cfg).default_db_url())
    q = next(x for x in store.records("quotas") if x["closed"] and x["quota"])
    assert q["commit"] == pytest.approx(q["closed"] / q["quota"])
    with store.transaction() as conn:
        store.apply(conn, "quotas", [{**q, "closed": q["closed"] / 2}], [], source="t", at=utcnow())
    assert run_cli("--config", cfg, "push").exit_code == 0

    def model() -> list:
        return Store(load_config(cfg).default_db_url()).records("quotas")

    before = model()
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2, r.output
    assert "(Attainment): is a formula whose result has not been calculated" in r.output
    assert "open and save the workbook in Excel or LibreOffice" in r.output
    assert model() == before  # no blank, no old result stored
    r = run_cli("--config", cfg, "sync")
    assert r.exit_code == 2 and "cannot know its value" in r.output

    shutil.copyfile(soffice_convert(wb, "xlsx", tmp_path / "resaved"), wb)  # opened and saved
    r = run_cli("--config", cfg, "sync")
    assert r.exit_code == 0, r.output
    now = next(x for x in model() if (x["rep"], x["period"]) == (q["rep"], q["period"]))
    assert now["closed"] == q["closed"] / 2
    assert now["commit"] == pytest.approx(now["closed"] / now["quota"])
    store.close()

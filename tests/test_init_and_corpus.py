"""`sheetsync init` on unseen workbooks; every corpus workbook reads or is refused in one line."""

from __future__ import annotations

import re
import tomllib
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import CORPUS, require_shared

from sheetsync.config import load_config
from sheetsync.store import Store


def test_init_guesses_a_workbook_it_has_never_seen(tmp_path, run_cli):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Team numbers"
    ws.append(["Q4 sales tracker"])
    ws.append([])
    ws.append(["Salesperson", "Team", "Month", "Target ($)", "Sales ($)", "Comment"])
    ws.append(["Ann Lee", "East", "Jan 2026", "$10,000", "9,500", ""])
    ws.append(["Bo Chen", "West", "Jan 2026", 12000, 13000, "great"])
    ms = wb.create_sheet("Roadmap")
    ms.append(["ID", "Project", "Milestone", "Owner", "Due date", "Status"])
    ms.append(["M1", "P1", "Launch", "Ann", "2026-03-01", "Done"])
    pj = wb.create_sheet("Projects")
    pj.append(["Project ID", "Project", "Goal"])
    pj.append(["P1", "Grow", "+20%"])
    path = tmp_path / "tracker.xlsx"
    wb.save(path)
    cfg = tmp_path / "sheetsync.toml"
    r = run_cli("init", path, "-o", cfg)
    assert r.exit_code == 0, r.output
    assert '"Salesperson" → rep' in r.output
    assert '"Target ($)" → quota' in r.output
    assert '"Sales ($)" → closed' in r.output
    assert '"Due date" → due' in r.output
    assert "no sheet looks like budget" in r.output
    data = tomllib.loads(cfg.read_text())
    assert list(data["sources"]) == ["tracker"]  # named after the file
    quotas = data["sources"]["tracker"]["tables"]["quotas"]
    assert quotas["sheet"] == "Team numbers" and quotas["header_row"] == 3
    assert quotas["columns"]["period"] == "Month"
    assert data["sources"]["tracker"]["tables"]["milestones"]["sheet"] == "Roadmap"
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    store = Store(load_config(cfg).default_db_url())
    assert {(q["rep"], q["period"], q["quota"]) for q in store.records("quotas")} == {
        ("Ann Lee", "2026-01", 10000.0),
        ("Bo Chen", "2026-01", 12000.0),
    }


def test_init_on_the_sample_reproduces_its_mapping(sample_dir, run_cli):
    cfg = sample_dir / "guessed.toml"
    r = run_cli("init", sample_dir / "sales_plan.xlsx", "-o", cfg)
    assert r.exit_code == 0, r.output
    guessed = load_config(cfg).sources["sales_plan"].tables
    hand = load_config(sample_dir / "sheetsync.toml").sources["plan"].tables
    assert set(guessed) == set(hand)
    for name, mapping in hand.items():
        assert guessed[name].sheet == mapping.sheet
        for f, headers in mapping.columns.items():
            assert guessed[name].columns.get(f) == headers, (name, f)


def test_init_refuses_to_overwrite(sample_dir, run_cli):
    r = run_cli("init", sample_dir / "sales_plan.xlsx", "-o", sample_dir / "sheetsync.toml")
    assert r.exit_code == 1 and "--overwrite" in r.output


def tomllib_text(cfg: Path) -> str:
    """The config's text, once it is known to be valid TOML."""
    text = cfg.read_text()
    tomllib.loads(text)
    return text


def _corpus() -> list[Path]:
    return sorted(p for p in require_shared(CORPUS).iterdir() if p.suffix in (".xlsx", ".xlsm"))


# What `init` does with each corpus workbook: its exit code, the tables it guesses, and
# what `validate` then says (exit code and summary line), or None when nothing is guessed.
INIT_CORPUS: dict[str, tuple[int, list[str], tuple[int, str] | None]] = {
    **{
        # read fine, but no sheet looks like a plan table: init says what each sheet
        # starts with, writes a commented template per table, and exits 2
        name: (2, [], None)
        for name in (
            "any_sheets.xlsx",
            "date.xlsx",
            "date_1904.xlsx",
            "date_iso.xlsx",
            "empty_sheet.xlsx",
            "encoded_entities.xlsx",
            "errors.xlsx",
            "has_x000D_.xlsx",
            "header-row.xlsx",
            "hyperlinks.xlsx",
            "inventory-table.xlsx",
            "issue221.xlsm",
            "issue_174.xlsx",
            "merge_cells.xlsx",
            "merged_range.xlsx",
            "no-header.xlsx",
            "picture.xlsx",
            "richtext-namespaced.xlsx",
            "shared_formula_simple.xlsx",
            "table-multiple.xlsx",
            "table_with_insertrow_attribute.xlsx",
            "temperature-table.xlsx",
            "vba.xlsm",
            "whitespace_trim.xlsx",
        )
    },
    # "ID", "Name", "Description" on 'Requirements': one project
    "inlineStr_with_value.xlsx": (0, ["projects"], (0, "inlinestr_with_value: 1 project — ok")),
    # 'DataSheet2' looks like milestones but has no Project column: validate names it
    "pivots.xlsx": (
        0,
        ["milestones", "projects"],
        (2, "'DataSheet2'!1:1: no column 'Project' for Project in header row 1"),
    ),
    # encrypted: refused in one line (test_password_protected_is_refused_with_the_cause)
    "pass_protected.xlsx": (2, [], None),
}


def test_every_corpus_workbook_has_its_expectation():
    assert sorted(p.name for p in _corpus()) == sorted(INIT_CORPUS)


@pytest.mark.parametrize("name", sorted(INIT_CORPUS))
def test_every_corpus_workbook_reads_or_is_refused_in_one_line(name, tmp_path, run_cli):
    exit_code, tables, validated = INIT_CORPUS[name]
    path = require_shared(CORPUS / name)
    cfg = tmp_path / "sheetsync.toml"
    r = run_cli("init", path, "-o", cfg)
    assert "Traceback" not in r.output
    assert r.exit_code == exit_code, r.output
    if exit_code:
        first, *rest = r.output.strip().splitlines()
        assert first.startswith(f"Error: {name}: ")
        if "no sheet holds a table sheetsync recognises" in first:  # a template was written
            assert all(line.startswith("  '") for line in rest[:-1]), r.output  # each sheet
            assert rest[-1].startswith("  → "), r.output
            assert re.search(r"^# \[sources\.\w+\.tables\.milestones\]$", tomllib_text(cfg), re.M)
            return
        assert all(line.startswith("  → ") for line in rest)
        assert not cfg.exists()
        return
    text = cfg.read_text()
    guessed = re.findall(r"^\[sources\.\w+\.tables\.(\w+)\]$", text, flags=re.M)
    assert sorted(guessed) == tables
    if validated is not None:
        r = run_cli("--config", cfg, "validate")
        assert (r.exit_code, validated[1] in r.output) == (validated[0], True), r.output


def test_password_protected_is_refused_with_the_cause(run_cli, tmp_path):
    r = run_cli("init", require_shared(CORPUS / "pass_protected.xlsx"), "-o", tmp_path / "x.toml")
    assert r.exit_code == 2
    assert "pass_protected.xlsx: is password-protected" in r.output


CORPUS_MAPPINGS = {
    # workbook: (sheet, table, columns, expected record count)
    "pivots.xlsx": (
        "DataSheet",
        "milestones",
        {
            "key": "Id",
            "project": "Category",
            "name": "Name",
            "due": "Date",
            "target_value": "Value",
            "actual_value": "Size",
        },
        None,
    ),
    "inventory-table.xlsx": (
        "Sheet1",
        "budget",
        {"project": "Type", "category": "Item", "planned": "Quantity"},
        4,
    ),
    "table-multiple.xlsx": ("Sheet2", "budget", {"project": "Item", "category": "Price"}, 4),
    "temperature-table.xlsx": (
        "Sheet1",
        "budget",
        {"category": "label", "project": "label", "planned": "value"},
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(CORPUS_MAPPINGS))
def test_corpus_tables_pull_with_a_mapping(name, tmp_path, run_cli):
    path = require_shared(CORPUS / name)
    sheet, table, columns, count = CORPUS_MAPPINGS[name]
    cols = "\n".join(f'{f} = "{h}"' for f, h in columns.items())
    cfg = tmp_path / "sheetsync.toml"
    cfg.write_text(
        f'[sources.c]\nkind = "xlsx"\npath = "{path}"\n[sources.c.tables.{table}]\nsheet = "{sheet}"\n'
        f"[sources.c.tables.{table}.columns]\n{cols}\n"
    )
    r = run_cli("--config", cfg, "pull")
    if name == "temperature-table.xlsx":  # one header cannot feed two fields
        assert r.exit_code == 2
        assert (
            "column 'label' is mapped to Project already; one column cannot also be Category"
            in r.output
        )
        assert "fix the sheet, or its mapping in sheetsync.toml" in r.output
        return
    assert r.exit_code == 0, r.output
    records = Store(load_config(cfg).default_db_url()).records(table)
    if count is not None:
        assert len(records) == count
    else:
        assert records and all(rec["due"] for rec in records)


def test_1904_dates_read_right(tmp_path, run_cli):
    path = require_shared(CORPUS / "date_1904.xlsx")
    from sheetsync.sources.xlsx import read_workbook

    _, grids = read_workbook(path)
    g1904 = grids["Sheet1"]
    _, grids = read_workbook(CORPUS / "date.xlsx")
    assert g1904.date1904 and not grids["Sheet1"].date1904
    assert g1904.rows[0][0] == grids["Sheet1"].rows[0][0]  # the same day in both epochs


def _zip(path: Path, parts: dict[str, bytes], compress=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compress) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return path


MINIMAL = {
    "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>',
}


def test_entity_expansion_is_refused(tmp_path, run_cli):
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
            for i in range(1, 10)
        )
        + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
    )
    path = _zip(tmp_path / "lol.xlsx", {**MINIMAL, "xl/sharedStrings.xml": lol})
    r = run_cli("init", path, "-o", tmp_path / "x.toml")
    assert r.exit_code == 2
    assert "lol.xlsx: part xl/sharedStrings.xml declares an XML DTD" in r.output


def test_zip_bomb_is_refused_without_inflating(tmp_path, run_cli):
    import resource

    bomb = b"<x>" + b"0" * (300 << 20) + b"</x>"
    path = _zip(tmp_path / "bomb.xlsx", {**MINIMAL, "xl/worksheets/sheet1.xml": bomb})
    del bomb
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = run_cli("init", path, "-o", tmp_path / "x.toml")
    assert r.exit_code == 2
    assert "bomb.xlsx: part xl/worksheets/sheet1.xml inflates" in r.output
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024


@pytest.mark.parametrize(
    "content, message",
    [(b"just text", "is not an Excel workbook"), (b"", "is not an Excel workbook")],
)
def test_not_a_workbook(tmp_path, run_cli, content, message):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(content)
    r = run_cli("init", path, "-o", tmp_path / "x.toml")
    assert r.exit_code == 2 and f"fake.xlsx: {message}" in r.output


def test_a_zip_that_is_not_a_workbook(tmp_path, run_cli):
    path = _zip(tmp_path / "docs.xlsx", {"readme.txt": b"hi"})
    r = run_cli("init", path, "-o", tmp_path / "x.toml")
    assert r.exit_code == 2 and "docs.xlsx: is a zip file but not an Excel workbook" in r.output

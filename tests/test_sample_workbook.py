"""The bundled sample plan: committed file == fresh generation, and it looks the part.

``samples/make_sample.py`` generates ``samples/sales_plan.xlsx``; both are
committed. These tests regenerate the workbook into a temporary directory with
the script (as a subprocess, through its ``-o`` option) and check that the
committed file matches it, then check the claims the sample makes about itself:
frozen headers, the Status dropdown, Attainment formulas and their RAG colours,
the Quotas table, the Dashboard chart, and the shape of the data.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart
from python_calamine import CalamineWorkbook

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SCRIPT = SAMPLES / "make_sample.py"
COMMITTED = SAMPLES / "sales_plan.xlsx"
CONFIG = SAMPLES / "sheetsync.toml"

TODAY = date(2026, 11, 30)
DATA_SHEETS = ("Projects", "Milestones", "Quotas", "Budget", "Tasks")
STATUSES = ("Not started", "On track", "At risk", "Late", "Done")


def generate(path: Path) -> Path:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "-o", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert path.is_file()
    return path


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("sample") / "fresh.xlsx")


@pytest.fixture(scope="module")
def wb():
    return openpyxl.load_workbook(COMMITTED)


def rows(ws, min_row: int = 2) -> list[tuple]:
    return [
        r for r in ws.iter_rows(min_row=min_row, values_only=True) if any(v is not None for v in r)
    ]


def as_date(value) -> date:
    assert isinstance(value, datetime | date), value
    return value.date() if isinstance(value, datetime) else value


def header(ws) -> list:
    return [c.value for c in ws[1]]


def records(ws) -> list[dict]:
    names = header(ws)
    return [dict(zip(names, r, strict=True)) for r in rows(ws)]


def fingerprint(path: Path) -> dict:
    """What a reader or a person sees: values, formats, styles, sheet features."""
    book = openpyxl.load_workbook(path)
    out: dict = {
        "sheets": book.sheetnames,
        "props": (book.properties.created, book.properties.modified),
    }
    for ws in book:
        cells = {
            c.coordinate: (c.value, c.number_format, c.font.b, c.fill.fgColor.rgb)
            for row in ws.iter_rows()
            for c in row
            if c.value is not None or c.has_style
        }
        out[ws.title] = {
            "cells": cells,
            "freeze": ws.freeze_panes,
            "widths": {k: d.width for k, d in ws.column_dimensions.items()},
            "validations": sorted(
                (str(dv.sqref), dv.type, dv.formula1) for dv in ws.data_validations.dataValidation
            ),
            "conditional": sorted(
                (str(cf.sqref), r.type, tuple(r.formula or ()))
                for cf in ws.conditional_formatting
                for r in cf.rules
            ),
            "tables": sorted((t.displayName, t.ref) for t in ws.tables.values()),
            "charts": [type(c).__name__ for c in ws._charts],
        }
    return out


# --------------------------------------------------------------------------
# The committed file is what the script makes
# --------------------------------------------------------------------------


def test_committed_sample_matches_fresh_generation(fresh):
    committed, regenerated = fingerprint(COMMITTED), fingerprint(fresh)
    assert committed["sheets"] == regenerated["sheets"]
    for sheet in committed["sheets"]:
        a, b = committed[sheet], regenerated[sheet]
        diff = {
            k
            for k in a["cells"].keys() | b["cells"].keys()
            if a["cells"].get(k) != b["cells"].get(k)
        }
        assert not diff, f"{sheet}: cells differ from a fresh generation: {sorted(diff)[:10]}"
        assert a == b, f"{sheet}: sheet features differ from a fresh generation"
    assert committed == regenerated


def test_generation_is_deterministic(fresh, tmp_path):
    again = generate(tmp_path / "again.xlsx")
    assert again.read_bytes() == fresh.read_bytes()
    book = openpyxl.load_workbook(again)
    assert book.properties.created == book.properties.modified == datetime(2026, 11, 30, 8, 0)
    with zipfile.ZipFile(again) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 11, 30, 8, 0, 0)}


def test_default_output_is_next_to_the_script():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "-o" in out and "--output" in out and "sales_plan.xlsx" in out


# --------------------------------------------------------------------------
# Formatting claims
# --------------------------------------------------------------------------


def test_sheets_and_headers(wb):
    assert wb.sheetnames == ["Dashboard", *DATA_SHEETS]
    assert header(wb["Projects"]) == [
        "Project ID", "Project", "Goal", "Metric", "Baseline", "Target", "Current",
        "Start", "End", "Owner", "Budget ($)",
    ]  # fmt: skip
    assert header(wb["Milestones"]) == [
        "Milestone ID", "Project", "Milestone", "Owner", "Start", "Due date", "Target",
        "Actual", "Status", "Completed", "Notes",
    ]  # fmt: skip
    assert header(wb["Quotas"]) == [
        "Salesperson", "Team", "Region", "Month", "Target ($)", "Sales ($)", "Pipeline ($)",
        "Attainment",
    ]  # fmt: skip
    assert header(wb["Budget"]) == [
        "Project", "Category", "Planned ($)", "Spent ($)", "Attributed revenue ($)", "Notes",
    ]  # fmt: skip
    assert header(wb["Tasks"]) == [
        "Task ID",
        "Project",
        "Milestone",
        "Task",
        "Owner",
        "Due",
        "Done",
    ]


@pytest.mark.parametrize("sheet", DATA_SHEETS)
def test_data_sheets_have_frozen_styled_header(wb, sheet):
    ws = wb[sheet]
    assert ws.freeze_panes is not None
    assert ws[ws.freeze_panes].row == 2, "the header row must stay in view"
    for cell in ws[1]:
        assert cell.font.b, cell.coordinate
        assert cell.fill.fill_type == "solid", cell.coordinate
    assert ws.column_dimensions["A"].width > 8


def test_status_has_dropdown_and_values_come_from_it(wb):
    ws = wb["Milestones"]
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    status = [dv for dv in lists if "I2" in dv.sqref]
    assert len(status) == 1
    dv = status[0]
    assert dv.formula1.strip('"').split(",") == list(STATUSES)
    for r in range(2, ws.max_row + 1):
        assert f"I{r}" in dv.sqref
        assert ws[f"I{r}"].value in STATUSES, f"Milestones!I{r}"
    assert "I200" in dv.sqref, "the dropdown covers rows still to be added"


def test_dates_are_real_date_cells(wb):
    for sheet, cols in {
        "Projects": "HI",
        "Milestones": "EFJ",
        "Quotas": "D",
        "Tasks": "F",
    }.items():
        ws = wb[sheet]
        for col in cols:
            for (cell,) in ws[f"{col}2:{col}{ws.max_row}"]:
                if cell.value is None:
                    continue
                assert isinstance(cell.value, datetime), f"{sheet}!{cell.coordinate}"
                assert cell.is_date, f"{sheet}!{cell.coordinate} has no date format"
    for (cell,) in wb["Quotas"][f"D2:D{wb['Quotas'].max_row}"]:
        assert cell.number_format == "mmm yyyy"
        assert cell.value.day == 1


def test_money_and_percent_formats(wb):
    q = wb["Quotas"]
    for col in "EFG":
        assert {q[f"{col}{r}"].number_format for r in range(2, q.max_row + 1)} == {"$#,##0"}
    assert {q[f"H{r}"].number_format for r in range(2, q.max_row + 1)} == {"0%"}
    b = wb["Budget"]
    assert {b[f"{c}{r}"].number_format for c in "CDE" for r in range(2, b.max_row + 1)} == {
        "$#,##0"
    }


def test_attainment_is_a_formula_per_row(wb):
    ws = wb["Quotas"]
    for r in range(2, ws.max_row + 1):
        formula = ws[f"H{r}"].value
        assert isinstance(formula, str) and formula.startswith("=IF("), f"Quotas!H{r}"
        assert f"F{r}/E{r}" in formula and f"E{r}=0" in formula, f"Quotas!H{r}: {formula}"


def test_attainment_has_red_amber_green_formatting(wb):
    ws = wb["Quotas"]
    rules = [(str(cf.sqref), rule) for cf in ws.conditional_formatting for rule in cf.rules]
    on_attainment = [rule for sqref, rule in rules if sqref == f"H2:H{ws.max_row}"]
    assert len(on_attainment) == 3
    formulas = " ".join(f for rule in on_attainment for f in rule.formula)
    assert "<0.8" in formulas and "<1" in formulas and ">=1" in formulas
    fills = {rule.dxf.fill.fgColor.rgb[-6:] for rule in on_attainment}
    assert len(fills) == 3, "red, amber and green are three different fills"


def test_quotas_is_an_excel_table(wb):
    ws = wb["Quotas"]
    assert "QuotaTable" in ws.tables
    table = ws.tables["QuotaTable"]
    assert table.ref == f"A1:H{ws.max_row}", "the table covers every quota row"
    assert [c.name for c in table.tableColumns] == header(ws)
    assert table.tableStyleInfo is not None


def test_dashboard_has_chart_and_summary(wb, fresh):
    ws = wb["Dashboard"]
    assert wb.sheetnames[0] == "Dashboard"
    charts = ws._charts
    assert any(isinstance(c, BarChart) for c in charts)
    assert "sales" in ws["A1"].value.lower()
    teams = {ws[f"A{r}"].value for r in range(1, 20)}
    assert {"Enterprise", "Mid-Market", "SMB", "Total"} <= teams
    formulas = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(f.startswith("=SUMIFS(Quotas!") for f in formulas)
    with zipfile.ZipFile(COMMITTED) as z:
        names = z.namelist()
    assert any(n.startswith("xl/charts/chart") for n in names)
    assert any(n.startswith("xl/drawings/drawing") for n in names)


# --------------------------------------------------------------------------
# The data tells a plausible story
# --------------------------------------------------------------------------


def test_twelve_reps_in_three_teams_with_jan_to_nov_actuals(wb):
    data = records(wb["Quotas"])
    teams: dict[str, set] = defaultdict(set)
    months: dict[str, dict[int, dict]] = defaultdict(dict)
    for rec in data:
        teams[rec["Team"]].add(rec["Salesperson"])
        month = as_date(rec["Month"])
        assert month.year == 2026
        assert month.month not in months[rec["Salesperson"]], "one row per rep per month"
        months[rec["Salesperson"]][month.month] = rec
    assert sorted(teams) == ["Enterprise", "Mid-Market", "SMB"]
    assert sum(len(r) for r in teams.values()) == 12 == len(months)
    assert all(len(reps) == 4 for reps in teams.values())

    starts = {rep: min(m) for rep, m in months.items()}
    assert sorted(starts.values()) == [1] * 11 + [6], "one new hire joins in June"
    for rep, by_month in months.items():
        assert sorted(by_month) == list(range(starts[rep], 13)), rep
        for m, rec in by_month.items():
            assert rec["Target ($)"] > 0
            assert rec["Pipeline ($)"] > 0
            if m <= 11:
                assert isinstance(rec["Sales ($)"], int | float), (rep, m)
            else:
                assert rec["Sales ($)"] is None, f"{rep} has December sales before December"


def test_reps_spread_from_well_behind_to_well_ahead(wb):
    ytd: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for rec in records(wb["Quotas"]):
        if rec["Sales ($)"] is not None:
            ytd[rec["Salesperson"]][0] += rec["Target ($)"]
            ytd[rec["Salesperson"]][1] += rec["Sales ($)"]
    attainment = {rep: s / q for rep, (q, s) in ytd.items()}
    assert max(attainment.values()) >= 1.15
    assert min(attainment.values()) <= 0.75
    assert any(0.95 <= a < 1.05 for a in attainment.values())


def test_projects_agree_with_the_rest_of_the_plan(wb):
    projects = {p["Project ID"]: p for p in records(wb["Projects"])}
    assert set(projects) == {"GROW20", "UPSELL"}
    grow, upsell = projects["GROW20"], projects["UPSELL"]
    assert (grow["Baseline"], grow["Target"]) == (1_250_000, 1_500_000)
    assert (as_date(grow["Start"]), as_date(grow["End"])) == (date(2026, 7, 1), date(2026, 12, 31))
    assert (upsell["Baseline"], upsell["Target"]) == (0, 50)
    assert (as_date(upsell["Start"]), as_date(upsell["End"])) == (
        date(2026, 1, 1),
        date(2027, 12, 31),
    )

    november = sum(
        q["Sales ($)"] for q in records(wb["Quotas"]) if as_date(q["Month"]) == date(2026, 11, 1)
    )
    assert grow["Current"] == november, "GROW20's current value is November's revenue"
    assert grow["Baseline"] < grow["Current"] < grow["Target"]

    budget = records(wb["Budget"])
    for key, project in projects.items():
        assert project["Budget ($)"] == sum(b["Planned ($)"] for b in budget if b["Project"] == key)
    over = [b["Category"] for b in budget if b["Spent ($)"] > b["Planned ($)"]]
    assert over == ["Direct mail"]
    categories = {b["Category"] for b in budget}
    assert {"12-week email series", "Direct mail", "Cold calling", "Webinars"} <= categories
    assert {"Sales enablement", "Customer success outreach"} <= categories


def test_milestones_mix_relative_to_today(wb):
    ms = records(wb["Milestones"])
    by_project = defaultdict(list)
    for m in ms:
        by_project[m["Project"]].append(m)
    assert all(8 <= len(v) <= 10 for v in by_project.values()) and len(by_project) == 2

    status = defaultdict(list)
    for m in ms:
        status[m["Status"]].append(m)
        due = as_date(m["Due date"])
        if m["Status"] == "Done":
            assert m["Completed"] is not None, m["Milestone ID"]
            assert as_date(m["Completed"]) <= TODAY
        else:
            assert m["Completed"] is None, m["Milestone ID"]
        if m["Status"] == "Late":
            assert due < TODAY, m["Milestone ID"]
        if m["Status"] == "Not started":
            assert as_date(m["Start"]) > TODAY, m["Milestone ID"]
        if m["Status"] in ("On track", "At risk"):
            assert due >= TODAY, m["Milestone ID"]
    assert set(status) == set(STATUSES)
    assert 1 <= len(status["Late"]) <= 2
    assert 2 <= len(status["At risk"]) <= 3
    due_soon = [
        m for m in ms if m["Status"] != "Done" and 0 <= (as_date(m["Due date"]) - TODAY).days <= 14
    ]
    assert 2 <= len(due_soon) <= 3

    names = {m["Milestone"]: m for m in ms}
    thirty, fifty = names["30% of customers upgraded"], names["50% of customers upgraded"]
    assert (as_date(thirty["Due date"]), thirty["Target"]) == (date(2026, 12, 31), 30)
    assert 0 < thirty["Actual"] < 30
    assert (as_date(fifty["Due date"]), fifty["Target"]) == (date(2027, 12, 31), 50)
    text = " ".join(names).lower()
    assert "12-week email series" in text and "direct-mail" in text and "cold-calling" in text


def test_tasks_link_to_milestones(wb):
    milestones = {m["Milestone ID"]: m for m in records(wb["Milestones"])}
    tasks = records(wb["Tasks"])
    assert 12 <= len(tasks) <= 20
    assert len({t["Task ID"] for t in tasks}) == len(tasks)
    for t in tasks:
        assert t["Done"] in ("Yes", "No")
        assert milestones[t["Milestone"]]["Project"] == t["Project"], t["Task ID"]


# --------------------------------------------------------------------------
# Other readers and the config
# --------------------------------------------------------------------------


def test_calamine_reads_the_workbook(wb):
    book = CalamineWorkbook.from_path(str(COMMITTED))
    assert book.sheet_names == wb.sheetnames
    quotas = book.get_sheet_by_name("Quotas").to_python()
    assert quotas[0] == header(wb["Quotas"])
    assert len(quotas) == wb["Quotas"].max_row
    assert quotas[1][3] == date(2026, 1, 1)
    assert isinstance(quotas[1][4], float)
    milestones = book.get_sheet_by_name("Milestones").to_python()
    assert isinstance(milestones[1][5], date)
    assert [r[8] for r in milestones[1:]] == [
        wb["Milestones"][f"I{i}"].value for i in range(2, wb["Milestones"].max_row + 1)
    ]


def test_config_headers_exist_in_the_workbook(wb):
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["report"]["company"] == "Northwind Traders"
    source = config["sources"]["plan"]
    assert source["kind"] == "xlsx"
    assert (CONFIG.parent / source["path"]).resolve() == COMMITTED
    tables = source["tables"]
    assert set(tables) == {"projects", "milestones", "quotas", "budget", "tasks"}
    for name, table in tables.items():
        ws = wb[table["sheet"]]
        headers = [c.value for c in ws[table["header_row"]]]
        missing = set(table["columns"].values()) - set(headers)
        assert not missing, f"{name}: headers not in {table['sheet']}: {missing}"

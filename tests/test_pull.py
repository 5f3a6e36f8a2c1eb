"""Pull the sample into a real SQLite model through the CLI, then read it back."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from sheetsync.config import load_config
from sheetsync.model import TABLES
from sheetsync.store import SCHEMA, Store, open_store, record_key


def _store(d: Path) -> Store:
    return open_store(load_config(d / "sheetsync.toml"))


def _edit(path: Path, sheet: str, **cells: object) -> None:
    wb = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        wb[sheet][ref] = value
    wb.save(path)


def _model_state(d: Path) -> tuple:
    """Every row of every table (history included) and the snapshot count."""
    db = d / ".sheetsync" / "model.db"
    if not db.exists():
        return ()
    s = _store(d)
    with s.engine.connect() as c:
        return tuple(tuple(map(tuple, c.execute(sa.select(t)).fetchall())) for t in SCHEMA.values())


def _sample_quotas(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path, data_only=True)["Quotas"]
    return [r[:6] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]


def test_pull_sample_matches_workbook(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "quotas: 139 new" in r.output
    store = _store(sample_dir)
    quotas = {(q["rep"], q["period"]): q for q in store.records("quotas")}
    expected = _sample_quotas(sample_dir / "sales_plan.xlsx")
    assert len(quotas) == len(expected) == 139
    for rep, team, _region, month, quota, sales in expected:
        q = quotas[(rep, f"{month:%Y-%m}")]
        assert q["team"] == team
        assert q["quota"] == pytest.approx(quota)
        assert q["closed"] == (pytest.approx(sales) if sales is not None else None)
    ms = {m["key"]: m for m in store.records("milestones")}
    assert all(isinstance(m["due"], date) for m in ms.values())
    tasks = store.records("tasks")
    assert {t["done"] for t in tasks} == {True, False}
    snaps = store.snapshots("plan")
    assert len(snaps) == 1 and len(snaps[0].content_hash) == 64
    values = store.snapshot_values(snaps[0].id)
    assert len(values["quotas"]) == 139


def test_second_pull_changes_nothing(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    r = run_cli("--config", cfg, "pull", "--full")
    assert r.exit_code == 0
    assert r.output.count("no change") == 5
    r = run_cli("--config", cfg, "pull")  # not even read (tests/test_pull_unchanged.py)
    assert r.exit_code == 0
    assert "unchanged since the last pull" in r.output


def test_history_and_as_of(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    store = _store(sample_dir)
    first = store.snapshots("plan")[0].taken_at
    ws = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")["Quotas"]
    rep, month = ws["A2"].value, ws["D2"].value
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", F2=123456)
    r = run_cli("--config", cfg, "pull")
    assert "quotas: 1 updated" in r.output, r.output
    key = record_key(TABLES["quotas"], {"rep": rep, "period": f"{month:%Y-%m}"})
    versions = store.history("quotas", key)
    assert [v[3]["closed"] for v in versions][-1] == 123456
    assert len(versions) == 2 and versions[0][1] is not None
    old = {(q["rep"], q["period"]): q["closed"] for q in store.records("quotas", as_of=first)}
    now = {(q["rep"], q["period"]): q["closed"] for q in store.records("quotas")}
    assert now[(rep, f"{month:%Y-%m}")] == 123456
    assert old[(rep, f"{month:%Y-%m}")] == versions[0][3]["closed"] != 123456


def test_bad_cells_are_all_listed_and_nothing_is_written(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    before = _model_state(sample_dir)
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", E14="12k", D20="someday", F30="lots")
    _edit(sample_dir / "sales_plan.xlsx", "Milestones", F5="next week")
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2
    assert "'Quotas'!E14 (Target ($)): \"12k\" is not a number" in r.output
    assert "'Quotas'!D20 (Month): \"someday\" is not a period" in r.output
    assert "'Quotas'!F30 (Sales ($)): \"lots\" is not a number" in r.output
    assert "'Milestones'!F5 (Due date): \"next week\" is not a date" in r.output
    assert "nothing was written" in r.output
    assert _model_state(sample_dir) == before


def test_errors_are_capped_with_a_count(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", **{f"E{r}": "tbc" for r in range(2, 80)})
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 2
    assert r.output.count('"tbc" is not a number') == 50
    assert "... and 28 more errors" in r.output


def test_skip_invalid_imports_the_good_rows(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", E14="12k")
    r = run_cli("--config", cfg, "pull", "--skip-invalid")
    assert r.exit_code == 0, r.output
    assert "quotas: 138 new" in r.output
    assert "'Quotas'!E14 (Target ($)): \"12k\" is not a number" in r.output
    assert len(_store(sample_dir).records("quotas")) == 138


def test_missing_column_suggests_the_near_miss(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", E1="Targt ($)")
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2
    assert "no column 'Target ($)' for Quota in header row 1; did you mean 'Targt ($)'?" in r.output
    assert not (sample_dir / ".sheetsync" / "model.db").exists() or not _store(sample_dir).records(
        "quotas"
    )


def test_unknown_worksheet(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    cfg.write_text(cfg.read_text().replace('sheet = "Budget"', 'sheet = "Budgets"'))
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2
    assert "no worksheet named 'Budgets'; did you mean 'Budget'?" in r.output


def test_duplicate_keys(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    wb = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")
    ws = wb["Milestones"]
    ws["A4"] = ws["A3"].value
    wb.save(sample_dir / "sales_plan.xlsx")
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 2
    assert (
        f"'Milestones'!A4 (Milestone ID): duplicate key ({ws['A3'].value}): row 3 has the same"
        in r.output
    )


def test_a_bad_cell_does_not_hide_a_duplicate_key(sample_dir, run_cli):
    """Row 3 (G-02, Done) gets a bad date; a pasted copy of it (row 22, At risk)
    is clean. Both rows are reported as duplicates, and --skip-invalid skips
    both: the model keeps G-02 as it was, not the copy."""
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    wb = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")
    ws = wb["Milestones"]
    for col in range(1, 12):
        ws.cell(22, col).value = ws.cell(3, col).value
    ws["I22"] = "At risk"
    ws["F3"] = "next week"
    wb.save(sample_dir / "sales_plan.xlsx")
    before = _model_state(sample_dir)
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 2
    assert "'Milestones'!F3 (Due date): \"next week\" is not a date" in r.output
    assert "'Milestones'!A3 (Milestone ID): duplicate key (G-02): row 22 has the same" in r.output
    assert "'Milestones'!A22 (Milestone ID): duplicate key (G-02): row 3 has the same" in r.output
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2 and "row 22 has the same" in r.output
    assert _model_state(sample_dir) == before
    r = run_cli("--config", cfg, "pull", "--skip-invalid")
    assert r.exit_code == 0, r.output
    assert "row 22 has the same" in r.output and "row 3 has the same" in r.output
    g02 = next(m for m in _store(sample_dir).records("milestones") if m["key"] == "G-02")
    assert g02["status"] == "Done" and g02["due"] == date(2026, 7, 24)


def test_unknown_project_reference(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    _edit(sample_dir / "sales_plan.xlsx", "Milestones", B2="GROW21")
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 2
    assert "'Milestones'!B2 (Project): no project \"GROW21\" on sheet 'Projects'" in r.output


def test_deleted_rows_leave_the_model(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    wb = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")
    ws = wb["Budget"]
    gone = (ws["A3"].value, ws["B3"].value)
    ws.delete_rows(3)
    wb.save(sample_dir / "sales_plan.xlsx")
    r = run_cli("--config", cfg, "pull")
    assert "budget: 1 deleted" in r.output
    assert gone not in {(b["project"], b["category"]) for b in _store(sample_dir).records("budget")}


def test_config_errors_exit_1(tmp_path, run_cli):
    r = run_cli("--config", tmp_path / "nope.toml", "pull")
    assert r.exit_code == 1
    assert "no config file" in r.output and "sheetsync init" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[sources.plan]\nkind = "xlsx"\npath = "x.xlsx"\n[sources.plan.tables.quotas]\nsheet = "Q"\n'
        '[sources.plan.tables.quotas.columns]\nsalesman = "Rep"\n'
    )
    r = run_cli("--config", bad, "pull")
    assert r.exit_code == 1
    assert "quotas has no field 'salesman'" in r.output


def test_usage_error_exits_1(run_cli):
    r = run_cli("pull", "--no-such-option")
    assert r.exit_code == 1


def test_status_and_json(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    r = run_cli("--config", cfg, "status", "--as-of", "2026-11-30", "--json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    expected = _sample_quotas(sample_dir / "sales_plan.xlsx")
    ytd = [q for q in expected if q[3].month <= 11]
    assert data["quota"]["quota"] == pytest.approx(sum(q[4] for q in ytd))
    assert data["quota"]["closed"] == pytest.approx(sum(q[5] or 0 for q in ytd))
    assert {t["team"] for t in data["teams"]} == {q[1] for q in expected}
    by_key = {p["key"]: p for p in data["projects"]}
    # the sample's story: G-06 and U-04 are past due and not done; 5 + 3 milestones are done
    assert (by_key["GROW20"]["late"], by_key["UPSELL"]["late"]) == (1, 1)
    assert (by_key["GROW20"]["done"], by_key["UPSELL"]["done"]) == (5, 3)
    assert sum(p["milestones"] for p in data["projects"]) == 20
    text = run_cli("--config", cfg, "status", "--as-of", "2026-11-30").output
    assert "Quota attainment, 2026 year to date" in text
    assert f"{data['quota']['attainment']:.0%}" in text


def test_export_json_and_csv(sample_dir, run_cli, tmp_path):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    out = tmp_path / "model.json"
    assert run_cli("--config", cfg, "export", "-o", out).exit_code == 0
    data = json.loads(out.read_text())
    assert {k: len(v) for k, v in data.items()} == {
        "projects": 2,
        "milestones": 20,
        "quotas": 139,
        "budget": 10,
        "tasks": 16,
    }
    r = run_cli("--config", cfg, "export", "--format", "csv", "-o", tmp_path / "model.csv")
    assert r.exit_code == 0
    lines = (tmp_path / "model-quotas.csv").read_text().splitlines()
    assert lines[0].startswith("rep,team,region,period,quota,closed") and len(lines) == 140


def test_validate_writes_nothing(sample_dir, run_cli):
    cfg = sample_dir / "sheetsync.toml"
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 0 and "ok" in r.output
    assert not (sample_dir / ".sheetsync").exists()


def test_pull_leaves_the_garbage_collector_as_it_was(sample_dir, monkeypatch):
    """A pull pauses the cyclic GC while it holds the sheet's cells; whatever
    happens, it is back on afterwards (or off, if the caller had it off)."""
    import gc

    import sheetsync.schema as schema_module
    from sheetsync.errors import RefusedError, ValidationError
    from sheetsync.pull import pull
    from sheetsync.reading import start_reads

    config = load_config(sample_dir / "sheetsync.toml")
    store = _store(sample_dir)
    assert gc.isenabled()
    pull(config, store)
    assert gc.isenabled()
    start_reads(config).release()  # started, then abandoned
    assert gc.isenabled()
    monkeypatch.setattr(schema_module, "BUSY_TIMEOUT_MS", 50)
    waiting = _store(sample_dir)  # connects with the short busy timeout
    reads = start_reads(config)  # kept alive: only an explicit release can end its pause
    with store.transaction(), pytest.raises(RefusedError):  # another writer holds the model
        pull(config, waiting, reads=reads)
    assert gc.isenabled()
    _edit(sample_dir / "sales_plan.xlsx", "Quotas", E3="12k")
    with pytest.raises(ValidationError):
        pull(config, store)
    assert gc.isenabled()
    gc.disable()
    try:
        pull(config, store, skip_invalid=True)
        assert not gc.isenabled()
    finally:
        gc.enable()
    waiting.close()
    store.close()


def test_cli_pull_closes_the_model(sample_dir):
    """The real command leaves a tidy model: no write-ahead log behind it."""
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "sheetsync", "--config", str(sample_dir / "sheetsync.toml"), "pull"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "quotas: 139 new" in r.stdout
    model = sample_dir / ".sheetsync"
    assert sorted(p.name for p in model.iterdir() if p.name.startswith("model.db")) == ["model.db"]

"""push / sync / diff against real workbooks and a real SQLite model."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import CORPUS, require_shared
from pg import *  # noqa: F403  (store_url: SQLite and PostgreSQL)

from sheetsync.config import load_config
from sheetsync.grid import a1
from sheetsync.store import Store, utcnow


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cells(path: Path) -> dict[tuple[str, str], object]:
    """Every non-empty cell value, read by calamine (openpyxl cannot open every corpus file)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in book.sheet_names:
        for r, row in enumerate(
            book.get_sheet_by_name(name).to_python(skip_empty_area=False), start=1
        ):
            for c, v in enumerate(row, start=1):
                if v not in ("", None):
                    out[(name, a1(r, c))] = v
    return out


def changed_cells(before: dict, after: dict) -> dict:
    keys = set(before) | set(after)
    return {k: (before.get(k), after.get(k)) for k in sorted(keys) if before.get(k) != after.get(k)}


@pytest.fixture(autouse=True)
def model_db(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs twice: on a SQLite file and on a PostgreSQL database."""
    monkeypatch.setenv("SHEETSYNC_DB", store_url)
    return store_url


def store_of(cfg: Path) -> Store:
    return Store(os.environ.get("SHEETSYNC_DB") or load_config(cfg).default_db_url())


def edit(path: Path, sheet: str, **values: object) -> None:
    wb = openpyxl.load_workbook(path)
    for ref, v in values.items():
        wb[sheet][ref] = v
    wb.save(path)


def set_model(cfg: Path, table: str, key: str, **fields: object) -> None:
    """Change the model as another source would (a teammate's sync)."""
    s = store_of(cfg)
    spec_key = {"milestones": "key", "projects": "key"}.get(table)
    current = {r[spec_key]: r for r in s.records(table)} if spec_key else None
    rec = {**current[key], **fields}
    with s.transaction() as conn:
        s.apply(conn, table, [rec], [], source="teammate", at=utcnow(), replaced=[key])


@pytest.fixture
def pulled(sample_dir, run_cli) -> Path:
    cfg = sample_dir / "sheetsync.toml"
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    return cfg


def test_push_after_pull_is_idempotent(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    before = sha(wb)
    for _ in range(2):
        r = run_cli("--config", pulled, "push")
        assert r.exit_code == 0
        assert "already in sync, nothing to do" in r.output
    assert sha(wb) == before


def milestone_row(wb: Path, key: str) -> int:
    ws = openpyxl.load_workbook(wb)["Milestones"]
    return next(c.row for c in ws["A"] if c.value == key)


def test_sheet_edit_flows_to_model_then_nothing(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    row = milestone_row(wb, "G-04")
    edit(wb, "Milestones", **{f"H{row}": 4321})
    r = run_cli("--config", pulled, "diff")
    assert f"→ model  'Milestones'!H{row} (Actual): 4,860 → 4,321" in r.output
    assert run_cli("--config", pulled, "sync").exit_code == 0
    m = {m["key"]: m for m in store_of(pulled).records("milestones")}
    assert m["G-04"]["actual_value"] == 4321
    r = run_cli("--config", pulled, "sync")
    assert "already in sync, nothing to do" in r.output


def test_model_change_is_pushed_into_exactly_that_cell(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    before = cells(wb)
    set_model(pulled, "milestones", "G-05", actual_value=1234.0, status="On track")
    r = run_cli("--config", pulled, "push")
    assert r.exit_code == 0, r.output
    row = milestone_row(wb, "G-05")
    assert changed_cells(before, cells(wb)) == {
        ("Milestones", f"H{row}"): (before[("Milestones", f"H{row}")], 1234),
        ("Milestones", f"I{row}"): ("At risk", "On track"),
    }


def test_push_matches_rows_by_key_in_a_resorted_sheet(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    book = openpyxl.load_workbook(wb)
    ws = book["Milestones"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    for i, values in enumerate(reversed(rows), start=2):  # the user sorted the sheet Z→A
        for j, v in enumerate(values, start=1):
            ws.cell(i, j).value = v  # blanks too: ws.cell(i, j, None) writes nothing
    book.save(wb)
    assert run_cli("--config", pulled, "sync").exit_code == 0  # learn the new file
    set_model(pulled, "milestones", "U-03", notes="moved by the model")
    before = cells(wb)
    assert run_cli("--config", pulled, "push").exit_code == 0
    row = milestone_row(wb, "U-03")
    assert list(changed_cells(before, cells(wb))) == [("Milestones", f"K{row}")]
    assert cells(wb)[("Milestones", f"K{row}")] == "moved by the model"


def test_new_model_record_appends_a_formatted_row(pulled, run_cli):
    import datetime as dt

    wb = pulled.parent / "sales_plan.xlsx"
    s = store_of(pulled)
    new = {
        "key": "U-99",
        "project": "UPSELL",
        "name": "Partner webinar",
        "due": dt.date(2027, 2, 1),
        "status": "Not started",
        "target_value": 3.0,
    }
    with s.transaction() as conn:
        s.apply(conn, "milestones", [new], [], source="teammate", at=utcnow())
    assert run_cli("--config", pulled, "push").exit_code == 0
    ws = openpyxl.load_workbook(wb)["Milestones"]
    last = ws.max_row
    assert [ws.cell(last, c).value for c in (1, 2, 3)] == ["U-99", "UPSELL", "Partner webinar"]
    assert ws.cell(last, 6).value == dt.datetime(2027, 2, 1)
    assert ws.cell(last, 6).number_format == ws.cell(last - 1, 6).number_format
    assert ws.cell(last, 1).font.b == ws.cell(last - 1, 1).font.b
    r = run_cli("--config", pulled, "sync")
    assert "already in sync" in r.output


def two_sources(sample_dir: Path) -> Path:
    """The manager's plan plus a reps' update workbook mapping the same quotas."""
    src = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")["Quotas"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "My numbers"
    ws.append(["Rep", "Month", "Quota", "Closed"])
    for r in src.iter_rows(min_row=2, values_only=True):
        if r[0] in ("Dana Whitfield", "Tom Okafor"):
            ws.append([r[0], r[3], r[4], r[5]])
    wb.save(sample_dir / "reps.xlsx")
    cfg = sample_dir / "sheetsync.toml"
    cfg.write_text(
        cfg.read_text()
        + '\n[sources.reps]\nkind = "xlsx"\npath = "reps.xlsx"\n[sources.reps.tables.quotas]\nsheet = "My numbers"\n'
        '[sources.reps.tables.quotas.columns]\nrep = "Rep"\nperiod = "Month"\nquota = "Quota"\nclosed = "Closed"\n'
    )
    return cfg


def test_change_in_one_source_reaches_the_other(sample_dir, run_cli):
    cfg = two_sources(sample_dir)
    assert run_cli("--config", cfg, "pull").exit_code == 0, "pull both"
    reps = openpyxl.load_workbook(sample_dir / "reps.xlsx")["My numbers"]
    row = next(
        r
        for r in reps.iter_rows(min_row=2)
        if r[0].value == "Tom Okafor" and r[1].value.month == 10
    )
    edit(sample_dir / "reps.xlsx", "My numbers", **{f"D{row[0].row}": 99999})
    plan_before = cells(sample_dir / "sales_plan.xlsx")
    r = run_cli("--config", cfg, "sync")
    assert r.exit_code == 0, r.output
    changes = changed_cells(plan_before, cells(sample_dir / "sales_plan.xlsx"))
    assert len(changes) == 1
    (((sheet, ref), (old, new)),) = changes.items()
    assert sheet == "Quotas" and ref.startswith("F") and new == 99999
    r = run_cli("--config", cfg, "sync")
    assert r.output.count("already in sync") == 2


def test_conflict_exits_3_and_writes_nothing_then_prefer_settles_it(sample_dir, run_cli):
    cfg = two_sources(sample_dir)
    assert run_cli("--config", cfg, "pull").exit_code == 0
    plan = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")["Quotas"]
    prow = next(
        r[0].row
        for r in plan.iter_rows(min_row=2)
        if r[0].value == "Dana Whitfield" and r[3].value.month == 3
    )
    reps = openpyxl.load_workbook(sample_dir / "reps.xlsx")["My numbers"]
    rrow = next(
        r[0].row
        for r in reps.iter_rows(min_row=2)
        if r[0].value == "Dana Whitfield" and r[1].value.month == 3
    )
    edit(sample_dir / "reps.xlsx", "My numbers", **{f"D{rrow}": 111})
    assert run_cli("--config", cfg, "sync", "reps").exit_code == 0  # the model now says 111
    edit(sample_dir / "sales_plan.xlsx", "Quotas", **{f"F{prow}": 222})  # the manager typed 222
    wb_hash, model = sha(sample_dir / "sales_plan.xlsx"), store_of(cfg).records("quotas")
    r = run_cli("--config", cfg, "sync", "plan")
    assert r.exit_code == 3
    assert f"conflict 'Quotas'!F{prow} (Sales ($)): sheet 222, model 111, last sync" in r.output
    assert "--prefer" in r.output
    assert (
        sha(sample_dir / "sales_plan.xlsx") == wb_hash and store_of(cfg).records("quotas") == model
    )
    for cmd in (["sync", "--dry-run"], ["sync", "plan", "--dry-run", "--json"]):
        r = run_cli("--config", cfg, *cmd)  # the plan says what the sync would: a conflict
        assert r.exit_code == 3, (cmd, r.output)
        assert f"'Quotas'!F{prow}" in r.output or f'"cell": "F{prow}"' in r.output
    assert (
        sha(sample_dir / "sales_plan.xlsx") == wb_hash and store_of(cfg).records("quotas") == model
    )
    r = run_cli("--config", cfg, "diff", "--json")
    assert r.exit_code == 3
    assert json.loads(r.stdout)[0]["conflicts"][0]["cell"] == f"F{prow}"
    r = run_cli("--config", cfg, "sync", "--prefer", "sheet")
    assert r.exit_code == 0, r.output
    q = {(x["rep"], x["period"]): x["closed"] for x in store_of(cfg).records("quotas")}
    assert q[("Dana Whitfield", "2026-03")] == 222
    assert openpyxl.load_workbook(sample_dir / "reps.xlsx")["My numbers"][f"D{rrow}"].value == 222


def test_dry_run_writes_nothing_anywhere(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    set_model(pulled, "milestones", "G-05", actual_value=1.0)
    edit(wb, "Milestones", **{f"K{milestone_row(wb, 'U-02')}": "typed in Excel"})
    state = (sha(wb), store_of(pulled).records("milestones"), len(store_of(pulled).snapshots()))
    for cmd in (["sync", "--dry-run"], ["push", "--dry-run", "--force"], ["diff"]):
        r = run_cli("--config", pulled, *cmd)
        assert r.exit_code == 0, r.output
        assert "'Milestones'!" in r.output
    assert (
        sha(wb),
        store_of(pulled).records("milestones"),
        len(store_of(pulled).snapshots()),
    ) == state
    assert not (pulled.parent / ".sheetsync" / "backups").exists()


def test_push_refuses_a_workbook_changed_since_read_and_force_overrides(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    edit(wb, "Milestones", K3="edited after the pull")
    set_model(pulled, "milestones", "G-05", actual_value=2.0)
    before = sha(wb)
    r = run_cli("--config", pulled, "push")
    assert r.exit_code == 5
    assert "changed since sheetsync last read it" in r.output and "sheetsync sync" in r.output
    assert sha(wb) == before
    note = {m["key"]: m for m in store_of(pulled).records("milestones")}["G-02"]["notes"]
    assert run_cli("--config", pulled, "push", "--force").exit_code == 0
    ws = openpyxl.load_workbook(wb)["Milestones"]
    assert ws["A3"].value == "G-02"
    assert ws["K3"].value == note  # forced: the model wins, which is what the refusal warned of


def test_push_refuses_while_excel_has_the_file_open(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    (pulled.parent / "~$sales_plan.xlsx").write_bytes(b"lock")
    set_model(pulled, "milestones", "G-05", actual_value=3.0)
    before = sha(wb)
    r = run_cli("--config", pulled, "push")
    assert r.exit_code == 5 and "Excel" in r.output
    assert sha(wb) == before


def test_formula_cells_are_skipped_and_reported(tmp_path, run_cli):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws.append(["Project", "Category", "Planned", "Spent"])
    ws.append(["P1", "Email", 100, "=C2*0.5"])
    wb.save(tmp_path / "b.xlsx")
    cfg = tmp_path / "sheetsync.toml"
    cfg.write_text(
        '[sources.b]\nkind = "xlsx"\npath = "b.xlsx"\n[sources.b.tables.budget]\nsheet = "Budget"\n'
    )
    assert run_cli("--config", cfg, "pull").exit_code == 0
    s = store_of(cfg)
    rec = {**s.records("budget")[0], "spent": 70.0, "planned": 140.0}
    with s.transaction() as conn:
        s.apply(conn, "budget", [rec], [], source="t", at=utcnow(), replaced=["P1\x1fEmail"])
    r = run_cli("--config", cfg, "push")
    assert r.exit_code == 0, r.output
    assert "~ skipped 'Budget'!D2 (Spent): a formula cell is never overwritten" in r.output
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx")["Budget"]
    assert ws["C2"].value == 140 and ws["D2"].value == "=C2*0.5"


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_push_keeps_every_other_part_byte_identical(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    before = parts(wb)
    set_model(pulled, "milestones", "G-05", actual_value=1500.0)
    assert run_cli("--config", pulled, "push").exit_code == 0
    after = parts(wb)
    assert list(after) == list(before)
    differ = {n for n in before if before[n] != after[n]}
    sheet_part = "xl/worksheets/sheet3.xml"  # Milestones is the third sheet
    assert differ <= {sheet_part, "xl/workbook.xml"}, differ
    assert sheet_part in differ


CORPUS_PUSH = {
    "inventory-table.xlsx": (
        "Sheet1",
        {"project": "Type", "category": "Item", "planned": "Quantity"},
    ),
    "table-multiple.xlsx": (
        "Sheet1",
        {"project": "Type", "category": "Item", "planned": "Quantity"},
    ),
    "pivots.xlsx": (
        "DataSheet",
        {"project": "Category", "category": "Id", "planned": "Value", "spent": "Size"},
    ),
}


@pytest.mark.parametrize("name", sorted(CORPUS_PUSH))
def test_push_into_corpus_workbooks_changes_one_cell_and_appends(name, tmp_path, run_cli):
    src = require_shared(CORPUS / name)
    wb = tmp_path / name
    wb.write_bytes(src.read_bytes())
    sheet, cols = CORPUS_PUSH[name]
    cfg = tmp_path / "sheetsync.toml"
    body = "\n".join(f'{f} = "{h}"' for f, h in cols.items())
    cfg.write_text(
        f'[sources.c]\nkind = "xlsx"\npath = "{name}"\n[sources.c.tables.budget]\nsheet = "{sheet}"\n'
        f"[sources.c.tables.budget.columns]\n{body}\n"
    )
    assert run_cli("--config", cfg, "pull").exit_code == 0
    s = store_of(cfg)
    first = s.records("budget")[0]
    new = {**first, "category": "999", "planned": 7.0}
    changed = {**first, "planned": 4242.0}
    with s.transaction() as conn:
        s.apply(
            conn,
            "budget",
            [changed, new],
            [],
            source="t",
            at=utcnow(),
            replaced=[f"{first['project']}\x1f{first['category']}"],
        )
    before_parts, before_cells = parts(wb), cells(wb)
    r = run_cli("--config", cfg, "push")
    assert r.exit_code == 0, r.output
    after_parts = parts(wb)
    assert list(after_parts) == list(before_parts)
    differ = {n for n in before_parts if before_parts[n] != after_parts[n]}
    assert all(
        n.startswith(("xl/worksheets/sheet", "xl/tables/")) or n == "xl/workbook.xml"
        for n in differ
    ), differ
    delta = changed_cells(before_cells, cells(wb))
    assert [v for (_old, v) in delta.values()].count(4242) == 1
    assert any(v == "999" or v == 999 for (_o, v) in delta.values())
    assert all(ws == sheet for ws, _ in delta)
    assert "already in sync" in run_cli("--config", cfg, "sync").output


def test_a_row_deleted_in_the_sheet_but_edited_in_the_model_is_a_conflict(pulled, run_cli):
    """diff, sync and sync --prefer on a real workbook: the model's edit is not lost."""
    wb = pulled.parent / "sales_plan.xlsx"
    book = openpyxl.load_workbook(wb)
    book["Milestones"].delete_rows(milestone_row(wb, "G-05"))
    book.save(wb)
    set_model(pulled, "milestones", "G-05", actual_value=1.0)
    said = (
        "conflict 'Milestones': G-05 was deleted from the sheet but its Actual changed in the "
        "model since the last sync"
    )
    r = run_cli("--config", pulled, "diff")
    assert r.exit_code == 3 and said in r.output
    state = (sha(wb), store_of(pulled).records("milestones"))
    r = run_cli("--config", pulled, "sync")
    assert r.exit_code == 3 and said in r.output
    assert (sha(wb), store_of(pulled).records("milestones")) == state
    r = run_cli("--config", pulled, "sync", "--prefer", "model")
    assert r.exit_code == 0, r.output
    assert "+ row    'Milestones': G-05 (new in the model)" in r.output
    ws = openpyxl.load_workbook(wb)["Milestones"]
    row = milestone_row(wb, "G-05")
    assert ws[f"H{row}"].value == 1
    assert "already in sync" in run_cli("--config", pulled, "sync").output


def test_sync_delete_rows_clears_the_row_deleted_from_the_model(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    row = milestone_row(wb, "U-03")
    s = store_of(pulled)
    with s.transaction() as conn:  # a teammate's sync deleted the milestone
        s.apply(conn, "milestones", [], ["U-03"], source="teammate", at=utcnow())
    r = run_cli("--config", pulled, "sync")
    assert r.exit_code == 0, r.output
    assert f"? row    'Milestones'!{row}:{row}: U-03 is not in the model any more; kept" in r.output
    assert openpyxl.load_workbook(wb)["Milestones"][f"A{row}"].value == "U-03"
    r = run_cli("--config", pulled, "sync", "--delete-rows")
    assert r.exit_code == 0, r.output
    assert (
        f"- row    'Milestones'!{row}:{row}: U-03 (deleted from the model; clearing the row)"
        in r.output
    )
    ws = openpyxl.load_workbook(wb)["Milestones"]
    assert [c.value for c in ws[row]] == [None] * ws.max_column
    assert "U-03" not in {m["key"] for m in store_of(pulled).records("milestones")}
    assert "already in sync" in run_cli("--config", pulled, "sync").output


def test_a_plan_made_before_another_sync_is_refused(pulled):
    """Two syncs planned at once: the second to write is refused, nothing applied twice."""
    from sheetsync.errors import RefusedError
    from sheetsync.sync import execute_plan, plan_source

    wb = pulled.parent / "sales_plan.xlsx"
    edit(wb, "Milestones", **{f"H{milestone_row(wb, 'G-04')}": 4321})
    config, store = load_config(pulled), store_of(pulled)
    first = plan_source(config, store, config.sources["plan"])
    second = plan_source(config, store, config.sources["plan"])
    execute_plan(store, first)
    versions = len(store.history("milestones", "G-04"))
    with pytest.raises(RefusedError, match="another sheetsync synced this source while this one"):
        execute_plan(store, second)
    assert len(store.history("milestones", "G-04")) == versions == 2


def test_sync_refuses_an_invalid_cell_and_writes_nothing(pulled, run_cli):
    wb = pulled.parent / "sales_plan.xlsx"
    row = milestone_row(wb, "G-04")
    edit(wb, "Milestones", **{f"H{row}": "12k"})
    state = (sha(wb), store_of(pulled).records("milestones"))
    r = run_cli("--config", pulled, "sync")
    assert r.exit_code == 2
    assert f"'Milestones'!H{row} (Actual): \"12k\" is not a number" in r.output
    assert (sha(wb), store_of(pulled).records("milestones")) == state

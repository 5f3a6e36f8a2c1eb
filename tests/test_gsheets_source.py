"""A Google Sheet as a source, through real gspread, against the emulator on loopback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import SAMPLES
from python_calamine import CalamineWorkbook
from sheets_emulator import SheetsEmulator, sheets_emulator, write_service_account_file  # noqa: F401

from sheetsync.config import load_config
from sheetsync.store import Store, utcnow

ROBOT = "planbot@sheetsync-tests.iam.gserviceaccount.com"
SHEETS = ("Projects", "Milestones", "Quotas", "Budget", "Tasks")


def _api(v):
    if isinstance(v, dt.datetime):
        v = v.date()
    if isinstance(v, dt.date):
        return (v - dt.date(1899, 12, 30)).days
    return v


def sample_values() -> dict[str, list[list]]:
    book = CalamineWorkbook.from_path(str(SAMPLES / "sales_plan.xlsx"))
    return {
        s: [[_api(v) for v in row] for row in book.get_sheet_by_name(s).to_python()] for s in SHEETS
    }


@pytest.fixture
def gsheet(tmp_path: Path, sheets_emulator: SheetsEmulator):  # noqa: F811
    key = sheets_emulator.create_spreadsheet("Sales plan", sample_values(), value_input="RAW")
    write_service_account_file(tmp_path / "robot.json", sheets_emulator, ROBOT)
    toml = (SAMPLES / "sheetsync.toml").read_text()
    toml = toml.replace(
        'kind = "xlsx"\npath = "sales_plan.xlsx"',
        f'kind = "gsheets"\nspreadsheet = "https://docs.google.com/spreadsheets/d/{key}/edit"\n'
        f'credentials = "robot.json"\napi_url = "{sheets_emulator.url}"\nretries = 3',
    )
    cfg = tmp_path / "sheetsync.toml"
    cfg.write_text(toml)
    sheets_emulator.reset_counts()
    return cfg, key


def api_counts(emu: SheetsEmulator) -> dict[str, int]:
    return {k: v for k, v in emu.counts.items() if k != "oauth.token"}


def test_pull_reads_everything_in_one_request(gsheet, sheets_emulator, run_cli, sample_dir):  # noqa: F811
    cfg, _ = gsheet
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert api_counts(sheets_emulator) == {"values.batchGet": 1}
    [batch] = [r for r in sheets_emulator.requests if r.kind == "values.batchGet"]
    assert [unquote(x) for x in batch.query["ranges"]] == [f"'{s}'" for s in SHEETS]
    got = Store(load_config(cfg).default_db_url()).all_records()
    assert run_cli("--config", sample_dir / "sheetsync.toml", "pull").exit_code == 0
    want = Store(load_config(sample_dir / "sheetsync.toml").default_db_url()).all_records()
    assert got == want  # the same plan, read from Excel or from Google


def test_an_unchanged_sheet_is_fetched_but_not_mapped_or_written(gsheet, sheets_emulator, run_cli):  # noqa: F811
    cfg, key = gsheet
    assert run_cli("--config", cfg, "pull").exit_code == 0
    store = Store(load_config(cfg).default_db_url())
    sheets_emulator.reset_counts()
    r = run_cli("--config", cfg, "pull")
    assert "unchanged since the last pull" in r.output
    assert api_counts(sheets_emulator) == {"values.batchGet": 1}
    assert len(store.snapshots("plan")) == 2
    sheets_emulator.set_values(key, "Quotas!F2", [[1234]], value_input="RAW")
    r = run_cli("--config", cfg, "pull")
    assert "quotas: 1 updated" in r.output
    store.close()


def test_a_missing_worksheet_is_named_with_the_ones_there(gsheet, sheets_emulator, run_cli):  # noqa: F811
    cfg, _ = gsheet
    cfg.write_text(cfg.read_text().replace('sheet = "Budget"', 'sheet = "Budgets"'))
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2, r.output
    assert "worksheet 'Budgets' not found in Google Sheet 'Sales plan'" in r.output
    assert "'Projects', 'Milestones', 'Quotas', 'Budget', 'Tasks'" in r.output


def test_push_writes_all_changes_in_one_request(gsheet, sheets_emulator, run_cli):  # noqa: F811
    cfg, key = gsheet
    assert run_cli("--config", cfg, "pull").exit_code == 0
    s = Store(load_config(cfg).default_db_url())
    quotas = s.records("quotas")
    changed = [{**q, "closed": (q["closed"] or 0) + 1} for q in quotas[:40]]
    new = {"rep": "Zoe New", "team": "SMB", "period": "2026-12", "quota": 50000.0}
    with s.transaction() as conn:
        s.apply(
            conn,
            "quotas",
            [*changed, new],
            [],
            source="t",
            at=utcnow(),
            replaced=[f"{q['rep']}\x1f{q['period']}" for q in changed],
        )
    sheets_emulator.reset_counts()
    r = run_cli("--config", cfg, "push")
    assert r.exit_code == 0, r.output
    # one read (values, formulas and grid sizes), one write (grid growth and values)
    assert api_counts(sheets_emulator) == {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}
    [get] = [r for r in sheets_emulator.requests if r.kind == "spreadsheets.get"]
    assert "userEnteredValue" in get.query["fields"][0]
    values = sheets_emulator.get_values(key, "Quotas")
    assert values[1][5] == (quotas[0]["closed"] or 0) + 1
    assert values[-1][:5] == ["Zoe New", "SMB", "", "2026-12", 50000]
    sheets_emulator.reset_counts()
    r = run_cli("--config", cfg, "sync")
    assert "already in sync" in r.output
    assert api_counts(sheets_emulator) == {"spreadsheets.get": 1}


def test_sheet_edit_syncs_into_the_model(gsheet, sheets_emulator, run_cli):  # noqa: F811
    cfg, key = gsheet
    assert run_cli("--config", cfg, "pull").exit_code == 0
    sheets_emulator.set_values(key, "Milestones!H3", [[999]], value_input="RAW")
    r = run_cli("--config", cfg, "diff")
    assert "→ model  'Milestones'!H3 (Actual):" in r.output and "→ 999" in r.output
    assert run_cli("--config", cfg, "sync").exit_code == 0
    key3 = sheets_emulator.get_values(key, "Milestones!A3")[0][0]
    ms = {m["key"]: m for m in Store(load_config(cfg).default_db_url()).records("milestones")}
    assert ms[key3]["actual_value"] == 999


def test_text_starting_with_equals_stays_text(gsheet, sheets_emulator, run_cli):  # noqa: F811
    cfg, key = gsheet
    assert run_cli("--config", cfg, "pull").exit_code == 0
    s = Store(load_config(cfg).default_db_url())
    m = s.records("milestones")[0]
    with s.transaction() as conn:
        s.apply(
            conn,
            "milestones",
            [{**m, "notes": "=1+1 is not a formula"}],
            [],
            source="t",
            at=utcnow(),
            replaced=[m["key"]],
        )
    assert run_cli("--config", cfg, "push").exit_code == 0
    assert sheets_emulator.get_values(key, "Milestones!K2", value_render="FORMULA") == [
        ["=1+1 is not a formula"]
    ]


def test_retries_then_a_clear_error(gsheet, sheets_emulator, run_cli):  # noqa: F811
    cfg, _ = gsheet
    sheets_emulator.fail_next(2, 429)
    assert run_cli("--config", cfg, "pull").exit_code == 0
    sheets_emulator.fail_next(10, 503)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 4
    assert "503" in r.output or "unavailable" in r.output.lower()


def test_not_shared_names_the_service_account(gsheet, sheets_emulator, run_cli):  # noqa: F811
    cfg, key = gsheet
    sheets_emulator.deny(key)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 4
    assert f"share the sheet with {ROBOT}" in r.output


def test_init_guesses_a_google_sheet(gsheet, sheets_emulator, run_cli, tmp_path):  # noqa: F811
    _, key = gsheet
    out = tmp_path / "guessed.toml"
    r = run_cli(
        "init",
        f"https://docs.google.com/spreadsheets/d/{key}/edit",
        "--credentials",
        tmp_path / "robot.json",
        "--api-url",
        sheets_emulator.url,
        "-o",
        out,
    )
    assert r.exit_code == 0, r.output
    assert '"Salesperson" → rep' in r.output and '"Due date" → due' in r.output
    guessed = load_config(out).sources["gsheet"]
    assert guessed.kind == "gsheets" and guessed.spreadsheet.endswith(f"/d/{key}/edit")
    assert guessed.tables["quotas"].sheet == "Quotas"
    r = run_cli("--config", out, "validate")
    assert r.exit_code == 0, r.output

"""Key columns configured per table: matching, validation, re-keying, init.

Runs on a SQLite file and on PostgreSQL (``store_url``); the CLI in-process,
the model read back through the library.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from pg import *  # noqa: F403  (store_url: SQLite and PostgreSQL)

from sheetsync.config import load_config
from sheetsync.store import SCHEMA, Store, record_key, utcnow

KICKOFF = "Sales kickoff: revised H2 quotas published"


@pytest.fixture(autouse=True)
def model_db(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHEETSYNC_DB", store_url)
    return store_url


def store_of(cfg: Path) -> Store:
    return Store(os.environ["SHEETSYNC_DB"])


def set_key(cfg: Path, table: str, key: str, *, drop_id: bool = False) -> None:
    """Write ``key = ...`` into the table's section; ``drop_id``: unmap its ID column."""
    lines = cfg.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines.index(f"[sources.plan.tables.{table}]\n") + 1
    end = next(i for i in range(at, len(lines)) if lines[i].startswith("["))
    lines = [ln for i, ln in enumerate(lines) if not (at <= i < end and ln.startswith("key ="))]
    lines.insert(at, f"key = {key}\n")
    text = "".join(lines)
    if drop_id:
        text = re.sub(
            rf"(\[sources\.plan\.tables\.{table}\.columns\]\n)key = .*\n", r"\1", text, count=1
        )
    cfg.write_text(text, encoding="utf-8")


def drop_first_column(path: Path, sheet: str) -> None:
    wb = openpyxl.load_workbook(path)
    wb[sheet].delete_cols(1)
    wb.save(path)


def edit(path: Path, sheet: str, **values: object) -> None:
    wb = openpyxl.load_workbook(path)
    for ref, v in values.items():
        wb[sheet][ref] = v
    wb.save(path)


def resort(path: Path, sheet: str) -> None:
    """The user sorts the sheet Z→A."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2) if r[0].value is not None]
    for i, values in enumerate(reversed(rows), start=2):
        for j, v in enumerate(values, start=1):
            ws.cell(i, j).value = v  # (ws.cell(i, j, None) would leave the old value)
    wb.save(path)


def model_state(cfg: Path) -> tuple:
    s = store_of(cfg)
    with s.engine.connect() as c:
        state = tuple(
            tuple(sorted(map(tuple, c.execute(sa.select(t)).fetchall()), key=repr))
            for t in SCHEMA.values()
        )
    s.close()
    return state


def row_of(path: Path, sheet: str, column: str, value: str) -> int:
    ws = openpyxl.load_workbook(path)[sheet]
    return next(c.row for c in ws[column] if c.value == value)


@pytest.fixture
def cfg(sample_dir: Path) -> Path:
    return sample_dir / "sheetsync.toml"


# ---------------------------------------------------------------- pull


def test_configured_key_matches_rows_without_an_id_column(cfg, run_cli):
    wb = cfg.parent / "sales_plan.xlsx"
    set_key(cfg, "milestones", '["project", "Milestone"]', drop_id=True)  # a field, a header
    drop_first_column(wb, "Milestones")
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "milestones: 20 new" in r.output
    store = store_of(cfg)
    ms = {m["key"]: m for m in store.records("milestones")}
    assert len(ms) == 20
    assert ms[f"GROW20 / {KICKOFF}"]["name"] == KICKOFF  # the ID made of the key columns

    resort(wb, "Milestones")
    row = row_of(wb, "Milestones", "B", KICKOFF)
    edit(wb, "Milestones", **{f"J{row}": "Renamed note"})  # Notes is column J now
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "milestones: 1 updated" in r.output  # matched by Project + Milestone, not by row
    versions = store.history("milestones", f"GROW20\x1f{KICKOFF}")
    assert [v[3]["notes"] for v in versions][-1] == "Renamed note"
    assert len(versions) == 2
    assert len(store.records("milestones")) == 20
    # what shows milestones by their ID keeps working
    assert run_cli("--config", cfg, "status").exit_code == 0
    store.close()


def test_duplicate_configured_key_is_reported_by_cell(cfg, run_cli):
    wb = cfg.parent / "sales_plan.xlsx"
    set_key(cfg, "milestones", '["project", "name"]')
    edit(wb, "Milestones", C3=KICKOFF)  # row 3 now has row 2's project and name
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2
    assert (
        f"'Milestones'!B3 (Project): duplicate key (GROW20, {KICKOFF}): row 2 has the same"
        in r.output
    )
    assert "nothing was written" in r.output
    assert store_of(cfg).records("milestones") == []


def test_blank_key_cell_is_reported(cfg, run_cli):
    wb = cfg.parent / "sales_plan.xlsx"
    set_key(cfg, "milestones", '["project", "name"]', drop_id=True)
    drop_first_column(wb, "Milestones")
    edit(wb, "Milestones", B5=None)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2
    assert "'Milestones'!B5 (Milestone): is blank; every row needs a Milestone" in r.output
    assert store_of(cfg).records("milestones") == []


def test_unknown_key_name_says_what_it_could_be(cfg, run_cli):
    set_key(cfg, "milestones", '["project", "Milestone nam"]')
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 1
    assert "sources.plan.tables.milestones.key: milestones has no field or mapped column" in (
        r.output
    )
    assert "did you mean 'Milestone'?" in r.output
    assert "key, project, name, owner" in r.output


def test_sources_must_agree_on_a_tables_key(cfg, run_cli):
    shutil.copy2(cfg.parent / "sales_plan.xlsx", cfg.parent / "copy.xlsx")
    set_key(cfg, "milestones", '["project", "name"]')
    text = cfg.read_text(encoding="utf-8")
    text += (
        '\n[sources.copy]\npath = "copy.xlsx"\n'
        '[sources.copy.tables.milestones]\nsheet = "Milestones"\nkey = "Milestone ID"\n'
    )
    cfg.write_text(text, encoding="utf-8")
    r = run_cli("--config", cfg, "validate")
    assert r.exit_code == 1
    assert "sources 'plan' and 'copy' both map milestones but match its rows differently" in (
        r.output
    )


# ---------------------------------------------------------------- push / sync


def test_push_and_sync_match_rows_by_the_configured_key(cfg, run_cli):
    wb = cfg.parent / "sales_plan.xlsx"
    set_key(cfg, "milestones", '["project", "name"]', drop_id=True)
    drop_first_column(wb, "Milestones")
    assert run_cli("--config", cfg, "pull").exit_code == 0
    resort(wb, "Milestones")
    assert run_cli("--config", cfg, "sync").exit_code == 0  # learn the re-sorted file

    spec = load_config(cfg).table_spec("milestones")
    store = store_of(cfg)
    key = record_key(spec, {"project": "GROW20", "name": KICKOFF})
    rec = {**store.keyed(store.engine.connect(), "milestones", spec)[key], "owner": "Ana Ruiz"}
    with store.transaction() as conn:  # a teammate's change in the model
        store.apply(
            conn, "milestones", [rec], [], source="t", at=utcnow(), replaced=[key], spec=spec
        )
    r = run_cli("--config", cfg, "push")
    assert r.exit_code == 0, r.output
    row = row_of(wb, "Milestones", "B", KICKOFF)
    ws = openpyxl.load_workbook(wb)["Milestones"]
    assert ws[f"C{row}"].value == "Ana Ruiz"  # Owner, in the row of that milestone
    assert [c.value for c in ws["C"]].count("Ana Ruiz") == 1

    edit(wb, "Milestones", **{f"J{row}": "from the sheet"})
    r = run_cli("--config", cfg, "sync")
    assert r.exit_code == 0, r.output
    assert f"'Milestones'!J{row} (Notes)" in r.output
    (m,) = [m for m in store.records("milestones") if m["name"] == KICKOFF]
    assert m["notes"] == "from the sheet" and m["owner"] == "Ana Ruiz"
    assert len(store.records("milestones")) == 20
    store.close()


# ---------------------------------------------------------------- key changes


def test_changing_the_key_rekeys_the_model_and_keeps_history(cfg, run_cli):
    wb = cfg.parent / "sales_plan.xlsx"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    edit(wb, "Milestones", K2="second version")
    assert "milestones: 1 updated" in run_cli("--config", cfg, "pull").output
    store = store_of(cfg)
    assert len(store.history("milestones", "G-01")) == 2
    with store.engine.connect() as c:
        rows_before = c.execute(sa.select(sa.func.count()).select_from(SCHEMA["milestones"]))
        rows_before = rows_before.scalar()

    set_key(cfg, "milestones", '["project", "name"]')
    gone = row_of(wb, "Milestones", "A", "G-03")
    ws_book = openpyxl.load_workbook(wb)
    ws_book["Milestones"].delete_rows(gone)  # and a milestone deleted meanwhile
    ws_book.save(wb)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "milestones: now matched by Project + Milestone (was Milestone ID)" in r.output
    assert "milestones: 1 deleted" in r.output

    history = store.history("milestones", f"GROW20\x1f{KICKOFF}")
    assert [v[3]["notes"] for v in history][-1] == "second version"
    assert len(history) == 2  # the record's history moved with it
    assert store.history("milestones", "G-01") == []
    assert len(store.records("milestones")) == 19
    with store.engine.connect() as c:
        rows_after = c.execute(sa.select(sa.func.count()).select_from(SCHEMA["milestones"]))
        assert rows_after.scalar() == rows_before  # nothing duplicated; one version closed
        assert store.model_key(c, "milestones") == ("project", "name")

    r = run_cli("--config", cfg, "pull", "--full")
    assert "now matched" not in r.output and "milestones: no change" in r.output
    store.close()


def test_a_key_that_does_not_tell_records_apart_is_refused(cfg, run_cli):
    assert run_cli("--config", cfg, "pull").exit_code == 0
    before = model_state(cfg)
    set_key(cfg, "milestones", '["project", "owner"]')
    for command in ("pull", "sync"):
        r = run_cli("--config", cfg, command)
        assert r.exit_code == 2, r.output
        assert "milestones: sheetsync.toml now matches rows by Project + Owner" in r.output
        assert "(was Milestone ID)" in r.output
        assert 'Project + Owner "GROW20 / Jess Patel": Milestone ID G-02, G-03, G-04' in r.output
        assert "nothing was written" in r.output
        assert model_state(cfg) == before


# ---------------------------------------------------------------- init


def test_init_proposes_a_key_when_there_is_no_id_column(tmp_path, run_cli):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Projects"
    ws.append(["Project ID", "Project", "Owner"])
    ws.append(["P1", "Launch", "Ana"])
    ms = wb.create_sheet("Milestones")
    ms.append(["Project", "Milestone", "Owner", "Due date"])
    ms.append(["P1", "Kickoff", "Ana", "2026-03-01"])
    ms.append(["P1", "Beta", "Ben", "2026-04-01"])
    wb.save(tmp_path / "plan.xlsx")
    out = tmp_path / "sheetsync.toml"
    r = run_cli("init", tmp_path / "plan.xlsx", "-o", out)
    assert r.exit_code == 0, r.output
    assert (
        "Milestones: no ID column for milestones; rows will be matched by Project + Milestone"
        in (r.output)
    )
    text = out.read_text(encoding="utf-8")
    section = text.split("[sources.plan.tables.milestones]")[1]
    assert 'key = ["Project", "Milestone"]' in section.split("\n[")[0]
    assert 'key = ["Project ID"]' in text
    r = run_cli("--config", out, "pull")
    assert r.exit_code == 0, r.output
    store = store_of(out)
    assert sorted(m["key"] for m in store.records("milestones")) == ["P1 / Beta", "P1 / Kickoff"]
    store.close()


def test_a_key_blank_for_some_records_is_refused(cfg, run_cli):
    assert run_cli("--config", cfg, "pull").exit_code == 0
    before = model_state(cfg)
    set_key(cfg, "milestones", '["project", "completed_on"]')
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2, r.output
    assert "some records of the model have no Project + Completed" in r.output
    assert re.search(r"Milestone ID G-\d\d: Project \+ Completed is blank", r.output)
    assert model_state(cfg) == before

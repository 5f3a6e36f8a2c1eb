"""A source is one file: two copies under one name are refused, not merged into each other.

The two-person repro of issue 12: Ana and Ben each keep their own copy of the
plan, and both configs call it ``plan`` and point at the one team model. Before
sources were bound to their file, Ana's untouched copy looked like a change
and reverted Ben's edit at every sync. Runs on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from conftest import SAMPLES
from pg import *  # noqa: F403  (store_url: SQLite and PostgreSQL)

from sheetsync.store import Store


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def person(root: Path, who: str, db: str, source: str = "plan") -> Path:
    """One person's folder: a copy of the sample and a config with the team's ``db``."""
    d = root / who
    d.mkdir()
    shutil.copy2(SAMPLES / "sales_plan.xlsx", d / "sales_plan.xlsx")
    text = (SAMPLES / "sheetsync.toml").read_text(encoding="utf-8")
    text = re.sub(r"\[sources\.plan([.\]])", rf"[sources.{source}\1", text)
    cfg = d / "sheetsync.toml"
    cfg.write_text(f'db = "{db}"\n\n{text}', encoding="utf-8")
    return cfg


def rename_source(cfg: Path, new: str) -> None:
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(re.sub(r"\[sources\.plan([.\]])", rf"[sources.{new}\1", text), encoding="utf-8")


def row_of(wb: Path, key: str) -> int:
    ws = openpyxl.load_workbook(wb)["Milestones"]
    return next(c.row for c in ws["A"] if c.value == key)


def actual_in(wb: Path, key: str) -> object:
    return openpyxl.load_workbook(wb)["Milestones"][f"H{row_of(wb, key)}"].value


def set_actual(wb: Path, key: str, value: float) -> None:
    book = openpyxl.load_workbook(wb)
    book["Milestones"][f"H{row_of(wb, key)}"] = value
    book.save(wb)


def model_actual(db: str, key: str) -> float:
    s = Store(db)
    try:
        return next(m["actual_value"] for m in s.records("milestones") if m["key"] == key)
    finally:
        s.close()


def model_state(db: str) -> tuple:
    s = Store(db)
    try:
        return s.records("milestones"), s.records("quotas"), len(s.snapshots(limit=10_000))
    finally:
        s.close()


@pytest.fixture(autouse=True)
def no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each person's config names the model (README: `db = ...` in everyone's config)."""
    monkeypatch.delenv("SHEETSYNC_DB", raising=False)


def test_two_copies_under_one_name_are_refused_then_sync_as_two_sources(
    store_url, tmp_path, run_cli
):
    ana, ben = person(tmp_path, "ana", store_url), person(tmp_path, "ben", store_url)
    ana_wb, ben_wb = ana.parent / "sales_plan.xlsx", ben.parent / "sales_plan.xlsx"
    assert run_cli("--config", ana, "pull").exit_code == 0

    set_actual(ben_wb, "G-04", 5200)  # Ben's edit in his copy
    before, ben_hash = model_state(store_url), sha(ben_wb)
    expected = (
        f"source 'plan' was last synced from {ana_wb.resolve()}; this config points it at "
        f"{ben_wb.resolve()}: give this copy its own source name, or `--rebind` if you moved "
        "the file"
    )
    for cmd in (["sync"], ["push"], ["pull"], ["sync", "--dry-run"], ["diff"]):
        r = run_cli("--config", ben, *cmd)
        assert r.exit_code == 5, (cmd, r.output)
        assert expected in " ".join(r.output.split()), r.output
        assert model_state(store_url) == before and sha(ben_wb) == ben_hash

    # As the team-model docs say: each copy is its own source.
    rename_source(ben, "ben_plan")
    r = run_cli("--config", ben, "sync")  # a new source has no base: its edits conflict
    assert r.exit_code == 3 and "conflict 'Milestones'!H5 (Actual): sheet 5,200" in r.output
    r = run_cli("--config", ben, "sync", "--prefer", "sheet")  # Ben's copy wins, as he says
    assert r.exit_code == 0, r.output
    assert model_actual(store_url, "G-04") == 5200
    r = run_cli("--config", ana, "sync")  # Ana's untouched copy learns Ben's edit
    assert r.exit_code == 0, r.output
    assert actual_in(ana_wb, "G-04") == 5200 and model_actual(store_url, "G-04") == 5200

    # Rounds of edits on both sides: every edit survives, and then all agree.
    for i in range(3):
        set_actual(ana_wb, "G-05", 100 + i)
        assert run_cli("--config", ana, "sync").exit_code == 0
        assert run_cli("--config", ben, "sync").exit_code == 0
        set_actual(ben_wb, "U-02", 200 + i)
        assert run_cli("--config", ben, "sync").exit_code == 0
        assert run_cli("--config", ana, "sync").exit_code == 0
        for wb in (ana_wb, ben_wb):
            assert (actual_in(wb, "G-05"), actual_in(wb, "U-02")) == (100 + i, 200 + i)
        assert (model_actual(store_url, "G-05"), model_actual(store_url, "U-02")) == (
            100 + i,
            200 + i,
        )
    assert actual_in(ana_wb, "G-04") == actual_in(ben_wb, "G-04") == 5200
    for cfg in (ana, ben):
        r = run_cli("--config", cfg, "sync")
        assert r.exit_code == 0 and "already in sync, nothing to do" in r.output, r.output


def test_a_moved_workbook_is_accepted_with_rebind(store_url, tmp_path, run_cli):
    cfg = person(tmp_path, "ana", store_url)
    assert run_cli("--config", cfg, "pull").exit_code == 0
    moved = cfg.parent / "archive" / "plan 2026.xlsx"
    moved.parent.mkdir()
    (cfg.parent / "sales_plan.xlsx").rename(moved)
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace(
            'path = "sales_plan.xlsx"', 'path = "archive/plan 2026.xlsx"'
        ),
        encoding="utf-8",
    )
    r = run_cli("--config", cfg, "sync")
    assert r.exit_code == 5 and "`--rebind` if you moved the file" in r.output
    set_actual(moved, "G-04", 4321)
    r = run_cli("--config", cfg, "sync", "--rebind")
    assert r.exit_code == 0, r.output
    assert "'Milestones'!H" in r.output and model_actual(store_url, "G-04") == 4321
    r = run_cli("--config", cfg, "sync")  # bound to the new place from now on
    assert r.exit_code == 0 and "already in sync, nothing to do" in r.output, r.output

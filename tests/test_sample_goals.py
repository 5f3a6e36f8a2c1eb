"""samples/sales_goals.xmind: committed file == fresh generation, and it tells the
workbook's story (the Upsell programme, its milestones and tasks)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLES

from sheetsync.config import load_config
from sheetsync.store import Store

SCRIPT = SAMPLES / "make_goals.py"
COMMITTED = SAMPLES / "sales_goals.xmind"


def test_committed_map_equals_a_fresh_generation(tmp_path):
    out = tmp_path / "goals.xmind"
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "-o", str(out)], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == COMMITTED.read_bytes(), "run: python samples/make_goals.py"


def records(cfg: Path, table: str) -> list[dict]:
    store = Store(load_config(cfg).default_db_url())
    try:
        return store.records(table)
    finally:
        store.close()


def test_the_map_tells_the_workbooks_story(tmp_path, run_cli):
    d = tmp_path / "samples"
    shutil.copytree(SAMPLES, d, ignore=shutil.ignore_patterns(".sheetsync", "__pycache__", "out"))
    main, goals = d / "sheetsync.toml", d / "goals" / "sheetsync.toml"
    for cfg in (main, goals):
        r = run_cli("--config", cfg, "pull")
        assert r.exit_code == 0, r.output
    (from_map,) = records(goals, "projects")
    (from_sheet,) = [p for p in records(main, "projects") if p["key"] == "UPSELL"]
    assert from_map == from_sheet
    sheet_ms = sorted((m for m in records(main, "milestones") if m["project"] == "UPSELL"), key=str)
    assert sorted(records(goals, "milestones"), key=str) == sheet_ms and len(sheet_ms) == 10

    def tasks(cfg: Path) -> list[tuple]:
        return sorted(
            (t["name"], t["milestone"], t["owner"], t["due"], t["done"])
            for t in records(cfg, "tasks")
            if t["project"] == "UPSELL"
        )

    assert tasks(goals) == tasks(main) and len(tasks(main)) == 6
    # the quotas come from the workbook, beside the map
    assert len(records(goals, "quotas")) == len(records(main, "quotas")) > 100
    r = run_cli("--config", goals, "sync")
    assert r.exit_code == 0 and r.output.count("already in sync") == 2, r.output

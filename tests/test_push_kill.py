"""Kill real `sheetsync push` processes at many moments: the workbook is always
the old or the new one, never broken, and a later sync finishes the job."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from test_sync import set_model

#: Kill moments as fractions of an unkilled push's wall time, measured in the same
#: run (the machine may be loaded): spread over start-up, planning and writing.
FRACTIONS = [i / 10 for i in range(1, 13)]


def _push_cmd(cfg: Path) -> list[str]:
    # Each run works on a copy of the folder, model included: the workbook moved (--rebind).
    return [sys.executable, "-m", "sheetsync", "--config", str(cfg), "--quiet", "push", "--rebind"]


def _values(path: Path) -> dict[str, list]:
    book = CalamineWorkbook.from_path(str(path))
    return {s: book.get_sheet_by_name(s).to_python() for s in book.sheet_names}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, bytes, bytes, float]:
    """A pulled sample whose model differs from the workbook in a few cells and rows."""
    from click.testing import CliRunner
    from conftest import SAMPLES

    from sheetsync.cli import cli

    base = tmp_path_factory.mktemp("kill") / "plan"
    base.mkdir()
    for name in ("sales_plan.xlsx", "sheetsync.toml"):
        shutil.copy2(SAMPLES / name, base / name)
    cfg = base / "sheetsync.toml"
    assert CliRunner().invoke(cli, ["--config", str(cfg), "pull"]).exit_code == 0
    set_model(cfg, "milestones", "G-05", actual_value=1499.0, status="On track")
    set_model(cfg, "milestones", "U-03", notes="changed by the model")
    old = (base / "sales_plan.xlsx").read_bytes()
    ref = base.parent / "ref"
    shutil.copytree(base, ref)
    started = time.perf_counter()
    subprocess.run(_push_cmd(ref / "sheetsync.toml"), check=True)
    took = time.perf_counter() - started
    new = (ref / "sales_plan.xlsx").read_bytes()
    assert new != old
    return base, old, new, took


def test_killed_pushes_leave_old_or_new_workbook(prepared, tmp_path):
    base, old, new, took = prepared
    new_values = None
    outcomes: list[str] = []
    delays = [took * f for f in FRACTIONS]
    for i, delay in enumerate(delays):
        work = tmp_path / f"run{i}"
        shutil.copytree(base, work)
        wb, cfg = work / "sales_plan.xlsx", work / "sheetsync.toml"
        proc = subprocess.Popen(
            _push_cmd(cfg),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        data = wb.read_bytes()
        assert data in (old, new), (
            f"kill after {delay:.2f}s left a workbook that is neither old nor new"
        )
        outcomes.append("new" if data == new else "old")
        _values(wb)  # opens and reads
        # whatever happened, one sync brings workbook and model into agreement
        r = subprocess.run(
            [sys.executable, "-m", "sheetsync", "--config", str(cfg), "sync", "--rebind"],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run(_push_cmd(cfg)[:-2] + ["push"], capture_output=True, text=True)
        assert "already in sync" in r.stdout, r.stdout + r.stderr
        values = _values(wb)
        new_values = new_values or values
        assert values == new_values
        assert not [p for p in work.iterdir() if p.name.endswith(".tmp")]
    # Which of old / new each kill left depends on the machine's speed: reported, not
    # asserted (tests/test_xlsx_kill.py kills the writer on each side of the swap for sure).
    print(f"outcomes of {len(delays)} killed pushes: {outcomes}")

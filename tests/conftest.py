"""Shared fixtures: a private copy of the sample, the CLI run in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "xlsx"


def require_shared(path: Path) -> Path:
    """Skip (saying why) only where ../shared is absent; it never is in CI."""
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared material lives beside the project checkout")
    return path


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """A private copy of samples/ (workbook + sheetsync.toml) to change freely."""
    d = tmp_path / "plan"
    d.mkdir()
    for name in ("sales_plan.xlsx", "sheetsync.toml"):
        shutil.copy2(SAMPLES / name, d / name)
    return d


@pytest.fixture
def run_cli():
    """Invoke the real CLI in-process; returns Click's Result."""
    from sheetsync.cli import cli

    def run(*args: str | Path, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


from dated_model import dated  # noqa: E402, F401  (a model of four dated pulls; tests/dated_model.py)

"""Shared fixtures: a private copy of the sample, the CLI run in-process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

# Property tests: no per-example deadline (a loaded CI machine is slow, not wrong); in CI
# the same examples every run (derandomized), so a red build is reproducible.
settings.register_profile("sheetsync", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("sheetsync"), derandomize=True)
# scripts/mutation.sh: fewer examples per mutant, the same ones each time
settings.register_profile("mutation", parent=settings.get_profile("ci"), max_examples=25)
settings.load_profile(
    os.environ.get("SHEETSYNC_HYPOTHESIS") or ("ci" if os.environ.get("CI") else "sheetsync")
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "xlsx"


def require_shared(path: Path) -> Path:
    """Skip (saying why) only where ../shared is absent; it never is in CI."""
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared material lives beside the project checkout")
    return path


def soffice_convert(path: Path, fmt: str, outdir: Path) -> Path:
    """``path`` opened and saved as ``fmt`` by headless LibreOffice (``soffice
    --convert-to``), as a user opening the file would see it; a CSV is read as
    UTF-8 with commas. Fails in CI when LibreOffice is missing (./run test
    installs libreoffice-calc-nogui); skips locally, saying so."""
    import os
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        why = "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
        if os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir / ".lo-profile"  # a private profile: parallel runs do not collide
    cmd = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless"]
    if path.suffix == ".csv":
        cmd.append("--infilter=CSV:44,34,76,1")
    cmd += ["--convert-to", fmt, "--outdir", str(outdir), str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    out = outdir / f"{path.stem}.{fmt.split(':')[0]}"
    assert out.exists(), f"soffice wrote no {out.name}"
    return out


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

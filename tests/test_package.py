"""The package as users get it: a wheel that carries the templates, a fast --help."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sqlalchemy", "python_calamine", "openpyxl", "gspread", "weasyprint", "jinja2", "babel")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return next(out.glob("sheetsync-*.whl"))


def test_wheel_ships_templates_and_entry_point(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        assert "sheetsync = sheetsync.cli:main" in z.read(entry).decode()
    templates = {n for n in names if n.startswith("sheetsync/report_templates/")}
    expected = {
        f"sheetsync/report_templates/{p.relative_to(ROOT / 'report_templates').as_posix()}"
        for p in (ROOT / "report_templates").rglob("*")
        if p.is_file()
        and p.suffix in (".html", ".css", ".svg", ".txt")
        and "__pycache__" not in p.parts
    }
    assert expected and expected <= templates
    assert "sheetsync/cli/__init__.py" in names and "sheetsync/sources/xlsx/patch.py" in names


def test_installed_wheel_runs_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import sheetsync, importlib.resources as r, json; "
        "print(json.dumps([sheetsync.__file__, sorted(p.name for p in r.files('sheetsync.report_templates').iterdir())]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    where, files = json.loads(out)
    assert where.startswith(str(target))
    assert any(f.endswith(".html") for f in files)


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from sheetsync.cli import cli\n"
        "try:\n    cli(['--help'], prog_name='sheetsync')\nexcept SystemExit: pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "Exit codes" in out
    assert out.strip().splitlines()[-1] == "[]"


def test_python_dash_m_works():
    r = subprocess.run(
        [sys.executable, "-m", "sheetsync", "--version"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "0.1.0" in r.stdout

"""`sheetsync report` in-process: pull the sample, render, read the files back."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import time_machine
from pypdf import PdfReader


def _text(path) -> str:
    return " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages).split()
    )


@time_machine.travel(datetime(2026, 12, 2, 9, 14, tzinfo=UTC), tick=False)
def test_pull_then_report(sample_dir, run_cli, tmp_path):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    out = tmp_path / "weekly.pdf"
    r = run_cli("--config", cfg, "report", "-o", out)  # as of today: the pull's day
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF")
    text = _text(out)
    assert "Weekly sales status" in text and "NORTHWIND TRADERS" in text
    assert "As of Dec 2, 2026" in text
    assert "Actuals through November 2026 · plan read Dec 2, 2026 from sales_plan.xlsx" in text

    html = tmp_path / "exec.html"
    r = run_cli("--config", cfg, "report", "--report", "executive", "--html", "-o", html)
    assert r.exit_code == 0, r.output
    assert "Executive summary" in html.read_text()


def test_template_dir_and_template_errors(sample_dir, run_cli, tmp_path):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "executive.html").write_text(
        '{% extends "base.html" %}{% block content %}<p>Board pack for {{ meta.company }}</p>'
        "{% endblock %}"
    )
    out = tmp_path / "exec.html"
    args = (
        "--config",
        cfg,
        "report",
        "--report",
        "executive",
        "--html",
        "--template-dir",
        tdir,
        "-o",
        out,
    )
    r = run_cli(*args)
    assert r.exit_code == 0, r.output
    assert "Board pack for Northwind Traders" in out.read_text()

    (tdir / "executive.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n{{ oops }}\n{% endblock %}'
    )
    r = run_cli(*args)
    assert r.exit_code == 1
    assert f"{tdir / 'executive.html'}:3" in r.output and "oops" in r.output


def test_a_report_into_a_folder_that_does_not_exist_is_refused_before_rendering(
    sample_dir, run_cli, tmp_path
):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    out = tmp_path / "no such folder" / "weekly.pdf"
    r = run_cli("--config", cfg, "report", "-o", out)
    assert r.exit_code == 1
    assert f"cannot write {out}: there is no folder {out.parent}" in r.output
    assert "create the folder first" in r.output
    assert "Traceback" not in r.output
    assert not out.parent.exists()

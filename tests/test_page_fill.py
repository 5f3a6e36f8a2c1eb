"""Pages that read as pages (issue 15): the executive summary is one page, for
the sample and for the 50-project benchmark model, and no page of the weekly
report is more than a third empty except the last.

How full a page is comes from where its words land (poppler's ``pdftotext
-bbox``, as the golden layout check reads them): the running header and footer
are left out, and what is left below the lowest word is the page's empty part.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from report_models import bench_pdf, sample_pdf

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
AS_OF = date(2026, 11, 30)
MOST_EMPTY = 1 / 3

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")

_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_WORD = re.compile(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">')


def empty_shares(pdf: bytes, tmp: Path) -> list[float]:
    """Per page, the share of its body (between running header and footer) left
    empty below its lowest word."""
    src, out = tmp / "r.pdf", tmp / "r.html"
    src.write_bytes(pdf)
    subprocess.run(["pdftotext", "-bbox", str(src), str(out)], check=True)
    shares = []
    for _, height, body in _PAGE.findall(out.read_text(encoding="utf-8")):
        h = float(height)
        boxes = [(float(a), float(b)) for a, b in _WORD.findall(body)]
        header = [b for a, b in boxes if b < h * 0.07]
        footer = [a for a, b in boxes if a > h * 0.93]
        text = [b for a, b in boxes if b >= h * 0.07 and a <= h * 0.93]
        top = max(header, default=h * 0.07)
        bottom = min(footer, default=h * 0.93)
        shares.append((bottom - max(text, default=top)) / (bottom - top))
    return shares


def test_the_measure_sees_an_empty_page(tmp_path: Path) -> None:
    from weasyprint import HTML

    css = (
        "<style>@page { margin: 20mm } p { margin: 0; font-size: 12pt; line-height: 20pt }</style>"
    )
    lines = "".join(f"<p>line {i}</p>" for i in range(19))  # 19 x 20 pt: 380 of 722 pt
    doc = HTML(string=css + lines + "<p style='break-before: page'>last</p>").write_pdf()
    first, last = empty_shares(doc, tmp_path)
    assert 0.4 < first < 0.6
    assert last > 0.9


@pytest.mark.parametrize("source", [sample_pdf, bench_pdf], ids=["sample", "benchmark"])
def test_executive_is_one_page_and_weekly_pages_are_full(source, tmp_path: Path) -> None:
    exe = source("executive")
    assert len(empty_shares(exe, tmp_path)) == 1
    weekly = empty_shares(source("weekly"), tmp_path)
    assert len(weekly) >= 4
    assert [round(s, 2) for s in weekly[:-1] if s > MOST_EMPTY] == [], weekly

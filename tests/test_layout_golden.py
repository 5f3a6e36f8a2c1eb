"""Golden layout: where every word of the sample's executive summary lands.

The words and their boxes come from poppler's ``pdftotext -bbox``; the test
compares them with the committed expectation in ``tests/golden/`` and fails when
a word moves by more than ``TOLERANCE`` points, appears, disappears or changes
page. After a deliberate layout change, look at the pages (pdftoppm) and then
rewrite the expectation::

    SHEETSYNC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_layout_golden.py
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from report_models import sample_pdf

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
GOLDEN = Path(__file__).resolve().parent / "golden" / "executive_sample.layout"
TOLERANCE = 3.0  # points
AS_OF = date(2026, 11, 30)

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")

_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">(.*?)</word>'
)


def layout(pdf: bytes, tmp: Path) -> list[tuple[int, float, float, str]]:
    """(page, x, y, word) for every word of ``pdf``, in reading order."""
    src, out = tmp / "r.pdf", tmp / "r.html"
    src.write_bytes(pdf)
    subprocess.run(["pdftotext", "-bbox", str(src), str(out)], check=True)
    words = []
    for page, body in enumerate(out.read_text(encoding="utf-8").split("<page ")[1:], 1):
        for x, y, w in _WORD.findall(body):
            words.append((page, round(float(x), 1), round(float(y), 1), html.unescape(w)))
    return words


def executive_pdf() -> bytes:
    return sample_pdf("executive")


def differences(words: list, expected: list) -> list[str]:
    """What moved, appeared or vanished between two layouts (empty: the same)."""
    if [w for *_, w in words] != [w for *_, w in expected]:
        got, want = [w for *_, w in words], [w for *_, w in expected]
        i = next(
            (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
            min(len(got), len(want)),
        )
        return [f"the words differ from word {i}: {got[i : i + 8]} vs {want[i : i + 8]}"]
    return [
        f"page {p}: {w!r} at ({x}, {y}), expected page {ep} ({ex}, {ey})"
        for (p, x, y, w), (ep, ex, ey, _) in zip(words, expected, strict=True)
        if p != ep or abs(x - ex) > TOLERANCE or abs(y - ey) > TOLERANCE
    ]


def test_executive_layout_matches_the_golden_expectation(tmp_path: Path) -> None:
    words = layout(executive_pdf(), tmp_path)
    if os.environ.get("SHEETSYNC_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text("".join(f"{p}\t{x}\t{y}\t{w}\n" for p, x, y, w in words), "utf-8")
    expected = [
        (int(p), float(x), float(y), w)
        for p, x, y, w in (
            line.split("\t", 3) for line in GOLDEN.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert {p for p, *_ in words} == {1}  # the executive summary is one page
    problems = differences(words, expected)
    assert not problems, "layout changed:\n" + "\n".join(problems[:20])


def test_a_moved_or_changed_word_is_caught() -> None:
    base = [(1, 10.0, 20.0, "Year"), (1, 40.0, 20.0, "to"), (1, 55.0, 20.0, "date")]
    assert differences(base, base) == []
    assert differences([base[0], (1, 40.0 + TOLERANCE + 0.5, 20.0, "to"), base[2]], base)
    assert differences([base[0], (2, 40.0, 20.0, "to"), base[2]], base)
    assert differences([base[0], (1, 40.0, 20.0, "so"), base[2]], base)
    assert differences(base[:2], base)
    assert differences([base[0], (1, 41.0, 21.0, "to"), base[2]], base) == []  # within tolerance

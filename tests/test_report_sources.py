"""The report's "Where the numbers come from" (issue 17), on SQLite and PostgreSQL,
over a model of four dated pulls (tests/dated_model.py, which deletes a budget
row, so unchanged records sit on other rows than where they were first read).

Three headline figures are taken from the HTML report's KPI tiles, followed by
their link to the appendix, whose named cells are read from the workbook with
openpyxl; the figure recomputed from those cells alone is the printed value.
The PDF carries the same appendix.
"""

from __future__ import annotations

import html as htmllib
import io
import re
from pathlib import Path

import openpyxl
from dated_model import run
from openpyxl.utils.cell import coordinate_from_string, range_boundaries
from pg import *  # noqa: F403  (fixtures: store_url)
from pypdf import PdfReader


def expand(ranges: str) -> list[tuple[str, str]]:
    """ "'Quotas'!F2:F4, F7, 'Budget'!C2" → [("Quotas", "F2"), ("Quotas", "F3"), ...]."""
    out, sheet = [], None
    for token in ranges.split(", "):
        if "!" in token:
            name, token = token.split("!")
            sheet = name.strip("'")
        if ":" in token:
            c1, r1, c2, r2 = range_boundaries(token)
            assert c1 == c2, token
            col = coordinate_from_string(token.split(":")[0])[0]
            out += [(sheet, f"{col}{r}") for r in range(r1, r2 + 1)]
        else:
            out.append((sheet, token))
    return out


def inputs_of(page: str, metric: str) -> dict[str, list[float]]:
    """The appendix line a tile links to: each input's cells' values, read from the workbook."""
    li = re.search(rf'<li id="explain-{metric}">(.*?)</li>', page, re.S).group(1)
    return {
        name: htmllib.unescape(cells)
        for name, cells in re.findall(
            r'<span class="input" data-name="([^"]+)">.*?<span class="cells">([^<]*)</span>',
            li,
            re.S,
        )
    }


def tile(page: str, kpi_label: str) -> tuple[str, str]:
    """(printed value, linked metric) of the KPI tile labelled ``kpi_label``."""
    m = re.search(
        rf'<div class="kpi-label">{re.escape(kpi_label)}</div>\s*<div class="kpi-value"><a class="explained" '
        r'href="#explain-([a-z-]+)"[^>]*>([^<]+)</a>',
        page,
    )
    assert m, kpi_label
    return htmllib.unescape(m.group(2)), m.group(1)


def test_three_headline_figures_recomputed_from_the_cells_the_appendix_names(
    dated, tmp_path: Path
) -> None:
    out = tmp_path / "w.html"
    res = run(dated, "report", "--as-of", "2026-12-02", "--html", "-o", out)
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    book = openpyxl.load_workbook(dated[0] / "sales_plan.xlsx")

    def total(ranges: str) -> float:
        values = [book[s][a].value for s, a in expand(ranges)]
        assert all(isinstance(v, int | float) for v in values), ranges  # no blank, no text
        return sum(values)

    shown, metric = tile(page, "Attainment year to date")
    assert metric == "attainment"
    cells = inputs_of(page, metric)
    assert set(cells) == {"closed", "quota"}
    assert expand(cells["closed"])[0] == ("Quotas", "F2")
    assert f"{total(cells['closed']) / total(cells['quota']):.0%}" == shown

    shown, metric = tile(page, "Budget spent")
    cells = inputs_of(page, metric)
    assert cells["spent"] == "'Budget'!D2:D10"  # the workbook after the row was deleted
    assert f"{total(cells['spent']) / total(cells['planned']):.0%}" == shown

    # spend to revenue is said in the budget tile's detail (issue 15: six tiles, the
    # sixth pipeline coverage); its appendix line names the cells it comes from
    detail = re.search(
        r'<div class="kpi-label">Budget spent</div>.*?<div class="kpi-detail">([^<]*)</div>',
        page,
        re.S,
    ).group(1)
    shown = re.search(r"spend to revenue (\d+%)", htmllib.unescape(detail)).group(1)
    cells = inputs_of(page, "spend-to-revenue")
    assert f"{total(cells['spent']) / total(cells['attributed revenue']):.0%}" == shown

    # every tile with a figure links to a line of the appendix
    links = re.findall(r'href="#explain-([a-z-]+)"', page)
    assert sorted(links) == sorted(
        [
            "attainment",
            "period-attainment",
            "projection",
            "milestones",
            "budget",
        ]
    )
    assert all(f'<li id="explain-{m}">' in page for m in links)


def test_the_pdf_has_the_appendix(dated, tmp_path: Path) -> None:
    out = tmp_path / "w.pdf"
    assert run(dated, "report", "--as-of", "2026-12-02", "-o", out).exit_code == 0
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    appendix = text[text.index("Where the numbers come from") :]
    assert "All teams YTD attainment 93% = closed $14,168,462 ÷ quota $15,261,000" in appendix
    assert "closed $14,168,462: 'Quotas'!F2:F128 (12 blank, not reported yet)" in appendix
    assert "All projects budget used 75% = spent $190,850 ÷ planned $255,000" in appendix
    assert "spent $190,850: 'Budget'!D2:D10" in appendix
    assert "(sales_plan.xlsx, read Dec 2, 2026 09:14 UTC)" in appendix
    for line in (
        "YTD pace",
        "projection",
        "gap to the year's quota",
        "required run-rate",
        "RAG",
        "spend to revenue",
    ):
        assert f"All teams {line}" in appendix or f"All projects {line}" in appendix, line


def test_a_team_report_explains_the_team_figures_it_shows(dated, tmp_path: Path) -> None:
    out = tmp_path / "e.html"
    res = run(dated, "report", "--as-of", "2026-12-02", "--team", "enterprise", "--html", "-o", out)
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    shown, metric = tile(page, "Attainment year to date")
    li = re.search(rf'<li id="explain-{metric}">(.*?)</li>', page, re.S).group(1)
    assert f"Enterprise YTD attainment {shown} = closed" in htmllib.unescape(li)
    book = openpyxl.load_workbook(dated[0] / "sales_plan.xlsx")
    cells = inputs_of(page, metric)
    closed = [book[s][a].value for s, a in expand(cells["closed"])]
    quota = [book[s][a].value for s, a in expand(cells["quota"])]
    assert len(closed) == 44 and f"{sum(closed) / sum(quota):.0%}" == shown

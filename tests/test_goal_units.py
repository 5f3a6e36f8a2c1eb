"""A goal's figures carry its unit and its rates read per its own period (issue 15,
item 6): "Monthly revenue ($)" reads in dollars a month, "% customers upgraded" in
percent and percentage points a month; never "24 of 50 %" or "Needed / week 6,323"."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_models import pdf_text, sample_pdf

from sheetsync.formatting import Formatter
from sheetsync.report.units import MONEY, NUMBER, PERCENT, WEEKS_PER, goal_unit, show, show_rate

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
FMT = Formatter("en_US", "USD")


@pytest.mark.parametrize(
    ("metric", "kind", "per", "label"),
    [
        ("Monthly revenue ($)", MONEY, "month", "Monthly revenue"),
        ("% customers upgraded", PERCENT, "month", "customers upgraded"),
        ("Share of accounts on Pro (%)", PERCENT, "month", "Share of accounts on Pro"),
        ("Weekly demos booked", NUMBER, "week", "Weekly demos booked"),
        ("Quarterly bookings (€)", MONEY, "quarter", "Quarterly bookings"),
        ("Net new logos", NUMBER, "month", "Net new logos"),
        ("Weekly sales calls made", NUMBER, "week", "Weekly sales calls made"),
        ("Monthly sales", MONEY, "month", "Monthly sales"),
        ("Sales deals closed ($)", MONEY, "month", "Sales deals closed"),
        (None, NUMBER, "month", ""),
    ],
)
def test_the_unit_is_read_from_the_metric_name(metric, kind, per, label) -> None:
    unit = goal_unit(metric)
    assert (unit.kind, unit.per, unit.label) == (kind, per, label)


def test_values_and_rates_carry_their_units() -> None:
    money, pct, count = (goal_unit(t) for t in ("Monthly revenue ($)", "% upgraded", "Demos"))
    assert show(1_375_000, money, FMT) == "$1,375,000"
    assert show(27.5, pct, FMT) == "27.5%"
    assert show(None, pct, FMT) == "—"
    assert show(1204, count, FMT) == "1,204"
    # a per-week need of 7 is 7 × 365.25 / 12 / 7 = 30.44 a month
    assert WEEKS_PER["month"] == pytest.approx(4.348, abs=1e-3)
    assert show_rate(7, count, FMT) == "30.4 a month"
    assert show_rate(1.35, pct, FMT) == "5.87 pp a month"
    assert show_rate(6323, money, FMT) == f"{FMT.money(6323 * WEEKS_PER['month'])} a month"
    assert show_rate(None, money, FMT) == "—"


@pytest.fixture(scope="module")
def weekly_text() -> str:
    return pdf_text(sample_pdf("weekly"))


def test_the_sample_goals_read_in_their_units_in_the_weekly_report(weekly_text: str) -> None:
    money = FMT.money
    assert money(1_500_000) == "$1,500,000"
    assert f"{money(1_471_998)} of the {money(1_500_000)} target · Monthly revenue" in weekly_text
    assert "24% of the 50% target · customers upgraded" in weekly_text
    assert f"from {money(1_250_000)}" in weekly_text
    # GROW20's last checkpoint needs (1,500,000 - 1,471,998) over the 31 days to
    # Dec 31: 6,323 a week, which is 27,494 a month
    assert f"{money(27_494)} a month" in weekly_text
    assert "Needed a month" in weekly_text
    assert "27.5% expected by now" in weekly_text
    for gone in ("24 of 50", "1,375,000 1,375,000", "Needed / week 6,323"):
        assert gone not in weekly_text

from datetime import date, datetime

import pytest

from sheetsync.periods import parse_period, period_bounds


@pytest.mark.parametrize(
    "text, label",
    [
        ("Jan 2024", "2024-01"),
        ("January 2024", "2024-01"),
        ("sept. 2026", "2026-09"),
        ("2026-03", "2026-03"),
        ("03/2026", "2026-03"),
        ("2026-Q3", "2026-Q3"),
        ("Q3 2026", "2026-Q3"),
        ("FY27 H1", "FY2027-H1"),
        ("FY2027-Q2", "FY2027-Q2"),
        ("fy27", "FY2027"),
        ("2026-W48", "2026-W48"),
        ("W48 2026", "2026-W48"),
        ("2026 H2", "2026-H2"),
        ("  2026  ", "2026"),
        (datetime(2026, 5, 1), "2026-05"),
        (date(2026, 5, 17), "2026-05"),
        (2026.0, "2026"),
    ],
)
def test_parse_period(text, label):
    assert parse_period(text) == label


@pytest.mark.parametrize(
    "text", ["13/2026", "2026-W60", "someday", "Q5 2026", "FY27 H3", 12.5, True]
)
def test_not_a_period(text):
    assert parse_period(text) is None


@pytest.mark.parametrize(
    "label, fy, bounds",
    [
        ("2026-02", 1, (date(2026, 2, 1), date(2026, 2, 28))),
        ("2026-Q3", 1, (date(2026, 7, 1), date(2026, 9, 30))),
        ("2026-H1", 1, (date(2026, 1, 1), date(2026, 6, 30))),
        ("2026", 1, (date(2026, 1, 1), date(2026, 12, 31))),
        ("2026-W48", 1, (date(2026, 11, 23), date(2026, 11, 29))),
        ("FY2027", 4, (date(2026, 4, 1), date(2027, 3, 31))),
        ("FY2027-H1", 4, (date(2026, 4, 1), date(2026, 9, 30))),
        ("FY2027-Q4", 7, (date(2027, 4, 1), date(2027, 6, 30))),
        ("FY2027", 1, (date(2027, 1, 1), date(2027, 12, 31))),
    ],
)
def test_bounds(label, fy, bounds):
    assert period_bounds(label, fy) == bounds

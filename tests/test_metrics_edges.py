"""Metrics and periods at their edges: thresholds exactly at, just below and just
above; zero and missing figures; due and completed today; the straight line;
fractional, falling and multi-horizon checkpoints; budget totals; fiscal years
that cross a calendar year. Every expected number is worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sheetsync import metrics as m
from sheetsync.config import RagSettings
from sheetsync.periods import parse_period, period_bounds, period_of

RAG = RagSettings()  # green >= 95 %, amber >= 80 %, at risk within 14 days
EPS = 1e-9
AS_OF = date(2026, 11, 30)

# ------------------------------------------------------------------ RAG thresholds


@pytest.mark.parametrize(
    ("pace", "status", "explanation"),
    [
        (0.95 + EPS, m.GREEN, "pace 95% ≥ 95% (green threshold)"),
        (0.95, m.GREEN, "pace 95% ≥ 95% (green threshold)"),  # at the threshold: green
        (0.95 - EPS, m.AMBER, "pace 94.99% is below 95% but ≥ 80%"),  # never "95%" in Amber
        (0.80 + EPS, m.AMBER, "pace 80% is below 95% but ≥ 80%"),
        (0.80, m.AMBER, "pace 80% is below 95% but ≥ 80%"),  # at the threshold: amber
        (0.80 - EPS, m.RED, "pace 79.99% is below 80% (amber threshold)"),
        (0.0, m.RED, "pace 0% is below 80% (amber threshold)"),
        (-0.5, m.RED, "pace -50% is below 80% (amber threshold)"),
        (2.5, m.GREEN, "pace 250% ≥ 95% (green threshold)"),
        (None, m.GREY, "no pace: nothing was expected yet"),
    ],
)
def test_rag_for_pace_at_each_threshold(pace, status, explanation):
    rag = m.rag_for_pace(pace, RAG)
    assert (rag.status, rag.value, rag.explanation) == (status, pace, explanation)
    assert rag.label == {"green": "Green", "amber": "Amber", "red": "Red", "grey": "n/a"}[status]


def test_rag_thresholds_from_the_config_and_the_name_of_the_figure():
    strict = RagSettings(green_at=1.0, amber_at=0.9)
    assert m.rag_for_pace(1.0, strict).status == m.GREEN
    assert m.rag_for_pace(1.0 - EPS, strict).status == m.AMBER
    assert m.rag_for_pace(0.9, strict).status == m.AMBER
    assert m.rag_for_pace(0.9 - EPS, strict).status == m.RED
    assert m.rag_for_pace(None, strict, "attainment").explanation == (
        "no attainment: nothing was expected yet"
    )
    assert m.rag_for_pace(0.5, strict, "share").explanation == (
        "share 50% is below 90% (amber threshold)"
    )
    # a pace worked out from figures lands exactly on the threshold
    assert m.rag_for_pace(m.ratio(95_000, 100_000), RAG).status == m.GREEN
    assert m.rag_for_pace(m.ratio(80, 100), RAG).status == m.AMBER


def test_rag_rules_state_the_configured_numbers():
    rules = m.rag_rules(RagSettings(green_at=0.9, amber_at=0.7, at_risk_days=10))
    assert "Green: pace ≥ 90%. Amber: 70% ≤ pace < 90%. Red: pace < 70%." in rules[0]
    assert "due within 10 days" in rules[1]
    assert "Delivery: Red from 2 late milestones, Amber from 1 late or any at risk" in rules[2]
    assert rules[3] == (
        "A blank Sales cell is not reported yet (a 0 is zero): attainment, pace and "
        "projection run through the last period whose actuals are in. Projection = actual at "
        "its daily run-rate since the first period with a quota, extended to the end of the "
        "last one. Needed/week = gap ÷ weeks left in the period."
    )
    assert len(rules) == 4


# ------------------------------------------------------------------ zero and missing


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (50.0, 100.0, 0.5),
        (0.0, 100.0, 0.0),  # nothing yet is 0 %, not "unknown"
        (50.0, 0.0, None),  # a zero target: no ratio, no ZeroDivisionError
        (50.0, 0, None),
        (50.0, None, None),
        (None, 100.0, None),
        (None, None, None),
        (None, 0.0, None),
        (-20.0, 100.0, -0.2),
        (30.0, -60.0, -0.5),
    ],
)
def test_ratio(numerator, denominator, expected):
    assert m.ratio(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("closed", "quota", "expected"),
    [
        (45_000.0, 100_000.0, 0.45),
        (None, 100_000.0, 0.0),  # nothing closed yet: 0 % of the quota
        (0.0, 100_000.0, 0.0),
        (45_000.0, 0.0, None),  # zero quota
        (45_000.0, None, None),  # no quota
        (None, None, None),
        (120_000.0, 100_000.0, 1.2),
    ],
)
def test_attainment(closed, quota, expected):
    assert m.attainment(closed, quota) == expected


def test_days_and_fractions_at_the_bounds():
    nov = (date(2026, 11, 1), date(2026, 11, 30))
    assert m.days_inclusive(*nov) == 30
    assert m.days_inclusive(date(2026, 11, 1), date(2026, 11, 1)) == 1
    assert m.days_inclusive(date(2026, 11, 2), date(2026, 11, 1)) == 0
    assert m.elapsed_days(*nov, date(2026, 10, 31)) == 0
    assert m.elapsed_days(*nov, date(2026, 11, 1)) == 1
    assert m.elapsed_days(*nov, date(2026, 12, 25)) == 30
    # a period that ends before it starts is over: fully elapsed, never a division by zero
    assert m.elapsed_fraction(date(2026, 11, 2), date(2026, 11, 1), AS_OF) == 1.0
    assert m.straight_line(300.0, *nov, date(2026, 11, 10)) == pytest.approx(100.0)
    assert m.straight_line(300.0, *nov, date(2026, 10, 1)) == 0.0


def test_gap_weeks_left_and_the_needed_run_rate():
    assert m.gap(100.0, 40.0) == 60.0
    assert m.gap(100.0, 100.0) == 0.0
    assert m.gap(100.0, 140.0) == 0.0  # never below zero
    assert m.weeks_left(date(2026, 12, 14), AS_OF) == 2.0
    assert m.weeks_left(AS_OF, AS_OF) == 0.0
    assert m.weeks_left(date(2026, 11, 1), AS_OF) == 0.0  # over: 0, not negative
    assert m.required_weekly(60.0, date(2026, 12, 14), AS_OF) == 30.0
    assert m.required_weekly(-5.0, AS_OF, AS_OF) == 0.0  # ahead: nothing needed
    assert m.required_weekly(60.0, date(2026, 11, 1), AS_OF) is None  # missing, no time left


# ------------------------------------------------------------------ milestones


def ms(**fields):
    return {"status": "On track", **fields}


@pytest.mark.parametrize(
    ("record", "category", "reason"),
    [
        # due today
        (ms(status=None, due=AS_OF), m.AT_RISK, "due today, not started"),
        (ms(status="Not started", due=AS_OF), m.AT_RISK, "due today, not started"),
        (ms(due=AS_OF), m.ON_TRACK, "on schedule"),  # marked On track, no progress figure
        (
            ms(due=AS_OF, start=date(2026, 11, 1), target_value=100, actual_value=99),
            m.AT_RISK,
            "due today, 99% done vs 100% expected by now",
        ),
        (ms(due=AS_OF, target_value=100, actual_value=100), m.DONE, "target reached"),
        (ms(due=AS_OF - timedelta(days=1)), m.LATE, "1 day past due, not done"),
        (ms(due=AS_OF - timedelta(days=2)), m.LATE, "2 days past due, not done"),
        # completed today, before, after
        (ms(due=AS_OF, completed_on=AS_OF), m.DONE, "completed on 2026-11-30"),
        (
            ms(due=date(2026, 11, 1), completed_on=date(2026, 10, 30)),
            m.DONE,
            "completed on 2026-10-30",
        ),
        (  # completed tomorrow: as of today it is not done, and past due
            ms(due=date(2026, 11, 20), completed_on=AS_OF + timedelta(days=1)),
            m.LATE,
            "10 days past due, not done",
        ),
        (ms(status=" DONE ", due=date(2026, 1, 1)), m.DONE, "completed"),
        (ms(status="Completed"), m.DONE, "completed"),
        (ms(status="closed"), m.DONE, "completed"),
        # progress behind / on / ahead of the straight line (start Nov 1, due Dec 10:
        # 30 of 40 days gone, 75 % expected)
        (
            ms(start=date(2026, 11, 1), due=date(2026, 12, 10), target_value=100, actual_value=74),
            m.AT_RISK,
            "due in 10 days, 74% done vs 75% expected by now",
        ),
        (
            ms(start=date(2026, 11, 1), due=date(2026, 12, 10), target_value=100, actual_value=75),
            m.ON_TRACK,
            "on schedule",
        ),
        (
            ms(start=date(2026, 11, 1), due=date(2026, 12, 10), target_value=4, actual_value=3),
            m.ON_TRACK,  # 3/4 is exactly the 75 % expected
            "on schedule",
        ),
        (
            ms(start=date(2026, 11, 1), due=date(2026, 12, 10), target_value=100, actual_value=76),
            m.ON_TRACK,
            "on schedule",
        ),
        (  # far behind but far from due: not yet at risk
            ms(start=date(2026, 11, 1), due=date(2027, 3, 1), target_value=100, actual_value=1),
            m.ON_TRACK,
            "on schedule",
        ),
        # the at-risk window: 14 days is inside, 15 outside
        (ms(status="Not started", due=AS_OF + timedelta(days=14)), m.AT_RISK, "due in 14 days, not started"),
        (ms(status="Not started", due=AS_OF + timedelta(days=15)), m.NOT_STARTED, "not started"),
        # no start date: no straight line, half done is the bar
        (ms(due=date(2026, 12, 5), actual_value=0.49), m.AT_RISK, "due in 5 days, only 49% done"),
        (ms(due=date(2026, 12, 5), actual_value=0.5), m.ON_TRACK, "on schedule"),
        (ms(due=date(2026, 12, 5), actual_value=40), m.AT_RISK, "due in 5 days, only 40% done"),
        (  # a start after the due date draws no line
            ms(start=date(2026, 12, 20), due=date(2026, 12, 5), actual_value=0.4),
            m.AT_RISK,
            "due in 5 days, only 40% done",
        ),
        # marked by hand
        (ms(status="Late", due=date(2027, 6, 1)), m.LATE, "marked Late"),
        (ms(status="at-risk", due=date(2027, 6, 1)), m.AT_RISK, "marked At risk"),
        (ms(status="AtRisk"), m.AT_RISK, "marked At risk"),
        (ms(status="At risk", due=date(2026, 11, 1)), m.LATE, "29 days past due, not done"),
        # a bare fraction of 1.0 without a target is progress, not "target reached"
        (ms(due=date(2026, 11, 1), actual_value=1.0), m.LATE, "29 days past due, not done"),
        (ms(), m.ON_TRACK, "on schedule"),  # nothing known
        (  # a one-day milestone in 5 days: on its line nothing is expected yet
            ms(start=date(2026, 12, 5), due=date(2026, 12, 5), actual_value=0.4),
            m.ON_TRACK,
            "on schedule",
        ),
    ],
)  # fmt: skip
def test_classify_milestone(record, category, reason):
    state = m.classify_milestone(record, AS_OF, RAG)
    assert (state.category, state.reason) == (category, reason)
    assert state.label == m.CATEGORY_LABELS[category]
    assert (
        state.rag
        == {
            m.DONE: m.GREY,  # Done and Not started are states of their own, neutral
            m.NOT_STARTED: m.GREY,
            m.ON_TRACK: m.GREEN,
            m.AT_RISK: m.AMBER,
            m.LATE: m.RED,
        }[category]
    )


def test_milestone_state_carries_the_numbers_behind_it():
    s = m.classify_milestone(
        ms(start=date(2026, 11, 1), due=date(2026, 12, 10), target_value=10, actual_value=4),
        AS_OF,
        RAG,
    )
    assert s.progress == pytest.approx(0.4)
    assert s.expected == pytest.approx(0.75)
    assert s.days_to_due == 10
    s = m.classify_milestone(ms(due=date(2026, 11, 20)), AS_OF, RAG)
    assert (s.progress, s.expected, s.days_to_due) == (None, None, -10)


@pytest.mark.parametrize(
    ("record", "progress"),
    [
        ({"target_value": 200, "actual_value": 50}, 0.25),
        ({"target_value": 0, "actual_value": 0.3}, 0.3),  # a zero target: read the bare value
        ({"actual_value": 1.5}, 1.5),  # fraction up to 1.5
        ({"actual_value": 1.6}, 0.016),  # a percentage above
        ({"actual_value": 0}, 0.0),
        ({"status": "complete"}, 1.0),
        ({"status": "On track"}, None),
        ({"target_value": 10}, None),
    ],
)
def test_milestone_progress(record, progress):
    got = m.milestone_progress(record)
    assert got == (pytest.approx(progress) if progress is not None else None)


def test_count_categories_lists_every_category():
    states = [m.classify_milestone(r, AS_OF, RAG) for r in (ms(status="Done"), ms(), ms())]
    assert m.count_categories(states) == {
        m.LATE: 0,
        m.AT_RISK: 0,
        m.ON_TRACK: 2,
        m.NOT_STARTED: 0,
        m.DONE: 1,
    }
    assert list(m.count_categories([])) == list(m.MILESTONE_CATEGORIES)


# ------------------------------------------------------------------ checkpoints

START = date(2026, 1, 1)
TEN_DAYS = date(2026, 1, 10)  # start..due is 10 days: each day is 10 % of the line


def one(baseline, current, target, as_of, due=TEN_DAYS, settings=RAG):
    (cp,) = m.pace_checkpoints(baseline, current, START, [("cp", due, target)], as_of, settings)
    return cp


def test_fractional_checkpoint_on_the_line():
    # 10 % → 30 % of customers, as fractions; half the time gone, half the way there
    cp = one(0.10, 0.20, 0.30, date(2026, 1, 5))
    assert cp.expected == pytest.approx(0.20)
    assert cp.progress == pytest.approx(0.5)
    assert cp.pace == pytest.approx(1.0)
    assert cp.projection == pytest.approx(0.30)  # 0.02 a day for 10 days, from 0.10
    assert cp.gap == pytest.approx(0.10)
    assert cp.required_weekly == pytest.approx(0.10 / (5 / 7))
    assert cp.rag.status == m.GREEN and not cp.reached and not cp.passed


@pytest.mark.parametrize(
    ("current", "status"),
    [(0.195, m.GREEN), (0.1949, m.AMBER), (0.18, m.AMBER), (0.1799, m.RED)],
)
def test_fractional_checkpoint_thresholds(current, status):
    # expected 0.20 by Jan 5: 0.095 of 0.10 made is a pace of 95 %, 0.08 is 80 %
    assert one(0.10, current, 0.30, date(2026, 1, 5)).rag.status == status


def test_falling_checkpoint():
    # churn 8 % → 5 % in 10 days; on Jan 5 the line says 6.5 %
    cp = one(8.0, 6.5, 5.0, date(2026, 1, 5))
    assert cp.expected == pytest.approx(6.5)
    assert cp.progress == pytest.approx(0.5)
    assert cp.pace == pytest.approx(1.0)
    assert cp.gap == pytest.approx(1.5)  # still 1.5 points to fall
    assert cp.projection == pytest.approx(5.0)
    assert cp.rag.status == m.GREEN
    behind = one(8.0, 7.5, 5.0, date(2026, 1, 5))  # fell 0.5 of 1.5 expected
    assert behind.pace == pytest.approx(1 / 3) and behind.rag.status == m.RED
    wrong_way = one(8.0, 9.0, 5.0, date(2026, 1, 5))  # churn rose
    assert wrong_way.pace == pytest.approx(-2 / 3) and wrong_way.gap == pytest.approx(4.0)
    below = one(8.0, 4.0, 5.0, date(2026, 1, 5))  # already below the target
    assert below.reached and below.gap == 0.0 and below.rag.explanation == "checkpoint reached"


def test_checkpoint_due_today_and_after():
    due_today = one(0.10, 0.25, 0.30, TEN_DAYS)
    assert not due_today.passed and not due_today.reached
    assert due_today.required_weekly is None  # still missing, no time left
    assert due_today.pace == pytest.approx(0.75) and due_today.rag.status == m.RED
    late = one(0.10, 0.25, 0.30, TEN_DAYS + timedelta(days=1))
    assert late.passed and late.rag.status == m.RED
    assert late.rag.explanation == "due 2026-01-10 passed, not reached"
    assert late.rag.value == pytest.approx(0.75)
    reached_late = one(0.10, 0.30, 0.30, TEN_DAYS + timedelta(days=1))
    assert reached_late.reached and reached_late.rag.status == m.GREEN
    assert reached_late.required_weekly == 0.0


def test_checkpoint_before_its_start():
    cp = one(0.10, 0.10, 0.30, START - timedelta(days=1))
    assert cp.pace is None and cp.projection is None
    assert cp.rag.status == m.GREY
    assert cp.expected == pytest.approx(0.10) and cp.progress == 0.0


def test_checkpoint_with_no_change_to_make():
    cp = one(0.30, 0.30, 0.30, date(2026, 1, 5))
    assert cp.progress is None and cp.reached and cp.rag.status == m.GREEN
    above = one(0.30, 0.35, 0.30, date(2026, 1, 5))  # "keep it at 30 %", and it is above
    assert above.reached and above.gap == 0.0


def test_a_reached_checkpoint_keeps_its_numbers():
    cp = one(0.10, 0.40, 0.30, date(2026, 1, 5))
    assert cp.reached and cp.rag.value == pytest.approx(1.5)  # 150 % of the way
    assert (cp.label, cp.due, cp.target) == ("cp", TEN_DAYS, 0.30)


def test_falling_checkpoints_sorted_by_due_date_not_by_target():
    cps = m.pace_checkpoints(
        8.0,
        7.0,
        START,
        [("a: 5% in 20 days", date(2026, 1, 20), 5.0), ("z: 6% in 10 days", TEN_DAYS, 6.0)],
        date(2026, 1, 5),
        RAG,
    )
    assert [c.label for c in cps] == ["z: 6% in 10 days", "a: 5% in 20 days"]
    assert [c.pace for c in cps] == pytest.approx([1.0, 1 / 0.75])


def test_multi_horizon_checkpoints_each_on_its_own_line():
    # 10 → 30 in 10 days, 10 → 50 in 20 days, 10 → 40 also in 20 days
    cps = m.pace_checkpoints(
        10.0,
        18.0,
        START,
        [
            ("50 in 20 days", date(2026, 1, 20), 50.0),
            ("30 in 10 days", TEN_DAYS, 30.0),
            ("40 in 20 days", date(2026, 1, 20), 40.0),
        ],
        date(2026, 1, 5),
        RAG,
    )
    assert [c.label for c in cps] == ["30 in 10 days", "40 in 20 days", "50 in 20 days"]
    first, second, third = cps
    assert first.expected == pytest.approx(20.0) and first.pace == pytest.approx(0.8)
    assert first.rag.status == m.AMBER  # exactly at the amber threshold
    assert second.expected == pytest.approx(17.5) and second.pace == pytest.approx(8 / 7.5)
    assert second.rag.status == m.GREEN
    assert third.expected == pytest.approx(20.0) and third.pace == pytest.approx(0.8)
    assert [c.gap for c in cps] == pytest.approx([12.0, 22.0, 32.0])
    assert all(c.baseline == 10.0 and c.current == 18.0 for c in cps)


def test_no_checkpoints():
    assert m.pace_checkpoints(1.0, 2.0, START, [], AS_OF, RAG) == []


# ------------------------------------------------------------------ budget


def test_budget_totals_of_nothing():
    t = m.budget_totals([])
    assert (t.planned, t.spent, t.revenue, t.over_plan) == (0.0, 0.0, 0.0, 0)
    assert t.spent_share is None and t.spend_to_revenue is None


def test_budget_totals_edges():
    t = m.budget_totals(
        [
            {"planned": 100.0, "spent": 100.0, "attributed_revenue": 0.0},  # on plan: not over
            {"planned": 100.0, "spent": 100.01},  # a cent over
            {"planned": None, "spent": 5.0},  # spent without a plan: over
            {"planned": 50.0, "spent": None, "attributed_revenue": None},
            {},
        ]
    )
    assert (t.planned, t.spent, t.revenue) == (250.0, pytest.approx(205.01), 0.0)
    assert t.over_plan == 2
    assert t.spent_share == pytest.approx(205.01 / 250)
    assert t.spend_to_revenue is None  # no attributed revenue: no ratio


def test_budget_totals_with_revenue():
    t = m.budget_totals(
        [
            {"planned": 200.0, "spent": 50.0, "attributed_revenue": 400.0},
            {"planned": 0.0, "spent": 0.0, "attributed_revenue": 100.0},
        ]
    )
    assert t.spent_share == 0.25 and t.spend_to_revenue == 0.1 and t.over_plan == 0


# ------------------------------------------------------------------ fiscal years


@pytest.mark.parametrize(
    ("label", "fy_start", "bounds"),
    [
        # a fiscal year from October: FY2027 runs Oct 2026 .. Sep 2027
        ("FY2027", 10, (date(2026, 10, 1), date(2027, 9, 30))),
        ("FY2027-Q1", 10, (date(2026, 10, 1), date(2026, 12, 31))),
        ("FY2027-Q2", 10, (date(2027, 1, 1), date(2027, 3, 31))),
        ("FY2027-H1", 10, (date(2026, 10, 1), date(2027, 3, 31))),  # across New Year
        ("FY2027-H2", 10, (date(2027, 4, 1), date(2027, 9, 30))),
        ("FY2027-Q4", 10, (date(2027, 7, 1), date(2027, 9, 30))),
        # from December: the first quarter holds a February
        ("FY2027-Q1", 12, (date(2026, 12, 1), date(2027, 2, 28))),
        ("FY2027", 12, (date(2026, 12, 1), date(2027, 11, 30))),
        # from March: the last quarter ends on a leap day
        ("FY2028-Q4", 3, (date(2027, 12, 1), date(2028, 2, 29))),
        ("FY2028", 3, (date(2027, 3, 1), date(2028, 2, 29))),
        # from February
        ("FY2027-H2", 2, (date(2026, 8, 1), date(2027, 1, 31))),
        # a calendar fiscal year: FY2027 is 2027
        ("FY2027-Q1", 1, (date(2027, 1, 1), date(2027, 3, 31))),
        ("FY2027-H2", 1, (date(2027, 7, 1), date(2027, 12, 31))),
        # calendar labels ignore the fiscal start
        ("2026-Q4", 10, (date(2026, 10, 1), date(2026, 12, 31))),
        ("2026-12", 10, (date(2026, 12, 1), date(2026, 12, 31))),
        ("2026-W53", 1, (date(2026, 12, 28), date(2027, 1, 3))),  # an ISO week across years
        ("2027-W01", 1, (date(2027, 1, 4), date(2027, 1, 10))),
    ],
)
def test_period_bounds_across_a_fiscal_year(label, fy_start, bounds):
    assert period_bounds(label, fy_start) == bounds


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("FY27 Q1", "FY2027-Q1"),
        ("Q1 FY27", "FY2027-Q1"),
        ("FY'27 H2", "FY2027-H2"),
        ("fy2027-q4", "FY2027-Q4"),
        ("FY 2027", "FY2027"),
        ("FY2027", "FY2027"),  # fiscal, not the calendar year 2027
        ("CY2027", "2027"),
        ("2027", "2027"),
        ("Dec 2026", "2026-12"),
        ("Jan '27", "2027-01"),
        ("FY27 H3", None),
        ("2026-W53", "2026-W53"),  # 2026 has 53 ISO weeks
        ("2027-W53", None),  # 2027 has 52
    ],
)
def test_fiscal_labels(text, label):
    assert parse_period(text) == label


def test_pacing_a_fiscal_half_across_new_year():
    start, end = period_bounds("FY2027-H1", 10)  # Oct 1 2026 .. Mar 31 2027: 182 days
    assert m.days_inclusive(start, end) == 182
    assert m.elapsed_fraction(start, end, date(2026, 12, 31)) == pytest.approx(92 / 182)
    assert m.elapsed_fraction(start, end, date(2027, 1, 1)) == pytest.approx(93 / 182)
    assert m.straight_line(182_000.0, start, end, date(2027, 1, 1)) == pytest.approx(93_000.0)


@pytest.mark.parametrize(
    ("day", "kind", "label"),
    [
        (date(2026, 12, 31), "month", "2026-12"),
        (date(2027, 1, 1), "month", "2027-01"),
        (date(2026, 12, 31), "quarter", "2026-Q4"),
        (date(2027, 1, 1), "quarter", "2027-Q1"),
        (date(2026, 3, 31), "quarter", "2026-Q1"),
        (date(2026, 4, 1), "quarter", "2026-Q2"),
        (date(2026, 12, 31), "year", "2026"),
    ],
)
def test_period_of(day, kind, label):
    assert period_of(day, kind) == label

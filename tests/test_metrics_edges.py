"""Metrics and periods at their edges: thresholds exactly at, just below and just
above; zero and missing figures; due and completed today; the straight line;
fractional, falling and multi-horizon checkpoints; budget totals; fiscal years
that cross a calendar year. Every expected number is worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sheetsync import metrics as m
from sheetsync.metrics import RagSettings
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
    assert rules[0] == (
        "Pace = actual ÷ expected by now on a straight line through each period. "
        "Green: pace ≥ 90%. Amber: 70% ≤ pace < 90%. Red: pace < 70%. "
        "A figure next to a threshold keeps a decimal (94.8%)."
    )
    assert "due within 10 days" in rules[1]
    assert "Delivery: Red from 2 late milestones, Amber from 1 late or any at risk" in rules[2]
    assert rules[2].endswith(
        "else Green. A project's heading, and the verdict's bar (sales and delivery), show the worse."
    )
    assert rules[3] == (
        "A blank Sales cell is not reported yet (a 0 is zero): attainment, pace and "
        "projection run through the last period whose actuals are in. Projection = actual at "
        "its daily run-rate since the first period with a quota, extended to the end of the "
        "last one. Needed/week = gap ÷ weeks left in the period (once it has ended: what "
        "is short)."
    )
    assert rules[4].startswith("Budget: a line spent beyond its plan is Amber")
    assert len(rules) == 5


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


# ------------------------------------------------------------------ pacing over parts

OCT = (date(2026, 10, 1), date(2026, 10, 31))
NOV = (date(2026, 11, 1), date(2026, 11, 30))
DEC = (date(2026, 12, 1), date(2026, 12, 31))
MID_NOV = date(2026, 11, 15)


def test_pace_parts_needs_a_part():
    with pytest.raises(ValueError) as e:
        m.pace_parts([], MID_NOV, RAG)
    assert str(e.value) == "pace_parts needs at least one part"


def test_pace_parts_keeps_its_horizon_and_day():
    p = m.pace_parts([m.Part(*NOV, 100.0, 30.0), m.Part(*OCT, 100.0, 100.0)], MID_NOV, RAG)
    assert (p.start, p.end, p.as_of, p.covered) == (OCT[0], NOV[1], MID_NOV, MID_NOV)
    assert (p.target, p.target_to_date, p.actual) == (200.0, 200.0, 130.0)
    assert p.expected == pytest.approx(150.0)
    assert (p.members, p.members_reported) == (1, 1)


@pytest.mark.parametrize(
    ("parts", "explanation"),
    [
        ([m.Part(*DEC, 100.0, None)], "not begun yet"),
        # a period beginning on the as-of day has begun
        ([m.Part(MID_NOV, NOV[1], 100.0, None)], "no actuals entered yet"),
        ([m.Part(*OCT, 100.0, None), m.Part(*DEC, 100.0, None)], "no actuals entered yet"),
    ],
)
def test_pace_parts_without_actuals_is_neutral(parts, explanation):
    p = m.pace_parts(parts, MID_NOV, RAG)
    assert p.rag == m.Rag(m.GREY, None, explanation)
    assert not p.reported and p.covered is None and (p.members, p.members_reported) == (1, 0)
    assert p.target_to_date == 0.0 and p.expected == 0.0
    assert p.attainment is None and p.pace is None and p.projection is None
    assert p.gap == 100.0 * len(parts)


def test_an_actual_entered_for_a_period_not_begun_does_not_count_yet():
    p = m.pace_parts([m.Part(*NOV, 100.0, 30.0), m.Part(*DEC, 100.0, 70.0)], MID_NOV, RAG)
    assert p.actual == 30.0 and p.covered == MID_NOV and p.target_to_date == 100.0
    assert p.gap == 170.0  # of the whole horizon's 200
    first_day = m.pace_parts([m.Part(*NOV, 100.0, 30.0), m.Part(*DEC, 100.0, 1.0)], DEC[0], RAG)
    assert first_day.actual == 31.0 and first_day.covered == DEC[0]
    assert first_day.target_to_date == 200.0  # December began on the day its actual covers


def test_a_zero_quota_has_no_attainment_or_pace():
    p = m.pace_parts([m.Part(*NOV, 0.0, 10.0)], MID_NOV, RAG)
    assert p.reported and p.attainment is None and p.pace is None
    assert p.rag == m.Rag(m.GREY, None, "no pace: nothing was expected yet")
    assert p.gap == 0.0 and p.required_weekly == 0.0


# ------------------------------------------------------------------ combined paces


def _paces() -> tuple[m.Pace, m.Pace, m.Pace, m.Pace]:
    """As of Nov 15: Ann reported through the day, Bob has not entered November,
    Cy's quota starts in December, Dee entered a 0."""
    ann = m.pace_parts([m.Part(*OCT, 100.0, 100.0), m.Part(*NOV, 100.0, 30.0)], MID_NOV, RAG)
    bob = m.pace_parts([m.Part(*NOV, 200.0, None)], MID_NOV, RAG)
    cy = m.pace_parts([m.Part(*DEC, 300.0, None)], MID_NOV, RAG)
    dee = m.pace_parts([m.Part(*NOV, 100.0, 0.0)], MID_NOV, RAG)
    return ann, bob, cy, dee


def test_combine_paces_needs_a_pace():
    with pytest.raises(ValueError) as e:
        m.combine_paces([], MID_NOV, RAG)
    assert str(e.value) == "combine_paces needs at least one pace"


def test_combined_pace_sums_the_reps_through_each_ones_own_entries():
    ann, bob, cy, _ = _paces()
    t = m.combine_paces([bob, ann, cy], MID_NOV, RAG)
    assert (t.start, t.end, t.as_of, t.covered) == (OCT[0], DEC[1], MID_NOV, MID_NOV)
    assert (t.target, t.target_to_date, t.actual) == (700.0, 200.0, 130.0)
    assert t.expected == pytest.approx(150.0)  # Ann's 100 + 50; Bob's blank adds nothing
    assert t.attainment == pytest.approx(130 / 200)
    assert t.pace == pytest.approx(130 / 150)
    assert t.projection == pytest.approx(ann.projection)  # = 130 / 46 days × 61
    assert t.gap == 570.0
    assert t.required_weekly == pytest.approx(570 / (46 / 7))  # to Dec 31, the last end
    assert (t.members, t.members_reported) == (3, 1)
    # fewer than half the reps have entered anything: neutral, the pace kept
    assert t.rag == m.Rag(m.GREY, t.pace, "only 1 of 3 reps have entered actuals")


def test_combined_pace_is_judged_once_half_the_reps_have_entered():
    ann, bob, _, _ = _paces()
    half = m.combine_paces([ann, bob], MID_NOV, RAG)
    assert (half.members, half.members_reported) == (2, 1)
    assert half.rag == m.rag_for_pace(130 / 150, RAG) and half.rag.status == m.AMBER


def test_combined_pace_of_combined_paces_counts_every_rep():
    ann, bob, cy, dee = _paces()
    total = m.combine_paces([m.combine_paces([ann, bob], MID_NOV, RAG), cy], MID_NOV, RAG)
    assert (total.members, total.members_reported) == (3, 1)
    assert total.rag.status == m.GREY and "1 of 3" in total.rag.explanation
    four = m.combine_paces([total, dee], MID_NOV, RAG)
    assert (four.members, four.members_reported) == (4, 2)
    assert four.rag.status == m.RED  # 130 of 200 expected by now: 65 %
    # a reported 0 projects to 0, and adds nothing to the projection
    assert dee.projection == 0.0
    assert four.projection == pytest.approx(ann.projection)


@pytest.mark.parametrize(
    ("which", "explanation"),
    [
        ((2,), "not begun yet"),
        ((1, 2), "no actuals entered yet"),
        ((2, 1), "no actuals entered yet"),
    ],
)
def test_combined_pace_without_actuals_is_neutral(which, explanation):
    paces = _paces()
    t = m.combine_paces([paces[i] for i in which], MID_NOV, RAG)
    assert t.rag == m.Rag(m.GREY, None, explanation)
    assert t.covered is None and not t.reported and t.members_reported == 0
    assert t.pace is None and t.attainment is None and t.projection is None
    assert t.target == sum(paces[i].target for i in which) and t.actual == 0.0


# ------------------------------------------------------------------ quota standing


def test_quota_lines_read_defaults_and_count_unreadable_periods():
    records = [
        {
            "rep": "Ann",
            "team": "North",
            "region": "EU",
            "period": "2026-11",
            "quota": 100,
            "closed": 0,
        },  # fmt: skip
        {"rep": "Bob", "period": "soon", "quota": 5.0},  # not a period
        {"rep": "Bob", "period": "2026-Q", "quota": 5.0},  # a quarter without its number
        {"rep": "Cy", "period": "soon"},  # the same unreadable label again counts again
        {"period": "2026-12"},  # no rep, team, quota or actual
        {"rep": "Dee", "period": None, "quota": 1.0},
    ]
    lines, skipped = m.quota_lines(records)
    assert skipped == 4
    assert lines == [
        m.QuotaLine("Ann", "North", "EU", "2026-11", *NOV, 100.0, 0.0, index=0),
        m.QuotaLine("", "(no team)", None, "2026-12", *DEC, 0.0, None, index=4),
    ]
    assert type(lines[0].quota) is float and type(lines[0].closed) is float


def test_quota_lines_read_fiscal_labels_in_the_given_fiscal_year():
    fy = [{"rep": "Ann", "period": "FY2027", "quota": 1.0}]
    assert (m.quota_lines(fy)[0][0].start, m.quota_lines(fy)[0][0].end) == (
        date(2027, 1, 1),
        date(2027, 12, 31),
    )
    april = m.quota_lines(fy, 4)[0][0]
    assert (april.start, april.end) == (date(2026, 4, 1), date(2027, 3, 31))


def _line(rep, team, period, quota, closed, region=None) -> dict:
    return {"rep": rep, "team": team, "region": region, "period": period, "quota": quota,
            "closed": closed}  # fmt: skip


TEAMS = [
    _line("Zed", "alpha", "2026-10", 100.0, 100.0),
    _line("Zed", "alpha", "2026-11", 100.0, 30.0),
    _line("amy", "alpha", "2026-11", 200.0, None),
    _line("bob", "Beta", "2026-11", 100.0, 60.0, "US"),  # moved from alpha in November
    _line("bob", "alpha", "2026-10", 100.0, 90.0, "EU"),
    _line("bob", "Beta", "2025-12", 50.0, 50.0),  # last year
    _line("Zed", "alpha", "2027-01", 100.0, 5.0),  # next year, entered early
    _line("Zed", "alpha", "later", 100.0, None),
]


def test_quota_standing_per_rep_team_and_total():
    q = m.quota_standing(TEAMS, MID_NOV, RAG)
    assert (q.as_of, q.year_label, q.year_start, q.year_end) == (
        MID_NOV, "2026", date(2026, 1, 1), date(2026, 12, 31))  # fmt: skip
    assert (q.period_label, q.period_start, q.period_end) == ("2026-11", *NOV)
    assert q.skipped == 1 and not q.settled_only
    # span and last entry over every readable quota, the figures over this year's
    assert q.span == (date(2025, 12, 1), date(2027, 1, 31))
    assert q.last_covered == date(2027, 1, 31)
    assert [x.index for x in q.lines] == [0, 1, 2, 3, 4]
    # reps by team, then name, regardless of case; a rep's team and region are his latest
    assert [(r.rep, r.team, r.region) for r in q.reps] == [
        ("amy", "alpha", None), ("Zed", "alpha", None), ("bob", "Beta", "US")]  # fmt: skip
    amy, zed, bob = q.reps
    assert (zed.ytd.target, zed.ytd.actual, zed.ytd.start) == (200.0, 130.0, OCT[0])
    assert zed.period is not None and (zed.period.target, zed.period.actual) == (100.0, 30.0)
    assert bob.ytd.pace == pytest.approx(1.0) and bob.ytd.rag.status == m.GREEN
    assert not amy.ytd.reported
    assert [(t.team, t.rep_count, [r.rep for r in t.reps]) for t in q.teams] == [
        ("alpha", 2, ["amy", "Zed"]), ("Beta", 1, ["bob"])]  # fmt: skip
    alpha, beta = q.teams
    assert (alpha.ytd.target, alpha.ytd.actual, alpha.ytd.members_reported) == (400.0, 130.0, 1)
    assert alpha.period is not None and alpha.period.pace == pytest.approx(30 / 50)
    assert beta.ytd == m.combine_paces([bob.ytd], MID_NOV, RAG)
    assert q.ytd == m.combine_paces([amy.ytd, zed.ytd, bob.ytd], MID_NOV, RAG)
    assert q.ytd.pace == pytest.approx(280 / 300) and q.ytd.rag.status == m.AMBER
    assert q.period == m.combine_paces(
        [r.period for r in q.reps if r.period is not None], MID_NOV, RAG
    )
    assert q.period is not None and q.period.target == 400.0
    assert q.covered_label is None  # Zed's and Bob's November runs: no period ends today


def test_quota_standing_for_some_teams_only():
    q = m.quota_standing(TEAMS, MID_NOV, RAG, teams=["BETA"])
    assert [r.rep for r in q.reps] == ["bob"] and [t.team for t in q.teams] == ["Beta"]
    assert q.span == (date(2025, 12, 1), NOV[1]) and q.last_covered == NOV[1]
    assert q.ytd is not None and q.ytd.target == 100.0  # his alpha October is left out
    assert q.skipped == 1


def _fiscal(rep, period, quota, closed) -> dict:
    return {"rep": rep, "team": "A", "period": period, "quota": quota, "closed": closed}


FISCAL = [  # fiscal year from April: FY2027 is Apr 2026 .. Mar 2027
    _fiscal("Ann", "2026-03", 100.0, 100.0),  # FY2026
    _fiscal("Ann", "2026-04", 100.0, 100.0),
    _fiscal("Ann", "2026-05", 100.0, 100.0),
    _fiscal("Ann", "2026-06", 100.0, 100.0),
    _fiscal("Ann", "2026-07", 100.0, None),
    _fiscal("Ann", "2027-03", 100.0, None),  # the last month of FY2027
    _fiscal("Bob", "FY2027-Q1", 300.0, 250.0),
    _fiscal("Bob", "FY2027-Q2", 300.0, None),
    _fiscal("Bob", "2026", 1200.0, None),  # a calendar year straddles FY2027: left out
]


def test_quota_standing_over_a_fiscal_year():
    q = m.quota_standing(FISCAL, date(2026, 7, 5), RAG, fy_start_month=4)
    assert (q.year_label, q.year_start, q.year_end) == (
        "FY2027",
        date(2026, 4, 1),
        date(2027, 3, 31),
    )
    assert [x.period for x in q.lines] == [
        "2026-04", "2026-05", "2026-06", "2026-07", "2027-03", "FY2027-Q1", "FY2027-Q2"]  # fmt: skip
    # the current period is the shortest one holding the day: Ann's July, not Bob's Q2
    assert (q.period_label, q.period_start, q.period_end) == (
        "2026-07", date(2026, 7, 1), date(2026, 7, 31))  # fmt: skip
    ann, bob = q.reps
    assert bob.period is None  # his quarter is not inside July
    assert q.period is not None and q.period.members == 1 and q.period.target == 100.0
    # quotas run from the first day of the fiscal year to its last
    assert q.ytd is not None and (q.ytd.start, q.ytd.end) == (q.year_start, q.year_end)
    assert not q.quotas_end_early
    # both entered through June 30, which ends Ann's June and Bob's Q1: the shorter names it
    assert (ann.ytd.covered, bob.ytd.covered, q.ytd.covered) == (date(2026, 6, 30),) * 3
    assert q.covered_label == "2026-06"
    assert q.ytd.target == 500.0 + 600.0 and q.ytd.actual == 300.0 + 250.0


@pytest.mark.parametrize("day", [date(2026, 4, 1), date(2026, 6, 30)])
def test_the_current_period_holds_its_first_and_last_day(day):
    q = m.quota_standing([FISCAL[6]], day, RAG, fy_start_month=4)
    assert (q.period_label, q.period_start, q.period_end) == (
        "FY2027-Q1", date(2026, 4, 1), date(2026, 6, 30))  # fmt: skip
    assert q.period is not None and q.period.target == 300.0


def test_without_a_quota_holding_the_day_the_current_period_is_its_month():
    q = m.quota_standing(FISCAL[:4], date(2026, 8, 20), RAG, fy_start_month=4)
    assert (q.period_label, q.period_start, q.period_end) == (
        "2026-08", date(2026, 8, 1), date(2026, 8, 31))  # fmt: skip
    assert q.period is None and all(r.period is None for r in q.reps)
    assert q.ytd is not None and q.quotas_end_early  # the quotas stop in June


def test_quota_standing_of_no_quotas():
    q = m.quota_standing([], MID_NOV, RAG)
    assert q.reps == [] and q.teams == [] and q.period is None and q.ytd is None
    assert q.span is None and q.last_covered is None and q.covered_label is None
    assert not q.outside_data and not q.quotas_end_early and q.suggested_as_of() is None


def test_outside_the_data_without_actuals_suggests_the_end_of_the_quotas():
    q = m.quota_standing([_line("Ann", "A", "2024-03", 10.0, None)], MID_NOV, RAG)
    assert q.outside_data and q.last_covered is None
    assert q.suggested_as_of() == date(2024, 3, 31)


def test_a_plan_read_later_keeps_a_period_that_ended_on_the_day():
    quotas = [_line("Ann", "A", "2026-10", 100.0, 100.0), _line("Ann", "A", "2026-11", 100.0, 9.0)]
    q = m.quota_standing(quotas, OCT[1], RAG, settled_only=True)
    assert q.settled_only and q.ytd is not None
    assert q.ytd.covered == OCT[1] and q.ytd.actual == 100.0 and q.covered_label == "2026-10"


# ------------------------------------------------------------------ shown percentages


@pytest.mark.parametrize(
    ("value", "bounds", "shown"),
    [
        (0.5, (), (0.5, 0)),
        (0.95, (0.95, 0.8), (0.95, 0)),  # at a threshold: whole
        (0.948, (0.95, 0.8), (0.948, 1)),  # 95% would say Green
        (0.9499, (0.95, 0.8), (0.9499, 2)),  # 95.0% too
        (0.9499999, (0.95, 0.8), (0.9499, 2)),  # cut, not rounded onto the line
        (0.08 / 0.1, (0.95, 0.8), (0.08 / 0.1, 0)),  # float noise at a threshold is at it
        (0.9512, (0.951,), (0.9512, 1)),  # 95% would fall below 95.1%
        (-0.5, (0.95, 0.8), (-0.5, 0)),
    ],
)
def test_a_shown_percentage_stays_on_its_side_of_every_threshold(value, bounds, shown):
    assert m.pct_shown(value, bounds) == shown


def test_a_percentage_that_is_not_a_number_is_shown_as_it_is():
    assert m.pct_shown(float("inf"), (0.95,)) == (float("inf"), 0)
    v, digits = m.pct_shown(float("nan"), (0.95,))
    assert v != v and digits == 0


def test_rag_bounds_are_the_pace_thresholds():
    assert m.rag_bounds(RagSettings(green_at=0.9, amber_at=0.7)) == (0.9, 0.7)


# ------------------------------------------------------------------ run rates


def test_the_run_rate_behind_the_projection():
    ann, bob, cy, dee = _paces()
    assert ann.daily_rate == pytest.approx(130 / 46)  # Oct 1 .. Nov 15
    assert ann.weekly_run_rate == pytest.approx(130 / 46 * 7)
    assert ann.projection == pytest.approx(ann.daily_rate * 61)
    assert ann.projected_shortfall == pytest.approx(200 - 130 / 46 * 61)
    assert dee.daily_rate == 0.0 and dee.weekly_run_rate == 0.0
    assert dee.projected_shortfall == 100.0
    for p in (bob, cy):  # nothing entered: no rate, no projection
        assert p.daily_rate is None and p.weekly_run_rate is None
        assert p.projected_shortfall is None
    ahead = m.pace_parts([m.Part(*NOV, 100.0, 60.0)], MID_NOV, RAG)
    assert ahead.projection == pytest.approx(120.0) and ahead.projected_shortfall == 0.0
    team = m.combine_paces([ann, bob, cy, dee], MID_NOV, RAG)
    assert team.daily_rate == pytest.approx(130 / 46)  # Dee's 0 a day adds nothing
    assert team.weekly_run_rate == pytest.approx(130 / 46 * 7)
    assert m.combine_paces([bob, cy], MID_NOV, RAG).daily_rate is None


# ------------------------------------------------------------------ pipeline coverage


def _pipe(rep, period, quota, closed, pipeline, team="T") -> dict:
    return {"rep": rep, "team": team, "period": period, "quota": quota, "closed": closed,
            "pipeline": pipeline}  # fmt: skip


def test_pipeline_coverage_of_the_running_and_the_next_period_only():
    lines, _ = m.quota_lines(
        [
            _pipe("A", "2026-10", 100.0, 100.0, 999.0),  # over
            _pipe("A", "2026-11", 100.0, 30.0, 140.0),
            _pipe("B", "2026-11", 200.0, None, None),  # no pipeline: counts 0, its quota counts
            _pipe("A", "2026-12", 100.0, None, 50.0),
            _pipe("A", "2027-01", 100.0, None, 80.0),  # third: not shown
            _pipe("B", "2026-Q4", 300.0, None, 500.0),  # holds November: the month is shown
        ]
    )
    cov = m.pipeline_coverage(lines, MID_NOV)
    assert cov == [
        m.PipelineCoverage("2026-11", *NOV, 140.0, 300.0, 270.0, 140 / 270),
        m.PipelineCoverage("2026-12", *DEC, 50.0, 100.0, 100.0, 0.5),
    ]
    # on its last day a period is no longer running: December and January
    months = [x for x in lines if x.period != "2026-Q4"]
    assert [c.period for c in m.pipeline_coverage(months, NOV[1])] == ["2026-12", "2027-01"]


def test_pipeline_coverage_shows_the_month_of_a_quarter_that_begins_with_it():
    lines, _ = m.quota_lines(
        [
            _pipe("A", "2026-Q4", 300.0, None, 500.0),
            _pipe("A", "2026-10", 100.0, None, None),  # no pipeline: skipped, not the end
            _pipe("A", "2026-11", 100.0, None, 70.0),
        ]
    )
    assert m.pipeline_coverage(lines, date(2026, 10, 15)) == [
        m.PipelineCoverage("2026-11", *NOV, 70.0, 100.0, 100.0, 0.7)
    ]


def test_pipeline_coverage_counts_closed_as_the_quota_figures_do():
    lines, _ = m.quota_lines(
        [_pipe("A", "2026-11", 100.0, 120.0, 10.0), _pipe("A", "2026-12", 100.0, None, None)]
    )
    over = m.pipeline_coverage(lines, MID_NOV)
    # closed beyond the quota: nothing open, no ratio; December has no pipeline at all
    assert over == [m.PipelineCoverage("2026-11", *NOV, 10.0, 100.0, 0.0, None)]
    # read later, November's actual may hold sales after the day: left out
    later = m.pipeline_coverage(lines, MID_NOV, settled_only=True)
    assert later[0].open_quota == 100.0 and later[0].coverage == pytest.approx(0.1)
    q = m.quota_standing(
        [_pipe("A", "2026-11", 100.0, 120.0, 10.0)], MID_NOV, RAG, settled_only=True
    )
    assert q.pipeline == later


# ------------------------------------------------------------------ per period


def test_by_period_sums_each_period_and_forecasts_the_ones_ahead():
    quotas = [
        _line("Ann", "A", "2026-10", 100.0, 100.0),
        _line("Ann", "A", "2026-11", 100.0, 30.0),
        _line("Ann", "A", "2026-12", 100.0, 5.0),  # entered ahead of December: not counted yet
        _line("Bob", "B", "2026-10", 100.0, 90.0),
        _line("Bob", "B", "2026-11", 100.0, None),
        _line("Bob", "B", "2026-12", 100.0, None),
        _line("Cy", "B", "2026-12", 50.0, None),  # no actuals: no rate to forecast with
    ]
    q = m.quota_standing(quotas, MID_NOV, RAG)
    assert q.ytd is not None and q.ytd.covered == MID_NOV
    ann_rate, bob_rate = 130 / 46, 90 / 31  # through Nov 15 and Oct 31
    oct_, nov, dec = q.by_period()
    assert (oct_.period, oct_.start, oct_.end) == ("2026-10", *OCT)
    assert (oct_.quota, oct_.closed, oct_.forecast, oct_.variance) == (200.0, 190.0, None, -10.0)
    assert (nov.period, nov.quota, nov.closed, nov.forecast) == ("2026-11", 200.0, 30.0, None)
    assert (dec.period, dec.start, dec.end) == ("2026-12", *DEC)
    assert dec.quota == 250.0 and dec.closed is None and dec.variance is None
    assert dec.forecast == pytest.approx((ann_rate + bob_rate) * 31)


def test_by_period_without_actuals_or_quotas():
    blank = m.quota_standing([_line("Ann", "A", "2026-11", 100.0, None), _line("Ann", "A", "2026-12", 10.0, None)],
                             MID_NOV, RAG)  # fmt: skip
    assert [(p.period, p.quota, p.closed, p.forecast) for p in blank.by_period()] == [
        ("2026-11", 100.0, None, None), ("2026-12", 10.0, None, None)]  # fmt: skip
    assert m.quota_standing([], MID_NOV, RAG).by_period() == []
    later = m.quota_standing(
        [_line("Ann", "A", "2026-11", 100.0, 40.0)], MID_NOV, RAG, settled_only=True
    )
    assert [(p.closed, p.forecast) for p in later.by_period()] == [(None, None)]


# ------------------------------------------------------------------ project statuses


@pytest.mark.parametrize(
    ("counts", "rag"),
    [
        ({}, m.Rag(m.GREY, None, "no milestones")),
        ({m.DONE: 2, m.NOT_STARTED: 1}, m.Rag(m.GREEN, 0, "no milestone late or at risk")),
        ({m.ON_TRACK: 3}, m.Rag(m.GREEN, 0, "no milestone late or at risk")),
        ({m.AT_RISK: 2}, m.Rag(m.AMBER, 0, "2 at risk")),
        ({m.LATE: 1}, m.Rag(m.AMBER, 1, "1 late")),
        ({m.LATE: 1, m.AT_RISK: 2}, m.Rag(m.AMBER, 1, "1 late, 2 at risk")),
        ({m.LATE: 2, m.ON_TRACK: 9}, m.Rag(m.RED, 2, "2 late")),
        ({m.LATE: 3, m.AT_RISK: 1}, m.Rag(m.RED, 3, "3 late, 1 at risk")),
    ],
)
def test_project_delivery(counts, rag):
    full = {**dict.fromkeys(m.MILESTONE_CATEGORIES, 0), **counts}
    assert m.project_delivery(full, RAG) == rag
    assert m.project_delivery(counts, RAG) == rag  # a category left out counts 0


def test_project_delivery_thresholds_from_the_config():
    wide = RagSettings(delivery_red_late=3, delivery_amber_late=2)
    assert m.project_delivery({m.LATE: 1}, wide) == m.Rag(
        m.GREEN, 0, "no milestone late or at risk"
    )
    assert m.project_delivery({m.LATE: 2}, wide).status == m.AMBER
    assert m.project_delivery({m.LATE: 3}, wide).status == m.RED


def test_project_goal_is_its_worst_open_checkpoint():
    start = date(2026, 1, 1)
    assert m.project_goal([]) == m.Rag(m.GREY, None, "no goal figures")
    done = m.pace_checkpoints(10.0, 40.0, start, [("Y1", date(2026, 12, 31), 30.0)], AS_OF, RAG)
    assert m.project_goal(done) == m.Rag(m.GREEN, 1.0, "every checkpoint reached")
    cps = m.pace_checkpoints(
        10.0,
        20.0,
        start,
        [
            ("Y1", date(2026, 12, 31), 15.0),  # reached
            ("Y3", date(2028, 12, 31), 100.0),  # far behind: red, but due later
            ("Y2", date(2027, 12, 31), 95.0),  # red too, due first
            ("H1", date(2026, 6, 30), 12.0),  # reached
        ],
        AS_OF,
        RAG,
    )
    y2 = next(c for c in cps if c.label == "Y2")
    assert y2.rag.status == m.RED
    assert m.project_goal(cps) == m.Rag(m.RED, y2.pace, f"Y2: {y2.rag.explanation}")
    # an amber one is better than a red one, whatever its due date
    amber = m.pace_checkpoints(0.0, 8.5, start, [("A", date(2027, 1, 1), 10.0)], AS_OF, RAG)
    red = m.pace_checkpoints(0.0, 1.0, start, [("R", date(2027, 6, 1), 10.0)], AS_OF, RAG)
    assert amber[0].rag.status == m.AMBER and red[0].rag.status == m.RED
    assert m.project_goal(amber + red).explanation.startswith("R: ")
    grey = m.pace_checkpoints(
        0.0, 0.0, date(2027, 1, 1), [("G", date(2027, 6, 1), 10.0)], AS_OF, RAG
    )
    assert grey[0].rag.status == m.GREY
    assert m.project_goal(grey + amber).explanation.startswith("A: ")


# ------------------------------------------------------------------ not started


@pytest.mark.parametrize(
    ("record", "category", "reason"),
    [
        (ms(status="Not started", due=date(2027, 3, 31)), m.NOT_STARTED, "not started"),
        (ms(status="Not started", start=AS_OF, due=date(2027, 3, 31)), m.NOT_STARTED,
         "not started"),  # its start is not ahead any more
        (ms(status="Not started", start=date(2026, 9, 1), due=date(2027, 3, 31)),
         m.NOT_STARTED, "not started"),
        (ms(status="not started", start=date(2027, 1, 4), due=date(2027, 3, 31)), m.NOT_STARTED,
         "not started, starts 2027-01-04"),
        (ms(status=None, start=date(2027, 1, 4), due=date(2027, 3, 31)), m.NOT_STARTED,
         "not started, starts 2027-01-04"),
        (ms(status=None, start=date(2027, 1, 4), due=date(2027, 3, 31), actual_value=0.0), m.NOT_STARTED,
         "not started, starts 2027-01-04"),
        # it starts today, or something is done already, or someone works on it: on track
        (ms(status=None, start=AS_OF, due=date(2027, 3, 31)), m.ON_TRACK, "on schedule"),
        (ms(status=None, start=date(2027, 1, 4), due=date(2027, 3, 31), actual_value=0.1), m.ON_TRACK,
         "on schedule"),
        (ms(status="In progress", start=date(2027, 1, 4), due=date(2027, 3, 31)), m.ON_TRACK,
         "on schedule"),
        (ms(status=None, due=date(2027, 3, 31)), m.ON_TRACK, "on schedule"),
    ],
)  # fmt: skip
def test_not_started(record, category, reason):
    state = m.classify_milestone(record, AS_OF, RAG)
    assert (state.category, state.reason) == (category, reason)
    assert state.rag == (m.GREY if category == m.NOT_STARTED else m.GREEN)


def test_by_period_on_the_first_day_of_a_period_with_its_actual_in():
    quotas = [
        _line("Ann", "A", "2026-11", 100.0, 100.0),
        _line("Ann", "A", "2026-12", 0.0, 4.0),  # no quota this month, 4 closed on the 1st
        _line("Ann", "A", "2027-01", 100.0, None),
    ]
    q = m.quota_standing(quotas, DEC[0], RAG)
    assert q.ytd is not None and q.ytd.covered == DEC[0]
    nov, dec = q.by_period()
    # December is begun and entered: its closed, no forecast; its quota is a real 0
    assert (dec.period, dec.quota, dec.closed, dec.forecast) == ("2026-12", 0.0, 4.0, None)
    assert dec.variance == 4.0 and nov.variance == 0.0


def test_project_goal_ranks_grey_between_amber_and_green():
    start = date(2026, 1, 1)
    line = [("L", date(2027, 6, 1), 10.0)]
    grey = m.pace_checkpoints(0.0, 0.0, date(2027, 1, 1), line, AS_OF, RAG)  # not begun
    amber = m.pace_checkpoints(0.0, 4.9, start, [("A", date(2027, 9, 1), 10.0)], AS_OF, RAG)
    green = m.pace_checkpoints(0.0, 9.9, start, [("G", date(2026, 12, 31), 10.0)], AS_OF, RAG)
    assert [c.rag.status for c in grey + amber + green] == [m.GREY, m.AMBER, m.GREEN]
    assert m.project_goal(grey + amber).explanation.startswith("A: ")  # amber, though due later
    assert m.project_goal(green + grey).explanation.startswith("L: ")  # grey, though due later


def test_pipeline_coverage_of_overlapping_periods_shows_both():
    # fiscal quarters from February next to calendar quarters: neither holds the other
    lines, _ = m.quota_lines(
        [_pipe("A", "FY2027-Q1", 300.0, None, 30.0), _pipe("B", "2026-Q2", 300.0, None, 60.0)], 2
    )
    cov = m.pipeline_coverage(lines, date(2026, 3, 10))
    assert [(c.period, c.start, c.end) for c in cov] == [
        ("FY2027-Q1", date(2026, 2, 1), date(2026, 4, 30)),
        ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
    ]


def test_pipeline_coverage_of_a_quarter_and_its_first_month_shows_the_month():
    lines, _ = m.quota_lines(
        [_pipe("A", "2026-Q4", 300.0, None, 500.0), _pipe("A", "2026-10", 100.0, None, 90.0)]
    )
    assert [c.period for c in m.pipeline_coverage(lines, date(2026, 10, 15))] == ["2026-10"]

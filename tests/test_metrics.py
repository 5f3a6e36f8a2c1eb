"""Metrics are pure functions: each checked against numbers worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from sheetsync import metrics as m
from sheetsync.metrics import RagSettings

RAG = RagSettings()  # green >= 95 %, amber >= 80 %, at risk within 14 days
NOV = (date(2026, 11, 1), date(2026, 11, 30))


def test_elapsed_fraction_counts_the_as_of_day_as_done():
    assert m.elapsed_fraction(*NOV, date(2026, 11, 30)) == 1.0
    assert m.elapsed_fraction(*NOV, date(2026, 11, 1)) == pytest.approx(1 / 30)
    assert m.elapsed_fraction(*NOV, date(2026, 11, 15)) == pytest.approx(0.5)
    assert m.elapsed_fraction(*NOV, date(2026, 10, 31)) == 0.0
    assert m.elapsed_fraction(*NOV, date(2027, 1, 1)) == 1.0


def test_pace_over_one_period():
    p = m.pace_period(45_000, 100_000, *NOV, date(2026, 11, 15), RAG)
    assert p.expected == pytest.approx(50_000)  # straight line: half the month gone
    assert p.pace == pytest.approx(0.9)
    assert p.attainment == pytest.approx(0.45)
    assert p.projection == pytest.approx(90_000)  # 3,000 a day for 30 days
    assert p.gap == pytest.approx(55_000)
    assert p.required_weekly == pytest.approx(55_000 / (15 / 7))  # 15 days left
    assert p.rag.status == m.AMBER
    assert "90%" in p.rag.explanation and "95%" in p.rag.explanation


def test_pace_parts_follow_each_periods_quota():
    # Jan quota 100 (done), Feb quota 300 (half gone on Feb 14), Mar 500 (not begun).
    parts = [
        m.Part(date(2026, 1, 1), date(2026, 1, 31), 100.0, 100.0),
        m.Part(date(2026, 2, 1), date(2026, 2, 28), 300.0, 150.0),
        m.Part(date(2026, 3, 1), date(2026, 3, 31), 500.0, None),
    ]
    p = m.pace_parts(parts, date(2026, 2, 14), RAG)
    assert p.covered == date(2026, 2, 14)  # February's actual is in: through the as-of day
    assert p.expected == pytest.approx(100 + 150)
    assert p.pace == pytest.approx(1.0)
    assert p.target == 900 and p.target_to_date == 400
    assert p.attainment == pytest.approx(250 / 400)
    # the horizon is the span of the parts (Jan 1 – Mar 31, 90 days), not a whole year
    assert (p.start, p.end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert p.projection == pytest.approx(250 / 45 * 90)
    assert p.gap == 650
    assert p.rag.status == m.GREEN


def test_a_blank_period_is_not_reported_yet_and_does_not_count_as_zero():
    nov, dec = (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 12, 1), date(2026, 12, 31))
    parts = [m.Part(*nov, 100.0, 90.0), m.Part(*dec, 100.0, None)]
    on_the_30th = m.pace_parts(parts, date(2026, 11, 30), RAG)
    on_the_2nd = m.pace_parts(parts, date(2026, 12, 2), RAG)
    assert on_the_2nd.covered == date(2026, 11, 30)
    # nothing new was entered: the figures do not move overnight
    for f in ("attainment", "pace", "projection", "target_to_date", "expected"):
        assert getattr(on_the_2nd, f) == pytest.approx(getattr(on_the_30th, f)), f
    assert on_the_2nd.attainment == pytest.approx(0.9)
    assert on_the_2nd.projection == pytest.approx(90 / 30 * 61)
    # December alone: no actuals yet, neutral, never Red 0 %
    december = m.pace_parts([parts[1]], date(2026, 12, 2), RAG)
    assert not december.reported and december.attainment is None and december.pace is None
    assert december.rag.status == m.GREY and "no actuals" in december.rag.explanation
    # a 0 is zero: reported, and Red
    zero = m.pace_parts([m.Part(*dec, 100.0, 0.0)], date(2026, 12, 2), RAG)
    assert zero.reported and zero.attainment == 0.0 and zero.rag.status == m.RED


def test_quota_standing_paces_a_late_starting_rep_from_his_first_quota():
    quotas = [
        {"rep": "Ann", "team": "A", "period": f"2026-{mo:02d}", "quota": 100.0, "closed": 100.0}
        for mo in range(1, 12)
    ] + [
        {"rep": "Ryan", "team": "A", "period": f"2026-{mo:02d}", "quota": 100.0, "closed": 100.0}
        for mo in range(6, 12)
    ]
    q = m.quota_standing(quotas, date(2026, 11, 30), RAG)
    ryan = next(r for r in q.reps if r.rep == "Ryan")
    assert ryan.ytd.start == date(2026, 6, 1)
    assert ryan.ytd.projection == pytest.approx(600.0)  # on plan: 100 a month since June
    assert q.ytd is not None and q.ytd.end == date(2026, 11, 30)  # quotas stop in November
    assert q.quotas_end_early and q.covered_label == "2026-11"


def test_quota_standing_outside_the_data_says_where_it_lies():
    quotas = [{"rep": "Ann", "team": "A", "period": "2024-01", "quota": 10.0, "closed": 9.0}]
    q = m.quota_standing(quotas, date(2026, 12, 2), RAG)
    assert q.outside_data and q.ytd is None
    assert q.span == (date(2024, 1, 1), date(2024, 1, 31))
    assert q.suggested_as_of() == date(2024, 1, 31)
    inside = m.quota_standing(quotas, date(2024, 1, 31), RAG)
    assert inside.ytd is not None and inside.ytd.projection == pytest.approx(9.0)


def test_required_weekly_when_time_is_up():
    assert m.required_weekly(0.0, date(2026, 11, 30), date(2026, 11, 30)) == 0.0
    assert m.required_weekly(10.0, date(2026, 11, 30), date(2026, 11, 30)) is None
    assert m.required_weekly(70.0, date(2026, 12, 7), date(2026, 11, 30)) == pytest.approx(70.0)


def test_rag_thresholds_are_configurable_and_explained():
    strict = RagSettings(green_at=1.0, amber_at=0.9)
    assert m.rag_for_pace(0.97, RAG).status == m.GREEN
    assert m.rag_for_pace(0.97, strict).status == m.AMBER
    assert m.rag_for_pace(0.85, strict).status == m.RED
    assert m.rag_for_pace(None, RAG).status == m.GREY
    assert "below 90%" in m.rag_for_pace(0.85, strict).explanation
    rules = " ".join(m.rag_rules(strict))
    assert "100%" in rules and "90%" in rules and "14 days" in rules


AS_OF = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("record", "category"),
    [
        ({"status": "Done", "due": date(2026, 10, 1)}, m.DONE),
        ({"status": "On track", "completed_on": date(2026, 11, 2)}, m.DONE),
        ({"status": "On track", "due": date(2026, 11, 20)}, m.LATE),  # past due
        ({"status": "Late", "due": date(2027, 1, 20)}, m.LATE),  # marked
        ({"status": "At risk", "due": date(2027, 3, 1)}, m.AT_RISK),  # marked
        # due in 10 days, started Nov 1: 75 % expected, 40 % done
        (
            {"status": "On track", "start": date(2026, 11, 1), "due": date(2026, 12, 10),
             "target_value": 10, "actual_value": 4},
            m.AT_RISK,
        ),
        # same, but ahead of the line
        (
            {"status": "On track", "start": date(2026, 11, 1), "due": date(2026, 12, 10),
             "target_value": 10, "actual_value": 8},
            m.ON_TRACK,
        ),
        ({"status": "Not started", "due": date(2026, 12, 5)}, m.AT_RISK),
        ({"status": "Not started", "due": date(2027, 2, 5)}, m.NOT_STARTED),
        ({"status": None, "due": date(2027, 2, 5), "target_value": 5, "actual_value": 5}, m.DONE),
    ],
)  # fmt: skip
def test_milestone_classification(record, category):
    assert m.classify_milestone(record, AS_OF, RAG).category == category


def test_at_risk_window_is_configurable():
    rec = {"status": "Not started", "due": date(2026, 12, 20)}
    assert m.classify_milestone(rec, AS_OF, RAG).category == m.NOT_STARTED  # 20 days away
    wide = RagSettings(at_risk_days=30)
    state = m.classify_milestone(rec, AS_OF, wide)
    assert state.category == m.AT_RISK and "not started" in state.reason


def test_milestone_progress_reads_fractions_and_percentages():
    assert m.milestone_progress({"target_value": 1500, "actual_value": 910}) == pytest.approx(
        910 / 1500
    )
    assert m.milestone_progress({"actual_value": 0.4}) == pytest.approx(0.4)
    assert m.milestone_progress({"actual_value": 40}) == pytest.approx(0.4)
    assert m.milestone_progress({"status": "Done"}) == 1.0
    assert m.milestone_progress({}) is None


def test_goal_paced_against_each_checkpoint():
    # 30 % of customers within a year, 40 % within two, from 10 % on 1 Jan 2026.
    start = date(2026, 1, 1)
    cps = m.pace_checkpoints(
        10.0, 24.0, start,
        [("40% in two years", date(2027, 12, 31), 40.0), ("30% in a year", date(2026, 12, 31), 30.0)],
        AS_OF, RAG,
    )  # fmt: skip
    one, two = cps  # sorted by due date
    assert one.label == "30% in a year"
    f1 = 334 / 365  # Jan 1 .. Nov 30 of 2026
    assert one.expected == pytest.approx(10 + 20 * f1)
    assert one.pace == pytest.approx(14 / (20 * f1))
    assert one.projection == pytest.approx(10 + 14 / 334 * 365)
    assert one.gap == pytest.approx(6)
    assert one.required_weekly == pytest.approx(6 / (31 / 7))
    assert one.rag.status == m.RED  # 14 of 18.3 points expected: 76.5 %
    f2 = 334 / 730
    assert two.expected == pytest.approx(10 + 30 * f2)
    assert two.pace == pytest.approx(14 / (30 * f2))
    assert two.rag.status == m.GREEN  # ahead of the two-year line


def test_falling_goal_and_passed_checkpoint():
    # churn 8 % -> 5 % by 30 Jun 2026; it is 6 % now and the date has passed.
    (cp,) = m.pace_checkpoints(
        8.0, 6.0, date(2026, 1, 1), [("5%", date(2026, 6, 30), 5.0)], AS_OF, RAG
    )
    assert cp.passed and not cp.reached
    assert cp.gap == pytest.approx(1.0)
    assert cp.progress == pytest.approx(2 / 3)
    assert cp.rag.status == m.RED
    (ok,) = m.pace_checkpoints(
        8.0, 4.5, date(2026, 1, 1), [("5%", date(2026, 6, 30), 5.0)], AS_OF, RAG
    )
    assert ok.reached and ok.gap == 0 and ok.rag.status == m.GREEN


def test_budget_totals():
    t = m.budget_totals(
        [
            {"planned": 100.0, "spent": 120.0, "attributed_revenue": 600.0},
            {"planned": 200.0, "spent": 50.0, "attributed_revenue": None},
            {"planned": None, "spent": None},
        ]
    )
    assert (t.planned, t.spent, t.revenue, t.over_plan) == (300.0, 170.0, 600.0, 1)
    assert t.spent_share == pytest.approx(170 / 300)
    assert t.spend_to_revenue == pytest.approx(170 / 600)


def _q(rep: str, team: str, month: int, quota: float, closed: float | None) -> dict:
    return {
        "rep": rep,
        "team": team,
        "period": f"2026-{month:02d}",
        "quota": quota,
        "closed": closed,
    }


def test_one_reps_entry_never_turns_the_others_blanks_into_zeros():
    # Ann entered a 0 for December on the 2nd; Bob has not entered December yet.
    quotas = [_q("Ann", "A", 11, 100.0, 90.0), _q("Ann", "A", 12, 100.0, 0.0)]
    quotas += [_q("Bob", "A", 11, 100.0, 110.0), _q("Bob", "A", 12, 100.0, None)]
    q = m.quota_standing(quotas, date(2026, 12, 2), RAG)
    ann, bob = q.reps
    assert ann.ytd.covered == date(2026, 12, 2) and bob.ytd.covered == date(2026, 11, 30)
    assert q.ytd is not None
    # each rep counts through his own entries: Bob's blank December is not a zero
    assert q.ytd.target_to_date == 200.0 + 100.0
    assert q.ytd.actual == 200.0
    assert q.ytd.projection == pytest.approx(ann.ytd.projection + bob.ytd.projection)
    # December: one of two reps reported; neutral until half have, with the count
    assert q.period is not None and (q.period.members_reported, q.period.members) == (1, 2)
    assert q.period.rag.status == m.AMBER or q.period.rag.status == m.RED  # Ann's 0 is real
    three = quotas + [_q("Cy", "A", 12, 100.0, None)]
    dec = m.quota_standing(three, date(2026, 12, 2), RAG).period
    assert dec is not None and dec.rag.status == m.GREY and "1 of 3" in dec.rag.explanation


def test_a_plan_read_later_never_spreads_a_running_month_over_the_days_before():
    quotas = [_q("Ann", "A", 10, 100.0, 100.0), _q("Ann", "A", 11, 100.0, 100.0)]
    read_later = m.quota_standing(quotas, date(2026, 11, 1), RAG, settled_only=True)
    assert read_later.ytd is not None
    assert read_later.ytd.covered == date(2026, 10, 31)  # November was still running
    assert read_later.ytd.pace == pytest.approx(1.0)  # not 100 closed in one day: 3,000 %
    assert read_later.period is not None and not read_later.period.reported


# --------------------------------------------------------------------------- issue 15


@pytest.mark.parametrize(
    ("pace", "status", "text"),
    [(0.948, m.AMBER, "94.8%"), (0.95, m.GREEN, "95%"), (0.7996, m.RED, "79.96%"),
     (0.80, m.AMBER, "80%"), (0.9249, m.AMBER, "92%")],
)  # fmt: skip
def test_chip_text_agrees_with_the_legend_at_the_boundaries(pace, status, text):
    from sheetsync.formatting import Formatter

    fmt = Formatter("en_US", "USD", m.rag_bounds(RAG))
    rag = m.rag_for_pace(pace, RAG)
    assert rag.status == status
    assert fmt.pct_at(pace) == text
    assert rag.explanation.startswith(f"pace {text} ")
    # the legend's words: Green >= 95 %, Amber 80 % <= pace < 95 %
    assert ("≥ 95%" in rag.explanation) == (status == m.GREEN)


def test_not_started_and_done_are_states_of_their_own():
    ns = m.classify_milestone({"status": "Not started", "due": date(2027, 3, 31)}, AS_OF, RAG)
    ahead = m.classify_milestone(
        {"status": None, "start": date(2027, 1, 4), "due": date(2027, 3, 31)}, AS_OF, RAG
    )
    done = m.classify_milestone({"status": "Done", "due": date(2026, 10, 1)}, AS_OF, RAG)
    assert (ns.label, ns.rag) == ("Not started", m.GREY)
    assert ahead.category == m.NOT_STARTED and "starts 2027-01-04" in ahead.reason
    assert (done.label, done.rag) == ("Done", m.GREY)


def test_project_delivery_follows_the_configured_rule():
    counts = dict.fromkeys(m.MILESTONE_CATEGORIES, 0)
    assert m.project_delivery({**counts, m.ON_TRACK: 3}, RAG).status == m.GREEN
    assert m.project_delivery({**counts, m.LATE: 1}, RAG).status == m.AMBER
    assert m.project_delivery({**counts, m.AT_RISK: 2}, RAG).status == m.AMBER
    assert m.project_delivery({**counts, m.LATE: 2}, RAG).status == m.RED
    strict = RagSettings(delivery_red_late=1, delivery_amber_late=1)
    assert m.project_delivery({**counts, m.LATE: 1}, strict).status == m.RED
    assert "Red from 1 late milestone," in m.rag_rules(strict)[2]


def test_pipeline_coverage_of_the_next_period():
    quotas = [
        {"rep": "A", "team": "T", "period": "2026-11", "quota": 100.0, "closed": 90.0,
         "pipeline": 50.0},
        {"rep": "A", "team": "T", "period": "2026-12", "quota": 100.0, "closed": None,
         "pipeline": 270.0},
    ]  # fmt: skip
    q = m.quota_standing(quotas, AS_OF, RAG)
    assert [(p.period, p.coverage) for p in q.pipeline] == [("2026-12", pytest.approx(2.7))]
    mid = m.quota_standing(quotas, date(2026, 11, 15), RAG)
    assert [p.period for p in mid.pipeline] == ["2026-11", "2026-12"]
    assert mid.pipeline[0].coverage == pytest.approx(50 / 10)  # against the open 10
    no_pipe = [{k: v for k, v in r.items() if k != "pipeline"} for r in quotas]
    assert m.quota_standing(no_pipe, AS_OF, RAG).pipeline == []

"""Sales-plan metrics as pure functions: no I/O, no clock, no locale.

Every function takes the date it is computed *as of*; nothing reads today's
date. Money is plain ``float``; ratios are fractions (``0.85`` is 85 %).

Definitions (they are also stated in each report's footnote):

* **elapsed fraction** of a period ``[start, end]`` as of a day counts that
  day as complete: ``(as_of - start + 1) / (end - start + 1)``, clamped to
  ``0..1``. On the last day of a month the month is 100 % elapsed.
* **expected by now** (straight line): each period's target × its elapsed
  fraction, summed over the periods of a horizon (so a year made of monthly
  quotas follows the plan's own seasonality, one straight line per month).
* **pace** = actual ÷ expected by now. ``1.0`` is exactly on the line.
* **covered**: the day through which actuals are entered (a blank cell is "not
  reported yet", a 0 is zero): the end of the last begun period holding an
  actual, or ``as_of`` for the running one. Everything "to date" is measured
  through it, so a month not yet entered neither counts as 0 nor moves a figure.
* **attainment** = actual ÷ the target of the periods begun by ``covered``.
* **projection** (run-rate) = actual ÷ days elapsed to ``covered`` × days in the
  horizon, which runs from the first period with a target to the end of the last.
* **gap** = target of the whole horizon − actual (never below 0).
* **required weekly run-rate** = gap ÷ weeks left until the horizon ends.
* **RAG** from pace: green at or above ``green_at``, amber at or above
  ``amber_at``, red below.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .config import RagSettings
from .periods import fiscal_year, period_bounds, period_of

GREEN, AMBER, RED, GREY = "green", "amber", "red", "grey"
RAG_LABELS = {GREEN: "Green", AMBER: "Amber", RED: "Red", GREY: "n/a"}

DONE, LATE, AT_RISK, ON_TRACK = "done", "late", "at_risk", "on_track"
NOT_STARTED = "not_started"
MILESTONE_CATEGORIES = (LATE, AT_RISK, ON_TRACK, NOT_STARTED, DONE)
CATEGORY_LABELS = {
    DONE: "Done",
    LATE: "Late",
    AT_RISK: "At risk",
    ON_TRACK: "On track",
    NOT_STARTED: "Not started",
}
#: A milestone's colour: Done and Not started are states of their own, shown
#: neutral (a plan not begun yet is neither good nor bad news).
CATEGORY_RAG = {DONE: GREY, NOT_STARTED: GREY, ON_TRACK: GREEN, AT_RISK: AMBER, LATE: RED}


# --------------------------------------------------------------------------- basics


def days_inclusive(start: date, end: date) -> int:
    """Number of days in ``[start, end]``, both included (0 if end < start)."""
    return max((end - start).days + 1, 0)


def elapsed_days(start: date, end: date, as_of: date) -> int:
    """Days of ``[start, end]`` completed by the end of ``as_of``."""
    if as_of < start:
        return 0
    return days_inclusive(start, min(as_of, end))


def elapsed_fraction(start: date, end: date, as_of: date) -> float:
    """Share of ``[start, end]`` elapsed by the end of ``as_of`` (0..1)."""
    total = days_inclusive(start, end)
    return elapsed_days(start, end, as_of) / total if total else 1.0


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def attainment(closed: float | None, quota: float | None) -> float | None:
    """Closed ÷ quota (None without a quota)."""
    return ratio(closed or 0.0, quota)


def straight_line(target: float, start: date, end: date, as_of: date) -> float:
    """The part of ``target`` expected by ``as_of`` on a straight line over the period."""
    return target * elapsed_fraction(start, end, as_of)


def run_rate_projection(actual: float, start: date, end: date, as_of: date) -> float | None:
    """``actual`` extrapolated at its daily run-rate to the end of the period."""
    done = elapsed_days(start, end, as_of)
    if not done:
        return None
    return actual / done * days_inclusive(start, end)


def gap(target: float, actual: float) -> float:
    """What is still missing to reach ``target`` (0 once reached)."""
    return max(target - actual, 0.0)


def weeks_left(end: date, as_of: date) -> float:
    """Weeks from the end of ``as_of`` to the end of ``end`` (0 when over)."""
    return max((end - as_of).days, 0) / 7


def required_weekly(missing: float, end: date, as_of: date) -> float | None:
    """Run-rate per week needed to close ``missing`` by ``end``.

    0 when nothing is missing; None when something is missing and no time is left.
    """
    if missing <= 0:
        return 0.0
    weeks = weeks_left(end, as_of)
    return missing / weeks if weeks else None


# --------------------------------------------------------------------------- RAG


@dataclass(frozen=True)
class Rag:
    """A Red/Amber/Green verdict with the number and rule behind it."""

    status: str  # green | amber | red | grey
    value: float | None
    explanation: str

    @property
    def label(self) -> str:
        return RAG_LABELS[self.status]


def pct_shown(v: float, bounds: Sequence[float] = ()) -> tuple[float, int]:
    """The value a percentage is written as and its decimals, so that the text
    stays on the same side of every threshold in ``bounds`` as the value: 94.8 %
    against a 95 % threshold is "94.8%", never "95%" in Amber. Whole percents
    when they suffice, up to 2 decimals; a value still rounding up onto a
    threshold is cut instead (94.9999999 % is "94.99%")."""
    if not math.isfinite(v):
        return v, 0
    near = round(v, 12)  # as rag_for_pace compares it

    def same_side(shown: float) -> bool:
        return all((shown >= b) == (near >= b) for b in bounds)

    for digits in (0, 1, 2):
        if same_side(round(v * 100, digits) / 100):
            return v, digits
    return math.floor(v * 10_000) / 10_000, 2


def rag_bounds(settings: RagSettings) -> tuple[float, float]:
    """The pace thresholds a percentage is compared with (green, amber)."""
    return (settings.green_at, settings.amber_at)


def rag_for_pace(pace: float | None, settings: RagSettings, what: str = "pace") -> Rag:
    """RAG of a pace ratio against the configured thresholds, with its reason."""
    g, a = settings.green_at, settings.amber_at
    if pace is None:
        return Rag(GREY, None, f"no {what}: nothing was expected yet")
    shown, digits = pct_shown(pace, rag_bounds(settings))
    pct = f"{shown:.{digits}%}"
    near = round(pace, 12)  # 0.08 / 0.1 is 0.7999999999999999: at the threshold, not below
    if near >= g:
        return Rag(GREEN, pace, f"{what} {pct} ≥ {g:.0%} (green threshold)")
    if near >= a:
        return Rag(AMBER, pace, f"{what} {pct} is below {g:.0%} but ≥ {a:.0%}")
    return Rag(RED, pace, f"{what} {pct} is below {a:.0%} (amber threshold)")


def rag_rules(settings: RagSettings) -> list[str]:
    """The RAG rules in words, for a report's footnote."""
    g, a, d = settings.green_at, settings.amber_at, settings.at_risk_days
    red, amber = settings.delivery_red_late, settings.delivery_amber_late
    return [
        f"Pace = actual ÷ expected by now on a straight line through each period. "
        f"Green: pace ≥ {g:.0%}. Amber: {a:.0%} ≤ pace < {g:.0%}. Red: pace < {a:.0%}. "
        "A figure next to a threshold keeps a decimal (94.8%).",
        f"Milestones: Done when marked done or its target is reached; Late when past due and "
        f"not done, or marked Late; At risk when marked so, or due within {d} days and behind "
        f"a straight line from start to due; Not started when marked so or its start lies "
        f"ahead; else On track. Done and Not started are grey.",
        f"Projects have two statuses. Goal: the worst checkpoint not yet reached (paced like "
        f"a quota; past due and not reached is Red). Delivery: Red from {red} late "
        f"milestone{'s' if red != 1 else ''}, Amber from {amber} late or any at risk, else "
        f"Green ([rag] delivery_red_late, delivery_amber_late).",
        "A blank Sales cell is not reported yet (a 0 is zero): attainment, pace and "
        "projection run through the last period whose actuals are in. Projection = actual at "
        "its daily run-rate since the first period with a quota, extended to the end of the "
        "last one. Needed/week = gap ÷ weeks left in the period.",
    ]


# --------------------------------------------------------------------------- pacing


@dataclass(frozen=True)
class Part:
    """One period of a horizon with its target (a monthly quota, a quarter...) and
    its actual: ``None`` when nothing is entered for it yet (a blank cell), which
    is not the same as ``0``."""

    start: date
    end: date
    target: float
    actual: float | None = None


def covered_until(parts: Iterable[Part], as_of: date) -> date | None:
    """The day through which actuals are entered: the end of the latest period
    (begun by ``as_of``) that holds an actual, or ``as_of`` for the running one.
    None when no begun period has an actual yet."""
    return max(
        (min(p.end, as_of) for p in parts if p.actual is not None and p.start <= as_of),
        default=None,
    )


@dataclass(frozen=True)
class Pace:
    """Where an actual stands against a target over a horizon, as of a day.

    Everything "to date" is measured through ``covered`` (the day through which
    actuals are entered), not through ``as_of``: a month whose figures are not in
    yet neither counts as zero nor lowers the projection. ``weeks left`` count
    from ``as_of``.
    """

    start: date  # first day of the first period with a target
    end: date  # last day of the last period with a target
    as_of: date
    covered: date | None  # actuals entered through this day (None: none yet)
    target: float  # whole horizon
    target_to_date: float  # periods begun by ``covered``
    actual: float
    expected: float  # straight line through ``covered``
    attainment: float | None  # actual / target_to_date
    pace: float | None  # actual / expected
    projection: float | None  # run-rate to the end of the horizon
    gap: float  # target - actual, >= 0
    required_weekly: float | None
    rag: Rag
    members: int = 1  # reps summed into this figure (1 for one rep's own)
    members_reported: int = 0  # of them, those with an actual entered
    daily_rate: float | None = None  # closed per day so far, the projection's run rate

    @property
    def reported(self) -> bool:
        """Whether any actual is entered for the horizon's begun periods."""
        return self.covered is not None

    @property
    def projected_attainment(self) -> float | None:
        return ratio(self.projection, self.target)

    @property
    def behind(self) -> float:
        """How far below the straight line (0 when at or above it)."""
        return max(self.expected - self.actual, 0.0)

    @property
    def weekly_run_rate(self) -> float | None:
        """Closed per week so far (:attr:`daily_rate` × 7): the rate the projection runs at."""
        rate = self.daily_rate
        return None if rate is None else rate * 7

    @property
    def projected_shortfall(self) -> float | None:
        """How far the run-rate projection ends below the target (0 when it makes it)."""
        return None if self.projection is None else gap(self.target, self.projection)


def in_actual(p: Part, as_of: date) -> bool:
    """Whether a part's actual counts in ``Pace.actual``: its period has begun."""
    return p.start <= as_of


def in_target_to_date(p: Part, covered: date) -> bool:
    """Whether a part's target counts in ``Pace.target_to_date`` (attainment's
    denominator): its period has begun by ``covered``."""
    return p.start <= covered


def pace_parts(parts: Sequence[Part], as_of: date, settings: RagSettings) -> Pace:
    """Pace the actuals of ``parts`` (e.g. monthly quotas) against their targets.

    The horizon runs from the first part's start to the last part's end, so a
    rep whose quotas start in June is paced from June, and a projection never
    runs past the last period that has a quota.
    """
    if not parts:
        raise ValueError("pace_parts needs at least one part")
    s = min(p.start for p in parts)
    e = max(p.end for p in parts)
    covered = covered_until(parts, as_of)
    target = sum(p.target for p in parts)
    actual = sum(p.actual or 0.0 for p in parts if in_actual(p, as_of))
    if covered is None:
        to_date = expected = 0.0
        projection = pace = None
        begun = any(p.start <= as_of for p in parts)
        rag = Rag(GREY, None, "no actuals entered yet" if begun else "not begun yet")
    else:
        to_date = sum(p.target for p in parts if in_target_to_date(p, covered))
        expected = sum(straight_line(p.target, p.start, p.end, covered) for p in parts)
        pace = ratio(actual, expected)
        projection = run_rate_projection(actual, s, e, covered)
        rag = rag_for_pace(pace, settings)
    rate = ratio(actual, elapsed_days(s, e, covered)) if covered is not None else None
    missing = gap(target, actual)
    return Pace(
        start=s,
        end=e,
        as_of=as_of,
        covered=covered,
        target=target,
        target_to_date=to_date,
        actual=actual,
        expected=expected,
        attainment=ratio(actual, to_date) if covered else None,
        pace=pace,
        projection=projection,
        gap=missing,
        required_weekly=required_weekly(missing, e, as_of),
        rag=rag,
        members=1,
        members_reported=1 if covered else 0,
        daily_rate=rate,
    )


def combine_paces(paces: Sequence[Pace], as_of: date, settings: RagSettings) -> Pace:
    """Several reps' paces as one (a team, all teams): each rep counts through the
    day *his* actuals are entered, so one rep's early entry or late one never
    turns the others' blank months into zeros. Sums of quota, actual, expected
    and projection; ratios of the sums. While fewer than half the reps have
    entered anything, the verdict is neutral."""
    if not paces:
        raise ValueError("combine_paces needs at least one pace")
    reported = [p for p in paces if p.reported]
    members = sum(p.members for p in paces)
    members_reported = sum(p.members_reported for p in paces)
    target = sum(p.target for p in paces)
    actual = sum(p.actual for p in paces)
    to_date = sum(p.target_to_date for p in paces)
    expected = sum(p.expected for p in paces)
    end = max(p.end for p in paces)
    pace = ratio(actual, expected) if reported else None
    if not reported:
        begun = any(p.rag.explanation != "not begun yet" for p in paces)
        rag = Rag(GREY, None, "no actuals entered yet" if begun else "not begun yet")
    elif members_reported * 2 < members:
        rag = Rag(GREY, pace, f"only {members_reported} of {members} reps have entered actuals")
    else:
        rag = rag_for_pace(pace, settings)
    missing = gap(target, actual)
    return Pace(
        start=min(p.start for p in paces),
        end=end,
        as_of=as_of,
        covered=max((p.covered for p in reported), default=None),  # type: ignore[type-var]
        target=target,
        target_to_date=to_date,
        actual=actual,
        expected=expected,
        attainment=ratio(actual, to_date) if reported else None,
        pace=pace,
        projection=sum(p.projection or 0.0 for p in reported) if reported else None,
        gap=missing,
        required_weekly=required_weekly(missing, end, as_of),
        rag=rag,
        members=members,
        members_reported=members_reported,
        # each rep at his own rate: the rate the summed projection runs at
        daily_rate=sum(p.daily_rate or 0.0 for p in reported) if reported else None,
    )


def pace_period(
    actual: float | None, target: float, start: date, end: date, as_of: date, settings: RagSettings
) -> Pace:
    """Pace ``actual`` against one ``target`` over ``[start, end]``."""
    return pace_parts([Part(start, end, target, actual)], as_of, settings)


# --------------------------------------------------------------------------- quotas


@dataclass(frozen=True)
class QuotaLine:
    """One quota record with its period resolved to days."""

    rep: str
    team: str
    region: str | None
    period: str  # canonical label, e.g. "2026-11"
    start: date
    end: date
    quota: float
    closed: float | None  # None: not reported yet
    index: int = -1  # position of its record in the quotas given (see sheetsync.explain)
    pipeline: float | None = None  # open pipeline for the period (None: not mapped or blank)


@dataclass(frozen=True)
class PipelineCoverage:
    """Open pipeline of one quota period against what is still to close in it."""

    period: str  # "2026-12"
    start: date
    end: date
    pipeline: float
    quota: float
    open_quota: float  # quota − closed so far (>= 0)
    coverage: float | None  # pipeline ÷ open quota


def pipeline_coverage(
    lines: Sequence[QuotaLine], as_of: date, settled_only: bool = False
) -> list[PipelineCoverage]:
    """Coverage of the quota periods still running after ``as_of`` (the current one
    unless it ends that day, and the next), where any of their quota lines has a
    pipeline figure (nothing when pipeline is not mapped). What is closed counts
    as the quota figures count it (:func:`line_part`)."""
    periods = sorted({(q.start, q.end, q.period) for q in lines if q.end > as_of})
    periods = [p for p in periods if not any(o[0] >= p[0] and o[1] < p[1] for o in periods)]
    out = []
    for start, end, label in periods[:2]:
        sel = [q for q in lines if q.period == label]
        if all(q.pipeline is None for q in sel):
            continue
        quota = sum(q.quota for q in sel)
        closed = sum(line_part(q, as_of, settled_only).actual or 0.0 for q in sel)
        open_quota = max(quota - closed, 0.0)
        pipe = sum(q.pipeline or 0.0 for q in sel)
        out.append(
            PipelineCoverage(label, start, end, pipe, quota, open_quota, ratio(pipe, open_quota))
        )
    return out


@dataclass(frozen=True)
class RepStanding:
    rep: str
    team: str
    region: str | None
    period: Pace | None  # the current quota period (month)
    ytd: Pace  # the fiscal year to date, projected to its last quota period


@dataclass(frozen=True)
class TeamStanding:
    team: str
    rep_count: int
    period: Pace | None
    ytd: Pace
    reps: list[RepStanding]


@dataclass(frozen=True)
class PeriodTotal:
    """One quota period of the year, all reps together."""

    period: str
    start: date
    end: date
    quota: float
    closed: float | None  # None: no actuals entered for it
    forecast: float | None  # run-rate forecast, for a period after the actuals

    @property
    def variance(self) -> float | None:
        return None if self.closed is None else self.closed - self.quota


@dataclass(frozen=True)
class QuotaStanding:
    """Every quota figure of the plan as of a day: per rep, per team and in total.

    The one home of attainment, pace, projection, gap and required run-rate:
    ``status``, every report and the email read them from here.
    """

    as_of: date
    year_label: str  # "2026" or "FY2027"
    year_start: date
    year_end: date
    period_label: str  # the current quota period, e.g. "2026-12"
    period_start: date
    period_end: date
    reps: list[RepStanding]
    teams: list[TeamStanding]
    period: Pace | None  # all reps over the current period
    ytd: Pace | None  # all reps over the fiscal year (None: no quota in it)
    covered_label: str | None  # the quota period actuals are entered through ("2026-11")
    span: tuple[date, date] | None  # first and last day of every quota period in the model
    last_covered: date | None  # the last day with actuals anywhere in the model
    skipped: int  # quota rows whose period cannot be read
    lines: list[QuotaLine]  # the fiscal year's quota lines (after the team filter)
    settled_only: bool = False  # read after as_of: a running period's actuals are left out
    pipeline: list[PipelineCoverage] = ()  # type: ignore[assignment]  # current and next period

    @property
    def quotas_end_early(self) -> bool:
        """The fiscal year runs on after the last period that has a quota."""
        return self.ytd is not None and self.ytd.end < self.year_end

    @property
    def outside_data(self) -> bool:
        """The model holds quotas, but none in the fiscal year of ``as_of``."""
        return self.ytd is None and self.span is not None

    def by_period(self) -> list[PeriodTotal]:
        """The year's quota and closed summed per quota period, in order, with the
        actuals counted as :attr:`ytd` counts them (:func:`line_part`). A period
        begun after the day actuals are entered through has its run-rate forecast:
        each rep's :attr:`Pace.daily_rate` over the period's days, as the
        projection runs."""
        rates = {r.rep: r.ytd.daily_rate for r in self.reps}
        totals: dict[tuple[date, date, str], list[float | None]] = {}
        for ln in self.lines:
            t = totals.setdefault((ln.start, ln.end, ln.period), [0.0, None, None])
            t[0] = (t[0] or 0.0) + ln.quota
            part = line_part(ln, self.as_of, self.settled_only)
            if part.actual is not None and in_actual(part, self.as_of):
                t[1] = (t[1] or 0.0) + part.actual
            rate = rates.get(ln.rep)
            if rate is not None:
                t[2] = (t[2] or 0.0) + rate * days_inclusive(ln.start, ln.end)
        covered = self.ytd.covered if self.ytd else None
        out = []
        for (s, e, label), (quota, closed, forecast) in sorted(totals.items()):
            ahead = covered is not None and s > covered
            out.append(PeriodTotal(label, s, e, quota or 0.0, closed, forecast if ahead else None))
        return out

    def suggested_as_of(self) -> date | None:
        """A day inside the data to suggest when ``as_of`` lies outside it."""
        return self.last_covered or (self.span[1] if self.span else None)


def quota_lines(
    quotas: Iterable[Mapping[str, Any]], fy_start_month: int = 1
) -> tuple[list[QuotaLine], int]:
    """Quota records as lines with period bounds, and how many had no readable period."""
    cache: dict[str, tuple[date, date] | None] = {}
    out: list[QuotaLine] = []
    skipped = 0
    for index, q in enumerate(quotas):
        label = str(q.get("period") or "")
        if label not in cache:
            try:
                cache[label] = period_bounds(label, fy_start_month)
            except (ValueError, IndexError):
                cache[label] = None
        b = cache[label]
        if b is None:
            skipped += 1
            continue
        closed, pipe = q.get("closed"), q.get("pipeline")
        out.append(
            QuotaLine(
                rep=str(q.get("rep") or ""),
                team=str(q.get("team") or "(no team)"),
                region=q.get("region"),
                period=label,
                start=b[0],
                end=b[1],
                quota=float(q.get("quota") or 0.0),
                closed=None if closed is None else float(closed),
                index=index,
                pipeline=None if pipe is None else float(pipe),
            )
        )
    return out, skipped


def line_part(q: QuotaLine, as_of: date, settled_only: bool) -> Part:
    """A quota line as the :class:`Part` its rep is paced on. ``settled_only``: a
    running period's actual was read after ``as_of``, so it may hold sales after
    that day; it is left out rather than spread over it."""
    return Part(q.start, q.end, q.quota, None if settled_only and q.end > as_of else q.closed)


def quota_standing(
    quotas: Iterable[Mapping[str, Any]],
    as_of: date,
    settings: RagSettings,
    fy_start_month: int = 1,
    teams: Sequence[str] = (),
    *,
    settled_only: bool = False,
) -> QuotaStanding:
    """Attainment, pace and projection of every rep, team and the total as of a day.

    ``teams`` limits the figures to those teams (case-insensitive). Only quota
    periods inside the fiscal year of ``as_of`` count. A team's and the total's
    figures combine their reps' (:func:`combine_paces`). ``settled_only``: the
    records were read after ``as_of`` (the plan as first pulled), so only
    periods ended by then count as reported.
    """
    lines, skipped = quota_lines(quotas, fy_start_month)
    if teams:
        wanted = {t.casefold() for t in teams}
        lines = [q for q in lines if q.team.casefold() in wanted]
    year_label, ystart, yend = fiscal_year(as_of, fy_start_month)
    span = (min(q.start for q in lines), max(q.end for q in lines)) if lines else None
    last_covered = max((q.end for q in lines if q.closed is not None), default=None)
    rows = [q for q in lines if q.start >= ystart and q.end <= yend]

    # The current quota period: the shortest period of the year's quotas holding as_of.
    holding = sorted(
        {(q.end - q.start, q.period, q.start, q.end) for q in rows if q.start <= as_of <= q.end}
    )
    if holding:
        _, plabel, pstart, pend = holding[0]
    else:
        plabel = period_of(as_of)
        pstart, pend = period_bounds(plabel)

    def parts(items: Iterable[QuotaLine]) -> list[Part]:
        return [line_part(q, as_of, settled_only) for q in items]

    def in_period(items: list[QuotaLine]) -> Pace | None:
        sel = [q for q in items if q.start >= pstart and q.end <= pend]
        return pace_parts(parts(sel), as_of, settings) if sel else None

    def combined(paces: list[Pace | None]) -> Pace | None:
        present = [p for p in paces if p is not None]
        return combine_paces(present, as_of, settings) if present else None

    by_rep: dict[str, list[QuotaLine]] = {}
    for q in rows:
        by_rep.setdefault(q.rep, []).append(q)
    reps = []
    for rep, items in by_rep.items():
        last = max(items, key=lambda q: (q.start, q.end))
        reps.append(
            RepStanding(
                rep,
                last.team,
                last.region,
                in_period(items),
                pace_parts(parts(items), as_of, settings),
            )
        )
    reps.sort(key=lambda r: (r.team.casefold(), r.rep.casefold()))
    team_reps: dict[str, list[RepStanding]] = {}
    for r in reps:
        team_reps.setdefault(r.team, []).append(r)
    team_list = []
    for team, rs in team_reps.items():  # in team order: the reps are sorted by team
        ytd_team = combined([r.ytd for r in rs])
        assert ytd_team is not None
        team_list.append(
            TeamStanding(team, len(rs), combined([r.period for r in rs]), ytd_team, rs)
        )
    ytd = combined([r.ytd for r in reps])
    covered_label = None
    if ytd is not None and ytd.covered is not None:
        ends = sorted((q.end - q.start, q.period) for q in rows if q.end == ytd.covered)
        covered_label = ends[0][1] if ends else None
    return QuotaStanding(
        as_of=as_of,
        year_label=year_label,
        year_start=ystart,
        year_end=yend,
        period_label=plabel,
        period_start=pstart,
        period_end=pend,
        reps=reps,
        teams=team_list,
        period=combined([r.period for r in reps]),
        ytd=ytd,
        covered_label=covered_label,
        span=span,
        last_covered=last_covered,
        skipped=skipped,
        lines=rows,
        settled_only=settled_only,
        pipeline=pipeline_coverage(lines, as_of, settled_only),
    )


# --------------------------------------------------------------------------- milestones


def milestone_progress(record: Mapping[str, Any]) -> float | None:
    """Progress of a milestone as a fraction (0..1+), or None when unknown.

    ``actual_value ÷ target_value`` when both are set; a bare ``actual_value``
    is read as a fraction when ≤ 1.5 (``0.4``) and as a percentage otherwise
    (``40``). A milestone marked Done is 100 %.
    """
    actual, target = record.get("actual_value"), record.get("target_value")
    if actual is not None and target:
        return actual / target
    if actual is not None:
        return actual if actual <= 1.5 else actual / 100
    if is_done_status(record.get("status")):
        return 1.0
    return None


def is_done_status(status: str | None) -> bool:
    return (status or "").strip().lower() in ("done", "complete", "completed", "closed")


@dataclass(frozen=True)
class MilestoneState:
    category: str  # done | late | at_risk | on_track
    reason: str
    progress: float | None
    expected: float | None  # straight-line progress expected by as_of
    days_to_due: int | None  # negative: overdue

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self.category]

    @property
    def rag(self) -> str:
        return CATEGORY_RAG[self.category]


def classify_milestone(
    record: Mapping[str, Any], as_of: date, settings: RagSettings
) -> MilestoneState:
    """On track / at risk / late / done, from status, due date, progress and as-of."""
    status = (record.get("status") or "").strip().lower()
    due: date | None = record.get("due")
    start: date | None = record.get("start")
    completed: date | None = record.get("completed_on")
    progress = milestone_progress(record)
    days_to_due = (due - as_of).days if due else None
    expected = None
    if due and start and start <= due:
        expected = elapsed_fraction(start, due, as_of)

    def state(category: str, reason: str) -> MilestoneState:
        return MilestoneState(category, reason, progress, expected, days_to_due)

    if is_done_status(status) or (completed is not None and completed <= as_of):
        when = f" on {completed.isoformat()}" if completed else ""
        return state(DONE, f"completed{when}")
    if progress is not None and progress >= 1.0 and record.get("target_value"):
        return state(DONE, "target reached")
    if days_to_due is not None and days_to_due < 0:
        n = -days_to_due
        return state(LATE, f"{n} day{'s' if n != 1 else ''} past due, not done")
    if status == "late":
        return state(LATE, "marked Late")
    if status in ("at risk", "at-risk", "atrisk"):
        return state(AT_RISK, "marked At risk")
    if days_to_due is not None and days_to_due <= settings.at_risk_days:
        when = "today" if days_to_due == 0 else f"in {days_to_due} days"
        if progress is None:
            if status in ("", "not started"):
                return state(AT_RISK, f"due {when}, not started")
        elif expected is not None and progress + 1e-9 < expected:
            return state(
                AT_RISK, f"due {when}, {progress:.0%} done vs {expected:.0%} expected by now"
            )
        elif expected is None and progress < 0.5:
            return state(AT_RISK, f"due {when}, only {progress:.0%} done")
    if status == "not started" or (
        not status and not progress and start is not None and start > as_of
    ):
        begins = f", starts {start.isoformat()}" if start is not None and start > as_of else ""
        return state(NOT_STARTED, f"not started{begins}")
    return state(ON_TRACK, "on schedule")


def project_delivery(counts: Mapping[str, int], settings: RagSettings) -> Rag:
    """A project's delivery status from its milestones (the rule in :func:`rag_rules`)."""
    late, risk = counts.get(LATE, 0), counts.get(AT_RISK, 0)
    why = ", ".join(
        f"{n} {word}" for n, word in ((late, "late"), (risk, "at risk")) if n
    )  # "1 late, 2 at risk"
    if late >= settings.delivery_red_late:
        return Rag(RED, late, why)
    if late >= settings.delivery_amber_late or risk:
        return Rag(AMBER, late, why)
    if not any(counts.values()):
        return Rag(GREY, None, "no milestones")
    return Rag(GREEN, 0, "no milestone late or at risk")


def project_goal(checkpoints: Sequence[Checkpoint]) -> Rag:
    """A project's goal status: the worst checkpoint not yet reached."""
    if not checkpoints:
        return Rag(GREY, None, "no goal figures")
    open_ = [c for c in checkpoints if not c.reached]
    if not open_:
        return Rag(GREEN, 1.0, "every checkpoint reached")
    order = {RED: 0, AMBER: 1, GREY: 2, GREEN: 3}
    worst = min(open_, key=lambda c: (order[c.rag.status], c.due))
    return Rag(worst.rag.status, worst.pace, f"{worst.label}: {worst.rag.explanation}")


def count_categories(states: Iterable[MilestoneState]) -> dict[str, int]:
    counts = dict.fromkeys(MILESTONE_CATEGORIES, 0)
    for s in states:
        counts[s.category] += 1
    return counts


# --------------------------------------------------------------------------- goals


@dataclass(frozen=True)
class Checkpoint:
    """A goal's pace against one checkpoint (e.g. 30 % of customers within a year)."""

    label: str
    due: date
    target: float
    baseline: float
    current: float
    expected: float  # value expected by as_of on the line baseline@start → target@due
    progress: float | None  # (current - baseline) / (target - baseline)
    pace: float | None  # progress made / progress expected by now
    projection: float | None  # value at due at the run-rate since start
    gap: float  # remaining change to reach target (>= 0, in the goal's direction)
    required_weekly: float | None
    rag: Rag
    reached: bool
    passed: bool  # due date is before as_of


def pace_checkpoints(
    baseline: float,
    current: float,
    start: date,
    checkpoints: Sequence[tuple[str, date, float]],
    as_of: date,
    settings: RagSettings,
) -> list[Checkpoint]:
    """Pace a goal against each checkpoint, each on its own straight line.

    A goal "30 % of customers within a year, 50 % within two" from a
    baseline of 10 % has two lines from ``(start, 10)``: to ``(start+1y, 30)``
    and to ``(start+2y, 50)``. Works for falling targets (churn 8 % → 5 %) too.
    """
    out: list[Checkpoint] = []
    for label, due, target in sorted(checkpoints, key=lambda c: (c[1], c[2])):
        change = target - baseline
        sign = 1.0 if change >= 0 else -1.0
        made = current - baseline
        frac = elapsed_fraction(start, due, as_of)
        expected = baseline + change * frac
        progress = ratio(made, change)
        pace = ratio(made, change * frac) if frac else None
        proj = run_rate_projection(made, start, due, as_of)
        missing = max((target - current) * sign, 0.0)
        reached = missing == 0
        passed = due < as_of
        if reached:
            rag = Rag(GREEN, progress, "checkpoint reached")
        elif passed:
            rag = Rag(RED, progress, f"due {due.isoformat()} passed, not reached")
        else:
            rag = rag_for_pace(pace, settings)
        out.append(
            Checkpoint(
                label=label,
                due=due,
                target=target,
                baseline=baseline,
                current=current,
                expected=expected,
                progress=progress,
                pace=pace,
                projection=baseline + proj if proj is not None else None,
                gap=missing,
                required_weekly=required_weekly(missing, due, as_of),
                rag=rag,
                reached=reached,
                passed=passed,
            )
        )
    return out


# --------------------------------------------------------------------------- budget


@dataclass(frozen=True)
class BudgetTotals:
    planned: float
    spent: float
    revenue: float
    spent_share: float | None  # spent / planned
    spend_to_revenue: float | None  # spent / attributed revenue
    over_plan: int  # lines with spent > planned


def budget_totals(lines: Iterable[Mapping[str, Any]]) -> BudgetTotals:
    planned = spent = revenue = 0.0
    over = 0
    for line in lines:
        p, s = line.get("planned") or 0.0, line.get("spent") or 0.0
        planned += p
        spent += s
        revenue += line.get("attributed_revenue") or 0.0
        if s > p:
            over += 1
    return BudgetTotals(planned, spent, revenue, ratio(spent, planned), ratio(spent, revenue), over)

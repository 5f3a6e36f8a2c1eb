"""Pacing an actual against its targets over a horizon (``Pace``), for one rep or several."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from .rag import GREY, Rag, RagSettings, rag_for_pace
from .ratios import (
    elapsed_days,
    gap,
    ratio,
    required_weekly,
    run_rate_projection,
    straight_line,
)


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

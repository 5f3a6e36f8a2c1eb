"""Every quota figure of the plan as of a day: per rep, per team and in total (``quota_standing``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..periods import fiscal_year, period_bounds, period_of
from .pace import Pace, Part, combine_paces, in_actual, pace_parts
from .rag import RagSettings
from .ratios import days_inclusive, ratio


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

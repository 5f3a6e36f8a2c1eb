"""Where each number comes from: the explanation of every headline figure.

Each figure is explained by its formula, its inputs and the cells they were
read from (:mod:`sheetsync.provenance`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import metrics as m
from .config import Config
from .errors import NoDataError, UsageError
from .formatting import Formatter
from .grid import a1, cell_ref
from .model import resolve_teams
from .plan import PlanAsOf, require_in_range, through_text
from .provenance import Cell, Provenance, cell_ranges
from .store import Store


@dataclass(frozen=True)
class Input:
    """One input of a figure: its value and the cells it adds up."""

    name: str  # "closed"
    value: float | int | None
    text: str  # as printed: "$7,528,929"
    cells: tuple[Cell, ...]
    unread: int = 0  # records without a known cell (written by a sync, or older)
    blank: int = 0  # blank cells left out
    blank_means: str = "not reported yet"

    @property
    def ranges(self) -> str:
        return cell_ranges(self.cells)

    def addresses(self, limit: int | None = None) -> str:
        """ "'Quotas'!F2, F5, F8 …": each cell, the sheet named once."""
        cells = sorted(self.cells, key=lambda c: (c.sheet, c.column, c.row))
        shown = cells if limit is None else cells[:limit]
        parts, sheet = [], None
        for c in shown:
            ref = a1(c.row, c.column)
            parts.append(ref if c.sheet == sheet else cell_ref(c.sheet, ref))
            sheet = c.sheet
        return ", ".join(parts) + (" …" if len(cells) > len(shown) else "")


@dataclass(frozen=True)
class Explanation:
    """How one headline figure is computed, from which cells, under which rule."""

    metric: str  # attainment | pace | ...
    kpi: str | None  # the report tile it explains (Kpi.key), if any
    subject: str  # "Enterprise", "Dana Whitfield", "All teams", "GROW20"
    label: str  # "YTD attainment"
    value: float | int | None
    text: str  # "93%"
    formula: str  # "closed $7,528,929 ÷ quota $8,079,000"
    inputs: tuple[Input, ...]
    rule: str
    sources: str  # "sales_plan.xlsx, read 2 Dec 2026 09:14"

    @property
    def headline(self) -> str:
        if self.value is None:
            return f"{self.subject} {self.label}: {self.formula}"
        return f"{self.subject} {self.label} {self.text} = {self.formula}"

    def lines(self, limit: int | None = 8) -> list[str]:
        """The explanation as a person reads it in a terminal."""
        out = [self.headline]
        for i in self.inputs:
            n = len(i.cells)
            where = i.addresses(limit) if n else "no cell known"
            extra = []
            if i.blank:
                extra.append(f"{i.blank} blank, {i.blank_means}")
            if i.unread:
                extra.append(f"{i.unread} without a known cell (written by sync)")
            more = f"; {', '.join(extra)}" if extra else ""
            out.append(
                f"  {i.name}: {n} cell{'s' if n != 1 else ''}, {where}{more} ({self.sources})"
            )
        out.append(f"  rule: {self.rule}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "subject": self.subject,
            "label": self.label,
            "value": self.value,
            "text": self.text,
            "headline": self.headline,
            "formula": self.formula,
            "inputs": [
                {
                    "name": i.name,
                    "value": i.value,
                    "text": i.text,
                    "cells": [c.address for c in i.cells],
                    "ranges": i.ranges,
                    "blank": i.blank,
                    "unread": i.unread,
                }
                for i in self.inputs
            ],
            "rule": self.rule,
            "sources": self.sources,
        }


#: explain's METRIC names, what each is, and the report tile each explains.
METRICS: dict[str, tuple[str, str | None]] = {
    "attainment": ("YTD attainment", "ytd_attainment"),
    "period-attainment": ("attainment this period", "period_attainment"),
    "pace": ("YTD pace", None),
    "projection": ("projection", "projection"),
    "gap": ("gap to the year's quota", None),
    "required": ("required run-rate", None),
    "rag": ("RAG", None),
    "milestones": ("milestones", "milestones"),
    "budget": ("budget used", "budget"),
    "spend-to-revenue": ("spend to revenue", "spend_to_revenue"),
}
QUOTA_METRICS = ("attainment", "period-attainment", "pace", "projection", "gap", "required", "rag")


class _Cells:
    """The cells of the records a plan holds, by table and position: where each
    source's last read (the one the plan reflects) found them; a record that
    read does not hold, where its version was read."""

    def __init__(self, store: Store, plan: PlanAsOf, config: Config) -> None:
        self.prov = Provenance(store)
        self.store = store
        self.config = config
        self.plan = plan
        self.moment = plan.known_at
        self._versions: dict[str, list[Any]] = {}
        self._reads: dict[tuple[str, str], Any] = {}
        self._standings: dict[tuple[str, ...], m.QuotaStanding] = {}

    def standing(self, teams: tuple[str, ...]) -> m.QuotaStanding:
        """The plan's quota standing for ``teams`` (all when empty), computed once
        for every figure explained with these cells (issue 18)."""
        if teams not in self._standings:
            plan, config = self.plan, self.config
            self._standings[teams] = m.quota_standing(
                plan.current.get("quotas", []),
                plan.as_of,
                config.rag,
                config.report.fiscal_year_start_month,
                teams,
            )
        return self._standings[teams]

    def _read(self, table: str, source: str) -> Any:
        if (table, source) not in self._reads:
            spec = self.config.table_spec(table)
            self._reads[table, source] = self.prov.last_read(table, source, self.moment, spec)
        return self._reads[table, source]

    def of(self, table: str, indexes: Iterable[int], field: str) -> tuple[list[Cell], int]:
        if table not in self._versions:
            self._versions[table] = self.store.versions(table, self.moment)
        vs = self._versions[table]
        cells, unread = [], 0
        for i in indexes:
            v = vs[i]
            read = self._read(table, v._source) if v._source else None
            c = None
            if read is not None and v._key in read[2] and field in read[0]["columns"]:
                layout, at, rows = read
                c = Cell(v._source, layout["sheet"], rows[v._key], layout["columns"][field], at)
            else:
                c = self.prov.cell(table, v, field)
            if c is None:
                unread += 1
            else:
                cells.append(c)
        return cells, unread


def _sources(plan: PlanAsOf, cells: Iterable[Cell], fmt: Formatter) -> str:
    """ "sales_plan.xlsx, read Dec 2, 2026 09:14 UTC": each source of ``cells``
    when its cells were last read (the plan's reads when no cell is known)."""
    read_at: dict[str, datetime] = {}
    for c in cells:
        read_at[c.source] = max(c.read_at, read_at.get(c.source, c.read_at))
    reads = [r for r in plan.reads if r.source in read_at] or list(plan.reads)
    return "; ".join(
        f"{r.location}, read {fmt.day(at.date())} {at:%H:%M} UTC"
        for r in reads
        for at in [read_at.get(r.source, r.read_at)]
    )


def explain(
    store: Store,
    plan: PlanAsOf,
    config: Config,
    metric: str,
    *,
    team: str | Sequence[str] | None = None,
    rep: str | None = None,
    project: str | None = None,
) -> Explanation:
    """How ``metric`` of the plan as of a day is computed, and from which cells.
    ``team``: one team, or several (a report's ``--team`` filter).

    The figures are the ones ``metrics.quota_standing``, ``classify_milestone``
    and ``budget_totals`` compute (what ``status``, the reports and the email
    print); this only names their inputs' cells. Raises UsageError for an
    unknown metric, team, rep or project, or a filter the metric cannot take.
    """
    return _explain(_Cells(store, plan, config), metric, team, rep, project)


def _explain(
    cells: _Cells,
    metric: str,
    team: str | Sequence[str] | None,
    rep: str | None,
    project: str | None,
) -> Explanation:
    """:func:`explain` with the cells (and their caches) it reads."""
    plan, config = cells.plan, cells.config
    if metric not in METRICS:
        raise UsageError(f"no metric {metric!r}", hint="one of: " + ", ".join(METRICS))
    fmt = Formatter(config.report.locale, config.report.currency)
    if metric in QUOTA_METRICS:
        if project:
            raise UsageError(
                f"{metric} is a quota figure: --project does not apply", hint="use --team or --rep"
            )
        return _quota(plan, config, metric, team, rep, fmt, cells)
    if team or rep:
        raise UsageError(
            f"{metric} is not a quota figure: --team and --rep do not apply", hint="use --project"
        )
    if metric == "milestones":
        return _milestones(plan, config, project, fmt, cells)
    return _budget(plan, config, metric, project, fmt, cells)


def _quota(
    plan: PlanAsOf,
    config: Config,
    metric: str,
    team: str | Sequence[str] | None,
    rep: str | None,
    fmt: Formatter,
    cells: _Cells,
) -> Explanation:
    st, subject, pace, lines = _quota_scope(plan, metric, team, rep, fmt, cells)

    def part(q: m.QuotaLine) -> m.Part:
        return m.Part(q.start, q.end, q.quota, q.closed)

    begun = [q for q in lines if m.in_actual(part(q), plan.as_of)]
    closed_idx = [q.index for q in begun if q.closed is not None]
    closed_cells, closed_unread = cells.of("quotas", closed_idx, "closed")
    closed = Input(
        "closed",
        pace.actual,
        fmt.money(pace.actual),
        tuple(closed_cells),
        closed_unread,
        blank=len(begun) - len(closed_idx),
    )

    def quota_input(selected: list[m.QuotaLine], value: float, name: str = "quota") -> Input:
        found, unread = cells.of("quotas", [q.index for q in selected], "quota")
        return Input(name, value, fmt.money(value), tuple(found), unread)

    covered = pace.covered
    to_date = [q for q in lines if covered and m.in_target_to_date(part(q), covered)]
    through = (
        through_text(st, fmt) if not rep else (f"through {fmt.day(covered)}" if covered else "")
    )
    label, kpi = METRICS[metric]
    if metric == "period-attainment":
        label = f"attainment {fmt.period_name(st.period_label)}"
    if covered is None:
        formula = f"no actuals entered yet (quota {fmt.money(pace.target)})"
        inputs: tuple[Input, ...] = (closed, quota_input(lines, pace.target))
        value: float | None = None
        rule = "A blank Sales cell is not reported yet (a 0 is zero): with no actual entered, there is nothing to measure."
        return Explanation(
            metric,
            kpi,
            subject,
            label,
            value,
            "—",
            formula,
            inputs,
            rule,
            _sources(plan, [c for i in inputs for c in i.cells], fmt),
        )
    label, value, text, formula, inputs, rule = _quota_figure(
        metric, label, pace, closed, quota_input, lines, to_date, through, plan.as_of, config, fmt
    )
    sources = _sources(plan, [c for i in inputs for c in i.cells], fmt)
    return Explanation(metric, kpi, subject, label, value, text, formula, inputs, rule, sources)


def _quota_scope(
    plan: PlanAsOf,
    metric: str,
    team: str | Sequence[str] | None,
    rep: str | None,
    fmt: Formatter,
    cells: _Cells,
) -> tuple[m.QuotaStanding, str, m.Pace, list[m.QuotaLine]]:
    """What a quota figure is of: the standing, its subject (teams or a rep),
    the pace explained and the quota lines behind it."""
    records = plan.current.get("quotas", [])
    if not records:
        raise NoDataError("the model holds no quotas", hint="map a quota sheet and pull")
    wanted = (team,) if isinstance(team, str) else tuple(team or ())
    teams = resolve_teams(plan.current, wanted) if wanted else ()
    st = cells.standing(tuple(teams))
    require_in_range(st)
    period = metric == "period-attainment"
    lines = st.lines
    subject = ", ".join(teams) if teams else "All teams"
    pace = st.period if period else st.ytd
    if rep:
        found = [r for r in st.reps if r.rep.casefold() == rep.strip().casefold()]
        if not found:
            raise UsageError(
                f"no rep {rep!r}" + (f" in {subject}" if teams else ""),
                hint="reps: " + ", ".join(r.rep for r in st.reps),
            )
        r = found[0]
        subject, pace = r.rep, (r.period if period else r.ytd)
        lines = [q for q in lines if q.rep == r.rep]
    if period:
        lines = [q for q in lines if q.start >= st.period_start and q.end <= st.period_end]
    if pace is None:
        raise NoDataError(f"no quota covers {fmt.day(plan.as_of)} for {subject}")
    return st, subject, pace, lines


def _quota_figure(
    metric: str,
    label: str,
    pace: m.Pace,
    closed: Input,
    quota_input: Callable[[list[m.QuotaLine], float], Input],
    lines: list[m.QuotaLine],
    to_date: list[m.QuotaLine],
    through: str,
    as_of: Any,
    config: Config,
    fmt: Formatter,
) -> tuple[str, float | None, str, str, tuple[Input, ...], str]:
    """One reported quota figure: (label, value, text, formula, inputs, rule)."""
    covered = pace.covered
    assert covered is not None
    horizon = f"{fmt.day(pace.start)} – {fmt.day(pace.end)}"
    if metric in ("attainment", "period-attainment"):
        value, text = pace.attainment, fmt.pct(pace.attainment)
        formula = f"closed {closed.text} ÷ quota {fmt.money(pace.target_to_date)}"
        inputs: tuple[Input, ...] = (closed, quota_input(to_date, pace.target_to_date))
        rule = (
            f"attainment = closed ÷ the quota of the periods begun by {fmt.day(covered)} "
            f"(actuals {through}); a blank Sales cell is not reported yet, a 0 is zero."
        )
    elif metric in ("pace", "rag"):
        value, text = pace.pace, fmt.pct(pace.pace)
        formula = f"closed {closed.text} ÷ expected by now {fmt.money(pace.expected)}"
        inputs = (closed, quota_input(lines, pace.target))
        rule = (
            f"expected by now = each period's quota × the share of it elapsed by {fmt.day(covered)}, "
            "summed (a straight line through each period)."
        )
        if metric == "rag":
            label, value, text = "RAG", pace.pace, pace.rag.label
            formula = f"pace {fmt.pct(pace.pace)} ({pace.rag.explanation})"
            g, a = config.rag.green_at, config.rag.amber_at
            rule += f" Green: pace ≥ {g:.0%}; Amber: {a:.0%} ≤ pace < {g:.0%}; Red: below {a:.0%}."
    elif metric == "projection":
        value, text = pace.projection, fmt.money(pace.projection)
        done = m.elapsed_days(pace.start, pace.end, covered)
        total = m.days_inclusive(pace.start, pace.end)
        formula = f"closed {closed.text} ÷ {done} days elapsed × {total} days"
        inputs = (closed,)
        rule = (
            f"run-rate projection: closed ÷ the days from {fmt.day(pace.start)} (the first period "
            f"with a quota) through {fmt.day(covered)} (actuals entered) × the days of {horizon}."
        )
    elif metric == "gap":
        value, text = pace.gap, fmt.money(pace.gap)
        formula = f"quota {fmt.money(pace.target)} − closed {closed.text}"
        inputs = (quota_input(lines, pace.target), closed)
        rule = f"gap = the quota of {horizon} − closed (never below 0)."
    else:  # required
        value, text = pace.required_weekly, fmt.money(pace.required_weekly)
        weeks = m.weeks_left(pace.end, as_of)
        formula = f"gap {fmt.money(pace.gap)} ÷ {weeks:.1f} weeks left"
        inputs = (quota_input(lines, pace.target), closed)
        rule = (
            f"required weekly run-rate = (quota of {horizon} − closed) ÷ the weeks from "
            f"{fmt.day(as_of)} to {fmt.day(pace.end)}."
        )
    return label, value, text, formula, inputs, rule


def _project_filter(plan: PlanAsOf, table: str, project: str | None) -> tuple[list[int], str]:
    rows = plan.current.get(table, [])
    if not project:
        return list(range(len(rows))), "All projects"
    keys = {
        str(p.get("key")).casefold(): str(p.get("key")) for p in plan.current.get("projects", [])
    }
    keys.update({str(r.get("project")).casefold(): str(r.get("project")) for r in rows})
    want = keys.get(project.strip().casefold())
    if want is None:
        raise UsageError(
            f"no project {project!r}", hint="projects: " + ", ".join(sorted(set(keys.values())))
        )
    return [i for i, r in enumerate(rows) if str(r.get("project")) == want], want


def _milestones(
    plan: PlanAsOf, config: Config, project: str | None, fmt: Formatter, cells: _Cells
) -> Explanation:
    idx, subject = _project_filter(plan, "milestones", project)
    rows = plan.current.get("milestones", [])
    states = {i: m.classify_milestone(rows[i], plan.as_of, config.rag) for i in idx}
    counts = m.count_categories(states.values())
    inputs = []
    for cat in m.MILESTONE_CATEGORIES:
        chosen = [i for i in idx if states[i].category == cat]
        found: list[Cell] = []
        unread = 0
        for f in ("due", "status"):
            c, u = cells.of("milestones", chosen, f)
            found += c
            unread += u
        inputs.append(
            Input(
                m.CATEGORY_LABELS[cat].lower(),
                len(chosen),
                str(len(chosen)),
                tuple(found),
                unread // 2,
            )
        )
    late, risk = counts[m.LATE], counts[m.AT_RISK]
    formula = (
        f"the due date and status of {len(idx)} milestones as of {fmt.day(plan.as_of)} "
        f"(also {counts[m.ON_TRACK]} on track, {counts[m.NOT_STARTED]} not started, "
        f"{counts[m.DONE]} done)"
    )
    rule = m.rag_rules(config.rag)[1]
    sources = _sources(plan, [c for i in inputs for c in i.cells], fmt)
    return Explanation(
        "milestones", "milestones", subject, "milestones", late + risk,
        f"{late} late · {risk} at risk", formula, tuple(inputs), rule, sources,
    )  # fmt: skip


def _budget(
    plan: PlanAsOf, config: Config, metric: str, project: str | None, fmt: Formatter, cells: _Cells
) -> Explanation:
    idx, subject = _project_filter(plan, "budget", project)
    rows = plan.current.get("budget", [])
    tot = m.budget_totals([rows[i] for i in idx])
    if metric == "budget":
        pairs = (("spent", "spent", tot.spent), ("planned", "planned", tot.planned))
        value, formula = (
            tot.spent_share,
            f"spent {fmt.money(tot.spent)} ÷ planned {fmt.money(tot.planned)}",
        )
        rule = "budget used = the Spent cells ÷ the Planned cells, summed over the budget lines (a blank counts as 0)."
    else:
        pairs = (
            ("spent", "spent", tot.spent),
            ("attributed revenue", "attributed_revenue", tot.revenue),
        )
        value = tot.spend_to_revenue
        formula = f"spent {fmt.money(tot.spent)} ÷ attributed revenue {fmt.money(tot.revenue)}"
        rule = "spend to revenue = the Spent cells ÷ the Attributed revenue cells, summed over the budget lines (a blank counts as 0)."
    inputs = []
    for name, f, total in pairs:
        chosen = [i for i in idx if rows[i].get(f) is not None]
        found, unread = cells.of("budget", chosen, f)
        inputs.append(
            Input(
                name,
                total,
                fmt.money(total),
                tuple(found),
                unread,
                blank=len(idx) - len(chosen),
                blank_means="counted as 0",
            )
        )
    label, kpi = METRICS[metric]
    sources = _sources(plan, [c for i in inputs for c in i.cells], fmt)
    return Explanation(
        metric, kpi, subject, label, value, fmt.pct(value), formula, tuple(inputs), rule, sources
    )


def explain_all(
    store: Store, plan: PlanAsOf, config: Config, teams: Sequence[str] = ()
) -> list[Explanation]:
    """Every headline figure's explanation, for the report's appendix (the
    figures of the report's first page: all teams, or the ``teams`` it shows)."""
    out = []
    cells = _Cells(store, plan, config)  # one read of each table for every figure
    for metric in METRICS:
        if metric in QUOTA_METRICS and not plan.current.get("quotas"):
            continue
        try:
            out.append(
                _explain(cells, metric, teams if metric in QUOTA_METRICS else None, None, None)
            )
        except NoDataError:
            continue
    return out

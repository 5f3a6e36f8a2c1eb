"""Status reports: context dataclasses, one Jinja environment, charts, HTML and PDF.

The whole report is a pure function of records::

    ctx = build_context(current, previous, config, name="weekly", as_of=date(2026, 11, 30))
    html = render_html(ctx, config)
    pdf = render_pdf(ctx, config)

``render_report(store, config, as_of=...)`` reads the records from the store
(now and a week earlier) and does the three steps.

Templates receive the fields of :class:`ReportContext` as variables (``meta``,
``kpis``, ``attention`` ...; see its docstring) plus ``report`` (the context
itself). Numbers stay numbers in the context; templates format them with the
locale-aware filters ``money``, ``money_short``, ``pct``, ``pp``, ``num``,
``day`` (the one date style, with its year) and ``month``.

Safety: autoescape is on, undefined variables are errors, cell text is never
compiled as a template, WeasyPrint may only fetch files inside the template
directories and the configured logo (no network, no other file), and the PDF
is rendered in a forked child that is killed when it overruns its deadline.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import gc
import logging
import math
import mimetypes
import os
import re
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from . import metrics as m
from .baseline import Variance, variance
from .config import Config
from .errors import ConfigError, SheetsyncError, UsageError
from .formatting import Formatter
from .goal_tree import GoalTreeView, goal_tree_views
from .history import TableChanges, diff_records
from .metrics import RagSettings
from .model import TABLES, Table, resolve_teams
from .periods import fiscal_year, period_bounds, period_of
from .plan import (
    PlanAsOf,
    SourceRead,
    coverage_line,
    plan_as_of,
    quota_notes,
    require_in_range,
    through_text,
)
from .progress import Progress
from .store import Baseline, record_key
from .templates import BUILTIN_TEMPLATES, template_dirs_for  # noqa: F401 - re-exported
from .verdict import Item, Verdict, count_text, pick, rep_item, verdict

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

    from .explain import Explanation
    from .store import Store

Records = dict[str, list[dict[str, Any]]]

REPORTS = ("weekly", "executive")
TITLES = {"weekly": "Weekly sales status", "executive": "Executive summary"}
DEFAULT_TIMEOUT = 120.0  # seconds for WeasyPrint to lay out and write one PDF


@dataclass(frozen=True)
class Limits:
    """How much detail a report shows before it says "+ N more, not listed here"."""

    attention: int = 8  # per list in "needs attention"
    changes: int = 12  # milestone moves
    rep_moves: int = 5
    projects: int = 6  # detailed project sections
    milestones: int = 12  # rows per project table / timeline
    reps: int = 60  # rows in the rep table
    chart_reps: int = 30  # bars in the attainment chart
    budget_lines: int = 25
    summary: int = 60  # rows in the project summary table
    risks: int = 12  # new risks in "what changed"


LIMITS = {
    "weekly": Limits(),
    "executive": Limits(
        attention=3,
        changes=6,
        rep_moves=0,
        projects=0,
        milestones=0,
        reps=10,
        chart_reps=15,
        summary=5,
        risks=2,
    ),
}


# =========================================================================== context


@dataclass(frozen=True)
class Meta:
    """What the report is about: which report, which day, which periods."""

    name: str  # weekly | executive | a user report
    title: str
    company: str
    as_of: date
    previous_as_of: date  # the week-earlier snapshot compared in "what changed"
    period_label: str  # the current quota period, e.g. "2026-11"
    period_start: date
    period_end: date
    year_label: str  # "2026" or "FY2027"
    year_start: date
    year_end: date
    locale: str
    currency: str
    lang: str  # "en" for <html lang>
    timestamp: str  # ISO date used for the PDF's creation/modification dates
    teams: tuple[str, ...]  # team filter, empty = all
    coverage: str  # "Actuals through November 2026 · plan read 2 Dec 2026 from sales_plan.xlsx"


@dataclass(frozen=True)
class Branding:
    company: str
    logo_uri: str | None  # data: URI of the configured logo
    colors: dict[str, str]  # accent, accent_light, green, amber, red, ink, muted


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | int | None
    kind: str  # money | percent | ratio | count | text
    detail: str
    rag: str  # green | amber | red | grey
    text: str = ""  # for kind "text"
    change: str = ""  # "▲ 2.1 pp since 23 Nov 2026" when last week's snapshot exists

    @property
    def status_word(self) -> str:
        """The status in words (a colour is never the only signal)."""
        return m.RAG_LABELS[self.rag] if self.rag != m.GREY else ""


@dataclass(frozen=True)
class MilestoneRow:
    key: str
    project: str
    project_name: str
    name: str
    owner: str | None
    start: date | None
    due: date | None
    target_value: float | None
    actual_value: float | None
    status: str | None  # as written in the sheet
    category: str  # done | late | at_risk | on_track
    category_label: str
    rag: str
    reason: str
    progress: float | None
    expected: float | None
    days_to_due: int | None
    completed_on: date | None
    notes: str | None


RepRow = m.RepStanding  # rep, team, region, period (Pace | None), ytd (Pace)
TeamRow = m.TeamStanding  # team, rep_count, period, ytd, reps


@dataclass(frozen=True)
class BudgetRow:
    project: str
    category: str
    planned: float | None
    spent: float | None
    revenue: float | None
    over: float  # spent - planned when over plan, else 0
    share: float | None  # spent / planned
    notes: str | None

    @property
    def spend_to_revenue(self) -> float | None:
        return m.ratio(self.spent, self.revenue)


@dataclass(frozen=True)
class BudgetGroup:
    """One project's budget: its subtotal (every line) and the lines shown."""

    project: str  # the project's key, as the budget lines name it
    name: str | None  # the project's name (None: no such project in the plan)
    totals: m.BudgetTotals
    lines: list[BudgetRow]  # shown (over plan first), within the report's line limit
    lines_total: int


@dataclass(frozen=True)
class GoalCheckpoint:
    project: str
    project_name: str
    metric: str | None
    checkpoint: m.Checkpoint


@dataclass(frozen=True)
class ProjectSection:
    key: str
    name: str
    goal: str | None
    metric: str | None
    owner: str | None
    start: date | None
    end: date | None
    baseline: float | None
    target: float | None
    current: float | None
    progress: float | None  # (current - baseline) / (target - baseline)
    rag: str  # the worse of goal and delivery (for ordering)
    rag_reason: str
    goal_rag: m.Rag  # on course for the goal's checkpoints?
    delivery_rag: m.Rag  # milestones on time?
    counts: dict[str, int]  # milestone categories
    checkpoints: list[m.Checkpoint]
    milestones: list[MilestoneRow]  # shown (limited), by due date
    milestones_total: int
    upcoming: list[MilestoneRow]  # not done, due in the next two weeks
    budget: m.BudgetTotals
    budget_lines: list[BudgetRow]
    timeline: Markup  # SVG


@dataclass(frozen=True)
class Attention:
    late: list[MilestoneRow]
    at_risk: list[MilestoneRow]
    reps_behind: list[RepRow]
    budget_over: list[BudgetRow]
    goals_behind: list[GoalCheckpoint]
    more: dict[str, int]  # list name -> rows not shown

    @property
    def empty(self) -> bool:
        return not (
            self.late or self.at_risk or self.reps_behind or self.budget_over or self.goals_behind
        )


@dataclass(frozen=True)
class MilestoneChange:
    row: MilestoneRow
    changes: list[str]  # "status On track → At risk", "due Dec 4 → Dec 11", ...
    worse: bool  # moved into late/at risk


@dataclass(frozen=True)
class RepMove:
    rep: str
    team: str
    closed_in_week: float
    attainment_before: float | None
    attainment_now: float | None
    delta: float  # attainment points (fraction), now - before


@dataclass(frozen=True)
class Risk:
    kind: str  # milestone | rep | budget
    subject: str
    text: str


@dataclass(frozen=True)
class Changes:
    has_previous: bool
    previous_as_of: date
    milestones: list[MilestoneChange]
    milestones_more: int
    new_milestones: list[MilestoneRow]
    reps: list[RepMove]
    new_risks: list[Risk]
    removed_milestones: list[str] = dataclasses.field(default_factory=list)  # shown keys


@dataclass(frozen=True)
class Charts:
    rep_attainment: Markup  # SVG: attainment by rep against quota and pace
    rep_attainment_more: int
    cumulative: Markup  # SVG: cumulative closed vs target over the year
    periods: Markup  # SVG: per period, closed vs quota with variance, forecast band
    team_attainment: Markup  # SVG: attainment by team


@dataclass(frozen=True)
class ReportContext:
    """Everything a report template receives (each field is a template variable).

    meta: Meta: report name, title, company, as_of, previous_as_of, current
        period and fiscal year (labels and bounds), locale, currency, teams.
    branding: Branding: company, logo_uri (data: URI or None), colors.
    verdict: Verdict: the opening sentence (``sentence``), its ``short`` form
        for the email's subject, and the year's ``rag``.
    exceptions: list[Item]: at most four (rag, label, text, owner, when, when_label).
    exceptions_total: int: how many there were before the cut.
    pipeline: list[PipelineCoverage]: pipeline against open quota, current and next period.
    kpis: list[Kpi]: headline tiles (key, label, value, kind, detail, rag, change).
    period: Pace | None: all reps together over the current quota period.
    ytd: Pace | None: all reps together over the fiscal year, as of the day.
    milestone_counts: dict[str, int]: late / at_risk / on_track / done.
    budget: BudgetTotals: planned, spent, revenue, spent_share, spend_to_revenue.
    attention: Attention: late, at_risk, reps_behind, budget_over, goals_behind, more.
    changes: Changes: what moved since the snapshot a week earlier.
    projects: list[ProjectSection]: detailed sections (limited, worst first).
    project_summary: list[ProjectSection]: projects for the summary table (worst first, limited).
    projects_total: int: number of projects in the model.
    more_projects_text: str: the statuses of the projects past the summary's limit.
    teams: list[TeamRow]: quota figures per team, reps inside.
    reps: list[RepRow]: reps shown in the rep table (limited, worst pace first).
    reps_total: int: number of reps in the model (after the team filter).
    budget_lines: list[BudgetRow]: budget lines shown (over plan first, limited).
    budget_lines_total: int
    budget_groups: list[BudgetGroup]: every project's budget subtotal, most over plan
        first, with its lines while the line limit lasts.
    charts: Charts: inline SVG charts.
    rag_rules: list[str]: the RAG and pacing rules in words, for the footnote.
    rag_settings: RagSettings: the thresholds themselves.
    notes: list[str]: caveats about the data (e.g. no quota for the period).
    limits: Limits: how many rows each list shows.
    baseline: Variance | None: slips, target, quota and budget changes against a
        saved baseline (name, as_of, slips, targets, quotas, budget, slip_days, quota_delta).
    explained: list[Explanation]: each headline figure's formula, inputs, cells and
        rule (sheetsync.explain), for the appendix and the links from the KPI tiles.
    goal_trees: dict[str, GoalTreeView]: each project's goal → milestones → tasks, by key.
    """

    meta: Meta
    branding: Branding
    verdict: Verdict
    exceptions: list[Item]
    exceptions_total: int
    pipeline: list[m.PipelineCoverage]
    kpis: list[Kpi]
    period: m.Pace | None
    ytd: m.Pace | None
    milestone_counts: dict[str, int]
    budget: m.BudgetTotals
    attention: Attention
    changes: Changes
    projects: list[ProjectSection]
    project_summary: list[ProjectSection]
    projects_total: int
    more_projects_text: str  # "3 Amber, 37 Green": the projects past the summary's limit
    teams: list[TeamRow]
    reps: list[RepRow]
    reps_total: int
    budget_lines: list[BudgetRow]
    budget_lines_total: int
    budget_groups: list[BudgetGroup]
    charts: Charts
    rag_rules: list[str]
    rag_settings: RagSettings
    notes: list[str]
    limits: Limits
    baseline: Variance | None = None  # variance against a saved baseline (report --baseline)
    explained: list[Explanation] = dataclasses.field(default_factory=list)
    goal_trees: dict[str, GoalTreeView] = dataclasses.field(default_factory=dict)

    def variables(self) -> dict[str, Any]:
        """The template variables: each field, plus ``report`` (the context)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["report"] = self
        return out


# --------------------------------------------------------------------------- helpers

_COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\(\s*[\d.%\s,]+\))$")
DEFAULT_COLORS = {
    "accent": "#1f4e78",
    "accent_light": "#dce6f0",
    "green": "#2e7d32",
    "amber": "#b26a00",
    "red": "#b71c1c",
    "ink": "#1a1a1a",
    "muted": "#5f6368",
}


def _colors(config: Config) -> dict[str, str]:
    colors = dict(DEFAULT_COLORS)
    for name, value in config.report.colors.items():
        if not isinstance(value, str) or not _COLOR_RE.match(value.strip()):
            raise ConfigError(
                f"report.colors.{name}: {value!r} is not a colour",
                hint='use a hex colour such as "#1f4e78", a CSS colour name or rgb(...)',
            )
        colors[name] = value.strip()
    return colors


def _logo_uri(config: Config) -> str | None:
    logo = config.report.logo
    if not logo:
        return None
    if not logo.is_file():
        raise ConfigError(f"report.logo: no file at {logo}", hint="fix the path in sheetsync.toml")
    mime = mimetypes.guess_type(logo.name)[0] or ""
    if not mime.startswith("image/"):
        raise ConfigError(f"report.logo: {logo.name} is not an image (png, jpg, svg)")
    return f"data:{mime};base64,{base64.b64encode(logo.read_bytes()).decode()}"


def _sort_text(v: Any) -> str:
    return "" if v is None else str(v).casefold()


def _worst(rags: Iterable[str]) -> str:
    order = {m.RED: 0, m.AMBER: 1, m.GREEN: 2, m.GREY: 3}
    return min(rags, key=lambda r: order[r], default=m.GREY)


# --------------------------------------------------------------------------- quotas


def _pace_key(r: RepRow) -> tuple:
    p = r.ytd.pace
    return (p if p is not None else math.inf, _sort_text(r.rep))


# --------------------------------------------------------------------------- milestones


def _milestone_rows(
    milestones: list[dict[str, Any]], projects: Mapping[str, dict], as_of: date, rag: RagSettings
) -> list[MilestoneRow]:
    rows = []
    for r in milestones:
        st = m.classify_milestone(r, as_of, rag)
        proj = str(r.get("project") or "")
        rows.append(
            MilestoneRow(
                key=str(r.get("key")),
                project=proj,
                project_name=str((projects.get(proj) or {}).get("name") or proj),
                name=str(r.get("name") or ""),
                owner=r.get("owner"),
                start=r.get("start"),
                due=r.get("due"),
                target_value=r.get("target_value"),
                actual_value=r.get("actual_value"),
                status=r.get("status"),
                category=st.category,
                category_label=st.label,
                rag=st.rag,
                reason=st.reason,
                progress=st.progress,
                expected=st.expected,
                days_to_due=st.days_to_due,
                completed_on=r.get("completed_on"),
                notes=r.get("notes"),
            )
        )
    rows.sort(key=lambda x: (x.due or date.max, _sort_text(x.project), _sort_text(x.key)))
    return rows


def _is_checkpoint(ms: dict[str, Any], project: dict[str, Any]) -> bool:
    """A milestone is a checkpoint of its project's goal when its target lies
    between the goal's baseline and target and it either runs from the project's
    start or targets the goal itself (so "4 webinars" is not read as "4 %")."""
    t, base, goal = (
        ms.get("target_value"),
        project.get("baseline_value"),
        project.get("target_value"),
    )
    if t is None or base is None or goal is None or not ms.get("due"):
        return False
    lo, hi = min(base, goal), max(base, goal)
    if not lo <= t <= hi or t == base:
        return False
    return t == goal or (ms.get("start") is not None and ms.get("start") == project.get("start"))


def _checkpoints(project: dict[str, Any], milestones: list[dict[str, Any]], as_of, rag):
    base, goal, cur = (
        project.get("baseline_value"),
        project.get("target_value"),
        project.get("current_value"),
    )
    start = project.get("start")
    if base is None or goal is None or cur is None or start is None:
        return []
    cps = [
        (str(ms.get("name")), ms["due"], float(ms["target_value"]))
        for ms in milestones
        if _is_checkpoint(ms, project)
    ]
    if project.get("end") and not any(t == goal for _, _, t in cps):
        cps.append(("Goal target", project["end"], float(goal)))
    return m.pace_checkpoints(float(base), float(cur), start, cps, as_of, rag)


# --------------------------------------------------------------------------- changes


def _fmt_change_value(v: Any) -> str:
    if v is None or v == "":
        return "—"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _changes(
    cur_rows: list[MilestoneRow],
    prev_rows: list[MilestoneRow],
    cur_q: m.QuotaStanding | None,
    prev_q: m.QuotaStanding | None,
    cur_budget: list[BudgetRow],
    prev_budget: list[BudgetRow],
    has_previous: bool,
    previous_as_of: date,
    limits: Limits,
    fmt: Formatter,
    records: TableChanges | None = None,
    spec: Table | None = None,
) -> Changes:
    """``records``: the milestones new, changed and removed in the week, from
    :func:`sheetsync.history.diff_records` (the one comparison ``sheetsync
    changes`` prints too); matched to rows by their key under ``spec``."""
    if not has_previous:
        return Changes(False, previous_as_of, [], 0, [], [], [])
    spec = spec or TABLES["milestones"]

    def rkey(r: MilestoneRow) -> str:
        return record_key(spec, {k: getattr(r, k) for k in spec.key})

    prev_by_key = {rkey(r): r for r in prev_rows}
    added = records.keys("new") if records is not None else None
    moved: list[MilestoneChange] = []
    new: list[MilestoneRow] = []
    risks: list[Risk] = []
    bad = (m.LATE, m.AT_RISK)
    for r in cur_rows:
        p = prev_by_key.get(rkey(r))
        if p is None or (added is not None and rkey(r) in added):
            new.append(r)
            if r.category in bad:
                risks.append(
                    Risk("milestone", r.name, f"new milestone, {r.category_label.lower()}")
                )
            continue
        diffs = []
        if (p.status or "") != (r.status or ""):
            diffs.append(f"status {_fmt_change_value(p.status)} → {_fmt_change_value(r.status)}")
        if p.due != r.due:
            diffs.append(f"due {fmt.day(p.due)} → {fmt.day(r.due)}")
        if (p.progress is None) != (r.progress is None) or (
            p.progress is not None
            and r.progress is not None
            and abs(p.progress - r.progress) >= 0.005
        ):
            diffs.append(f"progress {fmt.pct(p.progress)} → {fmt.pct(r.progress)}")
        if p.category != r.category and (p.status or "") == (r.status or ""):
            diffs.append(f"now {r.category_label.lower()} (was {p.category_label.lower()})")
        worse = r.category in bad and p.category not in bad
        if worse or (r.category == m.LATE and p.category == m.AT_RISK):
            risks.append(Risk("milestone", r.name, f"{r.category_label.lower()}: {r.reason}"))
        if diffs:
            moved.append(MilestoneChange(r, diffs, worse))
    moved.sort(key=lambda c: (not c.worse, c.row.due or date.max, _sort_text(c.row.key)))

    reps: list[RepMove] = []
    if prev_q is not None and cur_q is not None:
        before = {r.rep: r for r in prev_q.reps}
        same_year = (
            prev_q.ytd is not None
            and cur_q.ytd is not None
            and prev_q.year_start == cur_q.year_start
        )
        for r in cur_q.reps:
            b = before.get(r.rep)
            if b is None or not same_year:
                continue
            a_now, a_before = r.ytd.attainment, b.ytd.attainment
            delta = (a_now or 0.0) - (a_before or 0.0)
            reps.append(RepMove(r.rep, r.team, r.ytd.actual - b.ytd.actual, a_before, a_now, delta))
            if r.ytd.rag.status == m.RED and b.ytd.rag.status != m.RED:
                risks.append(Risk("rep", r.rep, f"year-to-date pace fell to {fmt.pct(r.ytd.pace)}"))
        reps = [x for x in reps if abs(x.delta) >= 0.0005 or x.closed_in_week]
        reps.sort(key=lambda x: (-abs(x.delta), _sort_text(x.rep)))
    prev_over = {(b.project, b.category) for b in prev_budget if b.over > 0}
    for b in cur_budget:
        if b.over > 0 and (b.project, b.category) not in prev_over:
            risks.append(
                Risk("budget", f"{b.project} · {b.category}", f"now {fmt.money(b.over)} over plan")
            )
    return Changes(
        True,
        previous_as_of,
        moved[: limits.changes],
        max(len(moved) - limits.changes, 0),
        new[: limits.changes],
        reps[: limits.rep_moves],
        risks[: limits.risks],
        [c.shown_key for c in records.removed][: limits.changes] if records else [],
    )


# --------------------------------------------------------------------------- budget

#: What a dash means wherever a figure would be (every report's footnote).
DASH_NOTE = (
    "— stands for no figure: a blank cell, or a ratio with nothing to divide by "
    "(spend to revenue with no revenue attributed); $0 is a zero that was entered. "
    "A subtotal sums the figures entered."
)


def _budget_rows(budget: list[dict[str, Any]]) -> list[BudgetRow]:
    rows = []
    for b in budget:
        p, s = b.get("planned"), b.get("spent")
        over = (s or 0.0) - (p or 0.0) if s is not None and (s or 0.0) > (p or 0.0) else 0.0
        rows.append(
            BudgetRow(
                project=str(b.get("project") or ""),
                category=str(b.get("category") or ""),
                planned=p,
                spent=s,
                revenue=b.get("attributed_revenue"),
                over=over,
                share=m.ratio(s, p),
                notes=b.get("notes"),
            )
        )
    rows.sort(key=lambda r: (-r.over, _sort_text(r.project), _sort_text(r.category)))
    return rows


def _budget_groups(
    rows: Mapping[str, list[BudgetRow]],
    raw: Mapping[str, list[dict[str, Any]]],
    names: Mapping[str, Any],
    limit: int,
) -> list[BudgetGroup]:
    """Every project's budget subtotal (:func:`metrics.budget_totals` of all its
    lines), the projects most over plan first, each with its lines (over plan
    first) while ``limit`` lines last."""
    order = sorted(rows, key=lambda k: (-sum(b.over for b in rows[k]), _sort_text(k)))
    out, left = [], limit
    for key in order:
        lines = rows[key]
        shown = lines[: max(left, 0)]
        left -= len(shown)
        name = names.get(key)
        out.append(
            BudgetGroup(
                key,
                None if name is None else str(name),
                m.budget_totals(raw.get(key, [])),
                shown,
                len(lines),
            )
        )
    return out


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class _Model:
    """The computed pieces of one snapshot (current or previous)."""

    milestones: list[MilestoneRow]
    quotas: m.QuotaStanding | None  # None: the model holds no quotas
    budget: list[BudgetRow]


def _compute(
    records: Records,
    as_of: date,
    config: Config,
    teams: Sequence[str],
    settled_only: bool = False,
) -> _Model:
    projects = {str(p.get("key")): p for p in records.get("projects", [])}
    quotas = records.get("quotas", [])
    return _Model(
        milestones=_milestone_rows(records.get("milestones", []), projects, as_of, config.rag),
        quotas=m.quota_standing(
            quotas,
            as_of,
            config.rag,
            config.report.fiscal_year_start_month,
            teams,
            settled_only=settled_only,
        )
        if quotas
        else None,
        budget=_budget_rows(records.get("budget", [])),
    )


def build_context(
    current: Records,
    previous: Records,
    config: Config,
    *,
    name: str,
    as_of: date,
    teams: tuple[str, ...] = (),
    limits: Limits | None = None,
    reads: Sequence[SourceRead] = (),
    note: str | None = None,
    read_after: bool = False,
) -> ReportContext:
    """The report's context from the model's records now and a week earlier.

    Pure: no I/O besides reading the configured logo, no clock. ``previous``
    may be empty (no earlier snapshot): "what changed" then says so. ``reads``
    (which source was read when) and ``note`` (the plan is the one first
    pulled) come from :func:`sheetsync.plan.plan_as_of`; see :func:`context_for`.
    """
    lim = limits or LIMITS.get(name, LIMITS["weekly"])
    rag = config.rag
    fmt = Formatter.for_config(config)
    fy_label, ystart, yend = fiscal_year(as_of, config.report.fiscal_year_start_month)
    prev_as_of = as_of - timedelta(days=7)
    cur = _compute(current, as_of, config, teams, settled_only=read_after)
    has_prev = any(previous.get(t) for t in ("milestones", "quotas", "projects", "budget"))
    prev = _compute(previous, prev_as_of, config, teams) if has_prev else None

    q = cur.quotas
    if q is not None:
        require_in_range(q)
        plabel, pstart, pend = q.period_label, q.period_start, q.period_end
    else:
        plabel = period_of(as_of)
        pstart, pend = period_bounds(plabel)
    notes = ([note] if note else []) + (
        quota_notes(q, fmt) if q else ["The model holds no quotas: quota figures are left out."]
    )
    notes.append(DASH_NOTE)

    # Projects ---------------------------------------------------------------
    ms_by_project: dict[str, list[dict]] = defaultdict(list)
    for r in current.get("milestones", []):
        ms_by_project[str(r.get("project") or "")].append(r)
    rows_by_project: dict[str, list[MilestoneRow]] = defaultdict(list)
    for r in cur.milestones:
        rows_by_project[r.project].append(r)
    budget_by_project: dict[str, list[BudgetRow]] = defaultdict(list)
    for b in cur.budget:
        budget_by_project[b.project].append(b)
    raw_budget_by_project: dict[str, list[dict]] = defaultdict(list)
    for b in current.get("budget", []):
        raw_budget_by_project[str(b.get("project") or "")].append(b)

    names = {str(p.get("key")): p.get("name") for p in current.get("projects", [])}
    sections: list[ProjectSection] = []
    goals_behind: list[GoalCheckpoint] = []
    horizon_end = as_of + timedelta(days=14)
    for p in sorted(current.get("projects", []), key=lambda p: _sort_text(p.get("key"))):
        key = str(p.get("key"))
        rows = rows_by_project.get(key, [])
        counts = m.count_categories(_state_like(r) for r in rows)
        cps = _checkpoints(p, ms_by_project.get(key, []), as_of, rag)
        for cp in cps:
            if cp.rag.status in (m.RED, m.AMBER) and not cp.reached:
                goals_behind.append(GoalCheckpoint(key, str(p.get("name")), p.get("metric"), cp))
        base, target, curv = p.get("baseline_value"), p.get("target_value"), p.get("current_value")
        progress = m.ratio(curv - base, target - base) if None not in (base, target, curv) else None
        goal_rag = m.project_goal(cps)
        delivery_rag = m.project_delivery(counts, rag)
        prag = _worst([goal_rag.status, delivery_rag.status])
        why = [f"goal: {goal_rag.explanation}", f"delivery: {delivery_rag.explanation}"]
        shown = _pick_milestones(rows, lim.milestones, as_of)
        upcoming = [
            r for r in rows if r.category != m.DONE and r.due and as_of <= r.due <= horizon_end
        ]
        sections.append(
            ProjectSection(
                key=key,
                name=str(p.get("name") or key),
                goal=p.get("goal"),
                metric=p.get("metric"),
                owner=p.get("owner"),
                start=p.get("start"),
                end=p.get("end"),
                baseline=base,
                target=target,
                current=curv,
                progress=progress,
                rag=prag,
                rag_reason="; ".join(why),
                goal_rag=goal_rag,
                delivery_rag=delivery_rag,
                counts=counts,
                checkpoints=cps,
                milestones=shown,
                milestones_total=len(rows),
                upcoming=upcoming,
                budget=m.budget_totals(raw_budget_by_project.get(key, [])),
                budget_lines=budget_by_project.get(key, [])[: lim.budget_lines],
                timeline=Markup("")
                if not lim.milestones
                else svg_timeline(shown, p, as_of, fmt, f"tl{len(sections)}"),
            )
        )
    order = {m.RED: 0, m.AMBER: 1, m.GREEN: 2, m.GREY: 3}
    detailed = sorted(sections, key=lambda s: (order[s.rag], _sort_text(s.key)))

    # Attention --------------------------------------------------------------
    late = [r for r in cur.milestones if r.category == m.LATE]
    late.sort(key=lambda r: (r.due or date.max, _sort_text(r.key)))
    at_risk = [r for r in cur.milestones if r.category == m.AT_RISK]
    reps_behind = []
    if q:
        reps_behind = sorted(
            (r for r in q.reps if r.ytd.rag.status in (m.RED, m.AMBER)), key=_pace_key
        )
    over = [b for b in cur.budget if b.over > 0]
    attention = Attention(
        late=late[: lim.attention],
        at_risk=at_risk[: lim.attention],
        reps_behind=reps_behind[: lim.attention],
        budget_over=over[: lim.attention],
        goals_behind=goals_behind[: lim.attention],
        more={
            "late": max(len(late) - lim.attention, 0),
            "at_risk": max(len(at_risk) - lim.attention, 0),
            "reps_behind": max(len(reps_behind) - lim.attention, 0),
            "budget_over": max(len(over) - lim.attention, 0),
            "goals_behind": max(len(goals_behind) - lim.attention, 0),
        },
    )

    owners = {str(p.get("key")): p.get("owner") for p in current.get("projects", [])}
    ends = {str(p.get("key")): p.get("end") for p in current.get("projects", [])}
    items = [
        Item(m.RED, "Late", f"{r.name} ({r.project_name})", r.owner, r.due, "was due") for r in late
    ] + [
        Item(m.AMBER, "At risk", f"{r.name} ({r.project_name}): {r.reason}", r.owner, r.due, "due")
        for r in at_risk
    ]
    if q:
        items += [rep_item(r, fmt) for r in reps_behind if r.ytd.rag.status == m.RED]
    items += [
        Item(
            g.checkpoint.rag.status,
            "Goal behind",
            f"{g.project_name}: {g.checkpoint.label} at {fmt.num(g.checkpoint.current)} "
            f"against {fmt.num(g.checkpoint.expected)} expected by now",
            owners.get(g.project),
            g.checkpoint.due,
            "checkpoint due",
        )
        for g in goals_behind
    ]
    items += [
        Item(
            m.AMBER,
            "Over budget",
            f"{b.project} · {b.category}: {fmt.money(b.over)} over its {fmt.money(b.planned)} plan",
            owners.get(b.project),
            ends.get(b.project),
            "project ends",
        )
        for b in over
    ]
    exceptions = pick(items)

    changes = _changes(
        cur.milestones,
        prev.milestones if prev else [],
        q,
        prev.quotas if prev else None,
        cur.budget,
        prev.budget if prev else [],
        has_prev,
        prev_as_of,
        lim,
        fmt,
        diff_records(previous, current, config.specs)["milestones"] if has_prev else None,
        config.table_spec("milestones"),
    )

    # KPIs -------------------------------------------------------------------
    counts = m.count_categories(_state_like(r) for r in cur.milestones)
    btot = m.budget_totals(current.get("budget", []))
    kpis = _kpis(q, counts, btot, fmt, rag)
    if prev is not None:
        prev_counts = m.count_categories(_state_like(r) for r in prev.milestones)
        before = {
            k.key: k
            for k in _kpis(prev.quotas, prev_counts, m.budget_totals(previous.get("budget", [])),
                           fmt, rag)
        }  # fmt: skip
        kpis = [_with_change(k, before.get(k.key), prev_as_of, fmt) for k in kpis]

    reps_sorted = sorted(q.reps, key=_pace_key) if q else []
    charts = Charts(
        rep_attainment=svg_rep_attainment(reps_sorted[: lim.chart_reps], fmt, rag, "ra")
        if q
        else Markup(""),
        rep_attainment_more=max(len(reps_sorted) - lim.chart_reps, 0),
        cumulative=svg_cumulative(q, fmt, "cu", 230) if q and q.ytd else Markup(""),
        periods=svg_periods(q, fmt, "pe") if q and q.ytd and name != "executive" else Markup(""),
        team_attainment=svg_team_attainment(q.teams, fmt, rag, "ta") if q else Markup(""),
    )
    all_reps = q.reps if q else []
    if len(all_reps) <= lim.reps:
        shown_reps = sorted(all_reps, key=lambda r: (_sort_text(r.team), *_pace_key(r)))
    else:  # too many to list: the ones furthest behind pace
        shown_reps = reps_sorted[: lim.reps]
    report_name = name
    meta = Meta(
        name=report_name,
        title=TITLES.get(report_name, report_name.replace("_", " ").capitalize()),
        company=config.report.company,
        as_of=as_of,
        previous_as_of=prev_as_of,
        period_label=plabel,
        period_start=pstart,
        period_end=pend,
        year_label=fy_label,
        year_start=ystart,
        year_end=yend,
        locale=config.report.locale,
        currency=config.report.currency,
        lang=config.report.locale.split("_")[0].split("-")[0] or "en",
        timestamp=as_of.isoformat(),
        teams=tuple(teams),
        coverage=coverage_line(q, reads, fmt),
    )
    return ReportContext(
        meta=meta,
        branding=Branding(config.report.company, _logo_uri(config), _colors(config)),
        verdict=verdict(q, fmt),
        exceptions=exceptions,
        exceptions_total=len(items),
        pipeline=list(q.pipeline) if q else [],
        kpis=kpis,
        period=q.period if q else None,
        ytd=q.ytd if q else None,
        milestone_counts=counts,
        budget=btot,
        attention=attention,
        changes=changes,
        projects=detailed[: lim.projects],
        project_summary=detailed[: lim.summary],
        projects_total=len(detailed),
        more_projects_text=count_text([s.rag for s in detailed[lim.summary :]]),
        teams=q.teams if q else [],
        reps=shown_reps,
        reps_total=len(q.reps) if q else 0,
        budget_lines=cur.budget[: lim.budget_lines],
        budget_lines_total=len(cur.budget),
        budget_groups=_budget_groups(
            budget_by_project, raw_budget_by_project, names, lim.budget_lines
        ),
        charts=charts,
        rag_rules=m.rag_rules(rag),
        rag_settings=rag,
        notes=notes,
        limits=lim,
        goal_trees=goal_tree_views(current, as_of, rag),
    )


def _with_change(k: Kpi, before: Kpi | None, since: date, fmt: Formatter) -> Kpi:
    """``k`` with its change since last week's snapshot (▲/▼ with the amount)."""
    if before is None:
        return k
    when = f"since {fmt.day(since)}"
    if k.kind == "text":
        d = (k.value or 0) - (before.value or 0)
        text = (
            "no change"
            if not d
            else f"{'▲' if d > 0 else '▼'} {abs(d)} {'more' if d > 0 else 'fewer'} late or at risk"
        )
        return dataclasses.replace(k, change=f"{text} {when}")
    if not isinstance(k.value, int | float) or not isinstance(before.value, int | float):
        return k
    d = k.value - before.value
    if k.kind == "money":
        amount = fmt.money_short(abs(d))
    elif k.kind == "times":
        amount = fmt.num(abs(d), 1) + "×"
    else:
        amount = fmt.pp(abs(d)).lstrip("+±")
    arrow = "▲" if d > 0 else "▼" if d < 0 else "="
    return dataclasses.replace(k, change=f"{arrow} {amount} {when}" if d else f"no change {when}")


def _state_like(r: MilestoneRow) -> m.MilestoneState:
    return m.MilestoneState(r.category, r.reason, r.progress, r.expected, r.days_to_due)


def _pick_milestones(rows: list[MilestoneRow], limit: int, as_of: date) -> list[MilestoneRow]:
    """The rows worth a reader's time when a project has more than ``limit``:
    late and at risk first, then what is due soonest, then recent completions."""
    if len(rows) <= limit:
        return rows
    rank = {m.LATE: 0, m.AT_RISK: 1, m.ON_TRACK: 2, m.NOT_STARTED: 2, m.DONE: 3}

    def key(r: MilestoneRow):
        distance = abs((r.due - as_of).days) if r.due else 10**6
        return (rank[r.category], distance, _sort_text(r.key))

    chosen = {id(r) for r in sorted(rows, key=key)[:limit]}
    return [r for r in rows if id(r) in chosen]


def _kpis(
    q: m.QuotaStanding | None,
    counts: dict[str, int],
    btot: m.BudgetTotals,
    fmt: Formatter,
    rag: RagSettings,
) -> list[Kpi]:
    kpis: list[Kpi] = []
    if q and q.period:
        p = q.period
        name = fmt.period_name(q.period_label)
        if p.reported:
            detail = f"{fmt.money(p.actual)} of {fmt.money(p.target_to_date)} · pace {fmt.pct_at(p.pace)}"
            if p.members_reported < p.members:
                detail += f" · {p.members_reported} of {p.members} reps reported"
        elif q.settled_only:
            detail = f"actuals read after this day are not counted · quota {fmt.money(p.target)}"
        else:
            detail = f"no actuals entered yet · quota {fmt.money(p.target)}"
        kpis.append(
            Kpi("period_attainment", f"Attainment {name}", p.attainment, "percent", detail,
                p.rag.status)
        )  # fmt: skip
    if q and q.ytd:
        y = q.ytd
        through = through_text(q, fmt)
        kpis.append(
            Kpi(
                "ytd_attainment",
                "Attainment year to date",
                y.attainment,
                "percent",
                f"{fmt.money(y.actual)} of {fmt.money(y.target_to_date)} {through}"
                f" · pace {fmt.pct_at(y.pace)}"
                if y.reported
                else f"no actuals entered yet · quota {fmt.money(y.target)}",
                y.rag.status,
            )
        )
        proj_rag = m.rag_for_pace(y.projected_attainment, rag, "projection")
        need = fmt.money(y.required_weekly) if y.required_weekly is not None else "—"
        label = (
            f"Projected to {fmt.day(y.end)}" if q.quotas_end_early else f"Projected {q.year_label}"
        )
        kpis.append(
            Kpi(
                "projection",
                label,
                y.projection,
                "money",
                f"{fmt.pct(y.projected_attainment)} of the {fmt.money(y.target)} quota; "
                f"closing it needs {need} a week"
                if y.projection is not None
                else "no run-rate yet: no actuals entered",
                proj_rag.status,
            )
        )
    for pc in q.pipeline if q else ():
        kpis.append(
            Kpi(
                f"pipeline_{pc.period}",
                f"Pipeline {fmt.period_name(pc.period)}",
                pc.coverage,
                "times",
                f"{fmt.money(pc.pipeline)} open against {fmt.money(pc.open_quota)} still to close",
                m.GREY,
            )
        )
    late, risk = counts[m.LATE], counts[m.AT_RISK]
    kpis.append(
        Kpi(
            "milestones",
            "Milestones",
            late + risk,
            "text",
            f"{counts[m.ON_TRACK]} on track · {counts[m.NOT_STARTED]} not started · "
            f"{counts[m.DONE]} done",
            m.RED if late else m.AMBER if risk else m.GREEN,
            text=f"{late} late · {risk} at risk",
        )
    )
    kpis.append(
        Kpi(
            "budget",
            "Budget spent",
            btot.spent_share,
            "percent",
            f"{fmt.money(btot.spent)} of {fmt.money(btot.planned)}"
            + (
                f" · {btot.over_plan} line{'s' if btot.over_plan != 1 else ''} over"
                if btot.over_plan
                else ""
            )
            + f" · spend to revenue {fmt.pct(btot.spend_to_revenue)}",
            m.AMBER if btot.over_plan else m.GREEN,
        )
    )
    return kpis


# =========================================================================== charts
#
# Hand-built SVG: vector in the PDF, ~25 ms per chart. Everything a colour says is
# also said by a pattern or a label, so a black-and-white print loses nothing.

_FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


def _t(x: float, y: float, text: str, size: float = 9, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{escape(text)}</text>"
    )


def _patterns(prefix: str) -> str:
    """Fills that survive grey-scale printing: solid (green), hatched (amber), dense cross (red)."""
    return (
        "<defs>"
        f'<pattern id="{prefix}-amber" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="5" height="5" fill="#fff3d6"/>'
        '<line x1="0" y1="0" x2="0" y2="5" stroke="#b26a00" stroke-width="2.2"/></pattern>'
        f'<pattern id="{prefix}-red" width="4" height="4" patternUnits="userSpaceOnUse">'
        '<rect width="4" height="4" fill="#b71c1c"/>'
        '<path d="M0 0L4 4M4 0L0 4" stroke="#ffffff" stroke-width="0.9"/></pattern>'
        f'<pattern id="{prefix}-grey" width="4" height="4" patternUnits="userSpaceOnUse">'
        '<rect width="4" height="4" fill="#ffffff"/><circle cx="2" cy="2" r="0.8" fill="#777"/>'
        "</pattern></defs>"
    )


def _fill(prefix: str, rag: str, green: str = "#2e7d32") -> str:
    if rag == m.GREEN:
        return green
    return f"url(#{prefix}-{rag if rag in (m.AMBER, m.RED) else 'grey'})"


def _legend(items: list[tuple[str, str]], x: float, y: float) -> str:
    out, cx = [], x
    for fill, label in items:
        out.append(
            f'<rect x="{cx:.1f}" y="{y - 8:.1f}" width="14" height="9" fill="{fill}" '
            'stroke="#333" stroke-width="0.5"/>'
        )
        out.append(_t(cx + 18, y, label, 8))
        cx += 26 + len(label) * 4.6
    return "".join(out)


def _svg(width: float, height: float, body: str, label: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(label)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" {_FONT} fill="#1a1a1a">{body}</svg>'
    )


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _fit(text: str, chars: int, size: float) -> float:
    """The font size at which ``text`` fits where ``chars`` characters of ``size`` do:
    a long label is set smaller, never cut."""
    return size if len(text) <= chars else max(4.5, size * chars / len(text))


def svg_rep_attainment(
    reps: Sequence[RepRow], fmt: Formatter, rag: RagSettings, prefix: str
) -> Markup:
    """Horizontal bars: each rep's year-to-date attainment, a solid line at quota
    (100 %), a dashed tick where a straight line says they should be by now (left
    out where it falls on the quota line, as at a period's end). The figures stand
    in a column of their own right of the plot, so no line ever crosses one."""
    if not reps:
        return Markup("")
    width, label_w, row_h, top = 680, 150, 17, 34
    right = 64
    vals = [r.ytd.attainment or 0.0 for r in reps]
    exp = [m.ratio(r.ytd.expected, r.ytd.target_to_date) or 0.0 for r in reps]
    scale_max = min(max(1.25, *(v * 1.05 for v in vals)), 2.5)
    plot_w = width - label_w - right

    def x(v: float) -> float:
        return label_w + plot_w * min(max(v, 0.0), scale_max) / scale_max

    h = top + row_h * len(reps) + 22
    out = [_patterns(prefix)]
    out.append(
        _legend(
            [
                ("#2e7d32", f"pace ≥ {rag.green_at:.0%}"),
                (f"url(#{prefix}-amber)", f"pace {rag.amber_at:.0%}–{rag.green_at:.0%}"),
                (f"url(#{prefix}-red)", f"pace < {rag.amber_at:.0%}"),
            ],
            label_w,
            12,
        )
    )
    ticks = [abs(e - 1.0) >= 0.01 and e > 0 for e in exp]
    if any(ticks):
        out.append(
            f'<line x1="{width - 200}" y1="8" x2="{width - 186}" y2="8" stroke="#1a1a1a" '
            'stroke-width="1.4" stroke-dasharray="3 2"/>'
        )
        out.append(_t(width - 182, 11, "expected by now", 8))
    out.append(
        f'<line x1="{width - 96}" y1="8" x2="{width - 82}" y2="8" stroke="#1a1a1a" stroke-width="1.6"/>'
    )
    out.append(_t(width - 78, 11, "quota", 8))
    # grid
    step = 0.25 if scale_max <= 1.5 else 0.5
    g = 0.0
    while g <= scale_max + 1e-9:
        gx = x(g)
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{h - 20}" stroke="#d0d0d0" '
            'stroke-width="0.5"/>'
        )
        out.append(_t(gx, h - 8, fmt.pct(g), 7.5, "middle", fill="#5f6368"))
        g += step
    for i, (r, v, e, tick) in enumerate(zip(reps, vals, exp, ticks, strict=True)):
        y = top + i * row_h
        out.append(_t(label_w - 6, y + 11, r.rep, _fit(r.rep, 26, 8.5), "end"))
        out.append(
            f'<rect x="{label_w}" y="{y + 2:.1f}" width="{x(v) - label_w:.1f}" height="{row_h - 5}" '
            f'fill="{_fill(prefix, r.ytd.rag.status)}" stroke="#333" stroke-width="0.4"/>'
        )
        if tick:
            ex = x(e)
            out.append(
                f'<line x1="{ex:.1f}" y1="{y:.1f}" x2="{ex:.1f}" y2="{y + row_h - 1:.1f}" '
                'stroke="#1a1a1a" stroke-width="1.4" stroke-dasharray="3 2"/>'
            )
        over = " ▸" if v > scale_max else ""
        out.append(_t(width - 4, y + 11, fmt.pct(v) + over, 8.5, "end", font_weight="bold"))
    qx = x(1.0)
    out.append(
        f'<line x1="{qx:.1f}" y1="{top - 6}" x2="{qx:.1f}" y2="{h - 20}" stroke="#1a1a1a" stroke-width="1.6"/>'
    )
    return _svg(width, h, "".join(out), "Year-to-date attainment by rep against quota")


def svg_team_attainment(
    teams: Sequence[TeamRow], fmt: Formatter, rag: RagSettings, prefix: str
) -> Markup:
    rows = [RepRow(t.team, t.team, None, t.period, t.ytd) for t in teams if t.ytd is not None]
    svg = svg_rep_attainment(rows, fmt, rag, prefix)
    return Markup(str(svg).replace("by rep", "by team"))


def svg_periods(q: m.QuotaStanding, fmt: Formatter, prefix: str, height: int = 200) -> Markup:
    """Per quota period: the quota as a hollow bar, closed as a solid bar inside it
    with its variance written above (+ over, − under), the run-rate forecast of the
    periods to come as a dotted band, and a labelled as-of marker. Legible in grey."""
    totals = q.by_period()
    if not totals:
        return Markup("")
    y = q.ytd
    top_v = max(max(t.quota, t.closed or 0.0, t.forecast or 0.0) for t in totals) * 1.18 or 1.0
    width, left, right, top, bottom = 680, 56, 10, 34, 30
    pw, ph = width - left - right, height - top - bottom
    slot = pw / len(totals)
    bw = min(slot * 0.7, 48)

    def Y(v: float) -> float:
        return top + ph * (1 - v / top_v)

    out = [_patterns(prefix)]
    out.append(
        _legend(
            [
                ("#ffffff", "quota"),
                ("#1f4e78", "closed"),
                (f"url(#{prefix}-grey)", "run-rate forecast"),
            ],
            left,
            10,
        )
    )
    mag = 10 ** math.floor(math.log10(top_v / 4)) if top_v > 0 else 1
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if top_v / (s * mag) <= 4.5)
    v = 0.0
    while v <= top_v:
        out.append(
            f'<line x1="{left}" y1="{Y(v):.1f}" x2="{left + pw}" y2="{Y(v):.1f}" '
            'stroke="#e0e0e0" stroke-width="0.6"/>'
        )
        out.append(_t(left - 5, Y(v) + 3, fmt.money_short(v), 7, "end", fill="#5f6368"))
        v += step
    covered = y.covered if y else None
    for i, t in enumerate(totals):
        cx = left + slot * (i + 0.5)
        x0 = cx - bw / 2
        out.append(
            f'<rect x="{x0:.1f}" y="{Y(t.quota):.1f}" width="{bw:.1f}" '
            f'height="{Y(0) - Y(t.quota):.1f}" fill="#ffffff" stroke="#333" stroke-width="0.9"/>'
        )
        if t.closed is not None:
            inner = bw * 0.55
            out.append(
                f'<rect x="{cx - inner / 2:.1f}" y="{Y(t.closed):.1f}" width="{inner:.1f}" '
                f'height="{Y(0) - Y(t.closed):.1f}" fill="#1f4e78"/>'
            )
            var = t.variance or 0.0
            label = ("+" if var >= 0 else "−") + fmt.money_short(abs(var))
            ytxt = min(Y(t.quota), Y(t.closed)) - 3
            out.append(
                _t(cx, ytxt, label, 6.8, "middle", font_weight="bold" if var < 0 else "normal",
                   fill="#b71c1c" if var < 0 else "#2e7d32")
            )  # fmt: skip
        elif t.forecast is not None:
            inner = bw * 0.55
            out.append(
                f'<rect x="{cx - inner / 2:.1f}" y="{Y(t.forecast):.1f}" width="{inner:.1f}" '
                f'height="{Y(0) - Y(t.forecast):.1f}" fill="url(#{prefix}-grey)" stroke="#555" '
                'stroke-width="0.6" stroke-dasharray="2 1.5"/>'
            )
            out.append(
                _t(
                    cx,
                    min(Y(t.quota), Y(t.forecast)) - 3,
                    "forecast",
                    6.8,
                    "middle",
                    fill="#5f6368",
                )
            )
        out.append(_t(cx, Y(0) + 11, fmt.month_short(t.start), 7.5, "middle", fill="#5f6368"))
    if covered is not None:
        idx = next((i for i, t in enumerate(totals) if t.end >= covered), len(totals) - 1)
        t = totals[idx]
        frac = m.elapsed_fraction(t.start, t.end, covered)
        mx = left + slot * (idx + frac)
        out.append(
            f'<line x1="{mx:.1f}" y1="{top - 6}" x2="{mx:.1f}" y2="{Y(0):.1f}" stroke="#1a1a1a" '
            'stroke-width="0.9" stroke-dasharray="4 2"/>'
        )
        out.append(_t(mx, Y(0) + 22, f"actuals through {fmt.day(covered)}", 7, "middle"))
    return _svg(width, height, "".join(out), "Closed against quota per period, with variance")


def svg_cumulative(q: m.QuotaStanding, fmt: Formatter, prefix: str, height: int = 230) -> Markup:
    """Cumulative closed (solid, dots) against the cumulative quota line (dashed)
    over the fiscal year, with the run-rate projection (dotted) to the last
    quota period. Closed is drawn through the day actuals are entered to."""
    y = q.ytd
    assert y is not None
    ystart, yend = q.year_start, q.year_end
    # one part per period (every rep's quota summed): 12 parts, not 6,000
    parts = [(t.start, t.end, t.quota, t.closed) for t in q.by_period()]
    if not parts:
        return Markup("")
    as_of = y.covered or q.as_of
    # x positions: every month end of the year
    ticks: list[date] = []
    d = ystart
    while d <= yend:
        nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        ticks.append(nxt - timedelta(days=1))
        d = nxt

    def target_at(day: date) -> float:
        return sum(m.straight_line(t, s, e, day) for s, e, t, _ in parts)

    ends = sorted({e for s, e, _, _ in parts if e <= as_of} | {min(as_of, yend)})

    def closed_at(day: date) -> float:
        # periods are credited when they end; the running one is credited as of as_of
        return sum((c or 0.0) for s, e, _, c in parts if e <= day or (s <= day and day == as_of))

    actual_pts = [(ystart - timedelta(days=1), 0.0)] + [(e, closed_at(e)) for e in ends]
    target_total = target_at(yend)
    total_days = m.days_inclusive(ystart, yend)
    closed_now = y.actual
    proj = y.projection
    pend = y.end
    ymax = max(target_total, proj or 0.0, closed_now) * 1.08 or 1.0

    width, left, right, top, bottom = 680, 64, 96, 22, 28
    pw, ph = width - left - right, height - top - bottom

    def X(day: date) -> float:
        return left + pw * ((day - ystart).days + 1) / total_days

    def Y(v: float) -> float:
        return top + ph * (1 - v / ymax)

    out = []
    # y grid
    mag = 10 ** math.floor(math.log10(ymax / 4)) if ymax > 0 else 1
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if ymax / (s * mag) <= 5.5)
    v = 0.0
    while v <= ymax:
        out.append(
            f'<line x1="{left}" y1="{Y(v):.1f}" x2="{left + pw}" y2="{Y(v):.1f}" stroke="#e0e0e0" stroke-width="0.6"/>'
        )
        out.append(_t(left - 6, Y(v) + 3, fmt.money_short(v), 7.5, "end", fill="#5f6368"))
        v += step
    for tday in ticks:
        out.append(
            _t(
                X(tday) - pw / len(ticks) / 2,
                height - bottom + 14,
                fmt.month_short(tday),
                7.5,
                "middle",
                fill="#5f6368",
            )
        )
    out.append(
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#555" stroke-width="0.8"/>'
    )
    # target line
    tpts = [(ystart - timedelta(days=1), 0.0)] + [(tday, target_at(tday)) for tday in ticks]
    out.append(
        '<polyline fill="none" stroke="#1a1a1a" stroke-width="1.6" stroke-dasharray="6 3" points="'
        + " ".join(f"{X(dd):.1f},{Y(vv):.1f}" for dd, vv in tpts)
        + '"/>'
    )
    # the gap between the quota line and what closed, hatched
    gap_pts = [(dd, vv) for dd, vv in actual_pts] + [
        (dd, target_at(dd)) for dd, _ in reversed(actual_pts)
    ]
    out.append(
        f'<defs><pattern id="{prefix}-gap" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="#b26a00" '
        'stroke-width="1.2"/></pattern></defs>'
    )
    out.append(
        f'<polygon fill="url(#{prefix}-gap)" stroke="none" points="'
        + " ".join(f"{X(dd):.1f},{Y(vv):.1f}" for dd, vv in gap_pts)
        + '"/>'
    )
    # projection
    if proj is not None and as_of < pend:
        out.append(
            f'<line x1="{X(as_of):.1f}" y1="{Y(closed_now):.1f}" x2="{X(pend):.1f}" y2="{Y(proj):.1f}" '
            'stroke="#1f4e78" stroke-width="1.4" stroke-dasharray="1.5 2.5"/>'
        )
    # actual line
    out.append(
        '<polyline fill="none" stroke="#1f4e78" stroke-width="2.4" points="'
        + " ".join(f"{X(dd):.1f},{Y(vv):.1f}" for dd, vv in actual_pts)
        + '"/>'
    )
    for dd, vv in actual_pts[1:]:
        out.append(
            f'<circle cx="{X(dd):.1f}" cy="{Y(vv):.1f}" r="2.6" fill="#1f4e78" stroke="#fff" stroke-width="0.6"/>'
        )
    # as-of marker
    mark = X(min(q.as_of, yend))
    out.append(
        f'<line x1="{mark:.1f}" y1="{top}" x2="{mark:.1f}" y2="{top + ph}" stroke="#888" stroke-width="0.6"/>'
    )
    # end labels, kept apart
    labels = [(Y(target_total), f"Quota {fmt.money_short(target_total)}", "#1a1a1a")]
    labels.append((Y(closed_now), f"Closed {fmt.money_short(closed_now)}", "#1f4e78"))
    if proj is not None and as_of < pend:
        labels.append((Y(proj), f"Projected {fmt.money_short(proj)}", "#1f4e78"))
    labels.sort()
    last_y = -100.0
    for ly, text, color in labels:
        ly = max(ly + 3, last_y + 11)
        last_y = ly
        out.append(_t(left + pw + 6, ly, text, 8, fill=color, font_weight="bold"))
    # legend
    out.append(
        f'<line x1="{left}" y1="9" x2="{left + 18}" y2="9" stroke="#1f4e78" stroke-width="2.4"/>'
    )
    out.append(_t(left + 22, 12, "closed (cumulative)", 8))
    out.append(
        f'<line x1="{left + 130}" y1="9" x2="{left + 148}" y2="9" stroke="#1a1a1a" stroke-width="1.6" stroke-dasharray="6 3"/>'
    )
    out.append(_t(left + 152, 12, "quota (cumulative)", 8))
    out.append(
        f'<line x1="{left + 260}" y1="9" x2="{left + 278}" y2="9" stroke="#1f4e78" stroke-width="1.4" stroke-dasharray="1.5 2.5"/>'
    )
    out.append(_t(left + 282, 12, "run-rate projection", 8))
    out.append(
        f'<rect x="{left + 390}" y="4" width="14" height="9" fill="url(#{prefix}-gap)" stroke="#333" stroke-width="0.5"/>'
    )
    out.append(_t(left + 408, 12, "gap to the quota line", 8))
    return _svg(width, height, "".join(out), "Cumulative closed against quota")


def svg_timeline(
    rows: Sequence[MilestoneRow],
    project: Mapping[str, Any],
    as_of: date,
    fmt: Formatter,
    prefix: str,
) -> Markup:
    """One row per milestone: a bar from start to due (a diamond when there is no
    start), filled by category; a vertical line marks the report's day."""
    dated = [r for r in rows if r.due]
    if not dated:
        return Markup("")
    lo = min([r.start or r.due for r in dated] + [as_of])  # type: ignore[type-var]
    hi = max([r.due for r in dated] + [as_of])  # type: ignore[type-var]
    lo = date(lo.year, lo.month, 1)
    hi = date(hi.year + (hi.month == 12), hi.month % 12 + 1, 1) - timedelta(days=1)
    span = max((hi - lo).days + 1, 1)
    width, label_w, right, row_h, top = 680, 210, 14, 15, 40
    pw = width - label_w - right
    h = top + row_h * len(dated) + 4

    def X(day: date) -> float:
        return label_w + pw * ((day - lo).days) / span

    fills = {
        m.DONE: "#9e9e9e",
        m.NOT_STARTED: "#ffffff",
        m.ON_TRACK: "#2e7d32",
        m.AT_RISK: f"url(#{prefix}-amber)",
        m.LATE: f"url(#{prefix}-red)",
    }
    out = [_patterns(prefix)]
    out.append(
        _legend(
            [
                (fills[c], m.CATEGORY_LABELS[c])
                for c in (m.LATE, m.AT_RISK, m.ON_TRACK, m.NOT_STARTED, m.DONE)
            ],
            label_w,
            10,
        )
    )
    # month ticks
    d = lo
    months = []
    while d <= hi:
        months.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    every = max(1, math.ceil(len(months) / 12))
    for i, d in enumerate(months):
        out.append(
            f'<line x1="{X(d):.1f}" y1="{top - 12}" x2="{X(d):.1f}" y2="{h}" stroke="#e3e3e3" stroke-width="0.6"/>'
        )
        if i % every == 0:
            label = fmt.month_short(d) + (f" {d.year % 100:02d}" if d.month == 1 or i == 0 else "")
            out.append(_t(X(d) + 2, top - 4, label, 7, fill="#5f6368"))
    for i, r in enumerate(dated):
        y = top + i * row_h
        text = f"{r.key} {r.name}"
        out.append(_t(label_w - 6, y + 10, text, _fit(text, 46, 7.5), "end"))
        fill = fills[r.category]
        if r.start and r.start <= r.due:  # type: ignore[operator]
            x0, x1 = X(r.start), X(r.due + timedelta(days=1))  # type: ignore[operator]
            out.append(
                f'<rect x="{x0:.1f}" y="{y + 2:.1f}" width="{max(x1 - x0, 2):.1f}" height="{row_h - 5}" '
                f'fill="{fill}" stroke="#333" stroke-width="0.4"/>'
            )
        xd = X(r.due)  # type: ignore[arg-type]
        yc = y + row_h / 2 - 0.5
        out.append(
            f'<path d="M{xd:.1f} {yc - 5:.1f}L{xd + 4:.1f} {yc:.1f}L{xd:.1f} {yc + 5:.1f}L{xd - 4:.1f} {yc:.1f}Z" '
            f'fill="{fill if not (r.start and r.start <= r.due) else "#ffffff"}" stroke="#1a1a1a" stroke-width="0.7"/>'
        )
    xa = X(as_of)
    out.append(
        f'<line x1="{xa:.1f}" y1="{top - 12}" x2="{xa:.1f}" y2="{h + 2}" stroke="#1a1a1a" stroke-width="1" stroke-dasharray="2 2"/>'
    )
    out.append(_t(xa, h + 11, f"as of {fmt.day(as_of)}", 7, "middle", font_weight="bold"))
    name = str(project.get("name") or project.get("key") or "")
    return _svg(width, h + 14, "".join(out), f"Milestone timeline: {name}")


# =========================================================================== rendering


def build_environment(dirs: Sequence[Path], fmt: Formatter) -> jinja2.Environment:
    """The one Jinja environment: user dirs first, built-ins last (also reachable as
    ``builtin/NAME`` so a user template can extend the built-in of the same name),
    autoescape on, undefined variables are errors."""
    import jinja2

    builtin = dirs[-1]
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader([str(d) for d in dirs]),
            jinja2.PrefixLoader({"builtin": jinja2.FileSystemLoader(str(builtin))}),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,  # a template edited in a long-lived process is recompiled
    )
    env.filters.update(fmt.filters())
    env.globals.update(
        rag_label=lambda s: m.RAG_LABELS.get(s, s),
        category_label=lambda c: m.CATEGORY_LABELS.get(c, c),
        short=_short,
    )
    return env


def environment(dirs: Sequence[Path], config: Config) -> jinja2.Environment:
    """The Jinja environment of these template dirs and the config's formatting
    (:meth:`Formatter.for_config`), built once per process and shared by reports
    and mail, so each template is compiled once (and again only when edited)."""
    return _environment(tuple(dirs), *Formatter.settings(config))


@functools.lru_cache(maxsize=16)
def _environment(
    dirs: tuple[Path, ...], locale: str, currency: str, bounds: tuple[float, ...]
) -> jinja2.Environment:
    return build_environment(dirs, Formatter(locale, currency, bounds))


def template_error(e: Exception, dirs: Sequence[Path]) -> ConfigError:
    """A ConfigError naming the template file and line of a Jinja error."""
    import jinja2

    if isinstance(e, jinja2.TemplateSyntaxError):
        where = f"{e.filename or e.name}:{e.lineno}"
        return ConfigError(f"template error at {where}: {e.message}", hint="fix the template")
    if isinstance(e, jinja2.TemplateNotFound):
        return ConfigError(
            f"template {e.name!r} not found",
            hint="template directories: " + ", ".join(str(d) for d in dirs),
        )
    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if any(f.filename.startswith(str(d)) for d in dirs) or f.filename.startswith("<template>")
    ]
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "a template"
    kind = "undefined variable" if isinstance(e, jinja2.UndefinedError) else type(e).__name__
    return ConfigError(f"template error at {where}: {kind}: {e}", hint="fix the template")


def render_html(
    context: ReportContext, config: Config, *, template_dirs: Sequence[str | Path] = ()
) -> str:
    """The report as one self-contained HTML document (styles inline, logo as data: URI)."""
    import jinja2

    dirs = template_dirs_for(config, template_dirs)
    env = environment(dirs, config)
    name = context.meta.name
    try:
        template = env.get_template(f"{name}.html")
    except jinja2.TemplateNotFound:
        known = sorted(
            {p.stem for d in dirs for p in d.glob("*.html") if not p.name.startswith(("_", "base"))}
        )
        raise UsageError(f"no report named {name!r}", hint=f"reports: {', '.join(known)}") from None
    except jinja2.TemplateError as e:
        raise template_error(e, dirs) from None
    try:
        return template.render(**context.variables())
    except jinja2.TemplateError as e:
        raise template_error(e, dirs) from None


def _url_fetcher(allowed: Sequence[Path]):
    """A WeasyPrint URL fetcher that serves data: URIs and files inside ``allowed``
    (directories or single files) and refuses everything else."""
    from urllib.parse import unquote, urlsplit

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = [p.resolve() for p in allowed]

    class SafeFetcher(URLFetcher):
        refused: list[str]

        def __init__(self) -> None:
            super().__init__(timeout=1, allowed_protocols=("file", "data"))
            self.refused = []

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            parts = urlsplit(url)
            if parts.scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(unquote(parts.path)).resolve()
                inside = any(path == r or (r.is_dir() and path.is_relative_to(r)) for r in roots)
                if inside and path.is_file():
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(
                        path.as_uri(), path.read_bytes(), {"Content-Type": mime}
                    )
            self.refused.append(url)
            raise ValueError(f"sheetsync reports may not load {url}")

    return SafeFetcher()


class _LayoutProgress:
    """Passes WeasyPrint's progress log ("Step 5 - Creating layout - Page 3")
    on as "laying out the PDF · page 3" while installed (a context manager)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.logger = logging.getLogger("weasyprint.progress")
        self.handler = logging.Handler(logging.INFO)
        self.handler.emit = self._emit  # type: ignore[method-assign]

    def _emit(self, record: Any) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if "Creating layout - Page" in str(record.msg) and args:
            self.progress(f"laying out the PDF · page {args[0]}")

    def __enter__(self) -> _LayoutProgress:
        self.level, self.propagate = self.logger.level, self.logger.propagate
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False  # these INFO lines are for the status line only
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)
        self.logger.propagate = self.propagate


class _FewerCollections:
    """Raises the garbage collector's thresholds while installed (a context manager).

    WeasyPrint allocates millions of short-lived objects while the layout's
    boxes stay alive, so the default thresholds run the collector hundreds of
    times per report, each older-generation pass walking everything still
    alive: over a tenth of the weekly report's render (issue 18). Cycles are
    still collected, just less often."""

    THRESHOLDS = (50_000, 20, 100)

    def __enter__(self) -> _FewerCollections:
        self.saved = gc.get_threshold()
        gc.set_threshold(*self.THRESHOLDS)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.set_threshold(*self.saved)


def _write_pdf(
    html: str, base_url: str, allowed: Sequence[Path], epoch: int, progress: Progress | None = None
) -> bytes:
    with _FewerCollections():
        return _layout_pdf(html, base_url, allowed, epoch, progress)


def _layout_pdf(
    html: str, base_url: str, allowed: Sequence[Path], epoch: int, progress: Progress | None = None
) -> bytes:
    from weasyprint import HTML

    fetcher = _url_fetcher(allowed)
    # Reproducible bytes: a fixed /ID; creation/modification dates from
    # <meta name=dcterms.created/modified> (the as-of day); and fontTools, which
    # stamps "now" into each embedded font subset's head table unless
    # SOURCE_DATE_EPOCH is set.
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    options = {"pdf_identifier": b"sheetsync-report"}
    try:
        if progress is None:
            doc = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
            return doc.write_pdf(**options)
        # HTML.write_pdf is render() then Document.write_pdf(): done in two
        # steps here to say how far the layout got and how many pages it made.
        progress("laying out the PDF")
        with _LayoutProgress(progress):
            doc = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
            document = doc.render(**options)
        n = len(document.pages)
        progress(f"writing the PDF ({n} page{'s' if n != 1 else ''})")
        return document.write_pdf(**options)
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def _child(fn: Callable[..., bytes], conn, relay: bool) -> None:  # pragma: no cover - in the fork
    try:
        result = fn(lambda *args: conn.send(("progress", args))) if relay else fn()
        conn.send(("ok", result))
    except BaseException as e:  # noqa: BLE001 - report anything to the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def run_with_deadline(
    fn: Callable[..., bytes],
    timeout: float | None,
    what: str,
    progress: Progress | None = None,
) -> bytes:
    """Run ``fn`` in a forked child; kill it after ``timeout`` seconds.

    WeasyPrint's layout is pure Python and C (Pango/HarfBuzz) with no cancel
    hook; a thread cannot be stopped, a signal cannot interrupt C code and
    only works in the main thread. A forked child shares the parent's already
    imported modules and font caches (cheap to start, ~10 ms) and is killed
    outright when it overruns. Where fork is unavailable the render runs
    in-process without a limit.

    With ``progress``, ``fn`` is called with a progress callback (in the child,
    one that sends each call back to be passed to ``progress`` here).
    """
    if timeout is None or not hasattr(os, "fork"):
        return fn(progress) if progress else fn()
    import multiprocessing
    import time as clock

    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, send, progress is not None), daemon=True)
    proc.start()
    send.close()
    deadline = clock.monotonic() + timeout
    try:
        while True:
            if not recv.poll(max(0.0, deadline - clock.monotonic())):
                proc.kill()
                proc.join()
                raise ConfigError(
                    f"rendering {what} took longer than {timeout:g} s and was stopped",
                    hint="a template may be looping or the report too long; shorten it",
                )
            try:
                status, payload = recv.recv()
            except EOFError:
                proc.join()
                raise SheetsyncError(
                    f"rendering {what} failed: the renderer exited with code {proc.exitcode}"
                ) from None
            if status != "progress":
                break
            if progress:
                progress(*payload)
    finally:
        recv.close()
    proc.join()
    if status != "ok":
        raise SheetsyncError(f"rendering {what} failed: {payload}")
    return payload


def render_pdf(
    context: ReportContext,
    config: Config,
    *,
    template_dirs: Sequence[str | Path] = (),
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> bytes:
    """The report as PDF bytes; the same context gives the same bytes.
    ``progress(message, done=None, total=None)`` hears the layout's steps."""
    html = render_html(context, config, template_dirs=template_dirs)
    dirs = template_dirs_for(config, template_dirs)
    allowed = list(dirs) + ([config.report.logo] if config.report.logo else [])
    base_url = dirs[0].as_uri() + "/"
    epoch = int(datetime.combine(context.meta.as_of, time(), tzinfo=UTC).timestamp())
    return run_with_deadline(
        lambda report=None: _write_pdf(html, base_url, allowed, epoch, report),
        timeout,
        f"the {context.meta.name} report",
        progress,
    )


def context_for(
    plan: PlanAsOf,
    config: Config,
    *,
    name: str = "weekly",
    teams: tuple[str, ...] = (),
    limits: Limits | None = None,
    baseline: tuple[Baseline, Records] | None = None,
    explained: Sequence[Explanation] = (),
) -> ReportContext:
    """The report context of a plan as of a day (see :func:`sheetsync.plan.plan_as_of`).

    ``teams`` are matched to the model's spelling; an unknown team is an error.
    ``baseline``: a saved baseline and its records (``Store.baseline_records``),
    to add the variance against it. ``explained``: the headline figures'
    explanations (``sheetsync.explain.explain_all``), for the appendix."""
    if teams:
        teams = resolve_teams(plan.current, teams)
    ctx = build_context(
        plan.current,
        plan.previous,
        config,
        name=name,
        as_of=plan.as_of,
        teams=teams,
        limits=limits,
        reads=plan.reads,
        note=plan.note,
        read_after=plan.first_pulled is not None,
    )
    if explained:
        ctx = dataclasses.replace(ctx, explained=list(explained))
    if baseline is None:
        return ctx
    saved, records = baseline
    v = variance(saved.name, saved.as_of, records, plan.current, config, plan.as_of, teams)
    return dataclasses.replace(ctx, baseline=v)


EXPLAINED = ("weekly",)  # the reports whose template has the appendix (_sources.html)


def report_context(
    store: Store,
    plan: PlanAsOf,
    config: Config,
    *,
    name: str = "weekly",
    teams: tuple[str, ...] = (),
    baseline: str | None = None,
) -> ReportContext:
    """Report ``name``'s context as ``sheetsync report`` renders it and a status
    pack attaches it (one path): the plan's (:func:`context_for`), the variance
    against the saved baseline ``baseline`` (default: ``[report] baseline``),
    and for a report in ``EXPLAINED`` the appendix's explanations."""
    from .explain import explain_all

    wanted = baseline or config.report.baseline
    saved = store.baseline_records(wanted) if wanted else None
    explained = explain_all(store, plan, config, teams) if name in EXPLAINED else ()
    return context_for(plan, config, name=name, teams=teams, baseline=saved, explained=explained)


def render_context(
    ctx: ReportContext,
    config: Config,
    *,
    fmt: str = "pdf",
    template_dirs: Sequence[str | Path] = (),
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> bytes:
    """A report context as PDF bytes, or as UTF-8 HTML with ``fmt="html"``."""
    if fmt not in ("pdf", "html"):
        raise UsageError(f"unknown report format {fmt!r}", hint="use pdf or html")
    if fmt == "html":
        if progress:
            progress("writing the HTML")
        return render_html(ctx, config, template_dirs=template_dirs).encode("utf-8")
    return render_pdf(ctx, config, template_dirs=template_dirs, timeout=timeout, progress=progress)


def render_report(
    store: Store,
    config: Config,
    *,
    name: str = "weekly",
    as_of: date,
    fmt: str = "pdf",
    template_dirs: Sequence[str | Path] = (),
    teams: tuple[str, ...] = (),
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> bytes:
    """Render a report from the store: the plan as of the end of ``as_of``
    against the plan a week earlier (:func:`report_context`: the report
    ``sheetsync report`` writes). ``fmt`` is "pdf" or "html" (UTF-8 bytes).
    ``progress(message, done=None, total=None)`` hears each step."""
    if fmt not in ("pdf", "html"):
        raise UsageError(f"unknown report format {fmt!r}", hint="use pdf or html")
    if progress:
        progress("reading the model")
    plan = plan_as_of(store, config, as_of)
    if progress:
        progress("building the report")
    ctx = report_context(store, plan, config, name=name, teams=teams)
    return render_context(
        ctx, config, fmt=fmt, template_dirs=template_dirs, timeout=timeout, progress=progress
    )

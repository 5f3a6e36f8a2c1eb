"""The report's context: the documented dataclasses every template receives.

:class:`ReportContext` is the whole of what a report template sees (each field
a variable); the other classes are its parts. ``Limits``/``LIMITS`` say how many
rows each list shows per report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from .. import metrics as m
from ..baseline import Variance
from ..goal_tree import GoalTreeView
from ..metrics import RagSettings
from ..verdict import Item, Verdict
from .units import GoalUnit, goal_unit

if TYPE_CHECKING:  # pragma: no cover
    from ..explain import Explanation

Records = dict[str, list[dict[str, Any]]]

REPORTS = ("weekly", "executive")
TITLES = {"weekly": "Weekly sales status", "executive": "Executive summary"}


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
        summary=4,
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
    change: str = ""  # "+2.1 pp since 23 Nov 2026" when last week's snapshot exists

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

    @property
    def unit(self) -> GoalUnit:
        """What the goal's values are and per which period its rates read."""
        return goal_unit(self.metric)


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

    @property
    def unit(self) -> GoalUnit:
        """What the goal's values are and per which period its rates read."""
        return goal_unit(self.metric)


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
    risks_more: int = 0  # new risks not shown


@dataclass(frozen=True)
class Charts:
    rep_attainment: Markup  # SVG: attainment by rep against quota and pace
    rep_attainment_more: int
    cumulative: Markup  # SVG: cumulative closed vs target over the year
    periods: Markup  # SVG: per period, closed vs quota with variance, forecast band
    team_attainment: Markup  # SVG: attainment by team
    periods_message: str = ""  # the per-period chart's message, for its title


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

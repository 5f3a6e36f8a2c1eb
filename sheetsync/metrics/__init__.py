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

The package, by what each module owns: :mod:`.ratios` (day counts and ratios),
:mod:`.rag` (thresholds and verdicts), :mod:`.pace` (a horizon's pace),
:mod:`.quota` (``quota_standing``: every quota figure), :mod:`.milestones`
(milestone states, delivery RAG), :mod:`.goals` (checkpoints, goal RAG) and
:mod:`.budget`. Its names are re-exported here: ``from sheetsync import metrics
as m; m.quota_standing(...)``.
"""

from __future__ import annotations

from .budget import (
    BudgetTotals,
    budget_totals,
)
from .goals import (
    Checkpoint,
    pace_checkpoints,
    project_goal,
)
from .milestones import (
    AT_RISK,
    CATEGORY_LABELS,
    CATEGORY_RAG,
    DONE,
    LATE,
    MILESTONE_CATEGORIES,
    NOT_STARTED,
    ON_TRACK,
    MilestoneState,
    classify_milestone,
    count_categories,
    is_done_status,
    milestone_progress,
    project_delivery,
)
from .pace import (
    Pace,
    Part,
    combine_paces,
    covered_until,
    in_actual,
    in_target_to_date,
    pace_parts,
    pace_period,
)
from .quota import (
    PeriodTotal,
    PipelineCoverage,
    QuotaLine,
    QuotaStanding,
    RepStanding,
    TeamStanding,
    line_part,
    pipeline_coverage,
    quota_lines,
    quota_standing,
)
from .rag import (
    AMBER,
    GREEN,
    GREY,
    RAG_LABELS,
    RED,
    Rag,
    RagSettings,
    pct_shown,
    rag_bounds,
    rag_for_pace,
    rag_rules,
)
from .ratios import (
    attainment,
    days_inclusive,
    elapsed_days,
    elapsed_fraction,
    gap,
    ratio,
    required_weekly,
    run_rate_projection,
    straight_line,
    weeks_left,
)

__all__ = [
    "AMBER",
    "AT_RISK",
    "BudgetTotals",
    "CATEGORY_LABELS",
    "CATEGORY_RAG",
    "Checkpoint",
    "DONE",
    "GREEN",
    "GREY",
    "LATE",
    "MILESTONE_CATEGORIES",
    "MilestoneState",
    "NOT_STARTED",
    "ON_TRACK",
    "Pace",
    "Part",
    "PeriodTotal",
    "PipelineCoverage",
    "QuotaLine",
    "QuotaStanding",
    "RAG_LABELS",
    "RED",
    "Rag",
    "RagSettings",
    "RepStanding",
    "TeamStanding",
    "attainment",
    "budget_totals",
    "classify_milestone",
    "combine_paces",
    "count_categories",
    "covered_until",
    "days_inclusive",
    "elapsed_days",
    "elapsed_fraction",
    "gap",
    "in_actual",
    "in_target_to_date",
    "is_done_status",
    "line_part",
    "milestone_progress",
    "pace_checkpoints",
    "pace_parts",
    "pace_period",
    "pct_shown",
    "pipeline_coverage",
    "project_delivery",
    "project_goal",
    "quota_lines",
    "quota_standing",
    "rag_bounds",
    "rag_for_pace",
    "rag_rules",
    "ratio",
    "required_weekly",
    "run_rate_projection",
    "straight_line",
    "weeks_left",
]

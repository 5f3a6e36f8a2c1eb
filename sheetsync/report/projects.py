"""The projects' sections: goal checkpoints, milestones, budget and timeline, worst first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup

from .. import metrics as m
from ..formatting import Formatter
from ..metrics import RagSettings
from ..verdict import rag_rank, worst
from .charts import svg_timeline
from .context import BudgetRow, GoalCheckpoint, Limits, MilestoneRow, ProjectSection, Records
from .rows import Snapshot, sort_text, state_like

GOAL_TARGET = "Goal target"  # the checkpoint a goal's own target and end make


@dataclass(frozen=True)
class Projects:
    """Every project's section (worst first) and what the other steps need of them."""

    sections: list[ProjectSection]
    goals_behind: list[GoalCheckpoint]  # checkpoints Red or Amber, not yet reached
    budget_by_project: dict[str, list[BudgetRow]]
    raw_budget_by_project: dict[str, list[dict]]
    names: dict[str, Any]  # project key -> name


def project_sections(
    current: Records, cur: Snapshot, as_of: date, lim: Limits, fmt: Formatter, rag: RagSettings
) -> Projects:
    """Each project of ``current`` as a section, the worst (goal or delivery) first."""
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
    for p in sorted(current.get("projects", []), key=lambda p: sort_text(p.get("key"))):
        key = str(p.get("key"))
        cps = _checkpoints(p, ms_by_project.get(key, []), as_of, rag)
        for cp in cps:
            if cp.rag.status in (m.RED, m.AMBER) and not cp.reached:
                goals_behind.append(GoalCheckpoint(key, str(p.get("name")), p.get("metric"), cp))
        sections.append(
            _section(
                p,
                cps,
                rows_by_project.get(key, []),
                budget_by_project.get(key, []),
                raw_budget_by_project.get(key, []),
                as_of,
                lim,
                fmt,
                rag,
                f"tl{len(sections)}",
            )
        )
    detailed = sorted(sections, key=severity)
    return Projects(detailed, goals_behind, budget_by_project, raw_budget_by_project, names)


def severity(s: ProjectSection) -> tuple:
    """Worst first: by status, then the more late and at-risk milestones, the worse
    goal, then the key (so the order is stable). "The projects that need attention
    most" are the first of this order."""
    return (
        rag_rank(s.rag),
        -s.counts.get(m.LATE, 0),
        -s.counts.get(m.AT_RISK, 0),
        rag_rank(s.goal_rag.status),
        sort_text(s.key),
    )


def _section(
    p: dict[str, Any],
    cps: list[m.Checkpoint],
    rows: list[MilestoneRow],
    budget: list[BudgetRow],
    raw_budget: list[dict],
    as_of: date,
    lim: Limits,
    fmt: Formatter,
    rag: RagSettings,
    prefix: str,
) -> ProjectSection:
    """One project's section; ``prefix`` names its timeline's SVG patterns."""
    key = str(p.get("key"))
    counts = m.count_categories(state_like(r) for r in rows)
    base, target, curv = p.get("baseline_value"), p.get("target_value"), p.get("current_value")
    progress = m.ratio(curv - base, target - base) if None not in (base, target, curv) else None
    goal_rag = m.project_goal(cps)
    delivery_rag = m.project_delivery(counts, rag)
    prag = worst([goal_rag.status, delivery_rag.status])
    goal_why = goal_rag.explanation.removeprefix(f"{GOAL_TARGET}: ")  # not "goal: Goal target: …"
    why = [f"goal: {goal_why}", f"delivery: {delivery_rag.explanation}"]
    shown = _pick_milestones(rows, lim.milestones, as_of)
    horizon_end = as_of + timedelta(days=14)
    upcoming = [r for r in rows if r.category != m.DONE and r.due and as_of <= r.due <= horizon_end]
    return ProjectSection(
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
        rag_reason=fmt.dates_in("; ".join(why)),
        goal_rag=goal_rag,
        delivery_rag=delivery_rag,
        counts=counts,
        checkpoints=cps,
        milestones=shown,
        milestones_total=len(rows),
        upcoming=upcoming,
        budget=m.budget_totals(raw_budget),
        budget_lines=budget[: lim.budget_lines],
        timeline=Markup("") if not lim.milestones else svg_timeline(shown, p, as_of, fmt, prefix),
    )


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
        cps.append((GOAL_TARGET, project["end"], float(goal)))
    return m.pace_checkpoints(float(base), float(cur), start, cps, as_of, rag)


def _pick_milestones(rows: list[MilestoneRow], limit: int, as_of: date) -> list[MilestoneRow]:
    """The rows worth a reader's time when a project has more than ``limit``:
    late and at risk first, then what is due soonest, then recent completions."""
    if len(rows) <= limit:
        return rows
    rank = {m.LATE: 0, m.AT_RISK: 1, m.ON_TRACK: 2, m.NOT_STARTED: 2, m.DONE: 3}

    def key(r: MilestoneRow):
        distance = abs((r.due - as_of).days) if r.due else 10**6
        return (rank[r.category], distance, sort_text(r.key))

    chosen = {id(r) for r in sorted(rows, key=key)[:limit]}
    return [r for r in rows if id(r) in chosen]

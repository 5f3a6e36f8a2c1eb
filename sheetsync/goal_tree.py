"""The plan as a goal tree: project → milestones → tasks, each node with its
state (done / late / at risk / on track) as of a day. Pure: no I/O, no clock.

One tree feeds both ``sheetsync export --format xmind|mm|opml`` and the
weekly report's goal-tree section. Milestones are classified by
``metrics.classify_milestone``; a task is done when ticked, late when past
due, at risk when due within ``at_risk_days``, on track otherwise; a project
takes the worst state of its milestones (done only when all are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .config import RagSettings
from .metrics import AT_RISK, CATEGORY_LABELS, DONE, LATE, ON_TRACK, classify_milestone

Record = Mapping[str, Any]
_WORST_FIRST = (LATE, AT_RISK, ON_TRACK, DONE)


@dataclass
class GoalNode:
    """One node of the tree: a project, milestone or task record and its state."""

    table: str  # projects | milestones | tasks
    record: Record
    category: str | None = None  # metrics' done / late / at_risk / on_track; None: unknown
    progress: float | None = None  # 0..1 where known
    reason: str = ""
    children: list[GoalNode] = field(default_factory=list)

    @property
    def title(self) -> str:
        return str(self.record.get("name") or self.record.get("key") or "")

    @property
    def label(self) -> str:
        return CATEGORY_LABELS.get(self.category or "", "")

    @property
    def tasks(self) -> list[GoalNode]:
        return [c for c in self.children if c.table == "tasks"]

    @property
    def tasks_done(self) -> int:
        return sum(1 for t in self.tasks if t.category == DONE)


def task_state(task: Record, as_of: date, settings: RagSettings) -> tuple[str, str]:
    """(category, reason) of one task as of a day."""
    due: date | None = task.get("due")
    if task.get("done"):
        return DONE, ""
    if due is not None and due < as_of:
        return LATE, f"due {due.isoformat()}, not done"
    if due is not None and (due - as_of).days <= settings.at_risk_days:
        return AT_RISK, f"due {due.isoformat()}"
    return ON_TRACK, ""


def _worst(categories: Sequence[str | None]) -> str | None:
    known = [c for c in categories if c]
    return next((c for c in _WORST_FIRST if c in known), None)


def goal_trees(
    projects: Sequence[Record],
    milestones: Sequence[Record],
    tasks: Sequence[Record],
    as_of: date,
    settings: RagSettings,
) -> list[GoalNode]:
    """One tree per project, in the order given; tasks sit under their milestone
    (or under the project when they name none the project has)."""
    task_nodes: dict[str, list[GoalNode]] = {}
    loose: dict[str, list[GoalNode]] = {}
    milestone_keys = {(m.get("project"), m.get("key")) for m in milestones}
    for t in tasks:
        category, reason = task_state(t, as_of, settings)
        node = GoalNode("tasks", t, category, 1.0 if category == DONE else 0.0, reason)
        if (t.get("project"), t.get("milestone")) in milestone_keys:
            task_nodes.setdefault(str(t.get("milestone")), []).append(node)
        else:
            loose.setdefault(str(t.get("project")), []).append(node)
    by_project: dict[str, list[GoalNode]] = {}
    for m in milestones:
        state = classify_milestone(m, as_of, settings)
        node = GoalNode("milestones", m, state.category, state.progress, state.reason)
        node.children = task_nodes.get(str(m.get("key")), [])
        by_project.setdefault(str(m.get("project")), []).append(node)
    trees = []
    for p in projects:
        kids = by_project.get(str(p.get("key")), [])
        ms = [k for k in kids if k.table == "milestones"]
        done = sum(1 for k in ms if k.category == DONE)
        progress = done / len(ms) if ms else None
        category = _worst([k.category for k in ms])
        node = GoalNode("projects", p, category, progress, f"{done} of {len(ms)} milestones done")
        node.children = kids + loose.get(str(p.get("key")), [])
        trees.append(node)
    return trees

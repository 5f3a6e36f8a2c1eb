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

from .metrics import (
    AMBER,
    AT_RISK,
    CATEGORY_LABELS,
    CATEGORY_RAG,
    DONE,
    GREEN,
    LATE,
    MILESTONE_CATEGORIES,
    ON_TRACK,
    RAG_LABELS,
    RED,
    RagSettings,
    classify_milestone,
    project_delivery,
)

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


# ---------------------------------------------------------------- the report's view

#: How many milestones and tasks under each a report draws before collapsing the rest.
REPORT_MILESTONES = 12
REPORT_TASKS = 4


@dataclass(frozen=True)
class TreeLeaf:
    """A task as the report draws it."""

    title: str
    category: str
    label: str
    rag: str
    owner: str | None
    due: date | None


@dataclass(frozen=True)
class TreeBranch:
    """A milestone as the report draws it, with its tasks (count and done share)."""

    key: str
    title: str
    category: str | None
    label: str
    rag: str
    owner: str | None
    due: date | None
    progress: float | None
    tasks: list[TreeLeaf]
    tasks_total: int
    tasks_done: int

    @property
    def tasks_more(self) -> int:
        return self.tasks_total - len(self.tasks)

    @property
    def tasks_more_done(self) -> int:
        """How many of the tasks not drawn are done."""
        return self.tasks_done - sum(1 for t in self.tasks if t.category == DONE)

    @property
    def done_share(self) -> float | None:
        return self.tasks_done / self.tasks_total if self.tasks_total else None


@dataclass(frozen=True)
class GoalTreeView:
    """One project's goal tree for the weekly report: goal → milestones → tasks.

    Milestones are in due-date order; past ``REPORT_MILESTONES`` the done ones
    are folded first (``milestones_more``), and past ``REPORT_TASKS`` a
    milestone's done tasks are (``TreeBranch.tasks_more``), so a tree of any
    size keeps to the page.
    """

    key: str
    title: str
    goal: str | None
    category: str | None
    label: str
    rag: str
    milestones: list[TreeBranch]
    milestones_total: int
    milestones_done: int
    loose_tasks: list[TreeLeaf]  # tasks that name no milestone of the project
    tasks_total: int
    tasks_done: int

    @property
    def milestones_more(self) -> int:
        return self.milestones_total - len(self.milestones)

    @property
    def milestones_more_done(self) -> int:
        """How many of the milestones not drawn are done."""
        return self.milestones_done - sum(1 for m in self.milestones if m.category == DONE)


def _rag(category: str | None) -> str:
    return CATEGORY_RAG.get(category or "", "grey")


def _leaf(t: GoalNode) -> TreeLeaf:
    r = t.record
    return TreeLeaf(
        t.title, t.category or "", t.label, _rag(t.category), r.get("owner"), r.get("due")
    )


def _fold(nodes: list[GoalNode], limit: int) -> list[GoalNode]:
    """At most ``limit`` of ``nodes`` in their order, the not-done ones kept first."""
    if len(nodes) <= limit:
        return nodes
    keep = {id(n) for n in [n for n in nodes if n.category != DONE][:limit]}
    room = limit - len(keep)
    keep |= {id(n) for n in [n for n in nodes if n.category == DONE][:room]}
    return [n for n in nodes if id(n) in keep]


def _due_order(n: GoalNode) -> tuple:
    due = n.record.get("due")
    return (due is None, due or date.min, n.title)


_DELIVERY_SHAPE = {RED: LATE, AMBER: AT_RISK, GREEN: ON_TRACK}


def _delivery(
    p: GoalNode, ms: Sequence[GoalNode], settings: RagSettings
) -> tuple[str | None, str, str]:
    """The root's (category, label, rag): the project's delivery status by the one
    rule of ``[rag]`` (as its section heading says it), not its worst milestone."""
    if p.category in (None, DONE):
        return p.category, p.label, _rag(p.category)
    counts = dict.fromkeys(MILESTONE_CATEGORIES, 0)
    for m in ms:
        if m.category in counts:
            counts[m.category] += 1
    status = project_delivery(counts, settings).status
    return _DELIVERY_SHAPE.get(status, p.category), f"Delivery {RAG_LABELS[status]}", status


def goal_tree_views(
    records: Mapping[str, Sequence[Record]],
    as_of: date,
    settings: RagSettings,
    shown: Mapping[str, set[str]] | None = None,
) -> dict[str, GoalTreeView]:
    """Each project's tree as the weekly report draws it, by project key. ``shown``
    (project key → milestone keys): the milestones the project's table and timeline
    show, so that the tree draws the same ones; by default, the first by due date."""
    trees = goal_trees(
        records.get("projects", []),
        records.get("milestones", []),
        records.get("tasks", []),
        as_of,
        settings,
    )
    views = {}
    for p in trees:
        ms = sorted((c for c in p.children if c.table == "milestones"), key=_due_order)
        loose = [c for c in p.children if c.table == "tasks"]
        branches = []
        keep = None if shown is None else shown.get(str(p.record.get("key")))
        drawn = ms if keep is None else [c for c in ms if str(c.record.get("key")) in keep]
        for m in _fold(drawn, REPORT_MILESTONES):
            tasks = sorted(m.tasks, key=_due_order)
            branches.append(
                TreeBranch(
                    str(m.record.get("key")),
                    m.title,
                    m.category,
                    m.label,
                    _rag(m.category),
                    m.record.get("owner"),
                    m.record.get("due"),
                    m.progress,
                    [_leaf(t) for t in _fold(tasks, REPORT_TASKS)],
                    len(tasks),
                    m.tasks_done,
                )
            )
        all_tasks = [t for m in ms for t in m.tasks] + loose
        category, label, rag = _delivery(p, ms, settings)
        views[str(p.record.get("key"))] = GoalTreeView(
            str(p.record.get("key")),
            p.title,
            p.record.get("goal"),
            category,
            label,
            rag,
            branches,
            len(ms),
            sum(1 for m in ms if m.category == DONE),
            [_leaf(t) for t in _fold(loose, REPORT_TASKS)],
            len(all_tasks),
            sum(1 for t in all_tasks if t.category == DONE),
        )
    return views

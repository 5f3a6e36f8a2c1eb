"""What needs attention (late, at risk, reps behind, over budget, goals behind) and its exceptions.

The same concerns feed the "needs attention" lists and the exceptions that
:func:`sheetsync.verdict.pick` chooses for the opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .. import metrics as m
from ..formatting import Formatter
from ..verdict import Item, rep_item
from .context import Attention, BudgetRow, GoalCheckpoint, Limits, MilestoneRow, Records, RepRow
from .rows import Snapshot, pace_key, sort_text
from .units import show


@dataclass(frozen=True)
class Concerns:
    """Everything that needs attention, before any list is cut to its limit."""

    late: list[MilestoneRow]  # by due date
    at_risk: list[MilestoneRow]
    reps_behind: list[RepRow]  # Red or Amber year to date, furthest behind pace first
    over: list[BudgetRow]  # budget lines over plan
    goals_behind: list[GoalCheckpoint]


def concerns(
    cur: Snapshot, q: m.QuotaStanding | None, goals_behind: list[GoalCheckpoint]
) -> Concerns:
    late = [r for r in cur.milestones if r.category == m.LATE]
    late.sort(key=lambda r: (r.due or date.max, sort_text(r.key)))
    at_risk = [r for r in cur.milestones if r.category == m.AT_RISK]
    reps_behind = []
    if q:
        reps_behind = sorted(
            (r for r in q.reps if r.ytd.rag.status in (m.RED, m.AMBER)), key=pace_key
        )
    over = [b for b in cur.budget if b.over > 0]
    return Concerns(late, at_risk, reps_behind, over, goals_behind)


def attention(c: Concerns, lim: Limits) -> Attention:
    """The "needs attention" lists, each cut to ``lim.attention`` with the rest counted."""
    return Attention(
        late=c.late[: lim.attention],
        at_risk=c.at_risk[: lim.attention],
        reps_behind=c.reps_behind[: lim.attention],
        budget_over=c.over[: lim.attention],
        goals_behind=c.goals_behind[: lim.attention],
        more={
            "late": max(len(c.late) - lim.attention, 0),
            "at_risk": max(len(c.at_risk) - lim.attention, 0),
            "reps_behind": max(len(c.reps_behind) - lim.attention, 0),
            "budget_over": max(len(c.over) - lim.attention, 0),
            "goals_behind": max(len(c.goals_behind) - lim.attention, 0),
        },
    )


def exception_items(
    c: Concerns, q: m.QuotaStanding | None, current: Records, fmt: Formatter
) -> list[Item]:
    """Every concern as an exception (owner, next date), for :func:`sheetsync.verdict.pick`."""
    owners = {str(p.get("key")): p.get("owner") for p in current.get("projects", [])}
    ends = {str(p.get("key")): p.get("end") for p in current.get("projects", [])}
    items = [
        Item(m.RED, "Late", f"{r.name} ({r.project_name})", r.owner, r.due, "was due")
        for r in c.late
    ] + [
        Item(m.AMBER, "At risk", f"{r.name} ({r.project_name}): {r.reason}", r.owner, r.due, "due")
        for r in c.at_risk
    ]
    if q:
        # every rep the attention list shows (Red and Amber), so "the 4 most urgent of
        # N" counts what the lists below it hold
        items += [rep_item(r, fmt) for r in c.reps_behind]
    items += [
        Item(
            g.checkpoint.rag.status,
            "Goal behind",
            f"{g.project_name}: {g.checkpoint.label} at {show(g.checkpoint.current, g.unit, fmt)} "
            f"against {show(g.checkpoint.expected, g.unit, fmt)} expected by now",
            owners.get(g.project),
            g.checkpoint.due,
            "checkpoint due",
        )
        for g in c.goals_behind
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
        for b in c.over
    ]
    return items

"""What changed since the snapshot a week earlier: milestone moves, rep moves, new risks."""

from __future__ import annotations

from datetime import date
from typing import Any

from .. import metrics as m
from ..formatting import Formatter
from ..history import TableChanges
from ..model import TABLES, Table
from ..store import record_key
from .context import BudgetRow, Changes, Limits, MilestoneChange, MilestoneRow, RepMove, Risk
from .rows import sort_text


def _fmt_change_value(v: Any) -> str:
    if v is None or v == "":
        return "—"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def what_changed(
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
    risks: list[Risk] = []
    moved, new = _milestone_moves(cur_rows, prev_rows, fmt, records, spec, risks)
    reps = _rep_moves(cur_q, prev_q, fmt, risks)
    _budget_risks(cur_budget, prev_budget, fmt, risks)
    return Changes(
        True,
        previous_as_of,
        moved[: limits.changes],
        max(len(moved) - limits.changes, 0),
        new[: limits.changes],
        reps[: limits.rep_moves],
        risks[: limits.risks],
        [c.shown_key for c in records.removed][: limits.changes] if records else [],
        max(len(risks) - limits.risks, 0),
    )


def _milestone_moves(
    cur_rows: list[MilestoneRow],
    prev_rows: list[MilestoneRow],
    fmt: Formatter,
    records: TableChanges | None,
    spec: Table | None,
    risks: list[Risk],
) -> tuple[list[MilestoneChange], list[MilestoneRow]]:
    """The milestones that moved (worse first) and the new ones; their risks go to ``risks``."""
    spec = spec or TABLES["milestones"]

    def rkey(r: MilestoneRow) -> str:
        return record_key(spec, {k: getattr(r, k) for k in spec.key})

    prev_by_key = {rkey(r): r for r in prev_rows}
    added = records.keys("new") if records is not None else None
    moved: list[MilestoneChange] = []
    new: list[MilestoneRow] = []
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
        diffs = _milestone_diffs(p, r, fmt)
        worse = r.category in bad and p.category not in bad
        if worse or (r.category == m.LATE and p.category == m.AT_RISK):
            risks.append(Risk("milestone", r.name, f"{r.category_label.lower()}: {r.reason}"))
        if diffs:
            moved.append(MilestoneChange(r, diffs, worse))
    moved.sort(key=lambda c: (not c.worse, c.row.due or date.max, sort_text(c.row.key)))
    return moved, new


def _milestone_diffs(p: MilestoneRow, r: MilestoneRow, fmt: Formatter) -> list[str]:
    """How milestone ``r`` differs from its week-earlier self ``p``, in words."""
    diffs = []
    if (p.status or "") != (r.status or ""):
        diffs.append(f"status {_fmt_change_value(p.status)} → {_fmt_change_value(r.status)}")
    if p.due != r.due:
        diffs.append(f"due {fmt.day(p.due)} → {fmt.day(r.due)}")
    if (p.progress is None) != (r.progress is None) or (
        p.progress is not None and r.progress is not None and abs(p.progress - r.progress) >= 0.005
    ):
        diffs.append(f"progress {fmt.pct(p.progress)} → {fmt.pct(r.progress)}")
    if p.category != r.category and (p.status or "") == (r.status or ""):
        diffs.append(f"now {r.category_label.lower()} (was {p.category_label.lower()})")
    return diffs


def _rep_moves(
    cur_q: m.QuotaStanding | None,
    prev_q: m.QuotaStanding | None,
    fmt: Formatter,
    risks: list[Risk],
) -> list[RepMove]:
    """Each rep's year-to-date move in the week, biggest first; reps who fell to Red go to ``risks``."""
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
        reps.sort(key=lambda x: (-abs(x.delta), sort_text(x.rep)))
    return reps


def _budget_risks(
    cur_budget: list[BudgetRow], prev_budget: list[BudgetRow], fmt: Formatter, risks: list[Risk]
) -> None:
    """The budget lines newly over plan, added to ``risks``."""
    prev_over = {(b.project, b.category) for b in prev_budget if b.over > 0}
    for b in cur_budget:
        if b.over > 0 and (b.project, b.category) not in prev_over:
            risks.append(
                Risk("budget", f"{b.project} · {b.category}", f"now {fmt.money(b.over)} over plan")
            )

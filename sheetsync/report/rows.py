"""One snapshot of the model as the report's rows: milestones classified, quotas paced, budget lines.

:func:`compute` turns a snapshot's records (now, or a week earlier) into a
:class:`Snapshot`; the other steps of :mod:`sheetsync.report.build` read it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .. import metrics as m
from ..config import Config
from ..formatting import Formatter
from ..metrics import RagSettings
from .context import BudgetGroup, BudgetRow, MilestoneRow, Records, RepRow


def sort_text(v: Any) -> str:
    return "" if v is None else str(v).casefold()


def pace_key(r: RepRow) -> tuple:
    p = r.ytd.pace
    return (p if p is not None else math.inf, sort_text(r.rep))


def milestone_rows(
    milestones: list[dict[str, Any]],
    projects: Mapping[str, dict],
    as_of: date,
    rag: RagSettings,
    fmt: Formatter,
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
                reason=fmt.dates_in(st.reason),
                progress=st.progress,
                expected=st.expected,
                days_to_due=st.days_to_due,
                completed_on=r.get("completed_on"),
                notes=r.get("notes"),
            )
        )
    rows.sort(key=lambda x: (x.due or date.max, sort_text(x.project), sort_text(x.key)))
    return rows


def state_like(r: MilestoneRow) -> m.MilestoneState:
    return m.MilestoneState(r.category, r.reason, r.progress, r.expected, r.days_to_due)


def budget_rows(budget: list[dict[str, Any]]) -> list[BudgetRow]:
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
    rows.sort(key=lambda r: (-r.over, sort_text(r.project), sort_text(r.category)))
    return rows


def budget_groups(
    rows: Mapping[str, list[BudgetRow]],
    raw: Mapping[str, list[dict[str, Any]]],
    names: Mapping[str, Any],
    limit: int,
) -> list[BudgetGroup]:
    """Every project's budget subtotal (:func:`metrics.budget_totals` of all its
    lines), the projects most over plan first, each with its lines (over plan
    first) while ``limit`` lines last."""
    order = sorted(rows, key=lambda k: (-sum(b.over for b in rows[k]), sort_text(k)))
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


@dataclass(frozen=True)
class Snapshot:
    """The computed pieces of one snapshot (current or previous)."""

    milestones: list[MilestoneRow]
    quotas: m.QuotaStanding | None  # None: the model holds no quotas
    budget: list[BudgetRow]


def compute(
    records: Records,
    as_of: date,
    config: Config,
    teams: Sequence[str],
    settled_only: bool = False,
) -> Snapshot:
    projects = {str(p.get("key")): p for p in records.get("projects", [])}
    quotas = records.get("quotas", [])
    return Snapshot(
        milestones=milestone_rows(
            records.get("milestones", []), projects, as_of, config.rag, Formatter.for_config(config)
        ),
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
        budget=budget_rows(records.get("budget", [])),
    )

"""The model at a glance: what ``sheetsync status`` prints and ``--json`` returns.

Every figure comes from :mod:`sheetsync.metrics` over the plan as of a day
(:func:`sheetsync.plan.plan_as_of`), the same as the reports and the email.
"""

from __future__ import annotations

from typing import Any

from . import metrics as m
from .config import Config
from .formatting import Formatter
from .plan import PlanAsOf, coverage_line, quota_notes, require_in_range, through_text

STATES = (m.DONE, m.LATE, m.AT_RISK, m.ON_TRACK, m.NOT_STARTED)


def _project_entry(key: str, name: str, owner: str | None) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "owner": owner,
        "milestones": 0,
        **dict.fromkeys(STATES, 0),
        "due": 0,
    }


def _pace(p: m.Pace | None) -> dict[str, Any] | None:
    """A Pace as plain JSON-able figures (the same numbers the reports print)."""
    if p is None:
        return None
    return {
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "actuals_through": p.covered.isoformat() if p.covered else None,
        "quota": p.target_to_date,
        "closed": p.actual,
        "attainment": p.attainment,
        "expected": p.expected,
        "pace": p.pace,
        "projection": p.projection,
        "projected_attainment": p.projected_attainment,
        "period_quota": p.target,
        "gap": p.gap,
        "required_weekly": p.required_weekly,
        "rag": p.rag.status,
    }


def summarize(plan: PlanAsOf, config: Config, teams: tuple[str, ...] = ()) -> dict[str, Any]:
    """Milestone counts per project (classified as in the reports), year-to-date
    attainment per team and rep, budget per project, and what the data covers."""
    records, as_of, rag = plan.current, plan.as_of, config.rag
    projects = {
        p["key"]: _project_entry(p["key"], p["name"], p.get("owner"))
        for p in records.get("projects", [])
    }
    for ms in records.get("milestones", []):
        entry = projects.setdefault(
            ms["project"], _project_entry(ms["project"], ms["project"], None)
        )
        state = m.classify_milestone(ms, as_of, rag)
        entry["milestones"] += 1
        entry[state.category] += 1
        if (
            state.category != m.DONE
            and state.days_to_due is not None
            and 0 <= state.days_to_due <= 14
        ):
            entry["due"] += 1

    fmt = Formatter.for_config(config)
    q = None
    if records.get("quotas"):
        q = m.quota_standing(
            records["quotas"],
            as_of,
            rag,
            config.report.fiscal_year_start_month,
            teams,
            settled_only=plan.first_pulled is not None,
        )
        require_in_range(q)
    budget: dict[str, dict[str, Any]] = {}
    for b in records.get("budget", []):
        e = budget.setdefault(
            b["project"], {"project": b["project"], "planned": 0.0, "spent": 0.0, "revenue": 0.0}
        )
        e["planned"] += b.get("planned") or 0.0
        e["spent"] += b.get("spent") or 0.0
        e["revenue"] += b.get("attributed_revenue") or 0.0
    notes = ([plan.note] if plan.note else []) + (quota_notes(q, fmt) if q else [])
    ytd = q.ytd if q else None
    return {
        "as_of": as_of.isoformat(),
        "year": q.year_label if q else None,
        "period": q.period_label if q else None,
        "coverage": coverage_line(q, plan.reads, fmt),
        "actuals_through": ytd.covered.isoformat() if ytd and ytd.covered else None,
        "through": through_text(q, fmt) if q else "",
        "reads": [
            {"source": r.source, "location": r.location, "read_at": r.read_at.isoformat()}
            for r in plan.reads
        ],
        "notes": notes,
        "projects": list(projects.values()),
        "quota": _pace(ytd),
        "current_period": _pace(q.period if q else None),
        "teams": [
            {"team": t.team, "reps": t.rep_count, **(_pace(t.ytd) or {})}
            for t in (q.teams if q else [])
        ],
        "reps": [
            {"rep": r.rep, "team": r.team, **(_pace(r.ytd) or {})}
            for r in sorted(
                q.reps if q else [],
                key=lambda r: (r.team or "", -(r.ytd.attainment or 0), r.rep),
            )
        ],
        "budget": list(budget.values()),
        "counts": {name: len(rs) for name, rs in records.items()},
    }

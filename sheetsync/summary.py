"""The model at a glance: what ``sheetsync status`` prints and ``--json`` returns."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from .config import RagSettings
from .metrics import AT_RISK, DONE, LATE, ON_TRACK, classify_milestone
from .model import Record
from .periods import period_bounds

STATES = (DONE, LATE, AT_RISK, ON_TRACK)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _project_entry(key: str, name: str, owner: str | None) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "owner": owner,
        "milestones": 0,
        **dict.fromkeys(STATES, 0),
        "due": 0,
    }


def summarize(
    records: dict[str, list[Record]],
    as_of: date,
    fy_start_month: int = 1,
    rag: RagSettings | None = None,
) -> dict[str, Any]:
    """Milestone counts per project (classified as in the reports), year-to-date
    attainment per team and rep, budget per project."""
    rag = rag or RagSettings()
    projects = {
        p["key"]: _project_entry(p["key"], p["name"], p.get("owner"))
        for p in records.get("projects", [])
    }
    for m in records.get("milestones", []):
        entry = projects.setdefault(m["project"], _project_entry(m["project"], m["project"], None))
        state = classify_milestone(m, as_of, rag)
        entry["milestones"] += 1
        entry[state.category] += 1
        if (
            state.category != DONE
            and state.days_to_due is not None
            and 0 <= state.days_to_due <= 14
        ):
            entry["due"] += 1

    reps: dict[str, dict[str, Any]] = {}
    teams: dict[str, dict[str, Any]] = defaultdict(lambda: {"quota": 0.0, "closed": 0.0, "reps": 0})
    year_start = date(as_of.year, 1, 1)
    for q in records.get("quotas", []):
        start, end = period_bounds(q["period"], fy_start_month)
        if start > as_of or end < year_start:
            continue  # only periods of this year that have begun
        rep = reps.setdefault(
            q["rep"], {"rep": q["rep"], "team": q.get("team"), "quota": 0.0, "closed": 0.0}
        )
        rep["quota"] += q.get("quota") or 0.0
        rep["closed"] += q.get("closed") or 0.0
    for rep in reps.values():
        rep["attainment"] = _ratio(rep["closed"], rep["quota"])
        team = teams[rep["team"] or "(no team)"]
        team["quota"] += rep["quota"]
        team["closed"] += rep["closed"]
        team["reps"] += 1
    team_list = [
        {"team": name, **t, "attainment": _ratio(t["closed"], t["quota"])}
        for name, t in sorted(teams.items())
    ]
    budget: dict[str, dict[str, Any]] = {}
    for b in records.get("budget", []):
        e = budget.setdefault(
            b["project"], {"project": b["project"], "planned": 0.0, "spent": 0.0, "revenue": 0.0}
        )
        e["planned"] += b.get("planned") or 0.0
        e["spent"] += b.get("spent") or 0.0
        e["revenue"] += b.get("attributed_revenue") or 0.0
    total_quota = sum(t["quota"] for t in team_list)
    total_closed = sum(t["closed"] for t in team_list)
    return {
        "as_of": as_of.isoformat(),
        "period": f"{as_of.year} year to date",
        "projects": list(projects.values()),
        "quota": {
            "quota": total_quota,
            "closed": total_closed,
            "attainment": _ratio(total_closed, total_quota),
        },
        "teams": team_list,
        "reps": sorted(
            reps.values(), key=lambda r: (r["team"] or "", -(r["attainment"] or 0), r["rep"])
        ),
        "budget": list(budget.values()),
        "counts": {name: len(rs) for name, rs in records.items()},
    }

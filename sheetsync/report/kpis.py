"""The headline tiles (KPIs): attainment, projection, pipeline, milestones, budget.

Each tile carries its change since the week-earlier snapshot when there is one.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from .. import metrics as m
from ..formatting import Formatter
from ..metrics import RagSettings
from ..plan import through_text
from .context import Kpi, Records
from .rows import Snapshot, state_like


def headline_kpis(
    q: m.QuotaStanding | None,
    counts: dict[str, int],
    btot: m.BudgetTotals,
    prev: Snapshot | None,
    previous: Records,
    since: date,
    fmt: Formatter,
    rag: RagSettings,
) -> list[Kpi]:
    """The tiles now, each with its change since the week-earlier snapshot ``prev``
    (``previous``: its records) when there is one."""
    kpis = kpis_of(q, counts, btot, fmt, rag)
    if prev is not None:
        prev_counts = m.count_categories(state_like(r) for r in prev.milestones)
        before = {
            k.key: k
            for k in kpis_of(prev.quotas, prev_counts, m.budget_totals(previous.get("budget", [])),
                             fmt, rag)
        }  # fmt: skip
        kpis = [_with_change(k, before.get(k.key), since, fmt) for k in kpis]
    return kpis


def kpis_of(
    q: m.QuotaStanding | None,
    counts: dict[str, int],
    btot: m.BudgetTotals,
    fmt: Formatter,
    rag: RagSettings,
) -> list[Kpi]:
    """The tiles of one snapshot: quota tiles when there are quotas, then milestones and budget."""
    kpis: list[Kpi] = []
    if q and q.period:
        kpis.append(_period_kpi(q, q.period, fmt))
    if q and q.ytd:
        kpis += _ytd_kpis(q, q.ytd, fmt, rag)
    for pc in q.pipeline if q else ():
        kpis.append(
            Kpi(
                f"pipeline_{pc.period}",
                f"Pipeline {fmt.period_name(pc.period)}",
                pc.coverage,
                "times",
                f"{fmt.money(pc.pipeline)} open against {fmt.money(pc.open_quota)} still to close",
                m.GREY,
            )
        )
    kpis.append(_milestones_kpi(counts))
    kpis.append(_budget_kpi(btot, fmt))
    return kpis


def _period_kpi(q: m.QuotaStanding, p: m.Pace, fmt: Formatter) -> Kpi:
    """Attainment over the current quota period."""
    name = fmt.period_name(q.period_label)
    if p.reported:
        detail = (
            f"{fmt.money(p.actual)} of {fmt.money(p.target_to_date)} · pace {fmt.pct_at(p.pace)}"
        )
        if p.members_reported < p.members:
            detail += f" · {p.members_reported} of {p.members} reps reported"
    elif q.settled_only:
        detail = f"actuals read after this day are not counted · quota {fmt.money(p.target)}"
    else:
        detail = f"no actuals entered yet · quota {fmt.money(p.target)}"
    return Kpi("period_attainment", f"Attainment {name}", p.attainment, "percent", detail,
               p.rag.status)  # fmt: skip


def _ytd_kpis(q: m.QuotaStanding, y: m.Pace, fmt: Formatter, rag: RagSettings) -> list[Kpi]:
    """Attainment year to date, and the run-rate projection to the year's end."""
    through = through_text(q, fmt)
    ytd = Kpi(
        "ytd_attainment",
        "Attainment year to date",
        y.attainment,
        "percent",
        f"{fmt.money(y.actual)} of {fmt.money(y.target_to_date)} {through}"
        f" · pace {fmt.pct_at(y.pace)}"
        if y.reported
        else f"no actuals entered yet · quota {fmt.money(y.target)}",
        y.rag.status,
    )
    proj_rag = m.rag_for_pace(y.projected_attainment, rag, "projection")
    need = fmt.money(y.required_weekly) if y.required_weekly is not None else "—"
    label = f"Projected to {fmt.day(y.end)}" if q.quotas_end_early else f"Projected {q.year_label}"
    projection = Kpi(
        "projection",
        label,
        y.projection,
        "money",
        f"{fmt.pct(y.projected_attainment)} of the {fmt.money(y.target)} quota; "
        f"closing it needs {need} a week"
        if y.projection is not None
        else "no run-rate yet: no actuals entered",
        proj_rag.status,
    )
    return [ytd, projection]


def _milestones_kpi(counts: dict[str, int]) -> Kpi:
    late, risk = counts[m.LATE], counts[m.AT_RISK]
    return Kpi(
        "milestones",
        "Milestones",
        late + risk,
        "text",
        f"{counts[m.ON_TRACK]} on track · {counts[m.NOT_STARTED]} not started · "
        f"{counts[m.DONE]} done",
        m.RED if late else m.AMBER if risk else m.GREEN,
        text=f"{late} late · {risk} at risk",
    )


def _budget_kpi(btot: m.BudgetTotals, fmt: Formatter) -> Kpi:
    return Kpi(
        "budget",
        "Budget spent",
        btot.spent_share,
        "percent",
        f"{fmt.money(btot.spent)} of {fmt.money(btot.planned)}"
        + (
            f" · {btot.over_plan} line{'s' if btot.over_plan != 1 else ''} over"
            if btot.over_plan
            else ""
        )
        + f" · spend to revenue {fmt.pct(btot.spend_to_revenue)}",
        m.AMBER if btot.over_plan else m.GREEN,
    )


def _with_change(k: Kpi, before: Kpi | None, since: date, fmt: Formatter) -> Kpi:
    """``k`` with its change since last week's snapshot, signed: "+2.1 pp",
    "−$12.4K", "3 more late or at risk" (never ▲/▼, which mark Amber and
    at-risk beside it)."""
    if before is None:
        return k
    when = f"since {fmt.day(since)}"
    if k.kind == "text":
        d = (k.value or 0) - (before.value or 0)
        text = "no change" if not d else f"{abs(d)} {'more' if d > 0 else 'fewer'} late or at risk"
        return dataclasses.replace(k, change=f"{text} {when}")
    if not isinstance(k.value, int | float) or not isinstance(before.value, int | float):
        return k
    d = k.value - before.value
    if k.kind == "money":
        amount = fmt.money_short(abs(d))
    elif k.kind == "times":
        amount = fmt.num(abs(d), 1) + "×"
    else:
        amount = fmt.pp(abs(d)).lstrip("+±")
    sign = "+" if d > 0 else "\u2212"  # a minus sign, not a hyphen
    return dataclasses.replace(k, change=f"{sign}{amount} {when}" if d else f"no change {when}")

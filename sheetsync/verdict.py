"""The verdict a report opens with: one sentence from the quota figures, a short
form for the email's subject, and the few exceptions an executive acts on.

Every figure comes from :mod:`sheetsync.metrics` (``QuotaStanding`` and its
``Pace``); this module only chooses which ones to say and in what words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from . import metrics as m
from .formatting import Formatter
from .plan import through_text

MAX_EXCEPTIONS = 4

#: The statuses worst first: the one order in which reports rank and count them.
RAG_ORDER = (m.RED, m.AMBER, m.GREEN, m.GREY)


def rag_rank(status: str) -> int:
    """0 for Red … 3 for grey (no figure): the sort key of a status, worst first."""
    return RAG_ORDER.index(status)


def worst(rags: Iterable[str]) -> str:
    """The worst of ``rags`` (grey when there are none)."""
    return min(rags, key=rag_rank, default=m.GREY)


@dataclass(frozen=True)
class Verdict:
    """The headline: ``sentence`` for page 1 and the email, ``short`` for the subject."""

    sentence: str
    short: str  # "94% of plan, $1.2M projected gap"
    rag: str  # the year to date's status (green | amber | red | grey)


@dataclass(frozen=True)
class Item:
    """One exception: what, who owns it, and the next date that matters."""

    rag: str  # red | amber
    label: str  # "Late", "At risk", "Behind pace", "Over budget", "Goal behind"
    text: str
    owner: str | None
    when: date | None  # the next date that matters (a due date, a period's end)
    when_label: str  # "due", "was due", "quota due", ...
    rank: float = 0.0  # among equals (status, date): lower first, e.g. a rep's pace


def verdict(
    q: m.QuotaStanding | None,
    fmt: Formatter,
    milestones: Mapping[str, int] | None = None,
    delivery: Sequence[str] = (),
    company_wide: bool = False,
) -> Verdict:
    """The sentence and its short form, from the quota standing as of the day, then
    delivery when milestones are late or at risk (``milestones``: the count of each
    category; ``delivery``: each project's delivery status). Its status is the
    worse of sales and delivery, so a green sales line never hides a red plan."""
    sales = _sales_verdict(q, fmt)
    said = delivery_sentence(milestones or {}, delivery, company_wide)
    if said is None:
        return sales
    return Verdict(f"{sales.sentence} {said}", sales.short, worst([sales.rag, *delivery]))


def delivery_sentence(
    milestones: Mapping[str, int], delivery: Sequence[str], company_wide: bool = False
) -> str | None:
    """ "Delivery: 2 milestones late and 3 at risk; 2 of 2 projects Amber." (None when
    nothing is late or at risk)."""
    late, risk = milestones.get(m.LATE, 0), milestones.get(m.AT_RISK, 0)
    if not (late or risk):
        return None
    where = " (company-wide)" if company_wide else ""
    text = f"Delivery{where}: {late} milestone{'s' if late != 1 else ''} late and {risk} at risk"
    if delivery:
        status = worst(delivery)
        n = sum(1 for r in delivery if r == status)
        text += f"; {n} of {len(delivery)} project{'s' if len(delivery) != 1 else ''}"
        text += f" {m.RAG_LABELS[status]}"
    return text + "."


def _sales_verdict(q: m.QuotaStanding | None, fmt: Formatter) -> Verdict:
    if q is None or q.ytd is None:
        return Verdict("The model holds no quotas for this year.", "no quotas", m.GREY)
    y = q.ytd
    if not y.reported:
        return Verdict(
            f"No actuals entered yet for {q.year_label}; the quota is {fmt.money_short(y.target)}.",
            "no actuals yet",
            m.GREY,
        )
    sentences = [f"Year to date {fmt.pct(y.attainment)} of plan {through_text(q, fmt)}."]
    short = f"{fmt.pct(y.attainment)} of plan"
    until = f"by {fmt.day(y.end)}" if q.quotas_end_early else f"{q.year_label}"
    rate = y.weekly_run_rate
    if y.projection is not None:
        shortfall = y.projected_shortfall or 0.0
        if shortfall > 0:
            sentences.append(
                f"On the current run rate we finish {until} at {fmt.money_short(y.projection)}, "
                f"{fmt.money_short(shortfall)} short of the {fmt.money_short(y.target)} quota"
                + (
                    f"; closing the gap needs {fmt.money_short(y.required_weekly)} a week "
                    f"against {fmt.money_short(rate)} a week so far."
                    if y.required_weekly
                    else "."
                )
            )
            short += f", {fmt.money_short(shortfall)} projected gap"
        else:
            over = y.projection - y.target
            sentences.append(
                f"On the current run rate we finish {until} at {fmt.money_short(y.projection)}, "
                f"{fmt.money_short(over)} above the {fmt.money_short(y.target)} quota "
                f"({fmt.money_short(rate)} a week so far)."
            )
            short += ", on course for quota"
    for pc in q.pipeline[:1]:
        if pc.coverage is not None:
            sentences.append(
                f"{fmt.period_name(pc.period)} pipeline {fmt.money_short(pc.pipeline)} covers "
                f"its open quota {fmt.times(pc.coverage)}."
            )
    return Verdict(" ".join(sentences), short, y.rag.status)


def pick(items: Iterable[Item], limit: int = MAX_EXCEPTIONS) -> list[Item]:
    """The exceptions worth an executive's time: Red before Amber, soonest date first."""
    order = {m.RED: 0, m.AMBER: 1}
    return sorted(items, key=lambda i: (order.get(i.rag, 2), i.when or date.max, i.rank, i.text))[
        :limit
    ]


def rep_item(r: m.RepStanding, fmt: Formatter) -> Item:
    """A rep behind pace as an exception (owner: the rep; next date: his quotas' end)."""
    y = r.ytd
    need = (
        f"; needs {fmt.money_short(y.required_weekly)} a week against "
        f"{fmt.money_short(y.weekly_run_rate)} so far"
        if y.required_weekly
        else ""
    )
    return Item(
        y.rag.status,
        "Behind pace",
        f"{r.rep} ({r.team}) at {fmt.pct_at(y.pace)} of pace, "
        f"{fmt.money_short(y.behind)} behind the line{need}",
        r.rep,
        y.end,
        "quota due",
        y.pace if y.pace is not None else 0.0,
    )


def count_text(rags: Sequence[str]) -> str:
    """ "3 Amber, 37 Green": how many of each status, worst first."""
    out = []
    for status in RAG_ORDER:
        n = sum(1 for r in rags if r == status)
        if n:
            out.append(f"{n} {m.RAG_LABELS[status]}")
    return ", ".join(out)

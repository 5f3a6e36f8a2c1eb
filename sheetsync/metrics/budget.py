"""Budget totals: planned, spent, attributed revenue and their ratios."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .ratios import ratio


@dataclass(frozen=True)
class BudgetTotals:
    planned: float
    spent: float
    revenue: float
    spent_share: float | None  # spent / planned
    spend_to_revenue: float | None  # spent / attributed revenue
    over_plan: int  # lines with spent > planned


def budget_totals(lines: Iterable[Mapping[str, Any]]) -> BudgetTotals:
    planned = spent = revenue = 0.0
    over = 0
    for line in lines:
        p, s = line.get("planned") or 0.0, line.get("spent") or 0.0
        planned += p
        spent += s
        revenue += line.get("attributed_revenue") or 0.0
        if s > p:
            over += 1
    return BudgetTotals(planned, spent, revenue, ratio(spent, planned), ratio(spent, revenue), over)

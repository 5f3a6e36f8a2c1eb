"""A goal's unit, read from its metric's name: what its values are (money, a
percentage, a count) and per which period its rates read ("Monthly revenue ($)":
money, per month). The one place goal values and goal rates get their units."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..formatting import Formatter

WEEKS_PER = {"week": 1.0, "month": 365.25 / 12 / 7, "quarter": 365.25 / 4 / 7}
MONEY, PERCENT, NUMBER = "money", "percent", "number"

_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:usd|eur|gbp|chf|jpy|aud|cad)\b", re.I)
_MONEY_WORDS = re.compile(r"\b(?:revenue|sales|bookings|arr|mrr|spend|income)\b", re.I)
# "Sales calls made", "number of sales deals": counted, not money, without a currency mark
_COUNT_WORDS = re.compile(
    r"\b(?:calls?|deals?|meetings?|demos?|accounts?|customers?|logos?|reps?|number|count)\b|#",
    re.I,
)
_PERCENT = re.compile(r"%|\bpercent(?:age)?\b", re.I)
_MARKS = re.compile(r"\(\s*(?:[$€£¥₹%]|usd|eur|gbp|chf|jpy|aud|cad)\s*\)|^\s*%\s*|\s*%\s*$", re.I)
_PERIOD = (
    ("week", re.compile(r"\b(?:weekly|per week|a week|/ ?week)\b", re.I)),
    ("quarter", re.compile(r"\b(?:quarterly|per quarter|a quarter|/ ?quarter)\b", re.I)),
    ("month", re.compile(r"\b(?:monthly|per month|a month|/ ?month)\b", re.I)),
)


@dataclass(frozen=True)
class GoalUnit:
    """``kind`` money | percent | number; ``per`` week | month | quarter (the
    metric's own period, else month: the plan's period); ``label`` the metric's
    name without its unit mark ("Monthly revenue", "customers upgraded")."""

    kind: str
    per: str
    label: str

    def rate(self, weekly: float | None) -> float | None:
        """A per-week rate as a rate per this unit's period."""
        return None if weekly is None else weekly * WEEKS_PER[self.per]


@functools.lru_cache(maxsize=256)
def goal_unit(metric: str | None) -> GoalUnit:
    """The unit of a goal measured by ``metric`` (its column text in the workbook)."""
    text = " ".join(str(metric or "").split())
    if _PERCENT.search(text):
        kind = PERCENT
    elif _CURRENCY.search(text) or (_MONEY_WORDS.search(text) and not _COUNT_WORDS.search(text)):
        kind = MONEY
    else:
        kind = NUMBER
    per = next((name for name, rx in _PERIOD if rx.search(text)), "month")
    label = " ".join(_MARKS.sub(" ", text).split())
    return GoalUnit(kind, per, label)


def show(value: float | None, unit: GoalUnit, fmt: Formatter) -> str:
    """A goal value with its unit: "$1,375,000", "27.5%", "1,204"."""
    if value is None:
        return fmt.DASH
    if unit.kind == MONEY:
        return fmt.money(value)
    if unit.kind == PERCENT:
        return f"{fmt.num(value)}%"
    return fmt.num(value)


def show_rate(weekly: float | None, unit: GoalUnit, fmt: Formatter) -> str:
    """A per-week rate of change in the unit's own period, with units:
    "$23,190 a month", "5.87 pp a month", "12 a month"."""
    rate = unit.rate(weekly)
    if rate is None:
        return fmt.DASH
    if unit.kind == PERCENT:
        return f"{fmt.num(rate)} pp a {unit.per}"
    return f"{show(rate, unit, fmt)} a {unit.per}"

"""Red/Amber/Green: the thresholds (``RagSettings``), the verdict of a pace and its rules in words."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

GREEN, AMBER, RED, GREY = "green", "amber", "red", "grey"
RAG_LABELS = {GREEN: "Green", AMBER: "Amber", RED: "Red", GREY: "n/a"}


@dataclass(frozen=True)
class RagSettings:
    """Thresholds for Red/Amber/Green, stated in every report's footnote."""

    green_at: float = 0.95  # pace ratio (actual / expected-by-now) at or above: green
    amber_at: float = 0.80  # at or above: amber; below: red
    at_risk_days: int = 14  # milestone due within this many days and behind: at risk
    delivery_red_late: int = 2  # a project's delivery is Red from this many late milestones
    delivery_amber_late: int = 1  # ... Amber from this many late (or any at risk)


@dataclass(frozen=True)
class Rag:
    """A Red/Amber/Green verdict with the number and rule behind it."""

    status: str  # green | amber | red | grey
    value: float | None
    explanation: str

    @property
    def label(self) -> str:
        return RAG_LABELS[self.status]


def pct_shown(v: float, bounds: Sequence[float] = ()) -> tuple[float, int]:
    """The value a percentage is written as and its decimals, so that the text
    stays on the same side of every threshold in ``bounds`` as the value: 94.8 %
    against a 95 % threshold is "94.8%", never "95%" in Amber. Whole percents
    when they suffice, up to 2 decimals; a value still rounding up onto a
    threshold is cut instead (94.9999999 % is "94.99%")."""
    if not math.isfinite(v):
        return v, 0
    near = round(v, 12)  # as rag_for_pace compares it

    def same_side(shown: float) -> bool:
        return all((shown >= b) == (near >= b) for b in bounds)

    for digits in (0, 1, 2):
        if same_side(round(v * 100, digits) / 100):
            return v, digits
    return math.floor(v * 10_000) / 10_000, 2


def rag_bounds(settings: RagSettings) -> tuple[float, float]:
    """The pace thresholds a percentage is compared with (green, amber)."""
    return (settings.green_at, settings.amber_at)


def rag_for_pace(pace: float | None, settings: RagSettings, what: str = "pace") -> Rag:
    """RAG of a pace ratio against the configured thresholds, with its reason."""
    g, a = settings.green_at, settings.amber_at
    if pace is None:
        return Rag(GREY, None, f"no {what}: nothing was expected yet")
    shown, digits = pct_shown(pace, rag_bounds(settings))
    pct = f"{shown:.{digits}%}"
    near = round(pace, 12)  # 0.08 / 0.1 is 0.7999999999999999: at the threshold, not below
    if near >= g:
        return Rag(GREEN, pace, f"{what} {pct} ≥ {g:.0%} (green threshold)")
    if near >= a:
        return Rag(AMBER, pace, f"{what} {pct} is below {g:.0%} but ≥ {a:.0%}")
    return Rag(RED, pace, f"{what} {pct} is below {a:.0%} (amber threshold)")


def rag_rules(settings: RagSettings) -> list[str]:
    """The RAG rules in words, for a report's footnote."""
    g, a, d = settings.green_at, settings.amber_at, settings.at_risk_days
    red, amber = settings.delivery_red_late, settings.delivery_amber_late
    return [
        f"Pace = actual ÷ expected by now on a straight line through each period. "
        f"Green: pace ≥ {g:.0%}. Amber: {a:.0%} ≤ pace < {g:.0%}. Red: pace < {a:.0%}. "
        "A figure next to a threshold keeps a decimal (94.8%).",
        f"Milestones: Done when marked done or its target is reached; Late when past due and "
        f"not done, or marked Late; At risk when marked so, or due within {d} days and behind "
        f"a straight line from start to due; Not started when marked so or its start lies "
        f"ahead; else On track. Done and Not started are grey.",
        f"Projects have two statuses. Goal: the worst checkpoint not yet reached (paced like "
        f"a quota; past due and not reached is Red). Delivery: Red from {red} late "
        f"milestone{'s' if red != 1 else ''}, Amber from {amber} late or any at risk, else "
        f"Green. A project's heading, and the verdict's bar (sales and delivery), show the worse.",
        "A blank Sales cell is not reported yet (a 0 is zero): attainment, pace and "
        "projection run through the last period whose actuals are in. Projection = actual at "
        "its daily run-rate since the first period with a quota, extended to the end of the "
        "last one. Needed/week = gap ÷ weeks left in the period (once it has ended: what "
        "is short).",
        "Budget: a line spent beyond its plan is Amber, and so are its project's subtotal and "
        "the Budget spent tile.",
    ]

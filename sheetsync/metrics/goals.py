"""Goals paced against their checkpoints, and a project's goal RAG (its worst open checkpoint)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .rag import AMBER, GREEN, GREY, RED, Rag, RagSettings, rag_for_pace
from .ratios import elapsed_fraction, ratio, required_weekly, run_rate_projection


@dataclass(frozen=True)
class Checkpoint:
    """A goal's pace against one checkpoint (e.g. 30 % of customers within a year)."""

    label: str
    due: date
    target: float
    baseline: float
    current: float
    expected: float  # value expected by as_of on the line baseline@start → target@due
    progress: float | None  # (current - baseline) / (target - baseline)
    pace: float | None  # progress made / progress expected by now
    projection: float | None  # value at due at the run-rate since start
    gap: float  # remaining change to reach target (>= 0, in the goal's direction)
    required_weekly: float | None
    rag: Rag
    reached: bool
    passed: bool  # due date is before as_of


def pace_checkpoints(
    baseline: float,
    current: float,
    start: date,
    checkpoints: Sequence[tuple[str, date, float]],
    as_of: date,
    settings: RagSettings,
) -> list[Checkpoint]:
    """Pace a goal against each checkpoint, each on its own straight line.

    A goal "30 % of customers within a year, 50 % within two" from a
    baseline of 10 % has two lines from ``(start, 10)``: to ``(start+1y, 30)``
    and to ``(start+2y, 50)``. Works for falling targets (churn 8 % → 5 %) too.
    """
    out: list[Checkpoint] = []
    for label, due, target in sorted(checkpoints, key=lambda c: (c[1], c[2])):
        change = target - baseline
        sign = 1.0 if change >= 0 else -1.0
        made = current - baseline
        frac = elapsed_fraction(start, due, as_of)
        expected = baseline + change * frac
        progress = ratio(made, change)
        pace = ratio(made, change * frac) if frac else None
        proj = run_rate_projection(made, start, due, as_of)
        missing = max((target - current) * sign, 0.0)
        reached = missing == 0
        passed = due < as_of
        if reached:
            rag = Rag(GREEN, progress, "checkpoint reached")
        elif passed:
            rag = Rag(RED, progress, f"due {due.isoformat()} passed, not reached")
        else:
            rag = rag_for_pace(pace, settings)
        out.append(
            Checkpoint(
                label=label,
                due=due,
                target=target,
                baseline=baseline,
                current=current,
                expected=expected,
                progress=progress,
                pace=pace,
                projection=baseline + proj if proj is not None else None,
                gap=missing,
                required_weekly=required_weekly(missing, due, as_of),
                rag=rag,
                reached=reached,
                passed=passed,
            )
        )
    return out


def project_goal(checkpoints: Sequence[Checkpoint]) -> Rag:
    """A project's goal status: the worst checkpoint not yet reached."""
    if not checkpoints:
        return Rag(GREY, None, "no goal figures")
    open_ = [c for c in checkpoints if not c.reached]
    if not open_:
        return Rag(GREEN, 1.0, "every checkpoint reached")
    order = {RED: 0, AMBER: 1, GREY: 2, GREEN: 3}
    worst = min(open_, key=lambda c: (order[c.rag.status], c.due))
    return Rag(worst.rag.status, worst.pace, f"{worst.label}: {worst.rag.explanation}")

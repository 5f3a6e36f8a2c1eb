"""Milestone states (done, late, at risk, on track, not started) and a project's delivery RAG."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .rag import AMBER, GREEN, GREY, RED, Rag, RagSettings
from .ratios import elapsed_fraction

DONE, LATE, AT_RISK, ON_TRACK = "done", "late", "at_risk", "on_track"
NOT_STARTED = "not_started"
MILESTONE_CATEGORIES = (LATE, AT_RISK, ON_TRACK, NOT_STARTED, DONE)
CATEGORY_LABELS = {
    DONE: "Done",
    LATE: "Late",
    AT_RISK: "At risk",
    ON_TRACK: "On track",
    NOT_STARTED: "Not started",
}
#: A milestone's colour: Done and Not started are states of their own, shown
#: neutral (a plan not begun yet is neither good nor bad news).
CATEGORY_RAG = {DONE: GREY, NOT_STARTED: GREY, ON_TRACK: GREEN, AT_RISK: AMBER, LATE: RED}


def milestone_progress(record: Mapping[str, Any]) -> float | None:
    """Progress of a milestone as a fraction (0..1+), or None when unknown.

    ``actual_value ÷ target_value`` when both are set; a bare ``actual_value``
    is read as a fraction when ≤ 1.5 (``0.4``) and as a percentage otherwise
    (``40``). A milestone marked Done is 100 %.
    """
    actual, target = record.get("actual_value"), record.get("target_value")
    if actual is not None and target:
        return actual / target
    if actual is not None:
        return actual if actual <= 1.5 else actual / 100
    if is_done_status(record.get("status")):
        return 1.0
    return None


def is_done_status(status: str | None) -> bool:
    return (status or "").strip().lower() in ("done", "complete", "completed", "closed")


@dataclass(frozen=True)
class MilestoneState:
    category: str  # done | late | at_risk | on_track
    reason: str
    progress: float | None
    expected: float | None  # straight-line progress expected by as_of
    days_to_due: int | None  # negative: overdue

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self.category]

    @property
    def rag(self) -> str:
        return CATEGORY_RAG[self.category]


def classify_milestone(
    record: Mapping[str, Any], as_of: date, settings: RagSettings
) -> MilestoneState:
    """On track / at risk / late / done, from status, due date, progress and as-of."""
    status = (record.get("status") or "").strip().lower()
    due: date | None = record.get("due")
    start: date | None = record.get("start")
    completed: date | None = record.get("completed_on")
    progress = milestone_progress(record)
    days_to_due = (due - as_of).days if due else None
    expected = None
    if due and start and start <= due:
        expected = elapsed_fraction(start, due, as_of)

    def state(category: str, reason: str) -> MilestoneState:
        return MilestoneState(category, reason, progress, expected, days_to_due)

    if is_done_status(status) or (completed is not None and completed <= as_of):
        when = f" on {completed.isoformat()}" if completed else ""
        return state(DONE, f"completed{when}")
    if progress is not None and progress >= 1.0 and record.get("target_value"):
        return state(DONE, "target reached")
    if days_to_due is not None and days_to_due < 0:
        n = -days_to_due
        return state(LATE, f"{n} day{'s' if n != 1 else ''} past due, not done")
    if status == "late":
        return state(LATE, "marked Late")
    if status in ("at risk", "at-risk", "atrisk"):
        return state(AT_RISK, "marked At risk")
    if days_to_due is not None and days_to_due <= settings.at_risk_days:
        when = (
            "today"
            if days_to_due == 0
            else f"in {days_to_due} day{'s' if days_to_due != 1 else ''}"
        )
        if progress is None:
            if status in ("", "not started"):
                return state(AT_RISK, f"due {when}, not started")
        elif expected is not None and progress + 1e-9 < expected:
            return state(
                AT_RISK, f"due {when}, {progress:.0%} done vs {expected:.0%} expected by now"
            )
        elif expected is None and progress < 0.5:
            return state(AT_RISK, f"due {when}, only {progress:.0%} done")
    if status == "not started" or (
        not status and not progress and start is not None and start > as_of
    ):
        begins = f", starts {start.isoformat()}" if start is not None and start > as_of else ""
        return state(NOT_STARTED, f"not started{begins}")
    return state(ON_TRACK, "on schedule")


def project_delivery(counts: Mapping[str, int], settings: RagSettings) -> Rag:
    """A project's delivery status from its milestones (the rule in :func:`rag_rules`)."""
    late, risk = counts.get(LATE, 0), counts.get(AT_RISK, 0)
    why = ", ".join(
        f"{n} {word}" for n, word in ((late, "late"), (risk, "at risk")) if n
    )  # "1 late, 2 at risk"
    if late >= settings.delivery_red_late:
        return Rag(RED, late, why)
    if late >= settings.delivery_amber_late or risk:
        return Rag(AMBER, late, why)
    if not any(counts.values()):
        return Rag(GREY, None, "no milestones")
    return Rag(GREEN, 0, "no milestone late or at risk")


def count_categories(states: Iterable[MilestoneState]) -> dict[str, int]:
    counts = dict.fromkeys(MILESTONE_CATEGORIES, 0)
    for s in states:
        counts[s.category] += 1
    return counts

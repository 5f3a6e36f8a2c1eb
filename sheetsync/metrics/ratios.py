"""Ratios and day counts of a period: elapsed share, straight line, run-rate, gap."""

from __future__ import annotations

from datetime import date


def days_inclusive(start: date, end: date) -> int:
    """Number of days in ``[start, end]``, both included (0 if end < start)."""
    return max((end - start).days + 1, 0)


def elapsed_days(start: date, end: date, as_of: date) -> int:
    """Days of ``[start, end]`` completed by the end of ``as_of``."""
    if as_of < start:
        return 0
    return days_inclusive(start, min(as_of, end))


def elapsed_fraction(start: date, end: date, as_of: date) -> float:
    """Share of ``[start, end]`` elapsed by the end of ``as_of`` (0..1)."""
    total = days_inclusive(start, end)
    return elapsed_days(start, end, as_of) / total if total else 1.0


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def attainment(closed: float | None, quota: float | None) -> float | None:
    """Closed ÷ quota (None without a quota)."""
    return ratio(closed or 0.0, quota)


def straight_line(target: float, start: date, end: date, as_of: date) -> float:
    """The part of ``target`` expected by ``as_of`` on a straight line over the period."""
    return target * elapsed_fraction(start, end, as_of)


def run_rate_projection(actual: float, start: date, end: date, as_of: date) -> float | None:
    """``actual`` extrapolated at its daily run-rate to the end of the period."""
    done = elapsed_days(start, end, as_of)
    if not done:
        return None
    return actual / done * days_inclusive(start, end)


def gap(target: float, actual: float) -> float:
    """What is still missing to reach ``target`` (0 once reached)."""
    return max(target - actual, 0.0)


def weeks_left(end: date, as_of: date) -> float:
    """Weeks from the end of ``as_of`` to the end of ``end`` (0 when over)."""
    return max((end - as_of).days, 0) / 7


def required_weekly(missing: float, end: date, as_of: date) -> float | None:
    """Run-rate per week needed to close ``missing`` by ``end``.

    0 when nothing is missing; None when something is missing and no time is left.
    """
    if missing <= 0:
        return 0.0
    weeks = weeks_left(end, as_of)
    return missing / weeks if weeks else None

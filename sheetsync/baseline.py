"""Variance against a saved baseline: what moved since the plan was agreed.

Pure: the baseline's records (``Store.baseline_records``) and today's plan in,
the differences out. Records are matched by their key under the current
config, made from the baseline's own fields, so a baseline taken before a key
change still matches. Quota changes compare each rep's quota over the fiscal
year of the report's day, as ``metrics.quota_standing`` computes it for both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import metrics as m
from .config import Config
from .model import Record
from .store import record_keys, show_key

Records = Mapping[str, list[Record]]


@dataclass(frozen=True)
class Slip:
    """A milestone's due date now against the baseline's (days later: positive)."""

    key: str
    name: str
    project: str
    baseline_due: date | None
    due: date | None

    @property
    def days(self) -> int | None:
        if self.due is None or self.baseline_due is None:
            return None
        return (self.due - self.baseline_due).days


@dataclass(frozen=True)
class Change:
    """One planned number now against the baseline's (None: absent there or here)."""

    table: str
    key: str  # as a person reads it
    name: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float:
        return (self.after or 0.0) - (self.before or 0.0)


@dataclass(frozen=True)
class Variance:
    """A report's variance against a saved baseline."""

    name: str
    as_of: date  # the baseline's day
    slips: list[Slip]  # milestones whose due date moved (or that are new / gone)
    targets: list[Change]  # project and milestone targets that changed
    quotas: list[Change]  # reps whose fiscal-year quota changed
    budget: list[Change]  # budget lines whose plan changed
    slip_days: dict[str, int] = field(default_factory=dict)  # milestone key -> days
    quota_delta: dict[str, float] = field(default_factory=dict)  # rep -> change

    @property
    def empty(self) -> bool:
        return not (self.slips or self.targets or self.quotas or self.budget)


def _keyed(records: Records, table: str, config: Config) -> dict[str, Record]:
    rows = list(records.get(table, []))
    return dict(zip(record_keys(config.table_spec(table), rows), rows, strict=True))


def _changes(
    table: str, then: dict[str, Record], now: dict[str, Record], value: str, name: str
) -> list[Change]:
    out = []
    for key in sorted(then.keys() | now.keys()):
        b, a = then.get(key), now.get(key)
        before = b.get(value) if b else None
        after = a.get(value) if a else None
        if before != after:
            label = str((a or b or {}).get(name) or "")
            out.append(Change(table, show_key(key), label, before, after))
    return out


def variance(
    name: str,
    baseline_as_of: date,
    baseline: Records,
    current: Records,
    config: Config,
    as_of: date,
    teams: Sequence[str] = (),
) -> Variance:
    """Milestone slips, target, quota and budget-plan changes of ``current``
    against ``baseline`` (both whole plans), for a report as of ``as_of``."""
    then_ms, now_ms = _keyed(baseline, "milestones", config), _keyed(current, "milestones", config)
    slips = []
    for key in sorted(then_ms.keys() | now_ms.keys()):
        b, a = then_ms.get(key), now_ms.get(key)
        if b and a and b.get("due") == a.get("due"):
            continue
        r: dict[str, Any] = a or b or {}
        slips.append(
            Slip(
                str(r.get("key") or show_key(key)),
                str(r.get("name") or ""),
                str(r.get("project") or ""),
                b.get("due") if b else None,
                a.get("due") if a else None,
            )
        )
    slips.sort(key=lambda s: (-(s.days or 0), s.key))
    targets = _changes(
        "projects",
        _keyed(baseline, "projects", config),
        _keyed(current, "projects", config),
        "target_value",
        "name",
    ) + _changes("milestones", then_ms, now_ms, "target_value", "name")
    fy = config.report.fiscal_year_start_month

    def rep_quotas(records: Records) -> dict[str, tuple[str, float]]:
        q = records.get("quotas", [])
        if not q:
            return {}
        st = m.quota_standing(q, as_of, config.rag, fy, teams)
        return {r.rep: (r.team, r.ytd.target) for r in st.reps}

    then_q, now_q = rep_quotas(baseline), rep_quotas(current)
    quotas = [
        Change("quotas", rep, (now_q.get(rep) or then_q[rep])[0], b, a)
        for rep in sorted(then_q.keys() | now_q.keys())
        if (b := then_q.get(rep, (None, None))[1]) != (a := now_q.get(rep, (None, None))[1])
    ]
    budget = _changes(
        "budget",
        _keyed(baseline, "budget", config),
        _keyed(current, "budget", config),
        "planned",
        "category",
    )
    return Variance(
        name=name,
        as_of=baseline_as_of,
        slips=slips,
        targets=targets,
        quotas=quotas,
        budget=budget,
        slip_days={s.key: s.days for s in slips if s.days is not None},
        quota_delta={c.key: c.delta for c in quotas},
    )

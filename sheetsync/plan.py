"""The plan as the model knew it at the end of a day: the one reading of ``--as-of``.

``status``, ``report``, ``send`` and ``run weekly`` all call :func:`plan_as_of`,
so they agree on which records a day means. When the model was first pulled
after that day (a plan dated in the past, like the sample), it is the plan as
first pulled, and :attr:`PlanAsOf.note` says so once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from .config import Config
from .errors import ConfigError, NoDataError

if TYPE_CHECKING:  # pragma: no cover
    from .formatting import Formatter
    from .metrics import QuotaStanding
    from .store import Store

Records = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class SourceRead:
    """One source's last read that the plan reflects."""

    source: str
    location: str  # the file's name, or the spreadsheet
    read_at: datetime  # UTC, as stored
    read_on: date  # the day of the read in the report's time zone


@dataclass(frozen=True)
class PlanAsOf:
    """The records at the end of ``as_of`` and a week earlier, with where they came from."""

    as_of: date
    current: Records
    previous: Records  # empty when the model has no history that far back
    previous_as_of: date
    first_pulled: datetime | None  # set when the model's history starts after ``as_of``
    reads: tuple[SourceRead, ...]
    known_at: datetime | None = None  # the moment whose records ``current`` holds
    #: Said once wherever the plan is shown, when ``as_of`` predates the model
    #: (dates in the report's one style, :meth:`Formatter.day`).
    note: str | None = None


def report_zone(config: Config) -> tzinfo:
    """The report's time zone (``[report] timezone``): where a day begins and ends."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(config.report.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"report.timezone: {config.report.timezone!r} is not a time zone",
            hint="use a name such as Europe/Berlin or America/New_York",
        ) from None


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """The last moment of ``day`` in ``zone``, as the model stores times (naive UTC)."""
    local = datetime.combine(day, time.max, tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)


def known_at(store: Store, day: date, zone: tzinfo = UTC) -> datetime:
    """The moment whose model is "the plan as of ``day``": the end of the day (in
    the report's time zone), or the read that closed it — the first read made on
    the next day (the Monday 07:00 ``run weekly`` that pulls the week's last
    figures), when there is one. Later reads do not move it, so a pack for a
    week says the same whenever it is rendered."""
    end = end_of_day(day, zone)
    closing = store.first_read_between(end, end_of_day(day + timedelta(days=1), zone))
    return closing or end


@dataclass(frozen=True)
class PlanBasis:
    """What the plan as of a day rests on, found without reading a record: the
    moment whose records it holds, the moment of the week earlier, and the reads."""

    as_of: date
    known_at: datetime  # the records of the plan are those valid at this moment
    previous_at: datetime | None  # ... and a week earlier (None: first pulled, no history)
    first_pulled: datetime | None  # set when the model's history starts after ``as_of``
    reads: tuple[SourceRead, ...]
    #: Said once wherever the plan is shown, when ``as_of`` predates the model
    #: (dates in the report's one style, :meth:`Formatter.day`).
    note: str | None = None


def _first_pulled_note(
    config: Config, zone: tzinfo, as_of: date, first_pulled: datetime | None
) -> str | None:
    if first_pulled is None:
        return None
    from .formatting import Formatter  # Babel only when there is a note to write

    fmt = Formatter.for_config(config)
    first_day = first_pulled.replace(tzinfo=UTC).astimezone(zone).date()
    return (
        f"The model's history starts on {fmt.day(first_day)}, after "
        f"{fmt.day(as_of)}: this uses the plan as first pulled."
    )


def plan_basis(store: Store, config: Config, as_of: date) -> PlanBasis:
    """Which moments of the model the plan as of ``as_of`` reads (see the module
    doc and :func:`known_at`). Raises NoDataError when the model is empty."""
    zone = report_zone(config)
    cutoff = known_at(store, as_of, zone)
    first: datetime | None = None
    previous_at: datetime | None = None
    if store.has_records(cutoff):
        previous_at = known_at(store, as_of - timedelta(days=7), zone)
    else:
        first = store.first_version_at()
        if first is None:
            raise NoDataError("the model is empty", hint="run `sheetsync pull` first")
        # every source as first read (a second source may have been pulled later)
        firsts = [snap.taken_at for snap in store.read_snapshots(datetime.max, first=True)]
        cutoff = max([first, *firsts])
    return PlanBasis(
        as_of=as_of,
        known_at=cutoff,
        previous_at=previous_at,
        first_pulled=first,
        reads=_reads(store, config, cutoff, first is not None, zone),
        note=_first_pulled_note(config, zone, as_of, first),
    )


def plan_digest(store: Store, basis: PlanBasis) -> str:
    """A digest of the plan :func:`plan_as_of` builds on ``basis``, without reading
    a record: equal digests, plans that hold and show the same. It covers the record versions it holds
    now and a week earlier (``Store.versions_digest``), the day, the first-pulled
    moment and each read as a plan shows it (source, location, local day: a
    re-read of unchanged sources later the same day is the same plan)."""
    h = hashlib.sha256(b"sheetsync-plan-v1\0")
    parts = [
        basis.as_of.isoformat(),
        basis.first_pulled.isoformat() if basis.first_pulled else "-",
        store.versions_digest(basis.known_at),
        store.versions_digest(basis.previous_at) if basis.previous_at else "-",
        *(f"{r.source}\x1f{r.location}\x1f{r.read_on.isoformat()}" for r in basis.reads),
    ]
    h.update("\0".join(parts).encode())
    return h.hexdigest()


def plan_as_of(
    store: Store, config: Config, as_of: date, basis: PlanBasis | None = None
) -> PlanAsOf:
    """The plan as the model knew it at the end of ``as_of`` (see the module doc
    and :func:`known_at`), and a week earlier; ``basis``: :func:`plan_basis` of
    the same day, when the caller has it.

    Raises NoDataError when the model is empty.
    """
    basis = basis or plan_basis(store, config, as_of)
    current = store.all_records(as_of=basis.known_at)
    previous = store.all_records(as_of=basis.previous_at) if basis.previous_at else {}
    return PlanAsOf(
        note=basis.note,
        as_of=as_of,
        current=current,
        previous=previous if any(previous.values()) else {},
        previous_as_of=as_of - timedelta(days=7),
        first_pulled=basis.first_pulled,
        reads=basis.reads,
        known_at=basis.known_at,
    )


def _reads(
    store: Store, config: Config, cutoff: datetime, first: bool, zone: tzinfo
) -> tuple[SourceRead, ...]:
    """Each source's last read at or before ``cutoff`` (its first read when ``first``)."""
    out = []
    for snap in store.read_snapshots(cutoff, first=first):
        src = config.sources.get(snap.source)
        if src is None:
            location = snap.source
        elif src.path is not None:
            location = src.path.name
        else:
            location = "Google Sheet " + str(src.spreadsheet)
        local = snap.taken_at.replace(tzinfo=UTC).astimezone(zone).date()
        out.append(SourceRead(snap.source, location, snap.taken_at, local))
    return tuple(sorted(out, key=lambda r: r.source))


def require_in_range(standing: QuotaStanding) -> None:
    """Raise NoDataError, saying where the data lies, when the plan's quotas all lie
    outside the fiscal year of the day asked about."""
    if not standing.outside_data or standing.span is None:
        return
    first, last = standing.span
    hint_day = standing.suggested_as_of()
    raise NoDataError(
        f"no quota falls in {standing.year_label}, the year of {standing.as_of:%d %b %Y}: "
        f"the plan's quotas run {first:%b %Y} – {last:%b %Y}",
        hint=f"try --as-of {hint_day.isoformat()}" if hint_day else None,
    )


def coverage_line(
    standing: QuotaStanding | None, reads: Sequence[SourceRead], fmt: Formatter
) -> str:
    """ "Actuals through November 2026 · plan read 2 Dec 2026 from sales_plan.xlsx"."""
    parts = []
    if standing is not None and standing.ytd is not None:
        covered = standing.ytd.covered
        if covered is None:
            parts.append(f"No actuals entered yet for {standing.year_label}")
        else:
            parts.append("Actuals " + through_text(standing, fmt))
    if reads:
        days = sorted({r.read_on for r in reads})
        when = fmt.day(days[-1]) if len(days) == 1 else f"{fmt.day(days[0])} – {fmt.day(days[-1])}"
        names = ", ".join(dict.fromkeys(r.location for r in reads))
        parts.append(f"plan read {when} from {names}")
    return " · ".join(parts)


def quota_notes(q: QuotaStanding, fmt: Formatter) -> list[str]:
    """Caveats about the quota figures, for the report's footnote and ``status``."""
    notes = []
    if q.skipped:
        notes.append(f"{q.skipped} quota rows with a period sheetsync cannot read were left out.")
    if q.period is None and q.ytd is not None:
        notes.append(f"No quota covers {fmt.day(q.as_of)}; the period figures are empty.")
    elif q.period is not None and not q.period.reported and q.settled_only:
        notes.append(
            f"{fmt.period_name(q.period_label)} was still running on {fmt.day(q.as_of)}, and "
            "the plan was read later: its actuals as read may hold later sales, so they are "
            "not counted; year to date runs through the last period that had ended."
        )
    elif q.period is not None and not q.period.reported:
        notes.append(
            f"{fmt.period_name(q.period_label)}: no actuals entered yet. A blank Sales cell "
            "counts as not reported (not as zero): year to date runs through the last "
            "period whose actuals are in."
        )
    if q.ytd is not None and q.quotas_end_early:
        notes.append(
            f"Quotas stop on {fmt.day(q.ytd.end)}, before {q.year_label} ends on "
            f"{fmt.day(q.year_end)}: the projection runs to {fmt.day(q.ytd.end)}, "
            "against the quotas that exist."
        )
    return notes


def through_text(q: QuotaStanding, fmt: Formatter) -> str:
    """ "through November 2026" (or a day, mid-period): how far actuals are entered."""
    y = q.ytd
    if y is None or y.covered is None:
        return ""
    if q.covered_label:
        return f"through {fmt.period_name(q.covered_label)}"
    return f"through {fmt.day(y.covered)}"

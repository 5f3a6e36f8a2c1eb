"""Pulling sources into the model: every selected source validated, then all
written in one transaction, so any error leaves the model exactly as it was.

A source unchanged since its last pull is not read again (``_settled_sources``);
each read's layout records where every record was found (``sheetsync.provenance``).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, compress, pairwise
from typing import Any

from .binding import check_binding
from .compare import SincePull, TableDiff, diff_some, diff_whole, prefetch, since_pull
from .config import Config, SourceConfig
from .errors import CellError, UsageError, ValidationError
from .mapping import MappedTable
from .progress import Progress
from .reading import (
    PendingReads,
    SourceRead,
    gc_paused,
    last_pulled,
    mapping_fingerprint,
    source_label,
    start_reads,
)
from .store import Snapshot, Store, encode_rows, utcnow
from .threads import in_background


@dataclass
class TableChange:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    kept: int = 0  # gone from the sheet but kept because rows were skipped

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class PullResult:
    source: str
    location: str
    tables: dict[str, TableChange] = field(default_factory=dict)
    skipped: list[CellError] = field(default_factory=list)
    snapshot_id: int | None = None
    content_hash: str | None = None
    rekeyed: list[str] = field(default_factory=list)  # "milestones: now matched by ..."
    warnings: list[str] = field(
        default_factory=list
    )  # a dry run: why the real one would be refused
    unchanged_since: datetime | None = None  # not read: the same as at that pull

    @property
    def changed(self) -> bool:
        return any(c.inserted or c.updated or c.deleted for c in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "location": self.location,
            "tables": {n: c.as_dict() for n, c in self.tables.items()},
            "rekeyed": self.rekeyed,
            "skipped": [e.as_dict() for e in self.skipped],
            "snapshot_id": self.snapshot_id,
            "unchanged_since": self.unchanged_since.isoformat() if self.unchanged_since else None,
        }


def pull(
    config: Config,
    store: Store,
    names: tuple[str, ...] = (),
    *,
    skip_invalid: bool = False,
    rebind: bool = False,
    full: bool = False,
    cells: bool = True,
    progress: Progress | None = None,
    reads: PendingReads | None = None,
    at: datetime | None = None,
) -> list[PullResult]:
    """Read the selected sources into the model in one transaction.

    ``at`` dates the versions and snapshots written (a dated copy of a workbook,
    imported as of the end of its day, see :func:`end_of_day`); refused with
    UsageError when the model already changed after it: dated copies go in
    oldest first.

    Raises ValidationError (writing nothing) when any source has a problem,
    unless ``skip_invalid``, which imports the valid rows and reports the rest.
    Sheet-level problems (missing sheet or column) always stop the pull.
    A source unchanged since its last pull (same bytes or revision, same
    mapping, and no record of its tables written since) is not read again,
    only recorded as looked at; ``full`` reads and compares every source.
    ``cells``: record where each record version was read (its sheet row, and
    each read's layout: what ``explain``, ``log`` and the report's appendix
    name); False keeps the values only (every version's cell unknown; the next
    pull with cells reads the sources again). ``benchmarks/bench_pull.py
    --cells`` measures what recording them costs.
    ``reads``: the sources' reads, already started by ``start_reads`` (a caller
    that starts them before importing the database code saves that time too).
    A source last synced from another file is refused (``check_binding``)
    unless ``rebind``.
    """
    pending = reads or start_reads(config, names, hold=None if full else _hold(store))
    try:
        with gc_paused():
            if progress:
                progress(f"reading {', '.join(map(source_label, pending.sources))}")
            return _pull(
                store,
                pending,
                skip_invalid=skip_invalid,
                rebind=rebind,
                full=full,
                cells=cells,
                progress=progress,
                at=at,
            )
    finally:
        pending.release()


def _hold(store: Store) -> Callable[[SourceConfig, str | None], bool]:
    """Which reads wait for the pull's verdict on their source before parsing:
    in a SQLite model, those whose revision its newest snapshot holds (a peek;
    the others parse while the pull takes its locks and looks); in another
    model, every read (the model is open: the verdict comes soon)."""
    if store.url.startswith("sqlite:///"):
        return last_pulled(store.url)
    return lambda _s, _r: True


CHECK = "_check"  # the snapshot summary's entry that lets the next pull skip a read


def _pull(
    store: Store,
    pending: PendingReads,
    *,
    skip_invalid: bool,
    rebind: bool,
    full: bool,
    cells: bool,
    progress: Progress | None,
    at: datetime | None = None,
) -> list[PullResult]:
    sources = pending.sources
    config = pending.config
    specs = {t: config.table_spec(t) for s in sources for t in s.tables}
    # The transaction (and the sources' locks) are taken while the workbooks
    # are still being parsed, and what the pull compares against is loaded
    # meanwhile; nothing is written before every source has been validated.
    with store.transaction() as conn:
        for name in sorted({s.name for s in sources}):  # one order: no deadlock
            store.lock(conn, f"source:{name}")
        bindings = {s.name: check_binding(store, conn, s, rebind=rebind) for s in sources}
        # A table whose configured key changed: its records move to the new
        # key first (in this transaction), or the pull stops here.
        rekeys = {t: rk for t, spec in specs.items() if (rk := store.rekey(conn, spec))}
        lasts = {s.name: store.last_snapshot(s.name, conn=conn) for s in sources}
        # each table's state now, kept current as this pull writes (``_written``)
        states = {
            t: store.table_state(conn, t) for t in sorted({t for s in sources for t in s.tables})
        }
        settled, unchanged = (
            ({}, {}) if full else _settled_sources(store, conn, pending, lasts, states, cells=cells)
        )
        for s in sources:
            (pending.drop if s.name in unchanged else pending.go)(s.name)
        # While the workbooks are parsed: what the settled ones are compared with
        compared = [
            last.id
            for s in sources
            if s.name in settled and s.name not in unchanged and (last := lasts[s.name])
        ]
        ahead = prefetch(store, conn, compared)
        reads = {r.source.name: r for r in pending.result()}
        _refuse_invalid(reads, skip_invalid=skip_invalid)
        if at is not None:
            _refuse_dated_pull(store, conn, at)
        at = at or utcnow()  # after the locks: versions never predate the ones they replace
        results = []
        for s in sources:
            if s.name in unchanged:
                results.append(
                    _record_unchanged(store, conn, s, lasts[s.name], unchanged[s.name], at)
                )
                continue
            result = _write_source(
                store,
                conn,
                reads[s.name],
                lasts[s.name],
                config,
                at,
                settled=s.name in settled,
                ahead=ahead,
                states=states,
                rekeys=rekeys,
                cells=cells,
                progress=progress,
            )
            store.bind_source(conn, s.name, bindings[s.name], at)
            results.append(result)
        free_later(reads, ahead)  # while the transaction commits
    return results


def _refuse_invalid(reads: dict[str, SourceRead], *, skip_invalid: bool) -> None:
    """ValidationError for the first read with a problem (unless ``skip_invalid``
    and the problems are only rows)."""
    for r in reads.values():
        if r.fatal or (r.errors and not skip_invalid):
            raise ValidationError(r.errors, source=r.source.name, sheet_level=bool(r.fatal))


def free_later(*held: dict[Any, Any]) -> None:
    """Empty ``held`` in a thread of its own: a read's cells are millions of
    objects, freed while the transaction commits (SQLite's fsync and
    PostgreSQL's round trip free the GIL) rather than after. Nothing else may
    refer to what they hold."""
    threading.Thread(target=lambda: [h.clear() for h in held], name="free", daemon=True).start()


def _write_source(
    store: Store,
    conn: Any,
    r: SourceRead,
    last: Snapshot | None,
    config: Config,
    at: datetime,
    *,
    settled: bool,
    ahead: dict[int, tuple[list, Any]],
    states: dict[str, list[Any]],
    rekeys: dict[str, Any],
    cells: bool,
    progress: Progress | None,
) -> PullResult:
    """Write one source's read into the model, and the snapshot that records it.

    ``settled``: the source's tables are as its last pull left them
    (``_settled_sources``); ``ahead``: snapshots' chunks begun (``prefetch``);
    ``states``: each table's ``table_state``, brought up to date as this
    source writes; ``rekeys``: the tables whose key changed, each said once
    (popped) by the first source of the table. The snapshot's values are encoded in a thread
    while the records are written (zlib and SQLite free the GIL)."""
    if progress:
        progress(f"writing {r.source.name} into the model")
    result = PullResult(
        r.source.name, r.source.location, skipped=r.errors, content_hash=r.content_hash
    )
    for name in r.tables:
        if name in rekeys:  # said once, by the first source of the table
            result.rekeyed.append(rekeys.pop(name).line(r.tables[name].headers))
    # What each table is compared with, a chunk at a time (beside a sheet
    # being parsed, only ``prefetch``'s bounded first chunks): for a settled
    # source the values of its last pull (the model's, as it left
    # them); otherwise the model's current records, which include what
    # an earlier source of this pull wrote.
    held: dict[str, SincePull] = {}
    if last is not None and settled:
        begun = ahead.get(last.id)
        held = since_pull(store, conn, last.id, r.tables, begun and chain(*begun))
    # other bytes, the very same values: the snapshot's are kept as they are
    repeat = last is not None and settled and all(n in held and held[n].same for n in r.tables)
    values = None
    if not repeat:
        tables = {n: (t.fields, t.values) for n, t in r.tables.items()}
        keys = {n: t.table.key for n, t in r.tables.items()}
        values = in_background(lambda: encode_rows(tables, keys), "encode")
    for name, mt in r.tables.items():
        report = None
        if progress:
            label = f"writing {r.source.name}: {name}"
            report = lambda done, total, label=label: progress(label, done, total)  # noqa: E731
        if name in held:
            diff = diff_some(store, conn, mt, held[name])
        else:
            diff = diff_whole(store, conn, mt, last.id if last else None)
        change = _apply_table(store, conn, r, mt, diff, at, report, cells=cells)
        states[name] = _written(states[name], change)
        result.tables[name] = change
    summary: dict[str, Any] = {n: c.as_dict() for n, c in result.tables.items()}
    if not r.errors:  # what lets the next pull see that nothing changed
        summary[CHECK] = _check(r.source, config, r.content_hash, r.tables, states)
    # {}: this read's cells are not kept (never the last snapshot's, copied)
    layout = {n: _layout(t) for n, t in r.tables.items()} if cells else {}
    if values is None:
        assert last is not None  # the rows may have moved: the layout is this read's
        result.snapshot_id = store.repeat_snapshot(
            conn,
            last.id,
            at=at,
            summary=summary,
            content_hash=r.content_hash,
            layout=layout,
        )
    else:
        result.snapshot_id = store.add_snapshot(
            conn,
            source=r.source.name,
            kind="pull",
            at=at,
            content_hash=r.content_hash,
            summary=summary,
            values=values(),
            layout=layout,
        )
    return result


LAYOUT_PARTS = ("sheet", "columns", "rows")  # what ``_layout`` records of every table


def _layout(mt: MappedTable) -> dict[str, Any]:
    """Where a read found a table: its sheet, each field's column, and the sheet
    row of each record in the snapshot's order, as runs [first row, count]
    (``LAYOUT_PARTS``)."""
    rows = mt.rows
    if rows and rows[-1] - rows[0] == len(rows) - 1:
        runs = [[rows[0], len(rows)]]  # one run: a read's rows only ever go down the sheet
    else:
        # a run ends where the next row is not this one + 1 (found at C speed)
        ends = compress(range(1, len(rows)), map(operator.ne, rows[1:], map((1).__add__, rows)))
        starts = [0, *ends]
        runs = [[rows[a], b - a] for a, b in pairwise([*starts, len(rows)])] if rows else []
    columns = {f: mt.columns[f] for f in mt.fields if f in mt.columns}
    return {"sheet": mt.sheet, "columns": columns, "rows": runs}


def _check(
    source: SourceConfig,
    config: Config,
    revision: str | None,
    tables: dict[str, MappedTable],
    states: dict[str, list[Any]],
) -> dict[str, Any]:
    """What a pull of ``source`` found, to tell the next pull whether reading it
    again could change anything: the source's revision, its mapping, and the
    state of its tables in the model right after it was written (``states``)."""
    return {
        "revision": revision,
        "mapping": mapping_fingerprint(config, source),
        "tables": {name: states[name] for name in sorted(source.tables)},
        "rows": {name: len(t.keys) for name, t in tables.items()},
    }


def _written(state: list[Any], change: TableChange) -> list[Any]:
    """A table's ``Store.table_state`` after ``_apply_table`` wrote ``change``,
    without asking the model: every new or changed record adds one version,
    and closes the current one it replaces (none for a new record); each
    deletion closes one. ``test_the_check_counts_what_the_pull_wrote`` holds it to the query."""
    versions, current, key = state
    inserted = change.inserted
    return [versions + inserted + change.updated, current + inserted - change.deleted, key]


def _settled_sources(
    store: Store,
    conn: Any,
    pending: PendingReads,
    lasts: dict[str, Snapshot | None],
    states: dict[str, list[Any]],
    *,
    cells: bool = True,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The sources whose tables are as their last pull left them, and among
    those the ones unchanged since, each with its check.

    Source S is settled when its last snapshot is a clean pull (no row
    skipped) whose check still holds: the same mapping, and its tables in the
    model exactly as that pull left them (no version added or closed, no
    re-key: nothing changed a record since, through any source). The model
    then holds, for S's keys, the values that snapshot holds, so S's sheet can
    be compared with those. S is unchanged when its revision is the same too
    (for a workbook, the same bytes): reading it again would yield the very
    same records, so nothing would be written; unless its last snapshot lacks
    the cells this code records (``_has_cells``) and ``cells`` are wanted: then
    it is read and compared.
    A source after one that is read in this pull and maps a table of S is
    neither: that one may write S's records first.
    """
    config = pending.config
    settled: dict[str, dict[str, Any]] = {}
    unchanged: dict[str, dict[str, Any]] = {}
    touched: set[str] = set()
    for s in pending.sources:
        last = lasts[s.name]
        check = last.summary.get(CHECK) if last and last.kind == "pull" and last.summary else None
        if (
            check is not None
            and not touched & set(s.tables)
            and check["mapping"] == mapping_fingerprint(config, s)
            and check["tables"] == {name: states[name] for name in sorted(s.tables)}
        ):
            settled[s.name] = check
            revision = pending.revision(s.name)
            if (
                revision is not None
                and check["revision"] == revision
                and last is not None
                and (not cells or _has_cells(store.snapshot_layout(last.id, conn), s.tables))
            ):
                unchanged[s.name] = check
                continue
        touched |= set(s.tables)
    return settled, unchanged


def _has_cells(layout: dict[str, Any] | None, tables: Iterable[str]) -> bool:
    """Whether a pull's ``layout`` holds all that this code records of each of
    ``tables`` (``LAYOUT_PARTS``). A snapshot without it (a model made before
    cells were kept) is not repeated as it is: the source is read again, so
    ``explain`` and the report's appendix can name its cells."""
    return layout is not None and all(
        all(part in (layout.get(t) or {}) for part in LAYOUT_PARTS) for t in tables
    )


def _record_unchanged(
    store: Store,
    conn: Any,
    source: SourceConfig,
    last: Snapshot | None,
    check: dict[str, Any],
    at: datetime,
) -> PullResult:
    """A skipped source's result and the snapshot that records the look."""
    assert last is not None
    result = PullResult(source.name, source.location, content_hash=last.content_hash)
    result.unchanged_since = last.taken_at
    result.tables = {
        name: TableChange(unchanged=check["rows"].get(name, 0)) for name in source.tables
    }
    summary: dict[str, Any] = {n: c.as_dict() for n, c in result.tables.items()}
    summary[CHECK] = check
    summary["unchanged_since"] = last.id
    result.snapshot_id = store.repeat_snapshot(
        conn, last.id, at=at, summary=summary, content_hash=last.content_hash
    )
    return result


def _refuse_dated_pull(store: Store, conn: Any, at: datetime) -> None:
    """Refuse a dated pull stamped ``at`` into a model that changed after it."""
    latest = store.last_write_at(conn)
    if latest is not None and latest > at:
        raise UsageError(
            f"the model already holds versions from {latest:%Y-%m-%d %H:%M} UTC, after the "
            f"end of the copy's day ({at:%Y-%m-%d %H:%M} UTC): a dated copy cannot go "
            "before them",
            hint="import dated copies oldest first, into a model with no later pull "
            "(e.g. a fresh --db)",
        )


def _apply_table(
    store: Store,
    conn: Any,
    read: SourceRead,
    mt: MappedTable,
    diff: TableDiff,
    at: datetime,
    progress: Callable[[int, int], None] | None = None,
    *,
    cells: bool = True,
) -> TableChange:
    """Write one table's changes (``compare``): new records, changed ones (as
    new versions) and deletions; ``cells``: each version with its sheet row."""
    spec = mt.table
    change = TableChange(unchanged=diff.unchanged, updated=len(diff.updates))
    if diff.new is None:  # every record is new (a first pull)
        new_rows, new_keys, new_at = mt.values, mt.keys, mt.rows
    else:
        new_rows = [mt.values[i] for i in diff.new]
        new_keys = [mt.keys[i] for i in diff.new]
        new_at = [mt.rows[i] for i in diff.new]
    change.inserted = len(new_rows)
    deletes = diff.deletes
    if deletes and mt.skipped_rows:
        # A skipped row still exists in the sheet and may be one of these:
        # deleting only what is provably gone keeps --skip-invalid safe.
        change.kept = len(deletes)
        deletes = []
    change.deleted = len(deletes)
    write = {"source": read.source.name, "at": at, "progress": progress}
    store.apply_rows(
        conn,
        spec.name,
        mt.fields,
        new_rows,
        deletes,
        keys=new_keys,
        replaced=(),
        sheet_rows=new_at if cells else None,
        **write,
    )
    if diff.updates:
        store.apply(
            conn,
            spec.name,
            diff.updates,
            (),
            keys=diff.update_keys,
            replaced=diff.update_keys,
            spec=spec,
            sheet_rows=diff.update_at if cells else None,
            **write,
        )
    return change

"""Moving the plan between sources and the model: pull, push, sync, diff.

``pull`` validates every selected source (see ``reading``) and then writes all
of them in one transaction, so any error leaves the model exactly as it was.
``push``, ``sync`` and ``diff`` plan cell-level merges and carry them out.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress
from pathlib import Path
from typing import Any, Literal

from .config import Config, SourceConfig
from .errors import CellError, ConflictError, RefusedError, UsageError, ValidationError
from .mapping import MappedTable, picker
from .merge import (
    CellChange,
    Conflict,
    Prefer,
    TablePlan,
    append_values,
    cell_value,
    plan_table,
    same,
    show,
)
from .model import Record, key_texts
from .progress import Progress
from .reading import (
    PendingReads,
    SourceRead,
    gc_paused,
    mapping_fingerprint,
    read_source,
    source_label,
    start_reads,
)
from .sources import CellWrite, RowAppend
from .store import Snapshot, Store, encode_rows, record_key, utcnow


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
    ``reads``: the sources' reads, already started by ``start_reads`` (a caller
    that starts them before importing the database code saves that time too).
    A source last synced from another file is refused (``check_binding``)
    unless ``rebind``.
    """
    # The model is open: every read can wait for the verdict on its source.
    pending = reads or start_reads(config, names, hold=None if full else lambda _s, _r: True)
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
                progress=progress,
                at=at,
            )
    finally:
        pending.release()


CHECK = "_check"  # the snapshot summary's entry that lets the next pull skip a read


def _pull(
    store: Store,
    pending: PendingReads,
    *,
    skip_invalid: bool,
    rebind: bool,
    full: bool,
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
        settled, unchanged = ({}, {}) if full else _settled_sources(store, conn, pending, lasts)
        todo = [s for s in sources if s.name not in unchanged]
        for s in sources:
            (pending.drop if s.name in unchanged else pending.go)(s.name)
        reads = {r.source.name: r for r in pending.result()}
        for r in reads.values():
            if r.fatal or (r.errors and not skip_invalid):
                raise ValidationError(r.errors, source=r.source.name, sheet_level=bool(r.fatal))
        # What each source's tables are compared with, loaded once the reads
        # are done (never beside a sheet being parsed: memory stays bounded):
        # for a settled source the values of its last pull (the model's, as it
        # left them); otherwise the model's current records, and the keys its
        # last snapshot held.
        bases = {
            s.name: store.snapshot_rows(lasts[s.name].id, conn)  # type: ignore[union-attr]
            for s in todo
            if s.name in settled
        }
        before = {
            s.name: store.snapshot_keys(last.id, conn, specs) if (last := lasts[s.name]) else {}
            for s in todo
            if s.name not in settled
        }
        current = {
            t: store.current_rows(conn, t) for s in todo if s.name not in settled for t in s.tables
        }
        if at is not None:
            _refuse_dated_pull(store, conn, at)
        at = at or utcnow()  # after the locks: versions never predate the ones they replace
        results = []
        written: set[str] = set()
        for s in sources:
            if s.name in unchanged:
                results.append(
                    _record_unchanged(store, conn, s, lasts[s.name], unchanged[s.name], at)
                )
                continue
            r = reads[s.name]
            if progress:
                progress(f"writing {r.source.name} into the model")
            result = PullResult(
                r.source.name, r.source.location, skipped=r.errors, content_hash=r.content_hash
            )
            for name in r.tables:
                if name in rekeys:  # said once, by the first source of the table
                    result.rekeyed.append(rekeys.pop(name).line(r.tables[name].headers))
            same_values = True
            for name, mt in r.tables.items():
                report = None
                if progress:
                    label = f"writing {r.source.name}: {name}"
                    report = lambda done, total, label=label: progress(label, done, total)  # noqa: E731
                base = bases.get(s.name, {}).get(name)
                if base is not None and base[0] == mt.fields:
                    rows, gone = _changed_rows(mt, base[1])
                    same_values &= not rows and not gone and len(base[1]) == len(mt.values)
                    keys = [mt.keys[i] for i in rows]
                    model = store.current_rows_of(conn, name, [*keys, *gone])
                else:
                    same_values = False
                    if name in written:  # a second source of this table sees the first one's writes
                        current[name] = store.current_rows(conn, name)
                    model = current[name] if name in current else store.current_rows(conn, name)
                    held = before[s.name].get(name, set()) if s.name in before else set()
                    rows, gone = None, held - set(mt.keys)
                result.tables[name] = _apply_table(
                    store, conn, r, mt, model, rows, gone, at, report
                )
                written.add(name)
            summary: dict[str, Any] = {n: c.as_dict() for n, c in result.tables.items()}
            if not r.errors:  # what lets the next pull see that nothing changed
                summary[CHECK] = _check(store, conn, r.source, config, r.content_hash, r.tables)
            last = lasts[s.name]
            layout = {n: _layout(t) for n, t in r.tables.items()}
            if same_values and s.name in settled and last is not None:
                # other bytes, the very same values: the snapshot's are kept as
                # they are (the rows may have moved: the layout is this read's)
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
                    values=encode_rows(
                        {n: (t.fields, t.values) for n, t in r.tables.items()},
                        {n: t.table.key for n, t in r.tables.items()},
                    ),
                    layout=layout,
                )
            store.bind_source(conn, r.source.name, bindings[r.source.name], at)
            results.append(result)
    return results


def _layout(mt: MappedTable) -> dict[str, Any]:
    """Where a read found a table: its sheet, each field's column, and the sheet
    row of each record in the snapshot's order, as runs [first row, count]."""
    runs: list[list[int]] = []
    for r in mt.rows:
        if runs and r == runs[-1][0] + runs[-1][1]:
            runs[-1][1] += 1
        else:
            runs.append([r, 1])
    columns = {f: mt.columns[f] for f in mt.fields if f in mt.columns}
    return {"sheet": mt.sheet, "columns": columns, "rows": runs}


def _changed_rows(mt: MappedTable, held: list[list]) -> tuple[list[int], set[str]]:
    """The sheet rows of ``mt`` not among the ``held`` values of its last pull,
    and the keys held then that the sheet no longer has.

    Rows are compared in place first (a sheet mostly keeps its order); a row
    equal to the one held at its position is the same record, unchanged.
    """
    values = mt.values
    n = min(len(values), len(held))
    moved = list(compress(range(n), map(operator.ne, values, map(tuple, held))))
    old = [tuple(held[i]) for i in moved] + list(map(tuple, held[n:]))
    moved += range(n, len(values))
    spec = mt.table
    positions = [mt.fields.index(k) for k in spec.key]
    new_keys = {mt.keys[i] for i in moved}
    was = key_texts(old, positions)
    return moved, set(was) - new_keys


def _check(
    store: Store,
    conn: Any,
    source: SourceConfig,
    config: Config,
    revision: str | None,
    tables: dict[str, MappedTable],
) -> dict[str, Any]:
    """What a pull of ``source`` found, to tell the next pull whether reading it
    again could change anything: the source's revision, its mapping, and the
    state of its tables in the model right after it was written."""
    return {
        "revision": revision,
        "mapping": mapping_fingerprint(config, source),
        "tables": {name: store.table_state(conn, name) for name in sorted(source.tables)},
        "rows": {name: len(t.keys) for name, t in tables.items()},
    }


def _settled_sources(
    store: Store,
    conn: Any,
    pending: PendingReads,
    lasts: dict[str, Snapshot | None],
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
    same records, so nothing would be written. A source after one that is read
    in this pull and maps a table of S is neither: that one may write S's
    records first.
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
            and check["tables"]
            == {name: store.table_state(conn, name) for name in sorted(s.tables)}
        ):
            settled[s.name] = check
            revision = pending.revision(s.name)
            if revision is not None and check["revision"] == revision:
                unchanged[s.name] = check
                continue
        touched |= set(s.tables)
    return settled, unchanged


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
    current: dict[str, Any],
    rows: list[int] | None,
    gone: set[str],
    at: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> TableChange:
    """Write one table's records: new ones, changed ones (as new versions) and
    deletions. ``current``: the model's rows by key (``Store.current_rows``),
    at least of the records compared and of ``gone``; ``rows``: the indexes of
    the records to compare (None: all; the others are unchanged); ``gone``:
    keys the source held before and no longer has."""
    spec = mt.table
    fields = mt.fields
    change = TableChange()
    if current:
        names = [f.name for f in spec.fields]
        new_rows: list[tuple] = []
        new_keys: list[str] = []
        new_at: list[int] = []  # sheet rows
        updates: list[Record] = []
        update_keys: list[str] = []
        update_at: list[int] = []
        old_values_of = picker([1 + names.index(f) for f in fields])  # row[0] is the key
        pairs = zip(mt.keys, mt.values, mt.rows, strict=True)
        if rows is not None:
            change.unchanged = len(mt.keys) - len(rows)
            pairs = ((mt.keys[i], mt.values[i], mt.rows[i]) for i in rows)
        for key, values, at_row in pairs:
            old = current.get(key)
            if old is None:
                new_rows.append(values)
                new_keys.append(key)
                new_at.append(at_row)
                continue
            old_values = old_values_of(old)
            if values == old_values or all(map(same, values, old_values)):
                change.unchanged += 1
                continue
            record = dict(zip(names, old[1:], strict=True))
            record.update(zip(fields, values, strict=True))
            updates.append(record)
            update_keys.append(key)
            update_at.append(at_row)
    elif rows is None:  # a first pull: every record is new
        new_rows, new_keys, new_at, updates, update_keys, update_at = (
            mt.values, mt.keys, mt.rows, [], [], [],
        )  # fmt: skip
    else:
        new_rows = [mt.values[i] for i in rows]
        new_keys = [mt.keys[i] for i in rows]
        new_at = [mt.rows[i] for i in rows]
        updates, update_keys, update_at = [], [], []
        change.unchanged = len(mt.keys) - len(rows)
    change.inserted, change.updated = len(new_rows), len(updates)
    deletes = [k for k in gone if k in current]
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
        fields,
        new_rows,
        deletes,
        keys=new_keys,
        replaced=(),
        sheet_rows=new_at,
        **write,
    )
    if updates:
        store.apply(
            conn,
            spec.name,
            updates,
            (),
            keys=update_keys,
            replaced=update_keys,
            spec=spec,
            sheet_rows=update_at,
            **write,
        )
    return change


# ---------------------------------------------------------------- push, sync, diff


@dataclass
class SourcePlan:
    """Everything a push or sync of one source would do, cell by cell."""

    source: SourceConfig
    mode: str
    read: SourceRead
    tables: dict[str, TablePlan]
    base_hash: str | None
    base_id: int | None
    skipped_formulas: list[CellChange] = field(default_factory=list)
    written: bool = False
    backup: str | None = None
    rekeyed: list[str] = field(default_factory=list)  # "milestones: now matched by ..."
    warnings: list[str] = field(
        default_factory=list
    )  # a dry run: why the real one would be refused
    rebind: bool = False  # the source's file moved: accept it (``check_binding``)

    @property
    def conflicts(self) -> list[Conflict]:
        return [c for t in self.tables.values() for c in t.conflicts]

    @property
    def empty(self) -> bool:
        return all(t.empty for t in self.tables.values())

    def lines(self) -> list[str]:
        out = [f"~ {line}" for line in self.rekeyed]
        for t in self.tables.values():
            out += [c.line() for c in t.to_sheet]
            out += [c.line() for c in t.to_model]
            out += [r.line() for r in t.rows]
            out += [f"! {c.line()}" for c in t.conflicts]
            out += [f"  {c.line()} — settled by --prefer" for c in t.resolved]
        out += [
            f"~ skipped '{c.sheet}'!{c.cell} ({c.column}): a formula cell is never overwritten "
            f"(model has {show(c.new)})"
            for c in self.skipped_formulas
        ]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.name,
            "mode": self.mode,
            "written": self.written,
            "backup": self.backup,
            "rekeyed": self.rekeyed,
            "to_sheet": [c.as_dict() for t in self.tables.values() for c in t.to_sheet],
            "to_model": [c.as_dict() for t in self.tables.values() for c in t.to_model],
            "rows": [r.as_dict() for t in self.tables.values() for r in t.rows],
            "conflicts": [c.as_dict() for c in self.conflicts],
            "resolved": [c.as_dict() for t in self.tables.values() for c in t.resolved],
            "skipped_formulas": [c.as_dict() for c in self.skipped_formulas],
            "warnings": self.warnings,
        }


def plan_source(
    config: Config,
    store: Store,
    source: SourceConfig,
    *,
    mode: Literal["sync", "push"] = "sync",
    prefer: Prefer = None,
    delete_rows: bool = False,
    rebind: bool = False,
    conn: Any = None,
    progress: Progress | None = None,
) -> SourcePlan:
    """Read ``source`` and plan its merge with the model; writes nothing.

    Refused first when the source was last synced from another file (unless
    ``rebind``) or a changed key does not fit the model's records."""
    with _connection(store, conn) as c:
        check_binding(store, c, source, rebind=rebind)
        rekeys = {
            name: rekey
            for name in source.tables
            if (rekey := store.rekey(c, config.table_spec(name), apply=False))
        }
    if progress:
        progress(f"reading {source_label(source)}")
    read = read_source(config, source)
    if read.errors:
        raise ValidationError(read.errors, source=source.name, sheet_level=bool(read.fatal))
    if progress:
        progress(f"comparing {source.name} with the model")
    last = store.last_snapshot(source.name, conn=conn)
    base_values = store.snapshot_values(last.id) if last else {}
    tables = {}
    rekeyed = []
    with _connection(store, conn) as c:
        for name, mt in read.tables.items():
            spec = mt.table  # the table as configured (its key)
            if name in rekeys:
                rekeyed.append(rekeys[name].line(mt.headers))
            model = store.keyed(c, name, spec)
            base = None
            if last:
                held = base_values.get(name, [])
                # a snapshot without this key's fields cannot say what the sheet held
                if held and all(k in held[0] for k in spec.key):
                    base = {record_key(spec, r): r for r in held}
                else:
                    base = {}
            tables[name] = plan_table(
                mt,
                model,
                base,
                mode=mode,
                prefer=prefer,
                readonly=source.tables[name].readonly,
                delete_rows=delete_rows,
            )
    plan = SourcePlan(
        source, mode, read, tables, last.content_hash if last else None, last.id if last else None
    )
    plan.rekeyed = rekeyed
    plan.rebind = rebind
    _skip_formula_cells(plan)
    _name_nodes(plan)
    return plan


def source_binding(source: SourceConfig) -> str:
    """Which file or spreadsheet ``source`` is: the workbook's absolute path, or
    the spreadsheet's URL (made of its key, however the config spells it). A dated
    copy (``pull --as-of``) is read in place of its workbook, which stays bound."""
    if source.kind == "gsheets":
        from .sources.gsheets import spreadsheet_key

        return f"https://docs.google.com/spreadsheets/d/{spreadsheet_key(source.location)}"
    return str(source.copy_of or source.path)


def check_binding(store: Store, conn: Any, source: SourceConfig, *, rebind: bool) -> str:
    """``source``'s binding, refused (RefusedError) when the model's sync base
    for this source name was read from another file, unless ``rebind``.

    Two copies of a workbook under one name would take each other's values
    for edits and undo them at every sync; a moved file is the same copy.
    """
    binding = source_binding(source)
    old = store.source_binding(conn, source.name)
    if old is not None and old != binding and not rebind:
        raise RefusedError(
            f"source {source.name!r} was last synced from {old}; this config points it at "
            f"{binding}: give this copy its own source name, or `--rebind` if you moved the file",
            hint="each copy of a workbook is its own source (see docs/team-model.md)",
        )
    return binding


def _name_nodes(plan: SourcePlan) -> None:
    """A mind map's changes are named by their node's path (its grid says which)."""
    for name, t in plan.tables.items():
        grid = plan.read.grids.get(plan.read.tables[name].sheet)
        where = grid.meta.get("where") if grid is not None else None
        if not where:
            continue
        for c in (*t.to_sheet, *t.to_model, *t.conflicts, *t.resolved):
            c.node = where.get(int("".join(filter(str.isdigit, c.cell)) or 0), "")
        for r in t.rows:
            r.node = where.get(r.row or 0, "")


@contextmanager
def _connection(store: Store, conn: Any) -> Iterator[Any]:
    """``conn``, or a connection of its own for the duration."""
    if conn is not None:
        yield conn
        return
    with store.engine.connect() as c:
        yield c


def _skip_formula_cells(plan: SourcePlan) -> None:
    """Formula cells are never written: move them from the plan to the skipped list."""
    backend = plan.read.backend
    targets = {c.sheet for t in plan.tables.values() for c in t.to_sheet}
    formulas = {sheet: backend.formula_cells(sheet) for sheet in targets}
    for t in plan.tables.values():
        keep = []
        for c in t.to_sheet:
            if c.cell in formulas[c.sheet]:
                plan.skipped_formulas.append(c)
            else:
                keep.append(c)
        t.to_sheet = keep


def _sheet_writes(
    plan: SourcePlan,
) -> tuple[list[CellWrite], list[RowAppend], dict[str, list[int]]]:
    writes, appends, deletes = [], [], {}
    for name, t in plan.tables.items():
        mt = plan.read.tables[name]
        samples = {
            f: next((r[f] for r in mt.records if r.get(f) is not None), None) for f in mt.columns
        }
        grid_samples = _raw_samples(plan, name)
        writes += [
            CellWrite(c.sheet, c.cell, cell_value(c.new, grid_samples.get(c.field)))
            for c in t.to_sheet
        ]
        for r in t.rows:
            if r.kind == "append":
                appends.append(
                    RowAppend(t.sheet, append_values(mt, r.record, {**samples, **grid_samples}))
                )
            elif r.kind == "delete_sheet" and r.row:
                deletes.setdefault(t.sheet, []).append(r.row)
    return writes, appends, deletes


def _raw_samples(plan: SourcePlan, table: str) -> dict[str, Any]:
    """A non-blank raw cell value per field, to shape new values like the column's."""
    mt = plan.read.tables[table]
    grid = plan.read.grids.get(mt.sheet)
    if grid is None:
        return {}
    found: dict[str, Any] = {}
    for f, col in mt.columns.items():
        for row in mt.rows[:50]:
            v = grid.value(row, col)
            if v not in (None, ""):
                found[f] = v
                break
    return found


def execute_plan(
    store: Store, plan: SourcePlan, *, force: bool = False, progress: Progress | None = None
) -> SourcePlan:
    """Carry out a plan: model changes and sheet writes, all or nothing.

    Refuses on unresolved conflicts (ConflictError, nothing written). The model
    transaction commits only after the workbook was written; a failed write
    leaves both as they were.
    """
    if plan.conflicts:
        lines = "\n".join(c.line() for c in plan.conflicts[:50])
        more = f"\n... and {len(plan.conflicts) - 50} more" if len(plan.conflicts) > 50 else ""
        raise ConflictError(
            f"{plan.source.name}: {len(plan.conflicts)} cell(s) changed both in the sheet and in the model "
            f"since the last sync; nothing was written.\n{lines}{more}",
            hint="choose with --prefer sheet or --prefer model, or make the two agree and sync again",
        )
    source = plan.source
    backend = plan.read.backend
    expected = plan.read.content_hash
    changed = None if force else _changed_refusal(plan)
    if changed:
        raise changed
    if progress:
        progress(f"saving {source.name} to the model")
    with store.transaction() as conn:
        store.lock(conn, f"source:{source.name}")
        binding = check_binding(store, conn, source, rebind=plan.rebind)
        at = utcnow()
        last = store.last_snapshot(source.name, conn=conn)
        if (last.id if last else None) != plan.base_id:
            raise RefusedError(
                f"{source.name}: another sheetsync synced this source while this one was planning",
                hint="run the command again: it will start from what the other one wrote",
            )
        specs = {name: plan.read.tables[name].table for name in plan.tables}
        for spec in specs.values():
            store.rekey(conn, spec)  # a key changed in the config: as the plan said
        for name, t in plan.tables.items():
            if t.model_upserts or t.model_deletes:
                store.apply(
                    conn,
                    name,
                    t.model_upserts,
                    t.model_deletes,
                    source=source.name,
                    at=at,
                    replaced=t.model_replaced,
                    spec=specs[name],
                )
        writes, appends, deletes = _sheet_writes(plan)
        new_hash = expected
        if writes or appends or deletes:
            if progress:
                progress(f"writing {source_label(source)}")
            result = backend.write(writes, appends, deletes, expected_hash=expected, force=force)
            plan.written = True
            backup = getattr(result, "backup", None)
            plan.backup = str(backup) if backup else None
            new_hash = backend.fingerprint()
        store.add_snapshot(
            conn,
            source=source.name,
            kind=plan.mode,
            at=at,
            content_hash=new_hash,
            summary={
                "to_sheet": sum(len(t.to_sheet) for t in plan.tables.values()),
                "to_model": sum(len(t.to_model) for t in plan.tables.values()),
                "rows": sum(len(t.rows) for t in plan.tables.values()),
            },
            values={name: t.sheet_after for name, t in plan.tables.items()},
            keys={name: spec.key for name, spec in specs.items()},
        )
        store.bind_source(conn, source.name, binding, at)
    return plan


def _changed_refusal(plan: SourcePlan) -> RefusedError | None:
    """A push's refusal when the workbook changed since sheetsync last read it."""
    if plan.mode == "push" and plan.base_hash and plan.base_hash != plan.read.content_hash:
        return RefusedError(
            f"{plan.source.name}: {Path(plan.source.location).name} changed since sheetsync "
            "last read it; pushing could overwrite those edits",
            hint="run `sheetsync sync` to merge both sides, or use --force to push anyway",
        )
    return None


def _dry_run(plan: SourcePlan, force: bool) -> SourcePlan:
    """A planned push or sync, written nowhere: its warnings say what would
    refuse the real one (the workbook changed, or is open in Excel)."""
    if not force:
        refusals = [_changed_refusal(plan)]
        if any(_sheet_writes(plan)):
            refusals.append(plan.read.backend.write_refusal())
        plan.warnings = [f"the real {plan.mode} would be refused: {e}" for e in refusals if e]
    return plan


def push(
    config: Config,
    store: Store,
    names: tuple[str, ...] = (),
    *,
    dry_run: bool = False,
    force: bool = False,
    delete_rows: bool = False,
    rebind: bool = False,
    progress: Progress | None = None,
) -> list[SourcePlan]:
    """Write the model's values into the selected sources (only cells that differ)."""
    plans = []
    for s in config.select_sources(names):
        plan = plan_source(
            config,
            store,
            s,
            mode="push",
            delete_rows=delete_rows,
            rebind=rebind,
            progress=progress,
        )
        plans.append(
            _dry_run(plan, force)
            if dry_run
            else execute_plan(store, plan, force=force, progress=progress)
        )
    return plans


def sync(
    config: Config,
    store: Store,
    names: tuple[str, ...] = (),
    *,
    prefer: Prefer = None,
    dry_run: bool = False,
    force: bool = False,
    delete_rows: bool = False,
    rebind: bool = False,
    progress: Progress | None = None,
) -> list[SourcePlan]:
    """Three-way merge of each selected source with the model, until all agree.

    A change made in one source reaches the model and, in a second round, the
    other sources. A dry run plans one round and writes nothing.
    """
    sources = config.select_sources(names)
    done: list[SourcePlan] = []
    for _round in range(3 if len(sources) > 1 else 1):
        changed_model = False
        for s in sources:
            plan = plan_source(
                config,
                store,
                s,
                mode="sync",
                prefer=prefer,
                delete_rows=delete_rows,
                rebind=rebind,
                progress=progress,
            )
            if dry_run:
                done.append(_dry_run(plan, force))
                continue
            execute_plan(store, plan, force=force, progress=progress)
            changed_model |= any(
                t.to_model or t.model_upserts or t.model_deletes for t in plan.tables.values()
            )
            done.append(plan)
        if dry_run or not changed_model:
            break
    return _merge_rounds(done)


def _merge_rounds(plans: list[SourcePlan]) -> list[SourcePlan]:
    """One plan per source: the latest round's, with earlier rounds' changes folded in."""
    by_source: dict[str, SourcePlan] = {}
    for p in plans:
        prev = by_source.get(p.source.name)
        if prev is not None:
            for name, t in p.tables.items():
                old = prev.tables[name]
                t.to_sheet[:0], t.to_model[:0], t.rows[:0] = old.to_sheet, old.to_model, old.rows
                t.resolved[:0] = old.resolved
            p.skipped_formulas[:0] = prev.skipped_formulas
            p.written = p.written or prev.written
            p.backup = p.backup or prev.backup
        by_source[p.source.name] = p
    return list(by_source.values())


def diff(
    config: Config,
    store: Store,
    names: tuple[str, ...] = (),
    *,
    prefer: Prefer = None,
    rebind: bool = False,
    progress: Progress | None = None,
) -> list[SourcePlan]:
    """The cell-level plan of a sync, written nowhere."""
    return [
        plan_source(config, store, s, mode="sync", prefer=prefer, rebind=rebind, progress=progress)
        for s in config.select_sources(names)
    ]

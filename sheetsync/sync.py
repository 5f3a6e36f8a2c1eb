"""Moving the plan between sources and the model: read, validate, pull.

``read_source`` reads and validates one source without touching the model;
``pull`` validates every selected source first and then writes all of them in
one transaction, so any error leaves the model exactly as it was.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from .config import Config, SourceConfig
from .errors import CellError, ConflictError, RefusedError, ValidationError
from .grid import Grid
from .mapping import MappedTable, map_grid
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
from .model import TABLES, Record
from .sources import CellWrite, RowAppend, open_source
from .store import Store, encode_values, record_key, record_keys, utcnow

Progress = Callable[..., None]  # progress(message, done=None, total=None)


@dataclass
class SourceRead:
    """One source read and validated: its tables and every problem found."""

    source: SourceConfig
    tables: dict[str, MappedTable]
    content_hash: str | None
    sheet_names: list[str]
    grids: dict[str, Grid] = field(default_factory=dict)
    backend: Any = None  # the open Source, reused for writing (one per command)

    @property
    def fatal(self) -> list[CellError]:
        return [e for t in self.tables.values() for e in t.fatal]

    @property
    def errors(self) -> list[CellError]:
        return [e for t in self.tables.values() for e in (*t.fatal, *t.errors)]

    def records(self) -> dict[str, list[Record]]:
        return {name: t.records for name, t in self.tables.items()}


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

    @property
    def changed(self) -> bool:
        return any(c.inserted or c.updated or c.deleted for c in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "location": self.location,
            "tables": {n: c.as_dict() for n, c in self.tables.items()},
            "skipped": [e.as_dict() for e in self.skipped],
            "snapshot_id": self.snapshot_id,
        }


def read_source(config: Config, source: SourceConfig) -> SourceRead:
    """Read every mapped worksheet of ``source`` and validate it against the model."""
    backend = open_source(source)
    sheets = list(dict.fromkeys(m.sheet for m in source.tables.values()))
    grids = backend.read(sheets)
    names = backend.sheet_names()
    dayfirst = not config.report.locale.lower().startswith(("en_us", "en-us"))
    tables = {
        name: map_grid(grids.get(m.sheet), TABLES[name], m, sheet_names=names, dayfirst=dayfirst)
        for name, m in source.tables.items()
    }
    read = SourceRead(source, tables, backend.fingerprint(), names, grids, backend)
    _check_references(read)
    return read


def _check_references(read: SourceRead) -> None:
    """Milestones, budget lines and tasks must name a project the source defines."""
    projects = read.tables.get("projects")
    if projects is None or projects.fatal:
        return
    known = {r["key"] for r in projects.records}
    shown = ", ".join(sorted(known)[:8])
    for name in ("milestones", "budget", "tasks"):
        mt = read.tables.get(name)
        if mt is None or mt.fatal or "project" not in mt.columns:
            continue
        keep_records, keep_rows = [], []
        for record, row in zip(mt.records, mt.rows, strict=True):
            if record["project"] in known:
                keep_records.append(record)
                keep_rows.append(row)
                continue
            mt.errors.append(
                CellError(
                    mt.sheet,
                    mt.address(row, "project"),
                    mt.headers["project"],
                    f'no project "{record["project"]}" on sheet {projects.sheet!r} (projects: {shown})',
                    row,
                )
            )
            mt.skipped_rows.append(row)
        mt.records, mt.rows = keep_records, keep_rows


def validate(config: Config, names: tuple[str, ...] = ()) -> list[SourceRead]:
    """Read and check the selected sources; write nothing anywhere."""
    return [read_source(config, s) for s in config.select_sources(names)]


def pull(
    config: Config,
    store: Store,
    names: tuple[str, ...] = (),
    *,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> list[PullResult]:
    """Read the selected sources into the model in one transaction.

    Raises ValidationError (writing nothing) when any source has a problem,
    unless ``skip_invalid``, which imports the valid rows and reports the rest.
    Sheet-level problems (missing sheet or column) always stop the pull.
    """
    with _no_gc_pauses():
        return _pull(config, store, names, skip_invalid=skip_invalid, progress=progress)


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Pause the cyclic garbage collector while a sheet's worth of cells is held.

    Reading 100,000 rows allocates millions of small objects; each allocation
    burst triggers full collections that scan them all again (a third of the
    time of a large pull). Nothing here makes reference cycles, so nothing is
    left for the collector when it resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pull(
    config: Config,
    store: Store,
    names: tuple[str, ...],
    *,
    skip_invalid: bool,
    progress: Progress | None,
) -> list[PullResult]:
    reads = []
    for s in config.select_sources(names):
        if progress:
            progress(f"reading {s.name} ({s.location})")
        reads.append(read_source(config, s))
    for r in reads:
        if r.fatal or (r.errors and not skip_invalid):
            raise ValidationError(r.errors, source=r.source.name, sheet_level=bool(r.fatal))
    results = []
    # Encoding the snapshots (JSON + zlib) runs beside the database writes,
    # which spend their time in SQLite's C code with the GIL released.
    with ThreadPoolExecutor(max_workers=1) as pool, store.transaction() as conn:
        encoded = [pool.submit(encode_values, r.records()) for r in reads]
        for name in sorted({r.source.name for r in reads}):  # one order: no deadlock
            store.lock(conn, f"source:{name}")
        at = utcnow()  # after the locks: versions never predate the ones they replace
        for r, blob in zip(reads, encoded, strict=True):
            if progress:
                progress(f"writing {r.source.name} into the model")
            result = PullResult(
                r.source.name, r.source.location, skipped=r.errors, content_hash=r.content_hash
            )
            last = store.last_snapshot(r.source.name, conn=conn)
            before = store.snapshot_keys(last.id, conn) if last else {}
            for name, mt in r.tables.items():
                report = None
                if progress:
                    label = f"writing {r.source.name}: {name}"
                    report = lambda done, total, label=label: progress(label, done, total)  # noqa: E731
                result.tables[name] = _apply_table(
                    store, conn, r, mt, before.get(name, set()), at, report
                )
            result.snapshot_id = store.add_snapshot(
                conn,
                source=r.source.name,
                kind="pull",
                at=at,
                content_hash=r.content_hash,
                summary={n: c.as_dict() for n, c in result.tables.items()},
                values=blob.result(),
            )
            results.append(result)
    return results


def _apply_table(
    store: Store,
    conn: Any,
    read: SourceRead,
    mt: MappedTable,
    before: set[str],
    at: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> TableChange:
    spec = mt.table
    mapped = list(mt.columns)
    current = store.keyed(conn, spec.name)
    change = TableChange()
    upserts: list[Record] = []
    keys: list[str] = []
    replaced: list[str] = []
    sheet_keys = record_keys(spec, mt.records)
    values_of = operator.itemgetter(*mapped) if len(mapped) > 1 else (lambda r: (r[mapped[0]],))
    for key, rec in zip(sheet_keys, mt.records, strict=True):
        old = current.get(key)
        if old is None:
            upserts.append(rec)
            keys.append(key)
            change.inserted += 1
            continue
        new_values = values_of(rec)
        old_values = tuple(old.get(f) for f in mapped)
        if new_values == old_values or all(map(same, new_values, old_values)):
            change.unchanged += 1
            continue
        upserts.append({**old, **dict(zip(mapped, new_values, strict=True))})
        keys.append(key)
        replaced.append(key)
        change.updated += 1
    seen = set(sheet_keys)
    gone = before - seen
    deletes = [k for k in gone if k in current]
    if deletes and mt.skipped_rows:
        # A skipped row still exists in the sheet and may be one of these:
        # deleting only what is provably gone keeps --skip-invalid safe.
        change.kept = len(deletes)
        deletes = []
    change.deleted = len(deletes)
    store.apply(
        conn,
        spec.name,
        upserts,
        deletes,
        source=read.source.name,
        at=at,
        replaced=replaced,
        keys=keys,
        progress=progress,
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

    @property
    def conflicts(self) -> list[Conflict]:
        return [c for t in self.tables.values() for c in t.conflicts]

    @property
    def empty(self) -> bool:
        return all(t.empty for t in self.tables.values())

    def lines(self) -> list[str]:
        out = []
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
            "to_sheet": [c.as_dict() for t in self.tables.values() for c in t.to_sheet],
            "to_model": [c.as_dict() for t in self.tables.values() for c in t.to_model],
            "rows": [r.as_dict() for t in self.tables.values() for r in t.rows],
            "conflicts": [c.as_dict() for c in self.conflicts],
            "resolved": [c.as_dict() for t in self.tables.values() for c in t.resolved],
            "skipped_formulas": [c.as_dict() for c in self.skipped_formulas],
        }


def plan_source(
    config: Config,
    store: Store,
    source: SourceConfig,
    *,
    mode: Literal["sync", "push"] = "sync",
    prefer: Prefer = None,
    delete_rows: bool = False,
    conn: Any = None,
) -> SourcePlan:
    """Read ``source`` and plan its merge with the model; writes nothing."""
    read = read_source(config, source)
    if read.errors:
        raise ValidationError(read.errors, source=source.name, sheet_level=bool(read.fatal))
    last = store.last_snapshot(source.name, conn=conn)
    base_values = store.snapshot_values(last.id) if last else {}
    tables = {}
    for name, mt in read.tables.items():
        spec = TABLES[name]
        model = (
            store.keyed(conn, name)
            if conn is not None
            else {record_key(spec, r): r for r in store.records(name)}
        )
        base = {record_key(spec, r): r for r in base_values.get(name, [])} if last else None
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
    _skip_formula_cells(plan)
    return plan


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


def execute_plan(store: Store, plan: SourcePlan, *, force: bool = False) -> SourcePlan:
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
    if plan.mode == "push" and plan.base_hash and plan.base_hash != expected and not force:
        raise RefusedError(
            f"{source.name}: {Path(source.location).name} changed since sheetsync last read it; "
            "pushing could overwrite those edits",
            hint="run `sheetsync sync` to merge both sides, or use --force to push anyway",
        )
    with store.transaction() as conn:
        store.lock(conn, f"source:{source.name}")
        at = utcnow()
        last = store.last_snapshot(source.name, conn=conn)
        if (last.id if last else None) != plan.base_id:
            raise RefusedError(
                f"{source.name}: another sheetsync synced this source while this one was planning",
                hint="run the command again: it will start from what the other one wrote",
            )
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
                )
        writes, appends, deletes = _sheet_writes(plan)
        new_hash = expected
        if writes or appends or deletes:
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
        )
    return plan


def push(
    config: Config,
    store: Store,
    names: tuple[str, ...] = (),
    *,
    dry_run: bool = False,
    force: bool = False,
    delete_rows: bool = False,
) -> list[SourcePlan]:
    """Write the model's values into the selected sources (only cells that differ)."""
    plans = []
    for s in config.select_sources(names):
        plan = plan_source(config, store, s, mode="push", delete_rows=delete_rows)
        plans.append(plan if dry_run else execute_plan(store, plan, force=force))
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
                config, store, s, mode="sync", prefer=prefer, delete_rows=delete_rows
            )
            if dry_run:
                done.append(plan)
                continue
            execute_plan(store, plan, force=force)
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
    config: Config, store: Store, names: tuple[str, ...] = (), *, prefer: Prefer = None
) -> list[SourcePlan]:
    """The cell-level plan of a sync, written nowhere."""
    return [
        plan_source(config, store, s, mode="sync", prefer=prefer)
        for s in config.select_sources(names)
    ]

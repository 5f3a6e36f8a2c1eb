"""Pushing and syncing: the cell-level plan of each source's merge with the
model (``plan_source``), carried out all or nothing (``execute_plan``).

``push`` writes the model into the sources, ``sync`` merges both ways until
every source agrees, ``diff`` plans a sync and writes nothing. Pulling is
``sheetsync.pull``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .binding import check_binding
from .config import Config, SourceConfig
from .errors import ConflictError, RefusedError, ValidationError
from .merge import (
    CellChange,
    Conflict,
    Prefer,
    TablePlan,
    append_values,
    cell_value,
    plan_table,
    show,
)
from .progress import Progress
from .reading import SourceRead, read_source, source_label
from .sources import CellWrite, RowAppend
from .store import Store, record_key, utcnow


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

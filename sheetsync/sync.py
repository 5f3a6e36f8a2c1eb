"""Moving the plan between sources and the model: read, validate, pull.

``read_source`` reads and validates one source without touching the model;
``pull`` validates every selected source first and then writes all of them in
one transaction, so any error leaves the model exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .config import Config, SourceConfig
from .errors import CellError, ValidationError
from .mapping import MappedTable, map_grid
from .model import TABLES, Record
from .sources import open_source
from .store import Store, record_key, utcnow

Progress = Callable[[str], None]


@dataclass
class SourceRead:
    """One source read and validated: its tables and every problem found."""

    source: SourceConfig
    tables: dict[str, MappedTable]
    content_hash: str | None
    sheet_names: list[str]

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
    read = SourceRead(source, tables, backend.fingerprint(), names)
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


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


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
    reads = []
    for s in config.select_sources(names):
        if progress:
            progress(f"reading {s.name} ({s.location})")
        reads.append(read_source(config, s))
    for r in reads:
        if r.fatal or (r.errors and not skip_invalid):
            raise ValidationError(r.errors, source=r.source.name, sheet_level=bool(r.fatal))
    at = utcnow()
    results = []
    with store.transaction() as conn:
        for r in reads:
            if progress:
                progress(f"writing {r.source.name} into the model")
            result = PullResult(
                r.source.name, r.source.location, skipped=r.errors, content_hash=r.content_hash
            )
            last = store.last_snapshot(r.source.name, conn=conn)
            before = store.snapshot_values(last.id) if last else {}
            for name, mt in r.tables.items():
                result.tables[name] = _apply_table(store, conn, r, mt, before.get(name, []), at)
            result.snapshot_id = store.add_snapshot(
                conn,
                source=r.source.name,
                kind="pull",
                at=at,
                content_hash=r.content_hash,
                summary={n: c.as_dict() for n, c in result.tables.items()},
                values=r.records(),
            )
            results.append(result)
    return results


def _apply_table(
    store: Store, conn: Any, read: SourceRead, mt: MappedTable, before: list[Record], at: datetime
) -> TableChange:
    spec = mt.table
    mapped = set(mt.columns)
    current = store.keyed(conn, spec.name)
    change = TableChange()
    upserts: list[Record] = []
    keys: list[str] = []
    replaced: list[str] = []
    seen: set[str] = set()
    for rec in mt.records:
        key = record_key(spec, rec)
        seen.add(key)
        old = current.get(key)
        if old is None:
            upserts.append(rec)
            keys.append(key)
            change.inserted += 1
            continue
        merged = {**old, **{f: rec.get(f) for f in mapped}}
        if all(_same(merged[f], old.get(f)) for f in mapped):
            change.unchanged += 1
        else:
            upserts.append(merged)
            keys.append(key)
            replaced.append(key)
            change.updated += 1
    gone = {record_key(spec, r) for r in before} - seen
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
    )
    return change

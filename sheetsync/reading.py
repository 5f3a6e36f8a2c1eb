"""Reading sources: every mapped worksheet read, coerced and validated.

``read_source`` reads one source without touching the model; ``start_reads``
reads several in background threads while the caller opens the model. This
module imports no database code (``last_pulled`` peeks with the standard
library's sqlite3), so a read can start before SQLAlchemy loads.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, SourceConfig
from .errors import CellError, NodeError, SheetsyncError
from .grid import Grid, parse_a1
from .mapping import MappedTable, map_grid
from .model import Record
from .progress import Progress
from .sources import open_source


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


# Bump when the same cells would be read into other records (a pull's
# "unchanged since" check then reads every source again once).
READ_FORMAT = 1


def mapping_fingerprint(config: Config, source: SourceConfig) -> str:
    """A hash of everything besides the source's content that decides what a
    read of it yields: its table mappings, each table's key, the date order
    and the reader's own version."""
    what = {
        "version": [__version__, READ_FORMAT],
        "kind": source.kind,
        "dayfirst": _dayfirst(config),
        "tables": {
            name: [asdict(m), list(config.table_spec(name).key)]
            for name, m in sorted(source.tables.items())
        },
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _dayfirst(config: Config) -> bool:
    return not config.report.locale.lower().startswith(("en_us", "en-us"))


def read_source(
    config: Config, source: SourceConfig, backend: Any = None, *, stream: bool = False
) -> SourceRead:
    """Read every mapped worksheet of ``source`` and validate it against the model
    (``backend``: the source already opened). ``stream``: map the rows as they
    come and keep no grid (a pull needs only the records)."""
    backend = backend or open_source(source)
    sheets = list(dict.fromkeys(m.sheet for m in source.tables.values()))
    stream = stream and len(sheets) == len(source.tables)  # a streamed sheet is read once
    grids = backend.read(sheets, stream=stream)
    names = backend.sheet_names()
    dayfirst = _dayfirst(config)
    tables = {
        name: map_grid(
            grids.get(m.sheet), config.table_spec(name), m, sheet_names=names, dayfirst=dayfirst
        )
        for name, m in source.tables.items()
    }
    read = SourceRead(
        source,
        tables,
        backend.fingerprint(),
        names,
        # a streamed grid's cells are gone; a map's grids are kept for their node paths
        {n: g for n, g in grids.items() if not stream or g.meta},
        backend,
    )
    _check_uncalculated(read)
    _check_references(read, read)
    _tree_terms(read)
    return read


UNCALCULATED = (
    "is a formula whose result has not been calculated since the workbook was last changed "
    "(a push leaves it so), so sheetsync cannot know its value: open and save the workbook "
    "in Excel or LibreOffice, then run again"
)


def _check_uncalculated(read: SourceRead) -> None:
    """A mapped formula cell with no calculated result is never read as blank
    (or as an old value): its row is reported, and skipped, like a bad cell.

    Such a cell reads blank, so a table none of whose data rows has a blank
    mapped cell (``_may_read_blank``) cannot hold one: its sheet's XML is not
    scanned for them (a tenth of a 100,000-row read, after a push)."""
    finder = getattr(read.backend, "uncalculated_cells", None)
    tables = [mt for mt in read.tables.values() if not mt.fatal and _may_read_blank(mt)]
    if finder is None or not tables:
        return
    found = finder(sorted({mt.sheet for mt in tables}))
    for mt in tables:
        by_col = {col: f for f, col in mt.columns.items()}
        rows = set(mt.rows) | set(mt.skipped_rows)  # data rows, not blank ones below
        bad: dict[str, tuple[int, str]] = {}
        for ref in found.get(mt.sheet, ()):
            row, col = parse_a1(ref)
            if row in rows and col in by_col:
                bad[ref] = (row, by_col[col])
        if not bad:
            continue
        mt.errors = [e for e in mt.errors if e.cell not in bad]
        for ref, (row, f) in sorted(bad.items(), key=lambda x: (x[1][0], x[0])):
            mt.errors.append(CellError(mt.sheet, ref, mt.headers[f], UNCALCULATED, row))
        skipped = {row for row, _ in bad.values()}
        mt.skipped_rows = sorted(set(mt.skipped_rows) | skipped)
        mt.keep([i for i, row in enumerate(mt.rows) if row not in skipped])


def _may_read_blank(mt: MappedTable) -> bool:
    """Whether a data row of ``mt`` may have a blank mapped cell: a row was
    skipped or found wrong (a required cell blank, say), or a record holds None
    (every field kind reads a blank cell as None)."""
    if mt.skipped_rows or mt.errors:
        return True
    return not mt.blank_free and any(None in v for v in mt.values)


def _tree_terms(read: SourceRead) -> None:
    for mt in read.tables.values():
        if (grid := read.grids.get(mt.sheet)) is not None and "where" in grid.meta:
            in_tree_terms(mt, grid.meta["where"])


def check_across(reads: list[SourceRead]) -> None:
    """A mind map without a projects level names its projects in notes; they must
    be projects another source of the same command defines."""
    holders = [r for r in reads if "projects" in r.tables and not r.tables["projects"].fatal]
    for r in reads:
        if r.source.kind == "mindmap" and "projects" not in r.tables and holders:
            _check_references(r, holders[0])
            _tree_terms(r)


_SAME_ROW = re.compile(r"\brow (\d+) has the same")


def in_tree_terms(mt: MappedTable, where: dict[int, str]) -> None:
    """Name each problem of a mind map's level by its node's path, not a cell."""

    def node(e: CellError) -> CellError:
        message = _SAME_ROW.sub(lambda m: f"{where.get(int(m[1]), '?')} has the same", e.message)
        path = where.get(e.row or 0, f"{mt.sheet}")
        return NodeError(path, "", e.column, message, e.row)

    mt.errors = [node(e) for e in mt.errors]
    mt.fatal = [node(e) for e in mt.fatal]


def _check_references(read: SourceRead, holder: SourceRead) -> None:
    """Milestones, budget lines and tasks of ``read`` must name a project that
    ``holder`` (the source itself, or another source) defines."""
    projects = holder.tables.get("projects")
    if projects is None or projects.fatal:
        return
    known = {r["key"] for r in projects.records}
    shown = ", ".join(sorted(known)[:8])
    grid = holder.grids.get(projects.sheet)
    if grid is not None and "where" in grid.meta:
        place = f"in {holder.source.path.name if holder.source.path else 'the map'}"
    else:
        place = f"on sheet {projects.sheet!r}"
    for name in ("milestones", "budget", "tasks"):
        mt = read.tables.get(name)
        if mt is None or mt.fatal or "project" not in mt.columns:
            continue
        at = mt.fields.index("project")
        keep = []
        for i, (values, row) in enumerate(zip(mt.values, mt.rows, strict=True)):
            if values[at] in known:
                keep.append(i)
                continue
            mt.errors.append(
                CellError(
                    mt.sheet,
                    mt.address(row, "project"),
                    mt.headers["project"],
                    f'no project "{values[at]}" {place} (projects: {shown})',
                    row,
                )
            )
            mt.skipped_rows.append(row)
        if len(keep) < len(mt.values):
            mt.keep(keep)


def validate(
    config: Config,
    names: tuple[str, ...] = (),
    *,
    progress: Progress | None = None,
) -> list[SourceRead]:
    """Read and check the selected sources; write nothing anywhere.
    ``progress(message, done=None, total=None)`` hears what is being read."""
    pending = start_reads(config, names)
    if progress:
        progress(f"reading {', '.join(map(source_label, pending.sources))}")
    return pending.result()


def source_label(source: SourceConfig) -> str:
    """A source as a status line names it: "plan (sales_plan.xlsx)"."""
    where = source.path.name if source.path else "Google Sheets"
    return f"{source.name} ({where})"


class PendingReads:
    """Sources being read and validated in background threads.

    Parsing a workbook is most of a read and runs in calamine's Rust code with
    the GIL released, so whoever started the reads can meanwhile import, open
    the model and load what a pull compares against; several sources are read
    side by side.

    Each read first takes its source's revision (for a workbook the hash of
    its bytes), so a pull can see an unchanged source and ``drop`` its read.
    When ``hold(source, revision)`` says the source is likely unchanged, the
    read waits for that verdict (``go`` or ``drop``) before parsing; otherwise
    it parses at once. The threads are daemons: a dropped read never keeps the
    process alive.
    """

    def __init__(
        self,
        config: Config,
        sources: list[SourceConfig],
        hold: Callable[[SourceConfig, str | None], bool] | None = None,
    ) -> None:
        self.config = config
        self.sources = sources
        self._gc: AbstractContextManager[None] | None = gc_paused()
        self._gc.__enter__()
        self._reads = {s.name: _Read(config, s, hold) for s in sources}

    def revision(self, name: str) -> str | None:
        """Source ``name``'s revision, waiting for it (None: unknown, or it
        cannot be opened; reading it will say why)."""
        read = self._reads[name]
        read.revision_known.wait()
        return read.revision

    def go(self, name: str) -> None:
        """Read source ``name`` (if its read waits for the verdict)."""
        self._reads[name].verdict.set()

    def drop(self, name: str) -> None:
        """Do not read source ``name``: a read waiting for the verdict never
        parses, one under way is thrown away; ``result`` leaves it out."""
        read = self._reads.pop(name, None)
        if read is not None:
            read.dropped = True
            read.verdict.set()

    def result(self) -> list[SourceRead]:
        """Every source's read (but the dropped ones), in config order; a
        read's exception is raised here.

        Call it once: the reads are handed over, not kept, so a sheet's worth
        of cells is freed as soon as the caller is done with it.
        """
        reads, self._reads = self._reads, {}
        try:
            for r in reads.values():
                r.verdict.set()
            done = [r.result() for r in reads.values()]
            check_across(done)
            return done
        finally:
            self.release()

    def release(self) -> None:
        """Give up waiting (the reads still under way finish on their own and
        are thrown away); ``result`` does this itself. Safe to call more than once."""
        for name in list(self._reads):
            self.drop(name)
        if self._gc is not None:
            self._gc.__exit__(None, None, None)
            self._gc = None


class _Read:
    """One source read in a daemon thread: its revision first, then the read."""

    def __init__(
        self,
        config: Config,
        source: SourceConfig,
        hold: Callable[[SourceConfig, str | None], bool] | None,
    ) -> None:
        self.revision: str | None = None
        self.revision_known = threading.Event()
        self.verdict = threading.Event()
        self.dropped = False
        self._done = threading.Event()
        self._value: SourceRead | None = None
        self._error: BaseException | None = None
        args = (config, source, hold)
        threading.Thread(target=self._run, args=args, name="read", daemon=True).start()

    def _run(
        self,
        config: Config,
        source: SourceConfig,
        hold: Callable[[SourceConfig, str | None], bool] | None,
    ) -> None:
        try:
            backend = open_source(source)
            try:
                self.revision = backend.revision()
            except SheetsyncError:
                pass  # the read below meets it again and says why
            finally:
                self.revision_known.set()
            if hold is not None and hold(source, self.revision):
                self.verdict.wait()
            if not self.dropped:
                self._value = read_source(config, source, backend, stream=True)
        except BaseException as e:  # handed to whoever waits for the result
            self._error = e
        finally:
            self.revision_known.set()
            self._done.set()

    def result(self) -> SourceRead:
        self._done.wait()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        value, self._value = self._value, None
        assert value is not None
        return value


def start_reads(
    config: Config,
    names: tuple[str, ...] = (),
    *,
    hold: Callable[[SourceConfig, str | None], bool] | None = None,
) -> PendingReads:
    """Begin reading the selected sources (default: all); see PendingReads."""
    return PendingReads(config, config.select_sources(names), hold)


def last_pulled(db_url: str) -> Callable[[SourceConfig, str | None], bool]:
    """A ``hold`` for ``start_reads`` before the model is open: whether the
    newest snapshot of a source in the SQLite model at ``db_url`` holds this
    revision (a peek with the standard library, read-only; a hint only, the
    pull decides with the model itself). Other databases: never."""
    path = db_url.removeprefix("sqlite:///").partition("?")[0]

    def hold(source: SourceConfig, revision: str | None) -> bool:
        if not db_url.startswith("sqlite:///") or revision is None or not Path(path).is_file():
            return False
        try:
            with closing(
                sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
            ) as db:
                row = db.execute(
                    "SELECT content_hash FROM snapshots WHERE source = ? ORDER BY id DESC LIMIT 1",
                    (source.name,),
                ).fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] == revision

    return hold


_gc_lock = threading.Lock()
_gc_holds = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a sheet's worth of cells is held.

    Reading 100,000 rows allocates millions of small objects; each allocation
    burst triggers full collections that scan them all again (a third of the
    time of a large pull). Nothing here makes reference cycles, so nothing is
    left for the collector when it resumes. Holds nest, across threads.
    """
    global _gc_holds, _gc_was_enabled
    with _gc_lock:
        if _gc_holds == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holds += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holds -= 1
            if _gc_holds == 0 and _gc_was_enabled:
                gc.enable()

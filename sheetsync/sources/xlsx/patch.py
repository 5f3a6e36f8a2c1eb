"""Lossless write-back into .xlsx/.xlsm: patch the sheet XML, copy every other part.

``patch_workbook`` edits only the ``<c>`` elements of the cells it writes (and
the rows it appends) in the worksheet XML, by splicing bytes: nothing is parsed
and re-serialised, so namespace prefixes, whitespace and unknown extensions stay
as they were. Every other zip member is copied through raw, compressed bytes
and local header included, in the same order. The only parts that may change
besides the written worksheets:

* ``xl/workbook.xml`` gets ``fullCalcOnLoad="1"`` on ``<calcPr>`` when the
  workbook holds any formula (worksheet ``<f>``), so Excel recalculates on open;
  workbooks without formulas keep it untouched.
* Every formula cell, on any sheet, that may depend on a cell the patch
  changed loses its cached result (``<v>``, and ``t``): a stale result is
  never left for a reader that does not recalculate (``deps`` decides,
  erring towards "depends"; ``PatchResult.uncached`` lists them). Those
  worksheets change in those cells only.
* ``xl/tables/tableN.xml`` of an Excel table that appended rows extend
  (its ``ref`` and its ``autoFilter ref``).

Behaviours chosen:

* Text is written as an inline string (``t="inlineStr"``); sharedStrings.xml
  stays byte-identical. Numbers go in ``<v>``, booleans as ``t="b"``, dates and
  datetimes as serial numbers in the workbook's epoch (``date1904``). ``None``
  clears the value and keeps the style. A cell keeps its ``s`` (style); a new
  cell receiving a date gets the workbook's first date style, if it has one.
  Characters XML cannot hold are escaped as Excel does (``_x0001_``). New cells
  and rows go in column and row order; ``<dimension>`` and row ``spans`` grow.
* Cells holding a formula (or covered by an array formula) are never written;
  they come back in ``PatchResult.skipped_formulas``.
* ``RowAppend`` puts the row after the last row that has a value or formula in
  any of the appended columns (and after any row this patch writes values
  into); cells already in that row (another table beside it) are kept. The new
  row copies the attributes (height, style) of the row above and the styles of
  its cells across the block the data sits in (the appended columns, any Excel
  table they are in, and neighbouring filled cells). Formulas of that row are carried down with relative row
  references shifted (shared formulas are expanded to plain ones); array and
  data-table formulas are not carried (the cell keeps its style, a warning is
  returned). An Excel table ending on that row is extended; a table with a
  totals row there is refused (rows cannot be inserted above it yet).
* ``delete_rows`` clears the values of the rows' cells and keeps their styles
  and formulas (formulas are reported as skipped). Rows are not removed and
  nothing below moves, so no reference anywhere in the workbook breaks.
* The new file is written beside the old one, fsynced and swapped in with
  ``os.replace``; the old one is kept under ``.sheetsync/backups/`` (hard link
  when possible). Killing the process at any moment leaves the old or the new
  workbook, plus at worst a stray ``.<name>.sheetsync-<pid>.tmp`` file, which
  the next run removes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from ...atomic import (
    check_not_open,
    clean_stale_temps,
    fsync_file,
    make_backup,
    replacing,
    same_file,
    temp_beside,
)
from ...errors import RefusedError
from ...grid import a1
from ..changes import CellWrite, RowAppend
from .deps import Dirty, Formula, defined_names, stale_cells
from .formulas import has_formula_tag
from .package import Package, check_workbook, open_checked, open_zip, set_full_calc
from .refs import parse_ref
from .result import PatchResult
from .sheet import Sheet
from .zipcopy import rewrite_zip


def patch_workbook(
    path: Path,
    writes: Iterable[CellWrite],
    appends: Iterable[RowAppend] = (),
    delete_rows: Mapping[str, Iterable[int]] | None = None,
    *,
    backups: int = 1,
    backup_dir: Path | None = None,
    expected_sha256: str | None = None,
    force: bool = False,
) -> PatchResult:
    """Write cell values, append rows and clear rows in a workbook, losslessly.

    Refuses (``RefusedError``) when Excel or LibreOffice has the file open, or
    when ``expected_sha256`` no longer matches the file, unless ``force``.
    Raises ``WorkbookError`` for a file that is not a readable .xlsx/.xlsm.
    Writes nothing when there is nothing to change.
    """
    path = Path(path)
    writes = list(writes)
    appends = list(appends)
    deletes = {s: sorted(set(rows)) for s, rows in (delete_rows or {}).items()}
    for w in writes:
        parse_ref(w.ref)  # fail fast on a bad ref, before touching anything
    check_workbook(path)
    if not force:
        check_not_open(path)
    if path.is_symlink():  # write through the link, keep the link
        path = Path(os.path.realpath(path))
        if not force:
            check_not_open(path)
    result = PatchResult()
    with open_checked(path) as f:
        if expected_sha256 is not None and not force:
            actual = _sha256_of(f)
            if actual != expected_sha256.lower():
                raise RefusedError(
                    f"{path.name}: the workbook changed since sheetsync last read it",
                    hint="run `sheetsync sync` to merge, or use --force to overwrite",
                )
        with open_zip(path, f) as zf:
            pkg = Package(path, zf)
            replacements = _plan(pkg, writes, appends, deletes, result)
            if not replacements:
                return result
            parent = path.parent
            clean_stale_temps(parent, path.name)
            with replacing(path, temp_beside(path)) as tmp:
                with open(tmp, "wb") as out:
                    rewrite_zip(f, zf, out, replacements)
                    fsync_file(out)
                with contextlib.suppress(OSError):
                    os.chmod(tmp, os.fstat(f.fileno()).st_mode & 0o7777)
                if not force and not same_file(f, path):
                    raise RefusedError(
                        f"{path.name}: the workbook was saved by someone else while sheetsync wrote it",
                        hint="run `sheetsync sync` to merge, or use --force to overwrite",
                    )
                if backups > 0:
                    result.backup = make_backup(
                        path, backup_dir or parent / ".sheetsync" / "backups", backups
                    )
    result.changed = True
    return result


def _plan(
    pkg: Package,
    writes: list[CellWrite],
    appends: list[RowAppend],
    deletes: dict[str, list[int]],
    result: PatchResult,
) -> dict[str, bytes | list[bytes | memoryview]]:
    sheets = list(
        dict.fromkeys([w.sheet for w in writes] + [a.sheet for a in appends] + list(deletes))
    )
    replacements: dict[str, bytes | list[bytes | memoryview]] = {}
    formulas_seen = False
    dirty = Dirty()
    for name in sheets:
        part = pkg.sheet_part(name)
        ws = Sheet(pkg.read(part), pkg.date1904, pkg.date_style, where=part)
        counts = (len(result.written), len(result.appended_rows), len(result.deleted_rows))
        table_edits = ws.apply(
            name,
            [w for w in writes if w.sheet == name],
            [a for a in appends if a.sheet == name],
            deletes.get(name, []),
            pkg.tables_of(part),
            result,
        )
        if ws.edits:
            replacements[part] = ws.pieces()
            replacements.update(table_edits)
            for w in result.written[counts[0] :]:
                dirty.add(name, *parse_ref(w.ref))
            for num in result.appended_rows[counts[1] :] + result.deleted_rows[counts[2] :]:
                dirty.add_row(name, num)
        formulas_seen = formulas_seen or ws.has_formulas()
    if replacements:
        wb = pkg.read(pkg.workbook_part)
        if formulas_seen or pkg.any_formulas(exclude=set(replacements)):
            _drop_stale_results(pkg, wb, dirty, replacements, result)
            new_wb = set_full_calc(wb)
            if new_wb != wb:
                replacements[pkg.workbook_part] = new_wb
    return replacements


def _drop_stale_results(
    pkg: Package,
    wb: bytes,
    dirty: Dirty,
    replacements: dict[str, bytes | list[bytes | memoryview]],
    result: PatchResult,
) -> None:
    """Remove the cached result of every formula cell, on any sheet, that may
    depend on a cell this patch changed (see ``deps``), so that no reader
    sees an old result; Excel and LibreOffice recalculate on open."""
    sheets: dict[str, Sheet] = {}
    formulas: list[Formula] = []
    for name, part in pkg.sheets.items():
        if part is None or part.lower() not in pkg.names:
            continue
        part = pkg.names[part.lower()]
        new = replacements.get(part)
        data = pkg.read(part) if new is None else b"".join(new) if isinstance(new, list) else new
        if not has_formula_tag(data, None):
            continue
        ws = Sheet(data, where=part)
        sheets[name] = ws
        formulas += ws.formulas(name)
    names = defined_names(wb)
    for name, cells in stale_cells(formulas, dirty, names).items():
        ws = sheets[name]
        if ws.drop_cached(cells):
            part = pkg.sheet_part(name)
            replacements[part] = ws.pieces()
            result.uncached.update((name, a1(r, c)) for r, c in cells)


def _sha256_of(f: BinaryIO) -> str:
    """SHA-256 (hex) of the whole open file; its position is left at the start."""
    f.seek(0)
    digest = hashlib.file_digest(f, "sha256").hexdigest()
    f.seek(0)
    return digest

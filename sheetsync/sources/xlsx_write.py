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
  never left for a reader that does not recalculate (``xlsx_deps`` decides,
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

import bisect
import contextlib
import hashlib
import math
import os
import posixpath
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET

from ..errors import RefusedError, WorkbookError
from ..grid import column_index, column_letter, to_serial
from .changes import CellValue, CellWrite, RowAppend, file_sha256
from .xlsx_deps import Dirty, Formula, Parsed, defined_names, parse_formula, stale_cells

__all__ = [
    "CellWrite",
    "PatchResult",
    "RowAppend",
    "file_sha256",
    "formula_cells",
    "patch_workbook",
    "shift_formula",
    "uncalculated_cells",
]


MAX_ROW = 1_048_576
MAX_COL = 16_384
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.sheetsync-(?P<pid>\d+)\.tmp$")


# ----------------------------------------------------------------------------- public API


@dataclass
class PatchResult:
    """What ``patch_workbook`` did. ``backup`` is None when nothing was written."""

    written: list[CellWrite] = field(default_factory=list)
    skipped_formulas: list[CellWrite] = field(default_factory=list)
    appended_rows: list[int] = field(default_factory=list)
    deleted_rows: list[int] = field(default_factory=list)
    backup: Path | None = None
    warnings: list[str] = field(default_factory=list)
    changed: bool = False
    uncached: set[tuple[str, str]] = field(default_factory=set)  # (sheet, ref): result removed


def formula_cells(path: Path, sheet: str) -> set[str]:
    """Refs (``"B7"``) of the cells of ``sheet`` that hold or are covered by a formula."""
    path = Path(path)
    _check_package(path)
    with _open_checked(path) as f, _zip(path, f) as zf:
        pkg = _Package(path, zf)
        part = pkg.sheet_part(sheet)
        ws = _Sheet(pkg.read(part), where=part)
        return {_ref(r, c) for r, c in ws.formula_positions()}


def uncalculated_cells(path: Path, sheets: Iterable[str]) -> dict[str, set[str]]:
    """Refs of the formula cells with no calculated result (no cached ``<v>``),
    per sheet: what a push leaves until Excel or LibreOffice recalculates.
    Only looked for when the workbook asks to be recalculated on open
    (``fullCalcOnLoad``, as a push sets it); otherwise ``{}`` at once."""
    path = Path(path)
    with _open_checked(path) as f, _zip(path, f) as zf:
        pkg = _Package(path, zf)
        if not _FULL_CALC.search(pkg.read(pkg.workbook_part)):
            return {}
        out: dict[str, set[str]] = {}
        for sheet in sheets:
            try:
                part = pkg.sheet_part(sheet)
            except WorkbookError:
                continue
            refs = _uncalculated_streamed(zf, pkg.names[part.lower()], part)
            if refs:
                out[sheet] = refs
        return out


SCAN_PIECE = 1 << 22  # bytes of a sheet's XML looked at at a time


def _uncalculated_streamed(zf: zipfile.ZipFile, name: str, where: str) -> set[str]:
    """``_Sheet.uncalculated`` of a sheet's XML read a piece at a time, each
    piece cut after its last closed cell, so a big sheet is never held whole."""
    out: set[str] = set()
    data = b""
    prefix: bytes | None = None  # the namespace prefix of <sheetData>, once met
    close = b""
    with zf.open(name) as f:
        while True:
            piece = f.read(SCAN_PIECE)
            data += piece
            if prefix is None:
                m = _SHEET_DATA.search(data)
                if m is None:
                    if piece:
                        continue
                    return out  # no cells at all (the reader says what is wrong)
                prefix, data = m.group(1), data[m.start() :]
                close = b"</" + prefix + b"c>"
            cut = data.rfind(close) if piece else len(data)
            if cut < 0:
                continue
            cut += len(close) if piece else 0
            part, data = data[:cut], data[cut:]
            if not part.startswith(b"<" + prefix + b"sheetData"):
                part = b"<" + prefix + b"sheetData>" + part
            out |= _Sheet(part + b"</" + prefix + b"sheetData>", where=where).uncalculated()
            if not piece:
                return out


_SHEET_DATA = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData\b")


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
        _parse_ref(w.ref)  # fail fast on a bad ref, before touching anything
    _check_package(path)
    if not force:
        check_not_open(path)
    if path.is_symlink():  # write through the link, keep the link
        path = Path(os.path.realpath(path))
        if not force:
            check_not_open(path)
    result = PatchResult()
    with _open_checked(path) as f:
        if expected_sha256 is not None and not force:
            actual = _sha256_of(f)
            if actual != expected_sha256.lower():
                raise RefusedError(
                    f"{path.name}: the workbook changed since sheetsync last read it",
                    hint="run `sheetsync sync` to merge, or use --force to overwrite",
                )
        with _zip(path, f) as zf:
            pkg = _Package(path, zf)
            replacements = _plan(pkg, writes, appends, deletes, result)
            if not replacements:
                return result
            parent = path.parent
            _clean_stale_temps(parent, path.name)
            tmp = parent / f".{path.name}.sheetsync-{os.getpid()}.tmp"
            try:
                with open(tmp, "wb") as out:
                    _rewrite_zip(f, zf, out, replacements)
                    out.flush()
                    os.fsync(out.fileno())
                with contextlib.suppress(OSError):
                    os.chmod(tmp, os.fstat(f.fileno()).st_mode & 0o7777)
                if not force and not _same_file(f, path):
                    raise RefusedError(
                        f"{path.name}: the workbook was saved by someone else while sheetsync wrote it",
                        hint="run `sheetsync sync` to merge, or use --force to overwrite",
                    )
                if backups > 0:
                    result.backup = _make_backup(
                        path, backup_dir or parent / ".sheetsync" / "backups", backups
                    )
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            _fsync_dir(parent)
    result.changed = True
    return result


# ----------------------------------------------------------------------------- planning


def _plan(
    pkg: _Package,
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
        ws = _Sheet(pkg.read(part), pkg.date1904, pkg.date_style, where=part)
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
                dirty.add(name, *_parse_ref(w.ref))
            for num in result.appended_rows[counts[1] :] + result.deleted_rows[counts[2] :]:
                dirty.add_row(name, num)
        formulas_seen = formulas_seen or ws.has_formulas()
    if replacements:
        wb = pkg.read(pkg.workbook_part)
        if formulas_seen or pkg.any_formulas(exclude=set(replacements)):
            _drop_stale_results(pkg, wb, dirty, replacements, result)
            new_wb = _set_full_calc(wb)
            if new_wb != wb:
                replacements[pkg.workbook_part] = new_wb
    return replacements


def _drop_stale_results(
    pkg: _Package,
    wb: bytes,
    dirty: Dirty,
    replacements: dict[str, bytes | list[bytes | memoryview]],
    result: PatchResult,
) -> None:
    """Remove the cached result of every formula cell, on any sheet, that may
    depend on a cell this patch changed (see ``xlsx_deps``), so that no reader
    sees an old result; Excel and LibreOffice recalculate on open."""
    sheets: dict[str, _Sheet] = {}
    formulas: list[Formula] = []
    for name, part in pkg.sheets.items():
        if part is None or part.lower() not in pkg.names:
            continue
        part = pkg.names[part.lower()]
        new = replacements.get(part)
        data = pkg.read(part) if new is None else b"".join(new) if isinstance(new, list) else new
        if not _has_formula_tag(data, None):
            continue
        ws = _Sheet(data, where=part)
        sheets[name] = ws
        formulas += ws.formulas(name)
    names = defined_names(wb)
    for name, cells in stale_cells(formulas, dirty, names).items():
        ws = sheets[name]
        if ws.drop_cached(cells):
            part = pkg.sheet_part(name)
            replacements[part] = ws.pieces()
            result.uncached.update((name, _ref(r, c)) for r, c in cells)


# ----------------------------------------------------------------------------- package


@contextlib.contextmanager
def _open_checked(path: Path) -> Iterator[BinaryIO]:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise WorkbookError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise WorkbookError(f"{path}: is a folder, not a workbook") from None
    except OSError as e:
        raise WorkbookError(f"{path}: cannot be opened ({e.strerror})") from None
    try:
        head = f.read(8)
        f.seek(0)
        if head == CFB_MAGIC:
            raise WorkbookError(
                f"{path.name}: is password-protected (encrypted) or an old .xls file; sheetsync cannot write it",
                hint="remove the password in Excel (or save as .xlsx) and run again",
            )
        yield f
    finally:
        f.close()


@contextlib.contextmanager
def _zip(path: Path, f: BinaryIO) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise WorkbookError(f"{path.name}: is not an Excel workbook (.xlsx/.xlsm): {e}") from None
    try:
        yield zf
    except (zipfile.BadZipFile, zlib.error, EOFError, ET.ParseError, _BadSheet) as e:
        raise WorkbookError(f"{path.name}: is a damaged workbook ({e})") from None
    finally:
        zf.close()


def _check_package(path: Path) -> None:
    """The reader's safety checks: not a workbook, encrypted, zip bomb, DTD (one-line errors)."""
    from .xlsx import check_workbook  # imported here: xlsx may import this module

    check_workbook(path)


def _sha256_of(f: BinaryIO) -> str:
    h = hashlib.sha256()
    f.seek(0)
    while chunk := f.read(1 << 20):
        h.update(chunk)
    f.seek(0)
    return h.hexdigest()


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target)).lstrip("/")


class _Package:
    """The zip's parts, the workbook's sheets and their tables (read-only)."""

    def __init__(self, path: Path, zf: zipfile.ZipFile) -> None:
        self.path = path
        self.zf = zf
        self.names = {i.filename.lower(): i.filename for i in zf.infolist()}
        self.workbook_part = "xl/workbook.xml"
        for rel in self._rels(""):
            if rel[1].endswith("/officeDocument"):
                self.workbook_part = rel[2]
        if self.workbook_part.lower() not in self.names:
            raise WorkbookError(
                f"{path.name}: is a zip file but not an Excel workbook (no {self.workbook_part})"
            )
        wb = ET.fromstring(self.read(self.workbook_part))
        self.date1904 = False
        self.sheets: dict[str, str | None] = {}
        rels = {rid: (typ, target) for rid, typ, target in self._rels(self.workbook_part)}
        for el in wb.iter():
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "workbookPr":
                self.date1904 = el.get("date1904", "").lower() in ("1", "true")
            elif tag == "sheet":
                typ, target = rels.get(el.get(f"{{{_NS_REL}}}id", ""), ("", ""))
                self.sheets[el.get("name", "")] = target if typ.endswith("/worksheet") else None
        self._date_style: int | None | bool = False

    def read(self, part: str) -> bytes:
        return self.zf.read(self.names[part.lower()])

    def _rels(self, part: str) -> list[tuple[str, str, str]]:
        d, b = posixpath.split(part)
        rels_part = posixpath.join(d, "_rels", b + ".rels")
        if rels_part.lower() not in self.names:
            return []
        out = []
        for el in ET.fromstring(self.read(rels_part)):
            if el.get("TargetMode") == "External":
                continue
            out.append(
                (el.get("Id", ""), el.get("Type", ""), _resolve(part or "/", el.get("Target", "")))
            )
        return out

    def sheet_part(self, sheet: str) -> str:
        names = self.sheets
        key = (
            sheet
            if sheet in names
            else next((n for n in names if n.lower() == sheet.lower()), None)
        )
        if key is None:
            listed = ", ".join(repr(n) for n in names)
            raise WorkbookError(f"{self.path.name}: has no sheet {sheet!r} (sheets: {listed})")
        part = names[key]
        if part is None or part.lower() not in self.names:
            raise WorkbookError(
                f"{self.path.name}: sheet {key!r} is a chart sheet or missing; it holds no cells"
            )
        return self.names[part.lower()]

    def tables_of(self, sheet_part: str) -> list[tuple[str, bytes]]:
        return [
            (self.names[t.lower()], self.read(t))
            for _, typ, t in self._rels(sheet_part)
            if typ.endswith("/table") and t.lower() in self.names
        ]

    @property
    def date_style(self) -> int | None:
        """Index of the first cell format showing a date, or None."""
        if self._date_style is False:
            self._date_style = None
            styles = next((n for k, n in self.names.items() if k == "xl/styles.xml"), None)
            if styles:
                self._date_style = _find_date_style(self.zf.read(styles))
        return self._date_style  # type: ignore[return-value]

    def any_formulas(self, exclude: set[str]) -> bool:
        """Whether any worksheet not in ``exclude`` holds a formula (streamed)."""
        for part in self.sheets.values():
            if (
                part is None
                or part.lower() not in self.names
                or self.names[part.lower()] in exclude
            ):
                continue
            tail = b""
            with self.zf.open(self.names[part.lower()]) as fh:
                while chunk := fh.read(1 << 20):
                    if _has_formula_tag(tail + chunk, None):
                        return True
                    tail = chunk[-64:]
        return False


_DATE_FMT_IDS = {14, 15, 16, 17, 22}


def _find_date_style(styles: bytes) -> int | None:
    root = ET.fromstring(styles)
    custom: set[int] = set()
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == "numFmt":
            code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", el.get("formatCode", "")).lower()
            if re.search(r"[dy]", code) and "0" not in code:
                custom.add(int(el.get("numFmtId", "-1")))
    for el in root:
        if el.tag.rsplit("}", 1)[-1] == "cellXfs":
            for i, xf in enumerate(el):
                fid = int(xf.get("numFmtId", "0"))
                if fid in _DATE_FMT_IDS or fid in custom:
                    return i
    return None


def _set_full_calc(wb: bytes) -> bytes:
    m = re.search(rb"<((?:[\w.-]+:)?)calcPr\b([^>]*?)(/?)>", wb)
    if m:
        attrs = m.group(2)
        fm = re.search(rb"""\sfullCalcOnLoad\s*=\s*(["'])(.*?)\1""", attrs)
        if fm:
            if fm.group(2) in (b"1", b"true"):
                return wb
            attrs = attrs[: fm.start()] + b' fullCalcOnLoad="1"' + attrs[fm.end() :]
        else:
            stripped = attrs.rstrip()
            attrs = stripped + b' fullCalcOnLoad="1"' + attrs[len(stripped) :]
        tag = b"<" + m.group(1) + b"calcPr" + attrs + m.group(3) + b">"
        return wb[: m.start()] + tag + wb[m.end() :]
    root = re.search(rb"<((?:[\w.-]+:)?)workbook\b", wb)
    prefix = root.group(1) if root else b""
    # calcPr comes after definedNames and before these (CT_Workbook sequence).
    later = rb"oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|webPublishing|fileRecoveryPr|webPublishObjects|extLst"
    nxt = re.search(rb"<" + re.escape(prefix) + rb"(?:" + later + rb")\b", wb)
    pos = nxt.start() if nxt else wb.rfind(b"</" + prefix + b"workbook>")
    if pos < 0:
        return wb
    return wb[:pos] + b"<" + prefix + b'calcPr fullCalcOnLoad="1"/>' + wb[pos:]


# ----------------------------------------------------------------------------- refs


_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


_col_index = column_index
_col_letters = column_letter


def _parse_ref(ref: str) -> tuple[int, int]:
    m = _REF_RE.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    row, col = int(m.group(2)), _col_index(m.group(1))
    if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        raise ValueError(f"cell reference out of the sheet: {ref!r}")
    return row, col


def _ref(row: int, col: int) -> str:
    return f"{_col_letters(col)}{row}"


def _parse_range(ref: str) -> tuple[int, int, int, int]:
    """(row1, col1, row2, col2) of ``A1:C5`` or ``A1``."""
    a, _, b = ref.partition(":")
    r1, c1 = _parse_ref(a)
    r2, c2 = _parse_ref(b) if b else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _range_ref(r1: int, c1: int, r2: int, c2: int) -> str:
    a, b = _ref(r1, c1), _ref(r2, c2)
    return a if a == b else f"{a}:{b}"


# ----------------------------------------------------------------------------- values


_XML_ESC = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_LITERAL_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")


def _xml_text(s: str) -> str:
    s = _LITERAL_ESCAPE.sub(r"_x005F_\1", s)
    s = _BAD_XML_CHARS.sub(lambda m: f"_x{ord(m.group()):04X}_", s)
    return s.translate(_XML_ESC)


def _xml_unescape(s: str) -> str:
    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        if e.startswith("#x"):
            return chr(int(e[2:], 16))
        if e.startswith("#"):
            return chr(int(e[1:]))
        return {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}.get(e, m.group())

    return re.sub(r"&(#x[0-9A-Fa-f]+|#[0-9]+|\w+);", one, s)


def _number(x: float | int) -> bytes:
    if isinstance(x, int):
        return str(x).encode()
    if not math.isfinite(x):
        raise ValueError(f"cannot write {x!r} into a cell")
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x)).encode()
    return repr(x).encode()


# ----------------------------------------------------------------------------- formulas


_F_ANY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
_F_ELEMENT = re.compile(rb"<((?:[\w.-]+:)?)f\b([^>]*?)(?:/>|>([^<]*)</(?:[\w.-]+:)?f>)")
_V_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?v\b(?:[^>]*/>|[^>]*>[^<]*</(?:[\w.-]+:)?v>)")
_F_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?f>")


def _has_formula_tag(data: bytes, prefix: bytes | None) -> bool:
    """Whether ``data`` holds an ``<f>`` element (one fast substring scan, then a regex).

    Every formula has a closing ``</f>`` (a shared formula's cells without text
    come with the master cell that has it), so the scan looks for that.
    """
    if prefix is not None:
        return b"</" + prefix + b"f>" in data
    return b"f>" in data and bool(_F_END.search(data))


_FORMULA_TOKENS = re.compile(
    r"""
      (?P<str>"(?:[^"]|"")*")
    | (?P<sheet>'(?:[^']|'')*')
    | (?P<br>\[(?:[^\[\]]|\[[^\[\]]*\])*\])
    | (?<![A-Za-z0-9_.$\\:])(?P<rows>\$?[0-9]{1,7}:\$?[0-9]{1,7})(?![A-Za-z0-9_.(:])
    | (?<![A-Za-z0-9_.\\])(?P<cell>\$?[A-Za-z]{1,3}\$?[0-9]{1,7})(?![A-Za-z0-9_.(\[!])
    """,
    re.VERBOSE,
)


def shift_formula(text: str, drow: int, dcol: int = 0) -> str | None:
    """``text`` with its relative A1 references moved by ``drow``/``dcol``; None if one falls off."""
    failed = False

    def shift_row(tok: str) -> str:
        nonlocal failed
        if tok.startswith("$"):
            return tok
        r = int(tok) + drow
        failed = failed or not 1 <= r <= MAX_ROW
        return str(r)

    def sub(m: re.Match[str]) -> str:
        nonlocal failed
        if m.group("rows"):
            a, b = m.group("rows").split(":")
            return f"{shift_row(a)}:{shift_row(b)}"
        tok = m.group("cell")
        if tok is None:
            return m.group()
        cm = re.match(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)$", tok)
        assert cm
        col = _col_index(cm.group(2))
        if col > MAX_COL:
            return tok
        if not cm.group(1):
            col += dcol
            failed = failed or not 1 <= col <= MAX_COL
        row = cm.group(4) if cm.group(3) else shift_row(cm.group(4))
        return f"{cm.group(1)}{_col_letters(max(col, 1))}{cm.group(3)}{row}"

    out = _FORMULA_TOKENS.sub(sub, text)
    return None if failed else out


# ----------------------------------------------------------------------------- worksheet XML


_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attrs(tag_attrs: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(tag_attrs)
    }


def _drop_attrs(tag_attrs: bytes, names: tuple[bytes, ...]) -> bytes:
    pat = (
        rb"""\s+(?:"""
        + b"|".join(re.escape(n) for n in names)
        + rb""")\s*=\s*(?:"[^"]*"|'[^']*')"""
    )
    return re.sub(pat, b"", tag_attrs)


def _set_attr(tag_attrs: bytes, name: bytes, value: bytes) -> bytes:
    pat = rb"""(\s)""" + re.escape(name) + rb"""\s*=\s*(?:"[^"]*"|'[^']*')"""
    new, n = re.subn(pat, lambda m: m.group(1) + name + b'="' + value + b'"', tag_attrs, count=1)
    return new if n else tag_attrs + b" " + name + b'="' + value + b'"'


@dataclass
class _Cell:
    col: int
    start: int  # absolute offsets into the sheet XML
    end: int
    attrs: bytes  # the raw attribute text of the open tag (leading space included)
    inner: bytes  # content between <c ...> and </c>; b"" when self-closing
    has_r: bool

    @property
    def formula(self) -> bool:
        return bool(_F_ANY.search(self.inner))

    @property
    def has_data(self) -> bool:
        return (
            self.formula
            or b"<" in self.inner
            and bool(re.search(rb"<(?:[\w.-]+:)?(?:v|is)\b", self.inner))
        )


_ROW_NUM = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")
_CELL_COL = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]{1,3})\$?\d+["']""")
_FULL_CALC = re.compile(rb"""\sfullCalcOnLoad\s*=\s*["'](?:1|true)["']""")
_CELL_REF = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]{1,3})\$?(\d+)["']""")


class _NoRowNumbers(Exception):
    pass


class _BadSheet(Exception):
    """Worksheet XML that cannot be patched safely."""


@dataclass
class _Row:
    num: int
    start: int
    open_end: int  # just after the open tag
    close_start: int  # start of </row> (== open_end when self-closing)
    end: int
    attrs: bytes
    self_closing: bool


class _Sheet:
    """One worksheet's XML, the edits planned on it and the splice that applies them."""

    def __init__(
        self,
        data: bytes,
        date1904: bool = False,
        date_style: int | None = None,
        where: str = "worksheet",
    ) -> None:
        self.where = where
        self.data = data
        self.date1904 = date1904
        self.date_style = date_style
        m = re.search(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData\b[^>]*?(/?)>", data)
        if not m:
            raise _BadSheet(f"{where} has no <sheetData>")
        self.p = m.group(1)
        self.sd_open = (m.start(), m.end(), bool(m.group(2)))
        if m.group(2):
            self.sd_body = (m.end(), m.end())
        else:
            close = data.find(b"</" + self.p + b"sheetData>", m.end())
            if close < 0:
                raise _BadSheet(f"{where}: <sheetData> is not closed")
            self.sd_body = (m.end(), close)
        self.edits: list[tuple[int, int, bytes]] = []
        self._rows: list[_Row] | None = None
        self._row_re = re.compile(rb"<" + re.escape(self.p) + rb"row\b([^>]*?)(/?)>")
        self._cell_full = re.compile(
            rb"<"
            + re.escape(self.p)
            + rb"c(?=[\s/>])([^>]*?)(?:/>|>(.*?)</"
            + re.escape(self.p)
            + rb"c>)",
            re.S,
        )
        self._cell_tag = re.compile(rb"<" + re.escape(self.p) + rb"c[\s/>]")
        self._row_close = b"</" + self.p + b"row>"
        self._cell_close = b"</" + self.p + b"c>"
        self._arrays: list[tuple[int, int, int, int]] | None = None
        self._no_row_numbers = False
        self._seen_nums: list[int] = []  # rows already located, for find_row
        self._seen: list[re.Match[bytes]] = []
        self._formulas: bool | None = None
        self._masters: dict[bytes, tuple[int, int, str] | None] = {}
        self.new_bounds: list[tuple[int, int]] = []

    # -- reading

    def _row_at(self, m: re.Match[bytes], num: int) -> _Row:
        if m.group(2):
            return _Row(num, m.start(), m.end(), m.end(), m.end(), m.group(1), True)
        c = self.data.find(self._row_close, m.end(), self.sd_body[1])
        if c < 0:
            raise _BadSheet(f"{self.where}: row {num} is not closed")
        return _Row(num, m.start(), m.end(), c, c + len(self._row_close), m.group(1), False)

    def _probe(self, pos: int) -> tuple[int, re.Match[bytes]] | None:
        """(number, tag match) of the first row whose tag starts at or after ``pos``."""
        m = self._row_re.search(self.data, pos, self.sd_body[1])
        if m is None:
            return None
        rm = _ROW_NUM.search(m.group(1))
        if rm is None:
            raise _NoRowNumbers
        num = int(rm.group(1))
        i = bisect.bisect_left(self._seen_nums, num)
        if i == len(self._seen_nums) or self._seen_nums[i] != num:
            self._seen_nums.insert(i, num)
            self._seen.insert(i, m)
        return num, m

    def find_row(self, num: int) -> tuple[_Row | None, int]:
        """(row ``num`` or None, the offset where it starts or would be inserted).

        Rows are in ascending order (the spec requires it), so this searches the
        byte range (interpolating, then halving, between rows already seen)
        instead of indexing every row; sheets whose rows lack ``r=`` fall back
        to a full index.
        """
        if self._rows is None and not self._no_row_numbers:
            try:
                return self._search_row(num)
            except _NoRowNumbers:
                self._no_row_numbers = True
        rows = self.rows()
        i = bisect.bisect_left([r.num for r in rows], num)
        if i < len(rows):
            return (rows[i] if rows[i].num == num else None), rows[i].start
        return None, self.sd_body[1]

    def _search_row(self, num: int) -> tuple[_Row | None, int]:
        nums, seen = self._seen_nums, self._seen
        i = bisect.bisect_left(nums, num)
        if i < len(nums) and nums[i] == num:
            return self._row_at(seen[i], num), seen[i].start()
        # every row starting at or after lo is numbered above lo_num; none in [hi, ...) is below hi_num
        lo, lo_num = (seen[i - 1].end(), nums[i - 1]) if i else (self.sd_body[0], 0)
        hi, hi_num = (seen[i].start(), nums[i]) if i < len(nums) else (self.sd_body[1], None)
        step = 0
        while hi - lo > 4096:
            step += 1
            if hi_num is not None and step % 2:  # interpolate: rows are mostly evenly sized
                mid = lo + (hi - lo) * (num - lo_num - 1) // max(hi_num - lo_num, 1)
                mid = min(max(mid - 256, lo), hi - 1)
            else:
                mid = (lo + hi) // 2
            found = self._probe(mid)
            if found is None or found[1].start() >= hi:
                hi = mid
            elif found[0] == num:
                return self._row_at(found[1], num), found[1].start()
            elif found[0] < num:
                lo, lo_num = found[1].end(), found[0]
            else:
                hi, hi_num = found[1].start(), found[0]
        pos = lo
        while (found := self._probe(pos)) is not None:
            n, m = found
            if n >= num:
                return (self._row_at(m, n) if n == num else None), m.start()
            pos = m.end()
        return None, self.sd_body[1]

    def rows_reversed(self) -> Iterator[_Row]:
        """Rows from the last one up."""
        if self._rows is not None or self._no_row_numbers:
            yield from reversed(self.rows())
            return
        start, pos = self.sd_body
        tag = b"<" + self.p + b"row"
        while (i := self.data.rfind(tag, start, pos)) >= 0:
            pos = i
            m = self._row_re.match(self.data, i, self.sd_body[1])
            if m is None:
                continue
            rm = _ROW_NUM.search(m.group(1))
            if rm is None:
                self._no_row_numbers = True
                yield from reversed([r for r in self.rows() if r.start < i + 1])
                return
            yield self._row_at(m, int(rm.group(1)))

    def rows(self) -> list[_Row]:
        """Every row (a full index; only for sheets whose rows lack r=, and formula_cells)."""
        if self._rows is None:
            rows: list[_Row] = []
            data, pos, end = self.data, self.sd_body[0], self.sd_body[1]
            search, close, prev = self._row_re.search, self._row_close, 0
            r_attr = _ROW_NUM
            while (m := search(data, pos, end)) is not None:
                attrs = m.group(1)
                rm = r_attr.search(attrs)
                num = int(rm.group(1)) if rm else prev + 1
                if m.group(2):
                    rows.append(_Row(num, m.start(), m.end(), m.end(), m.end(), attrs, True))
                    pos = m.end()
                else:
                    c = data.find(close, m.end(), end)
                    if c < 0:
                        raise _BadSheet(f"{self.where}: row {num} is not closed")
                    pos = c + len(close)
                    rows.append(_Row(num, m.start(), m.end(), c, pos, attrs, False))
                prev = num
            self._rows = rows
        return self._rows

    def cells(self, row: _Row) -> list[_Cell]:
        out: list[_Cell] = []
        prev = 0
        for m in self._cell_full.finditer(self.data, row.open_end, row.close_start):
            attrs = m.group(1)
            rm = _CELL_COL.search(attrs)
            col = _col_index(rm.group(1).decode()) if rm else prev + 1
            out.append(_Cell(col, m.start(), m.end(), attrs, m.group(2) or b"", rm is not None))
            prev = col
        if len(self._cell_tag.findall(self.data, row.open_end, row.close_start)) != len(out):
            raise _BadSheet(f"{self.where}: a cell of row {row.num} is not closed")
        return out

    def has_formulas(self) -> bool:
        if self._formulas is None:
            self._formulas = _has_formula_tag(self.data, self.p)
        return self._formulas

    def arrays(self) -> list[tuple[int, int, int, int]]:
        """Ranges covered by array and data-table formulas."""
        if self._arrays is None:
            self._arrays = []
            if self.has_formulas() and (b"array" in self.data or b"dataTable" in self.data):
                for m in re.finditer(rb"<(?:[\w.-]+:)?f\b([^>]*)>", self.data):
                    a = _attrs(m.group(1))
                    if a.get(b"t") in (b"array", b"dataTable") and b"ref" in a:
                        with contextlib.suppress(ValueError):
                            self._arrays.append(_parse_range(a[b"ref"].decode()))
        return self._arrays

    def in_array(self, row: int, col: int) -> bool:
        return any(r1 <= row <= r2 and c1 <= col <= c2 for r1, c1, r2, c2 in self.arrays())

    def formula_positions(self) -> set[tuple[int, int]]:
        found: set[tuple[int, int]] = set()
        data = self.data
        for row in self.rows():
            if _F_ANY.search(data, row.open_end, row.close_start):
                found.update((row.num, c.col) for c in self.cells(row) if c.formula)
        for r1, c1, r2, c2 in self.arrays():
            found.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
        return found

    def formulas(self, sheet: str) -> list[Formula]:
        """Every formula of this sheet with what it refers to (shared formulas
        through their master, array formulas with the range they fill)."""
        out: list[Formula] = []
        parsed: dict[str, Parsed] = {}

        def parse(text: str) -> Parsed:
            if text not in parsed:
                parsed[text] = parse_formula(text)
            return parsed[text]

        data, p = self.data, self.p
        cell_open = b"<" + p + b"c"
        body_start, body_end = self.sd_body
        f_re = re.compile(
            rb"<" + re.escape(p) + rb"f\b([^>]*?)(?:/>|>([^<]*)</" + re.escape(p) + rb"f>)"
        )
        for m in f_re.finditer(data, body_start, body_end):
            at = data.rfind(cell_open, body_start, m.start())
            tag_end = data.find(b">", at)
            rm = _CELL_REF.search(data, at, tag_end) if at >= 0 else None
            if rm is None:  # a cell without r=: read the rows one by one
                return self._formulas_by_row(sheet, parse)
            row, col = int(rm.group(2)), _col_index(rm.group(1).decode())
            a = _attrs(m.group(1))
            kind = a.get(b"t", b"normal")
            text = _xml_unescape(m.group(2).decode()) if m.group(2) else ""
            f = self._formula(sheet, row, col, a, kind, text, parse)
            out.append(f)
        return out

    def _formulas_by_row(self, sheet: str, parse: Callable[[str], Parsed]) -> list[Formula]:
        out: list[Formula] = []
        data = self.data
        for row in self.rows():
            if not _F_ANY.search(data, row.open_end, row.close_start):
                continue
            for c in self.cells(row):
                m = _F_ELEMENT.search(c.inner)
                if not m:
                    continue
                a = _attrs(m.group(2))
                kind = a.get(b"t", b"normal")
                text = _xml_unescape((m.group(3) or b"").decode())
                out.append(self._formula(sheet, row.num, c.col, a, kind, text, parse))
        return out

    def _formula(
        self,
        sheet: str,
        row: int,
        col: int,
        a: dict[bytes, bytes],
        kind: bytes,
        text: str,
        parse: Callable[[str], Parsed],
    ) -> Formula:
        f = Formula(sheet, row, col, Parsed(unanalysable=True))
        if kind == b"shared" and not text:
            master = self._shared_master(a.get(b"si", b""))
            if master:
                mr, mc, mtext = master
                f = Formula(sheet, row, col, parse(mtext), row - mr, col - mc)
        elif kind in (b"normal", b"shared", b"array") and text:
            f.parsed = parse(text)
        if kind in (b"array", b"dataTable") and b"ref" in a:
            with contextlib.suppress(ValueError):
                f.outputs = _parse_range(a[b"ref"].decode())
        return f

    def uncalculated(self) -> set[str]:
        """Refs of the formula cells that hold no cached result."""
        data, p = self.data, self.p
        cell_open, cell_close = b"<" + p + b"c", b"</" + p + b"c>"
        body_start, body_end = self.sd_body
        v_tag = re.compile(rb"<" + re.escape(p) + rb"v\b")
        out = set()
        f_re = re.compile(rb"<" + re.escape(p) + rb"f\b")
        for m in f_re.finditer(data, body_start, body_end):
            at = data.rfind(cell_open, body_start, m.start())
            end = data.find(cell_close, m.end(), body_end)
            if at < 0 or end < 0 or v_tag.search(data, m.end(), end):
                continue
            rm = _CELL_REF.search(data, at, data.find(b">", at))
            if rm is not None:
                out.add(rm.group(1).decode().upper() + rm.group(2).decode())
        return out

    def drop_cached(self, cells: set[tuple[int, int]]) -> bool:
        """Remove the cached value (``<v>``, and ``t``) of these cells; True if any had one."""
        by_row: dict[int, set[int]] = {}
        for r, c in cells:
            by_row.setdefault(r, set()).add(c)
        before = len(self.edits)
        for num, cols in sorted(by_row.items()):
            row, _ = self.find_row(num)
            if row is None:
                continue
            for cell in self.cells(row):
                if cell.col not in cols:
                    continue
                inner = _V_ELEMENT.sub(b"", cell.inner)
                if inner == cell.inner:
                    continue
                attrs = _drop_attrs(cell.attrs, (b"t",))
                p = self.p
                xml = b"<" + p + b"c" + attrs + b">" + inner + b"</" + p + b"c>"
                self.edits.append((cell.start, cell.end, xml))
        return len(self.edits) > before

    def _shared_master(self, si: bytes) -> tuple[int, int, str] | None:
        """(row, col, text) of the master cell of shared formula ``si``."""
        if si not in self._masters:
            self._masters[si] = self._find_shared_master(si)
        return self._masters[si]

    def _find_shared_master(self, si: bytes) -> tuple[int, int, str] | None:
        for m in re.finditer(rb"<(?:[\w.-]+:)?f\b([^>]*)>([^<]*)<", self.data):
            a = _attrs(m.group(1))
            if a.get(b"t") == b"shared" and a.get(b"si") == si and b"ref" in a and m.group(2):
                r1, c1, _, _ = _parse_range(a[b"ref"].decode())
                return r1, c1, _xml_unescape(m.group(2).decode())
        return None

    # -- writing

    def _value_xml(self, attrs: bytes, value: CellValue, new: bool) -> bytes:
        p = self.p
        attrs = _drop_attrs(attrs, (b"t", b"vm", b"cm"))
        if isinstance(value, bool):
            return (
                b"<"
                + p
                + b"c"
                + attrs
                + b' t="b"><'
                + p
                + b"v>"
                + (b"1" if value else b"0")
                + b"</"
                + p
                + b"v></"
                + p
                + b"c>"
            )
        if isinstance(value, date | datetime):
            if self.date_style is not None and not re.search(rb"\ss\s*=", attrs):
                attrs += b' s="' + str(self.date_style).encode() + b'"'
            value = to_serial(value, date1904=self.date1904, phantom_leap_day=True)
        if isinstance(value, int | float):
            return (
                b"<"
                + p
                + b"c"
                + attrs
                + b"><"
                + p
                + b"v>"
                + _number(value)
                + b"</"
                + p
                + b"v></"
                + p
                + b"c>"
            )
        if value is None:
            return b"<" + p + b"c" + attrs + b"/>"
        if isinstance(value, str):
            text = _xml_text(value).encode()
            space = b' xml:space="preserve"' if value != value.strip() or "\n" in value else b""
            return (
                b"<"
                + p
                + b"c"
                + attrs
                + b' t="inlineStr"><'
                + p
                + b"is><"
                + p
                + b"t"
                + space
                + b">"
                + text
                + b"</"
                + p
                + b"t></"
                + p
                + b"is></"
                + p
                + b"c>"
            )
        try:
            return self._value_xml(attrs, float(value), new)  # Decimal, numpy numbers...
        except (TypeError, ValueError):
            raise TypeError(f"cannot write a {type(value).__name__} into a cell") from None

    def _row_xml(self, num: int, attrs: bytes, cells: list[bytes]) -> bytes:
        p = self.p
        attrs = b' r="' + str(num).encode() + b'"' + _drop_attrs(attrs, (b"r",))
        if not cells:
            return b"<" + p + b"row" + attrs + b"/>"
        return b"<" + p + b"row" + attrs + b">" + b"".join(cells) + b"</" + p + b"row>"

    def _patch_row(
        self, sheet: str, row: _Row, values: dict[int, tuple[CellValue, bool]], result: PatchResult
    ) -> None:
        """Write ``values`` (col → (value, is_delete)) into an existing row."""
        cells = self.cells(row)
        by_col = {c.col: c for c in cells}
        replaced: list[tuple[int, int, bytes]] = []
        inserts: dict[int, list[bytes]] = {}  # position → new cells
        new_cols: list[int] = []
        for col, (value, is_delete) in sorted(values.items()):
            ref = _ref(row.num, col)
            cell = by_col.get(col)
            if (cell is not None and cell.formula) or self.in_array(row.num, col):
                if not is_delete or (cell is not None and cell.has_data):
                    result.skipped_formulas.append(CellWrite(sheet, ref, value))
                continue
            if is_delete and (cell is None or not cell.has_data):
                continue
            if cell is not None:
                attrs = cell.attrs if cell.has_r else b' r="' + ref.encode() + b'"' + cell.attrs
                replaced.append((cell.start, cell.end, self._value_xml(attrs, value, False)))
            elif value is None:
                continue
            else:
                pos = next((c.start for c in cells if c.col > col), row.close_start)
                inserts.setdefault(pos, []).append(
                    self._value_xml(b' r="' + ref.encode() + b'"', value, True)
                )
                new_cols.append(col)
            if not is_delete:
                result.written.append(CellWrite(sheet, ref, value))
        # (A cell without r= sits right after its left neighbour, so no insert can land
        # between the two: cells after an insert never need pinning.)
        if new_cols and row.self_closing:
            # <row .../> becomes <row ...>cells</row>
            cells_xml = b"".join(b"".join(v) for _, v in sorted(inserts.items()))
            attrs = self._widen_spans(row.attrs, new_cols)
            self.edits.append(
                (
                    row.start,
                    row.end,
                    b"<" + self.p + b"row" + attrs + b">" + cells_xml + self._row_close,
                )
            )
            self.new_bounds.extend((row.num, c) for c in new_cols)
            return
        if new_cols:
            attrs = self._widen_spans(row.attrs, new_cols)
            if attrs != row.attrs:
                self.edits.append((row.start, row.open_end, b"<" + self.p + b"row" + attrs + b">"))
            self.new_bounds.extend((row.num, c) for c in new_cols)
        for pos, xs in inserts.items():
            self.edits.append((pos, pos, b"".join(xs)))
        self.edits.extend(replaced)

    @staticmethod
    def _widen_spans(attrs: bytes, cols: list[int]) -> bytes:
        m = re.search(rb"""\sspans\s*=\s*["'](\d+):(\d+)["']""", attrs)
        if not m:
            return attrs
        lo, hi = min(int(m.group(1)), *cols), max(int(m.group(2)), *cols)
        if (lo, hi) == (int(m.group(1)), int(m.group(2))):
            return attrs
        return _set_attr(attrs, b"spans", f"{lo}:{hi}".encode())

    def apply(
        self,
        sheet: str,
        writes: list[CellWrite],
        appends: list[RowAppend],
        deletes: list[int],
        tables: list[tuple[str, bytes]],
        result: PatchResult,
    ) -> dict[str, bytes]:
        """Plan every edit on this sheet; return the table parts that change."""
        by_row: dict[int, dict[int, tuple[CellValue, bool]]] = {}
        for num in deletes:
            row, _ = self.find_row(num)
            if row is not None:
                cols = {c.col: (None, True) for c in self.cells(row)}
                by_row.setdefault(num, {}).update(cols)
                result.deleted_rows.append(num)
        for w in writes:
            r, c = _parse_ref(w.ref)
            by_row.setdefault(r, {})[c] = (w.value, False)

        table_parts: dict[str, bytes] = {}
        new_rows: dict[int, tuple[bytes, list[tuple[int, bytes]]]] = {}
        if appends:
            written_rows = [
                r for r, vals in by_row.items() if any(v is not None for v, _ in vals.values())
            ]
            new_rows, table_parts = self._plan_appends(
                sheet, appends, tables, max(written_rows, default=0), result
            )

        for num, values in sorted(by_row.items()):
            row, _ = self.find_row(num)
            if num in new_rows:
                raise ValueError(f"'{sheet}'!row {num}: written and appended in the same patch")
            if row is not None:
                self._patch_row(sheet, row, values, result)
            else:
                cells = []
                for col, (value, is_delete) in sorted(values.items()):
                    if is_delete or value is None:
                        continue
                    ref = _ref(num, col)
                    cells.append((col, self._value_xml(b' r="' + ref.encode() + b'"', value, True)))
                    result.written.append(CellWrite(sheet, ref, value))
                    self.new_bounds.append((num, col))
                if cells:
                    new_rows[num] = (b"", cells)

        # Place new rows in row order; merge into a row element that already exists.
        for num in sorted(new_rows):
            row_attrs, cells = new_rows[num]
            row, pos = self.find_row(num)
            if row is not None:
                self._merge_row(row, cells)
            else:
                self.edits.append((pos, pos, self._row_xml(num, row_attrs, [x for _, x in cells])))
        if self.edits and self.sd_open[2]:
            # <sheetData/> → <sheetData>...</sheetData>
            s, e, _ = self.sd_open
            tag = self.data[s:e]
            self.edits.append((s, e, tag[:-2].rstrip() + b">"))
            self.edits.append((e, e, b"</" + self.p + b"sheetData>"))
        if self.edits:
            self._update_dimension()
        return table_parts

    def _merge_row(self, row: _Row, new: list[tuple[int, bytes]]) -> None:
        """Put ``new`` cells into an existing row; its cells holding data win."""
        old = self.cells(row)
        keep = {c.col: c for c in old}
        merged: list[tuple[int, bytes | memoryview]] = []
        view = memoryview(self.data)
        for col, xml in new:
            c = keep.get(col)
            if c is None or not c.has_data:
                keep.pop(col, None)
                merged.append((col, xml))
        for c in keep.values():
            raw = view[c.start : c.end]
            if not c.has_r:
                raw = (
                    b"<"
                    + self.p
                    + b"c"
                    + b' r="'
                    + _ref(row.num, c.col).encode()
                    + b'"'
                    + bytes(raw)[len(self.p) + 2 :]
                )
            merged.append((c.col, raw))
        merged.sort(key=lambda x: x[0])
        attrs = self._widen_spans(row.attrs, [c for c, _ in merged])
        body = b"".join(bytes(x) for _, x in merged)
        self.edits.append(
            (row.start, row.end, b"<" + self.p + b"row" + attrs + b">" + body + self._row_close)
        )

    def _plan_appends(
        self,
        sheet: str,
        appends: list[RowAppend],
        tables: list[tuple[str, bytes]],
        written_to: int,
        result: PatchResult,
    ) -> tuple[dict[int, tuple[bytes, list[tuple[int, bytes]]]], dict[str, bytes]]:
        want = {_col_index(k) for a in appends for k in a.values}
        for k in (k for a in appends for k in a.values):
            if not re.fullmatch(r"[A-Za-z]{1,3}", k) or _col_index(k) > MAX_COL:
                raise ValueError(f"not a column letter: {k!r}")
        # the template: the last row with data in one of the appended columns
        template: _Row | None = None
        tcells: list[_Cell] = []
        for row in self.rows_reversed():
            cells = self.cells(row)
            if any(c.has_data and (not want or c.col in want) for c in cells):
                template, tcells = row, cells
                break
        # after the last data row, and after any row this patch writes values into
        last = max(template.num if template else 0, written_to)
        tinfo = [(part, xml, _table_info(xml)) for part, xml in tables]
        lo, hi = (min(want), max(want)) if want else (1, 1)
        extend: list[tuple[str, bytes, dict]] = []
        for part, xml, info in tinfo:
            if info is None:
                continue
            r1, c1, r2, c2 = info["range"]
            if r2 == last and c1 <= hi and lo <= c2:
                if info["totals"]:
                    raise WorkbookError(
                        f"'{sheet}': table {info['name']} ends with a totals row; sheetsync cannot add rows "
                        "above it yet",
                        hint="add the rows in Excel, or turn the totals row off",
                    )
                extend.append((part, xml, info))
                lo, hi = min(lo, c1), max(hi, c2)
        header_template = False
        if template is not None:
            # the block the data sits in: grow through neighbouring filled cells
            filled = {c.col for c in tcells if c.has_data}
            while lo - 1 in filled:
                lo -= 1
            while hi + 1 in filled:
                hi += 1
            header_template = any(
                info and info["range"][0] == last and info["header"] for _, _, info in tinfo
            )
        new_rows: dict[int, tuple[bytes, list[tuple[int, bytes]]]] = {}
        for i, ap in enumerate(appends):
            num = last + 1 + i
            if num > MAX_ROW:
                raise WorkbookError(f"'{sheet}': no room for more rows")
            values = {_col_index(k): v for k, v in ap.values.items()}
            cells_xml: list[tuple[int, bytes]] = []
            done: set[int] = set()
            for c in tcells if not header_template else []:
                if not lo <= c.col <= hi:
                    continue
                ref = _ref(num, c.col)
                style = _drop_attrs(c.attrs, (b"r", b"t", b"vm", b"cm"))
                attrs = b' r="' + ref.encode() + b'"' + style
                if c.formula:
                    fx = self._carry_formula(sheet, c, template.num if template else 0, num, result)  # type: ignore[union-attr]
                    if c.col in values:
                        result.skipped_formulas.append(CellWrite(sheet, ref, values[c.col]))
                    body = b">" + fx + self._cell_close if fx else b"/>"
                    cells_xml.append((c.col, b"<" + self.p + b"c" + attrs + body))
                elif c.col in values:
                    cells_xml.append((c.col, self._value_xml(attrs, values[c.col], True)))
                else:
                    cells_xml.append((c.col, b"<" + self.p + b"c" + attrs + b"/>"))
                done.add(c.col)
                self.new_bounds.append((num, c.col))
            for col, value in values.items():
                if col not in done:
                    xml = self._value_xml(b' r="' + _ref(num, col).encode() + b'"', value, True)
                    cells_xml.append((col, xml))
                    self.new_bounds.append((num, col))
            cells_xml.sort(key=lambda x: x[0])
            row_attrs = b""
            if template is not None and not header_template:
                row_attrs = _drop_attrs(template.attrs, (b"r", b"hidden", b"collapsed"))
                cols_here = [c for c, _ in cells_xml]
                if cols_here and re.search(rb"\sspans\s*=", row_attrs):
                    row_attrs = _set_attr(
                        row_attrs, b"spans", f"{min(cols_here)}:{max(cols_here)}".encode()
                    )
            new_rows[num] = (row_attrs, cells_xml)
            result.appended_rows.append(num)
        table_parts: dict[str, bytes] = {}
        last_new = last + len(appends)
        for part, xml, info in extend:
            r1, c1, _, c2 = info["range"]
            table_parts[part] = _extend_table(xml, _range_ref(r1, c1, last_new, c2))
        return new_rows, table_parts

    def _carry_formula(
        self, sheet: str, cell: _Cell, from_row: int, to_row: int, result: PatchResult
    ) -> bytes | None:
        m = re.search(rb"<((?:[\w.-]+:)?)f\b([^>]*?)(/?)>(?:([^<]*)</(?:[\w.-]+:)?f>)?", cell.inner)
        if not m:
            return None
        fp, a = m.group(1), _attrs(m.group(2))
        kind = a.get(b"t", b"normal")
        text: str | None = None
        ref = _ref(to_row, cell.col)
        if kind == b"normal" and m.group(4):
            text = shift_formula(_xml_unescape(m.group(4).decode()), to_row - from_row)
        elif kind == b"shared":
            master = self._shared_master(a.get(b"si", b""))
            if master:
                mr, mc, mtext = master
                text = shift_formula(mtext, to_row - mr, cell.col - mc)
        if text is None:
            result.warnings.append(
                f"'{sheet}'!{ref}: the formula of the row above ({kind.decode()}) was not carried down; "
                "the cell was left empty"
            )
            return None
        keep = b"".join(b" " + k + b'="' + v + b'"' for k, v in a.items() if k in (b"ca", b"aca"))
        return b"<" + fp + b"f" + keep + b">" + _xml_text(text).encode() + b"</" + fp + b"f>"

    def _update_dimension(self) -> None:
        if not self.new_bounds:
            return
        m = re.search(
            rb"<" + re.escape(self.p) + rb"""dimension\b[^>]*?\sref\s*=\s*(["'])([^"']*)\1""",
            self.data[: self.sd_open[0]],
        )
        if not m:
            return
        try:
            r1, c1, r2, c2 = _parse_range(m.group(2).decode())
        except ValueError:
            return
        rows = [r for r, _ in self.new_bounds]
        cols = [c for _, c in self.new_bounds]
        empty = self._row_re.search(self.data, *self.sd_body) is None
        if empty:
            r1, c1, r2, c2 = min(rows), min(cols), max(rows), max(cols)
        else:
            r1, c1, r2, c2 = min(r1, *rows), min(c1, *cols), max(r2, *rows), max(c2, *cols)
        new = _range_ref(r1, c1, r2, c2).encode()
        if new != m.group(2):
            self.edits.append((m.start(2), m.end(2), new))

    def pieces(self) -> list[bytes | memoryview]:
        """The patched XML as a list of byte pieces (slices of the original, not copies)."""
        view = memoryview(self.data)
        out: list[bytes | memoryview] = []
        pos = 0
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], e[1])):
            if start < pos:
                raise AssertionError("overlapping worksheet edits")
            out.append(view[pos:start])
            out.append(new)
            pos = end
        out.append(view[pos:])
        return out


def _table_info(xml: bytes) -> dict | None:
    m = re.search(rb"<(?:[\w.-]+:)?table\b([^>]*)>", xml)
    if not m:
        return None
    a = _attrs(m.group(1))
    try:
        rng = _parse_range(a.get(b"ref", b"").decode())
    except ValueError:
        return None
    return {
        "range": rng,
        "name": a.get(b"displayName", a.get(b"name", b"?")).decode(),
        "totals": int(a.get(b"totalsRowCount", b"0") or 0) > 0,
        "header": a.get(b"headerRowCount", b"1") != b"0",
    }


def _extend_table(xml: bytes, new_ref: str) -> bytes:
    ref_attr = re.compile(rb"""(\sref\s*=\s*)(["'])[^"']*\2""")
    out = xml
    for tag in (rb"table", rb"autoFilter"):
        m = re.search(rb"<(?:[\w.-]+:)?" + tag + rb"\b[^>]*>", out)
        if m:
            new_tag = ref_attr.sub(
                lambda r: r.group(1) + b'"' + new_ref.encode() + b'"', m.group(), count=1
            )
            out = out[: m.start()] + new_tag + out[m.end() :]
    return out


# ----------------------------------------------------------------------------- zip


_CD = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory file header, 46 bytes
_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, 30 bytes
_EOCD = struct.Struct("<IHHHHIIH")  # end of central directory, 22 bytes
_LEVELS = {0: 6, 1: 9, 2: 2, 3: 1}  # deflate option bits 1-2 → zlib level


class _RawUnsupported(Exception):
    pass


@dataclass
class _Entry:
    fields: list[int]
    tail: bytes  # name + extra + comment of the central record
    name: str

    @property
    def offset(self) -> int:
        return self.fields[16]


def _central_directory(f: BinaryIO) -> tuple[list[_Entry], bytes, int]:
    f.seek(0, 2)
    size = f.tell()
    f.seek(max(0, size - 65_557))
    tail = f.read()
    i = tail.rfind(b"PK\x05\x06")
    if i < 0 or len(tail) - i < 22:
        raise _RawUnsupported
    eocd = tail[i:]
    sig, disk, cd_disk, n_disk, n, cd_size, cd_off, clen = _EOCD.unpack(eocd[:22])
    eocd_pos = size - len(tail) + i
    if disk or cd_disk or n != n_disk or 0xFFFF in (n,) or 0xFFFFFFFF in (cd_size, cd_off):
        raise _RawUnsupported
    if cd_off + cd_size != eocd_pos or (i >= 20 and tail[i - 20 : i - 16] == b"PK\x06\x07"):
        raise _RawUnsupported
    f.seek(cd_off)
    cd = f.read(cd_size)
    entries: list[_Entry] = []
    pos = 0
    for _ in range(n):
        fields = list(_CD.unpack_from(cd, pos))
        if fields[0] != 0x02014B50:
            raise _RawUnsupported
        nlen, xlen, clen2 = fields[10], fields[11], fields[12]
        rec_end = pos + 46 + nlen + xlen + clen2
        raw_name = cd[pos + 46 : pos + 46 + nlen]
        name = raw_name.decode("utf-8" if fields[3] & 0x800 else "cp437")
        if 0xFFFFFFFF in (fields[8], fields[9], fields[16]) or fields[3] & 0x1:
            raise _RawUnsupported
        entries.append(_Entry(fields, cd[pos + 46 : rec_end], name))
        pos = rec_end
    if pos != cd_size:
        raise _RawUnsupported
    for e in entries:
        f.seek(e.offset)
        if f.read(4) != b"PK\x03\x04":
            raise _RawUnsupported
    return entries, eocd, cd_off


def _copy_range(f: BinaryIO, out: BinaryIO, start: int, end: int) -> None:
    f.seek(start)
    left = end - start
    while left > 0:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            raise zipfile.BadZipFile("truncated member")
        out.write(chunk)
        left -= len(chunk)


def _write_member(out: BinaryIO, e: _Entry, data: bytes | list[bytes | memoryview]) -> None:
    """Write a deflated member for ``e`` at out's position; update e's fields."""
    pieces = [data] if isinstance(data, bytes | bytearray | memoryview) else data
    flags = e.fields[3] & ~0x8  # no data descriptor
    level = _LEVELS[(flags >> 1) & 3] if e.fields[4] == 8 else 6
    name = e.tail[: e.fields[10]]
    start = out.tell()
    out.write(b"\0" * (30 + len(name)))
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc, usize, csize = 0, 0, 0
    for piece in pieces:
        if not len(piece):
            continue
        crc = zlib.crc32(piece, crc)
        usize += len(piece)
        chunk = comp.compress(piece)
        if chunk:
            csize += len(chunk)
            out.write(chunk)
    chunk = comp.flush()
    csize += len(chunk)
    out.write(chunk)
    if usize >= 0xFFFFFFFF or csize >= 0xFFFFFFFF:
        raise _RawUnsupported
    end = out.tell()
    version = max(e.fields[2], 20)
    out.seek(start)
    out.write(
        _LOCAL.pack(
            0x04034B50, version, flags, 8, e.fields[5], e.fields[6], crc, csize, usize, len(name), 0
        )
    )
    out.write(name)
    out.seek(end)
    e.fields[2], e.fields[3], e.fields[4] = version, flags, 8
    e.fields[7], e.fields[8], e.fields[9] = crc, csize, usize


def _rewrite_zip(
    f: BinaryIO,
    zf: zipfile.ZipFile,
    out: BinaryIO,
    replacements: Mapping[str, bytes | list[bytes | memoryview]],
) -> None:
    """Copy the package in ``f`` to ``out``, replacing the data of some members.

    Unchanged members are copied as raw bytes (local header, compressed data and
    data descriptor), in their order; their central records only get a new
    offset. Falls back to a member-by-member rewrite through ``zipfile`` (same
    data, same order, recompressed) for zip64 and other unusual archives.
    """
    try:
        entries, eocd, cd_start = _central_directory(f)
    except _RawUnsupported:
        _rewrite_zip_fallback(zf, out, replacements)
        return
    missing = set(replacements) - {e.name for e in entries}
    if missing:
        raise KeyError(f"no such members: {sorted(missing)}")
    physical = sorted(entries, key=lambda e: e.offset)
    first = physical[0].offset if physical else cd_start
    _copy_range(f, out, 0, first)
    new_offsets: dict[int, int] = {}
    for i, e in enumerate(physical):
        end = physical[i + 1].offset if i + 1 < len(physical) else cd_start
        new_offsets[id(e)] = out.tell()
        if e.name in replacements:
            _write_member(out, e, replacements[e.name])
        else:
            _copy_range(f, out, e.offset, end)
    cd_off = out.tell()
    if cd_off >= 0xFFFFFFFF:
        raise _RawUnsupported
    for e in entries:
        e.fields[16] = new_offsets[id(e)]
        out.write(_CD.pack(*e.fields))
        out.write(e.tail)
    cd_size = out.tell() - cd_off
    head = list(_EOCD.unpack(eocd[:22]))
    head[5], head[6] = cd_size, cd_off
    out.write(_EOCD.pack(*head))
    out.write(eocd[22:])


def _rewrite_zip_fallback(
    zf: zipfile.ZipFile, out: BinaryIO, replacements: Mapping[str, bytes | list[bytes | memoryview]]
) -> None:
    with zipfile.ZipFile(out, "w") as z:
        for info in zf.infolist():
            new = replacements.get(info.filename)
            if new is None:
                data = zf.read(info)
            else:
                data = new if isinstance(new, bytes) else b"".join(bytes(p) for p in new)
            zi = zipfile.ZipInfo(info.filename, info.date_time)
            zi.compress_type = info.compress_type if new is None else zipfile.ZIP_DEFLATED
            zi.external_attr, zi.create_system, zi.comment = (
                info.external_attr,
                info.create_system,
                info.comment,
            )
            z.writestr(zi, data)
        z.comment = zf.comment


# ----------------------------------------------------------------------------- safe writes


def check_not_open(path: Path) -> None:
    """Refuse (RefusedError) while Excel or LibreOffice has ``path`` open (its lock file)."""
    for lock in (path.parent / f"~${path.name}", path.parent / f".~lock.{path.name}#"):
        if lock.exists():
            raise RefusedError(
                f"{path.name}: is open in Excel or LibreOffice (lock file {lock.name} beside it)",
                hint="close it in Excel and run again, or use --force",
            )


def _same_file(f: BinaryIO, path: Path) -> bool:
    try:
        now = os.stat(path)
    except OSError:
        return False
    was = os.fstat(f.fileno())
    return (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) == (
        was.st_ino,
        was.st_dev,
        was.st_size,
        was.st_mtime_ns,
    )


def _clean_stale_temps(folder: Path, name: str) -> None:
    """Remove temp files left by sheetsync processes that were killed mid-write."""
    with contextlib.suppress(OSError):
        for p in folder.iterdir():
            m = _TMP_RE.match(p.name)
            if not m or m.group("name") != name:
                continue
            pid = int(m.group("pid"))
            if pid != os.getpid():
                try:
                    os.kill(pid, 0)
                    continue  # still running
                except ProcessLookupError:
                    pass
                except PermissionError:
                    continue
            with contextlib.suppress(OSError):
                p.unlink()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _make_backup(path: Path, folder: Path, keep: int) -> Path:
    """Keep the current file as ``<stem>.<timestamp><suffix>`` in ``folder``; rotate to ``keep``."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{path.stem}.{stamp}{path.suffix}"
    n = 0
    while target.exists():
        n += 1
        target = folder / f"{path.stem}.{stamp}-{n}{path.suffix}"
    try:
        os.link(path, target)
    except OSError:
        tmp = Path(tempfile.mkstemp(dir=folder, prefix=".backup-", suffix=".tmp")[1])
        try:
            shutil.copy2(path, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    _fsync_dir(folder)
    pat = re.compile(
        re.escape(path.stem) + r"\.\d{8}-\d{6}-\d{6}(?:-\d+)?" + re.escape(path.suffix) + "$"
    )
    ours = sorted((p for p in folder.iterdir() if pat.match(p.name)), key=lambda p: p.name)
    for old in ours[:-keep]:
        with contextlib.suppress(OSError):
            old.unlink()
    return target

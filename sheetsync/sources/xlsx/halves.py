"""A big sheet parsed by calamine in two halves at once, on two cores.

calamine parses a sheet's XML in one thread (Rust code, the GIL released):
most of the time of reading a big sheet. A sheet whose XML is big enough
(``SPLIT_MIN`` to ``SPLIT_MAX`` bytes, inflated) is cut between two rows near
its middle. Each half goes, in an uncompressed copy of the package whose other
parts are the workbook's own (a temporary file: unnamed on Linux, elsewhere
deleted as soon as calamine has it open), to a calamine of its own, in a
thread of its own. The rows come
out as a whole-sheet load gives them (``reader._row_chunks``): from row 1 and
column A.

The cut is made before a row tag of the sheet data that carries its row
number, greater than the number of the row tag before it, in XML with no
comment, CDATA or processing instruction (where a tag may be no tag; Excel
writes none) and one ``sheetData``. When either half is refused by calamine,
or their rows overlap once parsed, or anything about the cut is unsure, the
sheet is parsed whole instead. ``tests/test_xlsx_halves.py``
holds every sheet of the workbook corpus to the whole parse, cell for cell.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO

from ...errors import WorkbookError
from ...grid import CHUNK_ROWS
from ...threads import in_background
from .package import Package

# Inflated sheet XML worth two parses (about 17,000 to 135,000 rows of ten
# columns): below, one parse is as quick; above, the halves' copies of the XML
# would cost more memory than a pull of a sheet that big may take.
SPLIT_MIN = 8 << 20
SPLIT_MAX = 64 << 20

_SHEET_DATA = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?sheetData(?=[\s>/])")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*["'](\d+)["']""")


Chunks = Iterator[list[list[Any]]]


def cuttable(
    path: Path,
    sheets: list[str],
    *,
    min_bytes: int | None = None,
    max_bytes: int | None = None,
) -> dict[str, str]:
    """Which of ``sheets`` are worth parsing in halves, each with its XML
    part's name: those whose XML is ``min_bytes``..``max_bytes`` inflated (by
    default ``SPLIT_MIN``..``SPLIT_MAX``), on two cores or more. One look at
    the package, whatever the number of sheets."""
    if _cores() < 2:
        return {}
    low = SPLIT_MIN if min_bytes is None else min_bytes
    high = SPLIT_MAX if max_bytes is None else max_bytes
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            pkg = Package(path, zf)
            for sheet in sheets:
                with contextlib.suppress(WorkbookError):  # a chart sheet: no cells
                    member = pkg.sheet_part(sheet)
                    if low <= zf.getinfo(member).file_size <= high:
                        out[sheet] = member
    except Exception:  # noqa: BLE001 - a damaged package: the whole parse says what is wrong
        return {}
    return out


def split_rows(path: Path, sheet: str, member: str, whole: Callable[[], Chunks]) -> Chunks | None:
    """The rows of ``sheet`` (its XML part ``member``, from ``cuttable``) as
    ``reader._row_chunks`` gives a whole-sheet load's, a chunk at a time,
    parsed in two halves side by side; None when it cannot surely be cut: the
    caller parses it whole. ``whole``: the whole parse's chunks, for halves
    found to overlap once parsed."""
    try:
        loads = _start(path, sheet, member)
    except Exception:  # noqa: BLE001 - a damaged part: the whole parse says what is wrong
        return None
    return None if loads is None else _rows(loads, whole)


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _start(path: Path, sheet: str, member: str) -> list[Callable[[], Any]] | None:
    """Both halves' parses begun, the first as soon as its package is made
    (None: no certain cut; then a parse begun is left to finish on its own,
    its file already gone)."""
    with zipfile.ZipFile(path) as zf:
        xml = _inflate(path, zf.getinfo(member))
        cut = None if xml is None else _cut(xml)
        if xml is None or cut is None:
            return None
        # calamine reads the XML parts (workbook, styles, shared strings); the
        # others (pictures, macros) are left out of the halves' copies
        parts = {
            i.filename: zf.read(i)
            for i in zf.infolist()
            if i.filename != member and i.filename.lower().endswith((".xml", ".rels"))
        }
    head, at, end = cut
    view = memoryview(xml)
    halves = ((view[:at], view[end:]), (view[:head], view[at:]))
    loads = [in_background(_loader(_package(parts, member, h), sheet), "half") for h in halves]
    del view, halves
    # while calamine parses: a cut found uncertain throws both halves away
    return loads if _certain(xml) else None


def _inflate(path: Path, info: zipfile.ZipInfo) -> bytes | None:
    """A member's bytes, inflated in one call (zlib frees the GIL meanwhile)
    and checked against its CRC; None for what only ``zipfile`` should read
    (encrypted, another compression, a damaged header)."""
    if info.flag_bits & 1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        head = f.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            return None
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        raw = f.read(info.compress_size)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        data = zlib.decompress(raw, -15, info.file_size)
    else:
        data = raw
    return data if len(data) == info.file_size and zlib.crc32(data) == info.CRC else None


def _cut(xml: bytes) -> tuple[int, int, int] | None:
    """Where to cut a sheet's XML: the end of its ``<sheetData>`` tag, the start
    of the row tag nearest past the middle of the rows, and the start of
    ``</sheetData>``; None where no cut can be made, or where a tag may be no
    tag: a comment, CDATA or processing instruction past the declaration
    (``_opaque``). One more check waits for the halves' parse (``_certain``)."""
    if _opaque(xml):
        return None
    m = _SHEET_DATA.search(xml)
    if m is None:
        return None
    prefix = m.group(1) + b":" if m.group(1) else b""
    head = xml.find(b">", m.end())
    end = xml.rfind(b"</" + prefix + b"sheetData>")
    if head < 0 or xml[head - 1 : head] == b"/" or end < head:
        return None
    head += 1
    row = b"<" + prefix + b"row"
    at = xml.find(row, head + (end - head) // 2, end)
    while at >= 0 and xml[at + len(row) : at + len(row) + 1] not in (b" ", b"\t", b"\n", b"\r"):
        at = xml.find(row, at + 1, end)  # <rowBreaks>, say: not a row
    if at < 0:
        return None
    number = _ROW_NUMBER.search(xml, at, xml.find(b">", at))
    before = xml.rfind(row + b" ", head, at)
    last = _ROW_NUMBER.search(xml, before, xml.find(b">", before)) if before >= 0 else None
    if number is None or (last is not None and int(last[1]) >= int(number[1])):
        return None
    return head, at, end


def _certain(xml: bytes) -> bool:
    """Whether the sheet data is one element: ``sheetData`` named only by its
    own two tags (a search of the whole XML, so asked while the halves are
    parsed)."""
    return xml.count(b"sheetData") == 2


OPAQUE_LOOKS = 1_000  # "!" or "?" in a sheet's text looked at before giving up the cut


def _opaque(xml: bytes) -> bool:
    """Whether ``xml`` may hold a comment, CDATA section, processing
    instruction or DTD past its ``<?xml …?>`` declaration: each opens with
    "<!" or "<?". Found byte by byte (memchr speed; a two-byte search is
    twenty times slower); a text with over ``OPAQUE_LOOKS`` marks counts as may."""
    start = xml.find(b"?>") + 2 if xml.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml") else 0
    for mark in b"!?":
        at, looks = xml.find(mark, start), 0
        while at >= 0:
            if (at and xml[at - 1] == 0x3C) or looks == OPAQUE_LOOKS:  # "<"
                return True
            at, looks = xml.find(mark, at + 1), looks + 1
    return False


def _package(
    parts: dict[str, bytes], member: str, pieces: tuple[memoryview, ...]
) -> tuple[BinaryIO, str]:
    """An uncompressed zip of ``parts`` and ``member`` made of ``pieces``, in a
    temporary file (calamine reads a file as it goes: no copy held in memory),
    open, and the path calamine opens it by (``_temp_file``)."""
    f, path = _temp_file()
    try:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
            for part, data in parts.items():
                z.writestr(part, data)
            with z.open(member, "w", force_zip64=True) as m:
                for piece in pieces:
                    m.write(piece)
        f.flush()
    except BaseException:
        _let_go(f, path)
        raise
    return f, path


STALE = 3600  # seconds after which a named half's file is a leftover (``_sweep``)
_PREFIX = "sheetsync-half-"


def _temp_file() -> tuple[BinaryIO, str]:
    """A temporary file for a half, open, and its path. On Linux an unnamed
    file (``O_TMPFILE``, opened again by its ``/proc/self/fd`` path), which
    however the process ends leaves nothing behind; elsewhere a named one in
    the temporary folder, deleted once calamine has it open, its leftovers
    from a process that ended before that swept by the next (``_sweep``)."""
    folder = tempfile.gettempdir()
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600)
        except OSError:  # a file system without unnamed files
            pass
        else:
            return os.fdopen(fd, "w+b"), f"/proc/self/fd/{fd}"
    _sweep(folder)
    fd, name = tempfile.mkstemp(prefix=_PREFIX, suffix=".xlsx")
    return os.fdopen(fd, "w+b"), name


def _sweep(folder: str) -> None:
    """Delete halves' files older than ``STALE`` (left by a process that ended
    while it wrote them; a live one deletes its own within seconds)."""
    now = time.time()
    for p in Path(folder).glob(f"{_PREFIX}*.xlsx"):
        with contextlib.suppress(OSError):
            if now - p.stat().st_mtime > STALE:
                p.unlink()


def _let_go(f: BinaryIO, path: str) -> None:
    """Close a half's file and delete it (an unnamed one goes with its close)."""
    f.close()
    if not path.startswith("/proc/self/fd/"):
        with contextlib.suppress(OSError):
            os.unlink(path)


def _loader(half: tuple[BinaryIO, str], sheet: str) -> Callable[[], Any]:
    """Parse ``sheet`` of a half's file; the file is let go of as soon as
    calamine has it open (a named one, where the system allows: Windows keeps
    it until it is parsed)."""
    f, path = half

    def load() -> Any:
        import python_calamine as pc

        try:
            wb = pc.CalamineWorkbook.from_path(path)
            _let_go(f, path)
            try:
                return wb.get_sheet_by_name(sheet)
            finally:
                wb.close()
        finally:
            _let_go(f, path)

    return load


def _rows(loads: list[Callable[[], Any]], whole: Callable[[], Chunks]) -> Chunks:
    """The halves' rows in chunks, once both are parsed and found apart (else
    ``whole``: the sheet parsed again in one piece)."""
    try:
        first, second = (load() for load in loads)
    except Exception:  # noqa: BLE001 - the whole parse says what is wrong, if anything
        first = second = None
    n1 = first.end[0] + 1 if first is not None and first.start else 0
    if first is None or second is None or (second.start and second.start[0] < n1):
        yield from whole()
        return
    width = max((ws.end[1] + 1 for ws in (first, second) if ws.start), default=0)
    rows = _padded(first, width) if n1 else iter(())
    if second.start:
        rows = chain(rows, islice(_padded(second, width), n1, None))
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield chunk


def _padded(ws: Any, width: int) -> Iterator[list[Any]]:
    """A half's rows from column A, each ``width`` cells long (the whole
    sheet's width: a half may end a column or more before the other)."""
    left = [""] * ws.start[1]
    right = [""] * (width - ws.end[1] - 1)
    rows = ws.iter_rows()
    if not left and not right:
        return rows
    return (left + r + right for r in rows)

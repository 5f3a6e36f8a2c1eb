"""The workbook's zip package and its parts: safety checks, relationships, workbook.xml.

The safety checks every reader and writer runs first, the package opened for
patching, its parts found through their relationships (workbook.xml, the
worksheets, their tables, styles.xml), and the one edit of workbook.xml.

``check_workbook`` refuses what is not a workbook (wrong format,
password-protected, a zip bomb, XML with a DTD) with a one-line reason naming
the file, before calamine or the patcher reads a byte of XML.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET

from ...errors import WorkbookError
from .formulas import has_formula_tag
from .xmlbytes import BadSheet

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_UNCOMPRESSED = 1 << 30  # 1 GiB of XML in all
MAX_RATIO = 200  # a member that inflates more than this (and is big) is a bomb
MAX_MEMBERS = 10_000
_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"")


def check_package(z: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """The parts of a zip package (workbook or mind map), refusing one with too
    many parts, a part that inflates like a zip bomb, or too much in all."""
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise WorkbookError(f"{name}: has {len(infos)} parts; refusing it as unsafe")
    total = 0
    for info in infos:
        total += info.file_size
        big = info.file_size > 10 << 20
        if big and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise WorkbookError(
                f"{name}: part {info.filename} inflates {info.file_size // max(info.compress_size, 1)}×; "
                "refusing it as a zip bomb"
            )
    if total > MAX_UNCOMPRESSED:
        raise WorkbookError(
            f"{name}: unpacks to {total >> 20} MiB, over the {MAX_UNCOMPRESSED >> 20} MiB limit"
        )
    return infos


def declares_dtd(head: bytes) -> bool:
    """Whether the start of an XML document declares a DTD (the door to entity bombs)."""
    return b"<!DOCTYPE" in head.upper()


def check_workbook(path: Path) -> bool:
    """Refuse anything that is not a safe .xlsx package; return its date1904 flag."""
    name = path.name
    if not path.exists():
        raise WorkbookError(f"{path}: no such file", hint="check the path in sheetsync.toml")
    if path.is_dir():
        raise WorkbookError(f"{path}: is a folder, not a workbook")
    with open(path, "rb") as f:
        head = f.read(8)
    if head == CFB_MAGIC:
        raise WorkbookError(
            f"{name}: is password-protected (encrypted) or an old .xls file",
            hint="open it in Excel, remove the password (or save as .xlsx) and run again",
        )
    if not zipfile.is_zipfile(path):
        raise WorkbookError(f"{name}: is not an Excel workbook (.xlsx/.xlsm)")
    try:
        with zipfile.ZipFile(path) as z:
            infos = check_package(z, name)
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise WorkbookError(
                    f"{name}: is a zip file but not an Excel workbook (no xl/workbook.xml)"
                )
            for info in infos:
                if info.filename.endswith((".xml", ".rels")):
                    with z.open(info) as part:
                        if declares_dtd(part.read(4096)):
                            raise WorkbookError(
                                f"{name}: part {info.filename} declares an XML DTD, which Excel never "
                                "writes; refusing it as unsafe"
                            )
            return bool(_DATE1904.search(z.read("xl/workbook.xml")))
    except zipfile.BadZipFile as e:
        raise WorkbookError(f"{name}: is a damaged zip file ({e})") from None


_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
FULL_CALC = re.compile(rb"""\sfullCalcOnLoad\s*=\s*["'](?:1|true)["']""")


@contextlib.contextmanager
def open_checked(path: Path) -> Iterator[BinaryIO]:
    """The workbook's file, open for reading (one-line errors for a missing file,
    a folder, an encrypted or old .xls file)."""
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
def open_zip(path: Path, f: BinaryIO) -> Iterator[zipfile.ZipFile]:
    """The zip in ``f``; a damaged part met while it is open is a one-line ``WorkbookError``."""
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise WorkbookError(f"{path.name}: is not an Excel workbook (.xlsx/.xlsm): {e}") from None
    try:
        yield zf
    except (zipfile.BadZipFile, zlib.error, EOFError, ET.ParseError, BadSheet) as e:
        raise WorkbookError(f"{path.name}: is a damaged workbook ({e})") from None
    finally:
        zf.close()


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target)).lstrip("/")


class Package:
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
                    if has_formula_tag(tail + chunk, None):
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


def set_full_calc(wb: bytes) -> bytes:
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

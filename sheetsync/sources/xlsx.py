"""Excel workbooks (.xlsx/.xlsm): a fast, style-free reader built on calamine.

Before calamine sees a file, ``check_workbook`` refuses what is not a workbook
(wrong format, password-protected, a zip bomb, XML with a DTD) with a one-line
reason naming the file. The lossless patch writer lives in ``xlsx_write``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RefusedError, WorkbookError
from ..grid import CHUNK_ROWS, Grid
from .changes import CellWrite, RowAppend, file_sha256

if TYPE_CHECKING:
    from ..config import SourceConfig
    from .xlsx_write import PatchResult

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


def read_workbook(
    path: Path, sheets: list[str] | None = None, *, stream: bool = False
) -> tuple[list[str], dict[str, Grid]]:
    """Sheet names and the values of ``sheets`` (None: all), via calamine;
    ``stream``: grids whose rows come in chunks (``Grid.chunks``)."""
    import python_calamine as pc

    date1904 = check_workbook(path)
    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except pc.PasswordError:
        raise WorkbookError(
            f"{path.name}: is password-protected", hint="remove the password in Excel and run again"
        ) from None
    except Exception as e:  # calamine's errors carry the cause in their text
        raise WorkbookError(f"{path.name}: cannot be read ({type(e).__name__}: {e})") from None
    names = list(wb.sheet_names)
    grids: dict[str, Grid] = {}
    try:
        for sheet in names if sheets is None else sheets:
            if sheet not in names:
                continue
            ws = wb.get_sheet_by_name(sheet)
            if stream:
                grids[sheet] = Grid(sheet, [], date1904, rest=_row_chunks(ws))
                continue
            rows: list[list[Any]] = ws.to_python(skip_empty_area=False)
            grids[sheet] = Grid(sheet, rows, date1904)
    except Exception as e:
        raise WorkbookError(f"{path.name}: sheet {sheet!r} cannot be read ({e})") from None
    finally:
        wb.close()
    return names, grids


def _row_chunks(ws: Any) -> Iterator[list[list[Any]]]:
    """A loaded sheet's rows from row 1 and column A (as ``to_python`` gives
    them), a chunk at a time; the sheet is freed once they are all given."""
    from itertools import islice

    rows = ws.iter_rows()  # from row 1, but from the first column in use
    pad = [""] * ws.start[1] if ws.start else []
    del ws
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield [pad + r for r in chunk] if pad else chunk


class XlsxSource:
    """A workbook on disk."""

    def __init__(self, config: SourceConfig) -> None:
        assert config.path is not None
        self.name = config.name
        self.config = config
        self.path: Path = config.path
        self._names: list[str] | None = None
        self._hash: str | None = None

    def sheet_names(self) -> list[str]:
        if self._names is None:
            self._names, _ = read_workbook(self.path, [])
        return self._names

    def read(self, sheets: list[str], *, stream: bool = False) -> dict[str, Grid]:
        self.revision()  # the bytes about to be parsed (unless hashed just before)
        self._names, grids = read_workbook(self.path, sheets, stream=stream)
        return grids

    def revision(self) -> str | None:
        """The SHA-256 of the file's bytes (None: no such file)."""
        if self._hash is None and self.path.is_file():
            self._hash = file_sha256(self.path)
        return self._hash

    def fingerprint(self) -> str:
        if self._hash is None:
            self._hash = file_sha256(self.path)
        return self._hash

    def uncalculated_cells(self, sheets: list[str]) -> dict[str, set[str]]:
        """Formula cells without a calculated result, per sheet (after a push)."""
        from .xlsx_write import uncalculated_cells

        return uncalculated_cells(self.path, sheets)

    def formula_cells(self, sheet: str) -> set[str]:
        from .xlsx_write import formula_cells  # the writer loads only when writing

        return formula_cells(self.path, sheet)

    def write_refusal(self) -> RefusedError | None:
        """Why a write would be refused now (the file is open in Excel), or None."""
        from .xlsx_write import check_not_open

        try:
            check_not_open(self.path)
            if self.path.is_symlink():
                check_not_open(self.path.resolve())
        except RefusedError as e:
            return e
        return None

    def write(
        self,
        writes: list[CellWrite],
        appends: list[RowAppend],
        deletes: Mapping[str, list[int]],
        *,
        expected_hash: str | None,
        force: bool,
    ) -> PatchResult:
        from .xlsx_write import patch_workbook

        result = patch_workbook(
            self.path,
            writes,
            appends,
            deletes,
            backups=self.config.backups,
            expected_sha256=expected_hash,
            force=force,
        )
        self._hash = None
        return result

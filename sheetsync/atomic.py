"""Safe file writes: temp file + fsync + ``os.replace``, folder fsync, backups, lock files.

A file is replaced by writing its new bytes to a temp file in the same folder,
fsyncing it, and swapping it in with ``os.replace`` (atomic on one file
system), then fsyncing the folder so the swap itself is durable. Killing the
process at any moment leaves the old file or the new one, never a mix; at
worst a stray temp file (``.<name>.sheetsync-<pid>.tmp``), which
``clean_stale_temps`` removes on the next run. ``make_backup`` keeps the file
being replaced (rotated to the last N); ``check_not_open`` refuses a file that
Excel or LibreOffice holds open (their lock files beside it).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from .errors import RefusedError

_TMP_RE = re.compile(r"^\.(?P<name>.+)\.sheetsync-(?P<pid>\d+)\.tmp$")


def temp_beside(path: Path) -> Path:
    """This process's temp file for a new version of ``path``, in the same folder."""
    return path.parent / f".{path.name}.sheetsync-{os.getpid()}.tmp"


def fsync_file(fh: BinaryIO) -> None:
    """Flush ``fh`` and fsync it: its bytes are on disk when this returns."""
    fh.flush()
    os.fsync(fh.fileno())


def fsync_path(path: Path) -> None:
    """Fsync a file already written and closed."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_dir(folder: Path) -> None:
    """Fsync a folder, so a rename or new file in it survives a crash (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def replacing(path: Path, tmp: Path) -> Iterator[Path]:
    """Yield ``tmp`` for the body to write (and fsync); when the body returns, swap
    it in over ``path`` with ``os.replace`` and fsync the folder. The temp file is
    removed whatever happens, and ``path`` is untouched when the body raises."""
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


def same_file(f: BinaryIO, path: Path) -> bool:
    """Whether ``path`` is still the file open as ``f``, unchanged since it was opened
    (same inode, size and modification time)."""
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


def clean_stale_temps(folder: Path, name: str) -> None:
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


def make_backup(path: Path, folder: Path, keep: int) -> Path:
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
            fsync_path(tmp)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    fsync_dir(folder)
    pat = re.compile(
        re.escape(path.stem) + r"\.\d{8}-\d{6}-\d{6}(?:-\d+)?" + re.escape(path.suffix) + "$"
    )
    ours = sorted((p for p in folder.iterdir() if pat.match(p.name)), key=lambda p: p.name)
    for old in ours[:-keep]:
        with contextlib.suppress(OSError):
            old.unlink()
    return target


def check_not_open(path: Path) -> None:
    """Refuse (RefusedError) while Excel or LibreOffice has ``path`` open (its lock file)."""
    for lock in (path.parent / f"~${path.name}", path.parent / f".~lock.{path.name}#"):
        if lock.exists():
            raise RefusedError(
                f"{path.name}: is open in Excel or LibreOffice (lock file {lock.name} beside it)",
                hint="close it in Excel and run again, or use --force",
            )


def swappable(path: Path) -> bool:
    """Whether ``path`` is (or will be) a plain file that a temp file can replace;
    not so for a device or pipe such as ``/dev/stdout``, which is written as it is."""
    return not path.exists() or path.is_file()


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` in one step: whoever opens ``path`` (or finds it
    after a crash) sees the old file or the new one, never a part of either."""
    if not swappable(path):
        path.write_bytes(data)
        return
    with replacing(path, temp_beside(path)) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fsync_file(fh)

"""atomic: the one home of safe writes. A file sheetsync writes (a report, an
outbox message, an export, a config from `init`) is the old one or the new one,
never half of either; a pipe or device is written as it is."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from sheetsync import atomic


def test_write_bytes_replaces_the_file_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")
    atomic.write_bytes(target, b"new bytes")
    assert target.read_bytes() == b"new bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")

    def disk_full(fh) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "fsync_file", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_bytes(target, b"new bytes")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


def test_a_pipe_is_written_as_it_is(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert not atomic.swappable(fifo)
    atomic.write_bytes(fifo, b"to whoever reads")
    reader.join(timeout=10)
    assert got == [b"to whoever reads"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]

"""Progress on a terminal: one status line on stderr, redrawn in place.

``StatusLine`` is the ``progress(message, done=None, total=None)`` callback the
library functions accept. A step of unknown length shows a spinner and, after
a second, the seconds since the first step; a step with a known amount shows
a bar and counts::

    ⠹ laying out the PDF · page 3 · 4s
    ██████████░░░░░░░░░░░░░░  42%  sending to cfo@example.com (5 of 12)

A small daemon thread redraws the spinner ten times a second, so it keeps
moving while a long C call (a workbook parse, a PDF layout) holds the main
thread. The line is cut to the terminal's width (a wrapped line could not be
erased) and ``clear()`` erases it, leaving the cursor at the start of an empty
line, before a command prints its results or an error.

It writes to the stderr file descriptor with ``os.write``: never to stdout,
and never through a lock a forked child (the PDF renderer) could inherit held.
Nothing is drawn with TERM=dumb (no cursor control there); ``color_wanted``
tells the CLI to print plain text under NO_COLOR or TERM=dumb. This module
imports nothing heavy: the CLI's ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from typing import TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_FRAMES = "|/-\\"
BAR_WIDTH = 24
ERASE = "\r\x1b[2K"


def dumb_terminal() -> bool:
    """TERM=dumb: a terminal that cannot move the cursor or show colours."""
    return os.environ.get("TERM") == "dumb"


def color_wanted() -> bool:
    """Colours unless NO_COLOR is set (https://no-color.org) or TERM=dumb."""
    return not os.environ.get("NO_COLOR") and not dumb_terminal()


def wanted(stream: TextIO | None = None, quiet: bool = False) -> bool:
    """Whether to show progress: on a terminal that can redraw a line
    (not TERM=dumb), and not asked to be quiet."""
    stream = sys.stderr if stream is None else stream
    if quiet or stream is None or dumb_terminal():
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced by something odd
        return False


def format_line(
    message: str,
    done: int | None,
    total: int | None,
    *,
    frame: int = 0,
    elapsed: float = 0.0,
    width: int = 80,
    ascii: bool = False,
) -> str:
    """The status line, at most ``width - 1`` characters (never wraps).
    ``ascii``: for a terminal whose encoding has no block or braille characters."""
    if total:
        done = max(0, min(done or 0, total))
        filled = round(BAR_WIDTH * done / total)
        full, empty = ("#", "-") if ascii else ("█", "░")
        bar = full * filled + empty * (BAR_WIDTH - filled)
        head, tail = f"{bar} {done / total:4.0%}  ", f" ({done:,} of {total:,})"
    else:
        frames = ASCII_FRAMES if ascii else FRAMES
        head, tail = f"{frames[frame % len(frames)]} ", ""
        if elapsed >= 1:
            tail = f" · {elapsed:.0f}s"
    room = max(width - 1, 10) - len(head) - len(tail)  # the message gives way first
    if len(message) > room:
        message = message[: max(room - 1, 0)] + "…"
    return (head + message + tail)[: max(width - 1, 10)]


class StatusLine:
    """A status line on a terminal; call it with progress, ``clear()`` when done."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.fd = self.stream.fileno()
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._message = ""
        self._done: int | None = None
        self._total: int | None = None
        self._started = 0.0
        self._frame = 0
        self._shown = False  # something is drawn on the line now
        self._dirty = False  # the state changed since it was drawn
        self._drawn = 0.0  # when it was last drawn
        self._encoding = getattr(self.stream, "encoding", None) or "utf-8"
        try:
            (FRAMES + "█░…·").encode(self._encoding)
            self._ascii = False
        except (UnicodeEncodeError, LookupError):
            self._ascii = True

    def __call__(self, message: str, done: int | None = None, total: int | None = None) -> None:
        with self._lock:
            if not self._shown:  # the time shown counts from the first step on
                self._started = time.monotonic()
            now = time.monotonic()
            # A count that moves fast is drawn at most every few hundredths of
            # a second (the thread draws the latest); a new step at once.
            due = message != self._message or done == total or now - self._drawn >= 0.05
            self._message, self._done, self._total = message, done, total
            if due:
                self._draw(flush=True)
            else:
                self._dirty = True
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._spin, name="sheetsync-progress", daemon=True
                )
                self._thread.start()

    def clear(self) -> None:
        """Stop redrawing and erase the line; the next call starts afresh."""
        thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            self._thread = None
            self._message = ""
            if self._shown:
                self._write(ERASE, flush=True)
                self._shown = False

    def _spin(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if self._stop.is_set():
                    return
                if not self._total:  # a spinner turns; a bar moves when its count does
                    self._frame += 1
                    self._draw()
                elif self._dirty:
                    self._draw()

    def _draw(self, flush: bool = False) -> None:  # with the lock held
        width = shutil.get_terminal_size((80, 24)).columns
        with contextlib.suppress(OSError):
            width = os.get_terminal_size(self.fd).columns or width
        line = format_line(
            self._message,
            self._done,
            self._total,
            frame=self._frame,
            elapsed=time.monotonic() - self._started,
            width=width,
            ascii=self._ascii,
        )
        if self._ascii:
            line = line.replace("…", "...").replace("·", "-")
        self._write(ERASE + line, flush)
        self._shown, self._dirty, self._drawn = True, False, time.monotonic()

    def _write(self, text: str, flush: bool = False) -> None:  # with the lock held
        # What the command printed to stderr comes first. Only the calling
        # thread flushes: the spinner thread takes no lock of sys.stderr's that
        # a forked child (see report.run_with_deadline) could inherit held.
        if flush:
            with contextlib.suppress(OSError, ValueError):
                self.stream.flush()
        data = text.encode(self._encoding, "replace")
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except OSError:  # the terminal went away: nothing more to show
            self._stop.set()

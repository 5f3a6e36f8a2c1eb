"""Work handed to a thread of its own, its value (or error) asked for later."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def in_background(work: Callable[[], T], name: str) -> Callable[[], T]:
    """Run ``work`` in a daemon thread of its own; the function returned waits
    for its value (and raises its error). Worth it beside what frees the GIL:
    calamine's parse, zlib, SQLite."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as e:  # raised by whoever asks for the value
            box["error"] = e

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def value() -> T:
        thread.join()
        if "error" in box:
            raise box.pop("error")
        return box["value"]

    return value

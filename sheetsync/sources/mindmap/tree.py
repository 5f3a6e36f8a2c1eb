"""The goal tree every mind-map format is read into, and the bounds it must keep. No I/O.

A ``Node`` holds what the tools really store: a title, the tool's own ID,
fields (``Key: value`` note lines, Freeplane attributes, XMind labels, OPML
attributes), the free text of its note, and markers (XMind task progress and
priority, flags; Freeplane icons). Readers build nodes through ``TreeLimits``,
which refuses a tree deeper or wider than stated, so memory stays bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ...errors import WorkbookError

MAX_DEPTH = 40  # levels below the root
MAX_CHILDREN = 5_000  # children of one node
MAX_NODES = 100_000  # nodes in one map
MAX_TEXT = 20_000  # characters of one title or note (longer text is cut)
MAX_PART = 64 << 20  # bytes of one map document (content.json, content.xml, .mm, .opml)

LIMITS_TEXT = (
    f"at most {MAX_NODES:,} nodes, {MAX_CHILDREN:,} children under one node and {MAX_DEPTH} levels"
)

#: XMind task-progress markers → percent done.
PROGRESS_MARKERS = {
    "task-start": 0,
    "task-oct": 12.5,
    "task-quarter": 25,
    "task-3oct": 37.5,
    "task-half": 50,
    "task-5oct": 62.5,
    "task-3quar": 75,
    "task-7oct": 87.5,
    "task-done": 100,
}
#: Markers (XMind flags, Freeplane icons) that say a status.
STATUS_MARKERS = {
    "flag-green": "On track",
    "flag-orange": "At risk",
    "flag-yellow": "At risk",
    "flag-red": "Late",
    "task-done": "Done",
    "button_ok": "Done",
    "yes": "Done",
    "button_cancel": "Late",
    "clock": "At risk",
}

_FIELD_LINE = re.compile(r"^\s*([^:\n]{1,60}?)\s*:\s*(.*?)\s*$")


def one_line(text: str) -> str:
    """Text on one line, spaces collapsed (how titles are shown)."""
    return " ".join(text.split())


@dataclass
class Node:
    """One topic of a map."""

    title: str
    id: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # as written: "Owner" → "Omar Haddad"
    note: str = ""  # the note's lines that are not ``Key: value``
    markers: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    colour: str | None = None  # written only (export): the status colour, "#RRGGBB"

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Node]]:
        """(depth, node) for this node and every descendant, depth first."""
        stack = [(depth, self)]
        while stack:
            d, n = stack.pop()
            yield d, n
            stack.extend((d + 1, c) for c in reversed(n.children))

    @property
    def progress(self) -> float | None:
        """Percent done from a task-progress marker, if any."""
        return next((PROGRESS_MARKERS[m] for m in self.markers if m in PROGRESS_MARKERS), None)

    @property
    def priority(self) -> int | None:
        for m in self.markers:
            if m.startswith("priority-") and m[9:].isdigit():
                return int(m[9:])
        return None

    @property
    def marked_status(self) -> str | None:
        return next((STATUS_MARKERS[m] for m in self.markers if m in STATUS_MARKERS), None)


@dataclass
class MindMap:
    """A map as read: its file name (for messages), format and root topic."""

    name: str
    format: str
    root: Node
    sheets: list[str] = field(default_factory=list)


class TreeLimits:
    """Counts nodes as a reader makes them and refuses a tree past the bounds."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes = 0

    def node(self, depth: int, siblings: int) -> None:
        """Account for one more node at ``depth`` with ``siblings`` before it."""
        self.nodes += 1
        if depth > MAX_DEPTH:
            self.refuse(f"is more than {MAX_DEPTH} levels deep")
        if siblings >= MAX_CHILDREN:
            self.refuse(f"has a node with more than {MAX_CHILDREN:,} children")
        if self.nodes > MAX_NODES:
            self.refuse(f"has more than {MAX_NODES:,} nodes")

    def refuse(self, why: str) -> None:
        raise WorkbookError(
            f"{self.name}: {why}; refusing it (sheetsync reads maps of {LIMITS_TEXT})"
        )


def cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def split_note(text: str) -> tuple[dict[str, str], str]:
    """A note's ``Key: value`` lines as fields, and the rest as free text.

    ``Owner: Omar Haddad`` is a field; a URL (``https://…``) or a line whose
    key is long or empty is not.
    """
    fields: dict[str, str] = {}
    rest: list[str] = []
    for line in cut(text).splitlines():
        m = _FIELD_LINE.match(line)
        if m and m[1] and not m[2].startswith("//") and m[1].strip() not in fields:
            fields[m[1].strip()] = m[2]
        elif line.strip():
            rest.append(line.strip())
    return fields, "\n".join(rest)


def add_note(node: Node, text: str) -> None:
    """Read a note into ``node``: fields (first one wins) and free text."""
    fields, rest = split_note(text)
    for k, v in fields.items():
        node.fields.setdefault(k, v)
    node.note = "\n".join(t for t in (node.note, rest) if t)


def node_note(node: Node) -> str:
    """A node's note as written: its fields as ``Key: value`` lines, then its free text."""
    lines = [f"{k}: {v}" for k, v in node.fields.items()]
    return "\n".join([*lines, *([node.note] if node.note else [])])

"""Dump the model's records to JSON or CSV files, or the plan as a mind map.

CSV text that a spreadsheet would run as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return: CSV injection, OWASP) is
written with a leading ``'``, so opening the file in Excel or LibreOffice
shows the text and runs nothing; numbers stay numbers. ``raw`` writes text
exactly as stored, for programs that read the CSV.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .atomic import fsync_file, fsync_path, replacing, swappable, temp_beside
from .errors import UsageError
from .metrics import RagSettings
from .model import TABLES, Record
from .store import Store

if TYPE_CHECKING:
    from .sources.mindmap import MindMap


def _tables(names: tuple[str, ...]) -> list[str]:
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise UsageError(
            f"unknown table {', '.join(unknown)}", hint=f"tables are: {', '.join(TABLES)}"
        )
    return list(names) or list(TABLES)


Output = Path | TextIO  # a file, or an open text stream (stdout)


@contextlib.contextmanager
def _opened(output: Output) -> Iterator[TextIO]:
    """A file is written whole or not at all (a temp file swapped in); a stream as it goes."""
    if isinstance(output, Path):
        whole = swappable(output)  # a pipe or device (/dev/stdout) is written as it is
        swap = replacing(output, temp_beside(output)) if whole else contextlib.nullcontext(output)
        with swap as target, open(target, "w", newline="", encoding="utf-8") as fh:
            yield fh
            if whole:
                fsync_file(fh)  # type: ignore[arg-type]
    else:
        yield output
        output.flush()


def export_json(
    store: Store, output: Output, names: tuple[str, ...] = ()
) -> list[tuple[Output, int]]:
    """One JSON object {table: [records]}; dates as ISO text."""
    data = {n: store.records(n) for n in _tables(names)}
    with _opened(output) as fh:
        fh.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    return [(output, sum(len(v) for v in data.values()))]


#: What makes a spreadsheet read a CSV cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` safe to open in a spreadsheet: text that would start a formula
    gets a leading ``'``; numbers, dates and other text are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_csv(
    store: Store, output: Output, names: tuple[str, ...] = (), *, raw: bool = False
) -> list[tuple[Output, int]]:
    """One CSV per table; with a single table, exactly ``output``. A stream
    (stdout) takes one table only. Text that would start a formula is prefixed
    with ``'`` unless ``raw``."""
    chosen = _tables(names)
    if not isinstance(output, Path) and len(chosen) != 1:
        raise UsageError(
            "CSV to stdout holds one table: choose it with --table",
            hint=f"tables are: {', '.join(TABLES)}; or write files with -o NAME.csv",
        )
    written: list[tuple[Output, int]] = []
    for n in chosen:
        path = (
            output
            if len(chosen) == 1 or not isinstance(output, Path)
            else output.with_name(f"{output.stem}-{n}{output.suffix or '.csv'}")
        )
        fields = [f.name for f in TABLES[n].fields]
        records = store.records(n)
        with _opened(path) as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            if raw:
                w.writerows(records)
            else:
                w.writerows({k: neutralise(v) for k, v in r.items()} for r in records)
        written.append((path, len(records)))
    return written


# ---------------------------------------------------------------- mind maps

MAP_FORMATS = ("xmind", "mm", "opml")
#: How each state shows in a map: marker (XMind; Freeplane icons follow it) and fill colour.
#: The fills differ in lightness too, so a greyscale print still tells them apart.
STATE_MARKERS = {
    "done": "task-done",
    "on_track": "flag-green",
    "at_risk": "flag-orange",
    "late": "flag-red",
}
STATE_COLOURS = {"done": "#9CCC65", "on_track": "#E8F5E9", "at_risk": "#FFD54F", "late": "#E57373"}
#: Fields a node always states, even when blank: a blank must not be read
#: back as what the node's marker says (Status from a flag, Actual from progress).
_ALWAYS = {"milestones": ("status", "actual_value"), "tasks": ("done",)}
_TREE_FIELDS = {"name", "project", "milestone"}


def _text(kind: str, value: object) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return " ".join(str(value).split()) if kind == "text" else str(value)


def _progress_marker(progress: float | None) -> str | None:
    if progress is None:
        return None
    quarters = ("task-start", "task-quarter", "task-half", "task-3quar", "task-done")
    return quarters[max(0, min(4, int(progress * 4 + 1e-9)))]


def plan_mind_map(
    records: Mapping[str, Sequence[Record]], as_of: date, rag: RagSettings, company: str
) -> MindMap:
    """The plan's goal tree as a mind map: a root titled by the company, then
    projects → milestones → tasks, every field a ``Key: value`` line."""
    from .goal_tree import goal_trees
    from .sources.mindmap import MindMap, Node

    trees = goal_trees(
        records.get("projects", []),
        records.get("milestones", []),
        records.get("tasks", []),
        as_of,
        rag,
    )

    def node(g) -> Node:
        spec = TABLES[g.table]
        n = Node(g.title, f"{g.table}-{g.record.get('key')}")
        for f in spec.fields:
            value = g.record.get(f.name)
            if f.name in _TREE_FIELDS or (value is None and f.name not in _ALWAYS.get(g.table, ())):
                continue
            text = _text(f.kind, value)
            if f.name == "notes" and "\n" in str(value):
                n.note = str(value)
                continue
            n.fields[f.title] = text
        if g.progress is not None:
            n.fields["Progress"] = f"{g.progress:.0%}"
        if g.category:
            n.fields["State"] = f"{g.label}" + (f" ({g.reason})" if g.reason else "")
        state = STATE_MARKERS.get(g.category or "")
        progress = None if g.category == "done" else _progress_marker(g.progress)
        n.markers = [m for m in (state, progress) if m]
        n.colour = STATE_COLOURS.get(g.category or "")
        n.children = [node(c) for c in g.children]
        return n

    root = Node(f"{company}: sales plan", "plan")
    root.children = [node(t) for t in trees]
    return MindMap(root.title, "", root, [f"Plan as of {as_of.isoformat()}"])


def export_mindmap(
    records: Mapping[str, Sequence[Record]],
    output: Path,
    fmt: str,
    *,
    as_of: date,
    rag: RagSettings,
    company: str,
) -> list[tuple[Path, int]]:
    """Write the plan (``records``, as ``plan.plan_as_of`` gives them) as an
    .xmind, .mm or .opml map, atomically."""
    from .sources.mindmap import write_tree

    if fmt not in MAP_FORMATS:
        raise UsageError(
            f"unknown map format {fmt!r}", hint=f"formats are: {', '.join(MAP_FORMATS)}"
        )
    mind_map = plan_mind_map(records, as_of, rag, company)
    with replacing(output, output.with_name(f".{output.name}.tmp")) as tmp:
        write_tree(mind_map, tmp, fmt)
        fsync_path(tmp)
    return [(output, sum(1 for _ in mind_map.root.walk()) - 1)]

"""A goal tree as worksheets: one grid per level table, so the workbook's
mapping (header aliases, coercion, validation) reads it unchanged.

``levels = ["projects", "milestones", "tasks"]`` says which table each depth
of the tree fills (the root first, or its children with ``skip_root``); nodes
deeper than the last level belong to the last one. Each grid's first row
names the columns: the node's ID, title and parents (``ID``, ``Title``,
``Project``, ``Milestone``), then every field any node of that level carries,
as written. ``grid.meta["where"]`` names each row in the tree's terms
(``goals.xmind › Upsell programme › Email series``), for error messages.
"""

from __future__ import annotations

from typing import Any

from ...config import MINDMAP_TREE_COLUMNS as TREE_COLUMNS
from ...grid import Grid
from ...mapping import field_headers
from ...model import TABLES
from ...table_mapping import TableMapping, normalize_header
from .tree import MindMap, Node, one_line

SEP = " › "
#: A level table's field that takes the note's free text, when it has one.
NOTE_FIELD = {"projects": "goal", "milestones": "notes"}
#: Names the map itself gives (from markers and labels, or an export's own lines):
#: never free text, even where no field takes them.
MAP_NAMES = {"progress", "priority", "labels", "state"}


def _known(table: str, mapping: TableMapping) -> set[str]:
    """Every name (normalized) a field of ``table`` is read from under ``mapping``."""
    tree = {normalize_header(h) for h in TREE_COLUMNS.values()}
    fields = TABLES[table].fields
    return tree | MAP_NAMES | {h for f in fields for h in field_headers(f, mapping)}


def shown_title(node: Node) -> str:
    t = one_line(node.title)
    return (t[:60] + "…" if len(t) > 60 else t) or "(untitled)"


def _own(node: Node, fname: str, table: str, mapping: TableMapping) -> str | None:
    """The node's own value for a field (a note line or attribute naming it), if any."""
    f = TABLES[table].field_by_name[fname]
    # a tree column's mapping names the grid's own header; a note names it as people do
    names = set(field_headers(f, None if fname in TREE_COLUMNS else mapping))
    return next((k for k in node.fields if normalize_header(k) in names), None)


def tree_grids(
    mind_map: MindMap,
    levels: tuple[str, ...],
    tables: dict[str, TableMapping],
    skip_root: bool = False,
) -> dict[str, Grid]:
    """One grid per level table (named by the table), rows in tree order."""
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in levels}
    where: dict[str, list[str]] = {t: [] for t in levels}
    # (node, depth, path of titles, {table: key of the nearest ancestor there})
    start = mind_map.root.children if skip_root else [mind_map.root]
    base = [shown_title(mind_map.root)] if skip_root else []
    stack = [(n, 0, base, {}) for n in reversed(start)]
    known = {t: _known(t, tables[t]) for t in levels}
    while stack:
        node, depth, path, parents = stack.pop()
        table = levels[min(depth, len(levels) - 1)]
        mapping = tables[table]
        spec = TABLES[table]
        titles = [*path, shown_title(node)]
        row: dict[str, Any] = {}
        own_key = _own(node, "key", table, mapping)
        row["ID"] = node.fields[own_key] if own_key else node.id or SEP.join(titles)
        row["Title"] = node.title
        for parent_table in ("projects", "milestones"):
            if parent_table[:-1] in spec.field_by_name and parent_table in parents:
                row[TREE_COLUMNS[parent_table[:-1]]] = parents[parent_table]
        taken = {normalize_header(h) for h in row}
        unknown = []  # `Risk: vendor late` in a note: no field takes it, so it stays text
        for k, v in node.fields.items():
            if k != own_key and normalize_header(k) not in taken:
                row[k] = v
                taken.add(normalize_header(k))
                if normalize_header(k) not in known[table]:
                    unknown.append(f"{k}: {v}")
        _derived(node, table, mapping, row, "\n".join([node.note, *unknown]).strip())
        rows[table].append(row)
        where[table].append(SEP.join([mind_map.name, *titles]))
        below = {**parents, table: row["ID"]}
        said = next((v for k, v in row.items() if normalize_header(k) == "project"), None)
        if "projects" not in parents and said:  # no projects level: the node's own word passes down
            below["projects"] = said
        stack.extend((c, depth + 1, titles, below) for c in reversed(node.children))
    return {t: _grid(t, rows[t], where[t], tables[t]) for t in levels}


def _derived(node: Node, table: str, mapping: TableMapping, row: dict[str, Any], note: str) -> None:
    """Fields the tools say with markers, where the node does not say them in words;
    ``note`` (the note's free text) for the table's note field."""
    spec = TABLES[table]
    progress, status = node.progress, node.marked_status
    have = {normalize_header(k) for k in row}

    def put(header: str, value: str) -> None:
        if normalize_header(header) not in have:
            row[header] = value
            have.add(normalize_header(header))

    told = progress is not None or status is not None
    if told and "done" in spec.field_by_name and not _own(node, "done", table, mapping):
        put("Done", "yes" if progress == 100 or status == "Done" else "no")
    if "status" in spec.field_by_name and not _own(node, "status", table, mapping):
        if status is None and progress is not None:
            status = {0: "Not started", 100: "Done"}.get(progress)
        if status:
            put("Status", status)
    if progress is not None:
        put("Progress", f"{progress:g}%")
    if node.priority is not None:
        put("Priority", str(node.priority))
    note_field = NOTE_FIELD.get(table)
    if note and note_field and not _own(node, note_field, table, mapping):
        put(spec.field_by_name[note_field].title, note)


def _grid(table: str, rows: list[dict[str, Any]], where: list[str], mapping: TableMapping) -> Grid:
    headers: dict[str, str] = {}  # normalized → as first written
    for f in TREE_COLUMNS:
        if f in TABLES[table].field_by_name:
            headers.setdefault(normalize_header(TREE_COLUMNS[f]), TREE_COLUMNS[f])
    for r in rows:
        for k in r:
            headers.setdefault(normalize_header(k), k)
    # a configured name no node carries is a blank column, not a missing one
    for names in mapping.columns.values():
        if names and not any(normalize_header(n) in headers for n in names):
            headers[normalize_header(names[0])] = names[0]
    order = list(headers.values())
    norm = [normalize_header(h) for h in order]
    data: list[list[Any]] = [order]
    for r in rows:
        values = {normalize_header(k): v for k, v in r.items()}
        data.append([values.get(h) for h in norm])
    return Grid(table, data, meta={"where": dict(enumerate(where, start=2))})

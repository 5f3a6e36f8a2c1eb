"""OPML 2.0 outlines (what MindMeister and most outliners export).

``<opml><head><title>…</title></head><body><outline text=…>``. A single
top outline is the root; several become the children of a root titled as
the document. Attributes other than ``text`` are fields (``_note`` is the
note, as MindMeister writes it). OPML has no node IDs: the path of titles
is the key (see ``records``).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from ...errors import WorkbookError
from .safe import local, parse_xml, read_document
from .tree import MindMap, Node, TreeLimits, add_note, cut, node_note

_NOT_FIELDS = {"text", "_note", "type", "created", "isComment", "isBreakpoint", "color"}


def read(path: Path) -> MindMap:
    """Read an OPML file."""
    doc = parse_xml(read_document(path), path.name)
    if local(doc.tag) != "opml":
        raise WorkbookError(f"{path.name}: is not an OPML outline (no <opml> element)")
    head = next((e for e in doc if local(e.tag) == "head"), None)
    body = next((e for e in doc if local(e.tag) == "body"), None)
    if body is None:
        raise WorkbookError(f"{path.name}: the outline has no <body>")
    limits = TreeLimits(path.name)
    tops = [e for e in body if local(e.tag) == "outline"]
    title_e = next((e for e in head if local(e.tag) == "title"), None) if head is not None else None
    title = cut(title_e.text or "") if title_e is not None else ""
    if len(tops) == 1:
        root = _outline(tops[0], limits, 0, 0)
    else:
        limits.node(0, 0)
        root = Node(title or path.stem)
        root.children = [_outline(e, limits, 1, i) for i, e in enumerate(tops)]
    return MindMap(path.name, "opml", root, [title] if title else [])


def _outline(e: Element, limits: TreeLimits, depth: int, index: int) -> Node:
    limits.node(depth, index)
    node = Node(cut(e.get("text") or ""))
    add_note(node, e.get("_note") or "")
    for k, v in e.attrib.items():
        if k not in _NOT_FIELDS and "}" not in k:
            node.fields.setdefault(k, cut(v))
    kids = (c for c in e if local(c.tag) == "outline")
    node.children = [_outline(c, limits, depth + 1, i) for i, c in enumerate(kids)]
    return node


def _write(n: Node, parent: Element) -> None:
    attrs = {"text": n.title}
    note = node_note(n)
    if note:
        attrs["_note"] = note
    if n.colour:
        attrs["color"] = n.colour
    e = SubElement(parent, "outline", attrs)
    for c in n.children:
        _write(c, e)


def write(mind_map: MindMap, path: Path) -> None:
    """Write ``mind_map`` as OPML 2.0; fields go in the note (``_note``), one ``Key: value`` a line."""
    doc = Element("opml", {"version": "2.0"})
    SubElement(SubElement(doc, "head"), "title").text = mind_map.root.title
    _write(mind_map.root, SubElement(doc, "body"))
    path.write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + tostring(doc, encoding="utf-8", xml_declaration=False)
        + b"\n"
    )

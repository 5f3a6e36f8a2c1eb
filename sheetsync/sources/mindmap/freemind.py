"""FreeMind 1.0 and Freeplane ``.mm`` maps: XML, ``<map><node TEXT= ID=>``.

Read: node text (plain ``TEXT`` or rich ``<richcontent TYPE="NODE">``),
attributes (``<attribute NAME= VALUE=>``; Freeplane formulas such as
``=children.sum(…)`` have no stored value and are left out), the note
(``<richcontent TYPE="NOTE">``) and icons. Write: the same shape, fields as
attributes (what both tools show in a table under the node).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from ...errors import WorkbookError
from .safe import local, parse_xml, read_document
from .tree import MindMap, Node, TreeLimits, add_note, cut

_BLOCKS = {"p", "div", "li", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}


def html_text(e: Element) -> str:
    """The text of an (X)HTML fragment, one line per paragraph."""
    out: list[str] = []

    def visit(x: Element) -> None:
        if local(x.tag) in ("head", "style", "script"):
            return
        if x.text:
            out.append(x.text)
        for c in x:
            visit(c)
            if c.tail:
                out.append(c.tail)
        if local(x.tag) in _BLOCKS:
            out.append("\n")

    visit(e)
    lines = (" ".join(line.split()) for line in "".join(out).splitlines())
    return cut("\n".join(line for line in lines if line))


def read(path: Path) -> MindMap:
    """Read a FreeMind / Freeplane .mm file."""
    doc = parse_xml(read_document(path), path.name)
    if local(doc.tag) != "map":
        raise WorkbookError(f"{path.name}: is not a FreeMind/Freeplane map (no <map> element)")
    root = next((e for e in doc if local(e.tag) == "node"), None)
    if root is None:
        raise WorkbookError(f"{path.name}: the map has no root node")
    return MindMap(path.name, "mm", _node(root, TreeLimits(path.name), 0, 0))


def _node(e: Element, limits: TreeLimits, depth: int, index: int) -> Node:
    limits.node(depth, index)
    node = Node(cut(e.get("TEXT") or ""), e.get("ID"))
    i = 0
    for c in e:
        tag = local(c.tag)
        if tag == "node":
            node.children.append(_node(c, limits, depth + 1, i))
            i += 1
        elif tag == "attribute":
            name, value = (c.get("NAME") or "").strip(), c.get("VALUE") or ""
            if name and not value.startswith("=") and name not in node.fields:
                node.fields[name] = cut(value)
        elif tag == "richcontent":
            kind = (c.get("TYPE") or "").upper()
            if kind == "NODE" and not node.title:
                node.title = " ".join(html_text(c).split())
            elif kind in ("NOTE", "DETAILS"):
                add_note(node, html_text(c))
        elif tag == "icon" and c.get("BUILTIN"):
            node.markers.append(c.get("BUILTIN", ""))
    return node


# ------------------------------------------------------------------ writing

#: XMind marker → the Freeplane/FreeMind built-in icon that says the same.
ICONS = {
    "task-done": "button_ok",
    "flag-red": "flag",
    "flag-orange": "messagebox_warning",
    "flag-green": "flag-green",
    "task-start": "hourglass",
}


def _write_node(n: Node, parent: Element) -> None:
    attrs = {"TEXT": n.title, "ID": n.id or ""}
    if n.colour:
        attrs["BACKGROUND_COLOR"] = n.colour
    e = SubElement(parent, "node", attrs)
    for m in n.markers:
        if m in ICONS:
            SubElement(e, "icon", {"BUILTIN": ICONS[m]})
    for k, v in n.fields.items():
        SubElement(e, "attribute", {"NAME": k, "VALUE": v})
    if n.note:
        rc = SubElement(e, "richcontent", {"TYPE": "NOTE"})
        body = SubElement(SubElement(rc, "html"), "body")
        for line in n.note.splitlines():
            SubElement(body, "p").text = line
    for c in n.children:
        _write_node(c, e)


def write(mind_map: MindMap, path: Path) -> None:
    """Write ``mind_map`` as a Freeplane .mm file (FreeMind 1.0 reads it too)."""
    doc = Element("map", {"version": "freeplane 1.9.13"})
    _write_node(mind_map.root, doc)
    path.write_bytes(tostring(doc, encoding="utf-8", xml_declaration=False) + b"\n")

"""XMind maps: XMind 2020+/Zen (``content.json`` in the zip) and XMind 8
(``content.xml``, namespace ``urn:xmind:xmap:xmlns:content:2.0``).

Read: the first sheet's attached topics (detached/floating topics and callouts
are not part of the plan), with notes, labels and markers. Write: a Zen
package (``content.json``, ``metadata.json``, ``manifest.json``) plus the
XMind 8 ``content.xml``, so both generations of XMind open it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from ...errors import WorkbookError
from .safe import local, parse_xml, read_part, zip_parts
from .tree import MindMap, Node, TreeLimits, add_note, cut, node_note, split_note

XMAP_NS = "urn:xmind:xmap:xmlns:content:2.0"


def read(path: Path) -> MindMap:
    """Read an .xmind file (Zen or XMind 8)."""
    z, parts = zip_parts(path)
    with z:
        if "content.json" in parts:
            data = read_part(z, "content.json", path.name)
            return _read_zen(data, path.name)
        if "content.xml" in parts:
            data = read_part(z, "content.xml", path.name)
            return _read_xmind8(parse_xml(data, path.name, "content.xml"), path.name)
    raise WorkbookError(
        f"{path.name}: is a zip file but not an XMind map (no content.json or content.xml)"
    )


# ------------------------------------------------------------------ Zen (JSON)


def _read_zen(data: bytes, name: str) -> MindMap:
    try:
        sheets = json.loads(data)
    except RecursionError:
        raise WorkbookError(f"{name}: content.json nests too deep; refusing it") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise WorkbookError(f"{name}: content.json is not valid JSON ({e})") from None
    if not isinstance(sheets, list) or not sheets or not isinstance(sheets[0], dict):
        raise WorkbookError(f"{name}: content.json holds no sheet")
    root = sheets[0].get("rootTopic")
    if not isinstance(root, dict):
        raise WorkbookError(f"{name}: the first sheet has no central topic")
    limits = TreeLimits(name)
    titles = [str(s.get("title") or "") for s in sheets if isinstance(s, dict)]
    return MindMap(name, "xmind", _zen_topic(root, limits, 0, 0), titles)


def _text(value: Any) -> str:
    return cut(value) if isinstance(value, str) else "" if value is None else cut(str(value))


def _zen_topic(t: dict[str, Any], limits: TreeLimits, depth: int, index: int) -> Node:
    limits.node(depth, index)
    node = Node(_text(t.get("title")), _text(t.get("id")) or None)
    notes = t.get("notes")
    if isinstance(notes, dict) and isinstance(notes.get("plain"), dict):
        add_note(node, _text(notes["plain"].get("content")))
    _labels(node, t.get("labels"))
    for m in t.get("markers") or []:
        if isinstance(m, dict) and isinstance(m.get("markerId"), str):
            node.markers.append(m["markerId"])
    children = t.get("children")
    attached = children.get("attached") if isinstance(children, dict) else None
    for i, c in enumerate(attached if isinstance(attached, list) else []):
        if isinstance(c, dict):
            node.children.append(_zen_topic(c, limits, depth + 1, i))
    return node


def _labels(node: Node, labels: Any) -> None:
    """``Key: value`` labels are fields; the others are kept as "Labels"."""
    plain = []
    for label in labels if isinstance(labels, list) else []:
        fields, rest = split_note(_text(label))
        for k, v in fields.items():
            node.fields.setdefault(k, v)
        if rest:
            plain.append(rest)
    if plain:
        node.fields.setdefault("Labels", ", ".join(plain))


# ------------------------------------------------------------------ XMind 8 (XML)


def _read_xmind8(doc: Element, name: str) -> MindMap:
    if local(doc.tag) != "xmap-content":
        raise WorkbookError(f"{name}: content.xml is not an XMind map (no <xmap-content>)")
    sheets = [e for e in doc if local(e.tag) == "sheet"]
    root = next((e for e in sheets[0] if local(e.tag) == "topic"), None) if sheets else None
    if root is None:
        raise WorkbookError(f"{name}: content.xml has no sheet with a central topic")
    titles = [_child_text(s, "title") for s in sheets]
    return MindMap(name, "xmind", _xml_topic(root, TreeLimits(name), 0, 0), titles)


def _child(e: Element, tag: str) -> Element | None:
    return next((c for c in e if local(c.tag) == tag), None)


def _child_text(e: Element, tag: str) -> str:
    c = _child(e, tag)
    return cut("".join(c.itertext())) if c is not None else ""


def _xml_topic(e: Element, limits: TreeLimits, depth: int, index: int) -> Node:
    limits.node(depth, index)
    node = Node(_child_text(e, "title"), e.get("id"))
    notes = _child(e, "notes")
    if notes is not None:
        add_note(node, _child_text(notes, "plain"))
    labels = _child(e, "labels")
    if labels is not None:
        _labels(node, ["".join(lb.itertext()) for lb in labels if local(lb.tag) == "label"])
    refs = _child(e, "marker-refs")
    for ref in refs if refs is not None else []:
        if ref.get("marker-id"):
            node.markers.append(ref.get("marker-id", ""))
    children = _child(e, "children")
    for topics in children if children is not None else []:
        if local(topics.tag) == "topics" and topics.get("type", "attached") == "attached":
            for i, t in enumerate(c for c in topics if local(c.tag) == "topic"):
                node.children.append(_xml_topic(t, limits, depth + 1, i))
    return node


# ------------------------------------------------------------------ writing

FIXED_DATE = (2026, 1, 1, 0, 0, 0)  # zip entry times: the same map gives the same bytes
TIMESTAMP = 1767225600000  # XMind's millisecond timestamps, fixed for the same reason


def _zen_json(node: Node, root: bool = False) -> dict[str, Any]:
    t: dict[str, Any] = {"id": node.id, "class": "topic", "title": node.title}
    if root:
        t["structureClass"] = "org.xmind.ui.logic.right"
    note = node_note(node)
    if note:
        t["notes"] = {"plain": {"content": note}}
    if node.markers:
        t["markers"] = [{"markerId": m} for m in node.markers]
    if node.colour:
        t["style"] = {"id": f"{node.id}-style", "properties": {"svg:fill": node.colour}}
    if node.children:
        t["children"] = {"attached": [_zen_json(c) for c in node.children]}
    return t


def _xml_topic_out(node: Node, parent: Element, root: bool = False) -> None:
    from xml.etree.ElementTree import SubElement

    attrs = {"id": node.id or "", "timestamp": str(TIMESTAMP)}
    if root:
        attrs["structure-class"] = "org.xmind.ui.logic.right"
    if node.colour:
        attrs["style-id"] = f"{node.id}-style"
    t = SubElement(parent, "topic", attrs)
    SubElement(t, "title").text = node.title
    note = node_note(node)
    if note:
        SubElement(SubElement(t, "notes"), "plain").text = note
    if node.markers:
        refs = SubElement(t, "marker-refs")
        for m in node.markers:
            SubElement(refs, "marker-ref", {"marker-id": m})
    if node.children:
        topics = SubElement(SubElement(t, "children"), "topics", {"type": "attached"})
        for c in node.children:
            _xml_topic_out(c, topics)


def _styles_xml(root: Node) -> bytes:
    from xml.etree.ElementTree import SubElement, tostring

    doc = Element(
        "xmap-styles",
        {
            "xmlns": "urn:xmind:xmap:xmlns:style:2.0",
            "xmlns:svg": "http://www.w3.org/2000/svg",
            "version": "2.0",
        },
    )
    styles = SubElement(doc, "styles")
    for _, n in root.walk():
        if n.colour:
            s = SubElement(styles, "style", {"id": f"{n.id}-style", "type": "topic"})
            SubElement(s, "topic-properties", {"svg:fill": n.colour})
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>' + tostring(doc)


def write(mind_map: MindMap, path: Path) -> None:
    """Write ``mind_map`` as an .xmind package (deterministic bytes)."""
    from xml.etree.ElementTree import SubElement, tostring

    sheet_title = mind_map.sheets[0] if mind_map.sheets else mind_map.root.title
    content = [
        {
            "id": "sheet-1",
            "class": "sheet",
            "title": sheet_title,
            "rootTopic": _zen_json(mind_map.root, root=True),
            "topicPositioning": "fixed",
        }
    ]
    doc = Element(
        "xmap-content",
        {
            "xmlns": XMAP_NS,
            "xmlns:fo": "http://www.w3.org/1999/XSL/Format",
            "xmlns:svg": "http://www.w3.org/2000/svg",
            "xmlns:xhtml": "http://www.w3.org/1999/xhtml",
            "xmlns:xlink": "http://www.w3.org/1999/xlink",
            "timestamp": str(TIMESTAMP),
            "version": "2.0",
        },
    )
    sheet = SubElement(doc, "sheet", {"id": "sheet-1", "timestamp": str(TIMESTAMP)})
    _xml_topic_out(mind_map.root, sheet, root=True)
    SubElement(sheet, "title").text = sheet_title
    parts = {
        "content.json": json.dumps(content, ensure_ascii=False, indent=1).encode(),
        "content.xml": b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>' + tostring(doc),
        "styles.xml": _styles_xml(mind_map.root),
        "metadata.json": json.dumps({"creator": {"name": "sheetsync"}}).encode(),
        "META-INF/manifest.xml": (
            b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
            b'<manifest xmlns="urn:xmind:xmap:xmlns:manifest:1.0">'
            b'<file-entry full-path="content.xml" media-type="text/xml"/>'
            b'<file-entry full-path="styles.xml" media-type="text/xml"/>'
            b'<file-entry full-path="META-INF/" media-type=""/>'
            b'<file-entry full-path="META-INF/manifest.xml" media-type="text/xml"/>'
            b"</manifest>"
        ),
    }
    parts["manifest.json"] = json.dumps(
        {"file-entries": {n: {} for n in parts if n.endswith(".json")}}
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            info = zipfile.ZipInfo(n, FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)

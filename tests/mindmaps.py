"""Mind maps written by hand in each tool's own format, for the tests (no sheetsync code)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr


def topic(id: str, title: str, note: str = "", *children: dict, markers=(), labels=()) -> dict:
    """An XMind Zen topic as XMind writes it in content.json."""
    t: dict = {"id": id, "class": "topic", "title": title}
    if note:
        t["notes"] = {"plain": {"content": note}}
    if markers:
        t["markers"] = [{"markerId": m} for m in markers]
    if labels:
        t["labels"] = list(labels)
    if children:
        t["children"] = {"attached": list(children)}
    return t


def write_zen(path: Path, root: dict, title: str = "Plan") -> Path:
    sheet = {"id": "sheet1", "class": "sheet", "title": title, "rootTopic": root}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("content.json", json.dumps([sheet]))
        z.writestr("metadata.json", "{}")
        z.writestr("manifest.json", json.dumps({"file-entries": {"content.json": {}}}))
    return path


def _x8(t: dict) -> str:
    note = t.get("notes", {}).get("plain", {}).get("content", "")
    out = [f"<topic id={quoteattr(t['id'])}><title>{_esc(t['title'])}</title>"]
    if note:
        out.append(f"<notes><plain>{_esc(note)}</plain></notes>")
    if t.get("markers"):
        refs = "".join(f'<marker-ref marker-id="{m["markerId"]}"/>' for m in t["markers"])
        out.append(f"<marker-refs>{refs}</marker-refs>")
    if t.get("labels"):
        out.append(
            "<labels>" + "".join(f"<label>{_esc(x)}</label>" for x in t["labels"]) + "</labels>"
        )
    kids = t.get("children", {}).get("attached", [])
    if kids:
        out.append(
            '<children><topics type="attached">' + "".join(map(_x8, kids)) + "</topics></children>"
        )
    out.append("</topic>")
    return "".join(out)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_xmind8(path: Path, root: dict) -> Path:
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        '<xmap-content xmlns="urn:xmind:xmap:xmlns:content:2.0" version="2.0">'
        f'<sheet id="s1">{_x8(root)}<title>Plan</title></sheet></xmap-content>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("content.xml", xml)
        z.writestr("META-INF/manifest.xml", "<manifest/>")
    return path


def _mm(t: dict) -> str:
    """A Freeplane node: notes' Key: value lines become attributes, as Freeplane users keep them."""
    note = t.get("notes", {}).get("plain", {}).get("content", "")
    out = [f"<node TEXT={quoteattr(t['title'])} ID={quoteattr('ID_' + t['id'])}>"]
    rest = []
    for line in note.splitlines():
        k, sep, v = line.partition(": ")
        if sep:
            out.append(f"<attribute NAME={quoteattr(k)} VALUE={quoteattr(v)}/>")
        else:
            rest.append(line)
    if rest:
        body = "".join(f"<p>{_esc(x)}</p>" for x in rest)
        out.append(
            f'<richcontent TYPE="NOTE"><html><head/><body>{body}</body></html></richcontent>'
        )
    for m in t.get("markers", []):
        icon = {"task-done": "button_ok"}.get(m["markerId"], m["markerId"])
        out.append(f'<icon BUILTIN="{icon}"/>')
    out += [_mm(c) for c in t.get("children", {}).get("attached", [])]
    out.append("</node>")
    return "".join(out)


def write_mm(path: Path, root: dict) -> Path:
    path.write_text(f'<map version="freeplane 1.9.13">{_mm(root)}</map>\n', encoding="utf-8")
    return path


def _opml(t: dict) -> str:
    note = t.get("notes", {}).get("plain", {}).get("content", "")
    attrs = f"text={quoteattr(t['title'])}" + (f" _note={quoteattr(note)}" if note else "")
    kids = "".join(_opml(c) for c in t.get("children", {}).get("attached", []))
    return f"<outline {attrs}>{kids}</outline>"


def write_opml(path: Path, root: dict) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>Plan</title>'
        f"</head><body>{_opml(root)}</body></opml>\n",
        encoding="utf-8",
    )
    return path


WRITERS = {".xmind": write_zen, ".xmind8": write_xmind8, ".mm": write_mm, ".opml": write_opml}

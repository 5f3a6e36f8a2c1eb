"""Opening mind maps from outside safely: the workbook's zip guards, and XML
parsed with DTDs, entity declarations and external entities refused.

Every refusal is a ``WorkbookError`` (exit code 2) with a one-line reason
naming the file. Documents are bounded in size before they are parsed, and
XML in nesting and element count while it is parsed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from ...errors import WorkbookError
from ..xlsx import check_package
from .tree import MAX_PART

MAX_XML_DEPTH = 300  # nested elements (a topic is about 3 deep in XMind 8)
MAX_ELEMENTS = 2_000_000


def check_file(path: Path) -> None:
    """Refuse a missing path, a folder or an empty file."""
    if not path.exists():
        raise WorkbookError(f"{path}: no such file", hint="check the path in sheetsync.toml")
    if path.is_dir():
        raise WorkbookError(f"{path}: is a folder, not a mind map")
    if path.stat().st_size == 0:
        raise WorkbookError(f"{path.name}: is empty")


def read_document(path: Path) -> bytes:
    """A plain-file map (.mm, .opml), refused above ``MAX_PART`` bytes."""
    check_file(path)
    size = path.stat().st_size
    if size > MAX_PART:
        raise WorkbookError(
            f"{path.name}: is {size >> 20} MiB, over the {MAX_PART >> 20} MiB limit for a mind map"
        )
    return path.read_bytes()


def zip_parts(path: Path) -> tuple[zipfile.ZipFile, set[str]]:
    """The map's zip and its part names, after the workbook's zip-bomb guards."""
    check_file(path)
    if not zipfile.is_zipfile(path):
        raise WorkbookError(f"{path.name}: is not an XMind file (not a zip package)")
    try:
        z = zipfile.ZipFile(path)
        return z, {i.filename for i in check_package(z, path.name)}
    except zipfile.BadZipFile as e:
        raise WorkbookError(f"{path.name}: is a damaged zip file ({e})") from None


def read_part(z: zipfile.ZipFile, member: str, name: str) -> bytes:
    """One part of a zip, refused above ``MAX_PART`` (checked while inflating, too)."""
    info = z.getinfo(member)
    if info.file_size > MAX_PART:
        raise WorkbookError(
            f"{name}: part {member} unpacks to {info.file_size >> 20} MiB, over the "
            f"{MAX_PART >> 20} MiB limit for a mind map"
        )
    try:
        with z.open(info) as f:
            data = f.read(MAX_PART + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise WorkbookError(f"{name}: part {member} is damaged ({e})") from None
    if len(data) > MAX_PART:  # the header lied about the size
        raise WorkbookError(f"{name}: part {member} unpacks past its stated size; refusing it")
    return data


def parse_xml(data: bytes, name: str, part: str = "") -> Element:
    """Parse XML into ElementTree elements ({namespace}tag names), refusing a
    DTD, any entity declaration or external entity, nesting deeper than
    ``MAX_XML_DEPTH`` and more than ``MAX_ELEMENTS`` elements."""
    where = f"{name}: part {part}" if part else name
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    depth = 0
    count = 0

    def refuse(why: str) -> None:
        raise WorkbookError(f"{where} {why}; refusing it as unsafe")

    def tag(n: str) -> str:
        return "{" + n if "}" in n else n

    def start(n: str, attrs: dict[str, str]) -> None:
        nonlocal depth, count
        depth += 1
        count += 1
        if depth > MAX_XML_DEPTH:
            raise WorkbookError(f"{where} nests XML more than {MAX_XML_DEPTH} elements deep")
        if count > MAX_ELEMENTS:
            raise WorkbookError(f"{where} has more than {MAX_ELEMENTS:,} XML elements")
        builder.start(tag(n), {tag(k): v for k, v in attrs.items()})

    def end(n: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(tag(n))

    parser.StartDoctypeDeclHandler = lambda *a: refuse("declares an XML DTD")
    parser.EntityDeclHandler = lambda *a: refuse("declares an XML entity")
    parser.UnparsedEntityDeclHandler = lambda *a: refuse("declares an XML entity")
    parser.ExternalEntityRefHandler = lambda *a: refuse("refers to an external entity")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        root = builder.close()
    except expat.ExpatError as e:
        raise WorkbookError(
            f"{where} is not well-formed XML ({expat.ErrorString(e.code)}, line {e.lineno})"
        ) from None
    except AssertionError:
        raise WorkbookError(f"{where} holds no XML document") from None
    return root


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rpartition("}")[2]

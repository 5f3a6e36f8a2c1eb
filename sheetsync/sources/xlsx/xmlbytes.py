"""Raw XML bytes as the patcher splices them: tag attributes, text escaped and unescaped.

A tag's attribute text read, dropped and set; cell text escaped as Excel escapes it,
and XML text unescaped.

``xml_unescape`` is not ``html.unescape``: that one also knows HTML's named
entities and rewrites numeric references that XML holds as they are
(``&#x80;`` becomes "€", ``&#x7F;`` and ``&#xFDD0;`` vanish), which would
change the formula and name texts of a workbook holding those characters.
"""

from __future__ import annotations

import re


class BadSheet(Exception):
    """Worksheet XML that cannot be patched safely."""


_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def parse_attrs(tag_attrs: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _ATTR.finditer(tag_attrs)
    }


def drop_attrs(tag_attrs: bytes, names: tuple[bytes, ...]) -> bytes:
    pat = (
        rb"""\s+(?:"""
        + b"|".join(re.escape(n) for n in names)
        + rb""")\s*=\s*(?:"[^"]*"|'[^']*')"""
    )
    return re.sub(pat, b"", tag_attrs)


def set_attr(tag_attrs: bytes, name: bytes, value: bytes) -> bytes:
    pat = rb"""(\s)""" + re.escape(name) + rb"""\s*=\s*(?:"[^"]*"|'[^']*')"""
    new, n = re.subn(pat, lambda m: m.group(1) + name + b'="' + value + b'"', tag_attrs, count=1)
    return new if n else tag_attrs + b" " + name + b'="' + value + b'"'


_XML_ESC = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_LITERAL_ESCAPE = re.compile("_(x[0-9A-Fa-f]{4}_)")


def xml_text(s: str) -> str:
    """``s`` as cell or formula text: characters XML cannot hold as Excel writes
    them (``_x0001_``, a literal ``_x0041_`` as ``_x005F_x0041_``), then ``&<>`` escaped."""
    s = _LITERAL_ESCAPE.sub(r"_x005F_\1", s)
    s = _BAD_XML_CHARS.sub(lambda m: f"_x{ord(m.group()):04X}_", s)
    return s.translate(_XML_ESC)


def xml_unescape(s: str) -> str:
    """XML text with its five named entities and its numeric character references
    resolved; any other ``&name;`` is left as it is."""

    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        if e.startswith("#x"):
            return chr(int(e[2:], 16))
        if e.startswith("#"):
            return chr(int(e[1:]))
        return {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}.get(e, m.group())

    return re.sub(r"&(#x[0-9A-Fa-f]+|#[0-9]+|\w+);", one, s)

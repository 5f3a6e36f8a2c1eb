"""Formula text and tags: ``<f>`` elements found fast, relative A1 references shifted.

A formula carried down a row has its relative references moved by ``shift_formula``.

``shift_formula`` has its own tokenizer rather than ``grid``'s A1 parsing: it
rewrites references inside formula text, keeping ``$`` anchors, string
literals, quoted sheet names and structured references as they are.
"""

from __future__ import annotations

import re

from ...grid import column_index, column_letter
from .refs import MAX_COL, MAX_ROW

F_ANY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
F_ELEMENT = re.compile(rb"<((?:[\w.-]+:)?)f\b([^>]*?)(?:/>|>([^<]*)</(?:[\w.-]+:)?f>)")
V_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?v\b(?:[^>]*/>|[^>]*>[^<]*</(?:[\w.-]+:)?v>)")
_F_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?f>")


def has_formula_tag(data: bytes, prefix: bytes | None) -> bool:
    """Whether ``data`` holds an ``<f>`` element (one fast substring scan, then a regex).

    Every formula has a closing ``</f>`` (a shared formula's cells without text
    come with the master cell that has it), so the scan looks for that.
    """
    if prefix is not None:
        return b"</" + prefix + b"f>" in data
    return b"f>" in data and bool(_F_END.search(data))


_FORMULA_TOKENS = re.compile(
    r"""
      (?P<str>"(?:[^"]|"")*")
    | (?P<sheet>'(?:[^']|'')*')
    | (?P<br>\[(?:[^\[\]]|\[[^\[\]]*\])*\])
    | (?<![A-Za-z0-9_.$\\:])(?P<rows>\$?[0-9]{1,7}:\$?[0-9]{1,7})(?![A-Za-z0-9_.(:])
    | (?<![A-Za-z0-9_.\\])(?P<cell>\$?[A-Za-z]{1,3}\$?[0-9]{1,7})(?![A-Za-z0-9_.(\[!])
    """,
    re.VERBOSE,
)


def shift_formula(text: str, drow: int, dcol: int = 0) -> str | None:
    """``text`` with its relative A1 references moved by ``drow``/``dcol``; None if one falls off."""
    failed = False

    def shift_row(tok: str) -> str:
        nonlocal failed
        if tok.startswith("$"):
            return tok
        r = int(tok) + drow
        failed = failed or not 1 <= r <= MAX_ROW
        return str(r)

    def sub(m: re.Match[str]) -> str:
        nonlocal failed
        if m.group("rows"):
            a, b = m.group("rows").split(":")
            return f"{shift_row(a)}:{shift_row(b)}"
        tok = m.group("cell")
        if tok is None:
            return m.group()
        cm = re.match(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)$", tok)
        assert cm
        col = column_index(cm.group(2))
        if col > MAX_COL:
            return tok
        if not cm.group(1):
            col += dcol
            failed = failed or not 1 <= col <= MAX_COL
        row = cm.group(4) if cm.group(3) else shift_row(cm.group(4))
        return f"{cm.group(1)}{column_letter(max(col, 1))}{cm.group(3)}{row}"

    out = _FORMULA_TOKENS.sub(sub, text)
    return None if failed else out

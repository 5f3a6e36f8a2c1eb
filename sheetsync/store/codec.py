"""A snapshot's values as bytes: compressed JSON, encoded, and decoded whole or a chunk at a time.

A snapshot (and a baseline) keeps the records it read as zlib-compressed JSON
{table: {"fields": [...], "rows": [...][, "key": [...]]}}, dates as ISO text.
``encode_rows`` writes it ``VALUES_CHUNK`` rows at a time; ``iter_values``
reads it back without ever holding the whole text or every row.
"""

from __future__ import annotations

import json
import operator
import re
import zlib
from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson

from ..model import TABLES, Record


def encode_values(
    tables: dict[str, list[Record]], keys: dict[str, tuple[str, ...]] | None = None
) -> bytes:
    """Compact, compressed form of records for a snapshot (JSON, dates as ISO text);
    ``keys``: each table's key, recorded where it is not the built-in one."""
    out = {}
    for name, records in tables.items():
        names = [f.name for f in TABLES[name].fields]
        present = [n for n in names if records and n in records[0]]
        if len(present) > 1:
            try:  # records read from one sheet share their fields: the fast path
                out[name] = (present, list(map(operator.itemgetter(*present), records)))
                continue
            except KeyError:
                pass
        out[name] = (names, [[r.get(n) for n in names] for r in records])
    return encode_rows(out, keys)


def encode_rows(
    tables: dict[str, tuple[list[str], list[tuple]]],
    keys: dict[str, tuple[str, ...]] | None = None,
) -> bytes:
    """``encode_values`` of records given as (fields, value tuples) per table.

    The JSON text is made and compressed ``VALUES_CHUNK`` rows at a time, so a
    big table's text is never held whole (the same text ``orjson.dumps`` of
    {table: {"fields", "rows"[, "key"]}} would make)."""
    z = zlib.compressobj(1)
    out = [z.compress(b"{")]
    for n, (name, (fields, rows)) in enumerate(tables.items()):
        head = orjson.dumps(name) + b':{"fields":' + orjson.dumps(fields) + b',"rows":['
        out.append(z.compress(b"," + head if n else head))
        for start in range(0, len(rows), VALUES_CHUNK):
            text = orjson.dumps(rows[start : start + VALUES_CHUNK])[1:-1]
            out.append(z.compress(b"," + text if start else text))
        key = (keys or {}).get(name)
        if key and tuple(key) != TABLES[name].key:  # absent: the built-in key
            out.append(z.compress(b'],"key":' + orjson.dumps(list(key)) + b"}"))
        else:
            out.append(z.compress(b"]}"))
    out.append(z.compress(b"}"))
    out.append(z.flush())
    return b"".join(out)


VALUES_CHUNK = 20_000  # snapshot rows encoded, or decoded, at a time


def iter_values(blob: bytes | None) -> Iterator[tuple[str, list[str], list[list]]]:
    """A snapshot's values as stored (``load_values``), a chunk of rows at a
    time: (table, fields, rows), in stored order, each table at least once.

    Neither the whole text nor every row is held at once. A blob in another
    form than ``encode_rows`` writes (older snapshots may hold NaN) is decoded
    whole, from where the chunks stopped."""
    if not blob:
        return
    given: dict[str, int] = {}
    try:
        for name, fields, rows in _stream_values(blob):
            given[name] = given.get(name, 0) + len(rows)
            yield name, fields, rows
    except _Unstreamable:
        for name, part in _load_values(blob).items():
            done = given.get(name, 0)
            if name not in given or done < len(part["rows"]):
                yield name, part["fields"], part["rows"][done:]


class _Unstreamable(Exception):
    """Snapshot values not in the form ``encode_rows`` writes."""


# A table's head as orjson writes it; then its rows, then maybe its key.
_PART_HEAD = re.compile(rb'[{,]("[A-Za-z_][A-Za-z0-9_]*"):\{"fields":(\[[^\]]*\]),"rows":\[')
_PART_TAIL = re.compile(rb'(?:,"key":\[[^\]]*\])?\}')


class _Inflater:
    """A zlib blob's text, decompressed a piece at a time: ``buf[pos:]`` is
    what has not been consumed yet."""

    PIECE = 1 << 17  # compressed bytes per piece (about a megabyte of text)

    def __init__(self, blob: bytes) -> None:
        self._z = zlib.decompressobj()
        self._blob = memoryview(blob)
        self._at = 0
        self.buf = b""
        self.pos = 0

    def more(self) -> bool:
        """Append the next piece of text (False: there is no more)."""
        if self._at >= len(self._blob):
            return False
        piece = self._blob[self._at : self._at + self.PIECE]
        self._at += len(piece)
        text = self._z.decompress(piece)
        if self._at >= len(self._blob):
            text += self._z.flush()
        self.buf, self.pos = self.buf[self.pos :] + text, 0
        return True

    def ahead(self, n: int) -> None:
        """At least ``n`` bytes of text unconsumed, where there are that many."""
        while len(self.buf) - self.pos < n and self.more():
            pass


def _stream_values(blob: bytes) -> Iterator[tuple[str, list[str], list[list]]]:
    """``iter_values`` of a blob ``encode_rows`` wrote; _Unstreamable otherwise."""
    text = _Inflater(blob)
    text.ahead(2)
    if text.buf[text.pos : text.pos + 2] == b"{}":
        return
    while True:
        text.ahead(4096)  # a head is short: field names only
        head = _PART_HEAD.match(text.buf, text.pos)
        if head is None:
            raise _Unstreamable
        name, fields = orjson.loads(head[1]), orjson.loads(head[2])
        text.pos = head.end()
        yielded = False
        for rows in _stream_rows(text):
            yielded = True
            yield name, fields, rows
        if not yielded:
            yield name, fields, []
        text.ahead(4096)
        tail = _PART_TAIL.match(text.buf, text.pos)
        if tail is None:
            raise _Unstreamable
        text.pos = tail.end()
        text.ahead(1)
        if text.buf[text.pos : text.pos + 1] == b"}":
            return


def _stream_rows(text: _Inflater) -> Iterator[list[list]]:
    """The rows of one table's "rows" array, from ``text.pos`` (just inside
    it) to just after it, as many at a time as a piece of text holds.

    Rows are flat arrays of scalars, so outside strings "],[" is only ever
    between two rows and "]]" only at the end. Inside a string either can be
    text; the rows before it then end inside an unclosed string and never
    parse, so each candidate end is tried by parsing what comes before it."""
    text.ahead(1)
    if text.buf[text.pos : text.pos + 1] == b"]":  # no rows
        text.pos += 1
        return
    while True:
        buf, pos = text.buf, text.pos
        end = buf.find(b"]]", pos)
        while end >= 0:
            rows = _rows_before(buf, pos, end + 1)
            if rows is not None:
                text.pos = end + 2
                yield rows
                return
            end = buf.find(b"]]", end + 1)
        cut = buf.rfind(b"],[", pos)
        while cut >= 0:
            rows = _rows_before(buf, pos, cut + 1)
            if rows is not None:
                text.pos = cut + 2
                yield rows
                break
            cut = buf.rfind(b"],[", pos, cut)
        else:
            if not text.more():
                raise _Unstreamable


def _rows_before(buf: bytes, start: int, stop: int) -> list[list] | None:
    """The rows ``buf[start:stop]`` holds, or None when it is not whole rows."""
    try:
        return orjson.loads(b"[" + buf[start:stop] + b"]")
    except orjson.JSONDecodeError:
        return None


def _load_values(blob: bytes) -> dict[str, Any]:
    text = zlib.decompress(blob)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # snapshots written before 0.2 may hold NaN
        return json.loads(text)


def load_values(blob: bytes) -> dict[str, Any]:
    """A snapshot's values as stored: {table: {"fields": [...], "rows": [...]}}."""
    return _load_values(blob)


def decode_values(blob: bytes | None) -> dict[str, list[Record]]:
    if not blob:
        return {}
    out: dict[str, list[Record]] = {}
    for name, part in _load_values(blob).items():
        kinds = [TABLES[name].field_by_name[f].kind for f in part["fields"]]
        out[name] = [
            {
                f: (date.fromisoformat(v) if k == "date" and v else v)
                for f, k, v in zip(part["fields"], kinds, row, strict=True)
            }
            for row in part["rows"]
        ]
    return out

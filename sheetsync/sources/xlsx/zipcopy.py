"""The raw member copy: a zip rewritten with some members replaced, the rest copied raw.

Every other member is copied byte for byte (local header, compressed data and
descriptor), in its order.

Only the replaced members are deflated anew; the central directory gets the
new offsets. Archives this cannot copy raw (zip64, encrypted members, spanned
archives) are rewritten member by member through ``zipfile`` instead.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

_CD = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory file header, 46 bytes
_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, 30 bytes
_EOCD = struct.Struct("<IHHHHIIH")  # end of central directory, 22 bytes
_LEVELS = {0: 6, 1: 9, 2: 2, 3: 1}  # deflate option bits 1-2 → zlib level


class _RawUnsupported(Exception):
    pass


@dataclass
class _Entry:
    fields: list[int]
    tail: bytes  # name + extra + comment of the central record
    name: str

    @property
    def offset(self) -> int:
        return self.fields[16]


def _central_directory(f: BinaryIO) -> tuple[list[_Entry], bytes, int]:
    f.seek(0, 2)
    size = f.tell()
    f.seek(max(0, size - 65_557))
    tail = f.read()
    i = tail.rfind(b"PK\x05\x06")
    if i < 0 or len(tail) - i < 22:
        raise _RawUnsupported
    eocd = tail[i:]
    sig, disk, cd_disk, n_disk, n, cd_size, cd_off, clen = _EOCD.unpack(eocd[:22])
    eocd_pos = size - len(tail) + i
    if disk or cd_disk or n != n_disk or 0xFFFF in (n,) or 0xFFFFFFFF in (cd_size, cd_off):
        raise _RawUnsupported
    if cd_off + cd_size != eocd_pos or (i >= 20 and tail[i - 20 : i - 16] == b"PK\x06\x07"):
        raise _RawUnsupported
    f.seek(cd_off)
    cd = f.read(cd_size)
    entries: list[_Entry] = []
    pos = 0
    for _ in range(n):
        fields = list(_CD.unpack_from(cd, pos))
        if fields[0] != 0x02014B50:
            raise _RawUnsupported
        nlen, xlen, clen2 = fields[10], fields[11], fields[12]
        rec_end = pos + 46 + nlen + xlen + clen2
        raw_name = cd[pos + 46 : pos + 46 + nlen]
        name = raw_name.decode("utf-8" if fields[3] & 0x800 else "cp437")
        if 0xFFFFFFFF in (fields[8], fields[9], fields[16]) or fields[3] & 0x1:
            raise _RawUnsupported
        entries.append(_Entry(fields, cd[pos + 46 : rec_end], name))
        pos = rec_end
    if pos != cd_size:
        raise _RawUnsupported
    for e in entries:
        f.seek(e.offset)
        if f.read(4) != b"PK\x03\x04":
            raise _RawUnsupported
    return entries, eocd, cd_off


def _copy_range(f: BinaryIO, out: BinaryIO, start: int, end: int) -> None:
    f.seek(start)
    left = end - start
    while left > 0:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            raise zipfile.BadZipFile("truncated member")
        out.write(chunk)
        left -= len(chunk)


def _write_member(out: BinaryIO, e: _Entry, data: bytes | list[bytes | memoryview]) -> None:
    """Write a deflated member for ``e`` at out's position; update e's fields."""
    pieces = [data] if isinstance(data, bytes | bytearray | memoryview) else data
    flags = e.fields[3] & ~0x8  # no data descriptor
    level = _LEVELS[(flags >> 1) & 3] if e.fields[4] == 8 else 6
    name = e.tail[: e.fields[10]]
    start = out.tell()
    out.write(b"\0" * (30 + len(name)))
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc, usize, csize = 0, 0, 0
    for piece in pieces:
        if not len(piece):
            continue
        crc = zlib.crc32(piece, crc)
        usize += len(piece)
        chunk = comp.compress(piece)
        if chunk:
            csize += len(chunk)
            out.write(chunk)
    chunk = comp.flush()
    csize += len(chunk)
    out.write(chunk)
    if usize >= 0xFFFFFFFF or csize >= 0xFFFFFFFF:
        raise _RawUnsupported
    end = out.tell()
    version = max(e.fields[2], 20)
    out.seek(start)
    out.write(
        _LOCAL.pack(
            0x04034B50, version, flags, 8, e.fields[5], e.fields[6], crc, csize, usize, len(name), 0
        )
    )
    out.write(name)
    out.seek(end)
    e.fields[2], e.fields[3], e.fields[4] = version, flags, 8
    e.fields[7], e.fields[8], e.fields[9] = crc, csize, usize


def rewrite_zip(
    f: BinaryIO,
    zf: zipfile.ZipFile,
    out: BinaryIO,
    replacements: Mapping[str, bytes | list[bytes | memoryview]],
) -> None:
    """Copy the package in ``f`` to ``out``, replacing the data of some members.

    Unchanged members are copied as raw bytes (local header, compressed data and
    data descriptor), in their order; their central records only get a new
    offset. Falls back to a member-by-member rewrite through ``zipfile`` (same
    data, same order, recompressed) for zip64 and other unusual archives.
    """
    try:
        entries, eocd, cd_start = _central_directory(f)
    except _RawUnsupported:
        _rewrite_zip_fallback(zf, out, replacements)
        return
    missing = set(replacements) - {e.name for e in entries}
    if missing:
        raise KeyError(f"no such members: {sorted(missing)}")
    physical = sorted(entries, key=lambda e: e.offset)
    first = physical[0].offset if physical else cd_start
    _copy_range(f, out, 0, first)
    new_offsets: dict[int, int] = {}
    for i, e in enumerate(physical):
        end = physical[i + 1].offset if i + 1 < len(physical) else cd_start
        new_offsets[id(e)] = out.tell()
        if e.name in replacements:
            _write_member(out, e, replacements[e.name])
        else:
            _copy_range(f, out, e.offset, end)
    cd_off = out.tell()
    if cd_off >= 0xFFFFFFFF:
        raise _RawUnsupported
    for e in entries:
        e.fields[16] = new_offsets[id(e)]
        out.write(_CD.pack(*e.fields))
        out.write(e.tail)
    cd_size = out.tell() - cd_off
    head = list(_EOCD.unpack(eocd[:22]))
    head[5], head[6] = cd_size, cd_off
    out.write(_EOCD.pack(*head))
    out.write(eocd[22:])


def _rewrite_zip_fallback(
    zf: zipfile.ZipFile, out: BinaryIO, replacements: Mapping[str, bytes | list[bytes | memoryview]]
) -> None:
    with zipfile.ZipFile(out, "w") as z:
        for info in zf.infolist():
            new = replacements.get(info.filename)
            if new is None:
                data = zf.read(info)
            else:
                data = new if isinstance(new, bytes) else b"".join(bytes(p) for p in new)
            zi = zipfile.ZipInfo(info.filename, info.date_time)
            zi.compress_type = info.compress_type if new is None else zipfile.ZIP_DEFLATED
            zi.external_attr, zi.create_system, zi.comment = (
                info.external_attr,
                info.create_system,
                info.comment,
            )
            z.writestr(zi, data)
        z.comment = zf.comment

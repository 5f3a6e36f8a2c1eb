"""The model as an .xlsx attachment: one sheet per table, byte-identical for the same model."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

Records = dict[str, list[dict[str, Any]]]


def scoped_records(records: Records, teams: Sequence[str]) -> Records:
    """``records`` as a group filtered to ``teams`` may see them: only those
    teams' quotas (the other tables belong to no team)."""
    if not teams:
        return records
    return {**records, "quotas": [q for q in records.get("quotas", []) if q.get("team") in teams]}


def workbook_bytes(records: Records, as_of: date) -> bytes:
    """The model as an .xlsx, one sheet per table, byte-identical for the same model.

    openpyxl stamps the current time into docProps/core.xml and every zip
    entry; both are pinned to ``as_of`` so the pack hash stays stable.
    """
    from openpyxl import Workbook

    from ..model import TABLES

    wb = Workbook()
    wb.remove(wb.active)
    for name, spec in TABLES.items():
        rows = records.get(name, [])
        if spec.optional and not rows:
            continue
        ws = wb.create_sheet(spec.title)
        ws.append([fl.label or fl.name for fl in spec.fields])
        for r in rows:
            ws.append([r.get(fl.name) for fl in spec.fields])
        ws.freeze_panes = "A2"
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = "sheetsync"
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)",
                    rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\2",
                    data,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, data)
    return out.getvalue()

"""Replay recorded Google Sheets / Drive traffic against the emulator.

Each cassette in ``../shared/conformance/sheets-api/`` holds real requests sent
by gspread's own test suite and Google's real answers. Every interaction is
replayed in order against a fresh emulator; the recorded spreadsheet ids (and
sheet ids) are replaced by the ones the emulator assigned. Each answer must
have the recorded status code and a JSON body of the same structure: the same
keys at every level, lists of the same length, and the same JSON value types
(object, array, string, number, boolean, null) at every position. Beyond
that, where a value cannot depend on ids, titles or time (cell values, A1
ranges, update counts, grid sizes, error codes: ``SAME_VALUE_KEYS``), it must
be exactly the value Google sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from sheets_emulator import DRIVE_HOST, SHEETS_HOST, SheetsEmulator

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "sheets-api"
CASSETTES = sorted(CONFORMANCE.glob("*.json")) if CONFORMANCE.is_dir() else []

pytestmark = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason=f"conformance cassettes not found at {CONFORMANCE}"
)


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"  # JSON has one number type
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def structure_diff(want: Any, got: Any, where: str = "$") -> list[str]:
    """Every place where ``got`` differs in structure from ``want``."""
    tw, tg = _json_type(want), _json_type(got)
    if tw != tg:
        return [f"{where}: expected {tw}, got {tg} ({json.dumps(got)[:80]})"]
    out: list[str] = []
    if tw == "object":
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        if missing:
            out.append(f"{where}: missing keys {missing}")
        if extra:
            out.append(f"{where}: unexpected keys {extra}")
        for k in sorted(set(want) & set(got)):
            out.extend(structure_diff(want[k], got[k], f"{where}.{k}"))
    elif tw == "array":
        if len(want) != len(got):
            out.append(f"{where}: expected {len(want)} items, got {len(got)}")
        for i, (a, b) in enumerate(zip(want, got, strict=False)):
            out.extend(structure_diff(a, b, f"{where}[{i}]"))
    return out


# Keys whose recorded values do not depend on ids, titles or time: the emulator
# must give the very same values there (cell values, ranges, counts, grid sizes).
SAME_VALUE_KEYS = {
    "values",
    "range",
    "updatedRange",
    "clearedRange",
    "tableRange",
    "updatedRows",
    "updatedColumns",
    "updatedCells",
    "totalUpdatedRows",
    "totalUpdatedColumns",
    "totalUpdatedCells",
    "totalUpdatedSheets",
    "majorDimension",
    "gridProperties",
    "index",
    "sheetType",
    "status",
    "code",
    "kind",
    "mimeType",
}


def content_diff(want: Any, got: Any, where: str = "$") -> list[str]:
    """Differences in the values of :data:`SAME_VALUE_KEYS` (structure is checked apart)."""
    out: list[str] = []
    if isinstance(want, dict) and isinstance(got, dict):
        for k in set(want) & set(got):
            if k in SAME_VALUE_KEYS and want[k] != got[k]:
                out.append(f"{where}.{k}: expected {want[k]!r}, got {got[k]!r}")
            else:
                out.extend(content_diff(want[k], got[k], f"{where}.{k}"))
    elif isinstance(want, list) and isinstance(got, list):
        for i, (a, b) in enumerate(zip(want, got, strict=False)):
            out.extend(content_diff(a, b, f"{where}[{i}]"))
    return out


class _Ids:
    """Recorded id → emulator id, for spreadsheets (strings) and sheets (ints)."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.sheets: dict[int, int] = {}

    def uri(self, uri: str, base: str) -> str:
        for host in (SHEETS_HOST, DRIVE_HOST):
            if uri.startswith(host):
                uri = base + uri[len(host) :]
        for old, new in self.files.items():
            uri = uri.replace(old, new)
        return uri

    def body(self, body: Any) -> Any:
        if isinstance(body, dict):
            return {
                k: (
                    self.sheets.get(v, v) if k == "sheetId" and isinstance(v, int) else self.body(v)
                )
                for k, v in body.items()
            }
        if isinstance(body, list):
            return [self.body(x) for x in body]
        if isinstance(body, str):
            for old, new in self.files.items():
                body = body.replace(old, new)
        return body

    def learn(self, recorded: Any, got: Any) -> None:
        """Pair ids found at the same place in the recorded and the emulator's answers."""
        if isinstance(recorded, dict) and isinstance(got, dict):
            for k, v in recorded.items():
                if k not in got:
                    continue
                if k in ("id", "spreadsheetId") and isinstance(v, str) and isinstance(got[k], str):
                    self.files.setdefault(v, got[k])
                elif k == "sheetId" and isinstance(v, int) and isinstance(got[k], int):
                    self.sheets.setdefault(v, got[k])
                else:
                    self.learn(v, got[k])
        elif isinstance(recorded, list) and isinstance(got, list):
            for a, b in zip(recorded, got, strict=False):
                self.learn(a, b)


def _parse(text: str) -> Any:
    return json.loads(text) if text.strip() else None


@pytest.mark.parametrize("cassette", CASSETTES, ids=[p.stem for p in CASSETTES])
def test_cassette_replays_like_google(cassette: Path) -> None:
    interactions = json.loads(cassette.read_text())["interactions"]
    ids = _Ids()
    problems: list[str] = []
    with SheetsEmulator() as emu, requests.Session() as http:
        for n, it in enumerate(interactions):
            req, resp = it["request"], it["response"]
            body = req["body"]
            data = None
            if body:
                data = json.dumps(ids.body(json.loads(body))).encode()
            uri = ids.uri(req["uri"], emu.url)
            headers = {"Authorization": "Bearer replay-token"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            got = http.request(req["method"], uri, data=data, headers=headers, timeout=10)
            label = f"#{n} {req['method']} {req['uri'].split('?')[0][-60:]}"
            if got.status_code != resp["status"]["code"]:
                problems.append(
                    f"{label}: status {got.status_code}, recorded {resp['status']['code']}: "
                    f"{got.text[:200]}"
                )
                continue
            want = _parse(resp["body"]["string"])
            have = _parse(got.text)
            problems.extend(f"{label}: {p}" for p in structure_diff(want, have))
            problems.extend(f"{label}: {p}" for p in content_diff(want, have))
            ids.learn(want, have)
    assert not problems, "\n".join(problems)


def test_structure_diff_sees_differences() -> None:
    assert structure_diff({"a": [1, "x"]}, {"a": [2, "y"]}) == []
    assert structure_diff({"a": 1}, {"a": "1"})
    assert structure_diff({"a": 1}, {"a": 1, "b": 2})
    assert structure_diff({"a": [1]}, {"a": [1, 2]})
    assert structure_diff({"a": True}, {"a": 1})

"""Re-pulls compare in bounded memory: the last snapshot and the model's current
records are read a chunk at a time, never whole (sheetsync.compare).

The chunks are made tiny here (7 rows; the snapshot's text inflated 64
compressed bytes at a time), so the sample's tables span many chunks and every
row boundary is cut somewhere. What a re-pull leaves in the model must be what
a first pull of the same workbook into an empty model makes of it, on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import openpyxl
import orjson
import pytest
from pg import *  # noqa: F403  (store_url: SQLite and PostgreSQL)

import sheetsync.store.codec as codec_module
import sheetsync.store.reads as reads_module
from sheetsync.config import load_config
from sheetsync.pull import pull
from sheetsync.store import Store, encode_rows, iter_values, load_values, utcnow

FIRST_ROW = 2  # the sample's Quotas: header in row 1, 139 records below


@pytest.fixture
def chunks(monkeypatch) -> dict[str, int]:
    """Tiny chunks; counts the chunks of quotas each stream gave."""
    monkeypatch.setattr(codec_module, "VALUES_CHUNK", 7)
    monkeypatch.setattr(reads_module, "VALUES_CHUNK", 7)
    monkeypatch.setattr(codec_module._Inflater, "PIECE", 64)
    seen = {"snapshot": 0, "model": 0}
    real_snapshot, real_model = Store.snapshot_chunks, Store.current_chunks

    def snapshot(self, snapshot_id, conn):
        for name, fields, rows in real_snapshot(self, snapshot_id, conn):
            seen["snapshot"] += name == "quotas"
            yield name, fields, rows

    def model(self, conn, table):
        for rows in real_model(self, conn, table):
            seen["model"] += table == "quotas"
            yield rows

    monkeypatch.setattr(Store, "snapshot_chunks", snapshot)
    monkeypatch.setattr(Store, "current_chunks", model)
    return seen


def _edit(path: Path, change) -> None:
    wb = openpyxl.load_workbook(path)
    change(wb["Quotas"])
    wb.save(path)


def _fresh(sample_dir: Path, tmp_path: Path) -> list[dict]:
    """The quotas a first pull of the workbook as it is now makes (no comparison)."""
    store = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    pull(load_config(sample_dir / "sheetsync.toml"), store, rebind=True)
    records = store.records("quotas")
    store.close()
    return _sorted(records)


def _sorted(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: (r["rep"], str(r["period"])))


@pytest.mark.parametrize("full", [False, True], ids=["since-last-pull", "whole-model"])
def test_an_edit_far_down_is_found_across_chunk_boundaries(
    sample_dir, store_url, tmp_path, chunks, full
):
    config = load_config(sample_dir / "sheetsync.toml")
    store = Store(store_url)
    pull(config, store)
    row = 131  # the 130th record: chunk 19 of 20

    def change(ws):
        ws[f"F{row}"] = 987_654  # Sales ($)

    _edit(sample_dir / "sales_plan.xlsx", change)
    chunks.update(snapshot=0, model=0)
    [result] = pull(config, store, full=full)
    quotas = result.tables["quotas"]
    assert (quotas.updated, quotas.inserted, quotas.deleted, quotas.unchanged) == (1, 0, 0, 138)
    # it was compared a chunk at a time: the last pull's values, or the model's
    assert chunks["model" if full else "snapshot"] >= 139 // 7
    assert _sorted(store.records("quotas")) == _fresh(sample_dir, tmp_path)
    [version] = [v for v in store.versions("quotas") if v.closed == 987_654]
    assert version._row == row  # the new version keeps the cell it was read from
    store.close()


@pytest.mark.parametrize("full", [False, True], ids=["since-last-pull", "whole-model"])
def test_a_row_removed_far_from_the_start_is_deleted(sample_dir, store_url, tmp_path, chunks, full):
    config = load_config(sample_dir / "sheetsync.toml")
    store = Store(store_url)
    pull(config, store)
    row = 136
    wb = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")
    ws = wb["Quotas"]
    gone = (ws[f"A{row}"].value, ws[f"D{row}"].value.strftime("%Y-%m"))
    ws.delete_rows(row)
    wb.save(sample_dir / "sales_plan.xlsx")
    [result] = pull(config, store, full=full)
    quotas = result.tables["quotas"]
    assert (quotas.updated, quotas.inserted, quotas.deleted, quotas.unchanged) == (0, 0, 1, 138)
    now = _sorted(store.records("quotas"))
    assert gone not in {(q["rep"], q["period"]) for q in now}
    assert len(now) == 138
    assert now == _fresh(sample_dir, tmp_path)
    store.close()


def test_records_of_another_source_are_not_deleted_by_a_whole_compare(sample_dir, tmp_path, chunks):
    """The model holds quotas this sheet never had (its last pull did not
    hold them): --full streams past them and deletes only what it held."""
    config = load_config(sample_dir / "sheetsync.toml")
    store = Store(f"sqlite:///{tmp_path / 'model.db'}")
    pull(config, store)
    with store.transaction() as conn:
        store.apply(
            conn,
            "quotas",
            [{"rep": "Elsewhere", "period": "2026-01", "quota": 5.0}],
            (),
            source="other",
            at=utcnow(),
        )
    [result] = pull(config, store, full=True)
    assert result.tables["quotas"].deleted == 0 and result.tables["quotas"].unchanged == 139
    assert "Elsewhere" in {q["rep"] for q in store.records("quotas")}
    store.close()


# ---------------------------------------------------------------- snapshot values, streamed

AWKWARD = ["a],[b", "x]]", '"]],[', "\\", '\\"]]', "é ✓", "", "],[", "]]", "[[", "}"]


def _rows(n: int) -> list[tuple]:
    return [
        (f"Rep {i}", AWKWARD[i % len(AWKWARD)], None, 1.5 * i, i % 2 == 0, "2026-01-01")
        for i in range(n)
    ]


def _streamed(blob: bytes) -> dict:
    out: dict = {}
    for name, fields, rows in iter_values(blob):
        part = out.setdefault(name, {"fields": fields, "rows": []})
        part["rows"] += rows
    return out


FIELDS = ["rep", "team", "region", "quota", "closed", "period"]


@pytest.mark.parametrize("piece", [16, 64, 1 << 17])
def test_values_stream_as_they_decode_whole(monkeypatch, piece):
    monkeypatch.setattr(codec_module, "VALUES_CHUNK", 5)
    monkeypatch.setattr(codec_module._Inflater, "PIECE", piece)
    tables = {
        "quotas": (FIELDS, _rows(300)),
        "projects": (["key", "name"], [("P1", "a]]"), ("P2", "b],[c")]),
        "milestones": (["key", "name"], []),
    }
    blob = encode_rows(tables, {"projects": ("name",)})
    whole = load_values(blob)
    assert whole["quotas"]["rows"] == [list(r) for r in _rows(300)]
    assert whole["projects"]["key"] == ["name"]
    assert list(whole) == ["quotas", "projects", "milestones"]
    streamed = _streamed(blob)
    assert streamed == {n: {"fields": p["fields"], "rows": p["rows"]} for n, p in whole.items()}
    if piece == 16:  # many chunks, each of whole rows
        assert sum(1 for _ in iter_values(blob)) > 300 // 50


def test_an_empty_snapshot_streams_nothing():
    assert load_values(encode_rows({})) == {}
    assert list(iter_values(encode_rows({}))) == []
    assert list(iter_values(None)) == []


def test_older_snapshots_with_nan_stream_whole_from_where_the_chunks_stopped(monkeypatch):
    """Written by json.dumps before 0.2: NaN, which orjson refuses, after rows
    that streamed; the rest comes from the whole decode, nothing twice."""
    monkeypatch.setattr(codec_module._Inflater, "PIECE", 64)
    rows = [list(r) for r in _rows(200)]
    rows[150][3] = float("nan")
    text = json.dumps({"quotas": {"fields": FIELDS, "rows": rows}}, separators=(",", ":"))
    blob = zlib.compress(text.encode(), 1)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(zlib.decompress(blob))
    parts = list(iter_values(blob))
    assert len(parts) > 1  # some streamed before the NaN
    got = [r for _, _, chunk in parts for r in chunk]
    assert len(got) == 200
    assert got[:150] == rows[:150] and got[151:] == rows[151:]
    assert got[150][3] != got[150][3]  # NaN


# ---------------------------------------------------------------- formula results, scanned in pieces


@pytest.mark.parametrize("piece", [64, 1 << 22])
def test_uncalculated_formulas_are_found_in_a_sheet_read_in_pieces(sample_dir, monkeypatch, piece):
    """After a push the Attainment formulas of the written rows have no result;
    the scan that finds them reads the sheet's XML a piece at a time."""
    import zipfile

    from sheetsync.sources.changes import CellWrite
    from sheetsync.sources.xlsx import scan
    from sheetsync.sources.xlsx.package import Package
    from sheetsync.sources.xlsx.patch import patch_workbook
    from sheetsync.sources.xlsx.sheet import Sheet

    book = sample_dir / "sales_plan.xlsx"
    patch_workbook(book, [CellWrite("Quotas", "F131", 5.0)], backups=0)
    with zipfile.ZipFile(book) as zf:
        pkg = Package(book, zf)
        whole = Sheet(pkg.read(pkg.sheet_part("Quotas"))).uncalculated()
    monkeypatch.setattr(scan, "SCAN_PIECE", piece)
    assert "H131" in whole
    assert scan.uncalculated_cells(book, ["Quotas"]) == {"Quotas": whole}

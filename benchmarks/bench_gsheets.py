"""Pull and push a big Google Sheet through the loopback emulator; print request counts.

    .venv/bin/python benchmarks/bench_gsheets.py [--rows 20000] [--changes 1000]

Starts the Sheets API emulator in-process (tests/sheets_emulator.py), seeds a
sheet, then times, through real gspread + google-auth (a generated
service-account key whose token endpoint is the emulator), what a command
sends: a pull (``read_sheets``: one ``values:batchGet``) and a push
(``read_grid``: one ``spreadsheets.get`` with values, formulas and grid
sizes; then ``write_cells``: one ``spreadsheets.batchUpdate`` with the grid
growth and typed values). A smaller run shows that the request counts do not
grow with rows or changes. Baselines: one raw ``values:batchGet`` over plain
``requests`` (the floor for a pull) and gspread's per-cell ``update_acell``
(what naive code sends for a push). Pulls are the best of 3 (the machine is
shared). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sheets_emulator import (  # noqa: E402
    SheetsEmulator,
    gspread_client,
    write_service_account_file,
)

from sheetsync.sources.gsheets.client import RetryPolicy  # noqa: E402
from sheetsync.sources.gsheets.sheet import open_spreadsheet  # noqa: E402

COLUMNS = ["Rep", "Region", "Account", "Quota", "Won", "Pipeline", "Close date", "Stage"]
REGIONS = ["EMEA", "APAC", "NA", "LATAM"]


def seed_rows(n: int) -> list[list[Any]]:
    rows: list[list[Any]] = [COLUMNS]
    for i in range(1, n):
        rows.append(
            [
                f"rep{i % 250:03d}",
                REGIONS[i % 4],
                f"Account {i}",
                10_000 + (i * 37) % 90_000,
                round((i * 13.7) % 50_000, 2),
                (i * 101) % 200_000,
                45_292 + i % 365,  # a date serial
                "Closed won" if i % 3 == 0 else "Negotiation",
            ]
        )
    return rows


def api_counts(emu: SheetsEmulator) -> dict[str, int]:
    return {k: v for k, v in sorted(emu.counts.items()) if k != "oauth.token"}


def run(emu: SheetsEmulator, sa: Path, rows: int, changes: int) -> dict[str, Any]:
    key = emu.create_spreadsheet("Bench", {"Pipeline": seed_rows(rows)}, value_input="RAW")
    # best of 3 pulls, each on a fresh object (token, metadata and values every time)
    t_read = float("inf")
    for _ in range(3):
        emu.reset_counts()
        sheet = open_spreadsheet(key, sa, base_url=emu.url, retry=RetryPolicy())
        t0 = time.perf_counter()
        grid = sheet.read_sheets(["Pipeline"])["Pipeline"]
        t_read = min(t_read, time.perf_counter() - t0)
        assert len(grid) == rows, (len(grid), rows)
        read_counts = api_counts(emu)

    step = max(1, (rows - 1) // changes)
    edits = [
        ("Pipeline", f"E{2 + i * step}", 99_999.5)
        if i % 2
        else ("Pipeline", f"G{2 + i * step}", dt.date(2025, 6, 30))
        for i in range(changes)
    ]
    new_rows = [("Pipeline", ["new", "EMEA", "Acme", 1, 0, 0, 45_500, "New"])] * 50

    def push(changes: list, appends: list) -> tuple[float, dict[str, int]]:
        """A push as the command does it, on a fresh object: one read, one write."""
        emu.reset_counts()
        sheet = open_spreadsheet(key, sa, base_url=emu.url, retry=RetryPolicy())
        t0 = time.perf_counter()
        sheet.read_grid(["Pipeline"])
        result = sheet.write_cells(changes, appends)
        assert result.cells == len(changes) + sum(len(r) for _, r in appends)
        return time.perf_counter() - t0, api_counts(emu)

    t_write, write_counts = push(edits, [])
    t_append, append_counts = push([], new_rows)  # past the grid: it grows in the same request
    return {
        "key": key,
        "rows": rows,
        "changes": changes,
        "t_read": t_read,
        "t_write": t_write,
        "t_append": t_append,
        "read": read_counts,
        "write": write_counts,
        "append": append_counts,
    }


def raw_batch_get(emu: SheetsEmulator, key: str) -> float:
    import requests

    best = float("inf")
    for _ in range(3):  # best of 3, like the pulls
        with requests.Session() as http:
            t0 = time.perf_counter()
            r = http.get(
                f"{emu.url}/v4/spreadsheets/{key}/values:batchGet",
                params={"ranges": "'Pipeline'", "valueRenderOption": "UNFORMATTED_VALUE"},
                headers={"Authorization": "Bearer raw"},
                timeout=60,
            )
            r.json()
            best = min(best, time.perf_counter() - t0)
    return best


def naive_per_cell(emu: SheetsEmulator, key: str, n: int) -> tuple[float, int]:
    ws = gspread_client(emu).open_by_key(key).worksheet("Pipeline")
    emu.reset_counts()
    t0 = time.perf_counter()
    for i in range(n):
        ws.update_acell(f"E{2 + i}", 1.5)
    return time.perf_counter() - t0, emu.count()


def fmt_counts(c: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in c.items()) or "none"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--changes", type=int, default=1_000)
    args = ap.parse_args()

    with SheetsEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
        sa = write_service_account_file(
            Path(tmp) / "robot.json", emu, "bench@sheetsync.iam.gserviceaccount.com"
        )
        small = run(emu, sa, 2_000, 100)
        big = run(emu, sa, args.rows, args.changes)
        t_raw = raw_batch_get(emu, big["key"])
        t_naive, naive_requests = naive_per_cell(emu, small["key"], 100)

    print(f"Google Sheets through the loopback emulator ({len(COLUMNS)} columns)")
    print()
    header = f"{'':34}{'rows':>8}{'changes':>9}{'seconds':>10}   requests"
    print(header)
    print("-" * (len(header) + 40))
    for r in (small, big):
        print(
            f"{'pull  read_sheets':34}{r['rows']:>8}{'':>9}{r['t_read']:>10.3f}   {fmt_counts(r['read'])}"
        )
    for r in (small, big):
        print(
            f"{'push  read_grid + write_cells':34}{r['rows']:>8}{r['changes']:>9}{r['t_write']:>10.3f}   "
            f"{fmt_counts(r['write'])}"
        )
    for r in (small, big):
        print(
            f"{'push  50 appended rows (grid grows)':34}{r['rows']:>8}{50:>9}{r['t_append']:>10.3f}   "
            f"{fmt_counts(r['append'])}"
        )
    print()
    print("baselines")
    print(
        f"  raw values:batchGet, {big['rows']} rows (plain requests, no auth, best of 3): "
        f"{t_raw:.3f} s; "
        f"read_sheets (best of 3) / raw = {big['t_read'] / t_raw:.2f}x"
    )
    print(
        f"  gspread update_acell per cell, 100 changes: {t_naive:.3f} s in {naive_requests} "
        f"requests; a push did 100 in {sum(small['write'].values())} request(s) "
        f"(read included), {t_naive / small['t_write']:.0f}x faster"
    )
    same = all(small[k] == big[k] for k in ("read", "write", "append"))
    print()
    print(
        "request counts constant across "
        f"{small['rows']}→{big['rows']} rows and {small['changes']}→{big['changes']} changes: "
        f"{'yes' if same else 'NO'}"
    )


if __name__ == "__main__":
    main()

"""Push 1,000 changed cells into a 100,000-row quota workbook, three ways.

    .venv/bin/python benchmarks/bench_push.py [--rows 100000] [--cells 1000] [--no-openpyxl]

(a) sheetsync ``patch_workbook``; (b) the floor: recompress just that one
worksheet's XML into a copy of the package, every other member copied raw
(and fsynced, like the patch);
(c) openpyxl load + modify + save. Each runs in its own subprocess so peak
memory (ru_maxrss) is its own. The workbook is generated once (openpyxl
write-only) and cached in ``benchmarks/_data/``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
ROOT = HERE.parent
COLUMNS = [
    "Rep",
    "Region",
    "Segment",
    "Period",
    "Quota",
    "Booked",
    "Pipeline",
    "Forecast",
    "Deals",
    "Note",
]
NUMERIC = ["E", "F", "G", "H", "I"]


def generate(path: Path, rows: int) -> None:
    import openpyxl

    rnd = random.Random(7)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Quotas")
    ws.append(COLUMNS)
    regions = ["EMEA", "NA", "LATAM", "APAC"]
    segments = ["SMB", "Mid-market", "Enterprise"]
    start = date(2024, 1, 1)
    for i in range(rows):
        quota = rnd.randrange(50, 500) * 1000
        ws.append(
            [
                f"Rep {i % 5000:04d}",
                regions[i % 4],
                segments[i % 3],
                start + timedelta(days=7 * (i % 104)),
                quota,
                round(quota * rnd.random(), 2),
                round(quota * 3 * rnd.random(), 2),
                round(quota * rnd.uniform(0.5, 1.2), 2),
                rnd.randrange(0, 40),
                f"note {rnd.randrange(10**6)}",
            ]
        )
    wb.save(path)


def changes(rows: int, cells: int) -> list[tuple[str, float]]:
    rnd = random.Random(42)
    picked: set[str] = set()
    while len(picked) < cells:
        picked.add(f"{rnd.choice(NUMERIC)}{rnd.randrange(2, rows + 2)}")
    return [(ref, round(rnd.uniform(1, 10**6), 2)) for ref in sorted(picked)]


# ----------------------------------------------------------------------------- children


def child(mode: str, path: Path, change_file: Path) -> None:
    import resource

    sys.path.insert(0, str(ROOT))
    todo = json.loads(change_file.read_text())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    base, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    if mode == "patch":
        from sheetsync.sources.changes import CellWrite
        from sheetsync.sources.xlsx import patch_workbook

        t = time.perf_counter()
        patch_workbook(path, [CellWrite("Quotas", ref, v) for ref, v in todo], backups=0)
        elapsed = time.perf_counter() - t
    elif mode == "floor":
        import zipfile

        from sheetsync.sources.xlsx.zipcopy import rewrite_zip

        t = time.perf_counter()
        out_path = path.with_name(path.stem + ".floor.xlsx")
        with open(path, "rb") as f, zipfile.ZipFile(f) as zf, open(out_path, "wb") as out:
            sheet = "xl/worksheets/sheet1.xml"
            rewrite_zip(f, zf, out, {sheet: zf.read(sheet)})
            out.flush()
            os.fsync(out.fileno())  # as durable as the patch
        elapsed = time.perf_counter() - t
    else:
        import openpyxl

        t = time.perf_counter()
        wb = openpyxl.load_workbook(path)
        ws = wb["Quotas"]
        for ref, v in todo:
            ws[ref].value = v
        wb.save(path)
        elapsed = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    peak, base = usage.ru_maxrss / 1024, base / 1024
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mb": peak, "base_mb": base}))


def run_child(mode: str, src: Path, change_file: Path) -> dict:
    work = DATA / f"work-{mode}.xlsx"
    shutil.copy(src, work)
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(work), str(change_file)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--cells", type=int, default=1_000)
    ap.add_argument("--no-openpyxl", action="store_true", help="skip the slow openpyxl run")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    DATA.mkdir(exist_ok=True)
    src = DATA / f"quotas-{args.rows}.xlsx"
    if not src.exists():
        t = time.perf_counter()
        generate(src, args.rows)
        print(f"generated {src.name} in {time.perf_counter() - t:.1f} s")
    change_file = DATA / f"changes-{args.rows}-{args.cells}.json"
    change_file.write_text(json.dumps(changes(args.rows, args.cells)))
    import zipfile

    with zipfile.ZipFile(src) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    print(
        f"workbook: {src.name}, {src.stat().st_size / 1e6:.1f} MB on disk; worksheet XML "
        f"{info.file_size / 1e6:.1f} MB ({info.compress_size / 1e6:.1f} MB deflated); "
        f"{args.cells} cells changed"
    )
    runs: dict[str, list[dict]] = {"floor": [], "patch": []}
    for _ in range(3):  # interleaved, so a busy moment of the machine hits both
        for mode in ("floor", "patch"):
            runs[mode].append(run_child(mode, src, change_file))
    if not args.no_openpyxl:
        runs["openpyxl"] = [run_child("openpyxl", src, change_file)]
    res = {
        mode: {
            "wall": min(r["seconds"] for r in rs),
            "cpu": min(r["cpu"] for r in rs),
            "peak": max(r["peak_mb"] for r in rs),
            "base": min(r["base_mb"] for r in rs),
        }
        for mode, rs in runs.items()
    }
    label = {
        "patch": "(a) sheetsync patch_workbook",
        "floor": "(b) floor: recompress 1 sheet",
        "openpyxl": "(c) openpyxl load+edit+save",
    }
    print(
        f"{'best of 3 (openpyxl: 1 run)':31} {'wall':>9} {'CPU':>9} {'peak RSS':>9} {'at start':>9}"
    )
    for mode in ("patch", "floor", "openpyxl"):
        if mode in res:
            r = res[mode]
            print(
                f"{label[mode]:31} {r['wall']:8.3f}s {r['cpu']:8.3f}s {r['peak']:7.0f}MB {r['base']:7.0f}MB"
            )
    p, f = res["patch"], res["floor"]
    wall, cpu = p["wall"] / f["wall"], p["cpu"] / f["cpu"]
    print(f"patch / floor    = {wall:5.2f}x wall, {cpu:5.2f}x CPU   (target <= 1.5x)")
    if "openpyxl" in res:
        o = res["openpyxl"]
        wall, cpu = o["wall"] / p["wall"], o["cpu"] / p["cpu"]
        print(f"openpyxl / patch = {wall:5.1f}x wall, {cpu:5.1f}x CPU   (target >= 20x)")
        print(
            f"peak memory: openpyxl {o['peak']:.0f} MB = {o['peak'] / p['peak']:.1f}x the patch's"
        )


if __name__ == "__main__":
    main()

"""Pull speed: `sheetsync pull` on a 100,000-row × 10-column quota sheet vs the raw read.

Prints, in one run: calamine's raw read of the sheet (the library sheetsync
reads with) and the library pull (read + validate + write a fresh SQLite
model), then pulls again unchanged (skipped: the bytes are the ones last
read; and with --full) and with 1% of the rows edited (the weekly case), and
the ratios to the raw read. Every time is the best of --repeat runs (the
machine is shared). Target: pull ≤ 1.5× the raw read.
The CLI in a fresh process is compared with the raw read in a fresh process
(both pay Python's start). Also: openpyxl read-only for reference (skip with
--no-openpyxl), and `sheetsync --help` start-up time.

    .venv/bin/python benchmarks/bench_pull.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parent / "_data"
TOML = """
[sources.big]
kind = "xlsx"
path = "{path}"
[sources.big.tables.quotas]
sheet = "Quotas"
header_row = 1
[sources.big.tables.quotas.columns]
rep = "Salesperson"
team = "Team"
region = "Region"
period = "Month"
quota = "Target ($)"
closed = "Sales ($)"
pipeline = "Pipeline ($)"
commit = "Commit ($)"
"""


def make_workbook(rows: int, edited: bool = False) -> Path:
    """The quota workbook; ``edited``: the same with every 100th Sales cell changed."""
    import openpyxl

    path = DATA / f"quotas_{rows}{'_edited' if edited else ''}.xlsx"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Quotas")
    ws.append(
        [
            "Salesperson",
            "Team",
            "Region",
            "Month",
            "Target ($)",
            "Sales ($)",
            "Pipeline ($)",
            "Commit ($)",
            "Notes",
            "Stage",
        ]
    )
    months = [date(2000 + m // 12, m % 12 + 1, 1) for m in range(rows // 1000 + 1)]
    for i in range(rows):
        rep, m = divmod(i, len(months))
        ws.append(
            [
                f"Rep {rep:05d}",
                f"Team {rep % 12}",
                ("EMEA", "AMER", "APAC")[rep % 3],
                months[m],
                50_000 + (i % 97) * 100,
                40_000 + (i % 89) * 130 + (7 if edited and i % 100 == 0 else 0),
                120_000.5 + i % 7,
                60_000 + i % 11,
                "ok" if i % 5 else "",
                ("Open", "Won", "Lost")[i % 3],
            ]
        )
    wb.save(path)
    return path


def bare_insert(config, tmp: Path, repeat: int) -> float:
    """The floor of any pull's write: the sheet's rows, already mapped, inserted
    into the model's quota table with plain sqlite3 (one INSERT per row, one
    transaction, the model's one index), no validation, no snapshot."""
    import sqlite3

    from sheetsync.reading import read_source
    from sheetsync.store import Store

    mt = read_source(config, config.select_sources(())[0]).tables["quotas"]
    rows = [
        (k, "2026-11-30 00:00:00.000000", "big", *v)
        for k, v in zip(mt.keys, mt.values, strict=True)
    ]
    names = ", ".join(f'"{n}"' for n in ["_key", "_valid_from", "_source", *mt.fields])
    sql = f"INSERT INTO quotas ({names}) VALUES ({', '.join('?' * len(rows[0]))})"

    def run() -> None:
        for p in tmp.glob("bare.db*"):
            p.unlink()
        Store(f"sqlite:///{tmp / 'bare.db'}").close()  # the model's schema
        con = sqlite3.connect(tmp / "bare.db", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("BEGIN")
        con.executemany(sql, rows)
        con.execute("COMMIT")
        con.close()

    return best(run, repeat)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-openpyxl", action="store_true")
    args = ap.parse_args()

    import python_calamine

    from sheetsync.config import load_config
    from sheetsync.reading import start_reads
    from sheetsync.store import Store
    from sheetsync.sync import pull

    path = make_workbook(args.rows)
    print(
        f"workbook: {path.name} ({path.stat().st_size / 1e6:.1f} MB), {args.rows:,} rows × 10 columns"
    )

    def raw() -> None:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        wb.get_sheet_by_name("Quotas").to_python(skip_empty_area=False)
        wb.close()

    t_raw = best(raw, args.repeat)
    tmp = Path(tempfile.mkdtemp())
    cfg = tmp / "sheetsync.toml"
    cfg.write_text(TOML.format(path=path))
    config = load_config(cfg)

    def lib_pull() -> None:
        db = tmp / "model.db"
        for p in tmp.glob("model.db*"):
            p.unlink()
        reads = start_reads(config)  # as the CLI does: parse while the model opens
        store = Store(f"sqlite:///{db}")
        pull(config, store, reads=reads)
        store.close()

    t_pull = best(lib_pull, args.repeat)
    t_insert = bare_insert(config, tmp, args.repeat)
    store = Store(f"sqlite:///{tmp / 'again.db'}")
    pull(config, store)
    t_again = best(lambda: pull(config, store), args.repeat)  # nothing changed: not read
    assert pull(config, store)[0].unchanged_since is not None
    t_again_full = best(lambda: pull(config, store, full=True), args.repeat)
    store.close()
    edited_cfg = tmp / "edited.toml"
    edited_cfg.write_text(TOML.format(path=make_workbook(args.rows, edited=True)))
    edited = load_config(edited_cfg)

    def weekly() -> None:  # the weekly case: 1% of the rows changed since the last pull
        shutil.copy(tmp / "again.db", tmp / "weekly.db")
        store = Store(f"sqlite:///{tmp / 'weekly.db'}")
        t = time.perf_counter()
        pull(edited, store)
        times.append(time.perf_counter() - t)
        store.close()

    times: list[float] = []
    for _ in range(args.repeat):
        weekly()
    t_weekly = min(times)

    def cli_pull() -> None:
        for p in tmp.glob("model.db*"):
            p.unlink()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sheetsync",
                "--config",
                str(cfg),
                "--db",
                f"sqlite:///{tmp / 'model.db'}",
                "--quiet",
                "pull",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    t_cli = best(cli_pull, args.repeat)
    raw_script = (
        f"import python_calamine as pc; wb = pc.CalamineWorkbook.from_path({str(path)!r}); "
        "wb.get_sheet_by_name('Quotas').to_python(skip_empty_area=False)"
    )
    t_raw_proc = best(
        lambda: subprocess.run([sys.executable, "-c", raw_script], check=True), args.repeat
    )
    t_help = best(
        lambda: subprocess.run(
            [sys.executable, "-m", "sheetsync", "--help"], check=True, stdout=subprocess.DEVNULL
        ),
        5,
    )
    t_bare = best(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 5)
    print(f"raw read (calamine to_python)        {t_raw:7.2f} s")
    print(
        f"sheetsync pull (library, fresh model) {t_pull:7.2f} s   ratio {t_pull / t_raw:4.2f}× raw  (target ≤ 1.5×)"
    )
    print(
        f"floor: raw read + bare SQLite insert {t_raw + t_insert:7.2f} s   ratio "
        f"{(t_raw + t_insert) / t_raw:4.2f}× raw  (insert alone {t_insert:.2f} s)"
    )
    print(
        f"sheetsync pull again, unchanged       {t_again:7.2f} s   ratio {t_again / t_raw:4.2f}× raw  "
        "(not read: same bytes, mapping and model; target ≤ 0.1×)"
    )
    print(
        f"  the same with --full                {t_again_full:7.2f} s   ratio {t_again_full / t_raw:4.2f}× raw"
    )
    print(
        f"sheetsync pull again, 1% rows edited  {t_weekly:7.2f} s   ratio {t_weekly / t_raw:4.2f}× raw"
    )
    print(f"raw read in a fresh python process    {t_raw_proc:7.2f} s")
    print(
        f"sheetsync pull (CLI process)          {t_cli:7.2f} s   ratio {t_cli / t_raw_proc:4.2f}× "
        f"raw in a process ({t_cli / t_raw:4.2f}× in-process raw)"
    )
    print(
        f"sheetsync --help                      {t_help:7.2f} s   (bare python start {t_bare:.2f} s; target ≤ 0.3 s)"
    )
    if not args.no_openpyxl:
        import openpyxl

        def opx() -> None:
            wb = openpyxl.load_workbook(path, read_only=True)
            for _ in wb["Quotas"].iter_rows(values_only=True):
                pass
            wb.close()

        t_opx = best(opx, 1)
        print(
            f"openpyxl read-only (reference)        {t_opx:7.2f} s   ({t_opx / t_raw:.0f}× calamine)"
        )
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

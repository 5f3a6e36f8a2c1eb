"""History speed: `log` and `changes` on a model holding a year of weekly pulls
of the 100,000-row benchmark workbook (bench_pull's), vs a bare SQL count.

The year is built quickly: one real pull of the workbook (clock frozen a year
back), then 51 weekly pulls written straight through the store's API, each
changing the Sales cell of 1% of the rows (the weekly case of bench_pull; ten
rows change every week), with its snapshot; each version keeps its sheet row
and each snapshot the read's layout, as a pull records them, so ``log`` names
the cell of every change. Then, best of N in one run:

* raw: ``SELECT count(*)`` of the versions a week touched (plain sqlite3);
* ``changes --since D --until D+7`` (the library function and the CLI in-process);
* ``log quotas KEY`` (one record's 52 versions) and ``log quotas --since D``
  (a table's changes in the last week).

    .venv/bin/python benchmarks/bench_history.py [--rows 100000] [--weeks 52]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_pull import TOML, best, make_workbook


def build_year(db: Path, config, weeks: int, start: datetime) -> int:
    """The model after ``weeks`` weekly pulls; returns the number of record versions."""
    import time_machine

    from sheetsync.pull import pull
    from sheetsync.store import Store

    with time_machine.travel(start, tick=False):
        store = Store(f"sqlite:///{db}")
        pull(config, store)
    names = ["rep", "team", "region", "period", "quota", "closed", "pipeline", "commit"]
    columns = ", ".join('"' + n + '"' for n in names)
    with store.engine.connect() as c:
        rows = c.exec_driver_sql(
            f"SELECT _key, {columns}, _row FROM quotas WHERE _valid_to IS NULL ORDER BY _id"
        ).all()
        layout = c.exec_driver_sql("SELECT layout FROM snapshots").scalar_one()
    n = len(rows)
    step = 100  # 1% of the rows change each week, a different 1% each time
    for w in range(1, weeks):
        at = (start + timedelta(weeks=w)).replace(tzinfo=None)
        picked = rows[:10] + rows[10 + w % step :: step]  # ten rows change every week
        keys = [r[0] for r in picked]
        values = [(*r[1:6], (r[6] or 0.0) + w, *r[7:9]) for r in picked]
        with store.transaction() as conn:
            store.apply_rows(
                conn,
                "quotas",
                names,
                values,
                (),
                source="big",
                at=at,
                keys=keys,
                replaced=keys,
                sheet_rows=[r[9] for r in picked],
            )
            store.add_snapshot(
                conn,
                source="big",
                kind="pull",
                at=at,
                content_hash=f"week{w}",
                summary={"quotas": {"updated": len(keys)}},
                values=None,
                layout=json.loads(layout) if isinstance(layout, str) else layout,
            )
    store.close()
    return n + sum(10 + len(range(10 + w % step, n, step)) for w in range(1, weeks))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from click.testing import CliRunner

    from sheetsync.cli import cli
    from sheetsync.config import load_config
    from sheetsync.history import changes_between, record_log
    from sheetsync.plan import known_at
    from sheetsync.provenance import Provenance
    from sheetsync.store import Store, show_key

    tmp = Path(tempfile.mkdtemp())
    cfg = tmp / "sheetsync.toml"
    cfg.write_text(TOML.format(path=make_workbook(args.rows)))
    config = load_config(cfg)
    db = tmp / "year.db"
    start = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    t = time.perf_counter()
    versions = build_year(db, config, args.weeks, start)
    print(
        f"model: {args.rows:,} rows, {args.weeks} weekly pulls, {versions:,} quota versions "
        f"({db.stat().st_size / 1e6:.0f} MB, built in {time.perf_counter() - t:.0f} s)"
    )
    last = (start + timedelta(weeks=args.weeks - 1)).date()
    since_day, until_day = last - timedelta(days=7), last
    store = Store(f"sqlite:///{db}")
    since, until = known_at(store, since_day), known_at(store, until_day)
    con = sqlite3.connect(db)

    def raw() -> int:
        return con.execute(
            "SELECT count(*) FROM quotas WHERE (_valid_from > ? AND _valid_from <= ?) "
            "OR (_valid_to > ? AND _valid_to <= ?)",
            (str(since), str(until), str(since), str(until)),
        ).fetchone()[0]

    touched = raw()
    t_raw = best(raw, args.repeat)
    changed = changes_between(store, since, until)["quotas"]
    t_changes = best(lambda: changes_between(store, since, until), args.repeat)
    key = min(c.key for c in changed.changed)  # one of the ten that change weekly

    def log(**kw):  # as the CLI does: each change with its cell (a new Provenance each time)
        return record_log(store, "quotas", cells=Provenance(store), **kw)

    t_log_key = best(lambda: log(key=key), args.repeat)
    entries = log(key=key)
    n_key = len(entries)
    assert all(e.cells for e in entries), "every version names its cells"
    t_log_since = best(lambda: log(since=since), args.repeat)
    n_since = len(log(since=since))

    def cli_run(*a: str) -> None:
        res = CliRunner().invoke(cli, ["--config", str(cfg), "--db", f"sqlite:///{db}", *a])
        assert res.exit_code == 0, res.output

    t_cli_changes = best(
        lambda: cli_run("changes", "--since", str(since_day), "--until", str(until_day), "--json"),
        args.repeat,
    )
    t_cli_log = best(lambda: cli_run("log", "quotas", show_key(key), "--json"), args.repeat)
    print(f"raw: SQL count of the versions one week touched ({touched:,})   {t_raw * 1000:7.1f} ms")
    print(
        f"changes, one week (library; {len(changed.changed):,} changed)       "
        f"{t_changes * 1000:7.1f} ms   ratio {t_changes / t_raw:5.1f}× raw"
    )
    print(
        f"sheetsync changes --since --until --json (CLI)       {t_cli_changes * 1000:7.1f} ms"
        f"   ratio {t_cli_changes / t_raw:5.1f}× raw"
    )
    print(
        f"log quotas KEY (library; {n_key} entries)                 {t_log_key * 1000:7.1f} ms"
        f"   ratio {t_log_key / t_raw:5.1f}× raw"
    )
    print(
        f"sheetsync log quotas KEY --json (CLI)                {t_cli_log * 1000:7.1f} ms"
        f"   ratio {t_cli_log / t_raw:5.1f}× raw"
    )
    print(
        f"log quotas --since (library; {n_since:,} entries)        {t_log_since * 1000:7.1f} ms"
        f"   ratio {t_log_since / t_raw:5.1f}× raw"
    )
    store.close()
    con.close()


if __name__ == "__main__":
    main()

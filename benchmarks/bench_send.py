"""`sheetsync send` when every pack of the week was already sent: answered from the ledger.

The benchmark model of bench_report.py (50 projects, 1,000 milestones, 500
reps) in a SQLite file, two recipient groups (three executives with the
executive report, a team lead with the team's report and workbook) and a
plain SMTP server (aiosmtpd) on 127.0.0.1. Prints, from one run:

* the raw floor: ``python -m sheetsync --help`` (interpreter, imports, Click);
* the store floor: ``sheetsync history -n 1``, the cheapest command that opens
  the model (SQLAlchemy, the schema) and reads the ledger;
* the first ``send``: renders every PDF and delivers 4 messages;
* ``send`` again, when all 4 were sent: finds which record versions the plan
  of the day rests on, hashes them with the settings and template files, and
  finds every hash in the ledger (target ≤ 0.5 s; nothing rendered, no SMTP
  connection).

Every command is a fresh process. The floors and the already-sent send are
interleaved and the best of ``--repeat`` is shown (the machine is shared).

    .venv/bin/python benchmarks/bench_send.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from aiosmtpd.controller import Controller  # noqa: E402
from bench_report import AS_OF, MILESTONES, PROJECTS, REPS, build_model, week_earlier  # noqa: E402

from sheetsync.store import Store  # noqa: E402


class Inbox:
    """Counts what the server accepted."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.count += 1
        return "250 2.0.0 Ok: queued"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_model(db: Path) -> None:
    model = build_model()
    store = Store(f"sqlite:///{db}")
    for at, records in (
        (datetime(2026, 11, 23, 9), week_earlier(model)),
        (datetime(2026, 11, 30, 8), model),
    ):
        with store.transaction() as conn:
            for table, recs in records.items():
                store.apply(conn, table, recs, [], source="bench", at=at)
    store.close()


def write_config(path: Path, port: int) -> None:
    execs = ", ".join(f'"exec{i}@bench.example"' for i in range(3))
    path.write_text(
        f"""[report]
company = "Benchmark Corp"

[mail]
host = "127.0.0.1"
port = {port}
security = "none"
from = "Sales Ops <ops@bench.example>"

[mail.groups.executives]
recipients = [{execs}]
reports = ["executive"]

[mail.groups.team]
recipients = ["lead@bench.example"]
reports = ["executive"]
teams = ["Team 00"]
attach_workbook = true
""",
        encoding="utf-8",
    )


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETSYNC_")}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return elapsed, p.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    inbox = Inbox()
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            db = d / "model.db"
            write_model(db)
            write_config(d / "sheetsync.toml", port)
            base = [sys.executable, "-m", "sheetsync", "--db", f"sqlite:///{db}"]
            send = [*base, "send", "--as-of", AS_OF.isoformat()]
            help_cmd = [sys.executable, "-m", "sheetsync", "--help"]
            history = [*base, "history", "-n", "1"]

            timed(help_cmd, d)  # warm the OS caches and .pyc files
            t_first, out = timed(send, d)
            assert inbox.count == 4 and "Sent 4 of 4" in out, (inbox.count, out)
            floor, store_floor, again = [], [], []
            for _ in range(args.repeat):
                floor.append(timed(help_cmd, d)[0])
                store_floor.append(timed(history, d)[0])
                t, out = timed(send, d)
                assert "Nothing to send: all 4 messages" in out, out
                again.append(t)
            assert inbox.count == 4, inbox.count  # nothing sent twice
    finally:
        server.stop()

    f, h, a = min(floor), min(store_floor), min(again)
    print(
        f"model: {PROJECTS} projects, {MILESTONES} milestones, {REPS} reps; "
        f"2 groups, 4 recipients, 2 PDFs + 1 workbook"
    )
    print(f"sheetsync --help (raw floor)      : {f:6.2f} s  (best of {args.repeat})")
    print(f"sheetsync history -n 1 (store)    : {h:6.2f} s  ({h / f:.2f}× the raw floor)")
    print(f"send, first (renders, sends 4)    : {t_first:6.2f} s")
    print(
        f"send, all already sent            : {a:6.2f} s  ({a / f:.2f}× the raw floor, "
        f"{a / h:.2f}× the store floor, {a / t_first:.3f}× the first send; target ≤ 0.5 s)"
    )


if __name__ == "__main__":
    main()

"""Report rendering at scale: 50 projects, 1,000 milestones, 500 reps.

Prints, in one run:

* the executive report's time, end to end from a SQLite store (read the
  model now and a week earlier, compute the context, render HTML and PDF);
* the weekly report's time, the same way;
* the time WeasyPrint takes to render a bare HTML table of the same rows
  (every project, milestone, quota and budget row; no CSS, no charts);
* the ratio weekly / bare table (target ≤ 1.0) and the page counts.

Imports and a first warm-up render are excluded from the timings.

    .venv/bin/python benchmarks/bench_report.py
    .venv/bin/python benchmarks/bench_report.py out/bench   # also keep the two PDFs there
"""

from __future__ import annotations

import copy
import io
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypdf import PdfReader  # noqa: E402

from sheetsync import report  # noqa: E402
from sheetsync.config import Config, ReportSettings  # noqa: E402
from sheetsync.model import TABLES  # noqa: E402
from sheetsync.store import Store  # noqa: E402

AS_OF = date(2026, 11, 30)
PROJECTS, MILESTONES, REPS, TEAMS = 50, 1000, 500, 10
STATUSES = ("Not started", "On track", "On track", "At risk", "Late", "Done", "Done")


def build_model(seed: int = 7) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    projects, milestones, quotas, budget = [], [], [], []
    for p in range(PROJECTS):
        key = f"P{p:03d}"
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 200))
        end = start + timedelta(days=rng.choice((180, 365, 540)))
        base, target = 100.0, 100.0 + rng.randrange(20, 200)
        projects.append(
            {"key": key, "name": f"Initiative {p:03d}: grow segment {p % 7}", "goal": f"Lift metric {p} from {base:.0f} to {target:.0f}",
             "metric": "Accounts", "baseline_value": base, "target_value": target,
             "current_value": base + (target - base) * rng.uniform(0.1, 0.9), "start": start,
             "end": end, "owner": f"Owner {p % 13}", "budget": 100_000.0}
        )  # fmt: skip
        for c in range(4):
            planned = float(rng.randrange(10, 60) * 1000)
            budget.append(
                {"project": key, "category": f"Line {c}", "planned": planned,
                 "spent": planned * rng.uniform(0.3, 1.2), "attributed_revenue": planned * rng.uniform(0, 8),
                 "notes": None}
            )  # fmt: skip
    per_project = MILESTONES // PROJECTS
    for i in range(MILESTONES):
        p = projects[i // per_project]
        due = p["start"] + timedelta(days=rng.randrange(10, (p["end"] - p["start"]).days))
        status = rng.choice(STATUSES)
        milestones.append(
            {"key": f"M{i:04d}", "project": p["key"], "name": f"Milestone {i:04d} of {p['key']}: deliver step {i % per_project}",
             "owner": f"Owner {i % 17}", "start": due - timedelta(days=rng.randrange(14, 90)), "due": due,
             "target_value": None, "actual_value": round(rng.uniform(0, 1), 2), "status": status,
             "completed_on": due if status == "Done" else None, "notes": None}
        )  # fmt: skip
    for r in range(REPS):
        base = float(rng.choice((55, 105, 165)) * 1000)
        perf = rng.uniform(0.6, 1.3)
        for month in range(1, 13):
            quotas.append(
                {"rep": f"Rep {r:03d}", "team": f"Team {r % TEAMS:02d}", "region": f"Region {r % 4}",
                 "period": f"2026-{month:02d}", "quota": base,
                 "closed": round(base * perf * rng.gauss(1, 0.08)) if month <= 11 else None,
                 "pipeline": base * 3, "commit": None}
            )  # fmt: skip
    return {
        "projects": projects,
        "milestones": milestones,
        "quotas": quotas,
        "budget": budget,
        "tasks": [],
    }


def week_earlier(model: dict[str, list[dict]]) -> dict[str, list[dict]]:
    prev = copy.deepcopy(model)
    for i, ms in enumerate(prev["milestones"]):
        if i % 9 == 0:
            ms["status"] = "On track"
    for q in prev["quotas"]:
        if q["period"] == "2026-11" and q["closed"]:
            q["closed"] *= 0.9
    return prev


def bare_table_html(model: dict[str, list[dict]]) -> str:
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"]
    for name in ("projects", "milestones", "quotas", "budget"):
        fields = [f.name for f in TABLES[name].fields]
        parts.append(f"<h2>{name}</h2><table><thead><tr>")
        parts.extend(f"<th>{f}</th>" for f in fields)
        parts.append("</tr></thead><tbody>")
        for r in model[name]:
            parts.append(
                "<tr>"
                + "".join(f"<td>{escape(str(r.get(f) or ''))}</td>" for f in fields)
                + "</tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "".join(parts)


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    from weasyprint import HTML

    model = build_model()
    rows = sum(len(model[t]) for t in ("projects", "milestones", "quotas", "budget"))
    config = Config(path=None, sources={}, report=ReportSettings(company="Benchmark Corp"))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'model.db'}")
        for at, records in (
            (datetime(2026, 11, 23, 9), week_earlier(model)),
            (datetime(2026, 11, 30, 8), model),
        ):
            with store.transaction() as conn:
                for table, recs in records.items():
                    store.apply(conn, table, recs, [], source="bench", at=at)
        # warm-up: imports, fonts, template compilation
        report.render_report(store, config, name="executive", as_of=AS_OF, teams=("Team 00",))

        t_exec, exec_pdf = timed(
            lambda: report.render_report(store, config, name="executive", as_of=AS_OF)
        )
        t_week, week_pdf = timed(
            lambda: report.render_report(store, config, name="weekly", as_of=AS_OF)
        )
        store.close()
    html = bare_table_html(model)
    t_bare, bare_pdf = timed(lambda: HTML(string=html).write_pdf())

    print(f"model: {PROJECTS} projects, {MILESTONES} milestones, {REPS} reps ({rows} rows)")
    print(f"executive report : {t_exec:6.2f} s  {pages(exec_pdf):4d} pages  (target ≤ 3 s)")
    print(f"weekly report    : {t_week:6.2f} s  {pages(week_pdf):4d} pages")
    print(
        f"bare HTML table  : {t_bare:6.2f} s  {pages(bare_pdf):4d} pages  (WeasyPrint, same rows)"
    )
    print(f"weekly / bare    : {t_week / t_bare:6.2f}×  (target ≤ 1.0)")
    if len(sys.argv) > 1:  # keep the PDFs, to look at every page
        keep = Path(sys.argv[1])
        keep.mkdir(parents=True, exist_ok=True)
        (keep / "executive.pdf").write_bytes(exec_pdf)
        (keep / "weekly.pdf").write_bytes(week_pdf)
        print(f"PDFs kept in {keep}")


if __name__ == "__main__":
    main()

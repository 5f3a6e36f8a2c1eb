"""Generate ``samples/sales_goals.xmind``: the sample plan's Upsell programme as
the mind map its owner drew in XMind before it reached the workbook.

The goal is the central topic (its note holds the project's numbers), the
milestones are its branches and the tasks their leaves. Fields are written
the way XMind users keep them: ``Key: value`` lines in a topic's note
("Due: 31 Dec 2026"), the owner as a label ("Owner: Grace Kim"), task-progress
markers for what is done, flags for what is at risk or late. The data is the
sample workbook's own (``make_sample.py``), so the two tell one story.

The file is an XMind 2020+/Zen package (``content.json``, ``metadata.json``,
``manifest.json``), deterministic: fixed topic IDs (from a seeded generator)
and fixed zip timestamps, so a re-run gives the same bytes.

Usage::

    python samples/make_goals.py               # writes samples/sales_goals.xmind
    python samples/make_goals.py -o /tmp/goals.xmind
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import zipfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_sample  # noqa: E402  (the sample plan's data, next to this script)

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "sales_goals.xmind"
PROJECT = "UPSELL"
STAMP = (2026, 11, 30, 8, 0, 0)
MARKERS = {
    "Done": "task-done",
    "On track": "flag-green",
    "At risk": "flag-orange",
    "Late": "flag-red",
    "Not started": "task-start",
}


def day(d: date | None) -> str:
    return f"{d.day} {d:%b %Y}" if d else ""


def number(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}" if float(v).is_integer() else f"{v:,}"


class Ids:
    """XMind-looking topic IDs (26 hex digits), the same on every run."""

    def __init__(self) -> None:
        self.rng = random.Random(f"{make_sample.SEED}-goals")

    def __call__(self) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(26))


def topic(ids: Ids, title: str, lines: list[str], *, labels=(), markers=(), children=()) -> dict:
    t: dict = {"id": ids(), "title": title}
    note = "\n".join(line for line in lines if not line.endswith(": "))
    if note:
        t["notes"] = {"plain": {"content": note}}
    if labels:
        t["labels"] = list(labels)
    if markers:
        t["markers"] = [{"markerId": m} for m in markers]
    if children:
        t["children"] = {"attached": list(children)}
    return t


def build_map() -> list[dict]:
    """content.json: one sheet, the Upsell goal tree."""
    ids = Ids()
    quotas = make_sample.quota_rows(random.Random(make_sample.SEED))
    milestones = [m for m in make_sample.build_milestones(quotas) if m[1] == PROJECT]
    tasks = [t for t in make_sample.TASKS if t[1] == PROJECT]
    budget = sum(line[2] for line in make_sample.BUDGET_LINES if line[0] == PROJECT)
    branches = []
    for key, _p, name, owner, start, due, target, actual, status, completed, notes in milestones:
        leaves = [
            topic(
                ids,
                t_name,
                [f"Due: {day(t_due)}"],
                labels=[f"Owner: {t_owner}"],
                markers=["task-done" if done == "Yes" else "task-start"],
            )
            for _k, _tp, ms, t_name, t_owner, t_due, done in tasks
            if ms == key
        ]
        lines = [
            f"Milestone ID: {key}",
            f"Start: {day(start)}",
            f"Due: {day(due)}",
            f"Target: {number(target)}",
            f"Actual: {number(actual)}",
            f"Status: {status}",
            f"Completed: {day(completed)}",
            *([notes] if notes else []),
        ]
        branches.append(
            topic(
                ids,
                name,
                lines,
                labels=[f"Owner: {owner}"],
                markers=[MARKERS[status]],
                children=leaves,
            )
        )
    root = topic(
        ids,
        "Upsell programme",
        [
            f"Project ID: {PROJECT}",
            "Goal: 30% of current customers upgraded within a year, 50% within two",
            "Metric: % customers upgraded",
            "Baseline: 0",
            "Target: 50",
            f"Current: {make_sample.UPSELL_CURRENT_PCT}",
            "Start: 1 Jan 2026",
            "End: 31 Dec 2027",
            "Owner: Omar Haddad",
            f"Budget: ${budget:,}",
        ],
        children=branches,
    )
    root["structureClass"] = "org.xmind.ui.logic.right"
    return [{"id": ids(), "class": "sheet", "title": "Upsell 2026-27", "rootTopic": root}]


def write(path: Path) -> Path:
    parts = {
        "content.json": json.dumps(build_map(), ensure_ascii=False, indent=1).encode(),
        "metadata.json": b"{}",
        "manifest.json": json.dumps(
            {"file-entries": {"content.json": {}, "metadata.json": {}}}
        ).encode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return path


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    write(args.output)
    print(f"wrote {args.output}")
    return args.output


if __name__ == "__main__":
    main()

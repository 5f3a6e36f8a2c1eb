"""A model built from several dated pulls of the sample (clock frozen per pull).

    from dated_model import dated, run  # noqa: F401  (the fixture, and the CLI on it)

Four pulls, each after an edit of the workbook, through the real CLI:

* 16 Nov 2026 09:00 — the sample as it is;
* 23 Nov 2026 09:00 — G-05's due date 11 → 18 Dec, Dana Whitfield's November
  Sales set to $121,500, U-07's target 30 → 35;
* 30 Nov 2026 09:00 — a new milestone G-11, the budget line
  UPSELL / Upgrade incentives removed, G-05 due again, 18 → 23 Dec;
* 2 Dec 2026 09:14 — December quotas of Marcus Bell raised by $5,000.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
import time_machine
from click.testing import CliRunner, Result

from sheetsync.cli import cli

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # "today" in the tests: after the last pull
PULLS = [
    datetime(2026, 11, 16, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    datetime(2026, 12, 2, 9, 14, tzinfo=UTC),
]


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def row_of(ws, column: int, *values: object) -> int:
    """The sheet row whose first cells (from ``column``) hold ``values``."""
    for r in range(2, ws.max_row + 1):
        if all(ws.cell(r, column + i).value == v for i, v in enumerate(values)):
            return r
    raise LookupError(values)


def quota_row(ws, rep: str, month: date) -> int:
    for r in range(2, ws.max_row + 1):
        v = ws.cell(r, 4).value
        if ws.cell(r, 1).value == rep and v is not None and v.date() == month:
            return r
    raise LookupError((rep, month))


def _edit(book: Path, step: int) -> None:
    wb = openpyxl.load_workbook(book)
    ms, q, b = wb["Milestones"], wb["Quotas"], wb["Budget"]
    if step == 1:
        ms.cell(row_of(ms, 1, "G-05"), 6).value = datetime(2026, 12, 18)
        q.cell(quota_row(q, "Dana Whitfield", date(2026, 11, 1)), 6).value = 121_500
        ms.cell(row_of(ms, 1, "U-07"), 7).value = 35
    elif step == 2:
        ms.cell(row_of(ms, 1, "G-05"), 6).value = datetime(2026, 12, 23)
        new = ms.max_row + 1
        for c, v in enumerate(
            ["G-11", "GROW20", "January kickoff prep", "Karen Liu", datetime(2026, 12, 1),
             datetime(2027, 1, 8), None, None, "Not started", None, None],
            start=1,
        ):  # fmt: skip
            ms.cell(new, c).value = v
        b.delete_rows(row_of(b, 1, "UPSELL", "Upgrade incentives"))
    elif step == 3:
        r = quota_row(q, "Marcus Bell", date(2026, 12, 1))
        q.cell(r, 5).value = q.cell(r, 5).value + 5_000
    wb.save(book)


def build_dated_model(plan: Path, db: str) -> list[Result]:
    """Pull ``plan``'s workbook at each of PULLS (editing it in between) into ``db``."""
    results = []
    for i, clock in enumerate(PULLS):
        if i:
            _edit(plan / "sales_plan.xlsx", i)
        with time_machine.travel(clock, tick=False):
            res = invoke("--config", plan / "sheetsync.toml", "--db", db, "pull")
        assert res.exit_code == 0, res.output
        results.append(res)
    return results


@pytest.fixture
def dated(sample_dir: Path, store_url: str) -> tuple[Path, str]:
    """(the plan's folder, the model's URL): the model after the four PULLS."""
    build_dated_model(sample_dir, store_url)
    return sample_dir, store_url


def run(dated: tuple[Path, str], *args: str | Path) -> Result:
    """The CLI on the dated model, with the clock at NOW."""
    plan, db = dated
    with time_machine.travel(NOW, tick=False):
        return invoke("--config", plan / "sheetsync.toml", "--db", db, *args)

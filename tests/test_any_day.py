"""One truth on any day (issue 11): the README's main job passes whatever the
date, and status, the PDF and the email state the same figures, each checked
against a computation made here straight from the workbook's cells.

The clock is frozen with time-machine around in-process CLI runs; the pull's
timestamps, "today" and the default as-of days all follow it.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import shutil
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from pypdf import PdfReader

from sheetsync.cli import cli
from sheetsync.periods import fiscal_year, period_bounds

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SAMPLE_DAY = date(2026, 11, 30)  # the sample plan's as-of day: its actuals run through November


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def copy_sample(tmp: Path, fy_start_month: int = 1) -> Path:
    d = tmp / "plan"
    d.mkdir()
    shutil.copy2(SAMPLES / "sales_plan.xlsx", d / "sales_plan.xlsx")
    toml = (SAMPLES / "sheetsync.toml").read_text(encoding="utf-8")
    toml = toml.replace(
        "fiscal_year_start_month = 1", f"fiscal_year_start_month = {fy_start_month}"
    )
    assert f"fiscal_year_start_month = {fy_start_month}" in toml
    (d / "sheetsync.toml").write_text(toml, encoding="utf-8")
    return d


def pdf_text(data: bytes) -> str:
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def money(v: float) -> str:
    return f"${v:,.0f}"


def pct(v: float) -> str:
    return f"{v:.0%}"


# --------------------------------------------------------------------------- the main job


@pytest.mark.slow
@pytest.mark.parametrize(
    "clock",
    [
        datetime(2026, 11, 30, 9, 0, tzinfo=UTC),  # the sample's as-of day
        datetime(2026, 12, 2, 9, 14, tzinfo=UTC),  # the day the issue was found
        datetime(2026, 12, 1, 7, 0, tzinfo=UTC),  # the 1st of a month
        datetime(2026, 11, 30, 9, 0, tzinfo=UTC) + timedelta(days=400),  # 4 Jan 2028
    ],
    ids=["as-of-day", "2-dec", "1st-of-month", "400-days-later"],
)
def test_the_readme_main_job_passes_on_any_day(tmp_path: Path, clock: datetime) -> None:
    """Every step of `./run sample`, through the CLI, with the clock at ``clock``."""
    plan = copy_sample(tmp_path)
    cfg = plan / "sheetsync.toml"
    out = tmp_path / "out"
    out.mkdir()
    day = SAMPLE_DAY.isoformat()
    with time_machine.travel(clock, tick=False):
        steps = [
            ("pull",),
            ("status", "--as-of", day),
            ("push",),
            ("report", "--as-of", day, "--report", "weekly", "-o", out / "weekly.pdf"),
            ("report", "--as-of", day, "--report", "executive", "-o", out / "executive.pdf"),
            ("send", "--as-of", day, "--dry-run", "--outbox", out / "outbox"),
        ]
        results = {
            s[0] + (s[4] if s[0] == "report" else ""): invoke("--config", cfg, *s) for s in steps
        }
    for name, r in results.items():
        assert r.exit_code == 0, (name, r.output)
    assert "already in sync" in results["push"].output
    # The plan as of 30 Nov: pulled that day, or (pulled later) the plan as first
    # pulled, said once per command, never an error.
    late = clock.date() > SAMPLE_DAY + timedelta(days=1)
    for name in ("status", "reportweekly", "reportexecutive", "send"):
        said = "this uses the plan as first pulled" in results[name].output
        assert said == late, (name, results[name].output)
    weekly = pdf_text((out / "weekly.pdf").read_bytes())
    assert "As of Nov 30, 2026 ·" in weekly  # the one date style, with its year
    assert "$14,309,598 of $15,261,000 through November 2026" in weekly
    read_on = f"{clock:%b} {clock.day}, {clock.year}"
    assert f"Actuals through November 2026 · plan read {read_on} from sales_plan.xlsx" in weekly
    assert ("this uses the plan as first pulled" in weekly) == late
    executive = pdf_text((out / "executive.pdf").read_bytes())
    assert "Executive summary" in executive and "94%" in executive
    emls = sorted((out / "outbox").glob("*.eml"))
    assert len(emls) == 3, emls
    assert all(p.name.startswith("2026-W49-") for p in emls)
    status = results["status"].output
    assert "Actuals through November 2026" in status


@pytest.mark.slow
def test_a_monday_run_reports_the_week_that_ended(tmp_path: Path) -> None:
    """send defaults to the last day of the last complete week: the same subject,
    ledger period and figures on Monday and on Thursday of the next week."""
    plan = copy_sample(tmp_path)
    cfg = plan / "sheetsync.toml"
    with time_machine.travel(datetime(2026, 11, 29, 18, 0, tzinfo=UTC), tick=False):  # a Sunday
        assert invoke("--config", cfg, "pull").exit_code == 0
    boxes = []
    for clock in (
        datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
        datetime(2026, 12, 3, 16, 0, tzinfo=UTC),
    ):
        box = tmp_path / f"outbox-{clock.day}"
        with time_machine.travel(clock, tick=False):
            r = invoke("--config", cfg, "send", "--dry-run", "--outbox", box)
        assert r.exit_code == 0, r.output
        assert "2026-W48" in r.output
        boxes.append(box)
    first, later = ({p.name: p.read_bytes() for p in b.glob("*.eml")} for b in boxes)
    assert sorted(first) == sorted(later) and len(first) == 3
    for name in first:
        a, b = (
            email.message_from_bytes(x, policy=email.policy.default)
            for x in (first[name], later[name])
        )
        assert a["Subject"] == b["Subject"] and "(Nov 29, 2026)" in a["Subject"]
        assert a["X-Sheetsync-Pack"] == b["X-Sheetsync-Pack"]  # same period and content


# --------------------------------------------------------------------------- one figure, one home


def workbook_quota_figures(fy_start_month: int, as_of: date) -> dict[str, float]:
    """Year-to-date closed, quota, attainment and projection, from the cells alone.

    The rules as documented: a blank Sales cell is not reported; each rep's year
    to date runs through the last begun month in which *he* has an actual (to the
    as-of day when that month is the running one); his run-rate counts from his
    first month with a quota and projects to his last; the totals add the reps up.
    """
    wb = load_workbook(SAMPLES / "sales_plan.xlsx", data_only=True, read_only=True)
    ws = wb["Quotas"]
    rows = ws.iter_rows(values_only=True)
    head = [str(h) for h in next(rows)]
    col = {n: head.index(n) for n in ("Salesperson", "Month", "Target ($)", "Sales ($)")}
    _, ystart, yend = fiscal_year(as_of, fy_start_month)
    by_rep: dict[str, list[tuple[date, date, float, float | None]]] = defaultdict(list)
    for row in rows:
        month = row[col["Month"]]
        if month is None:
            continue
        if isinstance(month, datetime):
            month = month.date()
        label = f"{month.year:04d}-{month.month:02d}" if isinstance(month, date) else str(month)
        start, end = period_bounds(label)
        if start < ystart or end > yend:
            continue
        target, sales = row[col["Target ($)"]], row[col["Sales ($)"]]
        by_rep[row[col["Salesperson"]]].append(
            (start, end, float(target or 0), None if sales is None else float(sales))
        )
    closed = quota = projection = 0.0
    for months in by_rep.values():
        begun = [m for m in months if m[0] <= as_of]
        reported = [m for m in begun if m[3] is not None]
        if not reported:
            continue
        covered = max(min(m[1], as_of) for m in reported)
        mine = sum(m[3] or 0 for m in begun)
        closed += mine
        quota += sum(m[2] for m in months if m[0] <= covered)
        first, last = min(m[0] for m in months), max(m[1] for m in months)
        projection += mine / ((covered - first).days + 1) * ((last - first).days + 1)
    return {
        "closed": closed,
        "quota": quota,
        "attainment": closed / quota,
        "projection": projection,
    }


AS_OF_DAYS = [
    date(2026, 11, 30),  # a month end
    date(2026, 12, 2),  # the 2nd of a month whose actuals are blank
    date(2026, 11, 16),  # mid-month
]


@pytest.mark.slow
@pytest.mark.parametrize("fy_start_month", [1, 4], ids=["calendar-year", "april-year"])
def test_status_pdf_and_email_state_the_same_figures(tmp_path: Path, fy_start_month: int) -> None:
    plan = copy_sample(tmp_path, fy_start_month)
    cfg = plan / "sheetsync.toml"
    with time_machine.travel(datetime(2026, 11, 1, 8, 0, tzinfo=UTC), tick=False):
        assert invoke("--config", cfg, "pull").exit_code == 0  # before every as-of day
    for as_of in AS_OF_DAYS:
        want = workbook_quota_figures(fy_start_month, as_of)
        day = as_of.isoformat()
        box = tmp_path / f"outbox-{day}"
        pdf = tmp_path / f"executive-{day}.pdf"
        with time_machine.travel(datetime(2026, 12, 2, 9, 0, tzinfo=UTC), tick=False):
            st = invoke("--config", cfg, "status", "--as-of", day, "--json")
            rp = invoke(
                "--config", cfg, "report", "--report", "executive", "--as-of", day, "-o", pdf
            )
            sd = invoke("--config", cfg, "send", "--as-of", day, "--dry-run", "--outbox", box)
        assert st.exit_code == rp.exit_code == sd.exit_code == 0, (st.output, rp.output, sd.output)
        got = json.loads(st.stdout)["quota"]
        for key in ("closed", "quota", "attainment", "projection"):
            assert got[key] == pytest.approx(want[key]), (as_of, key)
        figures = [
            f"{money(want['closed'])} of {money(want['quota'])}",
            pct(want["attainment"]),
            money(want["projection"]),
        ]
        text = pdf_text(pdf.read_bytes())
        eml = next(p for p in box.glob("*.eml") if "executives-ceo" in p.name)
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        html = next(p for p in msg.walk() if p.get_content_type() == "text/html")
        body = " ".join(re.sub(r"<[^>]+>", " ", html.get_content()).split())
        for figure in figures:
            assert figure in text, (as_of, figure)
            assert figure in body, (as_of, figure)
        low = text.lower()  # the KPI labels are upper-cased by the stylesheet
        if as_of == date(2026, 12, 2):
            # December's actuals are blank: shown as not reported, not as Red 0 %, and
            # year to date still reads November's figures
            assert "attainment december 2026 — no actuals entered yet" in low
            assert "no actuals entered yet" in body
            assert want == workbook_quota_figures(fy_start_month, date(2026, 11, 30))
        if fy_start_month == 4:
            assert "Quotas stop on Dec 31, 2026, before FY2027 ends on Mar 31, 2027" in text
            assert "projected to dec 31, 2026" in low


@pytest.mark.slow
def test_the_week_is_closed_in_the_reports_time_zone(tmp_path: Path) -> None:
    """Tokyo: the Monday 07:00 run and a re-run at 10:00 after an edit send the same pack,
    and the plan is "read" on the local day."""
    plan = copy_sample(tmp_path)
    cfg = plan / "sheetsync.toml"
    text = cfg.read_text(encoding="utf-8").replace(
        'currency = "USD"', 'currency = "USD"\ntimezone = "Asia/Tokyo"'
    )
    cfg.write_text(text, encoding="utf-8")
    packs = []
    for n, clock in enumerate(
        (datetime(2026, 12, 6, 22, 0, tzinfo=UTC), datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
    ):  # 07:00 and 10:00 on Monday 7 Dec in Tokyo
        if n:  # between the runs, someone enters more December sales
            wb = load_workbook(plan / "sales_plan.xlsx")
            ws = wb["Quotas"]
            sales = [c.value for c in ws[1]].index("Sales ($)") + 1
            for row in range(2, ws.max_row + 1):
                ws.cell(row=row, column=sales).value = (
                    ws.cell(row=row, column=sales).value or 0
                ) + 1
            wb.save(plan / "sales_plan.xlsx")
        box = tmp_path / f"box{n}"
        with time_machine.travel(clock, tick=False):
            r = invoke("--config", cfg, "run", "weekly", "--dry-run", "--outbox", box)
        assert r.exit_code == 0, r.output
        eml = next(box.glob("*executives-ceo*.eml"))
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        packs.append(
            (msg["Subject"], msg["X-Sheetsync-Pack"], msg.get_body(("plain",)).get_content())
        )
    (s1, p1, t1), (s2, p2, t2) = packs
    assert "week 49" in s1 and "(Dec 6, 2026)" in s1
    assert (s1, p1) == (s2, p2), "a re-run the same morning sent a different pack"
    assert "plan read Dec 7, 2026" in " ".join(t1.split())  # the local day of the 07:00 read

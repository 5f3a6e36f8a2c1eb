"""The Monday pack an executive acts on (issue 15): dated copies give a fresh
model history (`pull --as-of DAY FILE`), the reports open with a verdict and
its exceptions, each KPI says its change since last week, the executive
summary is one page and the email's subject carries the verdict.

Real parts throughout: the sample workbook and last week's committed copy,
a SQLite model file, the CLI run in-process, the PDF's text read back.
"""

from __future__ import annotations

import email
import email.policy
import io
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result
from pypdf import PdfReader

from sheetsync.cli import cli
from sheetsync.config import load_config
from sheetsync.plan import end_of_day, plan_as_of, report_zone
from sheetsync.store import open_store

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
LAST_WEEK = "sales_plan_2026-11-23.xlsx"
CLOCK = datetime(2026, 12, 2, 9, 14)  # pulled two days after the sample's day


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    d = tmp_path / "plan"
    d.mkdir()
    for name in ("sales_plan.xlsx", LAST_WEEK, "sheetsync.toml"):
        shutil.copy2(SAMPLES / name, d / name)
    return d


def _history(cfg: Path) -> None:
    with time_machine.travel(CLOCK, tick=False):
        r1 = invoke("--config", cfg, "pull", "--as-of", "2026-11-23", cfg.parent / LAST_WEEK)
        r2 = invoke(
            "--config", cfg, "pull", "--as-of", "30 Nov 2026", cfg.parent / "sales_plan.xlsx"
        )
    assert r1.exit_code == 0, r1.output
    assert r2.exit_code == 0, r2.output
    assert f"Pulled plan ({LAST_WEEK})" in r1.output
    assert "milestones: 2 updated; quotas: 1 updated; budget: 1 updated" in r2.output


def test_dated_pulls_write_versions_and_snapshots_at_the_end_of_the_day(plan: Path) -> None:
    cfg = plan / "sheetsync.toml"
    _history(cfg)
    config = load_config(cfg)
    end23 = datetime(2026, 11, 23, 23, 59, 59, 999999)  # [report] timezone: UTC
    end30 = datetime(2026, 11, 30, 23, 59, 59, 999999)
    assert end_of_day(date(2026, 11, 30), report_zone(config)) == end30
    store = open_store(config)
    try:
        taken = sorted(s.taken_at for s in store.snapshots("plan"))
        assert taken == [end23, end30]
        assert store.first_version_at() == end23
        assert store.last_write_at() == end30
        before = store.all_records(as_of=datetime(2026, 11, 24))
        g06 = next(m for m in before["milestones"] if m["key"] == "G-06")
        assert g06["status"] == "On track"  # last week's copy: still on track
        now = store.all_records(as_of=datetime(2026, 12, 1))
        assert next(m for m in now["milestones"] if m["key"] == "G-06")["status"] == "Late"
        # the one reading of --as-of: the 30 Nov plan is the dated read, a week
        # earlier the 23 Nov copy; neither is "the plan as first pulled"
        p = plan_as_of(store, config, date(2026, 11, 30))
        assert p.known_at == end30 and p.first_pulled is None and p.note is None
        assert [(r.location, r.read_on) for r in p.reads] == [
            ("sales_plan.xlsx", date(2026, 11, 30))
        ]
        prev = next(m for m in p.previous["milestones"] if m["key"] == "G-06")
        assert prev["status"] == "On track"
        # the source stays bound to its workbook, not to the copy it was read from
        with store.engine.connect() as c:
            assert store.source_binding(c, "plan") == str((plan / "sales_plan.xlsx").resolve())
    finally:
        store.close()
    with time_machine.travel(CLOCK, tick=False):
        again = invoke("--config", cfg, "pull")  # an ordinary pull goes on from there
    assert again.exit_code == 0, again.output
    assert "unchanged since the last pull" in again.output


def test_a_dated_pull_ends_the_day_in_the_report_time_zone(plan: Path) -> None:
    cfg = plan / "sheetsync.toml"
    text = cfg.read_text()
    cfg.write_text(text.replace("[report]\n", '[report]\ntimezone = "America/New_York"\n', 1))
    with time_machine.travel(CLOCK, tick=False):
        r = invoke("--config", cfg, "pull", "--as-of", "2026-11-23", plan / LAST_WEEK)
    assert r.exit_code == 0, r.output
    config = load_config(cfg)
    store = open_store(config)
    try:
        (snap,) = store.snapshots("plan")
        # 23 Nov ends at 05:00 UTC on the 24th in New York (EST, UTC-5)
        assert snap.taken_at == datetime(2026, 11, 24, 4, 59, 59, 999999)
        p = plan_as_of(store, config, date(2026, 11, 23))
        assert p.known_at == snap.taken_at and p.first_pulled is None
        assert p.reads[0].read_on == date(2026, 11, 23)
    finally:
        store.close()


def test_a_dated_pull_before_the_models_history_is_refused_and_writes_nothing(
    plan: Path,
) -> None:
    cfg = plan / "sheetsync.toml"
    _history(cfg)
    db = plan / ".sheetsync" / "model.db"
    state = db.read_bytes()
    workbook = (plan / LAST_WEEK).read_bytes()
    with time_machine.travel(CLOCK, tick=False):
        r = invoke("--config", cfg, "pull", "--as-of", "2026-11-16", plan / LAST_WEEK)
    assert r.exit_code != 0
    assert "already holds versions from 2026-11-30 23:59 UTC" in r.output
    assert "after the end of the copy's day (2026-11-16 23:59 UTC)" in r.output
    assert "oldest first" in r.output
    assert db.read_bytes() == state
    assert (plan / LAST_WEEK).read_bytes() == workbook
    no_file = invoke("--config", cfg, "pull", "--as-of", "2026-11-16")
    assert no_file.exit_code != 0 and "pull --as-of DAY FILE" in no_file.output


def test_first_report_shows_what_changed_and_opens_with_the_verdict(
    plan: Path, tmp_path: Path
) -> None:
    cfg = plan / "sheetsync.toml"
    _history(cfg)
    out = tmp_path / "out"
    out.mkdir()
    with time_machine.travel(CLOCK, tick=False):
        for name in ("weekly", "executive"):
            r = invoke("--config", cfg, "report", "--as-of", "2026-11-30", "--report", name,
                       "-o", out / f"{name}.pdf")  # fmt: skip
            assert r.exit_code == 0, r.output
            assert "first pulled" not in r.output  # the model has the day's plan
        sent = invoke("--config", cfg, "send", "--as-of", "2026-11-30", "--dry-run",
                      "--outbox", out / "outbox")  # fmt: skip
    assert sent.exit_code == 0, sent.output
    weekly = pdf_text((out / "weekly.pdf").read_bytes())
    assert weekly.index("Year to date 94% of plan through November 2026.") < weekly.index(
        "What needs a decision"
    )
    assert "we finish 2026 at $15.7M, $1.2M short of the $16.9M quota" in weekly
    assert "December 2026 pipeline $4.3M covers its open quota 2.7×" in weekly
    assert "What changed since Nov 23, 2026" in weekly
    assert "status On track → Late" in weekly  # G-06, from last week's copy
    assert "3 more late or at risk since Nov 23, 2026" in weekly
    assert "▲ 3 more" not in weekly  # ▲ marks Amber: a change is said in words and signs

    exe = (out / "executive.pdf").read_bytes()
    assert len(PdfReader(io.BytesIO(exe)).pages) == 1
    text = pdf_text(exe)
    assert "How to read this report" in text and "Since Nov 23, 2026" in text
    assert "+3 more" not in text and "in the workbook" not in text

    eml = sorted((out / "outbox").glob("*executives-ceo*.eml"))[0]
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["Subject"].endswith("(Nov 30, 2026): 94% of plan, $1.2M projected gap")
    html = msg.get_body(("html",)).get_content()
    assert "in the attached report" not in html
    # the verdict and the exceptions come before the first KPI card
    assert html.index("Year to date 94% of plan") < html.index("What needs a decision")
    assert html.index("What needs a decision") < html.index("Attainment year to date")
    assert ">Amber</strong>" in html  # a card names its status in words


def test_budget_has_per_project_subtotals_and_spend_to_revenue_with_the_dash_defined() -> None:
    from sheetsync import report
    from sheetsync.formatting import Formatter
    from sheetsync.reading import read_source

    config = load_config(SAMPLES / "sheetsync.toml")
    records = read_source(config, config.select_sources()[0]).records()
    ctx = report.build_context(records, {}, config, name="weekly", as_of=date(2026, 11, 30))
    fmt = Formatter.for_config(config)
    text = pdf_text(report.render_pdf(ctx, config))
    lines = records["budget"]
    projects = sorted({b["project"] for b in lines})
    assert sorted(g.project for g in ctx.budget_groups) == projects
    for key in projects:
        mine = [b for b in lines if b["project"] == key]
        planned = sum(b["planned"] or 0 for b in mine)
        spent = sum(b["spent"] or 0 for b in mine)
        revenue = sum(b["attributed_revenue"] or 0 for b in mine)
        name = next(p["name"] for p in records["projects"] if p["key"] == key)
        # the subtotal row: planned, spent, spent %, revenue, spend to revenue
        row = (
            f"{key} {name} · {len(mine)} lines {fmt.money(planned)} {fmt.money(spent)} "
            f"{fmt.pct(spent / planned)} {fmt.money(revenue)} {fmt.pct(spent / revenue)}"
        )
        assert row in text.replace("▲ ", ""), row
    # a line with no revenue has no spend-to-revenue: a dash, defined in the footnote
    blank = next(b for b in lines if not b["attributed_revenue"])
    assert f"{blank['category']} {fmt.money(blank['planned'])}" in text
    assert "— stands for no figure: a blank cell, or a ratio with nothing to divide by" in text
    assert "$0 is a zero that was entered" in text

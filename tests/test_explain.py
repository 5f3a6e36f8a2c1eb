"""Explain (issue 17): every headline figure with its formula, its cells and its
rule, through the real CLI on SQLite and PostgreSQL, over a model of four dated
pulls (tests/dated_model.py). The figures are the ones `status --json` prints
(one home: metrics.quota_standing), and the named cells, read back from the
workbook with openpyxl, give the figure again."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import openpyxl
import pytest
import sqlalchemy as sa
import time_machine
from dated_model import invoke, run
from pg import *  # noqa: F403  (fixtures: store_url)

from sheetsync.store import SCHEMA, Store

METRICS = [
    "attainment",
    "period-attainment",
    "pace",
    "projection",
    "gap",
    "required",
    "rag",
    "milestones",
    "budget",
    "spend-to-revenue",
]


def cell_values(book: openpyxl.Workbook, addresses: list[str]) -> list[object]:
    out = []
    for a in addresses:
        sheet, ref = a.split("!")
        out.append(book[sheet.strip("'")][ref].value)
    return out


def test_attainment_of_a_team_follows_to_its_cells(dated) -> None:
    res = run(
        dated, "explain", "attainment", "--team", "enterprise", "--as-of", "2026-12-02", "--json"
    )
    assert res.exit_code == 0, res.output
    e = json.loads(res.stdout)
    status = json.loads(run(dated, "status", "--as-of", "2026-12-02", "--json").stdout)
    team = next(t for t in status["teams"] if t["team"] == "Enterprise")
    assert e["value"] == pytest.approx(team["attainment"])  # the figure status prints
    closed, quota = e["inputs"]
    assert (closed["name"], quota["name"]) == ("closed", "quota")
    assert closed["value"] == team["closed"] and quota["value"] == team["quota"]
    assert e["headline"] == (
        f"Enterprise YTD attainment {team['attainment']:.0%} = closed ${team['closed']:,.0f} "
        f"÷ quota ${team['quota']:,.0f}"
    )
    book = openpyxl.load_workbook(dated[0] / "sales_plan.xlsx")
    assert len(closed["cells"]) == 44 and closed["blank"] == 4  # 4 reps × Jan–Nov; Dec blank
    assert all(c.startswith("'Quotas'!F") for c in closed["cells"])
    assert sum(cell_values(book, closed["cells"])) == closed["value"]
    assert sum(cell_values(book, quota["cells"])) == quota["value"]
    for a in closed["cells"]:  # each cell is an Enterprise rep's row
        row = a.split("!F")[1]
        assert book["Quotas"][f"B{row}"].value == "Enterprise"
    assert "sales_plan.xlsx, read Dec 2, 2026 09:14 UTC" in e["sources"]
    assert "periods begun by Nov 30, 2026" in e["rule"] and "through November 2026" in e["rule"]
    text = run(
        dated, "explain", "attainment", "--team", "Enterprise", "--as-of", "2026-12-02"
    ).stdout
    assert text.splitlines()[0] == e["headline"]
    assert re.search(r"closed: 44 cells, 'Quotas'!F2, F3, F4, F5, F13, .* …; 4 blank", text)
    assert "rule: attainment = closed ÷ the quota" in text


def test_every_headline_figure_is_the_one_status_prints(dated) -> None:
    status = json.loads(run(dated, "status", "--as-of", "2026-12-02", "--json").stdout)
    q = status["quota"]
    got = {}
    for metric in METRICS:
        res = run(dated, "explain", metric, "--as-of", "2026-12-02", "--json")
        assert res.exit_code == 0, (metric, res.output)
        e = json.loads(res.stdout)
        assert e["rule"] and e["inputs"], metric
        got[metric] = e
    assert got["attainment"]["value"] == pytest.approx(q["attainment"])
    assert got["pace"]["value"] == pytest.approx(q["pace"])
    assert got["projection"]["value"] == pytest.approx(q["projection"])
    assert got["gap"]["value"] == pytest.approx(q["gap"])
    assert got["required"]["value"] == pytest.approx(q["required_weekly"])
    assert got["rag"]["text"] == q["rag"].capitalize()
    assert got["period-attainment"]["value"] is None  # December: no actuals entered yet
    assert "no actuals entered yet" in got["period-attainment"]["headline"]
    projects = status["projects"]
    assert got["milestones"]["value"] == sum(p["late"] + p["at_risk"] for p in projects)
    planned = sum(b["planned"] for b in status["budget"])
    spent = sum(b["spent"] for b in status["budget"])
    revenue = sum(b["revenue"] for b in status["budget"])
    assert got["budget"]["value"] == pytest.approx(spent / planned)
    assert got["spend-to-revenue"]["value"] == pytest.approx(spent / revenue)
    # one rep, one project
    rep = json.loads(
        run(
            dated,
            "explain",
            "projection",
            "--rep",
            "marcus bell",
            "--as-of",
            "2026-12-02",
            "--json",
        ).stdout
    )
    mb = next(r for r in status["reps"] if r["rep"] == "Marcus Bell")
    assert rep["subject"] == "Marcus Bell" and rep["value"] == pytest.approx(mb["projection"])
    grow = json.loads(
        run(
            dated, "explain", "budget", "--project", "grow20", "--as-of", "2026-12-02", "--json"
        ).stdout
    )
    g = next(b for b in status["budget"] if b["project"] == "GROW20")
    assert grow["subject"] == "GROW20" and grow["value"] == pytest.approx(g["spent"] / g["planned"])


def test_milestone_counts_name_the_status_and_due_cells(dated) -> None:
    e = json.loads(run(dated, "explain", "milestones", "--as-of", "2026-12-02", "--json").stdout)
    late = next(i for i in e["inputs"] if i["name"] == "late")
    book = openpyxl.load_workbook(dated[0] / "sales_plan.xlsx")
    rows = sorted({int(c.split("!")[1][1:]) for c in late["cells"]})
    assert len(rows) == late["value"] == int(e["text"].split()[0])
    ids = [book["Milestones"][f"A{r}"].value for r in rows]
    assert ids == ["G-06", "U-04"]  # past due, not done
    # every milestone is counted somewhere: late + at risk + the rest add up to all of them
    total = int(re.search(r"of (\d+) milestones", e["formula"]).group(1))
    rest = [int(n) for n in re.findall(r"(\d+) (?:on track|not started|done)", e["formula"])]
    at_risk = next(i["value"] for i in e["inputs"] if i["name"] == "at risk")
    assert len(rest) == 3 and sum(rest) + late["value"] + at_risk == total, e["formula"]


def test_explain_refuses_what_it_cannot_explain(dated) -> None:
    bad = run(dated, "explain", "happiness")
    assert bad.exit_code != 0 and "no metric 'happiness'" in bad.output
    bad = run(dated, "explain", "attainment", "--project", "GROW20")
    assert bad.exit_code != 0 and "--project does not apply" in bad.output
    bad = run(dated, "explain", "budget", "--team", "Enterprise")
    assert bad.exit_code != 0 and "--team and --rep do not apply" in bad.output
    bad = run(dated, "explain", "attainment", "--rep", "Nobody", "--as-of", "2026-12-02")
    assert bad.exit_code != 0 and "no rep 'Nobody'" in bad.output
    bad = run(dated, "explain", "budget", "--project", "NOPE")
    assert bad.exit_code != 0 and "no project 'NOPE'" in bad.output


def _layouts(db: str) -> list[dict]:
    """Each pull's layout of the quotas, oldest first."""
    store = Store(db)
    t = SCHEMA["snapshots"]
    with store.engine.connect() as c:
        rows = c.execute(sa.select(t.c.layout, t.c.summary).order_by(t.c.id)).all()
    store.close()
    return [(r.layout["quotas"], r.summary) for r in rows]


def test_a_skipped_pull_and_a_moved_sheet_keep_the_cells_right(dated) -> None:
    """An unchanged workbook is not read again (issue 18): its snapshot repeats the
    last one's layout. New bytes with the same values (a blank row inserted
    above the quotas) write nothing, but the snapshot holds this read's rows,
    so explain names the cells where the figures now are."""
    plan, db = dated
    args = ("explain", "attainment", "--team", "Enterprise", "--as-of", "2026-12-02", "--json")
    before = json.loads(run(dated, *args).stdout)
    with time_machine.travel(datetime(2026, 12, 2, 9, 30, tzinfo=UTC), tick=False):
        res = invoke("--config", plan / "sheetsync.toml", "--db", db, "pull")
    assert res.exit_code == 0, res.output
    (prev, _), (skipped, summary) = _layouts(db)[-2:]
    assert summary["unchanged_since"] and skipped == prev and prev["rows"]
    again = json.loads(run(dated, *args).stdout)
    assert again["sources"] == "sales_plan.xlsx, read Dec 2, 2026 09:14 UTC"  # not the look
    assert again == before  # the very same cells, read then

    book_path = plan / "sales_plan.xlsx"
    book = openpyxl.load_workbook(book_path)
    book["Quotas"].insert_rows(2)
    book.save(book_path)
    with time_machine.travel(datetime(2026, 12, 2, 9, 45, tzinfo=UTC), tick=False):
        res = invoke("--config", plan / "sheetsync.toml", "--db", db, "pull")
    assert res.exit_code == 0, res.output
    (_, _), (moved, summary) = _layouts(db)[-2:]
    assert "unchanged_since" not in summary and not summary["quotas"]["updated"]
    assert not summary["quotas"]["inserted"] and not summary["quotas"]["deleted"]
    assert moved["rows"] == [[first + 1, n] for first, n in prev["rows"]]
    after = json.loads(run(dated, *args).stdout)
    assert after["value"] == before["value"]
    closed = after["inputs"][0]
    shifted = [f"'Quotas'!F{int(c.split('!F')[1]) + 1}" for c in before["inputs"][0]["cells"]]
    assert closed["cells"] == shifted
    book = openpyxl.load_workbook(book_path)
    assert sum(cell_values(book, closed["cells"])) == closed["value"]


def test_an_unchanged_pull_of_a_model_without_cells_reads_them(dated) -> None:
    """A model made before cells were kept (down below revision 0011_cells and up
    again: no layout, no _row) whose workbook does not change: the next pull is not
    skipped but reads the workbook, writes nothing, and keeps this read's layout,
    so explain names the cells; the pull after that is skipped again."""
    from alembic import command

    from sheetsync.migrations import HEAD, alembic_config, current_revision
    from sheetsync.schema import engine_url

    plan, db = dated
    args = ("explain", "attainment", "--team", "Enterprise", "--as-of", "2026-12-02", "--json")
    before = json.loads(run(dated, *args).stdout)
    assert before["inputs"][0]["cells"]
    engine = sa.create_engine(engine_url(db), poolclass=sa.NullPool)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010_baselines")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), HEAD)
        assert current_revision(conn) == HEAD
    engine.dispose()
    assert [layout for layout, _ in _layouts_raw(db)] == [None] * 4
    old = json.loads(run(dated, *args).stdout)
    assert old["inputs"][0]["cells"] == [] and old["value"] == before["value"]  # no cell known

    with time_machine.travel(datetime(2026, 12, 2, 9, 30, tzinfo=UTC), tick=False):
        res = invoke("--config", plan / "sheetsync.toml", "--db", db, "pull")
    assert res.exit_code == 0, res.output
    layout, summary = _layouts_raw(db)[-1]
    assert "unchanged_since" not in summary  # read, not skipped
    assert not any(summary[t][k] for t in ("quotas", "milestones") for k in ("inserted", "updated"))
    assert layout["quotas"]["rows"] and layout["milestones"]["columns"]
    after = json.loads(run(dated, *args).stdout)
    assert after["sources"] == "sales_plan.xlsx, read Dec 2, 2026 09:30 UTC"
    assert after == before | {"sources": after["sources"]}  # the very same cells again
    book = openpyxl.load_workbook(plan / "sales_plan.xlsx")
    closed = after["inputs"][0]
    assert sum(cell_values(book, closed["cells"])) == closed["value"]

    with time_machine.travel(datetime(2026, 12, 2, 9, 40, tzinfo=UTC), tick=False):
        res = invoke("--config", plan / "sheetsync.toml", "--db", db, "pull")
    assert res.exit_code == 0, res.output
    again, summary = _layouts_raw(db)[-1]
    assert summary["unchanged_since"] and again == layout  # skipped: the layout repeated


def _layouts_raw(db: str) -> list[tuple[dict | None, dict]]:
    """Each snapshot's layout (None: not kept) and summary, oldest first."""
    store = Store(db)
    t = SCHEMA["snapshots"]
    with store.engine.connect() as c:
        rows = c.execute(sa.select(t.c.layout, t.c.summary).order_by(t.c.id)).all()
    store.close()
    return [(r.layout, r.summary) for r in rows]


def test_a_pull_without_cells_keeps_the_values_only(sample_dir, store_url) -> None:
    """``pull(cells=False)`` (what bench_pull --cells compares against) stores no
    sheet row and no layout; the next pull, with cells, reads the unchanged
    workbook again instead of skipping it, and explain names the cells."""
    from sheetsync.config import load_config
    from sheetsync.pull import pull

    config = load_config(sample_dir / "sheetsync.toml")
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        store = Store(store_url)
        pull(config, store, cells=False)
        t = SCHEMA["quotas"]
        with store.engine.connect() as c:
            assert c.execute(sa.select(t.c._row).distinct()).scalars().all() == [None]
        store.close()
    [(layout, _)] = _layouts_raw(store_url)
    assert layout == {}
    dated = (sample_dir, store_url)
    args = ("explain", "attainment", "--as-of", "2026-12-01", "--json")
    assert json.loads(run(dated, *args).stdout)["inputs"][0]["cells"] == []
    with time_machine.travel(datetime(2026, 12, 1, 9, 30, tzinfo=UTC), tick=False):
        res = invoke("--config", sample_dir / "sheetsync.toml", "--db", store_url, "pull")
    assert res.exit_code == 0, res.output
    layout, summary = _layouts_raw(store_url)[-1]
    assert "unchanged_since" not in summary and layout["quotas"]["rows"]
    closed = json.loads(run(dated, *args).stdout)["inputs"][0]
    book = openpyxl.load_workbook(sample_dir / "sales_plan.xlsx")
    assert closed["cells"] and sum(cell_values(book, closed["cells"])) == closed["value"]

"""The goal tree in the weekly report: goal → milestones → tasks, each node's state
in words and shapes, large trees folded, never wider than the page."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from mindmaps import topic, write_zen
from pypdf import PdfReader

from sheetsync.goal_tree import REPORT_MILESTONES, goal_tree_views
from sheetsync.metrics import RagSettings

AS_OF = date(2026, 11, 30)


def pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_views_count_what_the_records_hold():
    d = date
    records = {
        "projects": [{"key": "P", "name": "Upsell", "goal": "30% within a year"}],
        "milestones": [
            {"key": "M1", "project": "P", "name": "Email", "due": d(2026, 10, 1), "status": "Done"},
            {"key": "M2", "project": "P", "name": "Mail", "due": d(2026, 11, 1), "status": None},
            {"key": "M3", "project": "P", "name": "Calls", "due": d(2027, 3, 1), "status": None},
        ],
        "tasks": [
            {
                "key": "T1",
                "project": "P",
                "milestone": "M2",
                "name": "a",
                "done": True,
                "due": None,
            },
            {
                "key": "T2",
                "project": "P",
                "milestone": "M2",
                "name": "b",
                "done": False,
                "due": d(2026, 11, 2),
            },
            {
                "key": "T3",
                "project": "P",
                "milestone": "M3",
                "name": "c",
                "done": None,
                "due": d(2026, 12, 5),
            },
            {
                "key": "T4",
                "project": "P",
                "milestone": "nope",
                "name": "d",
                "done": None,
                "due": None,
            },
        ],
    }
    (view,) = goal_tree_views(records, AS_OF, RagSettings()).values()
    assert (view.milestones_total, view.milestones_done) == (3, 1)
    assert (view.tasks_total, view.tasks_done) == (4, 1)
    # the root says the project's delivery status by the [rag] rule its section heading
    # uses: one late milestone is Amber (delivery_amber_late = 1), not "Late"
    assert (view.category, view.label, view.rag) == ("at_risk", "Delivery Amber", "amber")
    email, mail, calls = view.milestones
    assert (email.category, mail.category, calls.category) == ("done", "late", "on_track")
    assert (mail.tasks_total, mail.tasks_done, mail.done_share) == (2, 1, 0.5)
    assert [t.category for t in mail.tasks] == ["late", "done"]  # by due date, undated last
    assert [t.category for t in calls.tasks] == ["at_risk"]  # due within at_risk_days
    assert [t.title for t in view.loose_tasks] == ["d"]
    two_late = RagSettings(delivery_red_late=1)
    (red,) = goal_tree_views(records, AS_OF, two_late).values()
    assert (red.category, red.label, red.rag) == ("late", "Delivery Red", "red")


@pytest.fixture
def weekly(sample_dir: Path, run_cli) -> Path:
    cfg = sample_dir / "sheetsync.toml"
    assert run_cli("--config", cfg, "pull").exit_code == 0
    out = sample_dir / "weekly.pdf"
    r = run_cli("--config", cfg, "report", "--as-of", AS_OF.isoformat(), "-o", out)
    assert r.exit_code == 0, r.output
    return out


def test_weekly_report_draws_each_projects_tree(weekly, sample_dir, run_cli):
    text = " ".join(pdf_text(weekly).split())
    # GROW20: 10 milestones, 5 done; 10 tasks, 4 done (the sample workbook's Tasks sheet)
    assert "Goal tree 5 of 10 milestones done · 4 of 10 tasks done (40%)" in text
    assert "Goal tree 3 of 10 milestones done · 2 of 6 tasks done (33%)" in text
    assert (
        "Late Partner referral programme live Karen Liu · due Nov 13, 2026 · tasks 0 of 2 done (0%)"
        in text
    )
    assert "Partner agreement legal review Late · Karen Liu · Nov 6, 2026" in text
    assert (
        "At risk Cold-calling campaign to lapsed accounts Chris Evans · due Dec 11, 2026 · tasks 2 of 3 done (67%)"
        in text
    )
    exec_pdf = sample_dir / "exec.pdf"
    r = run_cli(
        "--config", sample_dir / "sheetsync.toml", "report", "--report", "executive",
        "--as-of", AS_OF.isoformat(), "-o", exec_pdf,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    exec_text = " ".join(pdf_text(exec_pdf).split())
    assert "Goal tree" not in exec_text  # one line per goal there, as before
    assert "GROW20 Grow sales 20% in six months" in exec_text


def test_a_large_hostile_tree_is_folded_escaped_and_fits_the_page(tmp_path, run_cli):
    long_word = "Q" * 260
    milestones = [
        topic(f"m{i}", f"Done step {i}", f"Due: 2026-0{1 + i % 9}-10\nStatus: Done")
        for i in range(30)
    ]
    tasks = [topic(f"t{i}", f"Task {i}", "Due: 2026-12-20") for i in range(9)]
    milestones += [
        topic(
            "big",
            f"{long_word} {{{{ 7*7 }}}} <img src=file:///etc/passwd>",
            "Due: 2026-12-24",
            *tasks,
        ),
        *(topic(f"o{i}", f"Open step {i}", "Due: 2027-02-01") for i in range(12)),
    ]
    write_zen(tmp_path / "goals.xmind", topic("p", "Big plan", "ID: BIG", *milestones))
    cfg = tmp_path / "sheetsync.toml"
    cfg.write_text('[sources.goals]\nkind = "mindmap"\npath = "goals.xmind"\n')
    assert run_cli("--config", cfg, "pull").exit_code == 0
    as_of = max(date.today(), AS_OF).isoformat()  # records are stamped when pulled
    html = tmp_path / "w.html"
    r = run_cli("--config", cfg, "report", "--as-of", as_of, "--html", "-o", html)
    assert r.exit_code == 0, r.output
    page = html.read_text(encoding="utf-8")
    tree = page[page.index('<div class="goal-tree">') :]
    assert tree.count('class="gt-branch ') == REPORT_MILESTONES
    # the 13 open milestones first, then the done ones: 31 folded, 30 of them done
    assert f"+ {43 - REPORT_MILESTONES} more milestones of BIG not drawn (30 done)." in tree
    assert "+ 5 more tasks not drawn (0 done)" in tree and tree.count('class="gt-leaf ') == 4
    assert "{{ 7*7 }} &lt;img src=file:///etc/passwd&gt;" in tree and "<img src=file" not in page
    # the tree alone (a user template that draws only it), laid out as a PDF
    only = tmp_path / "templates"
    only.mkdir()
    (only / "weekly.html").write_text(
        '{% extends "base.html" %}{% block content %}'
        '{% for project in projects %}{% include "_goal_tree.html" %}{% endfor %}{% endblock %}'
    )
    pdf = tmp_path / "w.pdf"
    r = run_cli("--config", cfg, "report", "--as-of", as_of, "--template-dir", only, "-o", pdf)
    assert r.exit_code == 0, r.output
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    width = float(re.search(r'<page width="([\d.]+)"', bbox)[1])
    words = re.findall(r'xMax="([\d.]+)"[^>]*>([^<]*)</word>', bbox)
    assert any(w.startswith("QQQQ") for _, w in words)  # the long title is drawn, wrapped
    assert max(float(x) for x, _ in words) <= width - 14 / 25.4 * 72 + 1  # inside the right margin
    text = pdf_text(pdf)
    assert "Goal tree 30 of 43 milestones done · 0 of 9 tasks done (0%)" in text


def test_a_projects_tree_timeline_and_table_show_the_same_milestones() -> None:
    from report_models import bench_context

    ctx, _ = bench_context("weekly")
    checked = 0
    for section in ctx.projects:
        tree = ctx.goal_trees[section.key]
        if section.milestones_total <= len(section.milestones):
            continue
        checked += 1
        assert {b.key for b in tree.milestones} == {r.key for r in section.milestones}
        assert tree.milestones_more == section.milestones_total - len(section.milestones)
    assert checked  # the benchmark's projects have more milestones than a section shows

"""No dead references (issue 15, item 8): whatever a report or an email says is
elsewhere is really in what that reader receives.

- an email's "Attached" list names exactly the files attached to it;
- a list cut short says "+ N more …, not listed here", never "in the workbook"
  or "in the attached report" (executives receive no workbook);
- the weekly verdict's "all are listed below" holds: every concern it counts
  is in the "Needs attention" lists that follow it.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil

import pytest
import time_machine
from click.testing import CliRunner
from report_models import SAMPLES, bench_context, pdf_text, sample_context

from sheetsync import report
from sheetsync.cli import cli

ELSEWHERE = re.compile(
    r"in the (?:attached )?(?:workbook|spreadsheet|attached report)|see the workbook", re.I
)


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> list[email.message.EmailMessage]:
    d = tmp_path_factory.mktemp("plan")
    for name in ("sales_plan.xlsx", "sales_plan_2026-11-23.xlsx", "sheetsync.toml"):
        shutil.copy2(SAMPLES / name, d / name)
    cfg, box = d / "sheetsync.toml", d / "outbox"
    runner = CliRunner()
    with time_machine.travel("2026-12-02 09:14", tick=False):
        for day, book in (
            ("2026-11-23", "sales_plan_2026-11-23.xlsx"),
            ("2026-11-30", "sales_plan.xlsx"),
        ):
            r = runner.invoke(cli, ["--config", str(cfg), "pull", "--as-of", day, str(d / book)])
            assert r.exit_code == 0, r.output
        r = runner.invoke(
            cli,
            [
                "--config",
                str(cfg),
                "send",
                "--as-of",
                "2026-11-30",
                "--dry-run",
                "--outbox",
                str(box),
            ],
        )
    assert r.exit_code == 0, r.output
    files = sorted(box.rglob("*.eml"))
    assert len(files) == 3
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def test_each_email_attaches_exactly_what_it_says_is_attached(outbox) -> None:
    for msg in outbox:
        attached = sorted(p.get_filename() for p in msg.iter_attachments())
        assert attached and all(a.endswith(".pdf") for a in attached)
        text = msg.get_body(("plain",)).get_content()
        listed = re.findall(r"^- (\S+\.pdf) \(", text.split("Attached:", 1)[1], re.M)
        assert sorted(listed) == attached, (msg["To"], listed, attached)
        html = msg.get_body(("html",)).get_content()
        assert all(a in html for a in attached)
        for part in (text, html):
            assert not ELSEWHERE.search(part), ELSEWHERE.search(part)


def test_the_attached_pdf_never_sends_its_reader_elsewhere(outbox) -> None:
    for msg in outbox:
        for part in msg.iter_attachments():
            text = pdf_text(part.get_content())
            assert "Sales" in text  # a real report, read
            assert not ELSEWHERE.search(text), (part.get_filename(), ELSEWHERE.search(text))


@pytest.mark.parametrize("name", ["weekly", "executive"])
def test_lists_cut_short_say_how_many_are_not_listed_and_point_nowhere(name: str) -> None:
    ctx, config = bench_context(name)
    cut = {k: n for k, n in ctx.attention.more.items() if n}
    assert cut, "the benchmark model has more concerns than the report lists"
    text = pdf_text(report.render_pdf(ctx, config))
    assert not ELSEWHERE.search(text), ELSEWHERE.search(text)
    markers = re.findall(r"\+ ([\d,]+) more[^.]*?, not listed here\b", text)
    assert markers, "a cut list says how many it leaves out"
    assert "all are listed below" not in text  # the verdict's claim is not made when lists are cut


def test_the_weekly_verdicts_all_are_listed_below_holds() -> None:
    ctx, config = sample_context("weekly")
    text = pdf_text(report.render_pdf(ctx, config))
    assert "all are listed below" in text
    assert not any(ctx.attention.more.values())
    below = text.split("Needs attention", 1)[1]
    a = ctx.attention
    names = (
        [r.name for r in a.late + a.at_risk]
        + [r.rep for r in a.reps_behind]
        + [b.category for b in a.budget_over]
        + [g.checkpoint.label for g in a.goals_behind]
    )
    assert len(names) == ctx.exceptions_total > len(ctx.exceptions)  # the count is of the lists
    for n in names:
        assert " ".join(n.split())[:30] in below, n

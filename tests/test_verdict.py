"""The verdict a report opens with says delivery too (issue 15): a green sales line
must not hide a plan whose milestones are late."""

from __future__ import annotations

from report_models import bench_context, pdf_text, sample_pdf

from sheetsync import metrics as m
from sheetsync.verdict import delivery_sentence


def test_delivery_is_said_only_when_something_is_late_or_at_risk() -> None:
    assert delivery_sentence({m.LATE: 0, m.AT_RISK: 0, m.DONE: 4}, [m.GREEN]) is None
    assert delivery_sentence({m.LATE: 1, m.AT_RISK: 0}, [m.AMBER, m.GREEN]) == (
        "Delivery: 1 milestone late and 0 at risk; 1 of 2 projects Amber."
    )
    assert delivery_sentence({m.LATE: 0, m.AT_RISK: 3}, [m.AMBER], company_wide=True) == (
        "Delivery (company-wide): 0 milestones late and 3 at risk; 1 of 1 project Amber."
    )


def test_the_sample_verdict_says_its_late_milestones() -> None:
    text = pdf_text(sample_pdf("executive"))
    assert (
        "covers its open quota 2.7×. Delivery: 2 milestones late and 3 at risk; "
        "2 of 2 projects Amber."
    ) in text


def test_a_green_sales_line_with_red_delivery_gives_a_red_verdict() -> None:
    ctx, _ = bench_context("executive")
    assert ctx.ytd.rag.status == m.GREEN  # sales alone: 95% of plan
    assert ctx.verdict.rag == m.RED
    assert "Delivery: 510 milestones late and 60 at risk; 50 of 50 projects Red." in (
        ctx.verdict.sentence
    )
    assert ctx.verdict.short.startswith("95% of plan")

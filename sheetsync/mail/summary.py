"""The email's summary: its subject, its variables, and its text and HTML bodies.

Both bodies are rendered through the report's one Jinja environment, and every
date and number goes through :class:`sheetsync.formatting.Formatter`, so the
email says exactly what the attached PDF says, in the same style.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ..config import Config, RecipientGroup
from ..formatting import Formatter
from ..plan import PlanAsOf
from ..report.templates import template_dirs_for
from .message import Attachment

SUMMARY_HTML = "email_summary.html"
SUMMARY_TEXT = "email_summary.txt"


def _fmt_date(d: date, config: Config) -> str:
    """A date in the reports' one style (:meth:`Formatter.day`)."""
    return Formatter.for_config(config).day(d)


def pack_subject(
    config: Config, group: RecipientGroup, as_of: date, verdict: str | None = None
) -> str:
    """``Northwind Traders sales status — week 49, 2026 (30 Nov 2026): 94% of plan,
    $1.2M projected gap``.

    The period is in the subject so that weekly packs do not collapse into one
    thread; a group filtered to teams says which; ``verdict`` is the report's
    short verdict (:attr:`sheetsync.verdict.Verdict.short`).
    """
    y, w, _ = as_of.isocalendar()
    subject = f"{config.report.company} sales status — week {w}, {y} ({_fmt_date(as_of, config)})"
    if group.teams:
        subject += f" · {', '.join(group.teams)}"
    if verdict:
        subject += f": {verdict}"
    return subject


def summary_variables(
    config: Config,
    plan: PlanAsOf,
    group: RecipientGroup,
    attachments: Sequence[Attachment] = (),
) -> dict[str, Any]:
    """The variables of ``email_summary.html`` / ``.txt``.

    Every field of the executive report's :class:`sheetsync.report.ReportContext`
    (``meta``, ``branding``, ``kpis``, ``attention``, ``changes``, ``rag_rules``
    ...), built for the group's teams, so the email says exactly what the
    attached PDF says; plus ``email``: ``subject``, ``heading`` ("Sales status —
    week 49, 2026"), ``as_of`` (text), ``colors`` (CSS colour per RAG status,
    ``accent``, ``ink``, ``muted``), ``attachments`` (``filename``,
    ``description``, ``size``) and ``company_wide``: for a group filtered to
    teams, the KPI keys that are not (milestones and budget belong to no
    team), so the email labels them company-wide; empty otherwise.
    """
    from ..report import context_for

    as_of = plan.as_of
    ctx = context_for(plan, config, name="executive", teams=group.teams)
    colors = {"grey": "#5f6368", **ctx.branding.colors}
    y, w, _ = as_of.isocalendar()
    variables = ctx.variables()
    variables["email"] = {
        "subject": pack_subject(config, group, as_of, ctx.verdict.short),
        "heading": f"Sales status — week {w}, {y}",
        "as_of": _fmt_date(as_of, config),
        "colors": colors,
        "attachments": [
            {"filename": a.filename, "description": a.description, "size": _size(len(a.data))}
            for a in attachments
        ],
        "company_wide": [k.key for k in ctx.kpis if k.key in COMPANY_WIDE] if group.teams else [],
    }
    return variables


#: KPIs a team filter does not narrow: milestones and budget belong to no team.
COMPANY_WIDE = ("milestones", "budget", "spend_to_revenue")


def _size(n: int) -> str:
    return f"{max(n, 1024) / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def render_summary(config: Config, variables: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of the email summary, through the report's Jinja environment.

    A ``template_dir`` in ``[report]`` may hold its own ``email_summary.html``
    or ``.txt``. Autoescape is on for the HTML (off for the text) and an
    undefined name is an error naming the template and line.
    """
    import jinja2

    from ..report.templates import environment, template_error

    dirs = template_dirs_for(config)
    env = environment(dirs, config)
    text_env = env.overlay(autoescape=False)
    try:
        text = text_env.get_template(SUMMARY_TEXT).render(variables)
        html = env.get_template(SUMMARY_HTML).render(variables)
    except jinja2.TemplateError as e:
        raise template_error(e, dirs) from None
    return text, html

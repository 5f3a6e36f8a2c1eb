"""Status reports: the public entry points (a report from the store; a context as PDF or HTML).

The whole report is a pure function of records::

    ctx = build_context(current, previous, config, name="weekly", as_of=date(2026, 11, 30))
    html = render_html(ctx, config)
    pdf = render_pdf(ctx, config)

``render_report(store, config, as_of=...)`` reads the records from the store
(now and a week earlier) and does the three steps.

Templates receive the fields of :class:`ReportContext` as variables (``meta``,
``kpis``, ``attention`` ...; see its docstring) plus ``report`` (the context
itself). Numbers stay numbers in the context; templates format them with the
locale-aware filters ``money``, ``money_short``, ``pct``, ``pp``, ``num``,
``day`` (the one date style, with its year) and ``month``.

The package, in the data's order: :mod:`.context` (the dataclasses),
:mod:`.build` and its steps (:mod:`.rows`, :mod:`.projects`, :mod:`.attention`,
:mod:`.changes`, :mod:`.kpis`), :mod:`.charts` (SVG), :mod:`.templates` (the one
Jinja environment, which mail uses too) and :mod:`.pdf` (the one home of
WeasyPrint). Importing it is cheap: Jinja and WeasyPrint load on first render.

Safety: autoescape is on, undefined variables are errors, cell text is never
compiled as a template, WeasyPrint may only fetch files inside the template
directories and the configured logo (no network, no other file), and the PDF
is rendered in a forked child that is killed when it overruns its deadline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ..baseline import variance
from ..config import Config
from ..errors import UsageError
from ..model import resolve_teams
from ..plan import PlanAsOf, plan_as_of
from ..progress import Progress
from .build import build_context
from .context import LIMITS, REPORTS, TITLES, Limits, Records, ReportContext
from .pdf import DEFAULT_TIMEOUT, render_pdf
from .templates import render_html

if TYPE_CHECKING:  # pragma: no cover
    from ..explain import Explanation
    from ..store import Baseline, Store

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXPLAINED",
    "LIMITS",
    "REPORTS",
    "TITLES",
    "Limits",
    "ReportContext",
    "build_context",
    "context_for",
    "render_context",
    "render_html",
    "render_pdf",
    "render_report",
    "report_context",
]


def context_for(
    plan: PlanAsOf,
    config: Config,
    *,
    name: str = "weekly",
    teams: tuple[str, ...] = (),
    limits: Limits | None = None,
    baseline: tuple[Baseline, Records] | None = None,
    explained: Sequence[Explanation] = (),
) -> ReportContext:
    """The report context of a plan as of a day (see :func:`sheetsync.plan.plan_as_of`).

    ``teams`` are matched to the model's spelling; an unknown team is an error.
    ``baseline``: a saved baseline and its records (``Store.baseline_records``),
    to add the variance against it. ``explained``: the headline figures'
    explanations (``sheetsync.explain.explain_all``), for the appendix."""
    if teams:
        teams = resolve_teams(plan.current, teams)
    ctx = build_context(
        plan.current,
        plan.previous,
        config,
        name=name,
        as_of=plan.as_of,
        teams=teams,
        limits=limits,
        reads=plan.reads,
        note=plan.note,
        read_after=plan.first_pulled is not None,
    )
    if explained:
        ctx = dataclasses.replace(ctx, explained=list(explained))
    if baseline is None:
        return ctx
    saved, records = baseline
    v = variance(saved.name, saved.as_of, records, plan.current, config, plan.as_of, teams)
    return dataclasses.replace(ctx, baseline=v)


EXPLAINED = ("weekly",)  # the reports whose template has the appendix (_sources.html)


def report_context(
    store: Store,
    plan: PlanAsOf,
    config: Config,
    *,
    name: str = "weekly",
    teams: tuple[str, ...] = (),
    baseline: str | None = None,
) -> ReportContext:
    """Report ``name``'s context as ``sheetsync report`` renders it and a status
    pack attaches it (one path): the plan's (:func:`context_for`), the variance
    against the saved baseline ``baseline`` (default: ``[report] baseline``),
    and for a report in ``EXPLAINED`` the appendix's explanations."""
    from ..explain import explain_all

    wanted = baseline or config.report.baseline
    saved = store.baseline_records(wanted) if wanted else None
    explained = explain_all(store, plan, config, teams) if name in EXPLAINED else ()
    return context_for(plan, config, name=name, teams=teams, baseline=saved, explained=explained)


def render_context(
    ctx: ReportContext,
    config: Config,
    *,
    fmt: str = "pdf",
    template_dirs: Sequence[str | Path] = (),
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> bytes:
    """A report context as PDF bytes, or as UTF-8 HTML with ``fmt="html"``."""
    if fmt not in ("pdf", "html"):
        raise UsageError(f"unknown report format {fmt!r}", hint="use pdf or html")
    if fmt == "html":
        if progress:
            progress("writing the HTML")
        return render_html(ctx, config, template_dirs=template_dirs).encode("utf-8")
    return render_pdf(ctx, config, template_dirs=template_dirs, timeout=timeout, progress=progress)


def render_report(
    store: Store,
    config: Config,
    *,
    name: str = "weekly",
    as_of: date,
    fmt: str = "pdf",
    template_dirs: Sequence[str | Path] = (),
    teams: tuple[str, ...] = (),
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> bytes:
    """Render a report from the store: the plan as of the end of ``as_of``
    against the plan a week earlier (:func:`report_context`: the report
    ``sheetsync report`` writes). ``fmt`` is "pdf" or "html" (UTF-8 bytes).
    ``progress(message, done=None, total=None)`` hears each step."""
    if fmt not in ("pdf", "html"):
        raise UsageError(f"unknown report format {fmt!r}", hint="use pdf or html")
    if progress:
        progress("reading the model")
    plan = plan_as_of(store, config, as_of)
    if progress:
        progress("building the report")
    ctx = report_context(store, plan, config, name=name, teams=teams)
    return render_context(
        ctx, config, fmt=fmt, template_dirs=template_dirs, timeout=timeout, progress=progress
    )

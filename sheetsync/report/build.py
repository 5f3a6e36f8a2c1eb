"""The report's context from records: the steps of :func:`build_context`, in the data's order.

One snapshot now and one a week earlier (:mod:`.rows`) → the projects'
sections (:mod:`.projects`) → what needs attention and the exceptions
(:mod:`.attention`) → what changed (:mod:`.changes`) → the headline tiles
(:mod:`.kpis`) → the charts (:mod:`.charts`) → :class:`ReportContext`.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Sequence
from datetime import date, timedelta

from markupsafe import Markup

from .. import metrics as m
from ..config import Config
from ..errors import ConfigError
from ..formatting import Formatter
from ..goal_tree import goal_tree_views
from ..history import diff_records
from ..metrics import RagSettings
from ..periods import fiscal_year, period_bounds, period_of
from ..plan import SourceRead, coverage_line, quota_notes, require_in_range
from ..verdict import count_text, pick, verdict
from .attention import attention, concerns, exception_items
from .changes import what_changed
from .charts import svg_cumulative, svg_periods, svg_rep_attainment, svg_team_attainment
from .context import LIMITS, TITLES, Branding, Charts, Limits, Meta, Records, ReportContext, RepRow
from .kpis import headline_kpis
from .projects import project_sections
from .rows import budget_groups, compute, pace_key, sort_text, state_like

_COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\(\s*[\d.%\s,]+\))$")
DEFAULT_COLORS = {
    "accent": "#1f4e78",
    "accent_light": "#dce6f0",
    "green": "#2e7d32",
    "amber": "#b26a00",
    "red": "#b71c1c",
    "ink": "#1a1a1a",
    "muted": "#5f6368",
}


def _colors(config: Config) -> dict[str, str]:
    colors = dict(DEFAULT_COLORS)
    for name, value in config.report.colors.items():
        if not isinstance(value, str) or not _COLOR_RE.match(value.strip()):
            raise ConfigError(
                f"report.colors.{name}: {value!r} is not a colour",
                hint='use a hex colour such as "#1f4e78", a CSS colour name or rgb(...)',
            )
        colors[name] = value.strip()
    return colors


def _logo_uri(config: Config) -> str | None:
    logo = config.report.logo
    if not logo:
        return None
    if not logo.is_file():
        raise ConfigError(f"report.logo: no file at {logo}", hint="fix the path in sheetsync.toml")
    mime = mimetypes.guess_type(logo.name)[0] or ""
    if not mime.startswith("image/"):
        raise ConfigError(f"report.logo: {logo.name} is not an image (png, jpg, svg)")
    return f"data:{mime};base64,{base64.b64encode(logo.read_bytes()).decode()}"


#: What a dash means wherever a figure would be (every report's footnote).
DASH_NOTE = (
    "— stands for no figure: a blank cell, or a ratio with nothing to divide by "
    "(spend to revenue with no revenue attributed); $0 is a zero that was entered. "
    "A subtotal sums the figures entered."
)


def build_context(
    current: Records,
    previous: Records,
    config: Config,
    *,
    name: str,
    as_of: date,
    teams: tuple[str, ...] = (),
    limits: Limits | None = None,
    reads: Sequence[SourceRead] = (),
    note: str | None = None,
    read_after: bool = False,
) -> ReportContext:
    """The report's context from the model's records now and a week earlier.

    Pure: no I/O besides reading the configured logo, no clock. ``previous``
    may be empty (no earlier snapshot): "what changed" then says so. ``reads``
    (which source was read when) and ``note`` (the plan is the one first
    pulled) come from :func:`sheetsync.plan.plan_as_of`; see :func:`context_for`.
    """
    lim = limits or LIMITS.get(name, LIMITS["weekly"])
    rag = config.rag
    fmt = Formatter.for_config(config)
    prev_as_of = as_of - timedelta(days=7)
    cur = compute(current, as_of, config, teams, settled_only=read_after)
    has_prev = any(previous.get(t) for t in ("milestones", "quotas", "projects", "budget"))
    prev = compute(previous, prev_as_of, config, teams) if has_prev else None
    q = cur.quotas
    period = _quota_period(q, as_of)
    notes = _notes(q, note, fmt)
    projects = project_sections(current, cur, as_of, lim, fmt, rag)
    detailed = projects.sections
    found = concerns(cur, q, projects.goals_behind)
    items = exception_items(found, q, current, fmt)
    changes = what_changed(
        cur.milestones,
        prev.milestones if prev else [],
        q,
        prev.quotas if prev else None,
        cur.budget,
        prev.budget if prev else [],
        has_prev,
        prev_as_of,
        lim,
        fmt,
        diff_records(previous, current, config.specs)["milestones"] if has_prev else None,
        config.table_spec("milestones"),
    )
    counts = m.count_categories(state_like(r) for r in cur.milestones)
    btot = m.budget_totals(current.get("budget", []))
    kpis = headline_kpis(q, counts, btot, prev, previous, prev_as_of, fmt, rag)
    reps_sorted = sorted(q.reps, key=pace_key) if q else []
    charts = _charts(q, reps_sorted, lim, fmt, rag, name)
    meta = _meta(name, config, as_of, period, teams, coverage_line(q, reads, fmt))
    return ReportContext(
        meta=meta,
        branding=Branding(config.report.company, _logo_uri(config), _colors(config)),
        verdict=verdict(
            q, fmt, counts, [s.delivery_rag.status for s in detailed], company_wide=bool(teams)
        ),
        exceptions=pick(items),
        exceptions_total=len(items),
        pipeline=list(q.pipeline) if q else [],
        kpis=kpis,
        period=q.period if q else None,
        ytd=q.ytd if q else None,
        milestone_counts=counts,
        budget=btot,
        attention=attention(found, lim),
        changes=changes,
        projects=detailed[: lim.projects],
        project_summary=detailed[: lim.summary],
        projects_total=len(detailed),
        more_projects_text=count_text([s.rag for s in detailed[lim.summary :]]),
        teams=q.teams if q else [],
        reps=_shown_reps(q, reps_sorted, lim),
        reps_total=len(q.reps) if q else 0,
        budget_lines=cur.budget[: lim.budget_lines],
        budget_lines_total=len(cur.budget),
        budget_groups=budget_groups(
            projects.budget_by_project,
            projects.raw_budget_by_project,
            projects.names,
            lim.budget_lines,
        ),  # fmt: skip
        charts=charts,
        rag_rules=m.rag_rules(rag),
        rag_settings=rag,
        notes=notes,
        limits=lim,
        goal_trees=goal_tree_views(
            current, as_of, rag, {s.key: {r.key for r in s.milestones} for s in detailed}
        ),
    )


def _quota_period(q: m.QuotaStanding | None, as_of: date) -> tuple[str, date, date]:
    """The current quota period's label and bounds (the calendar month without quotas);
    quotas must cover the day."""
    if q is not None:
        require_in_range(q)
        return q.period_label, q.period_start, q.period_end
    plabel = period_of(as_of)
    pstart, pend = period_bounds(plabel)
    return plabel, pstart, pend


def _notes(q: m.QuotaStanding | None, note: str | None, fmt: Formatter) -> list[str]:
    """The caveats about the data, for the footnote."""
    notes = ([note] if note else []) + (
        quota_notes(q, fmt) if q else ["The model holds no quotas: quota figures are left out."]
    )
    notes.append(DASH_NOTE)
    return notes


def _charts(
    q: m.QuotaStanding | None,
    reps_sorted: list[RepRow],
    lim: Limits,
    fmt: Formatter,
    rag: RagSettings,
    name: str,
) -> Charts:
    """The charts; ``reps_sorted``: every rep, furthest behind pace first."""
    return Charts(
        rep_attainment=svg_rep_attainment(reps_sorted[: lim.chart_reps], fmt, rag, "ra")
        if q
        else Markup(""),
        rep_attainment_more=max(len(reps_sorted) - lim.chart_reps, 0),
        cumulative=svg_cumulative(q, fmt, "cu", 230) if q and q.ytd else Markup(""),
        periods=svg_periods(q, fmt, "pe") if q and q.ytd and name != "executive" else Markup(""),
        team_attainment=svg_team_attainment(q.teams, fmt, rag, "ta") if q else Markup(""),
        periods_message=_periods_message(q, fmt),
    )


def _periods_message(q: m.QuotaStanding | None, fmt: Formatter) -> str:
    """The per-period chart's message: how many periods closed under quota, and the
    worst of them ("8 of 11 months under quota, October the most: −$245.7K")."""
    done = [t for t in (q.by_period() if q and q.ytd else []) if t.variance is not None]
    if not done:
        return ""
    under = [t for t in done if (t.variance or 0.0) < 0]
    unit = "months" if all(re.fullmatch(r"\d{4}-\d{2}", t.period) for t in done) else "periods"
    text = f"{len(under)} of {len(done)} {unit} under quota"
    if under:
        worst = min(under, key=lambda t: t.variance or 0.0)
        text += f", {fmt.period_name(worst.period)} the most: −{fmt.money_short(-(worst.variance or 0.0))}"
    return text


def _shown_reps(q: m.QuotaStanding | None, reps_sorted: list[RepRow], lim: Limits) -> list[RepRow]:
    """The rep table's rows: every rep by team, or when too many to list, the ones
    furthest behind pace."""
    all_reps = q.reps if q else []
    if len(all_reps) <= lim.reps:
        return sorted(all_reps, key=lambda r: (sort_text(r.team), *pace_key(r)))
    return reps_sorted[: lim.reps]


def _meta(
    name: str,
    config: Config,
    as_of: date,
    period: tuple[str, date, date],
    teams: tuple[str, ...],
    coverage: str,
) -> Meta:
    plabel, pstart, pend = period
    fy_label, ystart, yend = fiscal_year(as_of, config.report.fiscal_year_start_month)
    return Meta(
        name=name,
        title=TITLES.get(name, name.replace("_", " ").capitalize()),
        company=config.report.company,
        as_of=as_of,
        previous_as_of=as_of - timedelta(days=7),
        period_label=plabel,
        period_start=pstart,
        period_end=pend,
        year_label=fy_label,
        year_start=ystart,
        year_end=yend,
        locale=config.report.locale,
        currency=config.report.currency,
        lang=config.report.locale.split("_")[0].split("-")[0] or "en",
        timestamp=as_of.isoformat(),
        teams=tuple(teams),
        coverage=coverage,
    )

"""The commands that read the model: status, explain, changes, log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import click

from ..errors import UsageError
from ..formatting import Formatter
from .app import App, DayType, as_of_option, cli, json_option, pass_app, print_json, text_table


@cli.command()
@as_of_option
@json_option
@pass_app
def status(app: App, as_of: Any, as_json: bool) -> None:
    """The plan at a glance: milestones, quota attainment, budget.

    The figures are the ones the reports and the email print: the plan as the
    model knew it at the end of --as-of (default today), year to date through
    the last period whose actuals are entered.
    """
    from ..plan import plan_as_of
    from ..summary import summarize

    day = app.day(as_of)
    progress = app.progress()
    try:
        if progress:
            progress("reading the model")
        plan = plan_as_of(app.store, app.config, day)
        s = summarize(plan, app.config)
    finally:
        app.done_progress()
    if plan.note:
        app.note(plan.note)
    if as_json:
        print_json(s)
        return
    f = Formatter.for_config(app.config)
    out = [click.style(f"Plan status as of {f.day(day)}", bold=True)]
    if s["coverage"]:
        out.append(s["coverage"])
    out += _project_lines(s)
    if s["quota"] is not None:
        out += _quota_lines(s, f)
    if s["budget"]:
        out += _budget_lines(s, f)
    notes = [n for n in s["notes"] if n != plan.note]
    if notes:
        out += ["", *(f"Note: {n}" for n in notes)]
    click.echo("\n".join(out))


def _project_lines(s: dict[str, Any]) -> list[str]:
    """The projects table of ``status``: milestones done, late, at risk, due soon."""
    return ["", click.style("Projects", bold=True)] + text_table(
        [
            [
                p["key"],
                p["name"][:48],
                str(p["milestones"]),
                str(p["done"]),
                str(p["late"]),
                str(p["at_risk"]),
                str(p["due"]),
            ]
            for p in s["projects"]
        ],
        ["Key", "Project", "Milestones", "Done", "Late", "At risk", "Due ≤14d"],
        {2, 3, 4, 5, 6},
    )


def _quota_lines(s: dict[str, Any], f: Formatter) -> list[str]:
    """The quota part of ``status``: the year's attainment, then by team and by rep."""
    money, pct = f.money, f.pct
    q = s["quota"]
    through = s["through"] or "no actuals entered yet"
    proj = (
        f" · projected {money(q['projection'])} of {money(q['period_quota'])} "
        f"by {f.day(date.fromisoformat(q['end']))}"
        if q["projection"] is not None
        else ""
    )
    out = [
        "",
        click.style(
            f"Quota attainment, {s['year']} year to date: {pct(q['attainment'])} "
            f"({money(q['closed'])} of {money(q['quota'])}, {through}) · "
            f"pace {pct(q['pace'])}{proj}",
            bold=True,
        ),
    ]
    head = ["Quota", "Closed", "Attainment", "Pace", "Projected"]

    def cells(x: dict[str, Any]) -> list[str]:
        return [
            money(x["quota"]),
            money(x["closed"]) if x["actuals_through"] else "—",
            pct(x["attainment"]),
            pct(x["pace"]),
            money(x["projection"]),
        ]

    out += text_table(
        [[t["team"], str(t["reps"]), *cells(t)] for t in s["teams"]],
        ["Team", "Reps", *head],
        {1, 2, 3, 4, 5, 6},
    )
    out.append("")
    out += text_table(
        [[r["rep"], r["team"] or "", *cells(r)] for r in s["reps"]],
        ["Rep", "Team", *head],
        {2, 3, 4, 5, 6},
    )
    return out


def _budget_lines(s: dict[str, Any], f: Formatter) -> list[str]:
    """The budget table of ``status``: planned, spent and attributed revenue by project."""
    money, pct = f.money, f.pct
    return ["", click.style("Budget", bold=True)] + text_table(
        [
            [
                b["project"],
                money(b["planned"]),
                money(b["spent"]),
                pct(b["spent"] / b["planned"] if b["planned"] else None),
                money(b["revenue"]),
            ]
            for b in s["budget"]
        ],
        ["Project", "Planned", "Spent", "Used", "Attributed revenue"],
        {1, 2, 3, 4},
    )


def _table_name(app: App, table: str) -> str:
    from ..model import TABLES

    name = table.strip().lower()
    if name not in TABLES:
        raise UsageError(
            f"no table {table!r}: the model's tables are {', '.join(TABLES)}",
            hint="e.g. sheetsync log quotas",
        )
    return name


def _since(app: App, day: date | None):
    """The moment ``--since D`` means: the plan as the model knew it at the end of D
    (in the report's time zone, as for --as-of)."""
    if day is None:
        return None
    from ..plan import known_at, report_zone

    return known_at(app.store, day, report_zone(app.config))


def _change_line(e: Any, show: Callable[[Any], str]) -> str:
    parts = []
    for c in e.fields:
        cell = f" {e.cells[c.field]}" if c.field in e.cells else ""
        if e.kind == "changed":
            parts.append(f"{c.field} {show(c.old)} → {show(c.new)}{cell}")
        elif e.kind == "new":
            parts.append(f"{c.field} {show(c.new)}{cell}")
    return "; ".join(parts)


@cli.command()
@click.argument("table")
@click.argument("key", required=False)
@click.option("--field", "field_name", metavar="FIELD", help="Only changes of this field.")
@click.option(
    "--since", type=DayType(), default=None, help="Only changes after the end of this day."
)
@json_option
@pass_app
def log(
    app: App, table: str, key: str | None, field_name: str | None, since: Any, as_json: bool
) -> None:
    """One record's (or a whole table's) changes over time: when, from which
    source and cell, which field, old → new.

    \b
    KEY is the record's key as the report shows it ("Dana Kim / 2026-11" when
    the key has two columns).
    Example:
        sheetsync log milestones M-3 --field due
        sheetsync log quotas --since 2026-11-23
    """
    from ..history import record_log, stored_key
    from ..merge import show
    from ..provenance import Provenance

    name = _table_name(app, table)
    spec = app.config.table_spec(name)
    if field_name and field_name not in spec.field_by_name:
        raise UsageError(
            f"{name} has no field {field_name!r}: its fields are " + ", ".join(spec.field_by_name),
        )
    skey = stored_key(spec, key) if key is not None else None
    entries = record_log(
        app.store,
        name,
        skey,
        field_name=field_name,
        since=_since(app, since),
        cells=Provenance(app.store, app.config),
    )
    if key is not None and not entries and not app.store.history(name, skey):
        raise UsageError(f"{name} has no record {key!r}", hint=f"see sheetsync log {name}")
    if as_json:
        print_json([e.as_dict() for e in entries])
        return
    if not entries:
        app.say("No changes.")
        return
    from ..store import show_key

    for e in entries:
        who = f" ({e.source})" if e.source else ""
        click.echo(
            f"{e.at:%Y-%m-%d %H:%M}  {show_key(e.key)}  {e.kind}{who}  {_change_line(e, show)}"
        )


@cli.command()
@click.option(
    "--since", type=DayType(), required=True, help="From the plan at the end of this day."
)
@click.option(
    "--until",
    type=DayType(),
    default=None,
    help="To the plan at the end of this day (default: now).",
)
@json_option
@pass_app
def changes(app: App, since: Any, until: Any, as_json: bool) -> None:
    """What changed across the model in a period: new, changed and removed
    records, by table (the terminal twin of the report's "what changed").

    \b
    Example:
        sheetsync changes --since 2026-11-23 --until 2026-11-30
    """
    from ..history import changes_between
    from ..merge import show

    result = changes_between(app.store, _since(app, since), _since(app, until))
    if as_json:
        print_json(
            {
                name: {
                    kind: [
                        {
                            "key": c.shown_key,
                            "fields": {f.field: {"old": f.old, "new": f.new} for f in c.fields},
                        }
                        if kind == "changed"
                        else {"key": c.shown_key}
                        for c in getattr(t, kind)
                    ]
                    for kind in ("added", "changed", "removed")
                }
                for name, t in result.items()
            }
        )
        return
    out = []
    for name, t in result.items():
        if t.empty:
            continue
        out.append(
            click.style(
                f"{name}: {len(t.added)} new, {len(t.changed)} changed, {len(t.removed)} removed",
                bold=True,
            )
        )
        out += [f"  + {c.shown_key}" for c in t.added]
        out += [
            f"  ~ {c.shown_key}: "
            + "; ".join(f"{f.field} {show(f.old)} → {show(f.new)}" for f in c.fields)
            for c in t.changed
        ]
        out += [f"  - {c.shown_key}" for c in t.removed]
    click.echo("\n".join(out) if out else "No changes.")


@cli.command()
@click.argument("metric", metavar="METRIC")
@click.option("--team", default=None, help="One team's figure (quota figures).")
@click.option("--rep", default=None, help="One rep's figure (quota figures).")
@click.option("--project", default=None, help="One project's figure (milestones, budget).")
@as_of_option
@json_option
@pass_app
def explain(
    app: App,
    metric: str,
    team: str | None,
    rep: str | None,
    project: str | None,
    as_of: Any,
    as_json: bool,
) -> None:
    """How a headline figure is computed, from which cells, under which rule.

    \b
    METRIC is one of: attainment, period-attainment, pace, projection, gap,
    required, rag, milestones, budget, spend-to-revenue.
    Example:
        sheetsync explain attainment --team Enterprise
        sheetsync explain budget --project GROW20 --json
    """
    from ..explain import explain as explain_figure
    from ..plan import plan_as_of

    day = app.day(as_of)
    plan = plan_as_of(app.store, app.config, day)
    e = explain_figure(
        app.store, plan, app.config, metric.strip().lower(), team=team, rep=rep, project=project
    )
    if plan.note:
        app.note(plan.note)
    if as_json:
        print_json(e.as_dict())
        return
    click.echo("\n".join(e.lines()))

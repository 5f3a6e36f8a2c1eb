"""The commands that write the plan out: report (PDF, HTML), export (JSON, CSV, mind maps), baseline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import atomic
from ..errors import UsageError
from ..progress import Progress
from .app import (
    App,
    DayType,
    SheetsyncGroup,
    as_of_option,
    cli,
    json_option,
    pass_app,
    print_json,
    text_table,
)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "xmind", "mm", "opml"]),
    default=None,
    help="json or csv: every record; xmind, mm (Freeplane/FreeMind) or opml (MindMeister): "
    "the plan as a mind map. Default: from the output's suffix, else json.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    required=True,
    help="File to write, or - for stdout; for csv, one file per table is written beside it "
    "(NAME-TABLE.csv), or the one --table to stdout.",
)
@click.option("--table", "tables", multiple=True, help="Only these tables (repeatable; json/csv).")
@click.option(
    "--raw",
    is_flag=True,
    help="CSV: write text exactly as stored, even text a spreadsheet would run as a formula "
    "(starting with = + - @); only for files a program reads, never one a person opens.",
)
@as_of_option
@pass_app
def export(
    app: App, fmt: str | None, output: Path, tables: tuple[str, ...], raw: bool, as_of: Any
) -> None:
    """Dump every record of every table as JSON or CSV, or the live plan as a mind map.

    A map holds projects → milestones → tasks; each node's state as of the
    day (--as-of) is its marker and colour, and its note lists owner, due
    date, progress and every other field, so the map pulls back into the
    same model (a mind map source with skip_root = true).

    In CSV, text starting with = + - @, a tab or a carriage return gets a
    leading ' so that Excel or LibreOffice shows it as text instead of running
    it as a formula (numbers stay numbers); --raw turns that off.

    \b
    Example:
        sheetsync export --format csv -o model.csv
        sheetsync export -o - | jq '.quotas | length'
        sheetsync export --format csv --table quotas -o - > quotas.csv
        sheetsync export --format xmind -o plan.xmind
    """
    from ..export import MAP_FORMATS, export_csv, export_json, export_mindmap

    fmt = fmt or {".csv": "csv", ".xmind": "xmind", ".mm": "mm", ".opml": "opml"}.get(
        output.suffix.lower(), "json"
    )
    to_stdout = str(output) == "-"
    if fmt in MAP_FORMATS:
        if tables:
            raise UsageError("--table is for json and csv; a map holds the whole goal tree")
        if to_stdout:
            raise UsageError("a mind map is a file", hint=f"give it a name: -o plan.{fmt}")
    progress = None if to_stdout else app.progress()  # no status line amid the output
    try:
        if progress:
            progress(f"writing {output}")
        if fmt in MAP_FORMATS:
            from ..plan import plan_as_of

            day = app.day(as_of)
            plan = plan_as_of(app.store, app.config, day)
            if plan.note:
                app.note(plan.note)
            written = export_mindmap(
                plan.current,
                output,
                fmt,
                as_of=day,
                rag=app.config.rag,
                company=app.config.report.company,
            )
        else:
            target = sys.stdout if to_stdout else output
            if fmt == "json":
                written = export_json(app.store, target, tables)
            else:
                written = export_csv(app.store, target, tables, raw=raw)
    finally:
        app.done_progress()
    if not to_stdout:
        for path, n in written:
            app.say(f"Wrote {path} ({n} {'nodes' if fmt in MAP_FORMATS else 'records'})")


def _prefixed(progress: Progress | None, prefix: str) -> Progress | None:
    """``progress`` with each message prefixed ("weekly report: laying out the PDF")."""
    if progress is None:
        return None

    def say(message: str, done: int | None = None, total: int | None = None) -> None:
        progress(prefix + message, done, total)

    return say


@cli.group(cls=SheetsyncGroup)
def baseline() -> None:
    """Named copies of the plan as of a day, to report variance against
    (`report --baseline NAME`)."""


@baseline.command("save")
@click.argument("name")
@click.option(
    "--as-of",
    type=DayType(),
    default=None,
    help="The plan as the model knew it at the end of this day; default today.",
)
@pass_app
def baseline_save(app: App, name: str, as_of: Any) -> None:
    """Save the plan as of a day under NAME (it stays as saved, whatever is
    pulled later).

    \b
    Example:
        sheetsync baseline save q4-plan --as-of 2026-10-01
    """
    from ..plan import plan_as_of

    if not name.strip():
        raise UsageError("a baseline needs a name", hint="e.g. sheetsync baseline save q4-plan")
    day = app.day(as_of)
    plan = plan_as_of(app.store, app.config, day)
    assert plan.known_at is not None
    saved = app.store.save_baseline(name.strip(), day, plan.known_at, plan.current)
    if plan.note:
        app.note(plan.note)
    counts = ", ".join(f"{n} {t}" for t, n in saved.records.items() if n)
    app.say(f"Saved baseline {saved.name!r}: the plan as of {day.isoformat()} ({counts})")


@baseline.command("list")
@json_option
@pass_app
def baseline_list(app: App, as_json: bool) -> None:
    """The saved baselines: name, day, when saved."""
    saved = app.store.baselines()
    if as_json:
        print_json(
            [
                {
                    "name": b.name,
                    "as_of": b.as_of.isoformat(),
                    "saved_at": b.saved_at.isoformat(sep=" ", timespec="seconds"),
                    "records": b.records,
                }
                for b in saved
            ]
        )
        return
    if not saved:
        app.say("No baselines saved (sheetsync baseline save NAME).")
        return
    click.echo(
        "\n".join(
            text_table(
                [
                    [
                        b.name,
                        b.as_of.isoformat(),
                        f"{b.saved_at:%Y-%m-%d %H:%M}",
                        str(sum(b.records.values())),
                    ]
                    for b in saved
                ],
                ["Baseline", "Plan as of", "Saved (UTC)", "Records"],
                {3},
            )
        )
    )


@baseline.command("drop")
@click.argument("name")
@pass_app
def baseline_drop(app: App, name: str) -> None:
    """Forget the baseline NAME."""
    app.store.drop_baseline(name)
    app.say(f"Dropped baseline {name!r}")


@cli.command()
@as_of_option
@click.option(
    "--report",
    "name",
    default="weekly",
    show_default=True,
    help="weekly (team status, a few pages), executive (one or two pages), or NAME.html "
    "from a --template-dir.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: NAME-YYYY-MM-DD.pdf, or .html with --html).",
)
@click.option("--html", "as_html", is_flag=True, help="Write the same document as HTML.")
@click.option(
    "--template-dir",
    "template_dirs",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="Templates that override or extend the built-ins (repeatable).",
)
@click.option("--team", "teams", multiple=True, help="Only these teams' quotas (repeatable).")
@click.option(
    "--baseline",
    "baseline_name",
    metavar="NAME",
    help="Add the variance against this saved baseline (default: [report] baseline).",
)
@pass_app
def report(
    app: App,
    as_of: Any,
    name: str,
    output: Path | None,
    as_html: bool,
    template_dirs: tuple[Path, ...],
    teams: tuple[str, ...],
    baseline_name: str | None,
) -> None:
    """Render a status report from the model as a PDF (or HTML).

    \b
    Example:
        sheetsync report --report executive -o status.pdf
        sheetsync report --as-of 2026-11-30 --html
    """
    from ..plan import plan_as_of
    from ..report import render_context, report_context

    day = app.day(as_of)
    dirs = list(template_dirs)
    if app.config.report.template_dir:
        dirs.append(app.config.report.template_dir)
    out = output or Path(f"{name}-{day.isoformat()}.{'html' if as_html else 'pdf'}")
    if not out.parent.is_dir():  # said before anything is rendered
        raise UsageError(
            f"cannot write {out}: there is no folder {out.parent}",
            hint="create the folder first, or give -o a path in a folder that exists",
        )
    show = app.progress()
    step = _prefixed(show, f"{name} report: ")
    try:
        if step:
            step("reading the model")
        plan = plan_as_of(app.store, app.config, day)
        if step:
            step("building the report")
        ctx = report_context(
            app.store, plan, app.config, name=name, teams=teams, baseline=baseline_name
        )
        data = render_context(
            ctx, app.config, fmt="html" if as_html else "pdf", template_dirs=dirs, progress=step
        )
        if show:
            show(f"writing {out}")
        atomic.write_bytes(out, data)
    finally:
        app.done_progress()
    if plan.note:
        app.note(plan.note)
    app.say(f"Wrote {out} ({len(data) / 1024:.0f} KiB)")

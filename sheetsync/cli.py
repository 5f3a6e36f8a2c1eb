"""The ``sheetsync`` command: thin Click wrappers over the library.

This is the only module that imports click. Every SheetsyncError becomes a
message on stderr and its exit code in one place (``SheetsyncGroup.main``).
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from .errors import EXIT_CODES_HELP, SheetsyncError, UsageError
from .progress import Progress


class SheetsyncGroup(click.Group):
    """A Click group that maps sheetsync's error family to exit codes."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except SheetsyncError as e:
            click.secho(f"Error: {e}", err=True, fg="red")
            sys.exit(e.exit_code)
        except click.exceptions.UsageError as e:
            e.show()
            sys.exit(1)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("Aborted.", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


class App:
    """What the commands share: options, and the config and store, opened lazily."""

    def __init__(self, config_path: str | None, db: str | None, quiet: bool) -> None:
        self.config_path = config_path
        self.db = db
        self.quiet = quiet
        self._config = None
        self._store = None
        self._status: Any = None

    @property
    def config(self):
        if self._config is None:
            from .config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def store(self):
        if self._store is None:
            from .store import Store

            self._store = Store(self.db or self.config.default_db_url())
        return self._store

    def close(self) -> None:
        """Close the model's connections (SQLite tidies its write-ahead log)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def progress(self) -> Progress | None:
        """The status line on stderr (see ``sheetsync.terminal``) to pass as a
        library function's ``progress``; None, so the library stays silent,
        when stderr is not a terminal or with --quiet. One line per command."""
        if self._status is None:
            from .terminal import StatusLine, wanted

            if not wanted(sys.stderr, self.quiet):
                return None
            self._status = StatusLine(sys.stderr)
        return self._status

    def done_progress(self) -> None:
        """Erase the status line: call before printing results (stdout and
        stderr may be the same terminal). Also runs when the command ends,
        failing or not, before SheetsyncGroup prints an error."""
        if self._status is not None:
            self._status.clear()

    def say(self, message: str = "", **style: Any) -> None:
        if not self.quiet:
            click.secho(message, **style)


pass_app = click.make_pass_decorator(App)


def sources_argument(f: Callable) -> Callable:
    return click.argument("sources", nargs=-1, metavar="[SOURCE]...")(f)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(f)


def as_of_option(f: Callable) -> Callable:
    return click.option(
        "--as-of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Report as of this day (YYYY-MM-DD); default today.",
    )(f)


def _day(value: Any) -> date:
    return value.date() if value is not None else date.today()


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group(
    cls=SheetsyncGroup,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="SHEETSYNC_CONFIG",
    help="Config file (default ./sheetsync.toml).",
)
@click.option(
    "--db",
    envvar="SHEETSYNC_DB",
    help="Model database URL (default .sheetsync/model.db beside the config).",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress or chatter; errors still go to stderr."
)
@click.version_option(package_name="sheetsync")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db: str | None, quiet: bool) -> None:
    """Keep a sales plan in sync between spreadsheets and a model, and report on it.

    \b
    Example:
        sheetsync init plan.xlsx        # write sheetsync.toml for a workbook
        sheetsync pull                  # read the workbook into the model
        sheetsync status                # see the plan at a glance
    """
    ctx.obj = App(config_path, db, quiet)
    # The context closes before SheetsyncGroup.main prints an error (or
    # "Aborted."): a failing command never leaves a half-drawn status line.
    ctx.call_on_close(ctx.obj.done_progress)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.argument("workbook")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("sheetsync.toml"),
    show_default=True,
    help="Where to write the config.",
)
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False),
    help="Google: service-account or OAuth token JSON.",
)
@click.option("--api-url", hidden=True, help="Google: send API calls here (an emulator).")
@click.option("--force", is_flag=True, help="Overwrite an existing config.")
@pass_app
def init(
    app: App, workbook: str, output: Path, credentials: str | None, api_url: str | None, force: bool
) -> None:
    """Guess a config for a workbook or Google Sheet sheetsync has never seen.

    Looks at every sheet's first rows, decides which hold milestones, quotas,
    budget and projects and which header means which field, writes a
    commented sheetsync.toml, and prints what it guessed and what it could not.
    WORKBOOK is an .xlsx file, or a Google Sheets URL or key.

    \b
    Example:
        sheetsync init "Sales plan 2026.xlsx" -o sheetsync.toml
        sheetsync init https://docs.google.com/spreadsheets/d/KEY/edit --credentials robot.json
    """
    from .config import SourceConfig
    from .inspect import describe, inspect_source, render_config

    if output.exists() and not force:
        raise UsageError(
            f"{output} exists already",
            hint="use --force to overwrite it, or -o to pick another name",
        )
    path = Path(workbook)
    google = not path.exists() and (
        "docs.google.com" in workbook or (len(workbook) > 30 and "." not in workbook)
    )
    if google:
        source = SourceConfig(
            "plan",
            "gsheets",
            {},
            spreadsheet=workbook,
            credentials=Path(credentials).resolve() if credentials else None,
            api_url=api_url,
        )
    else:
        source = SourceConfig("plan", "xlsx", {}, path=path.resolve())
    progress = app.progress()
    try:
        if progress:
            where = "the Google Sheet" if google else path.name
            progress(f"reading {where}")
        guess = inspect_source(source)
    finally:
        app.done_progress()
    output.write_text(render_config(guess, output.resolve().parent), encoding="utf-8")
    for line in describe(guess):
        app.say(line, fg="yellow" if line.startswith("!") else None)
    app.say(f"Wrote {output}. Check it, then run: sheetsync --config {output} pull", bold=True)


def _prefixed(progress: Progress | None, prefix: str) -> Progress | None:
    """``progress`` with each message prefixed ("weekly report: laying out the PDF")."""
    if progress is None:
        return None

    def say(message: str, done: int | None = None, total: int | None = None) -> None:
        progress(prefix + message, done, total)

    return say


def _print_errors(errors: list, label: str) -> None:
    from .errors import format_cell_errors

    if errors:
        click.secho(f"{label} ({len(errors)}):", err=True, fg="yellow")
        click.echo(format_cell_errors(errors), err=True)


@cli.command()
@sources_argument
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid rows; report the skipped ones."
)
@click.option(
    "--full", is_flag=True, help="Read and compare every source, even one unchanged since."
)
@json_option
@pass_app
def pull(app: App, sources: tuple[str, ...], skip_invalid: bool, full: bool, as_json: bool) -> None:
    """Read sources (default: all) into the model, all or nothing.

    Every cell is coerced and checked first; with any problem nothing is
    written and each problem is listed by sheet and cell (exit code 2).
    A source whose file (or Google revision) and mapping are the same as at
    its last pull, with nothing changed in the model since, is not read
    again: the pull only records that it looked (--full reads it anyway).

    \b
    Example:
        sheetsync pull plan
    """
    from .reading import last_pulled, start_reads

    # Parsing runs while the database code loads, unless the model's last
    # pull of the source read these very bytes (the pull then decides).
    hold = None if full else last_pulled(app.db or app.config.default_db_url())
    reads = start_reads(app.config, sources, hold=hold)
    try:
        from .sync import pull as do_pull

        results = do_pull(
            app.config,
            app.store,
            sources,
            skip_invalid=skip_invalid,
            full=full,
            progress=app.progress(),
            reads=reads,
        )
    finally:
        reads.release()
        app.done_progress()
    if as_json:
        _print_json([r.as_dict() for r in results])
        return
    for r in results:
        if r.unchanged_since:
            app.say(
                f"Pulled {r.source} ({Path(r.location).name}): unchanged since the last pull "
                f"({r.unchanged_since:%Y-%m-%d %H:%M} UTC); not read again"
            )
            continue
        parts = []
        for name, c in r.tables.items():
            bits = [
                f"{n:,} {k}"
                for k, n in (("new", c.inserted), ("updated", c.updated), ("deleted", c.deleted))
                if n
            ]
            parts.append(f"{name}: {', '.join(bits) if bits else 'no change'}")
        app.say(f"Pulled {r.source} ({Path(r.location).name}): " + "; ".join(parts))
        for line in r.rekeyed:
            app.say(f"  {line}", fg="yellow")
        for name, c in r.tables.items():
            if c.kept:
                app.say(
                    f"  {name}: {c.kept} records gone from the sheet kept, because rows were skipped",
                    fg="yellow",
                )
        _print_errors(r.skipped, f"Skipped rows in {r.source}")


@cli.command()
@sources_argument
@json_option
@pass_app
def validate(app: App, sources: tuple[str, ...], as_json: bool) -> None:
    """Check sources against the model's rules; write nothing.

    Exit code 2 when any cell is wrong, each problem listed by sheet and cell.
    """
    from .reading import validate as do_validate

    try:
        reads = do_validate(app.config, sources, progress=app.progress())
    finally:
        app.done_progress()
    problems = [e for r in reads for e in r.errors]
    if as_json:
        _print_json(
            [
                {
                    "source": r.source.name,
                    "rows": {n: len(t.records) for n, t in r.tables.items()},
                    "errors": [e.as_dict() for e in r.errors],
                }
                for r in reads
            ]
        )
    else:
        for r in reads:
            counts = ", ".join(f"{len(t.records)} {n}" for n, t in r.tables.items())
            mark = "ok" if not r.errors else f"{len(r.errors)} problems"
            app.say(f"{r.source.name}: {counts} — {mark}")
            _print_errors(r.errors, f"Problems in {r.source.name}")
    if problems:
        sys.exit(2)


def _money(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def _table(rows: list[list[str]], headers: list[str], right: set[int]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [fmt(headers), fmt(["─" * w for w in widths]), *(fmt(r) for r in rows)]


@cli.command()
@as_of_option
@json_option
@pass_app
def status(app: App, as_of: Any, as_json: bool) -> None:
    """The plan at a glance: milestones, quota attainment, budget."""
    from .summary import summarize

    day = _day(as_of)
    progress = app.progress()
    try:
        if progress:
            progress("reading the model")
        s = summarize(
            app.store.all_records(), day, app.config.report.fiscal_year_start_month, app.config.rag
        )
    finally:
        app.done_progress()
    if as_json:
        _print_json(s)
        return
    if not any(s["counts"].values()):
        click.echo("The model is empty: run `sheetsync pull` first.")
        return
    out = [click.style(f"Plan status as of {day:%d %b %Y}", bold=True), ""]
    out.append(click.style("Projects", bold=True))
    out += _table(
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
    q = s["quota"]
    out += [
        "",
        click.style(
            f"Quota attainment, {s['period']}: {_pct(q['attainment'])} "
            f"({_money(q['closed'])} of {_money(q['quota'])})",
            bold=True,
        ),
    ]
    out += _table(
        [
            [
                t["team"],
                str(t["reps"]),
                _money(t["quota"]),
                _money(t["closed"]),
                _pct(t["attainment"]),
            ]
            for t in s["teams"]
        ],
        ["Team", "Reps", "Quota", "Closed", "Attainment"],
        {1, 2, 3, 4},
    )
    out.append("")
    out += _table(
        [
            [
                r["rep"],
                r["team"] or "",
                _money(r["quota"]),
                _money(r["closed"]),
                _pct(r["attainment"]),
            ]
            for r in s["reps"]
        ],
        ["Rep", "Team", "Quota", "Closed", "Attainment"],
        {2, 3, 4},
    )
    if s["budget"]:
        out += ["", click.style("Budget", bold=True)]
        out += _table(
            [
                [
                    b["project"],
                    _money(b["planned"]),
                    _money(b["spent"]),
                    _pct(b["spent"] / b["planned"] if b["planned"] else None),
                    _money(b["revenue"]),
                ]
                for b in s["budget"]
            ],
            ["Project", "Planned", "Spent", "Used", "Attributed revenue"],
            {1, 2, 3, 4},
        )
    click.echo("\n".join(out))


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write; for csv, one file per table is written beside it (NAME-TABLE.csv).",
)
@click.option("--table", "tables", multiple=True, help="Only these tables (repeatable).")
@pass_app
def export(app: App, fmt: str, output: Path, tables: tuple[str, ...]) -> None:
    """Dump every record of every table as JSON or CSV.

    \b
    Example:
        sheetsync export --format csv -o model.csv
    """
    from .export import export_csv, export_json

    progress = app.progress()
    try:
        if progress:
            progress(f"writing {output}")
        written = (export_json if fmt == "json" else export_csv)(app.store, output, tables)
    finally:
        app.done_progress()
    for path, n in written:
        app.say(f"Wrote {path} ({n} records)")


def write_options(f: Callable) -> Callable:
    """--dry-run, --force, --delete-rows, --json: shared by push and sync."""
    f = json_option(f)
    f = click.option(
        "--delete-rows",
        is_flag=True,
        help="Clear sheet rows whose records were deleted from the model (default: report them).",
    )(f)
    f = click.option(
        "--force",
        is_flag=True,
        help="Write even if the workbook changed since it was read or is open in Excel.",
    )(f)
    return click.option("--dry-run", is_flag=True, help="Print the plan; write nothing anywhere.")(
        f
    )


def _show_plans(app: App, plans: list, as_json: bool, verb: str, dry_run: bool) -> None:
    if as_json:
        _print_json([p.as_dict() for p in plans])
        return
    for p in plans:
        lines = p.lines()
        head = f"{p.source.name} ({Path(p.source.location).name})"
        if not lines:
            click.echo(f"{head}: already in sync, nothing to do.")
            continue
        if dry_run:
            click.echo(f"{head}: would {verb}:")
        elif p.written:
            click.echo(
                f"{head}: {verb} done"
                + (f" (previous version kept in {p.backup})" if p.backup else "")
                + ":"
            )
        else:
            click.echo(f"{head}: {verb} done, model updated:")
        for line in lines:
            click.echo(f"  {line}")


@cli.command()
@sources_argument
@write_options
@pass_app
def push(
    app: App, sources: tuple[str, ...], dry_run: bool, force: bool, delete_rows: bool, as_json: bool
) -> None:
    """Write the model's values into workbooks: only cells that differ.

    Rows are matched by key, never by position. New records append rows that
    take the formatting of the row above; formula cells are never overwritten;
    every other part of the workbook is kept byte for byte. Refuses when the
    workbook changed since sheetsync last read it (use `sync`), or when Excel
    has it open.

    \b
    Example:
        sheetsync push --dry-run
        sheetsync push plan
    """
    from .sync import push as do_push

    try:
        plans = do_push(
            app.config,
            app.store,
            sources,
            dry_run=dry_run,
            force=force,
            delete_rows=delete_rows,
            progress=app.progress(),
        )
    finally:
        app.done_progress()
    _show_plans(app, plans, as_json, "push", dry_run)


@cli.command()
@sources_argument
@click.option(
    "--prefer",
    type=click.Choice(["sheet", "model"]),
    help="Settle conflicts in favour of one side.",
)
@write_options
@pass_app
def sync(
    app: App,
    sources: tuple[str, ...],
    prefer: str | None,
    dry_run: bool,
    force: bool,
    delete_rows: bool,
    as_json: bool,
) -> None:
    """Three-way sync: sheet, model and the last sync decide where each change goes.

    A field changed on one side only flows to the other. Changed on both sides
    to different values, it is a conflict: reported by cell, nothing written,
    exit code 3, unless --prefer settles it. With several sources, a change in
    one reaches the others.

    \b
    Example:
        sheetsync sync --dry-run
        sheetsync sync --prefer sheet
    """
    from .sync import sync as do_sync

    try:
        plans = do_sync(
            app.config,
            app.store,
            sources,
            prefer=prefer,
            dry_run=dry_run,
            force=force,
            delete_rows=delete_rows,
            progress=app.progress(),
        )
    finally:
        app.done_progress()
    _show_plans(app, plans, as_json, "sync", dry_run)


@cli.command()
@sources_argument
@json_option
@pass_app
def diff(app: App, sources: tuple[str, ...], as_json: bool) -> None:
    """Show, cell by cell, what `sync` would do; write nothing.

    \b
    Example:
        sheetsync diff
        sheetsync diff --json
    """
    from .sync import diff as do_diff

    try:
        plans = do_diff(app.config, app.store, sources, progress=app.progress())
    finally:
        app.done_progress()
    _show_plans(app, plans, as_json, "sync", True)
    if any(p.conflicts for p in plans):
        sys.exit(3)


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
@pass_app
def report(
    app: App,
    as_of: Any,
    name: str,
    output: Path | None,
    as_html: bool,
    template_dirs: tuple[Path, ...],
    teams: tuple[str, ...],
) -> None:
    """Render a status report from the model as a PDF (or HTML).

    \b
    Example:
        sheetsync report --report executive -o status.pdf
        sheetsync report --as-of 2026-11-30 --html
    """
    from .report import render_report

    day = _day(as_of)
    dirs = list(template_dirs)
    if app.config.report.template_dir:
        dirs.append(app.config.report.template_dir)
    out = output or Path(f"{name}-{day.isoformat()}.{'html' if as_html else 'pdf'}")
    show = app.progress()
    try:
        data = render_report(
            app.store,
            app.config,
            name=name,
            as_of=day,
            fmt="html" if as_html else "pdf",
            template_dirs=dirs,
            teams=teams,
            progress=_prefixed(show, f"{name} report: "),
        )
        if show:
            show(f"writing {out}")
        out.write_bytes(data)
    finally:
        app.done_progress()
    app.say(f"Wrote {out} ({len(data) / 1024:.0f} KiB)")


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="sheetsync")
    finally:
        # The process ends here: spare the interpreter's final garbage
        # collection over everything still loaded (half a second after a
        # large pull). The model's connections were closed with the context.
        gc.freeze()


__all__ = ["cli", "main"]


from . import cli_mail  # noqa: E402  (send, history, run weekly)

cli_mail.register(cli)

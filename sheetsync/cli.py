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
        from .terminal import color_wanted

        color = None if color_wanted() else False  # NO_COLOR, TERM=dumb: plain text
        if color is False:
            extra["color"] = False
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except SheetsyncError as e:
            click.secho(f"Error: {e}", err=True, fg="red", color=color)
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

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _accept_global_options(cmd)
        super().add_command(cmd, name)


class App:
    """What the commands share: options, and the config and store, opened lazily."""

    def __init__(self, config_path: str | None, db: str | None, quiet: bool) -> None:
        self.config_path = config_path
        self.db = db
        self.quiet = quiet
        self._config = None
        self._store = None
        self._status: Any = None
        self._today: date | None = None

    @property
    def config(self):
        if self._config is None:
            from .config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def store(self):
        if self._store is None:
            if self.db:  # no config needed
                from .config import db_url
                from .store import Store

                self._store = Store(db_url(self.db, Path.cwd()))
            else:
                self._store = self.config.open_store()
        return self._store

    @property
    def today(self) -> date:
        """Today in the report's time zone: the one place sheetsync reads the
        wall clock for a day (record and ledger timestamps aside). Decided once
        per command and passed down; the library takes days as arguments."""
        if self._today is None:
            from datetime import datetime

            from .plan import report_zone

            self._today = datetime.now(report_zone(self.config)).date()
        return self._today

    def day(self, as_of: date | None) -> date:
        """``--as-of``, or today: what ``status`` and ``report`` describe."""
        return as_of if as_of is not None else self.today

    def week_end(self, as_of: date | None) -> date:
        """``--as-of``, or the last day of the last complete reporting week: what
        ``send`` and ``run weekly`` describe, so a Monday run reports last week."""
        if as_of is not None:
            return as_of
        from .periods import last_week_end

        return last_week_end(self.today, self.config.report.week_ends)

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

    def note(self, message: str) -> None:
        """A caveat about the results, on stderr (kept with --quiet: it qualifies them)."""
        self.done_progress()
        click.secho(f"Note: {message}", err=True, fg="yellow")


pass_app = click.make_pass_decorator(App)

CONFIG_HELP = "Config file (default ./sheetsync.toml)."
DB_HELP = (
    "The model: a database URL (postgresql://…, sqlite:///…) or a SQLite file path "
    "(default .sheetsync/model.db beside the config)."
)
QUIET_HELP = "No progress or chatter; errors still go to stderr."


def _late_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the command: it wins over the one before."""
    app = ctx.find_object(App)
    if app is not None and value not in (None, False):
        setattr(app, param.name.removeprefix("late_"), value)  # type: ignore[union-attr]


def _accept_global_options(cmd: click.Command) -> None:
    """Let --config, --db and --quiet also follow the command's name
    (``sheetsync status --config x.toml``), in every subcommand."""
    have = {p.name for p in cmd.params}
    for decls, extra in (
        (["--config", "-c", "late_config_path"], {"help": CONFIG_HELP, "metavar": "FILE"}),
        (["--db", "late_db"], {"help": DB_HELP, "metavar": "URL|PATH"}),
        (["--quiet", "-q", "late_quiet"], {"help": QUIET_HELP, "is_flag": True}),
    ):
        if decls[-1] not in have:
            cmd.params.append(
                click.Option(decls, expose_value=False, callback=_late_global, **extra)
            )
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _accept_global_options(sub)


def _complete_sources(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of source names, from the config the command line names."""
    from .config import load_config

    try:
        names = load_config(ctx.find_root().params.get("config_path")).sources
    except Exception:  # no or a broken config: nothing to offer
        return []
    return [n for n in names if n.startswith(incomplete)]


def sources_argument(f: Callable) -> Callable:
    return click.argument(
        "sources", nargs=-1, metavar="[SOURCE]...", shell_complete=_complete_sources
    )(f)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(f)


class DayType(click.ParamType):
    """A day as cells accept it: 2026-11-30, 30 Nov 2026, Nov 30, 2026."""

    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        if isinstance(value, date):
            return value
        if len(str(value)) == 10:  # 2026-11-30 without loading the cell parser
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                pass
        from .mapping import Invalid, to_date

        try:
            day = to_date(str(value))
        except Invalid as e:
            self.fail(str(e), param, ctx)
        if day is None:
            self.fail("a day is needed (e.g. 2026-11-30 or 30 Nov 2026)", param, ctx)
        return day


_AS_OF = (
    "The plan as the model knew it at the end of this day (2026-11-30, 30 Nov 2026, Nov 30, 2026)"
)

#: --as-of for status and report: default today.
as_of_option = click.option(
    "--as-of", type=DayType(), default=None, help=f"{_AS_OF}; default today."
)
#: --as-of for send and run weekly: default the end of the last complete week.
week_as_of_option = click.option(
    "--as-of",
    type=DayType(),
    default=None,
    help=f"{_AS_OF}; default the last day of the last complete reporting week "
    "([report] week_ends, Sunday unless set), so a Monday run reports last week.",
)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


ENVIRONMENT_HELP = """\b
Environment:
  SHEETSYNC_CONFIG  the config file, as --config
  SHEETSYNC_DB      the model, as --db
  NO_COLOR          set: no colours; TERM=dumb: no colours and no progress line

\b
Shell completion (put the line for your shell in its start-up file):
  bash  eval "$(_SHEETSYNC_COMPLETE=bash_source sheetsync)"     # ~/.bashrc
  zsh   eval "$(_SHEETSYNC_COMPLETE=zsh_source sheetsync)"      # ~/.zshrc
  fish  _SHEETSYNC_COMPLETE=fish_source sheetsync | source      # ~/.config/fish/config.fish
"""


@click.group(
    cls=SheetsyncGroup,
    epilog=f"{EXIT_CODES_HELP}\n\n{ENVIRONMENT_HELP}",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="SHEETSYNC_CONFIG",
    show_envvar=True,
    metavar="FILE",
    help=CONFIG_HELP,
)
@click.option("--db", envvar="SHEETSYNC_DB", show_envvar=True, metavar="URL|PATH", help=DB_HELP)
@click.option("--quiet", "-q", is_flag=True, help=QUIET_HELP)
@click.version_option(None, "-V", "--version", package_name="sheetsync")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db: str | None, quiet: bool) -> None:
    """Keep a sales plan in sync between spreadsheets and a model, and report on it.

    The options below may also follow the command (`sheetsync status --config
    plan.toml`).

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
@click.option("--overwrite", is_flag=True, help="Replace the config file if it exists.")
@pass_app
def init(
    app: App,
    workbook: str,
    output: Path,
    credentials: str | None,
    api_url: str | None,
    overwrite: bool,
) -> None:
    """Guess a config for a workbook or Google Sheet sheetsync has never seen.

    Looks at every sheet's first rows, decides which hold milestones, quotas,
    budget and projects and which header means which field, writes a
    commented sheetsync.toml, and prints what it guessed and what it could not.
    WORKBOOK is an .xlsx file, a Google Sheets URL or key, or a mind map
    (.xmind, .mm or .opml: which table each level fills, which note line is which field).

    \b
    Example:
        sheetsync init "Sales plan 2026.xlsx" -o sheetsync.toml
        sheetsync init https://docs.google.com/spreadsheets/d/KEY/edit --credentials robot.json
        sheetsync init goals.xmind
    """
    from .config import SourceConfig
    from .inspect import describe, inspect_source, render_config, source_name

    if output.exists() and not overwrite:
        raise UsageError(
            f"{output} exists already",
            hint="use --overwrite to replace it, or -o to pick another name",
        )
    path = Path(workbook)
    google = not path.exists() and (
        "docs.google.com" in workbook or (len(workbook) > 30 and "." not in workbook)
    )
    if google:
        source = SourceConfig(
            source_name(None),
            "gsheets",
            {},
            spreadsheet=workbook,
            credentials=Path(credentials).resolve() if credentials else None,
            api_url=api_url,
        )
    elif path.suffix.lower() in (".xmind", ".mm", ".opml"):
        source = SourceConfig(source_name(path), "mindmap", {}, path=path.resolve())
    else:
        source = SourceConfig(source_name(path), "xlsx", {}, path=path.resolve())
    progress = app.progress()
    try:
        if progress:
            where = "the Google Sheet" if google else path.name
            progress(f"reading {where}")
        guess = inspect_source(source)
    finally:
        app.done_progress()
    output.write_text(render_config(guess, output.resolve().parent), encoding="utf-8")
    if not guess.tables:
        from .errors import WorkbookError

        seen = "\n".join(f"  {s!r}: {why}" for s, why in guess.seen.items())
        raise WorkbookError(
            f"{Path(source.location).name}: no sheet holds a table sheetsync recognises; "
            f"wrote a template to {output}. What each sheet starts with:\n{seen}",
            hint=f"in {output}, uncomment a table's section and set its sheet and headers, "
            "then run `sheetsync validate`",
        )
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


def rebind_option(f: Callable) -> Callable:
    """--rebind: accept that a source's file moved (pull, push, sync, diff)."""
    return click.option(
        "--rebind",
        is_flag=True,
        help="The source's workbook moved (or its spreadsheet changed): sync it from the "
        "configured one from now on. Not for a second copy: give that its own source name.",
    )(f)


def _print_errors(errors: list, label: str) -> None:
    from .errors import format_cell_errors

    if errors:
        click.secho(f"{label} ({len(errors)}):", err=True, fg="yellow")
        click.echo(format_cell_errors(errors), err=True)


@cli.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]... [FILE]", shell_complete=_complete_sources)
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid rows; report the skipped ones."
)
@click.option(
    "--full", is_flag=True, help="Read and compare every source, even one unchanged since."
)
@click.option(
    "--as-of",
    type=DayType(),
    default=None,
    help="Import FILE, a dated copy of the workbook, as the plan at the end of this day "
    "(oldest copies first).",
)
@rebind_option
@json_option
@pass_app
def pull(
    app: App,
    sources: tuple[str, ...],
    skip_invalid: bool,
    rebind: bool,
    full: bool,
    as_of: date | None,
    as_json: bool,
) -> None:
    """Read sources (default: all) into the model, all or nothing.

    Every cell is coerced and checked first; with any problem nothing is
    written and each problem is listed by sheet and cell (exit code 2).
    A source whose file (or Google revision) and mapping are the same as at
    its last pull, with nothing changed in the model since, is not read
    again: the pull only records that it looked (--full reads it anyway).
    With --as-of DAY FILE, FILE (an old copy or backup of the workbook) is read
    in place of the source's workbook and dated the end of DAY, so reports see
    history; refused when the model already changed after DAY.

    \b
    Examples:
        sheetsync pull plan
        sheetsync pull --as-of 2026-11-23 "sales_plan 23 Nov.xlsx"
    """
    from .reading import last_pulled, start_reads

    config, at = app.config, None
    if as_of is not None:
        *names, file = sources or ("",)
        if not file.lower().endswith((".xlsx", ".xlsm")):
            raise UsageError("--as-of needs the dated copy to import: pull --as-of DAY FILE")
        from .plan import end_of_day, report_zone

        config, name = config.with_copy(Path(file), tuple(names))
        sources, at = (name,), end_of_day(as_of, report_zone(config))
    # Parsing runs while the database code loads, unless the model's last
    # pull of the source read these very bytes (the pull then decides).
    hold = None if full else last_pulled(app.db or config.default_db_url())
    reads = start_reads(config, sources, hold=hold)
    try:
        from .pull import pull as do_pull

        results = do_pull(
            config,
            app.store,
            sources,
            skip_invalid=skip_invalid,
            rebind=rebind,
            full=full,
            progress=app.progress(),
            reads=reads,
            at=at,
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
    """The plan at a glance: milestones, quota attainment, budget.

    The figures are the ones the reports and the email print: the plan as the
    model knew it at the end of --as-of (default today), year to date through
    the last period whose actuals are entered.
    """
    from .formatting import Formatter
    from .plan import plan_as_of
    from .summary import summarize

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
        _print_json(s)
        return
    f = Formatter.for_config(app.config)
    money, pct = f.money, f.pct
    out = [click.style(f"Plan status as of {f.day(day)}", bold=True)]
    if s["coverage"]:
        out.append(s["coverage"])
    out += ["", click.style("Projects", bold=True)]
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
    if q is not None:
        through = s["through"] or "no actuals entered yet"
        proj = (
            f" · projected {money(q['projection'])} of {money(q['period_quota'])} "
            f"by {f.day(date.fromisoformat(q['end']))}"
            if q["projection"] is not None
            else ""
        )
        out += [
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

        out += _table(
            [[t["team"], str(t["reps"]), *cells(t)] for t in s["teams"]],
            ["Team", "Reps", *head],
            {1, 2, 3, 4, 5, 6},
        )
        out.append("")
        out += _table(
            [[r["rep"], r["team"] or "", *cells(r)] for r in s["reps"]],
            ["Rep", "Team", *head],
            {2, 3, 4, 5, 6},
        )
    if s["budget"]:
        out += ["", click.style("Budget", bold=True)]
        out += _table(
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
    notes = [n for n in s["notes"] if n != plan.note]
    if notes:
        out += ["", *(f"Note: {n}" for n in notes)]
    click.echo("\n".join(out))


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
    from .export import MAP_FORMATS, export_csv, export_json, export_mindmap

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
            from .plan import plan_as_of

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


def write_options(f: Callable) -> Callable:
    """--dry-run, --force, --delete-rows, --rebind, --json: shared by push and sync."""
    f = json_option(f)
    f = rebind_option(f)
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
        for warning in p.warnings:
            click.secho(f"Warning: {head}: {warning}", err=True, fg="yellow")
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
    app: App,
    sources: tuple[str, ...],
    dry_run: bool,
    force: bool,
    delete_rows: bool,
    rebind: bool,
    as_json: bool,
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
            rebind=rebind,
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
    rebind: bool,
    as_json: bool,
) -> None:
    """Three-way sync: sheet, model and the last sync decide where each change goes.

    A field changed on one side only flows to the other. Changed on both sides
    to different values, it is a conflict: reported by cell, nothing written,
    exit code 3, unless --prefer settles it (--dry-run too exits 3 on one).
    With several sources, a change in one reaches the others.

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
            rebind=rebind,
            progress=app.progress(),
        )
    finally:
        app.done_progress()
    _show_plans(app, plans, as_json, "sync", dry_run)
    if dry_run:
        _exit_on_conflicts(plans)


def _exit_on_conflicts(plans: list) -> None:
    """A plan that lists conflicts ends with exit code 3, as a real sync would."""
    if any(p.conflicts for p in plans):
        sys.exit(3)


@cli.command()
@sources_argument
@rebind_option
@json_option
@pass_app
def diff(app: App, sources: tuple[str, ...], rebind: bool, as_json: bool) -> None:
    """Show, cell by cell, what `sync` would do; write nothing.

    \b
    Example:
        sheetsync diff
        sheetsync diff --json
    """
    from .sync import diff as do_diff

    try:
        plans = do_diff(app.config, app.store, sources, rebind=rebind, progress=app.progress())
    finally:
        app.done_progress()
    _show_plans(app, plans, as_json, "sync", True)
    _exit_on_conflicts(plans)


def _table_name(app: App, table: str) -> str:
    from .model import TABLES

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
    from .plan import known_at, report_zone

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
    from .history import record_log, stored_key
    from .merge import show
    from .provenance import Provenance

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
        _print_json([e.as_dict() for e in entries])
        return
    if not entries:
        app.say("No changes.")
        return
    from .store import show_key

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
    from .history import changes_between
    from .merge import show

    result = changes_between(app.store, _since(app, since), _since(app, until))
    if as_json:
        _print_json(
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
    from .explain import explain as explain_figure
    from .plan import plan_as_of

    day = app.day(as_of)
    plan = plan_as_of(app.store, app.config, day)
    e = explain_figure(
        app.store, plan, app.config, metric.strip().lower(), team=team, rep=rep, project=project
    )
    if plan.note:
        app.note(plan.note)
    if as_json:
        _print_json(e.as_dict())
        return
    click.echo("\n".join(e.lines()))


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
    from .plan import plan_as_of

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
        _print_json(
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
            _table(
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
    from .plan import plan_as_of
    from .report import render_context, report_context

    day = app.day(as_of)
    dirs = list(template_dirs)
    if app.config.report.template_dir:
        dirs.append(app.config.report.template_dir)
    out = output or Path(f"{name}-{day.isoformat()}.{'html' if as_html else 'pdf'}")
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
        out.write_bytes(data)
    finally:
        app.done_progress()
    if plan.note:
        app.note(plan.note)
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

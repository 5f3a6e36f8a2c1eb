"""The ``sheetsync`` group: its options, what commands share, and the one error edge.

:class:`SheetsyncGroup` is the only place that turns a SheetsyncError into a
message on stderr and its exit code, and the only place that calls sys.exit.
The commands (in ``sync_cmds``, ``read_cmds``, ``report_cmds`` and
``mail_cmds``) are added to :data:`cli` as their modules load.
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

from ..errors import EXIT_CODES_HELP, AlreadyReported, SheetsyncError
from ..progress import Progress


class SheetsyncGroup(click.Group):
    """A Click group that maps sheetsync's error family to exit codes."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        from .terminal import color_wanted

        color = None if color_wanted() else False  # NO_COLOR, TERM=dumb: plain text
        if color is False:
            extra["color"] = False
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except AlreadyReported as e:  # the command has shown what went wrong
            sys.exit(e.exit_code)
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
            from ..config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def store(self):
        if self._store is None:
            from ..store import Store, open_store

            if self.db:  # no config needed
                from ..config import db_url

                self._store = Store(db_url(self.db, Path.cwd()))
            else:
                self._store = open_store(self.config)
        return self._store

    @property
    def today(self) -> date:
        """Today in the report's time zone: the one place sheetsync reads the
        wall clock for a day (record and ledger timestamps aside). Decided once
        per command and passed down; the library takes days as arguments."""
        if self._today is None:
            from datetime import datetime

            from ..plan import report_zone

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
        from ..periods import last_week_end

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


def complete_sources(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of source names, from the config the command line names."""
    from ..config import load_config

    try:
        names = load_config(ctx.find_root().params.get("config_path")).sources
    except Exception:  # no or a broken config: nothing to offer
        return []
    return [n for n in names if n.startswith(incomplete)]


def sources_argument(f: Callable) -> Callable:
    return click.argument(
        "sources", nargs=-1, metavar="[SOURCE]...", shell_complete=complete_sources
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
        from ..mapping import Invalid, to_date

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


def print_json(data: Any) -> None:
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


def text_table(rows: list[list[str]], headers: list[str], right: set[int]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [fmt(headers), fmt(["─" * w for w in widths]), *(fmt(r) for r in rows)]


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="sheetsync")
    finally:
        # The process ends here: spare the interpreter's final garbage
        # collection over everything still loaded (half a second after a
        # large pull). The model's connections were closed with the context.
        gc.freeze()

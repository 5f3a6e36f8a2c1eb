"""The commands that move data between the sources and the model: init, pull, validate, push, sync, diff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import click

from .. import atomic
from ..errors import ConflictsFound, InvalidCellsFound, UsageError
from ..model import counted
from .app import (
    App,
    DayType,
    cli,
    complete_sources,
    json_option,
    pass_app,
    print_json,
    sources_argument,
)


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
    from ..config import SourceConfig
    from ..inspect import describe, inspect_source, render_config, source_name

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
    atomic.write_bytes(output, render_config(guess, output.resolve().parent).encode("utf-8"))
    if not guess.tables:
        from ..errors import WorkbookError

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


def rebind_option(f: Callable) -> Callable:
    """--rebind: accept that a source's file moved (pull, push, sync, diff)."""
    return click.option(
        "--rebind",
        is_flag=True,
        help="The source's workbook moved (or its spreadsheet changed): sync it from the "
        "configured one from now on. Not for a second copy: give that its own source name.",
    )(f)


def _print_errors(errors: list, label: str) -> None:
    from ..errors import format_cell_errors

    if errors:
        click.secho(f"{label} ({len(errors)}):", err=True, fg="yellow")
        click.echo(format_cell_errors(errors), err=True)


@cli.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]... [FILE]", shell_complete=complete_sources)
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
    from ..reading import last_pulled, start_reads

    config, at = app.config, None
    if as_of is not None:
        *names, file = sources or ("",)
        if not file.lower().endswith((".xlsx", ".xlsm")):
            raise UsageError("--as-of needs the dated copy to import: pull --as-of DAY FILE")
        from ..plan import end_of_day, report_zone

        config, name = config.with_copy(Path(file), tuple(names))
        sources, at = (name,), end_of_day(as_of, report_zone(config))
    # Parsing runs while the database code loads, unless the model's last
    # pull of the source read these very bytes (the pull then decides).
    hold = None if full else last_pulled(app.db or config.default_db_url())
    reads = start_reads(config, sources, hold=hold)
    try:
        from ..pull import pull as do_pull

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
        print_json([r.as_dict() for r in results])
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
    from ..reading import validate as do_validate

    try:
        reads = do_validate(app.config, sources, progress=app.progress())
    finally:
        app.done_progress()
    problems = [e for r in reads for e in r.errors]
    if as_json:
        print_json(
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
            counts = ", ".join(counted(len(t.records), n) for n, t in r.tables.items())
            mark = "ok" if not r.errors else f"{len(r.errors)} problems"
            app.say(f"{r.source.name}: {counts} — {mark}")
            _print_errors(r.errors, f"Problems in {r.source.name}")
    if problems:
        raise InvalidCellsFound(problems)


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
        print_json([p.as_dict() for p in plans])
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
    from ..sync import push as do_push

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
    from ..sync import sync as do_sync

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
    conflicts = sum(len(p.conflicts) for p in plans)
    if conflicts:
        raise ConflictsFound(f"{conflicts} conflict{'s' if conflicts != 1 else ''} (listed above)")


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
    from ..sync import diff as do_diff

    try:
        plans = do_diff(app.config, app.store, sources, rebind=rebind, progress=app.progress())
    finally:
        app.done_progress()
    _show_plans(app, plans, as_json, "sync", True)
    _exit_on_conflicts(plans)

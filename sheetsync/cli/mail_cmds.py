"""The mail commands: send, history and run weekly.

Thin Click wrappers over ``sheetsync.mail`` (its send loop and ledger) and
``sheetsync.pipeline``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .app import (
    App,
    SheetsyncGroup,
    cli,
    json_option,
    pass_app,
    print_json,
    text_table,
    week_as_of_option,
)

if TYPE_CHECKING:
    from ..mail.send import SendReport

_MARKS = {
    "sent": ("✓ sent", "green"),
    "failed": ("✗ failed", "red"),
    "skipped": ("· skipped", None),
    "in_flight": ("… in flight", "yellow"),
    "unknown": ("? unknown", "yellow"),
    "written": ("→ wrote", None),
}


def mail_options(f: Callable) -> Callable:
    """--group, --as-of, --dry-run, --outbox, --resend, --json: shared by send and run weekly."""
    for option in reversed(
        [
            click.option(
                "--group",
                "-g",
                "groups",
                multiple=True,
                metavar="NAME",
                help="Only this recipient group (repeatable); default every group.",
            ),
            week_as_of_option,
            click.option(
                "--dry-run",
                is_flag=True,
                help="Write the .eml files to --outbox instead of sending; record nothing.",
            ),
            click.option(
                "--outbox",
                type=click.Path(file_okay=False, path_type=Path),
                help="Folder for the .eml files of a dry run (implies --dry-run; default ./outbox).",
            ),
            click.option(
                "--resend",
                is_flag=True,
                help="Send again what was sent before, or what a crashed run left in doubt.",
            ),
            json_option,
        ]
    ):
        f = option(f)
    return f


def _dry(dry_run: bool, outbox: Path | None, resend: bool) -> tuple[bool, Path | None]:
    from ..errors import UsageError

    dry = dry_run or outbox is not None
    if dry and resend:
        raise UsageError("--resend and --dry-run do not go together: a dry run sends nothing")
    return dry, (outbox or Path("outbox")) if dry else None


def _show(app: App, report: SendReport, period: str) -> None:
    for o in report.outcomes:
        mark, color = _MARKS[o.status]
        who = f"{o.pack.recipient} ({o.pack.group})"
        if o.status == "written":
            line = f"{mark:<12} {o.path}  {who}: {o.detail}"
        else:
            line = f"{mark:<12} {who}" + (f": {o.detail}" if o.detail else "")
        if o.status in ("failed", "unknown"):
            click.secho(line, fg=color, err=True)
        else:
            app.say(line, fg=color)
    n = len(report.outcomes)
    if report.dry_run:
        app.say(
            f"Dry run: wrote {n} message{'s' if n != 1 else ''} for {period}; nothing was sent."
        )
        return
    sent, skipped = len(report.sent), len(report.skipped)
    if n and skipped == n:
        app.say(f"Nothing to send: all {n} messages for {period} were sent before.", bold=True)
    elif report.ok:
        extra = f" ({skipped} sent before)" if skipped else ""
        app.say(f"Sent {sent} of {n} messages for {period}{extra}.", bold=True)
    else:
        app.say(f"Sent {sent} of {n} messages for {period}.", bold=True)


def _period(as_of: date) -> str:
    from ..mail.message import period_key

    return period_key(as_of)


@cli.command()
@mail_options
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDRESS",
    help="Only this recipient of the selected groups (repeatable).",
)
@pass_app
def send(
    app: App,
    to: tuple[str, ...],
    groups: tuple[str, ...],
    as_of: Any,
    dry_run: bool,
    outbox: Path | None,
    resend: bool,
    as_json: bool,
) -> None:
    """Email the status pack to each recipient group, exactly once per week.

    Each recipient gets one message: a short summary (headline KPIs and what
    needs attention) in HTML and text, the group's PDF reports for its teams,
    and the model as a workbook when the group asks for it. The SMTP password
    comes from the environment variable named by mail.password_env.

    A ledger in the model remembers what went to whom: running the command
    again sends only what has not arrived (a refused connection or a rejected
    recipient is retried; what was delivered is not). A message a crashed run
    left in doubt is reported, not resent, until --resend. Exit code 4 when a
    message failed or is in doubt.

    \b
    Example:
        sheetsync send --dry-run --outbox outbox/     # look at the .eml files first
        sheetsync send                                # every group, this week
        sheetsync send --resend --to cfo@example.com  # once more, on purpose
    """
    from ..mail.pack import build_all_packs, only_recipients
    from ..mail.send import send_packs, write_outbox
    from ..plan import plan_basis

    day = app.week_end(as_of)
    dry, box = _dry(dry_run, outbox, resend)
    if not dry:
        app.config.mail.require_server()  # before anything is rendered
    try:
        basis = plan_basis(app.store, app.config, day)
        if basis.note:
            app.note(basis.note)
        packs = build_all_packs(
            app.config, app.store, day, groups, progress=app.progress(), basis=basis
        )
        packs = only_recipients(packs, to)
        if dry:
            assert box is not None
            report = write_outbox(app.store, packs, box, progress=app.progress())
        else:
            report = send_packs(
                app.config, app.store, packs, resend=resend, progress=app.progress()
            )
    finally:
        app.done_progress()
    if as_json:
        print_json(report.as_dict())
    else:
        _show(app, report, _period(day))
    report.raise_for_failures()


@cli.command()
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only the week of this day (YYYY-MM-DD), the week `send --as-of` sends for; "
    "default every week.",
)
@click.option("--period", metavar="YYYY-Www", hidden=True, help="Only this ISO week.")
@click.option("--group", "-g", metavar="NAME", help="Only this recipient group.")
@click.option("--recipient", metavar="ADDRESS", help="Only this recipient.")
@click.option("--limit", "-n", type=int, default=50, show_default=True, help="At most this many.")
@json_option
@pass_app
def history(
    app: App,
    as_of: Any,
    period: str | None,
    group: str | None,
    recipient: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List the status packs sent, newest first, with their outcome.

    Outcome is sent, failed (the next send retries it), sending (a run is at
    it right now) or unknown (a run stopped mid-send: check, then --resend).

    \b
    Example:
        sheetsync history --as-of 2026-12-07
        sheetsync history --json | jq '.[] | select(.outcome != "sent")'
    """
    from ..errors import UsageError
    from ..mail.ledger import history as ledger_history

    if as_of is not None:
        week = _period(as_of.date())
        if period and period != week:
            raise UsageError(f"--as-of {as_of:%Y-%m-%d} is in {week}, not {period}")
        period = week

    rows = ledger_history(app.store, period=period, group=group, recipient=recipient, limit=limit)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    if not rows:
        click.echo("Nothing has been sent yet: see `sheetsync send --help`.")
        return

    def when(dt: Any) -> str:
        return dt.strftime("%Y-%m-%d %H:%M") if dt else ""

    table = [
        [
            when(r.last_attempt_at),
            r.period,
            r.group_name,
            r.recipient,
            r.outcome,
            str(r.attempts),
            (r.error or "")[:70] if r.outcome != "sent" else f"sent {when(r.sent_at)}",
        ]
        for r in rows
    ]
    out = text_table(
        table,
        ["Last attempt (UTC)", "Period", "Group", "Recipient", "Outcome", "Tries", "Detail"],
        {5},
    )
    click.echo("\n".join(out))


@cli.group(cls=SheetsyncGroup)
def run() -> None:
    """Run a whole job in one command (for cron or a systemd timer)."""


@run.command()
@mail_options
@pass_app
def weekly(
    app: App,
    groups: tuple[str, ...],
    as_of: Any,
    dry_run: bool,
    outbox: Path | None,
    resend: bool,
    as_json: bool,
) -> None:
    """Pull every source, render the reports and email the status packs.

    Stops before rendering when a pull finds a problem (exit code 2, each bad
    cell listed): executives never get a report built on a half-read plan.
    Safe to run again: what was delivered is not sent twice (see `send`).
    docs/scheduling.md has the crontab line and systemd units.

    \b
    Example:
        sheetsync run weekly --dry-run --outbox outbox/
        sheetsync --config /srv/plan/sheetsync.toml run weekly
    """
    from ..errors import ValidationError
    from ..pipeline import run_weekly

    day = app.week_end(as_of)
    dry, box = _dry(dry_run, outbox, resend)
    if not dry:
        app.config.mail.require_server()  # before the model is even opened
    try:
        result = run_weekly(
            app.config,
            app.store,
            day,
            groups=groups,
            dry_run=dry,
            outbox=box,
            resend=resend,
            progress=app.progress(),
        )
    except ValidationError:
        app.done_progress()
        click.secho(
            "Stopped: the pull found problems, so no report was rendered and nothing was sent.",
            err=True,
            fg="red",
        )
        raise
    finally:
        app.done_progress()
    if result.note:
        app.note(result.note)
    if as_json:
        print_json(result.as_dict())
    else:
        for p in result.pulls:
            changed = "changes" if p.changed else "no change"
            app.say(f"Pulled {p.source}: {changed}.")
        _show(app, result.report, _period(day))
    result.report.raise_for_failures()

"""The weekly run in one call: pull every source, render the reports, send the packs.

``run_weekly`` is what ``sheetsync run weekly`` (and the cron / systemd timer
of docs/scheduling.md) does. It is safe to run again: the pull is a no-op when
the sheets did not change, and the send ledger skips every pack already
delivered, so a second run after a failure sends only what is missing.

It stops before rendering when a pull finds a problem: executives never get a
report built on a half-read plan. The ValidationError propagates, listing every
bad cell, and nothing is written, rendered or sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .config import Config
from .errors import UsageError
from .mail.message import Pack
from .mail.pack import build_all_packs, select_groups
from .mail.send import SendReport, send_packs, write_outbox
from .plan import plan_basis
from .progress import Progress
from .pull import PullResult, pull
from .store import Store


@dataclass
class WeeklyRun:
    """What one weekly run did: the pulls, the packs built, and each pack's fate."""

    as_of: date
    pulls: list[PullResult] = field(default_factory=list)
    packs: list[Pack] = field(default_factory=list)
    report: SendReport = field(default_factory=SendReport)
    note: str | None = None  # the plan is the one first pulled (see sheetsync.plan)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "pulls": [p.as_dict() for p in self.pulls],
            **self.report.as_dict(),
        }


def run_weekly(
    config: Config,
    store: Store,
    as_of: date,
    *,
    groups: Sequence[str] = (),
    dry_run: bool = False,
    outbox: Path | None = None,
    resend: bool = False,
    progress: Progress | None = None,
) -> WeeklyRun:
    """Pull every source, then build and send (or, dry, write) every group's packs.

    Raises ValidationError from the pull (nothing rendered or sent), ConfigError
    for an unusable mail or report setup. Delivery failures do not raise: they
    are in ``result.report`` (call ``report.raise_for_failures()``).
    """
    select_groups(config, groups)  # a wrong group name fails before anything is read
    if dry_run and outbox is None:
        raise UsageError("a dry run needs an outbox folder", hint="pass --outbox DIR")
    if not dry_run:
        config.mail.require_server()  # before anything is pulled or rendered
    run = WeeklyRun(as_of)
    run.pulls = pull(config, store, progress=progress)
    basis = plan_basis(store, config, as_of)
    run.note = basis.note
    run.packs = build_all_packs(config, store, as_of, groups, progress=progress, basis=basis)
    if dry_run:
        assert outbox is not None
        run.report = write_outbox(store, run.packs, outbox, progress=progress)
    else:
        run.report = send_packs(config, store, run.packs, resend=resend, progress=progress)
    return run

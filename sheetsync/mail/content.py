"""What a pack holds: the group's PDF reports, the workbook and the summary, made once.

:class:`PackContents` is the rendering half of
:class:`sheetsync.mail.pack.PackBuilder`: the builder knows which pack is
which without rendering anything; this half makes a group's content on first
use, each (report, teams) PDF and each workbook once.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import date

from ..config import Config, RecipientGroup
from ..errors import ConfigError
from ..model import resolve_teams
from ..plan import PlanAsOf
from ..progress import Progress
from ..store import Store
from .message import PDF, XLSX, Attachment, PackContent, period_key, slug
from .summary import render_summary, summary_variables
from .workbook import scoped_records, workbook_bytes


def _known_reports() -> tuple[str, ...]:
    from ..report import REPORTS

    return tuple(REPORTS)


class PackContents:
    """The content of a builder's packs, rendered on first use and shared by
    every recipient of a group (and by threads: each renders once)."""

    config: Config
    store: Store
    as_of: date
    progress: Progress | None
    plan: PlanAsOf
    _pdfs: dict[tuple[str, tuple[str, ...]], bytes]
    _workbooks: dict[tuple[str, ...], bytes]
    _contents: dict[RecipientGroup, PackContent]
    _lock: threading.RLock

    def content(self, group: RecipientGroup) -> PackContent:
        """What ``group``'s recipients get, rendered on the first call."""
        with self._lock:
            if group not in self._contents:
                self._contents[group] = self._render(group)
            return self._contents[group]

    def pdf(self, name: str, teams: tuple[str, ...]) -> bytes:
        key = (name, teams)
        if key not in self._pdfs:
            from ..report import render_context, report_context

            label = f"{name} report" + (f" for {', '.join(teams)}" if teams else "")
            say = self.progress
            step = (
                (lambda message, done=None, total=None: say(f"{label}: {message}", done, total))
                if say
                else None
            )
            # the very report `sheetsync report` writes (appendix, baseline)
            ctx = report_context(self.store, self.plan, self.config, name=name, teams=teams)
            self._pdfs[key] = render_context(ctx, self.config, progress=step)
        return self._pdfs[key]

    def workbook(self, teams: tuple[str, ...] = ()) -> bytes:
        """The model as a workbook, as a group filtered to ``teams`` may see it."""
        if teams not in self._workbooks:
            self._workbooks[teams] = workbook_bytes(
                scoped_records(self.plan.current, teams), self.as_of
            )
        return self._workbooks[teams]

    def _render(self, group: RecipientGroup) -> PackContent:
        cfg = self.config
        known = _known_reports()
        unknown = [r for r in group.reports if r not in known]
        if unknown:
            raise ConfigError(
                f"mail.groups.{group.name}.reports: unknown report "
                f"{', '.join(repr(u) for u in unknown)}",
                hint=f"reports are: {', '.join(known)}",
            )
        if group.teams:  # as the model spells them; an unknown team is an error
            teams = resolve_teams(self.plan.current, group.teams, f"mail.groups.{group.name}.teams")
            group = dataclasses.replace(group, teams=teams)
        period = period_key(self.as_of)
        company = slug(cfg.report.company)
        suffix = f"-{slug('-'.join(group.teams))}" if group.teams else ""
        attachments = [
            Attachment(
                f"{company}-{name}-{period}{suffix}.pdf",
                PDF,
                self.pdf(name, group.teams),
                f"the {name} report (PDF)",
            )
            for name in group.reports
        ]
        if group.attach_workbook:
            attachments.append(
                Attachment(
                    f"{company}-model-{period}{suffix}.xlsx",
                    XLSX,
                    self.workbook(group.teams),
                    "the plan as a workbook"
                    + (f" ({', '.join(group.teams)} quotas only)" if group.teams else ""),
                )
            )
        variables = summary_variables(cfg, self.plan, group, attachments)
        subject = variables["email"]["subject"]
        text, html = render_summary(cfg, variables)
        return PackContent(subject, text, html, tuple(attachments))

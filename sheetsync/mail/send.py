"""The send loop: each pack the ledger says still needs sending goes out once, every outcome recorded.

:func:`send_packs` reads what the ledger already settles (sent, in flight, in
doubt) first and renders nothing for it; it renders the others before the first
message goes out, claims each in the ledger before sending it, and waits for
the packs another run is sending. :func:`write_outbox` is the dry run: .eml
files, nothing recorded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from .. import atomic
from ..config import Config
from ..errors import DeliveryError
from ..progress import Progress
from ..store import Store
from . import ledger
from .message import Pack, slug
from .smtp import FatalDeliveryError, InDoubtError, SmtpSession


@dataclass
class Outcome:
    """What happened to one pack in one run.

    ``status``: ``sent``; ``failed``; ``skipped`` (already sent: nothing to
    do); ``in_flight`` (another run is sending it and has not said how it
    went: not confirmed); ``unknown`` (in doubt: the server may have accepted
    it, or a run died mid-send: not resent without ``--resend``); ``written``
    (dry run).
    """

    pack: Pack
    status: str
    detail: str = ""
    path: Path | None = None
    subject: str | None = None  # as the ledger has it, for a pack this run did not render

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.pack.group,
            "recipient": self.pack.recipient,
            "period": self.pack.period,
            "subject": self.pack.subject if self.subject is None else self.subject,
            "pack_hash": self.pack.pack_hash,
            "status": self.status,
            "detail": self.detail,
            "path": str(self.path) if self.path else None,
        }


@dataclass
class SendReport:
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False
    fatal: DeliveryError | None = None  # the connection or login failure that stopped the run

    def _with(self, *statuses: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in statuses]

    @property
    def sent(self) -> list[Outcome]:
        return self._with("sent")

    @property
    def failed(self) -> list[Outcome]:
        return self._with("failed")

    @property
    def unknown(self) -> list[Outcome]:
        return self._with("unknown")

    @property
    def skipped(self) -> list[Outcome]:
        """Sent before (confirmed): nothing to do."""
        return self._with("skipped")

    @property
    def in_flight(self) -> list[Outcome]:
        return self._with("in_flight")

    @property
    def ok(self) -> bool:
        """Every message confirmed sent: nothing failed, in doubt or in flight."""
        return not self.failed and not self.unknown and not self.in_flight

    def raise_for_failures(self) -> None:
        """DeliveryError (exit 4) when a message failed or its fate is unknown."""
        if self.ok:
            return
        n = len(self.outcomes)
        parts, hints = [], []
        if self.failed:
            parts.append(f"{len(self.failed)} of {n} messages not delivered")
            if self.fatal is not None and self.fatal.hint:
                hints.append(self.fatal.hint)
            hints.append("run the same command again: only the missing messages are sent")
        if self.unknown:
            parts.append(f"{len(self.unknown)} in doubt (the server may have accepted them)")
            hints.append(
                "ask whether the messages in doubt arrived; to send them again use "
                "--resend --to ADDRESS"
            )
        if self.in_flight:
            parts.append(f"{len(self.in_flight)} still being sent by another run")
            hints.append(
                "run the same command again when that run has finished: it then says "
                "whether they went out"
            )
        why = f" ({self.fatal.message})" if self.fatal is not None else ""
        raise DeliveryError("; ".join(parts) + why, hint="; then ".join(hints))

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "outcomes": [o.as_dict() for o in self.outcomes]}


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "?"


def claim_pack(store: Store, pack: Pack, **options: Any) -> ledger.Claim:
    """The ledger's claim on sending ``pack`` (``options``: resend, owner, now)."""
    return ledger.claim(
        store,
        period=pack.period,
        group=pack.group,
        recipient=pack.recipient,
        pack_hash=pack.pack_hash,
        subject=pack.subject,
        message_id=pack.message_id,
        **options,
    )


def send_packs(
    config: Config,
    store: Store,
    packs: Sequence[Pack],
    *,
    resend: bool = False,
    progress: Progress | None = None,
) -> SendReport:
    """Send each pack that the ledger says still needs sending; record every outcome.

    Never raises for a delivery problem: each pack's fate is in the report
    (``report.raise_for_failures()`` turns failures into a DeliveryError). A
    refused connection or login fails every pack still waiting, without
    hammering the server once per message. A message whose reply never came
    after it was sent whole is in doubt (``unknown``). A pack another run is
    sending is waited for (up to ``mail.timeout``) and reported as that run
    left it: confirmed only once it is recorded as sent.

    What the ledger already settles (sent, in flight, in doubt) is read first
    and never rendered: when every pack was sent, nothing is rendered, claimed
    or connected to. The others are all rendered before the first message
    goes out, so a template error stops the run with nothing sent.
    """
    config.mail.require_server()
    report = SendReport()
    fatal: DeliveryError | None = None
    owner = ledger.this_run()
    settled = [_settled(store, pack, resend) for pack in packs]
    for pack, done in zip(packs, settled, strict=True):
        if done is None:
            pack.render()
    with SmtpSession(config) as session:
        for number, (pack, done) in enumerate(zip(packs, settled, strict=True), 1):
            if done is not None:
                report.outcomes.append(done)
                continue
            c = claim_pack(store, pack, resend=resend, owner=owner)
            if not c.claimed:
                report.outcomes.append(_not_claimed(pack, c.record, c.reason))
                continue
            if fatal is None:
                if progress:
                    progress(f"sending to {pack.recipient}", number, len(packs))
                try:
                    session.send(pack)
                except FatalDeliveryError as e:
                    fatal = e
                except InDoubtError as e:
                    ledger.mark_unknown(store, c.record.id, e.message)
                    report.outcomes.append(Outcome(pack, "unknown", e.message))
                    continue
                except DeliveryError as e:
                    ledger.mark_failed(store, c.record.id, e.message)
                    report.outcomes.append(Outcome(pack, "failed", e.message))
                    continue
                else:
                    ledger.mark_sent(store, c.record.id)
                    earlier = ledger.sent_before(store, pack.period, pack.recipient, pack.pack_hash)
                    note = (
                        f"updated pack: an earlier version went out {_when(earlier[-1].sent_at)}"
                        if earlier
                        else ""
                    )
                    report.outcomes.append(Outcome(pack, "sent", note))
                    continue
            assert fatal is not None
            report.fatal = fatal
            ledger.mark_failed(store, c.record.id, fatal.message)
            report.outcomes.append(Outcome(pack, "failed", fatal.message))
    _await_other_runs(store, report, config.mail.timeout)
    return report


def _settled(store: Store, pack: Pack, resend: bool) -> Outcome | None:
    """The pack's outcome when the ledger already decides it (sent before, in
    flight, in doubt: see ``ledger.refusal``); None when this run is to send it."""
    row = ledger.lookup(store, pack.period, pack.recipient, pack.pack_hash)
    reason = ledger.refusal(row, resend=resend) if row is not None else ""
    return _not_claimed(pack, row, reason) if row is not None and reason else None


def _not_claimed(pack: Pack, r: ledger.SendRecord, reason: str) -> Outcome:
    """What a pack this run did not send is, as the ledger row says."""
    if reason == "sent":
        return Outcome(pack, "skipped", f"already sent {_when(r.sent_at)}", subject=r.subject)
    if reason == "in_flight":
        return Outcome(
            pack,
            "in_flight",
            f"{r.owner} has been sending it since {_when(r.last_attempt_at)} and has not "
            "recorded the outcome: not confirmed",
            subject=r.subject,
        )
    if r.status == ledger.UNKNOWN:
        return Outcome(
            pack,
            "unknown",
            f"in doubt since {_when(r.last_attempt_at)}: {r.error}",
            subject=r.subject,
        )
    return Outcome(
        pack,
        "unknown",
        f"a run ({r.owner}) stopped while sending it at {_when(r.last_attempt_at)}; "
        "it may or may not have arrived",
        subject=r.subject,
    )


def _await_other_runs(store: Store, report: SendReport, timeout: float) -> None:
    """Wait (up to ``timeout`` seconds) for the packs other runs are sending, and
    report each as its run left it: sent, failed, in doubt, or still in flight."""
    import time

    waiting = {i for i, o in enumerate(report.outcomes) if o.status == "in_flight"}
    deadline = time.monotonic() + timeout
    while waiting:
        for i in sorted(waiting):
            o = report.outcomes[i]
            row = ledger.lookup(store, o.pack.period, o.pack.recipient, o.pack.pack_hash)
            if row is None or (row.status == ledger.SENDING and not row.stuck()):
                continue
            waiting.discard(i)
            if row.status == ledger.SENT:
                o.status, o.detail = "skipped", f"sent by {row.owner} {_when(row.sent_at)}"
                o.subject = row.subject
            elif row.status == ledger.FAILED:
                o.status, o.detail = "failed", f"{row.owner} could not deliver it: {row.error}"
                o.subject = row.subject
            else:
                report.outcomes[i] = _not_claimed(o.pack, row, "unknown")
        if not waiting or time.monotonic() >= deadline:
            return
        time.sleep(0.2)


def _eml_name(pack: Pack) -> str:
    who = re.sub(r"[^A-Za-z0-9.@_-]+", "_", parseaddr(pack.recipient)[1] or pack.recipient)
    return f"{pack.period}-{slug(pack.group)}-{who}.eml"


def write_outbox(
    store: Store, packs: Sequence[Pack], outbox: Path, *, progress: Progress | None = None
) -> SendReport:
    """Dry run: write each pack as an .eml file; record nothing in the ledger.

    Each outcome's detail says what a real send would do with it now.
    """
    for pack in packs:  # a template error stops it before the outbox is touched
        pack.render()
    outbox.mkdir(parents=True, exist_ok=True)
    report = SendReport(dry_run=True)
    for number, pack in enumerate(packs, 1):
        path = outbox / _eml_name(pack)
        if progress:
            progress(f"writing the message to {pack.recipient}", number, len(packs))
        atomic.write_bytes(path, pack.as_bytes())
        row = ledger.lookup(store, pack.period, pack.recipient, pack.pack_hash)
        if row is None:
            detail = "a real send would deliver it"
        elif row.status == "sent":
            detail = f"already sent {_when(row.sent_at)}; a real send would skip it"
        elif row.status == "failed":
            detail = "failed before; a real send would retry it"
        else:
            detail = f"{row.outcome}: a real send would not touch it without --resend"
        report.outcomes.append(Outcome(pack, "written", detail, path))
    return report

"""The send ledger: which status pack went to whom, so each is emailed exactly once.

One row of the ``sends`` table per (period, recipient, pack_hash) — the unique
constraint is the lock. A send goes through three steps:

1. :func:`claim` records the row as ``sending`` in its own committed
   transaction *before* any byte goes to the SMTP server, with the claiming
   run's host and process id. Two runs racing for the same pack both try; the
   unique constraint (a new row) or a compare-and-set on (status, attempts)
   (an existing row) lets exactly one win.
2. The winner sends.
3. :func:`mark_sent`, :func:`mark_failed` or :func:`mark_unknown` records the
   outcome.

What a row's status means for the next run:

``sent``
    Delivered (the server accepted it). Not sent again unless ``resend``.
``failed``
    Definitely not accepted: refused connection, rejected recipient, a dropped
    connection before the end of the message was sent, or a reply refusing it.
    The next run sends it again.
``unknown``
    *In doubt*: the whole message went to the server (the final "." of DATA
    was sent) but no reply came (dropped connection, timeout). The server may
    have accepted it, so it is not sent again on its own — that could be a
    duplicate in an executive's inbox; after checking, ``resend`` sends it.
``sending``, last attempt within :data:`STALE_AFTER`, its run alive
    Another run is sending it right now ("in flight"): skipped, even with
    ``resend``. It is not *sent*: a run that finds one reports it in flight
    (with the other run's host and process), never as sent before.
``sending``, older than :data:`STALE_AFTER`, or its run gone
    A run died between claiming and recording the outcome (crash, kill, power
    loss): whether the server accepted the message is unknown, as above. A run
    on the same host knows at once when the claiming process is gone; from
    another host only the age tells.

Every statement that writes is the first statement of its transaction, so
SQLite takes its write lock up front (and waits ``busy_timeout``) instead of
failing to upgrade a read snapshot; the same code is correct on PostgreSQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..store import SCHEMA, Store, utcnow

SENDING, SENT, FAILED, UNKNOWN = "sending", "sent", "failed", "unknown"

#: A ``sending`` row older than this belongs to a run that died mid-send.
#: Far above the SMTP timeout of one message, so a live run is never mistaken
#: for a dead one.
STALE_AFTER = timedelta(minutes=15)

_T = SCHEMA["sends"]


@dataclass(frozen=True)
class SendRecord:
    """One row of the ledger."""

    id: int
    period: str
    group_name: str
    recipient: str
    pack_hash: str
    status: str  # sending | sent | failed | unknown
    attempts: int
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    sent_at: datetime | None
    message_id: str | None
    subject: str | None
    error: str | None
    claimed_by: str | None = None  # "host:pid" of the run that claimed it last

    def stuck(self, now: datetime | None = None) -> bool:
        """A ``sending`` row whose run died: outcome unknown."""
        if self.status != SENDING or self.last_attempt_at is None:
            return False
        if owner_gone(self.claimed_by):
            return True
        return (now or utcnow()) - self.last_attempt_at > STALE_AFTER

    @property
    def owner(self) -> str:
        """The claiming run as a person reads it: "pid 4242 on ws1" (or "another run")."""
        host, _, pid = (self.claimed_by or "").rpartition(":")
        return f"pid {pid} on {host}" if host and pid else "another run"

    @property
    def outcome(self) -> str:
        """sent | failed | sending | unknown (in doubt, or a stuck ``sending`` row)."""
        return UNKNOWN if self.stuck() else self.status

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("first_attempt_at", "last_attempt_at", "sent_at"):
            d[k] = d[k].isoformat(timespec="seconds") if d[k] else None
        d["outcome"] = self.outcome
        return d


def this_run() -> str:
    """This process as a ledger owner: "host:pid"."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def owner_gone(claimed_by: str | None) -> bool:
    """True when ``claimed_by`` is a process of this host that no longer runs."""
    import socket

    host, _, pid = (claimed_by or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host (or unknown): only the row's age can tell
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def _record(row: Any) -> SendRecord:
    m = row._mapping
    return SendRecord(**{k: m[k] for k in SendRecord.__dataclass_fields__})


@dataclass(frozen=True)
class Claim:
    """What :func:`claim` decided for one pack.

    ``claimed`` is True when this run now owns the row and must send, then
    call :func:`mark_sent` / :func:`mark_failed` with ``record.id``. Otherwise
    ``reason`` says why not: ``sent`` (done before), ``in_flight`` (another run
    is sending it now) or ``unknown`` (a run died mid-send).
    """

    claimed: bool
    record: SendRecord
    reason: str = ""


def lookup(store: Store, period: str, recipient: str, pack_hash: str) -> SendRecord | None:
    q = sa.select(_T).where(
        _T.c.period == period, _T.c.recipient == recipient, _T.c.pack_hash == pack_hash
    )
    with store.engine.connect() as c:
        row = c.execute(q).first()
    return _record(row) if row else None


def get(store: Store, send_id: int) -> SendRecord:
    with store.engine.connect() as c:
        return _record(c.execute(sa.select(_T).where(_T.c.id == send_id)).one())


def refusal(row: SendRecord, *, resend: bool = False, now: datetime | None = None) -> str:
    """Why a run may not send ``row``'s pack now, as :func:`claim` decides: ``sent``
    (done before, unless ``resend``), ``in_flight`` (another run is sending it,
    even with ``resend``) or ``unknown`` (in doubt, unless ``resend``); "" when it
    may. Reading this needs no write: a run that finds every pack refused has
    nothing to claim, render or send."""
    if row.status == SENDING and not row.stuck(now):
        return "in_flight"
    if row.status == SENT and not resend:
        return "sent"
    if row.status in (SENDING, UNKNOWN) and not resend:
        return "unknown"
    return ""


def claim(
    store: Store,
    *,
    period: str,
    group: str,
    recipient: str,
    pack_hash: str,
    subject: str,
    message_id: str,
    resend: bool = False,
    now: datetime | None = None,
    owner: str | None = None,
) -> Claim:
    """Take the right to send one pack to one recipient, or say why not.

    ``owner``: the claiming run ("host:pid", :func:`this_run`), recorded so
    that others can tell who holds the row and whether it is still alive."""
    now = now or utcnow()
    try:
        with store.transaction() as conn:
            res = conn.execute(
                sa.insert(_T).values(
                    period=period,
                    group_name=group,
                    recipient=recipient,
                    pack_hash=pack_hash,
                    status=SENDING,
                    attempts=1,
                    first_attempt_at=now,
                    last_attempt_at=now,
                    subject=subject,
                    message_id=message_id,
                    claimed_by=owner,
                )
            )
            new_id = int(res.inserted_primary_key[0])
        return Claim(True, get(store, new_id))
    except sa.exc.IntegrityError:
        pass  # the row exists: decide from its status
    row = lookup(store, period, recipient, pack_hash)
    if row is None:  # deleted between the two statements; rare enough to just retry
        return claim(
            store,
            period=period,
            group=group,
            recipient=recipient,
            pack_hash=pack_hash,
            subject=subject,
            message_id=message_id,
            resend=resend,
            now=now,
            owner=owner,
        )
    reason = refusal(row, resend=resend, now=now)
    if reason:
        return Claim(False, row, reason)
    # failed, or a forced resend of a sent / stuck row: compare-and-set.
    with store.transaction() as conn:
        res = conn.execute(
            sa.update(_T)
            .where(_T.c.id == row.id, _T.c.status == row.status, _T.c.attempts == row.attempts)
            .values(
                status=SENDING,
                attempts=row.attempts + 1,
                last_attempt_at=now,
                group_name=group,
                subject=subject,
                message_id=message_id,
                error=None,
                claimed_by=owner,
            )
        )
        won = res.rowcount == 1
    current = get(store, row.id)
    if won:
        return Claim(True, current)
    return Claim(False, current, "in_flight")  # another run took it a moment ago


def mark_sent(store: Store, send_id: int, *, at: datetime | None = None) -> None:
    with store.transaction() as conn:
        conn.execute(
            sa.update(_T)
            .where(_T.c.id == send_id)
            .values(status=SENT, sent_at=at or utcnow(), error=None)
        )


def mark_failed(store: Store, send_id: int, error: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            sa.update(_T).where(_T.c.id == send_id).values(status=FAILED, error=error[:2000])
        )


def mark_unknown(store: Store, send_id: int, error: str) -> None:
    """The message went to the server whole, but its reply never came: in doubt."""
    with store.transaction() as conn:
        conn.execute(
            sa.update(_T).where(_T.c.id == send_id).values(status=UNKNOWN, error=error[:2000])
        )


def sent_before(store: Store, period: str, recipient: str, except_hash: str) -> list[SendRecord]:
    """Earlier, different packs of the same period already delivered to ``recipient``."""
    q = (
        sa.select(_T)
        .where(
            _T.c.period == period,
            _T.c.recipient == recipient,
            _T.c.pack_hash != except_hash,
            _T.c.status == SENT,
        )
        .order_by(_T.c.sent_at)
    )
    with store.engine.connect() as c:
        return [_record(r) for r in c.execute(q)]


def history(
    store: Store,
    *,
    period: str | None = None,
    group: str | None = None,
    recipient: str | None = None,
    limit: int | None = None,
) -> list[SendRecord]:
    """Sends, newest attempt first."""
    q = sa.select(_T)
    if period:
        q = q.where(_T.c.period == period)
    if group:
        q = q.where(_T.c.group_name == group)
    if recipient:
        q = q.where(_T.c.recipient == recipient)
    q = q.order_by(_T.c.last_attempt_at.desc(), _T.c.id.desc())
    if limit:
        q = q.limit(limit)
    with store.engine.connect() as c:
        return [_record(r) for r in c.execute(q)]

"""The send ledger's rules, on SQLite and on PostgreSQL (see tests/pg.py).

What a row's status means for the next run: sent is skipped (unless resend),
failed is retried, a fresh ``sending`` row belongs to a live run and is left
alone even with resend, a stale one is "unknown" until resend; and however
many runs race for one (period, recipient, pack), exactly one wins.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from pg import *  # noqa: F403

from sheetsync.mail import ledger
from sheetsync.store import Store, utcnow

KEY = dict(period="2026-W49", recipient="ceo@example.com", pack_hash="a" * 64)


def claim(store: Store, **kw):
    args = dict(KEY, group="executives", subject="status", message_id="<m@example.com>")
    args.update(kw)
    return ledger.claim(store, **args)


def test_first_claim_wins_then_sent_is_skipped(store: Store):
    c = claim(store)
    assert c.claimed and c.record.status == "sending" and c.record.attempts == 1
    ledger.mark_sent(store, c.record.id)
    again = claim(store)
    assert not again.claimed and again.reason == "sent"
    assert again.record.sent_at is not None

    forced = claim(store, resend=True)
    assert forced.claimed and forced.record.attempts == 2
    assert forced.record.status == "sending"


def test_failed_is_retried_and_keeps_the_error_until_then(store: Store):
    c = claim(store)
    ledger.mark_failed(store, c.record.id, "550 5.1.1 User unknown")
    row = ledger.lookup(store, **KEY)
    assert row is not None and row.status == "failed" and row.outcome == "failed"
    assert row.error == "550 5.1.1 User unknown"
    retry = claim(store)
    assert retry.claimed and retry.record.attempts == 2 and retry.record.error is None


def test_in_flight_row_is_left_alone_even_with_resend(store: Store):
    assert claim(store).claimed
    for resend in (False, True):
        c = claim(store, resend=resend)
        assert not c.claimed and c.reason == "in_flight"


def test_stale_sending_row_is_unknown_until_resend(store: Store):
    c = claim(store, now=utcnow() - ledger.STALE_AFTER - timedelta(minutes=1))
    assert c.claimed  # ... and the run died before recording the outcome
    row = ledger.lookup(store, **KEY)
    assert row is not None and row.stuck() and row.outcome == "unknown"
    assert row.as_dict()["outcome"] == "unknown"

    again = claim(store)
    assert not again.claimed and again.reason == "unknown"
    forced = claim(store, resend=True)
    assert forced.claimed and forced.record.attempts == 2


def test_a_different_pack_is_a_different_row(store: Store):
    first = claim(store)
    ledger.mark_sent(store, first.record.id)
    updated = claim(store, pack_hash="b" * 64)
    assert updated.claimed
    earlier = ledger.sent_before(store, KEY["period"], KEY["recipient"], "b" * 64)
    assert [r.pack_hash for r in earlier] == ["a" * 64]


def test_history_newest_first_and_filters(store: Store):
    t0 = utcnow() - timedelta(hours=1)
    a = claim(store, recipient="a@example.com", now=t0)
    b = claim(store, recipient="b@example.com", group="leads", now=t0 + timedelta(minutes=5))
    ledger.mark_sent(store, a.record.id)
    ledger.mark_failed(store, b.record.id, "refused")
    rows = ledger.history(store)
    assert [r.recipient for r in rows] == ["b@example.com", "a@example.com"]
    assert [r.recipient for r in ledger.history(store, group="leads")] == ["b@example.com"]
    assert ledger.history(store, period="2020-W01") == []
    assert len(ledger.history(store, limit=1)) == 1


@pytest.mark.parametrize("resend", [False, True])
def test_racing_runs_have_exactly_one_winner(store_url: str, resend: bool):
    """Eight runs, each with its own Store (engine, connections), claim at once."""
    setup = Store(store_url)
    if resend:  # race for an existing, already-sent row: the compare-and-set decides
        ledger.mark_sent(setup, claim(setup).record.id)
    setup.close()
    n = 8
    barrier = threading.Barrier(n)
    wins: list[bool] = []
    errors: list[BaseException] = []

    def run() -> None:
        s = Store(store_url)
        try:
            barrier.wait()
            wins.append(claim(s, resend=resend).claimed)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            s.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(wins) == [False] * (n - 1) + [True]

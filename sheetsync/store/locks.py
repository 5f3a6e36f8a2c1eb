"""Locks: a named resource to one transaction alone (PostgreSQL advisory locks).

On PostgreSQL writers run side by side and ``lock(conn, name)`` serialises
the ones that touch the same resource (``source:<name>`` for a sync of one
source); on SQLite ``transaction()`` holds the whole database already.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..errors import RefusedError
from ..schema import LOCK_NAMESPACE


class Locks:
    """Store part: taking named advisory locks inside a transaction."""

    def lock(self, conn: sa.Connection, name: str, wait: bool = True) -> None:
        """Have the named resource to this transaction alone until it ends.

        ``name`` is e.g. ``"source:plan"`` (a sync of source plan) or
        ``"send:2026-W49"``. PostgreSQL: a transaction-scoped advisory lock
        (released at commit or rollback); ``wait=False`` raises RefusedError
        at once when another transaction holds it. SQLite: ``transaction()``
        already holds the whole database's write lock, so there is nothing
        more to take.
        """
        if self.dialect != "postgresql":
            return
        key = (LOCK_NAMESPACE, sa.func.hashtext(name))
        if wait:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(*key)))
            return
        if not conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(*key))).scalar():
            raise RefusedError(_busy_message(name), hint="try again when it has finished")


def _busy_message(name: str) -> str:
    kind, _, what = name.partition(":")
    if kind == "source" and what:
        return (
            f"another sheetsync is syncing source {what!r} into this model; "
            "try again when it has finished"
        )
    if kind == "send" and what:
        return (
            f"another sheetsync is sending {what!r} from this model; try again when it has finished"
        )
    return f"another sheetsync holds {name!r} in this model; try again when it has finished"

"""current versions are unique; indexes for snapshots and the send ledger

* At most one current version (``_valid_to IS NULL``) per record key in each
  record table, enforced by a partial unique index: even a sync that forgot
  to take its source lock cannot apply the same change twice. Duplicates that
  an unlocked concurrent pull may already have left are closed first (the
  newest version stays current).
* ``snapshots(source, id)``: "the last snapshot of this source" without a scan.
* ``sends(status)``: the ledger's "what is still sending / failed" questions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RECORD_TABLES = ("projects", "milestones", "quotas", "budget", "tasks")


def upgrade() -> None:
    for name in RECORD_TABLES:
        t = sa.table(
            name,
            sa.column("_id", sa.Integer),
            sa.column("_key", sa.Text),
            sa.column("_valid_from", sa.DateTime),
            sa.column("_valid_to", sa.DateTime),
        )
        newer = t.alias("newer")
        later = (
            sa.select(newer.c._id)
            .where(newer.c._key == t.c._key)
            .where(newer.c._valid_to.is_(None))
            .where(newer.c._id > t.c._id)
        )
        closing_at = (
            sa.select(sa.func.min(newer.c._valid_from))
            .where(newer.c._key == t.c._key)
            .where(newer.c._valid_to.is_(None))
            .where(newer.c._id > t.c._id)
            .scalar_subquery()
        )
        op.execute(
            sa.update(t)
            .where(t.c._valid_to.is_(None))
            .where(later.exists())
            .values(_valid_to=closing_at)
        )
        op.create_index(
            f"uq_{name}_current_key",
            name,
            ["_key"],
            unique=True,
            sqlite_where=sa.text("_valid_to IS NULL"),
            postgresql_where=sa.text("_valid_to IS NULL"),
        )
    op.create_index("ix_snapshots_source_id", "snapshots", ["source", "id"])
    op.create_index("ix_sends_status", "sends", ["status"])


def downgrade() -> None:
    op.drop_index("ix_sends_status", table_name="sends")
    op.drop_index("ix_snapshots_source_id", table_name="snapshots")
    for name in RECORD_TABLES:
        op.drop_index(f"uq_{name}_current_key", table_name=name)

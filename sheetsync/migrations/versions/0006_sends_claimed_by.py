"""sends.claimed_by: which run is sending a pack (host and process)

A ``sending`` row is a run at work, or a run that died mid-send. The run
that claims a row records its host and process id, so another run can say
which one holds it ("in flight: pid 4242 on ws1") and, on the same host, tell
a dead run (its process is gone: the message is in doubt) from a live one.
Rows claimed before this revision have no owner: "another run".

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("claimed_by")

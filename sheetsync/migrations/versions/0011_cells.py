"""cells: where each record version was read (its sheet row) and each pull's layout

``_row`` on every record table: the sheet row a pull read the version from
(NULL: written by a sync, or before this revision). ``snapshots.layout``: per
table, the sheet and the column of each field in that read. Together they give
the cell of every field of every version (``sheetsync explain``, ``log``).

Revision ID: 0011_cells
Revises: 0010_baselines
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_cells"
down_revision = "0010_baselines"
branch_labels = None
depends_on = None

TABLES = ("projects", "milestones", "quotas", "budget", "tasks")


def upgrade() -> None:
    # Nullable columns: a plain ALTER TABLE ADD COLUMN on both backends (no copy).
    for name in TABLES:
        op.add_column(name, sa.Column("_row", sa.Integer, nullable=True))
    op.add_column("snapshots", sa.Column("layout", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_column("layout")
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("_row")

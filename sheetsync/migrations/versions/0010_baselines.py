"""baselines: named copies of the plan as of a day, to report variance against

``sheetsync baseline save NAME [--as-of D]`` copies the plan's records (every
field, as JSON, compressed) into a row of its own, so the baseline does not
depend on the history it was taken from: later pulls, key changes and schema
changes leave it as saved.

Revision ID: 0010_baselines
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_baselines"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "baselines",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("known_at", sa.DateTime, nullable=False),
        sa.Column("saved_at", sa.DateTime, nullable=False),
        sa.Column("values_z", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("baselines")

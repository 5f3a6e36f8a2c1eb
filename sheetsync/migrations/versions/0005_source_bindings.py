"""source_bindings: which file or spreadsheet each source is

A source's sync base (its last snapshot) is only valid for the file it was
read from. Two copies of a workbook configured under one source name (two
people, one team model) would otherwise take each other's values for edits
and undo them. The model remembers the absolute path (or spreadsheet URL)
each source was last synced from; a sync from another file is refused unless
``--rebind``. No row for a source: bound by its next pull, push or sync (every
model made before this).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_bindings",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("binding", sa.Text, nullable=False),
        sa.Column("bound_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_bindings")

"""table_keys: the key each record table's records are stored under

A table's key columns can be configured (``key = [...]`` in sheetsync.toml);
the model remembers which key made its ``_key`` values, so that a pull after
the key changed moves the records to the new key instead of duplicating
them. No row for a table: its built-in key (every model made before this).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "table_keys",
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("key_fields", sa.JSON, nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("table_keys")

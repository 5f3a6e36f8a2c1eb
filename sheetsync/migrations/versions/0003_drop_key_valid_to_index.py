"""drop the (_key, _valid_to) index of each record table

Every write of a record version paid for two indexes on ``_key``. The partial
unique index of revision 0002 (``_key`` of current versions) serves what the
model looks up by key: current versions, and the versions a write closes.
Only ``Store.history`` of one record read the older index, and a scan serves
that rare question; a first pull of a large sheet is a quarter faster.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RECORD_TABLES = ("projects", "milestones", "quotas", "budget", "tasks")


def upgrade() -> None:
    for name in RECORD_TABLES:
        op.drop_index(f"ix_{name}_current", table_name=name)


def downgrade() -> None:
    for name in RECORD_TABLES:
        op.create_index(f"ix_{name}_current", name, ["_key", "_valid_to"])

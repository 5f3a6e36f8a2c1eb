"""first schema

The model as it was before migrations existed (``METADATA.create_all``):
five versioned record tables, snapshots and the sends ledger. Spelled out in
full rather than derived from ``sheetsync.model`` so that it never changes.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RECORD_TABLES: dict[str, list[tuple[str, sa.types.TypeEngine]]] = {
    "projects": [
        ("key", sa.Text()),
        ("name", sa.Text()),
        ("goal", sa.Text()),
        ("metric", sa.Text()),
        ("baseline_value", sa.Float()),
        ("target_value", sa.Float()),
        ("current_value", sa.Float()),
        ("start", sa.Date()),
        ("end", sa.Date()),
        ("owner", sa.Text()),
        ("budget", sa.Float()),
    ],
    "milestones": [
        ("key", sa.Text()),
        ("project", sa.Text()),
        ("name", sa.Text()),
        ("owner", sa.Text()),
        ("start", sa.Date()),
        ("due", sa.Date()),
        ("target_value", sa.Float()),
        ("actual_value", sa.Float()),
        ("status", sa.Text()),
        ("completed_on", sa.Date()),
        ("notes", sa.Text()),
    ],
    "quotas": [
        ("rep", sa.Text()),
        ("team", sa.Text()),
        ("region", sa.Text()),
        ("period", sa.String(32)),
        ("quota", sa.Float()),
        ("closed", sa.Float()),
        ("pipeline", sa.Float()),
        ("commit", sa.Float()),
    ],
    "budget": [
        ("project", sa.Text()),
        ("category", sa.Text()),
        ("planned", sa.Float()),
        ("spent", sa.Float()),
        ("attributed_revenue", sa.Float()),
        ("notes", sa.Text()),
    ],
    "tasks": [
        ("key", sa.Text()),
        ("project", sa.Text()),
        ("name", sa.Text()),
        ("milestone", sa.Text()),
        ("owner", sa.Text()),
        ("due", sa.Date()),
        ("done", sa.Boolean()),
    ],
}


def upgrade() -> None:
    for name, fields in RECORD_TABLES.items():
        op.create_table(
            name,
            sa.Column("_id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("_key", sa.Text(), nullable=False),
            sa.Column("_valid_from", sa.DateTime(), nullable=False),
            sa.Column("_valid_to", sa.DateTime(), nullable=True),
            sa.Column("_source", sa.String(200), nullable=True),
            *[sa.Column(col, type_, nullable=True) for col, type_ in fields],
        )
        op.create_index(f"ix_{name}_current", name, ["_key", "_valid_to"])
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("content_hash", sa.String(128)),
        sa.Column("summary", sa.JSON()),
        sa.Column("values_z", sa.LargeBinary()),
    )
    op.create_table(
        "sends",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("period", sa.String(64), nullable=False),
        sa.Column("group_name", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("pack_hash", sa.String(128), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime()),
        sa.Column("last_attempt_at", sa.DateTime()),
        sa.Column("sent_at", sa.DateTime()),
        sa.Column("message_id", sa.String(400)),
        sa.Column("subject", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.UniqueConstraint(
            "period", "recipient", "pack_hash", name="uq_sends_period_recipient_pack"
        ),
    )


def downgrade() -> None:
    for name in ("sends", "snapshots", *reversed(list(RECORD_TABLES))):
        op.drop_table(name)

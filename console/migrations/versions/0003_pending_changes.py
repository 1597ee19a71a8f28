"""Changes a foreign store is applying (pending → outcome audit): one row per
pending audit event until its outcome is recorded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_changes",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=150), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("probe", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pending_changes")

"""Bogus ticket redemptions are counted, not each audited: ``redeem_failures``
(one row per scope and time window) and ``reset_tickets.failed_attempts`` (the
policy refusals of one ticket; at the limit it is revoked).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reset_tickets", sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "redeem_failures",
        sa.Column("scope", sa.String(length=32), primary_key=True),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("redeem_failures")
    with op.batch_alter_table("reset_tickets") as batch:
        batch.drop_column("failed_attempts")

"""The operator's console lockout, apart from the application's: a public
login form's failures (``failed_logins``, ``locked_until``) no longer lock an
operator out of the console.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on every backend (no batch copy on SQLite: that would drop
# the search index's triggers on users).
def upgrade() -> None:
    op.add_column("users", sa.Column("console_failed_logins", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("users", sa.Column("console_locked_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "console_locked_until")
    op.drop_column("users", "console_failed_logins")

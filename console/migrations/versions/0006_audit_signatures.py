"""The audit log is signed with a key the database does not hold:
``audit_events.mac`` (each event's chain hash, HMAC-SHA-256) and
``audit_head.key_id`` / ``audit_head.mac`` (which key, and the newest event's
number and hash signed). A log written before this revision is signed by
``userdesk db upgrade`` once the columns exist (services.audit.sign_log).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on every backend, as in 0004 (no batch copy on SQLite).
def upgrade() -> None:
    op.add_column("audit_events", sa.Column("mac", sa.String(length=64), nullable=True))
    op.add_column("audit_head", sa.Column("key_id", sa.String(length=16), nullable=True))
    op.add_column("audit_head", sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_head", "mac")
    op.drop_column("audit_head", "key_id")
    op.drop_column("audit_events", "mac")

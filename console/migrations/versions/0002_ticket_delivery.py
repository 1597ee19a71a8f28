"""How each reset ticket went out: ``shown`` to the operator once, or
``email``ed to the user's address. Tickets from before this are ``shown``
(the only way there was).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reset_tickets") as batch:
        batch.add_column(sa.Column("delivery", sa.String(length=16), nullable=False, server_default="shown"))


def downgrade() -> None:
    with op.batch_alter_table("reset_tickets") as batch:
        batch.drop_column("delivery")

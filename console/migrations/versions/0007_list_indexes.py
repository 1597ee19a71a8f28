"""The user list's indexes: no view, filter, order or count scans the table
(docs/architecture.md, "No slow corner").

- ``ix_users_name_state``: username order over every account;
- ``ix_users_role_name``: one role by username (replaces ``ix_users_role``);
- partial, by username: ``ix_users_blocked_name``, ``ix_users_must_change_name``,
  ``ix_users_external_name`` (source not local), ``ix_users_never_name`` (never
  signed in);
- ``ix_users_count`` (``blocked`` alone): the narrowest index of every row,
  which SQLite counts all accounts from;
- ranges of the timestamps whose meaning changes with time:
  ``ix_users_locked_until`` (``locked_until > now``: locked now) and
  ``ix_users_password_expires_at`` (``<= now``: expired now).

Each carries the state columns the filters test (role, blocked,
must_change_password, source, locked_until, password_expires_at), so a row is
accepted or skipped from the index alone. No column is added: the states are
the timestamps and flags the services already keep, so nothing can go stale.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STATE = ("role", "blocked", "must_change_password", "source", "locked_until", "password_expires_at")
NAME = ("lower(username)", "id")
#: name: (leading columns, SQLite condition, PostgreSQL condition)
INDEXES = {
    "ix_users_name_state": (NAME, None, None),
    "ix_users_role_name": (("role", *NAME), None, None),
    "ix_users_blocked_name": (NAME, "blocked = 1", "blocked"),
    "ix_users_must_change_name": (NAME, "must_change_password = 1", "must_change_password"),
    "ix_users_external_name": (NAME, "source <> 'local'", "source <> 'local'"),
    "ix_users_never_name": (NAME, "last_login_at IS NULL", "last_login_at IS NULL"),
    "ix_users_locked_until": (("locked_until", "id"), "locked_until IS NOT NULL", "locked_until IS NOT NULL"),
    "ix_users_password_expires_at": (("password_expires_at", "id"), "password_expires_at IS NOT NULL",
                                     "password_expires_at IS NOT NULL"),
}


def upgrade() -> None:
    op.drop_index("ix_users_role", table_name="users")
    for name, (lead, lite, pg) in INDEXES.items():
        cols = [*lead, *(c for c in STATE if c not in lead)]
        kw = {"sqlite_where": sa.text(lite), "postgresql_where": sa.text(pg)} if lite else {}
        op.create_index(name, "users", [sa.text(c) if "(" in c else c for c in cols], **kw)
    op.create_index("ix_users_count", "users", ["blocked"])


def downgrade() -> None:
    op.drop_index("ix_users_count", table_name="users")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="users")
    op.create_index("ix_users_role", "users", ["role"])

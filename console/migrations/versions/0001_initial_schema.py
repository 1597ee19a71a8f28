"""The initial schema: users, password history, sessions, reset tickets, the
audit chain and its head, the search indexes (SQLite: an FTS5 trigram table
kept by triggers; PostgreSQL: pg_trgm GIN indexes).

Self-contained on purpose: a migration is a fixed point in history, so it
imports nothing from the models it once matched.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

FTS = (
    """CREATE VIRTUAL TABLE users_fts USING fts5(
        username, email, display_name, content='users', content_rowid='id',
        tokenize='trigram case_sensitive 0')""",
    """CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
        INSERT INTO users_fts(rowid, username, email, display_name)
        VALUES (new.id, new.username, new.email, new.display_name);
    END""",
    """CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
        INSERT INTO users_fts(users_fts, rowid, username, email, display_name)
        VALUES ('delete', old.id, old.username, old.email, old.display_name);
    END""",
    """CREATE TRIGGER users_fts_update AFTER UPDATE OF username, email, display_name ON users BEGIN
        INSERT INTO users_fts(users_fts, rowid, username, email, display_name)
        VALUES ('delete', old.id, old.username, old.email, old.display_name);
        INSERT INTO users_fts(rowid, username, email, display_name)
        VALUES (new.id, new.username, new.email, new.display_name);
    END""",
    # Rows already there (a database adopted from before migrations had none indexed by this table).
    "INSERT INTO users_fts(users_fts) VALUES ('rebuild')",
)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=True),
        _ts("password_changed_at"),
        _ts("password_expires_at"),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("blocked_reason", sa.String(length=500), nullable=True),
        _ts("blocked_at"),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _ts("locked_until"),
        _ts("last_login_at"),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_users_role", "users", ["role"])
    op.create_index("ux_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    op.create_index("ix_users_email_lower", "users", [sa.text("lower(email)")])
    op.create_index("ix_users_display_name_lower", "users", [sa.text("lower(display_name)")])

    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=False),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_password_history_user_created", "password_history", ["user_id", "created_at"])

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=False),
        _ts("created_at", nullable=False),
        _ts("last_seen_at"),
        _ts("expires_at", nullable=False),
        _ts("revoked_at"),
        sa.Column("revoked_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_digest"),
    )
    op.create_index("ix_user_sessions_user", "user_sessions", ["user_id", "revoked_at"])

    op.create_table(
        "reset_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        _ts("revoked_at"),
        sa.Column("revoked_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_digest"),
    )
    op.create_index("ix_reset_tickets_user", "reset_tickets", ["user_id", "created_at"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _ts("at", nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("identity_check", sa.String(length=200), nullable=True),
        sa.Column("details", sa.String(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_target_at", "audit_events", ["target", "at"])
    op.create_index("ix_audit_operator_at", "audit_events", ["operator", "at"])
    op.create_index("ix_audit_action_at", "audit_events", ["action", "at"])

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])

    if dialect == "sqlite":
        for statement in FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in ("username", "email", "display_name"):
            op.create_index(f"ix_users_{column}_trgm", "users", [sa.text(f"lower({column}) gin_trgm_ops")],
                            postgresql_using="gin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS users_fts")
    for table in ("audit_head", "audit_events", "reset_tickets", "user_sessions", "password_history", "users"):
        op.drop_table(table)

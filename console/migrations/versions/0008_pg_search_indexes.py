"""PostgreSQL's search indexes, one per kind of search (services/search.py):

- ``ix_users_search_trgm``: one pg_trgm GIN index on the three fields as one
  string, ``lower(username || E'\\x1f' || coalesce(email, '') || E'\\x1f' ||
  display_name)`` (U+001F between them, which a search cannot hold), for a
  search of three or more characters: one bitmap index scan instead of a
  BitmapOr of three, and one LIKE recheck a row. (``fastupdate`` stays on:
  off, copying a million accounts into the indexed table took more than three
  times as long; the pending list a search also reads is emptied by autovacuum.)
  It replaces ``ix_users_username_trgm``, ``ix_users_email_trgm`` and
  ``ix_users_display_name_trgm`` (0001), which nothing reads any more.
- ``ix_users_{username,email,display_name}_prefix``: btree on ``lower(col)
  text_pattern_ops``, including the column and the id, for a search of one or
  two characters (a prefix): a range under any collation (the plain lower()
  indexes give one only under C), and a capped count from the index alone.

SQLite: nothing (its full-text table and lower() indexes are unchanged).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ("username", "email", "display_name")
#: As services/search.py SEARCH_TEXT_SQL writes it (the planner matches the expression, not the name).
SEARCH_TEXT = r"lower(username || E'\x1f' || coalesce(email, '') || E'\x1f' || display_name)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX ix_users_search_trgm ON users USING gin ({SEARCH_TEXT} gin_trgm_ops)")
    for column in COLUMNS:
        op.execute(f"CREATE INDEX ix_users_{column}_prefix ON users (lower({column}) text_pattern_ops) "
                   f"INCLUDE ({column}, id)")
        op.execute(f"DROP INDEX ix_users_{column}_trgm")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"CREATE INDEX ix_users_{column}_trgm ON users USING gin (lower({column}) gin_trgm_ops)")
        op.execute(f"DROP INDEX ix_users_{column}_prefix")
    op.execute("DROP INDEX ix_users_search_trgm")

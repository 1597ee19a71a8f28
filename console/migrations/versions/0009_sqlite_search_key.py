"""SQLite: a search with a filter, read from the filter's accounts alone.

A search with a filter whose accounts are many (50,000 blocked, 40,000
locked at a million) tested each of them on its row: a table lookup and the
three fields folded, 60–150 ms at 1M for a page and its count. Here:

- ``users.search_key``: a VIRTUAL generated column (computed when read, never
  stored, so nothing writes it and nothing can let it go stale, whoever writes
  the table): U+001F, then the three fields lower-cased by SQLite's lower(),
  each after a U+001F. A search holds no U+001F (validation refuses control
  characters), so ``instr(search_key, q)`` never matches across two fields,
  and ``instr(search_key, char(31) || q)`` is a prefix of one of them.
  SQLite's lower() folds ASCII only; a key with other characters in it (its
  length in bytes is not its length in characters) is folded again by the
  console's Unicode fold when tested (services/search.py).
- one partial index per rare state, in id order (the search's order), carrying
  the key and the state columns the filters test, so that a page is the first
  matches in the index and a count a scan of the state's entries, both without
  reading the table: ``ix_users_key_role`` (the roles but ``member``, by role
  then id), ``ix_users_key_blocked``, ``ix_users_key_must_change``,
  ``ix_users_key_external``, ``ix_users_key_never`` (never signed in) and
  ``ix_users_key_locked`` (a lockout set, passed or not).

PostgreSQL: nothing (its trigram and prefix indexes answer a search, and its
planner combines them with the filters' indexes).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KEY = ("char(31) || lower(username) || char(31) || lower(coalesce(email, '')) || char(31) || "
       "lower(display_name)")
STATE = ("role", "blocked", "must_change_password", "source", "locked_until", "password_expires_at")
#: name: (leading columns, condition), as services/listing.py KEY_INDEXES names them.
INDEXES = {
    "ix_users_key_role": (("role", "id"), "role <> 'member'"),
    "ix_users_key_blocked": (("id",), "blocked = 1"),
    "ix_users_key_must_change": (("id",), "must_change_password = 1"),
    "ix_users_key_external": (("id",), "source <> 'local'"),
    "ix_users_key_never": (("id",), "last_login_at IS NULL"),
    "ix_users_key_locked": (("id",), "locked_until IS NOT NULL"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"ALTER TABLE users ADD COLUMN search_key TEXT GENERATED ALWAYS AS ({KEY}) VIRTUAL")
    for name, (lead, where) in INDEXES.items():
        cols = ", ".join([*lead, "search_key", *(c for c in STATE if c not in lead)])
        op.execute(f"CREATE INDEX {name} ON users ({cols}) WHERE {where}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    op.execute("ALTER TABLE users DROP COLUMN search_key")

"""A search with a filter, read from the filter's accounts alone.

A search with a filter whose accounts are many (50,000 blocked, 40,000
locked at a million) tested each of them on its row: a table lookup (and on
SQLite the three fields folded), 60–170 ms at 1M for a page and its count.
Here:

- the search key: U+001F, then the three fields lower-cased, each after a
  U+001F. A search holds no U+001F (validation refuses control characters),
  so a substring of the key never spans two fields, and U+001F followed by
  the search is a prefix of one of them.
- one partial index per rare state, in id order (the search's order), carrying
  the key and the state columns the filters test, so that a page is the first
  matches in the index and a count a scan of the state's entries, neither
  reading the table: ``ix_users_key_role`` (the roles but ``member``, by role
  then id), ``ix_users_key_blocked``, ``ix_users_key_must_change``,
  ``ix_users_key_external``, ``ix_users_key_never`` (never signed in) and
  ``ix_users_key_locked`` (a lockout set, passed or not).

SQLite: the key is ``users.search_key``, a VIRTUAL generated column (computed
when read, never stored: nothing writes it, and nothing can let it go stale,
whoever writes the table), which the indexes carry (SQLite 3.40 reads an
indexed column from the index, not an indexed expression). Its lower() folds
ASCII only; a key with other characters in it (longer in bytes than in
characters) is folded again by the console's Unicode fold when tested
(services/search.py).

PostgreSQL: the key is an expression the indexes are built on (no column: a
stored one widened every row by the key, about a third, and plain searches,
which recheck rows of the table, were 30–40% slower at 1M, measured); they
INCLUDE the three fields, so that PostgreSQL reads the key from the index
alone (an index-only scan needs every column the expression names). Its
lower() folds as the database's collation does, as the trigram search does.
Each index's condition also says the key IS NOT NULL (always true), which
only a read that tests the key implies (LIKE is strict): PostgreSQL plans the
others, the views, as before (the locked view had read one and sorted 40,000
rows by name from the table: 0.1 s at 1M, measured).

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
#: As services/search.py KEY_SQL writes it (PostgreSQL matches the expression, not a name).
PG_KEY = (r"E'\x1f' || lower(username || E'\x1f' || coalesce(email, '') || E'\x1f' || display_name)")
TEXTS = ("username", "email", "display_name")
#: The columns the filters test (as 0007's list indexes carry them, and the last sign-in, which the attention
#: order's last rank and "inactive for N days" test), so that no entry's row is read to test them.
STATE = ("role", "blocked", "must_change_password", "source", "locked_until", "password_expires_at", "last_login_at")
#: name: (leading columns, SQLite condition, PostgreSQL condition), as services/listing.py KEY_INDEXES names them.
INDEXES = {
    "ix_users_key_role": (("role", "id"), "role <> 'member'", "role <> 'member'"),
    "ix_users_key_blocked": (("id",), "blocked = 1", "blocked"),
    "ix_users_key_must_change": (("id",), "must_change_password = 1", "must_change_password"),
    "ix_users_key_external": (("id",), "source <> 'local'", "source <> 'local'"),
    "ix_users_key_never": (("id",), "last_login_at IS NULL", "last_login_at IS NULL"),
    "ix_users_key_locked": (("id",), "locked_until IS NOT NULL", "locked_until IS NOT NULL"),
}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(f"ALTER TABLE users ADD COLUMN search_key TEXT GENERATED ALWAYS AS ({KEY}) VIRTUAL")
    for name, (lead, lite, pg) in INDEXES.items():
        state = [c for c in STATE if c not in lead]
        if sqlite:
            op.execute(f"CREATE INDEX {name} ON users ({', '.join([*lead, 'search_key', *state])}) WHERE {lite}")
        else:
            op.execute(f"CREATE INDEX {name} ON users ({', '.join(lead)}, ({PG_KEY})) "
                       f"INCLUDE ({', '.join([*TEXTS, *state])}) WHERE {pg} AND ({PG_KEY}) IS NOT NULL")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users DROP COLUMN search_key")

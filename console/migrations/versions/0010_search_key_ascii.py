"""SQLite: whether the search key is ASCII, carried by the key indexes.

SQLite's lower() folds ASCII only, so a search key with other characters in
it is folded again by the console's Unicode fold when it is tested (0009).
Which keys those are was worked out entry by entry, for every entry a search
tested: ``length(CAST(search_key AS BLOB)) != length(search_key)``, the key's
characters counted one by one. That was a third of what testing a key entry
cost (the 80,000 external accounts' key at a million: 23 ms, 15.7 ms
without it, measured).

Here ``users.search_ascii``, a VIRTUAL generated column (1 where the key is
ASCII: as long in bytes as in characters), is computed once as the key
indexes are written and read from them; each key index is built again with it
after the key. PostgreSQL: nothing (its lower() folds as its collation does,
and its key is never folded again).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ASCII = "length(CAST(search_key AS BLOB)) = length(search_key)"
#: As 0009 writes them: name: (leading columns, condition), and the state columns after the key.
INDEXES = {
    "ix_users_key_role": (("role", "id"), "role <> 'member'"),
    "ix_users_key_blocked": (("id",), "blocked = 1"),
    "ix_users_key_must_change": (("id",), "must_change_password = 1"),
    "ix_users_key_external": (("id",), "source <> 'local'"),
    "ix_users_key_never": (("id",), "last_login_at IS NULL"),
    "ix_users_key_locked": (("id",), "locked_until IS NOT NULL"),
}
STATE = ("role", "blocked", "must_change_password", "source", "locked_until", "password_expires_at", "last_login_at")


def _build(key: tuple[str, ...]) -> None:
    for name, (lead, where) in INDEXES.items():
        state = [c for c in STATE if c not in lead]
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON users ({', '.join([*lead, *key, *state])}) WHERE {where}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"ALTER TABLE users ADD COLUMN search_ascii INTEGER GENERATED ALWAYS AS ({ASCII}) VIRTUAL")
    _build(("search_key", "search_ascii"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _build(("search_key",))
    op.execute("ALTER TABLE users DROP COLUMN search_ascii")

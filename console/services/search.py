"""Case-insensitive substring search over username, email and display name,
through an index on every backend:

- SQLite, 3+ characters: the FTS5 trigram table ``users_fts`` (see db.py).
- SQLite, 1–2 characters (too short for trigrams): a prefix match, which the
  ``lower(...)`` expression indexes answer as range scans.
- Other backends: ``lower(col) LIKE '%q%'``, which PostgreSQL's pg_trgm GIN
  indexes answer.

Search results are ordered by account id (creation order): that order comes
straight out of the index, so a page costs the same at any depth."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, and_, func, or_, select

from console.models import User

#: The FTS5 table as SQLAlchemy sees it (created by db.create_schema, not by metadata).
FTS = Table("users_fts", MetaData(), Column("rowid", Integer, primary_key=True), Column("users_fts", String))
TRIGRAM = 3
_COLUMNS = (User.username, User.email, User.display_name)


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _next_prefix(q: str) -> str:
    """The smallest string greater than every string that starts with q."""
    return q[:-1] + chr(ord(q[-1]) + 1)


def uses_fts(dialect: str, q: str) -> bool:
    return dialect == "sqlite" and len(q) >= TRIGRAM


def _phrase(q: str) -> str:
    return '"' + q.lower().replace('"', '""') + '"'


def matches(q: str):
    """SQLite, 3+ characters: the ids of matching accounts, from the index alone."""
    return select(FTS.c.rowid).where(FTS.c.users_fts.op("MATCH")(_phrase(q)))


def apply(stmt, dialect: str, q: str):
    """Restrict ``stmt`` (a select from users) to the accounts matching ``q``;
    returns (statement, the id column to order and page by)."""
    q = q.lower()
    if uses_fts(dialect, q):
        stmt = stmt.join(FTS, FTS.c.rowid == User.id).where(FTS.c.users_fts.op("MATCH")(_phrase(q)))
        return stmt, FTS.c.rowid
    if dialect == "sqlite":
        hi = _next_prefix(q)
        return stmt.where(or_(*(and_(func.lower(c) >= q, func.lower(c) < hi) for c in _COLUMNS))), User.id
    pattern = f"%{_escape_like(q)}%"
    return stmt.where(or_(*(func.lower(c).like(pattern, escape="\\") for c in _COLUMNS))), User.id

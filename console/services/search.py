"""Case-insensitive substring search over username, email and display name,
through an index on every backend:

- SQLite, 3+ characters: the FTS5 trigram table ``users_fts`` (see db.py).
- SQLite, 1–2 characters (too short for trigrams): a prefix match, which the
  ``lower(...)`` expression indexes answer as range scans.
- PostgreSQL: ``lower(col) LIKE '%q%'`` (1–2 characters: ``LIKE 'q%'``, a
  prefix, as on SQLite), answered by the pg_trgm GIN indexes on ``lower(col)``
  (models.py). A prefix is a LIKE there, not a range: under a linguistic
  collation the strings that start with "ab" are not all between "ab" and "ac".

Search results are ordered by account id (creation order), paged by id; on
SQLite that order comes straight out of the index, so a page costs the same at
any depth.

Internal to the service layer (console/services/__init__.py lists the public API).
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, and_, func, or_, select

from sqlalchemy.orm import aliased

from console.models import User
from console.services import prepared

#: The FTS5 table as SQLAlchemy sees it (created by db.create_schema, not by metadata).
FTS = Table("users_fts", MetaData(), Column("rowid", Integer, primary_key=True), Column("users_fts", String))
TRIGRAM = 3
_COLUMNS = (User.username, User.email, User.display_name)


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _next_prefix(q: str) -> str:
    """The smallest string greater than every string that starts with q."""
    return q[:-1] + chr(ord(q[-1]) + 1)


def kind_of(dialect: str, q: str) -> str:
    """How ``q`` is searched on ``dialect``: ``fts`` or ``prefix`` (SQLite),
    ``like`` or ``like_prefix`` (elsewhere). (``rows``, SQLite: the substring
    of ``fts`` tested on each row of a few a filter selects; listing.py.)"""
    short = len(q) < TRIGRAM
    if dialect == "sqlite":
        return "prefix" if short else "fts"
    return "like_prefix" if short else "like"


def uses_fts(dialect: str, q: str) -> bool:
    return kind_of(dialect, q) == "fts"


def _phrase(q: str) -> str:
    return '"' + q.lower().replace('"', '""') + '"'


def terms(kind: str, q: str) -> dict[str, str]:
    """The bind values of a search of ``kind`` for ``q``."""
    q = q.lower()
    if kind == "fts":
        return {"search_phrase": _phrase(q)}
    if kind == "rows":
        return {"search_text": q}
    if kind in ("prefix", "prefix_ids"):
        return {"search_lo": q, "search_hi": _next_prefix(q)}
    if kind == "like_prefix":
        return {"search_like": f"{_escape_like(q)}%"}
    return {"search_like": f"%{_escape_like(q)}%"}


def matches(q: str | None = None):
    """SQLite, 3+ characters: the ids of matching accounts, from the index alone
    (``q`` None: the phrase left a bind parameter, ``search_phrase``)."""
    phrase = prepared.binder(None if q is None else terms("fts", q))("search_phrase", String)
    return select(FTS.c.rowid).where(FTS.c.users_fts.op("MATCH")(phrase))


def apply(stmt, kind: str, values: dict[str, str] | None = None):
    """Restrict ``stmt`` (a select from users) to the accounts matching a
    search of ``kind`` with ``values`` (``terms``; None: bind parameters left
    open for a prepared statement); returns (statement, the id column to order
    and page by)."""
    param = prepared.binder(values)
    if kind == "fts":
        stmt = stmt.join(FTS, FTS.c.rowid == User.id).where(FTS.c.users_fts.op("MATCH")(param("search_phrase", String)))
        return stmt, FTS.c.rowid
    if kind == "rows":  # a case-insensitive substring, as the trigram index matches it
        needle = param("search_text", String)
        return stmt.where(or_(*(func.instr(func.userdesk_fold(c), needle) > 0 for c in _COLUMNS))), User.id
    if kind == "prefix":
        lo, hi = param("search_lo", String), param("search_hi", String)
        return stmt.where(or_(*(and_(func.lower(c) >= lo, func.lower(c) < hi) for c in _COLUMNS))), User.id
    if kind == "prefix_ids":  # the prefix's ids first (its three indexes), then their rows by id
        lo, hi = param("search_lo", String), param("search_hi", String)
        m = aliased(User, name="m")
        ids = select(m.id).where(or_(*(and_(func.lower(getattr(m, c.key)) >= lo, func.lower(getattr(m, c.key)) < hi)
                                       for c in _COLUMNS)))
        return stmt.where(User.id.in_(ids)), User.id
    like = param("search_like", String)
    return stmt.where(or_(*(func.lower(c).like(like, escape="\\") for c in _COLUMNS))), User.id

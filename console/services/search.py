"""Case-insensitive substring search over username, email and display name,
through an index on every backend:

- SQLite, 3+ characters: the FTS5 trigram table ``users_fts`` (see db.py).
- SQLite, 1–2 characters (too short for trigrams): a prefix match, which the
  ``lower(...)`` expression indexes answer as range scans.
- PostgreSQL, 3+ characters (kind ``trigram``): ``LIKE '%q%'`` on one string
  of the three fields (``SEARCH_TEXT``: lower(username), email, display name,
  joined by U+001F, which no search can hold: validation refuses control
  characters, so a match never spans two fields), answered by one pg_trgm GIN
  index on that expression (migration 0008): one bitmap index scan, not a
  BitmapOr of three.
- PostgreSQL, 1–2 characters (kind ``like_prefix``): ``lower(col) LIKE 'q%'``,
  a prefix, as on SQLite, answered by ``text_pattern_ops`` btree indexes on
  ``lower(col)`` (0008), which give a prefix as a range under any collation
  (under a linguistic one the strings that start with "ab" are not all between
  "ab" and "ac", so the plain ``lower()`` indexes cannot). They include the
  column and the id, so a capped count of a prefix is read from them alone
  (``prefix_count``).

Search results are ordered by account id (creation order), paged by id; on
SQLite that order comes straight out of the index, so a page costs the same at
any depth.

Internal to the service layer (console/services/__init__.py lists the public API).
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, and_, func, literal_column, or_, select, union

from sqlalchemy.orm import aliased

from console.models import User
from console.services import prepared

#: The FTS5 table as SQLAlchemy sees it (created by db.create_schema, not by metadata).
FTS = Table("users_fts", MetaData(), Column("rowid", Integer, primary_key=True), Column("users_fts", String))
TRIGRAM = 3
_COLUMNS = (User.username, User.email, User.display_name)
#: PostgreSQL: what a 3+ character search looks in, as the GIN index
#: ``ix_users_search_trgm`` (migration 0008) is built on; written out (not bound)
#: so that the planner matches it with the index's expression. U+001F (unit
#: separator) between the fields: validation.reason refuses control characters
#: in a search, so ``%q%`` can never match across two fields.
SEPARATOR = r"\x1f"  # as SQL writes it in an E'' string
SEARCH_TEXT_SQL = (f"lower(users.username || E'{SEPARATOR}' || coalesce(users.email, '') || E'{SEPARATOR}' || "
                   "users.display_name)")


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _next_prefix(q: str) -> str:
    """The smallest string greater than every string that starts with q."""
    return q[:-1] + chr(ord(q[-1]) + 1)


def kind_of(dialect: str, q: str) -> str:
    """How ``q`` is searched on ``dialect``: ``fts`` or ``prefix`` (SQLite),
    ``trigram`` or ``like_prefix`` (PostgreSQL), ``like`` or ``like_prefix``
    (elsewhere). (``rows``, SQLite: the substring of ``fts`` tested on each row
    of a few a filter selects; listing.py.)"""
    short = len(q) < TRIGRAM
    if dialect == "sqlite":
        return "prefix" if short else "fts"
    if short:
        return "like_prefix"
    return "trigram" if dialect == "postgresql" else "like"


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
        return {"search_like": f"{_escape_like(q)}%"}  # "like" and "trigram": "%q%", below
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
    if kind == "trigram":
        return stmt.where(literal_column(SEARCH_TEXT_SQL).like(like, escape="\\")), User.id
    return stmt.where(or_(*(func.lower(c).like(like, escape="\\") for c in _COLUMNS))), User.id


def prefix_count(base, cap: int):
    """PostgreSQL, a prefix (``like_prefix``) and no filter: how many accounts
    start with it, counted up to ``cap``: each field's matches up to ``cap``
    from its own prefix index alone (index-only scans, which stop at ``cap``
    entries), then their union. One field with ``cap`` matches is enough to
    say "at least ``cap``"; otherwise the union is exact. (One OR over the
    three fields reads the table for every match it counts: a one-letter
    prefix, a tenth of the accounts, 0.1–0.2 s at 1M.) ``base``: a select from
    users; the bind parameter ``search_like`` is left open."""
    like = prepared.binder(None)("search_like", String)
    # In the prefix index's own order (its operator class sorts by ~<~): read from the index up to cap entries,
    # and, where the visibility map is not set yet (a table just loaded), each entry's row; never a scan of the
    # table until cap rows match, which the planner otherwise prefers there.
    branches = [base.with_only_columns(User.id).where(func.lower(c).like(like, escape="\\"))
                .order_by(literal_column(f"lower(users.{c.key}) USING ~<~")).limit(literal_column(str(cap)))
                for c in _COLUMNS]
    return select(func.count()).select_from(union(*branches).subquery())

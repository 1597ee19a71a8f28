"""The mechanisms that keep a million users fast: keyset paging (never OFFSET),
a search index kept in sync with the table, counts that do not scan."""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy import event, text

from console.services import audit, detail, listing, setup, users
from console.services.listing import UserFilter


class _TracingCursor(psycopg.Cursor):
    """A psycopg cursor that records what it is asked to run."""

    seen: list[str] = []

    def execute(self, query, params=None, **kw):
        self.seen.append(_inline(str(query), params))
        return super().execute(query, params, **kw)


def _inline(query: str, params) -> str:
    """``%(name)s`` placeholders filled in, enough to read a LIMIT or OFFSET."""
    if isinstance(params, dict):
        return re.sub(r"%\((\w+)\)s", lambda m: repr(params.get(m.group(1))), query)
    return query


@pytest.fixture
def statements(ctx, monkeypatch):
    """Every statement the database driver is given, values filled in, traced
    at the driver: whichever path issued it (ORM, Core, or a prepared read run
    on the DBAPI cursor), it is seen here. SQLite: its trace callback;
    PostgreSQL: a recording psycopg cursor."""
    seen: list[str] = []
    monkeypatch.setattr(_TracingCursor, "seen", seen)

    def trace(dbapi_conn, _record):
        if ctx.engine.dialect.name == "sqlite":
            dbapi_conn.set_trace_callback(seen.append)
        else:
            dbapi_conn.cursor_factory = _TracingCursor

    ctx.engine.dispose()  # new connections, each traced
    event.listen(ctx.engine, "connect", trace)
    yield seen
    event.remove(ctx.engine, "connect", trace)
    ctx.engine.dispose()


def fts_ids(ctx, q: str) -> set[int]:
    with ctx.engine.connect() as conn:
        return {r[0] for r in conn.execute(text("SELECT rowid FROM users_fts WHERE users_fts MATCH :q"),
                                           {"q": f'"{q}"'})}


def test_no_offset_in_any_listing_search_or_count(ctx, make_operator, statements):
    setup.seed_demo(ctx, 300)
    admin = make_operator("admin", "zz-admin").actor
    statements.clear()
    for order in ("username", "attention"):
        for search in (None, "ab", "nova", "example.org"):
            first = listing.list_users(ctx, admin, search=search, order=order, limit=20)
            if first.next_cursor:
                nxt = listing.list_users(ctx, admin, search=search, order=order, cursor=first.next_cursor, limit=20)
                listing.list_users(ctx, admin, search=search, order=order, before=nxt.prev_cursor, limit=20)
            listing.list_users(ctx, admin, search=search, order=order, from_end=True, limit=20)
            listing.count_users(ctx, admin, search=search, filter=UserFilter(blocked=False))
    listing.count_users(ctx, admin)
    page = audit.query(ctx, admin, limit=5)
    audit.query(ctx, admin, limit=5, cursor=page.next_cursor)
    detail.user_detail(ctx, admin, "demo-helpdesk")
    assert len(statements) > 40

    def skips_rows(statement: str) -> bool:
        """SQLAlchemy's SQLite dialect writes "LIMIT ? OFFSET ?" with 0 for the
        offset on some limited queries; anything but 0 would be offset paging."""
        return any(int(n) != 0 for n in re.findall(r"\bOFFSET\s+(\d+)", statement, re.I))

    if ctx.engine.dialect.name == "sqlite":
        assert any(re.search(r"\bOFFSET 0\b", s) for s in statements)  # the trace shows values
    # The pages are among them: LIMIT 21, or on PostgreSQL a search with a filter (the attention order's ranks
    # are filters) first reads the ids of its few matches (listing._few_ids).
    pages = rf"\bLIMIT (21|{listing.FEW_MATCHES})\b"
    assert sum(bool(re.search(pages, s)) for s in statements) >= 20
    assert [s for s in statements if skips_rows(s)] == []


def test_search_follows_create_update_and_delete(ctx, admin, make_user):
    make_user("bobsled", email="bob@example.com", display_name="Robert Quixote")
    found = lambda q: [u.username for u in listing.list_users(ctx, admin, search=q).items]  # noqa: E731
    assert found("Quixo") == found("bob@ex") == found("bo") == ["bobsled"]
    users.update_profile(ctx, admin, "bobsled", display_name="Robert Zebulon", email="rz@example.org")
    assert found("quixote") == found("bob@ex") == []
    assert found("zebul") == found("rz@example") == found("RZ") == ["bobsled"]
    users.delete_user(ctx, admin, "bobsled")
    assert found("zebulon") == found("bobsled") == found("bo") == []


@pytest.mark.sqlite_only
def test_the_search_index_follows_create_update_and_delete(ctx, admin, make_user):
    bob = make_user("bobsled", email="bob@example.com", display_name="Robert Quixote").user
    assert fts_ids(ctx, "quixote") == {bob.id}
    assert [u.username for u in listing.list_users(ctx, admin, search="Quixo").items] == ["bobsled"]
    users.update_profile(ctx, admin, "bobsled", display_name="Robert Zebulon", email="rz@example.org")
    assert fts_ids(ctx, "quixote") == set() and fts_ids(ctx, "bob@ex") == set()
    assert fts_ids(ctx, "zebulon") == {bob.id} and fts_ids(ctx, "rz@example") == {bob.id}
    assert listing.list_users(ctx, admin, search="quixote").items == []
    users.delete_user(ctx, admin, "bobsled")
    assert fts_ids(ctx, "zebulon") == set() and fts_ids(ctx, "bobsled") == set()
    with ctx.engine.connect() as conn:  # the index agrees with the table as a whole
        conn.execute(text("INSERT INTO users_fts(users_fts, rank) VALUES ('integrity-check', 1)"))


def test_counts_do_not_scan_past_the_cap(ctx, make_operator, monkeypatch):
    setup.seed_demo(ctx, 300)  # bulk-loaded, then indexed in one go
    if ctx.engine.dialect.name == "sqlite":
        with ctx.engine.connect() as conn:
            conn.execute(text("INSERT INTO users_fts(users_fts, rank) VALUES ('integrity-check', 1)"))
    admin = make_operator("admin", "zz-admin").actor
    assert listing.count_users(ctx, admin, search="zz-admin").value == 1  # the insert trigger is back
    monkeypatch.setattr(listing, "COUNT_CAP", 50)
    count = listing.count_users(ctx, admin, filter=UserFilter(role="member"))
    assert count.at_least and count.value == 50 and count.label() == "50+"
    small = listing.count_users(ctx, admin, filter=UserFilter(role="admin"))
    assert small.exact and not small.at_least
    # The unfiltered total is exact when counted, then served from the cache as "~"
    # until this context writes.
    first = listing.count_users(ctx, admin)
    assert first.exact
    assert listing.count_users(ctx, admin).label() == f"~{first.value:,}"
    users.create_user(ctx, admin, "newcomer")
    assert listing.count_users(ctx, admin) == type(first)(first.value + 1)

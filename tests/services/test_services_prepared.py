"""List pages are compiled once per shape and run at the driver (prepared.py):
a value given at run time must never be frozen into the cached statement, and
driver errors must surface like any other database error."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.exc import DBAPIError

from console.services import listing, prepared
from console.services.errors import DatabaseUnavailable
from console.services.listing import UserFilter, _page_statement, _shape_of


def names(page) -> list[str]:
    return [u.username for u in page.items]


def test_each_call_binds_its_own_filter_values(ctx, admin, make_user):
    make_user("hal", role="helpdesk")
    make_user("mo", role="member")
    make_user("vee", role="viewer")
    for role, expected in (("helpdesk", ["hal"]), ("member", ["mo"]), ("viewer", ["vee"]), ("admin", ["admin"])):
        assert names(listing.list_users(ctx, admin, filter=UserFilter(role=role))) == expected


def test_each_call_binds_its_own_moment(ctx, admin, clock, make_user):
    """``now`` (locked, expired, attention order) and ``since`` (inactive) are
    taken at each call, not when the statement was first compiled."""
    make_user("sleepy")
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET last_login_at = :t, locked_until = :u WHERE username = 'sleepy'"),
                     {"t": clock.now.replace(tzinfo=None), "u": (clock.now + timedelta(hours=1)).replace(tzinfo=None)})
    inactive = UserFilter(inactive_days=10, role="member")
    locked = UserFilter(locked=True)
    assert names(listing.list_users(ctx, admin, filter=inactive)) == []
    assert names(listing.list_users(ctx, admin, filter=locked)) == ["sleepy"]
    assert names(listing.list_users(ctx, admin, order="attention"))[0] == "sleepy"
    clock.advance(days=11)
    assert names(listing.list_users(ctx, admin, filter=inactive)) == ["sleepy"]
    assert names(listing.list_users(ctx, admin, filter=locked)) == []
    assert names(listing.list_users(ctx, admin, filter=UserFilter(inactive_days=20, role="member"))) == []


@pytest.mark.parametrize("first, second", [("ali", "bor"), ("al", "bo"), ("example.org", "example.com")])
def test_each_call_binds_its_own_search(ctx, admin, make_user, first, second):
    make_user("alice", email="alice@example.org")
    make_user("boris", email="boris@example.com")
    assert names(listing.list_users(ctx, admin, search=first)) == ["alice"]
    assert names(listing.list_users(ctx, admin, search=second)) == ["boris"]


def test_each_call_binds_its_own_limit_and_cursor(ctx, admin, make_user):
    for i in range(6):
        make_user(f"p{i}")
    two = listing.list_users(ctx, admin, filter=UserFilter(role="member"), limit=2)
    three = listing.list_users(ctx, admin, filter=UserFilter(role="member"), limit=3)
    assert names(two) == ["p0", "p1"] and names(three) == ["p0", "p1", "p2"]
    after_two = listing.list_users(ctx, admin, filter=UserFilter(role="member"), cursor=two.next_cursor, limit=2)
    after_three = listing.list_users(ctx, admin, filter=UserFilter(role="member"), cursor=three.next_cursor, limit=2)
    assert names(after_two) == ["p2", "p3"] and names(after_three) == ["p3", "p4"]


def test_a_driver_error_is_database_unavailable_without_the_values(ctx, admin, make_user):
    make_user("alice")
    if ctx.engine.dialect.name == "sqlite":
        with ctx.engine.begin() as conn:  # the search's index, gone under the console
            conn.exec_driver_sql("DROP TABLE users_fts")
        with pytest.raises(DatabaseUnavailable) as ei:
            listing.list_users(ctx, admin, search="secret-needle")
    else:
        # Another session holds the table; this one gives up waiting after 0.1 s.
        event.listen(ctx.engine, "connect", lambda dbapi_conn, _: dbapi_conn.execute("SET lock_timeout = '100ms'"))
        ctx.engine.dispose()
        blocker = ctx.engine.connect()
        blocker.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        try:
            with pytest.raises(DatabaseUnavailable) as ei:
                listing.list_users(ctx, admin, search="secret-needle")
        finally:
            blocker.rollback()
            blocker.close()
    assert ei.value.code == "DB_UNAVAILABLE" and "needle" not in str(ei.value)


def test_the_page_statement_compiles_for_postgresql_with_named_converted_values():
    """psycopg takes named parameters, and naive UTC timestamps for the
    ``timestamp without time zone`` columns: the same bind processors as the ORM."""
    dialect = psycopg.dialect()
    f = UserFilter(role="admin", locked=True, inactive_days=30)
    query = prepared.Prepared(_page_statement("attention", "after", "like", _shape_of(f), 51), dialect)
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    params = query.parameters({"now": now, "role": "admin", "since": now - timedelta(days=30),
                               "search_like": "%x%", "k0": 0, "k1": 7})
    assert isinstance(params, dict) and "OFFSET" not in query.sql
    assert params["now"] == datetime(2026, 1, 2, 1, 4, 5) and params["role"] == "admin"
    assert query.sql.rstrip().endswith("LIMIT 51")  # a literal: SQLite plans a bound LIMIT as unbounded
    assert "%(now)s" in query.sql and "%(search_like)s" in query.sql


def test_a_driver_error_names_no_bound_value(ctx):
    """The wrapped error quotes the statement, never its values."""
    query = prepared.Prepared(_page_statement("username", "after", None, _shape_of(UserFilter()), 5), ctx.engine.dialect)
    with ctx.engine.connect() as conn:
        conn.exec_driver_sql("DROP TABLE users CASCADE" if ctx.engine.dialect.name == "postgresql"
                             else "DROP TABLE users")
        conn.commit()
        with pytest.raises(DBAPIError) as ei:
            prepared.fetch(conn, query, {"k0": "secret-key-value", "k1": 7})
    assert "secret-key-value" not in str(ei.value) and "parameters hidden" in str(ei.value)


def test_compiled_statements_are_kept_per_engine(ctx):
    # An engine of its own (the tests' db.make_engine gives engines of one driver one dialect: tests/conftest.py).
    other = create_engine(ctx.engine.url)
    shape = ("test.shape",)
    a = prepared.prepare(ctx.engine.dialect, shape, lambda: _page_statement("username", "first", None, UserFilter(), 5))
    assert prepared.prepare(ctx.engine.dialect, shape, lambda: 1 / 0) is a  # built once
    b = prepared.prepare(other.dialect, shape, lambda: _page_statement("username", "first", None, UserFilter(), 5))
    assert b is not a
    other.dispose()

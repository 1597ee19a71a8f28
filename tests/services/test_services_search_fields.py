"""A search looks in each of username, email and display name, never across
two of them, and treats LIKE's wildcards as plain characters; on PostgreSQL
each kind of search is answered by its own index (migration 0008): the one
trigram index of the three fields, and the prefix indexes, a capped count of
a prefix from those indexes alone (the plans, not timings)."""

from __future__ import annotations

import pytest

from sqlalchemy import text

from console.services import listing, prepared
from console.services.errors import InvalidInput
from console.services.listing import UserFilter as F


@pytest.fixture
def people(make_user):
    make_user("abc", email="xyz@example.com", display_name="Qrs Tuv")
    make_user("a_b", email="under@example.org", display_name="100% Sure")
    make_user("axb", email="plain@example.org", display_name="Back\\Slash")
    make_user("zed", email=None, display_name="")


def names(ctx, actor, q, **kw):
    return [u.username for u in listing.list_users(ctx, actor, search=q, limit=100, **kw).items]


def test_a_search_never_matches_across_two_fields(ctx, admin, people):
    for q in ("abcxyz", "abc xyz", "comqrs", "com qrs", "c@x", "zed@"):
        assert names(ctx, admin, q) == [], q
        assert listing.count_users(ctx, admin, search=q).value == 0, q
    assert names(ctx, admin, "xyz@ex") == ["abc"]
    assert names(ctx, admin, "rs tu") == ["abc"]


def test_the_separator_cannot_be_searched_for(ctx, admin, people):
    """U+001F joins the fields in PostgreSQL's search index: inside a search it
    is refused (a control character); at either end it is stripped, as
    Python strips it as whitespace, and the rest is searched."""
    for q in ("abc\x1fxyz", "c\x1fx", "m\x1fqrs"):
        with pytest.raises(InvalidInput):
            listing.list_users(ctx, admin, search=q)
        with pytest.raises(InvalidInput):
            listing.count_users(ctx, admin, search=q)
    assert names(ctx, admin, "\x1fqrs\x1f") == ["abc"]
    assert listing.count_users(ctx, admin, search="\x1fxyz@").value == 1


def test_like_wildcards_are_plain_characters(ctx, admin, people):
    assert names(ctx, admin, "a_b") == ["a_b"]
    assert names(ctx, admin, "0% s") == ["a_b"]
    assert names(ctx, admin, "k\\s") == ["axb"]
    assert names(ctx, admin, "a_") == ["a_b"]  # a prefix
    assert listing.count_users(ctx, admin, search="a_b").value == 1


def test_a_prefix_counts_each_account_once_and_with_its_filter(ctx, admin, make_user):
    make_user("anna", email="anna@example.com", display_name="Anna A")  # all three fields start with "a"
    make_user("bob", email="alpha@example.com", display_name="Bob")
    make_user("cid", email="cid@example.com", display_name="Ava", role="viewer")
    assert listing.count_users(ctx, admin, search="a").value == 4  # and "admin"
    assert listing.count_users(ctx, admin, search="a", filter=F(role="viewer")).value == 1
    assert listing.count_users(ctx, admin, search="an").value == 1


def test_a_prefix_count_beyond_the_cap_says_at_least(ctx, admin, make_user, monkeypatch):
    for i in range(5):
        make_user(f"ann{i}", email=f"ann{i}@example.com", display_name=f"Ann {i}")
    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", 3)
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())  # the cap is a literal of the statement
    count = listing.count_users(ctx, admin, search="an")
    assert count.at_least and count.value == 3


@pytest.mark.parametrize("q", ["ann", "an"], ids=["search", "prefix"])
def test_a_search_is_counted_to_its_own_cap_and_a_filter_to_the_lists(ctx, admin, make_user, monkeypatch, q):
    """A search that matches more than SEARCH_COUNT_CAP shows "1,000+" (it
    asks for more letters); a filter alone is counted to COUNT_CAP."""
    for i in range(5):
        make_user(f"ann{i}", email=f"ann{i}@example.com", display_name=f"Ann {i}", role="viewer")
    monkeypatch.setattr(listing, "SEARCH_COUNT_CAP", 3)
    monkeypatch.setattr(listing, "COUNT_CAP", 4)
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())  # the caps are literals of the statements
    assert listing.count_users(ctx, admin, search=q).label() == "3+"
    assert listing.count_users(ctx, admin, search=q, filter=F(role="viewer")).label() == "3+"
    assert listing.count_users(ctx, admin, filter=F(role="viewer")).label() == "4+"
    assert listing.count_users(ctx, admin, search="ann1").label() == "1"


def _explain(ctx, sql: str, params) -> str:
    with ctx.engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: make the planner show what it can use
            cur.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(r[0] for r in cur.fetchall())
        raw.rollback()
    return plan


def _spy(monkeypatch, wanted: str) -> list[tuple[str, object]]:
    """The SQL and parameters of each prepared read, from now on, whose SQL holds ``wanted``."""
    ran: list[tuple[str, object]] = []
    real = prepared.fetch

    def spy(conn, query, values, **kw):
        if wanted in query.sql:
            ran.append((query.sql, query.parameters(values)))
        return real(conn, query, values, **kw)

    monkeypatch.setattr(prepared, "fetch", spy)
    return ran


def test_postgresql_answers_each_kind_of_search_from_its_index(ctx, admin, people, monkeypatch):
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's search indexes (SQLite: test_services_corners.py)")
    ran = _spy(monkeypatch, "LIKE")
    listing.list_users(ctx, admin, search="xyz@ex", limit=100)
    listing.count_users(ctx, admin, search="xyz@ex")
    assert len(ran) == 2
    for sql, params in ran:
        plan = _explain(ctx, sql, params)
        assert "ix_users_search_trgm" in plan and "BitmapOr" not in plan, plan

    ran.clear()
    listing.count_users(ctx, admin, search="ab")
    [(sql, params)] = ran
    plan = _explain(ctx, sql, params)
    for column in ("username", "email", "display_name"):
        assert f"Index Only Scan using ix_users_{column}_prefix" in plan, plan

    ran.clear()
    listing.list_users(ctx, admin, search="ab", limit=100)
    [(sql, params)] = ran
    plan = _explain(ctx, sql, params)
    assert all(f"ix_users_{c}_prefix" in plan for c in ("username", "email", "display_name")), plan


@pytest.mark.parametrize("few", [1, listing.FEW_MATCHES], ids=["many-walk-by-id", "few-read-by-id"])
def test_a_search_with_a_filter_pages_the_same_whichever_way_it_is_read(ctx, admin, make_user, few, monkeypatch):
    """PostgreSQL reads the page of a search with a filter from the ids of all
    its matches when they are few, else in id order; either way, forward and
    back, the pages are the matches in id order."""
    for i in range(12):
        make_user(f"user{i:02d}", email=f"u{i}@example.org", display_name=f"Name {i}",
                  role="viewer" if i % 3 else "member", must_change=i % 4 == 1)
    monkeypatch.setattr(listing, "FEW_MATCHES", few)
    for q, f in (("user", F(role="viewer")), ("exa", F(must_change=True)), ("u1", F(role="viewer")),
                 ("nobody", F(role="viewer")), ("u", F(must_change=False))):
        every = [u for u in listing.list_users(ctx, admin, limit=500).items]
        want = [u.username for u in sorted(every, key=lambda u: u.id)
                if (f.role is None or u.role == f.role)
                and (f.must_change is None or u.must_change_password == f.must_change)
                and (any(q in (v or "").lower() for v in (u.username, u.email, u.display_name)) if len(q) > 2
                     else any((v or "").lower().startswith(q) for v in (u.username, u.email, u.display_name)))]
        got, cursor = [], None
        while True:
            page = listing.list_users(ctx, admin, search=q, filter=f, cursor=cursor, limit=2)
            got += [u.username for u in page.items]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert got == want, (q, f)
        back = listing.list_users(ctx, admin, search=q, filter=f, from_end=True, limit=2)
        assert [u.username for u in back.items] == want[-2:], (q, f)
        if back.prev_cursor:
            before = listing.list_users(ctx, admin, search=q, filter=f, before=back.prev_cursor, limit=2)
            assert [u.username for u in before.items] == want[-4:-2], (q, f)


@pytest.mark.parametrize("f, ix", [(F(blocked=True), "ix_users_key_blocked"), (F(role="viewer"), "ix_users_key_role"),
                                   (F(locked=True), "ix_users_key_locked")])
def test_postgresql_reads_a_search_with_a_rare_state_from_the_states_key_index(ctx, admin, make_user, monkeypatch,
                                                                               f, ix):
    """0009: the search as LIKE on the stored key, from the rare state's
    partial index alone (an index-only scan, its filter on the key)."""
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plans (SQLite: test_services_corners.py)")
    for i in range(30):
        make_user(f"user{i:02d}", email=f"u{i}@example.org", role="viewer" if i % 3 else "member")
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET blocked = (id % 4 = 0), locked_until = now() + interval '1 hour' "
                          "WHERE id % 5 = 0"))
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE users"))
    ran = _spy(monkeypatch, "search_key_like")  # the key's LIKE (search.KEY_SQL)
    for q in ("user", "us"):
        ran.clear()
        listing.list_users(ctx, admin, search=q, filter=f, limit=100)
        listing.count_users(ctx, admin, search=q, filter=f)
        assert len(ran) == 2, q
        page, count = (_explain(ctx, sql, params) for sql, params in ran)
        # the page's ids from the index alone, in id order (no sort of the state's entries), then their rows
        assert f"Index Only Scan using {ix}" in page and "Seq Scan" not in page, page
        assert f"Index Only Scan using {ix}" in count, count

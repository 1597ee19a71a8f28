"""No slow corner (issue 14): every view, filter and order of the user list
returns what a plain reading of the accounts says, whichever index the service
reads it through; states that pass with time show as they are at the clock's
time; and the worst cases read through an index, never by scanning the table
(the query plans, not timings)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import inspect, text

from console.services import listing, prepared, users
from console.services import search as search_index
from console.services.context import Actor
from console.services.listing import UserFilter as F

ROLES = ("member", "member", "member", "admin", "viewer", "helpdesk")


@pytest.fixture
def crowd(ctx, make_user, clock):
    """40 accounts in every mix of states: locked (some until a minute from
    now, some until an hour), lockouts that have passed, expired, blocked,
    must change, external, never signed in."""
    rng = random.Random(14)
    now = clock.now
    for i in range(40):
        role = ROLES[i % len(ROLES)]
        make_user(f"{'ABCDEFGH'[i % 8]}user{i:02d}", role=role, source="okta" if i % 7 == 3 else "local",
                  must_change=i % 5 == 2)

    def stamp(dt):
        return dt.replace(tzinfo=None)

    with ctx.engine.begin() as conn:
        for i, (uid,) in enumerate(conn.execute(text("SELECT id FROM users WHERE username LIKE '%user%' ORDER BY id"))):
            sets = {"last_login_at": None if i % 4 == 1 else stamp(now - timedelta(days=rng.randint(1, 90))),
                    "locked_until": rng.choice([None, None, stamp(now + timedelta(minutes=1)),
                                                stamp(now + timedelta(hours=1)), stamp(now - timedelta(hours=1))]),
                    "password_expires_at": rng.choice([None, stamp(now - timedelta(days=1)),
                                                       stamp(now + timedelta(minutes=2)),
                                                       stamp(now + timedelta(days=30))]),
                    "blocked": i % 6 == 4}
            conn.execute(text("UPDATE users SET last_login_at = :last_login_at, locked_until = :locked_until, "
                              "password_expires_at = :password_expires_at, blocked = :blocked WHERE id = :id"),
                         {**sets, "id": uid})
    return now


def everyone(ctx, actor):
    return walk(ctx, actor, limit=500)


def walk(ctx, actor, *, limit=3, **kw):
    out, cursor = [], None
    while True:
        page = listing.list_users(ctx, actor, cursor=cursor, limit=limit, **kw)
        out += page.items
        if not page.next_cursor:
            return out
        cursor = page.next_cursor


def walk_back(ctx, actor, *, limit=3, **kw):
    page = listing.list_users(ctx, actor, from_end=True, limit=limit, **kw)
    out = list(page.items)
    while page.prev_cursor:
        page = listing.list_users(ctx, actor, before=page.prev_cursor, limit=limit, **kw)
        out = page.items + out
    return out


def matches(u, f: F) -> bool:
    """A filter, read plainly from one account's view (views.UserView)."""
    return ((f.role is None or u.role == f.role) and (f.blocked is None or u.blocked == f.blocked)
            and (f.locked is None or u.locked == f.locked) and (f.expired is None or u.expired == f.expired)
            and (f.must_change is None or u.must_change_password == f.must_change)
            and (f.external is None or u.external == f.external)
            and (f.never_signed_in is None or (u.last_login_at is None) == f.never_signed_in))


def expected(ctx, actor, f: F, order: str) -> list[str]:
    rows = [u for u in everyone(ctx, actor) if matches(u, f)]
    key = (lambda u: (u.username.lower(), u.id)) if order == "username" else (
        lambda u: (u.attention_rank, u.username.lower(), u.id))
    return [u.username for u in sorted(rows, key=key)]


FILTERS = [
    F(), F(locked=True), F(locked=False), F(expired=True), F(expired=False), F(blocked=True), F(blocked=False),
    F(must_change=True), F(must_change=False), F(external=True), F(external=False), F(role="admin"),
    F(role="member"), F(role="viewer"), F(never_signed_in=True), F(never_signed_in=False),
    F(locked=True, role="admin"), F(locked=True, blocked=True), F(expired=True, external=True),
    F(blocked=True, must_change=True), F(role="viewer", expired=True, must_change=False),
    F(role="member", external=False, blocked=False, locked=False, expired=False, must_change=False),
    F(expired=True, locked=False, external=False), F(locked=False, expired=False),
]


@pytest.mark.parametrize("small", [listing.SMALL, 0], ids=["few-timed-read-by-range", "many-read-by-name"])
def test_every_filter_and_order_pages_what_the_accounts_say(ctx, admin, crowd, small, monkeypatch):
    """Forward and backward, across the attention order's ranks, through
    either index a time state can be read by."""
    monkeypatch.setattr(listing, "SMALL", small)
    for f in FILTERS:
        for order in ("username", "attention"):
            want = [n for n in expected(ctx, admin, f, order)]
            assert [u.username for u in walk(ctx, admin, filter=f, order=order)] == want, (f, order)
            assert [u.username for u in walk_back(ctx, admin, filter=f, order=order)] == want, (f, order)
            count = listing.count_users(ctx, admin, filter=f)
            assert count.value == len(want) or f == F(), f


def found(u, q: str) -> bool:
    """A search, read plainly: under three characters the start of a field, else anywhere in it."""
    q = q.lower()
    fields = [(v or "").lower() for v in (u.username, u.email, u.display_name)]
    return any(v.startswith(q) for v in fields) if len(q) < 3 else any(q in v for v in fields)


@pytest.mark.parametrize("key_from", [listing.KEY_FROM, 0],
                         ids=["search-from-its-index", "many-from-key-index-or-a-window-of-ids"])
@pytest.mark.parametrize("small", [listing.SMALL, 0], ids=["few-timed-tested-row-by-row", "many-from-search-index"])
@pytest.mark.parametrize("cap", [listing.COUNT_CAP, 3], ids=["short-search-few", "short-search-many-table-order"])
def test_searches_with_filters_and_orders_agree_with_the_accounts(ctx, admin, crowd, make_user, small, cap, key_from,
                                                                 monkeypatch):
    """Through each index a search with a filter can be read by: the search's
    own (its matches' rows tested for the filter), a rare state's (its rows
    tested for the search), and on SQLite a rare state's key index (its
    entries tested against the search key, 0009, whose ASCII-only lower() is
    folded again where a field holds other characters); on PostgreSQL, a page
    read from a window of the next few ids (_window_page) where it holds the
    page, and otherwise as before."""
    sqlite = ctx.engine.dialect.name == "sqlite"
    windowed = []
    if key_from == 0 and not sqlite:  # (SQLite's key indexes): a window of 7 ids, so that some pages fit and some not
        real_window = listing._window_page
        monkeypatch.setattr(listing, "WINDOW", 7)
        monkeypatch.setattr(listing, "_window_page", lambda *a: windowed.append(real_window(*a)) or windowed[-1])
    make_user("elodie", display_name="Élodie Ärger")  # folded as the full-text index folds it
    make_user("kelvin", display_name="\u212aELVIN Moss", role="viewer", must_change=True)  # KELVIN SIGN: "k"
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET locked_until = :t WHERE username IN ('elodie', 'kelvin')"),
                     {"t": (crowd + timedelta(minutes=30)).replace(tzinfo=None)})
    monkeypatch.setattr(listing, "SMALL", small)
    monkeypatch.setattr(listing, "KEY_FROM", key_from)
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())  # KEY_FROM is a literal of a statement
    plans: list[str] = []
    real_plan = listing._search_plan

    def plan(*a, **kw):
        kind, driver = real_plan(*a, **kw)
        plans.append(kind)
        return kind, driver

    monkeypatch.setattr(listing, "_search_plan", plan)
    full = listing.COUNT_CAP
    for q in ("a", "bu", "user1", "ser0", "ÉLO", "rger", "elvi"):
        for f in (F(), F(locked=True), F(blocked=True), F(expired=True, external=False), F(blocked=False),
                  F(role="viewer"), F(must_change=True, expired=False), F(never_signed_in=True), F(external=True)):
            rows = [u for u in everyone(ctx, admin) if matches(u, f) and found(u, q)]
            by_id = [u.username for u in sorted(rows, key=lambda u: u.id)]
            by_rank = [u.username for u in sorted(rows, key=lambda u: (u.attention_rank, u.id))]
            assert listing.count_users(ctx, admin, search=q, filter=f).value == len(by_id), (q, f)
            monkeypatch.setattr(listing, "COUNT_CAP", cap)  # pages only: "more than the cap match"
            assert [u.username for u in walk(ctx, admin, search=q, filter=f)] == by_id, (q, f)
            assert [u.username for u in walk_back(ctx, admin, search=q, filter=f)] == by_id, (q, f)
            assert [u.username for u in walk(ctx, admin, search=q, filter=f, order="attention")] == by_rank, (q, f)
            assert [u.username for u in walk_back(ctx, admin, search=q, filter=f, order="attention")] == by_rank
            monkeypatch.setattr(listing, "COUNT_CAP", full)
    assert [u.username for u in walk(ctx, admin, search="élo", filter=F(locked=True))] == ["elodie"]
    assert [u.username for u in walk(ctx, admin, search="kelv", filter=F(role="viewer"))] == ["kelvin"]
    assert ({"key", "key_prefix"} <= set(plans)) == (sqlite and key_from == 0)
    assert ({"key_like", "key_like_prefix"} <= set(plans)) == (not sqlite)  # PostgreSQL: with each key filter
    if windowed:  # some pages from their window, some not
        assert any(w is None for w in windowed) and any(w for w in windowed)
    assert bool(windowed) == (key_from == 0 and not sqlite)


def test_a_lockout_that_passes_stops_showing_and_an_expiry_that_comes_starts(ctx, admin, crowd, clock):
    locked_now = {u.username for u in walk(ctx, admin, filter=F(locked=True))}
    expired_now = {u.username for u in walk(ctx, admin, filter=F(expired=True))}
    assert locked_now and expired_now
    clock.advance(minutes=5)  # the one-minute lockouts pass, the two-minute expiries come; nothing is written
    later_locked = {u.username for u in walk(ctx, admin, filter=F(locked=True))}
    later_expired = {u.username for u in walk(ctx, admin, filter=F(expired=True))}
    assert later_locked < locked_now and later_expired > expired_now
    assert later_locked == set(expected(ctx, admin, F(locked=True), "username"))
    assert later_expired == set(expected(ctx, admin, F(expired=True), "username"))
    first = walk(ctx, admin, order="attention")
    assert [u.username for u in first] == expected(ctx, admin, F(), "attention")
    assert not any(u.locked for u in first if u.username in locked_now - later_locked)
    clock.advance(hours=2)
    assert listing.count_users(ctx, admin, filter=F(locked=True)).value == 0
    assert walk(ctx, admin, filter=F(locked=True)) == []


def test_the_services_that_change_a_state_are_seen_at_once(ctx, admin, make_user, clock):
    """The list reads the states the services keep, through indexes the
    database maintains on every write (no copy of them to go stale): each
    service that changes a lockout, an expiry, a block, a forced change or a
    sign-in is seen by the next read, in its view and in the attention order."""
    from console.services import auth, bulk, passwords

    pw = make_user("zed").password.reveal()
    make_user("amy")
    auth.authenticate(ctx, "zed", pw)  # signs in: no longer "never signed in"
    auth.authenticate(ctx, "amy", make_user("bea").password.reveal())  # amy: wrong password, not locked yet

    def view(**f):
        return [u.username for u in walk(ctx, admin, filter=F(**f))]

    def first(n):
        return [u.username for u in walk(ctx, admin, order="attention")][:n]

    assert "zed" not in view(never_signed_in=True) and "amy" in view(never_signed_in=True)
    for _ in range(ctx.settings.user_lockout_failures):
        auth.authenticate(ctx, "zed", "wrong password")
    assert view(locked=True) == ["zed"] and first(1) == ["zed"]
    users.unlock_user(ctx, admin, "zed", reason="called")
    assert view(locked=True) == []
    for _ in range(ctx.settings.user_lockout_failures):
        auth.authenticate(ctx, "zed", "wrong password")
    assert view(locked=True) == ["zed"]
    passwords.reset_password(ctx, admin, "zed", reason="forgot")  # a new password clears the lockout
    assert view(locked=True) == []
    clock.advance(minutes=ctx.settings.user_lockout_minutes + 1)
    passwords.expire_now(ctx, admin, "amy", reason="shared")
    assert view(expired=True) == ["amy"] and first(1) == ["amy"]
    passwords.force_change(ctx, admin, "zed", reason="policy")
    assert "zed" in view(must_change=True)
    passwords.force_change(ctx, admin, "zed", on=False, reason="policy")
    assert "zed" not in view(must_change=True)
    users.block_user(ctx, admin, "zed", reason="x")
    assert view(blocked=True) == ["zed"] and first(2) == ["amy", "zed"]
    users.unblock_user(ctx, admin, "zed", reason="y")
    assert view(blocked=True) == []
    bulk.run(ctx, admin, "expire", F(role="member"), reason="rotate")
    assert set(view(expired=True)) == {"amy", "bea", "zed"}
    passwords.reset_password(ctx, admin, "bea", reason="new")  # a new password: not expired
    assert set(view(expired=True)) == {"amy", "zed"}


def test_the_unfiltered_total_is_counted_or_on_postgresql_a_labelled_estimate(ctx, admin, crowd, monkeypatch):
    n = len(everyone(ctx, admin))
    assert listing.count_users(ctx, admin) == listing.Count(n)  # exact, below ESTIMATE_FROM or on SQLite
    ctx._cache.clear()
    monkeypatch.setattr(listing, "ESTIMATE_FROM", 1)
    with ctx.engine.connect() as conn:
        conn.execute(text("ANALYZE users"))
        conn.commit()
    total = listing.count_users(ctx, admin)
    if ctx.engine.dialect.name == "postgresql":
        assert not total.exact and total.label().startswith("~") and total.value == n
    else:
        assert total == listing.Count(n)


# -- the plans: every read of the worst cases goes through an index --------------------------------------------------

#: (the case, the index its page and count must read, with few timed states / with many)
WORST = [
    (dict(filter=F(locked=True)), "ix_users_locked_until", "ix_users_name_state"),
    (dict(filter=F(expired=True)), "ix_users_password_expires_at", "ix_users_name_state"),
    (dict(filter=F(blocked=True)), "ix_users_blocked_name", "ix_users_blocked_name"),
    (dict(filter=F(must_change=True)), "ix_users_must_change_name", "ix_users_must_change_name"),
    (dict(filter=F(external=True)), "ix_users_external_name", "ix_users_external_name"),
    (dict(filter=F(role="admin")), "ix_users_role_name", "ix_users_role_name"),
    (dict(filter=F(locked=True, blocked=True)), "ix_users_locked_until", "ix_users_blocked_name"),
    (dict(filter=F(expired=True, external=True)), "ix_users_password_expires_at", "ix_users_external_name"),
    (dict(filter=F(blocked=True, must_change=True)), "ix_users_blocked_name", "ix_users_blocked_name"),
    (dict(order="attention"), None, None), (dict(search="qx"), None, None), (dict(search="q"), None, None),
    (dict(search="mail.example.org"), None, None),
    (dict(search="a", filter=F(locked=True)), "ix_users_locked_until", None),
    (dict(search="user", filter=F(locked=True)), "ix_users_locked_until", None),
    (dict(search="user", order="attention"), None, None), (dict(search="a", order="attention"), None, None),
]
LIST_INDEXES = ("ix_users_name_state", "ix_users_role_name", "ix_users_blocked_name", "ix_users_must_change_name",
                "ix_users_external_name", "ix_users_never_name", "ix_users_locked_until",
                "ix_users_password_expires_at")


@pytest.mark.parametrize("small", [listing.SMALL, 0], ids=["few", "many"])
def test_the_worst_cases_read_through_an_index(ctx, admin, crowd, small, monkeypatch):
    """No read scans the table, or scans an index that does not carry the
    states it tests (every row a table lookup): a scan is of a list index."""
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plans (PostgreSQL plans from its statistics)")
    monkeypatch.setattr(listing, "SMALL", small)
    ran: list[tuple[str, object]] = []
    real = prepared.fetch

    def spy(conn, query, values, **kw):
        if "LIMIT" in query.sql:  # the list's reads (not the operator's permission check)
            ran.append((query.sql, query.parameters(values)))
        return real(conn, query, values, **kw)

    monkeypatch.setattr(prepared, "fetch", spy)
    for case, few, many in WORST:
        ran.clear()
        listing.list_users(ctx, admin, limit=100, **case)
        listing.count_users(ctx, admin, search=case.get("search"), filter=case.get("filter"))
        assert ran
        with ctx.engine.connect() as conn:
            raw = conn.connection.driver_connection
            for sql, params in ran:
                plan = [r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]
                for step in plan:
                    if step.startswith("SCAN users") and not step.startswith("SCAN users_fts") \
                            and "NOT INDEXED" not in sql:  # the table in id order, stopping at a page: on purpose
                        assert any(step.endswith(f"INDEX {ix}") for ix in LIST_INDEXES), (case, sql, plan)
                if "ORDER BY lower(users.username)" in sql and "INDEXED BY ix_users_name" in sql:
                    assert not any("TEMP B-TREE" in p for p in plan), (case, plan)
            want = few if small else many
            if want is not None:
                probes = ("ix_users_locked_until", "ix_users_password_expires_at")
                used = {sql.split("INDEXED BY ")[1].split()[0] for sql, _ in ran if "INDEXED BY" in sql}
                assert want in used and used <= {want, *probes}, (case, used)
                page = [sql for sql, _ in ran if "ORDER BY" in sql]
                assert page and all(f"INDEXED BY {want}" in sql for sql in page), (case, page)


# -- the migration ---------------------------------------------------------------------------------------------------

def test_a_0006_database_with_accounts_is_upgraded_to_the_list_indexes(settings, clock):
    """The indexes are built over the accounts already there, on each backend,
    and the list reads them at once; a downgrade takes them away again."""
    from console import db, schema
    from console.security.hashing import Argon2Params
    from console.services.context import ServiceContext

    c = ServiceContext.from_settings(settings, argon2_params=Argon2Params.cheapest(), clock=clock)
    db.create_file(c.engine)
    schema.upgrade(c.engine, "0006")
    now = clock.now.replace(tzinfo=None)
    rows = [("ann", "admin", "local", False, False, now + timedelta(minutes=5), None, now),
            ("bob", "member", "okta", False, False, None, None, None),
            ("cid", "member", "local", True, False, None, now - timedelta(days=1), now),
            ("dee", "viewer", "local", False, True, now - timedelta(minutes=5), now + timedelta(days=9), now)]
    with c.engine.begin() as conn:
        for name, role, source, blocked, must, locked, expires, last in rows:
            conn.execute(text(
                "INSERT INTO users (username, display_name, role, source, must_change_password, blocked, failed_logins, "
                "locked_until, password_expires_at, last_login_at, created_at, updated_at, version) VALUES (:n, '', "
                ":r, :s, :m, :b, 0, :l, :e, :ll, :t, :t, 1)"),
                dict(n=name, r=role, s=source, m=must, b=blocked, l=locked, e=expires, ll=last, t=now))
    assert schema.upgrade(c.engine).current == schema.HEAD
    with c.engine.connect() as conn:
        if c.engine.dialect.name == "sqlite":
            made = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
            assert "ix_users_role" not in made
        else:
            made = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'users'"))}
            assert "ix_users_role" not in made
        assert set(schema.KEY_INDEXES) <= made  # 0009's, over the accounts there
        if c.engine.dialect.name == "sqlite":  # PostgreSQL: an expression its indexes are built on
            assert "search_key" in {col["name"] for col in inspect(conn).get_columns("users")}
        key = "search_key" if c.engine.dialect.name == "sqlite" else search_index.KEY_SQL
        keys = dict(conn.execute(text(f"SELECT username, {key} FROM users")).all())
        assert keys["dee"] == "\x1fdee\x1f\x1f"  # no email, no display name: empty fields, apart
    assert set(LIST_INDEXES) | {"ix_users_count"} <= made
    reader = Actor(None, "t", "viewer", "local")

    def names(**kw):
        return [u.username for u in walk(c, reader, **kw)]

    assert names(filter=F(locked=True)) == ["ann"]  # dee's lockout has passed
    assert names(filter=F(expired=True)) == ["cid"]
    assert names(filter=F(blocked=True)) == ["cid"] and names(filter=F(must_change=True)) == ["dee"]
    assert names(filter=F(external=True)) == ["bob"] and names(filter=F(role="viewer")) == ["dee"]
    assert names(order="attention") == ["ann", "cid", "bob", "dee"]
    assert listing.count_users(c, reader).value == 4
    from alembic import command

    with c.engine.begin() as conn:
        command.downgrade(schema.config(conn), "0006")
    with c.engine.connect() as conn:
        if c.engine.dialect.name == "sqlite":
            left = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
        else:
            left = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'users'"))}
    assert "ix_users_role" in left and not set(LIST_INDEXES) & left and not set(schema.KEY_INDEXES) & left
    with c.engine.connect() as conn:
        assert "search_key" not in {col["name"] for col in inspect(conn).get_columns("users")}
    c.engine.dispose()


@pytest.mark.parametrize("f, ix", [(F(blocked=True), "ix_users_key_blocked"), (F(role="admin"), "ix_users_key_role"),
                                   (F(locked=True, expired=False), "ix_users_key_locked"),
                                   (F(external=True, never_signed_in=True), "ix_users_key_never"),
                                   (F(role="admin", never_signed_in=False, inactive_days=30), "ix_users_key_role")])
@pytest.mark.parametrize("q", ["user", "a"])
def test_a_search_matching_many_with_a_rare_state_reads_the_states_key_index_alone(ctx, admin, crowd, monkeypatch,
                                                                                   f, ix, q):
    """SQLite (0009): the count from the key index alone, and the page in id
    order out of it (no sort), a row read only for each row of the page."""
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's key indexes (0009)")
    monkeypatch.setattr(listing, "KEY_FROM", 0)  # the crowd's searches match few: read them as if many
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())
    monkeypatch.setattr(listing, "SMALL", 0)  # locked: many, not read from its timestamps' range
    ran: list[tuple[str, object]] = []
    real = prepared.fetch

    def spy(conn, query, values, **kw):
        if f"INDEXED BY {ix}" in query.sql:
            ran.append((query.sql, query.parameters(values)))
        return real(conn, query, values, **kw)

    monkeypatch.setattr(prepared, "fetch", spy)
    listing.list_users(ctx, admin, search=q, filter=f, limit=100)
    listing.count_users(ctx, admin, search=q, filter=f)
    assert len(ran) == 2
    with ctx.engine.connect() as conn:
        raw = conn.connection.driver_connection
        page, count = ([r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]
                       for sql, params in ran)
        ops = raw.execute(f"EXPLAIN {ran[1][0]}", ran[1][1]).fetchall()  # (addr, opcode, p1, p2, p3, p4, …)
    assert any(f"INDEX {ix}" in step for step in page) and not any("TEMP B-TREE" in p for p in page), page
    assert any(f"INDEX {ix}" in step for step in count), count
    # The count reads no row: SQLite does not call the index covering (the generated column names the fields it
    # is made of), but every column it reads comes from the index's cursor (its key info "k(…)"), and the table's
    # cursor is only positioned, lazily (DeferredSeek), never read.
    index_cursors = {p1 for _, op, p1, _, _, p4, *_ in ops if op == "OpenRead" and str(p4).startswith("k(")}
    assert index_cursors and {p1 for _, op, p1, *_ in ops if op == "Column"} <= index_cursors, ops


def test_a_search_finds_the_same_through_a_key_index_as_through_its_own(ctx, admin, make_user, monkeypatch):
    """The key path (SQLite: a search matching more than KEY_FROM) folds as the
    other paths do: a prefix ASCII-only, as SQLite's lower() indexes answer it
    (so "él" is no prefix of "Élodie" on either way), and three characters or
    more as the full-text index folds them (a final capital sigma is a sigma)."""
    sqlite = ctx.engine.dialect.name == "sqlite"
    make_user("elodie", display_name="Élodie Roy", role="viewer")
    make_user("odysseus", display_name="ΟΔΥΣΣΕΥΣ", role="viewer")
    make_user("plain", display_name="Eleanor Ευσ", role="viewer")
    make_user("star", display_name="Star*Lord", role="viewer")  # GLOB's own characters, matched as themselves
    make_user("why", display_name="[Why? Not]", role="viewer")
    make_user("starlord", display_name="StarXLord Whyz Not", role="viewer")

    def names(q, f):
        return [u.username for u in walk(ctx, admin, search=q, filter=f)], \
            listing.count_users(ctx, admin, search=q, filter=f).value

    cases = [(q, f) for q in ("él", "ÉL", "ευσ", "ΕΥΣ", "eleanor", "roy", "r*l", "y? n", "[wh", "*", "[", "?")
             for f in (F(role="viewer"), F(external=False))]
    own = {case: names(*case) for case in cases}
    monkeypatch.setattr(listing, "KEY_FROM", -1)  # every search through the key index where the filter has one
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())
    assert {case: names(*case) for case in cases} == own
    if sqlite:
        assert own["ευσ", F(role="viewer")] == (["odysseus", "plain"], 2)
        assert own["él", F(role="viewer")] == ([], 0)
    assert own["r*l", F(role="viewer")] == (["star"], 1) and own["y? n", F(role="viewer")] == (["why"], 1)
    assert own["[wh", F(role="viewer")] == (["why"], 1) and own["[", F(role="viewer")] == (["why"], 1)

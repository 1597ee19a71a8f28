"""Keyset paging both ways, the needs-attention order, and counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from console.services import listing, users
from console.services.errors import InvalidInput
from console.services.listing import UserFilter


@pytest.fixture
def twelve(ctx, make_user):
    for i in range(12):
        make_user(f"u{i:02d}")
    return [f"u{i:02d}" for i in range(12)]


def walk_forward(ctx, actor, **kw):
    names, cursor = [], None
    while True:
        page = listing.list_users(ctx, actor, cursor=cursor, limit=5, **kw)
        names += [u.username for u in page.items]
        if not page.next_cursor:
            return names, page
        cursor = page.next_cursor


def test_before_pages_walk_back_to_the_start(ctx, admin, twelve):
    names, last = walk_forward(ctx, admin, search="u")
    assert names == twelve
    back, before = [], last.prev_cursor
    while before:
        page = listing.list_users(ctx, admin, search="u", before=before, limit=5)
        back = [u.username for u in page.items] + back
        before = page.prev_cursor
    assert back + [u.username for u in last.items] == twelve
    first = listing.list_users(ctx, admin, search="u", limit=5)
    assert first.prev_cursor is None


def test_attention_order_puts_troubled_accounts_first(ctx, admin, clock, twelve):
    now = clock.now
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET last_login_at = :t"), {"t": (now - timedelta(days=1)).replace(tzinfo=None)})
        conn.execute(text("UPDATE users SET locked_until = :t WHERE username = 'u07'"),
                     {"t": (now + timedelta(minutes=5)).replace(tzinfo=None)})
        conn.execute(text("UPDATE users SET password_expires_at = :t WHERE username = 'u03'"),
                     {"t": (now - timedelta(days=1)).replace(tzinfo=None)})
        conn.execute(text("UPDATE users SET blocked = true WHERE username = 'u09'"))
        conn.execute(text("UPDATE users SET last_login_at = NULL WHERE username IN ('u05', 'u01')"))
    names, _ = walk_forward(ctx, admin, search="u", order="attention")
    assert names[:5] == ["u07", "u03", "u09", "u01", "u05"]
    assert sorted(names[5:]) == names[5:] and len(names) == 12
    with pytest.raises(InvalidInput):
        listing.list_users(ctx, admin, order="surname")


def test_count_matches_what_paging_returns(ctx, admin, twelve):
    assert listing.count_users(ctx, admin, search="u0").value == 10
    users.block_user(ctx, admin, "u04", reason="x")
    assert listing.count_users(ctx, admin, filter=UserFilter(blocked=True)).value == 1
    names, _ = walk_forward(ctx, admin, filter=UserFilter(blocked=False), search="u")
    assert len(names) == listing.count_users(ctx, admin, filter=UserFilter(blocked=False), search="u").value == 11


def test_from_end_gives_the_last_page_and_walks_back(ctx, admin, twelve):
    last = listing.list_users(ctx, admin, search="u", from_end=True, limit=5)
    assert [u.username for u in last.items] == twelve[-5:]
    assert last.next_cursor is None and last.prev_cursor
    prev = listing.list_users(ctx, admin, search="u", before=last.prev_cursor, limit=5)
    assert [u.username for u in prev.items] == twelve[-10:-5]
    with pytest.raises(InvalidInput):
        listing.list_users(ctx, admin, from_end=True, cursor=last.prev_cursor)


def test_list_rows_and_single_reads_agree_field_for_field(ctx, admin, clock, make_user):
    """Pages are built from plain columns, single reads from ORM rows: same views."""
    make_user("plain")
    make_user("ext", source="okta", email="ext@example.com", display_name="Ext Ernal")
    make_user("shut", must_change=True)
    users.block_user(ctx, admin, "shut", reason="gone")
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET locked_until = :t, failed_logins = 2 WHERE username = 'plain'"),
                     {"t": (clock.now + timedelta(minutes=5)).replace(tzinfo=None)})
    listed = {u.username: u for u in listing.list_users(ctx, admin, limit=50).items}
    for name in ("plain", "ext", "shut", "admin"):
        assert listed[name] == listing.get_user(ctx, admin, name)
    assert listed["plain"].locked and listed["shut"].blocked and listed["ext"].external

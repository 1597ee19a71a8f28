"""Bulk actions by filter: preview, set-based run, one audit event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from console.services import audit, bulk, listing, sessions, users
from console.services.errors import InvalidInput, PermissionDenied, StaleRecord
from console.services.listing import UserFilter


@pytest.fixture
def population(ctx, clock, make_user):
    """12 members: 4 inactive for 100 days, 2 never signed in, 1 external;
    2 helpdesk accounts."""
    for i in range(12):
        make_user(f"m{i:02d}")
    make_user("ext", source="okta")
    for i in range(2):
        make_user(f"h{i}", role="helpdesk")
    recent = (clock.now - timedelta(days=3)).replace(tzinfo=None)
    old = (clock.now - timedelta(days=100)).replace(tzinfo=None)
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET last_login_at = :t"), {"t": recent})
        conn.execute(text("UPDATE users SET last_login_at = :t WHERE username IN ('m00','m01','m02','m03')"),
                     {"t": old})
        conn.execute(text("UPDATE users SET last_login_at = NULL WHERE username IN ('m04','m05')"))


def flags(ctx, column: str) -> dict[str, object]:
    with ctx.engine.connect() as conn:
        return dict(conn.execute(text(f"SELECT username, {column} FROM users ORDER BY username")).all())


def test_preview_count_equals_the_rows_changed(ctx, admin, population):
    flt = UserFilter(role="member", inactive_days=90)
    p = bulk.preview(ctx, admin, "force_change", flt)
    assert p.count == 6 and p.sample == ["m00", "m01", "m02", "m03", "m04"]
    before = flags(ctx, "version")
    seen = []
    r = bulk.run(ctx, admin, "force_change", flt, expected_count=p.count, reason="stale accounts",
                 progress=lambda done, total: seen.append((done, total)), chunk=3)
    assert r.count == p.count == 6
    after_flags = flags(ctx, "must_change_password")
    changed = {u for u, v in flags(ctx, "version").items() if v != before[u]}
    assert changed == {"m00", "m01", "m02", "m03", "m04", "m05"}
    assert all(after_flags[u] for u in changed) and not any(after_flags[u] for u in set(before) - changed)
    assert seen[-1] == (6, 6) and len(seen) > 1  # progress per id window
    events = audit.query(ctx, admin, action="bulk.force_change").items
    assert len(events) == 1
    assert events[0].details == {"filter": {"role": "member", "inactive_days": 90}, "count": 6,
                                 "sessions_revoked": 0}
    assert events[0].reason == "stale accounts"


def test_expire_skips_accounts_without_a_local_password(ctx, admin, clock, population):
    p = bulk.preview(ctx, admin, "expire", UserFilter())
    r = bulk.run(ctx, admin, "expire", UserFilter(), expected_count=p.count)
    assert r.count == p.count
    expired = listing.count_users(ctx, admin, filter=UserFilter(expired=True)).value
    assert expired == p.count
    assert listing.get_user(ctx, admin, "ext").password_expires_at is None


def test_revoke_sessions_counts_sessions_too(ctx, admin, population):
    for name in ("m00", "m00", "m01", "m07"):
        sessions.open_session(ctx, name)
    flt = UserFilter(role="member", inactive_days=90)
    p = bulk.preview(ctx, admin, "revoke_sessions", flt)
    assert (p.count, p.sessions) == (6, 3)
    r = bulk.run(ctx, admin, "revoke_sessions", flt, expected_count=p.count)
    assert r.sessions_revoked == 3
    assert sessions.list_sessions(ctx, admin, "m07")  # active recently: untouched
    assert sessions.list_sessions(ctx, admin, "m00") == []


def test_a_changed_selection_is_refused_and_nothing_changes(ctx, admin, population):
    flt = UserFilter(role="member", inactive_days=90)
    p = bulk.preview(ctx, admin, "force_change", flt)
    users.create_user(ctx, admin, "m99", must_change=False)  # never signed in: joins the selection
    before = flags(ctx, "must_change_password")
    with pytest.raises(StaleRecord):
        bulk.run(ctx, admin, "force_change", flt, expected_count=p.count)
    assert flags(ctx, "must_change_password") == before
    assert audit.query(ctx, admin, action="bulk.force_change").items[0].outcome == "rejected"


def test_who_may_run_bulk_actions(ctx, admin, helpdesk, viewer, population):
    with pytest.raises(PermissionDenied):
        bulk.preview(ctx, viewer, "expire", UserFilter())
    with pytest.raises(PermissionDenied):
        bulk.run(ctx, viewer, "expire", UserFilter())
    with pytest.raises(PermissionDenied):  # helpdesk: members only, said explicitly
        bulk.run(ctx, helpdesk, "expire", UserFilter(), reason="r", identity_check="i")
    r = bulk.run(ctx, helpdesk, "expire", UserFilter(role="member"), reason="audit finding",
                 identity_check="n/a: policy action")
    assert r.count == 12
    with pytest.raises(InvalidInput):
        bulk.preview(ctx, admin, "delete", UserFilter())
    with pytest.raises(InvalidInput):
        bulk.preview(ctx, admin, "expire", UserFilter(inactive_days=0))


def test_accounts_already_in_the_state_and_the_operator_are_left_alone(ctx, admin, population):
    users.create_user(ctx, admin, "fresh")  # must change already
    p = bulk.preview(ctx, admin, "force_change", UserFilter())
    assert "fresh" not in p.sample and "admin" not in p.sample
    before = flags(ctx, "version")
    r = bulk.run(ctx, admin, "force_change", UserFilter(), expected_count=p.count)
    after = flags(ctx, "version")
    assert after["fresh"] == before["fresh"] and after["admin"] == before["admin"]
    assert r.count == sum(1 for u in after if after[u] != before[u])
    again = bulk.preview(ctx, admin, "force_change", UserFilter())
    assert again.count == 0  # nothing left to change

"""Who learns what: permission before lookup, stale operators, read-only."""

from __future__ import annotations

from datetime import datetime

import pytest

from console.services import audit, listing, passwords, users
from console.services.errors import InvalidInput, PermissionDenied, ReadOnly

from console.services.context import Actor

SYSTEM = Actor.system("test")


def test_viewer_is_denied_before_the_account_is_looked_up(ctx, viewer):
    # Same answer whether the account exists or not: the viewer learns nothing.
    with pytest.raises(PermissionDenied):
        passwords.reset_password(ctx, viewer, "nobody-at-all")
    with pytest.raises(PermissionDenied):
        passwords.reset_password(ctx, viewer, "viewer", expected_version=999)


def test_blocked_operator_can_no_longer_read(ctx, make_operator):
    op = make_operator("viewer", "vera").actor
    assert listing.list_users(ctx, op).items
    users.block_user(ctx, SYSTEM, "vera", reason="left")
    with pytest.raises(PermissionDenied):
        listing.list_users(ctx, op)
    with pytest.raises(PermissionDenied):
        audit.query(ctx, op)


def test_read_only_refuses_own_password_change(make_ctx, ctx, make_operator):
    op = make_operator("admin", "ro")
    ro = make_ctx(read_only=True)
    with pytest.raises(ReadOnly):
        passwords.change_own_password(ro, op.actor, op.password, "a brand new passphrase")


def test_audit_query_needs_time_zones_and_ignores_username_case(ctx, admin, make_user):
    make_user("Alice")
    users.block_user(ctx, admin, "alice", reason="x")
    with pytest.raises(InvalidInput) as ei:
        audit.query(ctx, admin, since=datetime(2020, 1, 1))
    assert ei.value.field == "since"
    assert [e.action for e in audit.query(ctx, admin, user="ALICE").items] == ["user.block", "user.create"]


def test_a_user_signing_in_does_not_make_an_operators_view_stale(ctx, admin, make_user):
    pw = make_user("sam").password.reveal()
    seen = listing.get_user(ctx, admin, "sam").version
    from console.services import auth

    assert auth.authenticate(ctx, "sam", pw).authenticated
    assert auth.authenticate(ctx, "sam", "wrong password").status == "invalid"
    after = listing.get_user(ctx, admin, "sam")
    assert after.last_login_at is not None and after.failed_logins == 1
    passwords.force_change(ctx, admin, "sam", expected_version=seen)  # not STALE_RECORD


def test_a_demoted_operator_can_no_longer_read(ctx, make_operator):
    op = make_operator("viewer", "vic").actor
    users.set_role(ctx, SYSTEM, "vic", "member")
    with pytest.raises(PermissionDenied):
        listing.list_users(ctx, op)


@pytest.mark.parametrize("key, kw", [
    ([[1], 2], {}), ([{"a": 1}, 2], {}), ([True, 2], {}), ([None, 2], {}),
    ([2, "alice"], {}),  # the parts swapped: a text key where the id goes
    (["a", 2], {"search": "example"}),  # a username key for a search, which pages by id
    (["0", "alice", 2], {"order": "attention"}),  # the rank as text
    ([1.5, "alice", 2], {"order": "attention"}),
    (["alice", 2**63], {}),  # beyond any INTEGER column
    ([-2**40], {"search": "example"}),
])
def test_a_forged_cursor_is_a_clean_error(ctx, admin, key, kw):
    from console.services import pagination

    with pytest.raises(InvalidInput) as ei:
        listing.list_users(ctx, admin, cursor=pagination.encode(*key), **kw)
    assert ei.value.field == "cursor"


def test_rows_never_show_their_hash(ctx, make_user):
    from console.models import User
    from sqlmodel import Session, select

    make_user("rita")
    with Session(ctx.engine) as s:
        row = s.exec(select(User).where(User.username == "rita")).one()
        assert row.password_hash and row.password_hash not in repr(row)

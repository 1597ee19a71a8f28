"""The detail view: one read with sessions, tickets, events and what may be done."""

from __future__ import annotations

from console.services import detail, sessions, tickets, users
from console.services.permissions import Action


def test_detail_gathers_the_account(ctx, admin, make_user):
    make_user("ann")
    sessions.open_session(ctx, "ann", client="web")
    tickets.issue_ticket(ctx, admin, "ann")
    users.update_profile(ctx, admin, "ann", display_name="Ann Example")
    d = detail.user_detail(ctx, admin, "ann")
    assert d.user.display_name == "Ann Example"
    assert [s.client for s in d.sessions] == ["web"]
    assert len(d.tickets) == 1
    assert [e.action for e in d.events][:3] == ["user.update", "ticket.issue", "user.create"]


def test_availability_explains_each_refusal(ctx, admin, helpdesk, viewer, make_user, make_ctx):
    make_user("ann")
    make_user("boss", role="admin")
    make_user("ext", source="okta")
    a = detail.user_detail(ctx, admin, "ann").actions
    assert a[Action.RESET_PASSWORD] is None and a[Action.DELETE] is None
    assert "not blocked" in a[Action.UNBLOCK]
    assert "not locked" in a[Action.UNLOCK]
    h = detail.user_detail(ctx, helpdesk, "boss").actions
    assert all("member accounts" in h[x] for x in (Action.RESET_PASSWORD, Action.BLOCK))
    assert "cannot delete accounts" in detail.user_detail(ctx, helpdesk, "ann").actions[Action.DELETE]
    v = detail.user_detail(ctx, viewer, "ann").actions
    assert all(why and "viewer" in why for why in v.values())
    e = detail.user_detail(ctx, admin, "ext").actions
    assert "okta" in e[Action.RESET_PASSWORD] and e[Action.BLOCK] is None
    own = detail.user_detail(ctx, admin, "admin").actions
    assert "own account" in own[Action.DELETE] and "own account" in own[Action.BLOCK]
    ro = detail.user_detail(make_ctx(read_only=True), admin, "ann").actions
    assert all("read-only" in why for why in ro.values())
    nochoice = detail.user_detail(make_ctx(admin_may_set_password=False), admin, "ann").actions
    assert "configuration" in nochoice[Action.SET_PASSWORD]
    users.block_user(ctx, admin, "ann", reason="x")
    b = detail.user_detail(ctx, admin, "ann").actions
    assert b[Action.UNBLOCK] is None and "blocked" in b[Action.ISSUE_TICKET] and "already" in b[Action.BLOCK]

"""console.services.tickets and console.services.sessions."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from console.security import tokens
from console.services import auth, listing, passwords, sessions, tickets, users
from console.services.context import Actor
from console.services.errors import InvalidInput, TicketInvalid, TicketNotFound, UserNotFound, WeakPassword

SYSTEM = Actor.system("test")


def strong() -> str:
    """A random password that passes the policy and never contains a test
    account's name (a base64 draw held ``dee`` about once in 1,400 runs): digits
    and letters that spell none of them."""
    return "PW-" + "".join(secrets.choice("0123456789QRSTUVWXYZ") for _ in range(24))


# -- tickets ----------------------------------------------------------------------------


def test_issue_ticket(ctx, admin, make_user, clock, db_rows, audit_events):
    make_user("alice")
    it = tickets.issue_ticket(ctx, admin, "ALICE", reason="locked out", lifetime_minutes=30)
    token, url = it.token.reveal(), it.url.reveal()
    assert len(token) >= 40
    assert url == ctx.settings.ticket_url_template.format(token=token, username="alice")
    t = it.ticket
    assert (t.username, t.issued_by, t.created_at, t.expires_at) == (
        "alice", "admin", clock.now, clock.now + timedelta(minutes=30))
    assert t.used_at is None and t.revoked_at is None
    assert tickets.list_tickets(ctx, admin, "alice") == [t]
    # only the digest is stored
    [row] = db_rows()["reset_tickets"]
    assert tokens.digest(token) in row and token not in [str(c) for c in row]
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome) == ("ticket.issue", "alice", "ok")
    assert ev.details["ticket_id"] == t.id and ev.details["lifetime_minutes"] == 30
    assert ev.details["superseded"] == 0


def test_ticket_lifetime_defaults_to_config(make_ctx, ctx, admin, make_user, clock):
    make_user("bo")
    assert tickets.issue_ticket(ctx, admin, "bo").ticket.expires_at == clock.now + timedelta(minutes=60)
    c = make_ctx(ticket_lifetime_minutes=5)
    assert tickets.issue_ticket(c, admin, "bo").ticket.expires_at == clock.now + timedelta(minutes=5)


def test_ticket_url_template_with_username(make_ctx, ctx, admin, make_user):
    make_user("cy")
    c = make_ctx(ticket_url_template="https://x.example/r/{username}?t={token}")
    it = tickets.issue_ticket(c, admin, "cy")
    assert it.url.reveal() == f"https://x.example/r/cy?t={it.token.reveal()}"


def test_the_username_in_a_link_is_percent_encoded(make_ctx, ctx, admin, make_user):
    make_user("ann+work@home")
    c = make_ctx(ticket_url_template="https://x.example/reset?user={username}&t={token}")
    it = tickets.issue_ticket(c, admin, "ann+work@home")
    # Unencoded, '+' would reach the application as a space.
    assert it.url.reveal() == f"https://x.example/reset?user=ann%2Bwork%40home&t={it.token.reveal()}"


def test_issuing_supersedes_older_tickets(ctx, admin, make_user, audit_events):
    make_user("dee")
    first = tickets.issue_ticket(ctx, admin, "dee")
    second = tickets.issue_ticket(ctx, admin, "dee")
    assert audit_events()[-1].details["superseded"] == 1
    assert [t.id for t in tickets.list_tickets(ctx, admin, "dee")] == [second.ticket.id]
    ended = tickets.list_tickets(ctx, admin, "dee", include_ended=True)
    assert [t.id for t in ended] == [second.ticket.id, first.ticket.id]  # newest first
    assert ended[1].revoked_reason == "superseded"
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, first.token.reveal(), strong())
    assert tickets.redeem_ticket(ctx, second.token.reveal(), strong()) == "dee"


def test_list_tickets_hides_ended_ones_unless_asked(ctx, admin, make_user, clock):
    make_user("eli")
    it = tickets.issue_ticket(ctx, admin, "eli", lifetime_minutes=10)
    clock.advance(minutes=10)
    assert tickets.list_tickets(ctx, admin, "eli") == []
    assert [t.id for t in tickets.list_tickets(ctx, admin, "eli", include_ended=True)] == [it.ticket.id]
    with pytest.raises(UserNotFound):
        tickets.list_tickets(ctx, admin, "nobody")


def test_revoke_ticket(ctx, admin, make_user, clock, audit_events):
    make_user("fox")
    it = tickets.issue_ticket(ctx, admin, "fox")
    v = tickets.revoke_ticket(ctx, admin, it.ticket.id, reason="sent to wrong address")
    assert v.revoked_at == clock.now and v.revoked_reason == "revoked by operator"
    assert tickets.list_tickets(ctx, admin, "fox") == []
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome, ev.details) == ("ticket.revoke", "fox", "ok", {"ticket_id": it.ticket.id})
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, it.token.reveal(), strong())


def test_revoke_unknown_ticket(ctx, admin):
    with pytest.raises(TicketNotFound) as ei:
        tickets.revoke_ticket(ctx, admin, 424242)
    assert ei.value.code == "TICKET_NOT_FOUND" and "424242" in ei.value.message


@pytest.mark.settings(password_expiry_days=760)  # passwords that expire
def test_redeem_ticket_sets_password_once(ctx, admin, make_user, clock, audit_events):
    old = make_user("gil", must_change=True).password.reveal()
    s = sessions.open_session(ctx, "gil")
    it = tickets.issue_ticket(ctx, admin, "gil")
    clock.advance(minutes=59)
    new = strong()
    assert tickets.redeem_ticket(ctx, it.token.reveal(), new) == "gil"
    assert auth.authenticate(ctx, "gil", new).status == "ok"  # must_change cleared
    assert auth.authenticate(ctx, "gil", old).status == "invalid"
    assert not sessions.check_session(ctx, s.token.reveal()).valid
    v = listing.get_user(ctx, admin, "gil")
    assert v.password_changed_at == clock.now
    assert v.password_expires_at == clock.now + timedelta(days=ctx.settings.password_expiry_days)
    [t] = tickets.list_tickets(ctx, admin, "gil", include_ended=True)
    assert t.used_at == clock.now
    ev = audit_events()[-1]
    assert (ev.operator, ev.action, ev.target, ev.outcome) == ("ticket", "ticket.redeem", "gil", "ok")
    assert ev.details == {"ticket_id": it.ticket.id, "sessions_revoked": 1}
    # single use
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, it.token.reveal(), strong())
    assert auth.authenticate(ctx, "gil", new).status == "ok"


def test_redeem_ticket_expires_with_the_clock(ctx, admin, make_user, clock):
    make_user("hu")
    it = tickets.issue_ticket(ctx, admin, "hu", lifetime_minutes=15)
    clock.advance(minutes=15)
    with pytest.raises(TicketInvalid) as ei:
        tickets.redeem_ticket(ctx, it.token.reveal(), strong())
    assert ei.value.code == "TICKET_INVALID"


def test_redeem_enforces_policy_and_keeps_ticket_usable(ctx, admin, make_user, audit_events):
    make_user("ike")
    it = tickets.issue_ticket(ctx, admin, "ike")
    with pytest.raises(WeakPassword) as ei:
        tickets.redeem_ticket(ctx, it.token.reveal(), "password")
    assert ei.value.details["rules"] == ["length", "not_common"]
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome, ev.error_code) == ("ticket.redeem", "ike", "rejected", "WEAK_PASSWORD")
    assert len(tickets.list_tickets(ctx, admin, "ike")) == 1  # not used up by the failed attempt
    assert tickets.redeem_ticket(ctx, it.token.reveal(), strong()) == "ike"


def test_redeem_refuses_blocked_users(ctx, admin, make_user):
    make_user("jan")
    it = tickets.issue_ticket(ctx, admin, "jan")
    # blocking revokes the ticket, and no new one is issued while blocked
    users.block_user(ctx, admin, "jan", reason="x")
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, it.token.reveal(), strong())
    with pytest.raises(InvalidInput) as ei:
        tickets.issue_ticket(ctx, admin, "jan")
    assert ei.value.rule == "blocked"


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "y" * 500, None, 12345])
def test_redeem_garbage_tokens(ctx, token, audit_events):
    with pytest.raises(TicketInvalid) as ei:
        tickets.redeem_ticket(ctx, token, strong())
    assert ei.value.message == tickets.INVALID
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome, ev.error_code) == ("ticket.redeem", None, "rejected", "TICKET_INVALID")


def test_redeem_only_the_newest_ticket(ctx, admin, make_user, clock):
    """Even if an older ticket were somehow still outstanding, only the newest works."""
    from sqlalchemy import text

    make_user("kat")
    old = tickets.issue_ticket(ctx, admin, "kat")
    clock.advance(seconds=1)
    new = tickets.issue_ticket(ctx, admin, "kat")
    with ctx.engine.begin() as conn:  # un-supersede the old one behind the service's back
        conn.execute(text("UPDATE reset_tickets SET revoked_at = NULL, revoked_reason = NULL"))
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, old.token.reveal(), strong())
    assert tickets.redeem_ticket(ctx, new.token.reveal(), strong()) == "kat"


# -- sessions ----------------------------------------------------------------------------


def test_open_and_check_session(ctx, admin, make_user, clock, db_rows):
    make_user("lou")
    opened = sessions.open_session(ctx, "LOU", client="mobile app 1.2")
    token = opened.token.reveal()
    s = opened.session
    assert (s.username, s.client, s.created_at, s.expires_at) == (
        "lou", "mobile app 1.2", clock.now, clock.now + timedelta(hours=ctx.settings.session_lifetime_hours))
    [row] = db_rows()["user_sessions"]
    assert tokens.digest(token) in row and token not in [str(c) for c in row]

    clock.advance(hours=1)
    chk = sessions.check_session(ctx, token)
    assert chk.valid and chk.username == "lou" and chk.expires_at == s.expires_at
    [listed] = sessions.list_sessions(ctx, admin, "lou")
    assert listed.last_seen_at == clock.now  # check_session touches last_seen_at

    clock.advance(hours=ctx.settings.session_lifetime_hours)
    assert not sessions.check_session(ctx, token).valid
    assert sessions.list_sessions(ctx, admin, "lou") == []
    assert len(sessions.list_sessions(ctx, admin, "lou", include_ended=True)) == 1


@pytest.mark.parametrize("token", ["", "abc", "z" * 43, "z" * 300, None])
def test_check_session_unknown_tokens(ctx, token):
    assert sessions.check_session(ctx, token) == sessions.SessionCheck(False)


def test_open_session_for_unknown_user(ctx):
    with pytest.raises(UserNotFound):
        sessions.open_session(ctx, "ghost")


def test_list_and_revoke_sessions(ctx, admin, make_user, clock, audit_events):
    make_user("max")
    make_user("ned")
    a = sessions.open_session(ctx, "max", client="a")
    clock.advance(seconds=1)
    b = sessions.open_session(ctx, "max", client="b")
    other = sessions.open_session(ctx, "ned")
    assert [s.client for s in sessions.list_sessions(ctx, admin, "max")] == ["b", "a"]  # newest first
    assert sessions.revoke_sessions(ctx, admin, "max", reason="lost phone") == 2
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome, ev.details) == ("sessions.revoke", "max", "ok", {"sessions_revoked": 2})
    assert not sessions.check_session(ctx, a.token.reveal()).valid
    assert not sessions.check_session(ctx, b.token.reveal()).valid
    assert sessions.check_session(ctx, other.token.reveal()).valid
    ended = sessions.list_sessions(ctx, admin, "max", include_ended=True)
    assert {s.revoked_reason for s in ended} == {"revoked by operator"}
    assert sessions.revoke_sessions(ctx, admin, "max") == 0


def test_password_change_by_any_route_revokes_sessions(ctx, admin, make_user):
    make_user("oz")
    s = sessions.open_session(ctx, "oz")
    passwords.set_password(ctx, admin, "oz", strong(), reason="forgot it")
    assert not sessions.check_session(ctx, s.token.reveal()).valid

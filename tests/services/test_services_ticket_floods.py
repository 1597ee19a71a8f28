"""Bogus ticket redemptions (issue 12, item 8): refused before any argon2
work, counted rather than audited one by one, limited per window in total and
per ticket, while a live ticket keeps working."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from console.models import AuditEvent, RedeemFailures
from console.services import auth, tickets
from console.services.errors import RateLimited, TicketInvalid, WeakPassword

from test_services_tickets_sessions import strong


@pytest.fixture
def argon2_calls(ctx, monkeypatch):
    """How many argon2 hashes and verifications the services asked for."""
    calls = {"hash": 0, "verify": 0}
    hasher = ctx.hasher
    for name in calls:
        real = getattr(hasher, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(hasher, name, counted)
    return calls


def bogus() -> str:
    return secrets.token_urlsafe(32)  # the shape of a real token, naming no ticket


def audit_rows(ctx) -> int:
    with ctx.read_session() as s:
        return s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def test_a_used_ticket_is_refused_without_argon2_work(ctx, admin, make_user, argon2_calls):
    make_user("una")
    it = tickets.issue_ticket(ctx, admin, "una")
    tickets.redeem_ticket(ctx, it.token.reveal(), strong())
    before = dict(argon2_calls)
    for token in (it.token.reveal(), bogus(), "x" * 43, "not a token"):
        with pytest.raises(TicketInvalid):
            tickets.redeem_ticket(ctx, token, strong())
    assert argon2_calls == before


def test_a_weak_password_on_a_live_ticket_is_refused_without_argon2_work(ctx, admin, make_user, argon2_calls):
    make_user("val")
    it = tickets.issue_ticket(ctx, admin, "val")
    before = dict(argon2_calls)
    with pytest.raises(WeakPassword):
        tickets.redeem_ticket(ctx, it.token.reveal(), "password")
    assert argon2_calls == before
    assert tickets.redeem_ticket(ctx, it.token.reveal(), strong()) == "val"


def test_a_flood_of_bogus_tokens_is_counted_in_a_few_events_then_rate_limited(
        ctx, admin, make_user, clock, audit_events):
    make_user("wes")
    live = tickets.issue_ticket(ctx, admin, "wes")
    start = audit_rows(ctx)
    last = audit_events()[-1].seq
    limit = tickets.REDEEM_FAILURES_PER_WINDOW
    for _ in range(limit):
        with pytest.raises(TicketInvalid):
            tickets.redeem_ticket(ctx, bogus(), strong())
    for _ in range(limit // 2):
        with pytest.raises(RateLimited) as ei:
            tickets.redeem_ticket(ctx, bogus(), strong())
    assert ei.value.code == "RATE_LIMITED" and "try again after" in ei.value.message
    # 150 refusals, three events: the 1st, the 10th and the 100th
    events = audit_events(after=last)
    assert [e.details["failures_in_window"] for e in events] == [1, 10, 100]
    assert {(e.action, e.outcome, e.error_code) for e in events} == {("ticket.redeem", "rejected", "TICKET_INVALID")}
    assert audit_rows(ctx) == start + 3
    with ctx.read_session() as s:
        [row] = s.exec(select(RedeemFailures)).all()
    assert row[0].failures == limit + limit // 2
    # a live ticket still works during the flood
    assert tickets.redeem_ticket(ctx, live.token.reveal(), strong()) == "wes"
    # the next window starts over and records the last one's total in its first event
    clock.advance(minutes=16)
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, bogus(), strong())
    ev = audit_events()[-1]
    assert ev.details["failures_in_window"] == 1
    assert ev.details["previous_window"]["failures"] == limit + limit // 2


def test_a_ticket_refused_by_the_policy_five_times_is_revoked(ctx, admin, make_user, audit_events):
    make_user("xia")
    it = tickets.issue_ticket(ctx, admin, "xia")
    for _ in range(tickets.TICKET_FAILED_ATTEMPTS):
        with pytest.raises(WeakPassword):
            tickets.redeem_ticket(ctx, it.token.reveal(), "password")
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome) == ("ticket.revoke", "xia", "ok")
    assert ev.details["why"] == "too many failed attempts"
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, it.token.reveal(), strong())
    [t] = tickets.list_tickets(ctx, admin, "xia", include_ended=True)
    assert t.state == "revoked (too many failed attempts)"
    assert auth.authenticate(ctx, "xia", "password").status == "invalid"


def test_a_read_only_console_counts_nothing(make_ctx, ctx, audit_events):
    ro = make_ctx(read_only=True)
    before = audit_events()
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ro, bogus(), strong())
    assert audit_events() == before

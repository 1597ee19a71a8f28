"""console.services.audit: query (filters, pagination) and chain verification
against tampering done with raw SQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from console.services import audit, auditlog, listing, passwords, users
from console.services.context import Actor
from console.services.errors import InvalidInput, PermissionDenied, UserNotFound

SYSTEM = Actor.system("test")


def sql(ctx, stmt: str, **params) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(text(stmt), params)


def all_pages(ctx, actor, limit, **kw):
    out, cursor = [], None
    while True:
        page = audit.query(ctx, actor, cursor=cursor, limit=limit, **kw)
        out.append(page.items)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


@pytest.fixture
def history(ctx, make_user, clock):
    """A small log over three days; returns the start time."""
    t0 = clock.now
    make_user("alice")
    make_user("bob")
    clock.advance(days=1)
    users.block_user(ctx, SYSTEM, "alice", reason="spam")
    passwords.reset_password(ctx, Actor.system("other"), "bob")
    clock.advance(days=1)
    users.unblock_user(ctx, SYSTEM, "alice")
    with pytest.raises(UserNotFound):  # a failure is logged too
        users.delete_user(ctx, Actor.system("other"), "ghost")
    return t0


def test_query_newest_first(ctx, viewer, history):
    page = audit.query(ctx, viewer)
    assert [e.seq for e in page.items] == list(range(len(page.items), 0, -1))
    assert page.next_cursor is None


def test_query_by_user(ctx, viewer, history):
    assert [e.action for e in audit.query(ctx, viewer, user="alice").items] == [
        "user.unblock", "user.block", "user.create"]
    assert [e.action for e in audit.query(ctx, viewer, user="ghost").items] == ["user.delete"]


def test_query_by_operator(ctx, viewer, history):
    evs = audit.query(ctx, viewer, operator="other").items
    assert [(e.action, e.outcome) for e in evs] == [("user.delete", "rejected"), ("password.reset", "ok")]


def test_query_by_action(ctx, viewer, history):
    evs = audit.query(ctx, viewer, action="user.create").items
    assert [e.target for e in evs] == ["bob", "alice", "viewer"]  # the viewer fixture's account too


def test_query_since_until(ctx, viewer, history):
    t0 = history
    day1, day2 = t0 + timedelta(days=1), t0 + timedelta(days=2)
    assert {e.action for e in audit.query(ctx, viewer, since=day1, until=day2).items} == {
        "user.block", "password.reset"}
    assert {e.action for e in audit.query(ctx, viewer, since=day2).items} >= {"user.unblock", "user.delete"}
    assert all(e.at < day1 for e in audit.query(ctx, viewer, until=day1).items)
    assert {e.target for e in audit.query(ctx, viewer, until=day1).items} >= {"alice", "bob"}


def test_query_filters_combine(ctx, viewer, history):
    t0 = history
    evs = audit.query(ctx, viewer, user="alice", operator="test", since=t0 + timedelta(hours=1)).items
    assert [e.action for e in evs] == ["user.unblock", "user.block"]
    assert audit.query(ctx, viewer, user="alice", action="password.reset").items == []


def test_query_pagination_has_no_duplicates_or_gaps(ctx, viewer, history):
    everything = audit.query(ctx, viewer, limit=500).items
    pages = all_pages(ctx, viewer, 2)
    assert all(len(p) == 2 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 2
    assert [e for p in pages for e in p] == everything
    # with a filter as well
    pages = all_pages(ctx, viewer, 1, user="alice")
    assert [e.action for p in pages for e in p] == ["user.unblock", "user.block", "user.create"]


def test_query_event_fields(ctx, viewer, history):
    [ev] = audit.query(ctx, viewer, action="user.block").items
    assert (ev.operator, ev.target, ev.outcome, ev.error_code, ev.reason) == ("test", "alice", "ok", None, "spam")
    assert ev.details == {"sessions_revoked": 0, "tickets_revoked": 0}
    [ev] = audit.query(ctx, viewer, action="user.delete").items
    assert (ev.outcome, ev.error_code) == ("rejected", "USER_NOT_FOUND")
    assert ev.at.tzinfo is not None


@pytest.mark.parametrize("kw, field", [(dict(limit=0), "limit"), (dict(cursor="@@@"), "cursor")])
def test_query_bad_arguments(ctx, viewer, kw, field):
    with pytest.raises(InvalidInput) as ei:
        audit.query(ctx, viewer, **kw)
    assert ei.value.field == field


def test_members_cannot_read_the_audit_log(ctx, make_user):
    u = make_user("m").user
    member = Actor(u.id, "m", "member")
    with pytest.raises(PermissionDenied):
        audit.query(ctx, member)
    with pytest.raises(PermissionDenied):
        audit.verify_chain(ctx, member)


# -- verify_chain ------------------------------------------------------------------------


@pytest.fixture
def chain(ctx, make_user):
    for i in range(6):
        make_user(f"u{i}")
    report = audit.verify_chain(ctx, SYSTEM)
    assert report == audit.ChainReport(True, 6)
    return report


def test_verify_intact_chain(ctx, chain, viewer):
    # including failures and sign-ins written by other code paths
    with pytest.raises(Exception):
        listing.get_user(ctx, viewer, "nobody")
    with pytest.raises(Exception):
        users.delete_user(ctx, SYSTEM, "nobody")
    r = audit.verify_chain(ctx, viewer)
    assert r.ok and r.events == 9 and r.broken_at is None  # 6 + viewer create/sign-in + the failure and r.problem is None


def test_verify_empty_chain(ctx):
    assert audit.verify_chain(ctx, SYSTEM) == audit.ChainReport(True, 0)


def test_verify_small_batches(ctx, chain):
    assert audit.verify_chain(ctx, SYSTEM, batch=2) == audit.ChainReport(True, 6)
    sql(ctx, "UPDATE audit_events SET reason = 'x' WHERE seq = 5")
    assert audit.verify_chain(ctx, SYSTEM, batch=2).broken_at == 5


@pytest.mark.parametrize(
    "column, value",
    [
        ("reason", "nothing to see here"),
        ("operator", "someone-else"),
        ("outcome", "denied"),
        ("target", "u9"),
        ("details", '{"role":"admin","source":"local","password":"generated"}'),
    ],
)
def test_verify_detects_an_edited_row(ctx, chain, column, value):
    sql(ctx, f"UPDATE audit_events SET {column} = :v WHERE seq = 3", v=value)
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 3
    assert "#3" in r.problem and "edited" in r.problem


def test_verify_detects_an_edited_timestamp(ctx, chain, clock):
    later = (clock.now + timedelta(hours=1)).astimezone(timezone.utc).replace(tzinfo=None)
    sql(ctx, "UPDATE audit_events SET at = :at WHERE seq = 2", at=later)
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 2


def test_verify_detects_an_edited_row_with_rehashed_self(ctx, chain):
    """Recomputing the edited row's own hash is not enough: its signature no
    longer matches (and the next row's prev_hash neither)."""
    from console.models import AuditEvent
    from sqlmodel import Session, select

    with Session(ctx.engine) as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.seq == 3)).one()
        ev.reason = "forged"
        ev.hash = auditlog.event_hash(ev.prev_hash, ev)
        s.add(ev)
        s.commit()
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 3 and "#3 is not signed" in r.problem


def test_verify_detects_a_removed_middle_row(ctx, chain):
    sql(ctx, "DELETE FROM audit_events WHERE seq = 3")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 4
    assert "#3" in r.problem and "removed" in r.problem


def test_verify_detects_a_removed_first_row(ctx, chain):
    sql(ctx, "DELETE FROM audit_events WHERE seq = 1")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 2 and "#1" in r.problem


def test_verify_detects_a_removed_last_row(ctx, chain):
    sql(ctx, "DELETE FROM audit_events WHERE seq = 6")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 6
    assert "#5" in r.problem and "#6" in r.problem and "removed" in r.problem


def test_verify_detects_a_removed_tail_even_with_head_rewound_to_count(ctx, chain):
    """Deleting the last row and rewinding the head's seq (but not its hash) is caught."""
    sql(ctx, "DELETE FROM audit_events WHERE seq = 6")
    sql(ctx, "UPDATE audit_head SET seq = 5")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 6


def test_verify_detects_reordered_rows(ctx, chain):
    """Swap the stored order (ids) of events 3 and 4."""
    sql(ctx, "UPDATE audit_events SET id = -3 WHERE seq = 3")
    sql(ctx, "UPDATE audit_events SET id = 3 WHERE seq = 4")
    sql(ctx, "UPDATE audit_events SET id = 4 WHERE seq = 3")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 4
    assert "#3" in r.problem and "reordered" in r.problem and "removed" not in r.problem


def test_verify_detects_swapped_sequence_numbers(ctx, chain):
    """Swap the seq of events 3 and 4, keeping each row in place."""
    sql(ctx, "UPDATE audit_events SET seq = -1 WHERE seq = 3")
    sql(ctx, "UPDATE audit_events SET seq = 3 WHERE seq = 4")
    sql(ctx, "UPDATE audit_events SET seq = 4 WHERE seq = -1")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 4
    assert "#3" in r.problem and "reordered" in r.problem and "removed" not in r.problem


def test_verify_detects_a_duplicated_row(ctx, chain):
    sql(ctx, "UPDATE audit_events SET seq = 100 WHERE seq = 6")  # make room, then copy #2 to the end
    sql(ctx, "INSERT INTO audit_events (seq, at, operator, action, target, outcome, error_code, reason, "
             "identity_check, details, prev_hash, hash) SELECT 200, at, operator, action, target, outcome, "
             "error_code, reason, identity_check, details, prev_hash, hash FROM audit_events WHERE seq = 2")
    r = audit.verify_chain(ctx, SYSTEM)
    assert not r.ok and r.broken_at == 100


def test_appends_continue_a_valid_chain(ctx, chain, make_user, clock):
    clock.advance(days=3)
    make_user("late")
    assert audit.verify_chain(ctx, SYSTEM) == audit.ChainReport(True, 7)


def test_chain_survives_a_non_utc_clock(ctx, settings, make_user):
    """An aware clock in another zone must hash the same as what is read back."""
    from console.security.hashing import Argon2Params
    from console.services.context import ServiceContext

    plus2 = timezone(timedelta(hours=2))
    c = ServiceContext.from_settings(settings, argon2_params=Argon2Params.cheapest(),
                                     clock=lambda: datetime.now(plus2))
    try:
        users.create_user(c, SYSTEM, "zoned")
        assert audit.verify_chain(c, SYSTEM) == audit.ChainReport(True, 1)
    finally:
        c.engine.dispose()


# -- partial filters (the console's) ---------------------------------------------------------


def test_partial_filters_match_any_part_regardless_of_case(ctx, make_user, clock):
    make_user("greta.svensson")
    make_user("margret")
    make_user("bob")
    passwords.reset_password(ctx, SYSTEM, "greta.svensson")
    passwords.expire_now(ctx, SYSTEM, "bob")
    got = audit.query(ctx, SYSTEM, user="GRET", partial=True).items
    assert {e.target for e in got} == {"greta.svensson", "margret"}
    assert audit.query(ctx, SYSTEM, user="gret").items == []  # the CLI's: a name, exactly
    got = audit.query(ctx, SYSTEM, action="password", partial=True).items
    assert {e.action for e in got} == {"password.reset", "password.expire"}
    assert audit.query(ctx, SYSTEM, action="password").items == []
    assert {e.operator for e in audit.query(ctx, SYSTEM, operator="es", partial=True).items} == {"test"}
    # LIKE's wildcards are plain characters here
    assert audit.query(ctx, SYSTEM, user="%", partial=True).items == []
    assert audit.query(ctx, SYSTEM, user="greta_", partial=True).items == []


def test_until_must_be_after_since(ctx, clock):
    with pytest.raises(InvalidInput) as ei:
        audit.query(ctx, SYSTEM, since=clock.now, until=clock.now)
    assert ei.value.field == "until"

"""Two consoles at once on one database (each with its own engine, as two
processes on two hosts would be). Each test holds the first transaction open
inside its audit write, so the second really runs into it, and then checks
that nothing was lost: the final state, the password history and the audit
log tell the same story.

On PostgreSQL the second transaction waits on the account's row lock; on
SQLite, on the database's write lock. Both must come out the same."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from console.services import auditlog, auth, bulk, listing, passwords, tickets
from console.services.errors import StaleRecord, TicketInvalid
from console.services.listing import UserFilter

GOOD = "correct horse battery staple 42"
HOLD = 0.3  # seconds the first writer sits inside its transaction


@pytest.fixture
def slow_audit(monkeypatch):
    """The first audit write of the test (inside its action's transaction)
    waits HOLD seconds before going on; later ones do not."""
    real = auditlog.append
    first = threading.Lock()

    def append(*args, **kwargs):
        if first.acquire(blocking=False):
            time.sleep(HOLD)
        return real(*args, **kwargs)

    monkeypatch.setattr(auditlog, "append", append)


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Start every call at the same moment, each on its own thread; return each
    one's result or the exception it raised, in call order. The first call
    starts a hair earlier, so it is the one held inside its transaction."""
    out: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        if i:
            time.sleep(HOLD / 3)
        try:
            out[i] = call()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a racer never finished (deadlock?)"
    return out


def events(ctx, admin, action: str):
    from console.services import audit

    return sorted((e for e in audit.query(ctx, admin, limit=200).items if e.action == action), key=lambda e: e.seq)


def history_count(ctx, name: str) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM password_history h JOIN users u ON u.id = h.user_id "
                                 "WHERE u.username = :n"), {"n": name}).scalar()


def test_two_resets_of_a_seen_version_one_wins_the_other_is_stale(ctx, make_ctx, admin, make_operator, make_user,
                                                                  slow_audit):
    other = make_operator("admin", "other").actor
    make_user("sam")
    seen = listing.get_user(ctx, admin, "sam").version
    before = history_count(ctx, "sam")
    a, b = make_ctx(), make_ctx()
    results = race(lambda: passwords.reset_password(a, admin, "sam", expected_version=seen, reason="forgot it"),
                   lambda: passwords.reset_password(b, other, "sam", expected_version=seen, reason="forgot it"))
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], StaleRecord), results
    winner = ("admin", "other")[results.index(won[0])]
    assert auth.authenticate(ctx, "sam", won[0].password.reveal()).authenticated
    assert listing.get_user(ctx, admin, "sam").version == seen + 1
    assert history_count(ctx, "sam") == before + 1
    outcomes = [(e.operator, e.outcome, e.error_code) for e in events(ctx, admin, "password.reset")]
    loser = "other" if winner == "admin" else "admin"
    assert outcomes == [(winner, "ok", None), (loser, "rejected", "STALE_RECORD")]


def test_two_resets_without_a_version_both_apply_in_order(ctx, make_ctx, admin, make_operator, make_user, slow_audit):
    other = make_operator("admin", "other").actor
    make_user("sam")
    seen = listing.get_user(ctx, admin, "sam").version
    before = history_count(ctx, "sam")
    first, second = race(lambda: passwords.reset_password(make_ctx(), admin, "sam", reason="forgot it"),
                         lambda: passwords.reset_password(make_ctx(), other, "sam", reason="forgot it"))
    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    ok = events(ctx, admin, "password.reset")
    assert [e.outcome for e in ok] == ["ok", "ok"]
    last = {"admin": first, "other": second}[ok[-1].operator]
    earlier = {"admin": first, "other": second}[ok[0].operator]
    # The state is the later event's: its password works, the earlier one's does not.
    assert auth.authenticate(ctx, "sam", last.password.reveal()).authenticated
    assert not auth.authenticate(ctx, "sam", earlier.password.reveal()).authenticated
    assert listing.get_user(ctx, admin, "sam").version == seen + 2
    assert history_count(ctx, "sam") == before + 2


def test_two_tickets_at_once_leave_exactly_one_valid(ctx, make_ctx, admin, make_operator, make_user, slow_audit):
    other = make_operator("helpdesk", "hd").actor
    make_user("tia")
    first, second = race(lambda: tickets.issue_ticket(make_ctx(), admin, "tia"),
                         lambda: tickets.issue_ticket(make_ctx(), other, "tia", reason="r", identity_check="callback"))
    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    valid = tickets.list_tickets(ctx, admin, "tia")
    assert len(valid) == 1
    issued = events(ctx, admin, "ticket.issue")
    newest = {"admin": first, "hd": second}[issued[-1].operator]
    older = {"admin": first, "hd": second}[issued[0].operator]
    assert valid[0].id == newest.ticket.id
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, older.token.reveal(), GOOD)
    assert tickets.redeem_ticket(ctx, newest.token.reveal(), GOOD) == "tia"


def test_a_bulk_action_racing_a_single_edit_stays_consistent(ctx, make_ctx, admin, make_user, slow_audit):
    """A bulk force-change of every member while an operator resets one of them
    with must_change off: whichever committed last decides that account, and
    the bulk's audited count is the rows it changed."""
    for i in range(30):
        make_user(f"m{i:02d}")
    seen = listing.get_user(ctx, admin, "m07").version
    reset, result = race(
        lambda: passwords.reset_password(make_ctx(), admin, "m07", must_change=False, expected_version=seen,
                                         reason="forgot it"),
        lambda: bulk.run(make_ctx(), admin, "force_change", UserFilter(role="member")),
    )
    assert not isinstance(result, Exception), result
    [bulk_event] = events(ctx, admin, "bulk.force_change")
    resets = events(ctx, admin, "password.reset")
    assert bulk_event.details["count"] == result.count == 30
    assert listing.count_users(ctx, admin, filter=UserFilter(role="member", must_change=True)).value == 30
    if not isinstance(reset, Exception):
        # The reset committed first; the bulk action, later, decided m07 too.
        assert resets[0].outcome == "ok" and resets[0].seq < bulk_event.seq
        assert listing.get_user(ctx, admin, "m07").version == seen + 2
    else:
        # The bulk action committed first and moved m07 on: the reset of the
        # version seen before it is refused, not applied over it.
        assert isinstance(reset, StaleRecord) and resets[0].error_code == "STALE_RECORD"
        assert listing.get_user(ctx, admin, "m07").version == seen + 1
    assert listing.get_user(ctx, admin, "m07").must_change_password
    # An operator still holding the version from before the bulk change is refused, not obeyed blindly.
    with pytest.raises(StaleRecord):
        passwords.reset_password(ctx, admin, "m07", must_change=False, expected_version=seen, reason="forgot it")


def test_two_inits_at_once_make_one_admin(ctx, make_ctx, slow_audit):
    from console.services import setup
    from console.services.errors import UserExists

    other = make_ctx()
    first, second = race(lambda: setup.initialize(ctx, "root1"), lambda: setup.initialize(other, "root2"))
    assert first.user.username == "root1", first
    assert isinstance(second, UserExists) and "already has an admin" in second.message
    with ctx.engine.connect() as conn:
        assert conn.execute(text("SELECT username FROM users WHERE role = 'admin'")).scalars().all() == ["root1"]
    root = auth.sign_in(ctx, "root1", first.password.reveal())
    assert [e.outcome for e in events(ctx, root, "user.create")] == ["ok", "rejected"]

"""The database going away in the middle of an action: nothing is half done,
the caller gets DB_UNAVAILABLE, and the next action works once the database is
back (the pool replaces dead connections)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from console.services import audit, auditlog, auth, listing, passwords, tickets
from console.services.errors import DatabaseUnavailable

pytestmark = pytest.mark.postgresql_only


def snapshot(ctx, name: str) -> tuple:
    """Everything a reset touches, straight from the tables."""
    with ctx.engine.connect() as conn:
        user = conn.execute(text("SELECT password_hash, version, must_change_password, password_changed_at "
                                 "FROM users WHERE username = :n"), {"n": name}).one()
        history = conn.execute(text("SELECT count(*) FROM password_history")).scalar()
        open_tickets = conn.execute(text("SELECT count(*) FROM reset_tickets WHERE revoked_at IS NULL")).scalar()
        events = conn.execute(text("SELECT count(*) FROM audit_events")).scalar()
        head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
    return tuple(user), history, open_tickets, events, tuple(head)


def test_a_connection_cut_inside_a_reset_changes_nothing(ctx, admin, make_user, monkeypatch):
    pw = make_user("sam").password.reveal()
    tickets.issue_ticket(ctx, admin, "sam")
    before = snapshot(ctx, "sam")
    real = auditlog.append

    def cut_then_append(c, s, **kw):
        """Inside the reset's transaction, after its changes: the server ends the session."""
        pid = s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with ctx.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        return real(c, s, **kw)

    monkeypatch.setattr(auditlog, "append", cut_then_append)
    with pytest.raises(DatabaseUnavailable) as ei:
        passwords.reset_password(ctx, admin, "sam", reason="cut")
    assert ei.value.code == "DB_UNAVAILABLE" and "unavailable" in ei.value.message
    monkeypatch.setattr(auditlog, "append", real)
    assert snapshot(ctx, "sam") == before  # nothing of the reset, not even its audit event
    assert auth.authenticate(ctx, "sam", pw).authenticated
    # The same context carries on: the dead connection was dropped from the pool.
    again = passwords.reset_password(ctx, admin, "sam", reason="retry")
    assert auth.authenticate(ctx, "sam", again.password.reveal()).authenticated
    assert audit.verify_chain(ctx, admin).ok


def test_a_server_down_then_up_is_unavailable_then_fine(ctx, admin, make_user, outage):
    make_user("sam")
    listing.list_users(ctx, admin)  # the pool holds connections to the server that goes away
    before = snapshot(ctx, "sam")
    with outage():
        for call in (lambda: passwords.reset_password(ctx, admin, "sam", reason="forgot it"),
                     lambda: listing.list_users(ctx, admin),
                     lambda: listing.get_user(ctx, admin, "sam"),
                     lambda: auth.sign_in(ctx, "sam", "whatever it is")):
            with pytest.raises(DatabaseUnavailable):
                call()
    assert snapshot(ctx, "sam") == before
    assert [u.username for u in listing.list_users(ctx, admin, search="sam").items] == ["sam"]
    passwords.force_change(ctx, admin, "sam")
    assert listing.get_user(ctx, admin, "sam").must_change_password

"""Secret hygiene: after a scripted flow, no password or token that was revealed
(or typed, right or wrong) appears in the database, the audit log, an error
message, a log record (SQL logging included) or the repr of a result."""

from __future__ import annotations

import json
import logging
import secrets

import pytest

from console.security import tokens
from console.services import audit, auth, listing, passwords, sessions, tickets, users
from console.services.errors import ServiceError


def strong() -> str:
    return "Pw" + secrets.token_urlsafe(18)


def test_no_secret_leaks_anywhere(ctx, make_operator, db_rows, audit_events, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # echo="debug": statements, params, rows

    secret_values: list[str] = []
    errors: list[ServiceError] = []
    results: list[object] = []

    def keep(*values):
        for v in values:
            assert isinstance(v, str) and len(v) >= 15
            secret_values.append(v)

    def fails(call):
        with pytest.raises(ServiceError) as ei:
            call()
        errors.append(ei.value)

    op = make_operator("admin", "boss")
    keep(op.password)
    results.append(op.actor)

    # create with a generated password
    created = users.create_user(ctx, op.actor, "alice", email="alice@example.com", display_name="Alice")
    keep(created.password.reveal())
    results.append(created)

    # reset (generated)
    reset = passwords.reset_password(ctx, op.actor, "alice", reason="forgot", must_change=False)
    keep(reset.password.reveal())
    results.append(reset)

    # set (chosen), and refused attempts with passwords that must not be echoed
    chosen = strong()
    keep(chosen)
    results.append(passwords.set_password(ctx, op.actor, "alice", chosen, reason="forgot it"))
    personal = "alice-" + secrets.token_hex(10)
    keep(personal)
    fails(lambda: passwords.set_password(ctx, op.actor, "alice", personal, reason="forgot it"))
    fails(lambda: passwords.set_password(ctx, op.actor, "alice", chosen, reason="forgot it"))  # reuse

    # ticket: issue, redeem (a weak attempt first), then reuse of the used token
    issued = tickets.issue_ticket(ctx, op.actor, "alice", reason="locked out")
    keep(issued.token.reveal(), issued.url.reveal())
    results.append(issued)
    weak_redeem = "short" + secrets.token_hex(3)  # 11 characters: too short
    fails(lambda: tickets.redeem_ticket(ctx, issued.token.reveal(), weak_redeem))
    redeemed = strong()
    keep(redeemed)
    results.append(tickets.redeem_ticket(ctx, issued.token.reveal(), redeemed))
    fails(lambda: tickets.redeem_ticket(ctx, issued.token.reveal(), strong()))
    forged = secrets.token_urlsafe(32)
    keep(forged)
    fails(lambda: tickets.redeem_ticket(ctx, forged, strong()))

    # the application: authenticate (right and wrong), open and check a session
    results.append(auth.authenticate(ctx, "alice", redeemed))
    wrong = "wrong-" + secrets.token_hex(10)
    keep(wrong)
    results.append(auth.authenticate(ctx, "alice", wrong))
    results.append(auth.authenticate(ctx, "nobody", wrong))
    opened = sessions.open_session(ctx, "alice", client="browser")
    keep(opened.token.reveal())
    results.append(opened)
    results.append(sessions.check_session(ctx, opened.token.reveal()))
    results.append(sessions.check_session(ctx, forged))

    # operator sign-in with a wrong password, then change own password
    fails(lambda: auth.sign_in(ctx, "boss", wrong))
    fails(lambda: auth.sign_in(ctx, "nobody", wrong))
    fails(lambda: passwords.change_own_password(ctx, op.actor, wrong, strong()))
    new_own = strong()
    keep(new_own)
    actor = passwords.change_own_password(ctx, op.actor, op.password, new_own)
    results.append(actor)
    results.append(passwords.reset_password(ctx, actor, "alice", reason="forgot it"))
    keep(results[-1].password.reveal())
    results.append(listing.list_users(ctx, actor))
    results.append(audit.query(ctx, actor, limit=500))
    results.append(audit.verify_chain(ctx, actor))
    assert len(errors) == 8

    secret_values = list(dict.fromkeys(secret_values))
    digests = [tokens.digest(s) for s in (issued.token.reveal(), opened.token.reveal())]

    def leaks(haystack: str) -> list[str]:
        return [s for s in secret_values if s in haystack]

    # 1. every column of every row of every table
    rows = db_rows()
    assert rows["users"] and rows["reset_tickets"] and rows["user_sessions"] and rows["audit_events"]
    for table, table_rows in rows.items():
        for row in table_rows:
            for value in row:
                assert not leaks(str(value)), f"secret in {table}: {row}"

    # 2. the audit log: no secret, and no hash or token digest either
    events = audit_events()
    assert len(events) > 15
    for ev in events:
        text = json.dumps(ev.details) + (ev.reason or "") + (ev.identity_check or "") + repr(ev)
        assert not leaks(text), ev
        assert "$argon2" not in text, ev
        assert not any(d in text for d in digests), ev
    for row in rows["audit_events"]:
        assert "$argon2" not in " ".join(map(str, row))

    # 3. error messages, details and reprs
    for err in errors:
        for text in (str(err), repr(err), err.message, json.dumps(err.as_dict()), repr(err.details),
                     repr(getattr(err, "failures", ""))):
            assert not leaks(text), err

    # 4. logs, SQL logging included (and make sure SQL logging really was on)
    assert "INSERT INTO users" in caplog.text and "UPDATE users" in caplog.text
    assert "INSERT INTO reset_tickets" in caplog.text and "INSERT INTO user_sessions" in caplog.text
    for rec in caplog.records:
        assert not leaks(rec.getMessage()), rec.getMessage()
        assert not leaks(repr(rec.args)), rec.args
    assert not leaks(caplog.text)
    out = capsys.readouterr()
    assert not leaks(out.out + out.err)

    # 5. reprs of whatever came back
    for r in results:
        assert not leaks(repr(r)) and not leaks(str(r)), repr(r)

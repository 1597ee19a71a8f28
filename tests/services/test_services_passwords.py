"""console.services.passwords: reset (generated), set (chosen), change own,
force change, expire."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from console.services import auth, listing, passwords, sessions, tickets, users
from console.services.errors import AuthFailed, PasswordChangeRequired, ReasonRequired, ServiceError, WeakPassword


def strong() -> str:
    """A password the default (nist) policy accepts: 24 random URL-safe characters."""
    return "Pw" + secrets.token_urlsafe(18)


# -- reset_password ------------------------------------------------------------------


@pytest.mark.settings(password_expiry_days=760)  # passwords that expire
def test_reset_returns_a_password_that_verifies_against_the_stored_hash(ctx, admin, make_user, clock, audit_events):
    old = make_user("alice").password.reveal()
    clock.advance(minutes=5)
    res = passwords.reset_password(ctx, admin, "alice", reason="forgot")
    new = res.password.reveal()
    assert new != old
    assert auth.authenticate(ctx, "alice", new).status == "ok"
    assert auth.authenticate(ctx, "alice", old).status == "invalid"
    assert res.user.password_changed_at == clock.now
    assert res.user.password_expires_at == clock.now + timedelta(days=ctx.settings.password_expiry_days)
    assert res.entropy_bits >= 192
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome, ev.reason) == ("password.reset", "alice", "ok", "forgot")
    assert ev.details["sessions_revoked"] == 0 and ev.details["tickets_revoked"] == 0
    assert ev.details["must_change"] is False


def test_reset_revokes_sessions_and_outstanding_tickets(ctx, admin, make_user):
    make_user("bob")
    s1 = sessions.open_session(ctx, "bob")
    s2 = sessions.open_session(ctx, "bob")
    t = tickets.issue_ticket(ctx, admin, "bob")
    res = passwords.reset_password(ctx, admin, "bob", reason="forgot it")
    assert (res.sessions_revoked, res.tickets_revoked) == (2, 1)
    assert not sessions.check_session(ctx, s1.token.reveal()).valid
    assert not sessions.check_session(ctx, s2.token.reveal()).valid
    assert sessions.list_sessions(ctx, admin, "bob") == []
    assert tickets.list_tickets(ctx, admin, "bob") == []
    [ended] = tickets.list_tickets(ctx, admin, "bob", include_ended=True)
    assert ended.revoked_reason == "password reset"
    with pytest.raises(ServiceError) as ei:
        tickets.redeem_ticket(ctx, t.token.reveal(), strong())
    assert ei.value.code == "TICKET_INVALID"


def test_reset_clears_lockout(ctx, admin, make_user):
    make_user("carl")
    for _ in range(ctx.settings.user_lockout_failures):
        auth.authenticate(ctx, "carl", "wrong-wrong-wrong")
    assert listing.get_user(ctx, admin, "carl").locked
    res = passwords.reset_password(ctx, admin, "carl", reason="forgot it")
    assert not res.user.locked and res.user.failed_logins == 0
    assert auth.authenticate(ctx, "carl", res.password.reveal()).status == "ok"


@pytest.mark.parametrize("initial", [False, True])
def test_reset_must_change_none_keeps_the_flag(ctx, admin, make_user, initial):
    make_user("dana", must_change=initial)
    res = passwords.reset_password(ctx, admin, "dana", must_change=None, reason="forgot it")
    assert res.user.must_change_password is initial
    assert listing.get_user(ctx, admin, "dana").must_change_password is initial


@pytest.mark.parametrize("initial", [False, True])
@pytest.mark.parametrize("wanted", [False, True])
def test_reset_must_change_true_false_sets_the_flag(ctx, admin, make_user, initial, wanted):
    make_user("dana", must_change=initial)
    res = passwords.reset_password(ctx, admin, "dana", must_change=wanted, reason="forgot it")
    assert res.user.must_change_password is wanted
    status = auth.authenticate(ctx, "dana", res.password.reveal()).status
    assert status == ("must_change" if wanted else "ok")


@pytest.mark.settings(password_expiry_days=760)  # passwords that expire
def test_reset_expiry_default_override_and_zero(make_ctx, ctx, admin, make_user, clock):
    make_user("erin")
    default = passwords.reset_password(ctx, admin, "erin", reason="forgot it")
    assert default.user.password_expires_at == clock.now + timedelta(days=760)

    other_default = make_ctx(password_expiry_days=30)
    r30 = passwords.reset_password(other_default, admin, "erin", reason="forgot it")
    assert r30.user.password_expires_at == clock.now + timedelta(days=30)

    r7 = passwords.reset_password(ctx, admin, "erin", expiry_days=7, reason="forgot it")
    assert r7.user.password_expires_at == clock.now + timedelta(days=7)
    clock.advance(days=7, seconds=1)
    assert listing.get_user(ctx, admin, "erin").expired
    assert auth.authenticate(ctx, "erin", r7.password.reveal()).status == "expired"

    r0 = passwords.reset_password(ctx, admin, "erin", expiry_days=0, reason="forgot it")
    assert r0.user.password_expires_at is None
    clock.advance(days=36500)
    assert auth.authenticate(ctx, "erin", r0.password.reveal()).status == "ok"


def test_reset_keeps_history_trimmed_to_policy_depth(ctx, admin, make_user, db_rows):
    make_user("fay")
    depth = ctx.policy.history
    for _ in range(depth + 3):
        passwords.reset_password(ctx, admin, "fay", reason="forgot it")
    assert len(db_rows()["password_history"]) == depth


# -- set_password ----------------------------------------------------------------------


def test_set_password(ctx, admin, make_user, clock, audit_events):
    old = make_user("gus").password.reveal()
    s = sessions.open_session(ctx, "gus")
    t = tickets.issue_ticket(ctx, admin, "gus")
    pw = strong()
    v = passwords.set_password(ctx, admin, "gus", pw, must_change=True, expiry_days=10, reason="on the phone")
    assert v.must_change_password and v.password_expires_at == clock.now + timedelta(days=10)
    assert auth.authenticate(ctx, "gus", pw).status == "must_change"
    assert auth.authenticate(ctx, "gus", old).status == "invalid"
    assert not sessions.check_session(ctx, s.token.reveal()).valid
    assert tickets.list_tickets(ctx, admin, "gus") == []
    with pytest.raises(ServiceError):
        tickets.redeem_ticket(ctx, t.token.reveal(), strong())
    ev = [e for e in audit_events() if e.action == "password.set"][-1]
    assert ev.outcome == "ok" and ev.details["sessions_revoked"] == 1 and ev.details["tickets_revoked"] == 1


@pytest.mark.settings(password_expiry_days=760)  # passwords that expire
def test_set_password_defaults_keep_flag_and_use_configured_expiry(ctx, admin, make_user, clock):
    make_user("hal", must_change=True)
    v = passwords.set_password(ctx, admin, "hal", strong(), reason="forgot it")
    assert v.must_change_password is True
    assert v.password_expires_at == clock.now + timedelta(days=ctx.settings.password_expiry_days)
    v = passwords.set_password(ctx, admin, "hal", strong(), must_change=False, expiry_days=0, reason="forgot it")
    assert v.must_change_password is False and v.password_expires_at is None


def test_set_password_normalises_unicode(ctx, admin, make_user):
    make_user("ida")
    # U+FB01 (ﬁ ligature) normalises to "fi" under NFKC. A fixed tail: a random
    # one may hold "1da", which reads as "ida" and fails not_personal.
    pw = "\ufb01le-cabinet-Wq7vRz"
    passwords.set_password(ctx, admin, "ida", pw, reason="forgot it")
    assert auth.authenticate(ctx, "ida", "file-cabinet-" + pw[len("\ufb01le-cabinet-"):]).status == "ok"


def test_set_password_refuses_recent_passwords(ctx, admin, make_user):
    make_user("jo")
    first = strong()
    passwords.set_password(ctx, admin, "jo", first, reason="forgot it")
    passwords.set_password(ctx, admin, "jo", strong(), reason="forgot it")
    with pytest.raises(WeakPassword) as ei:
        passwords.set_password(ctx, admin, "jo", first, reason="forgot it")
    assert ei.value.details["rules"] == ["not_reused"]


# -- change_own_password ------------------------------------------------------------------


def test_change_own_password_returns_reauthenticated_actor(ctx, make_operator, audit_events):
    op = make_operator("helpdesk", "hd", must_change=True)
    assert op.actor.must_change_password
    with pytest.raises(PasswordChangeRequired):
        users.create_user(ctx, op.actor, "newbie", reason="r", identity_check="i")
    new = strong()
    actor = passwords.change_own_password(ctx, op.actor, op.password, new)
    assert (actor.id, actor.username, actor.role, actor.method) == (op.actor.id, "hd", "helpdesk", "password")
    assert actor.must_change_password is False
    assert auth.sign_in(ctx, "hd", new).username == "hd"
    with pytest.raises(AuthFailed):
        auth.sign_in(ctx, "hd", op.password)
    assert auth.authenticate(ctx, "hd", op.password).status == "invalid"
    ev = [e for e in audit_events() if e.action == "password.change_own"][-1]
    assert (ev.operator, ev.target, ev.outcome) == ("hd", "hd", "ok")
    # now the operator may act
    assert users.create_user(ctx, actor, "newbie", reason="r", identity_check="i").user.username == "newbie"


def test_change_own_password_with_wrong_old_password_changes_nothing(ctx, make_operator, audit_events):
    op = make_operator("viewer", "vi")
    before = listing.get_user(ctx, op.actor, "vi")
    with pytest.raises(AuthFailed):
        passwords.change_own_password(ctx, op.actor, "not-my-password-at-all", strong())
    after = listing.get_user(ctx, op.actor, "vi")
    assert after.console_failed_logins == before.console_failed_logins + 1  # counts towards the console's lockout
    assert after.password_changed_at == before.password_changed_at
    assert auth.sign_in(ctx, "vi", op.password).username == "vi"
    ev = [e for e in audit_events() if e.target == "vi"][-2]
    assert (ev.action, ev.outcome, ev.error_code) == ("operator.sign_in", "denied", "AUTH_FAILED")


def test_change_own_password_enforces_policy_and_history(ctx, make_operator, audit_events):
    op = make_operator("admin", "root2")
    before = listing.get_user(ctx, op.actor, "root2")
    with pytest.raises(WeakPassword) as ei:
        passwords.change_own_password(ctx, op.actor, op.password, op.password)
    assert "not_reused" in ei.value.details["rules"]
    with pytest.raises(WeakPassword) as ei:
        passwords.change_own_password(ctx, op.actor, op.password, "root2-" + secrets.token_hex(8))
    assert ei.value.details["rules"] == ["not_personal"]
    assert listing.get_user(ctx, op.actor, "root2") == before
    ev = audit_events()[-1]
    assert (ev.action, ev.outcome, ev.error_code) == ("password.change_own", "rejected", "WEAK_PASSWORD")


# -- force_change / expire_now ----------------------------------------------------------------


def test_force_change_on_and_off(ctx, admin, make_user, audit_events):
    pw = make_user("kay").password.reveal()
    v = passwords.force_change(ctx, admin, "kay")
    assert v.must_change_password and "must-change" in v.status
    assert auth.authenticate(ctx, "kay", pw).status == "must_change"
    assert audit_events()[-1].details == {"must_change": True}
    v = passwords.force_change(ctx, admin, "kay", on=False)
    assert not v.must_change_password
    assert auth.authenticate(ctx, "kay", pw).status == "ok"


def test_force_change_on_an_operator_blocks_their_actions_until_they_change(ctx, admin, make_operator, make_user):
    op = make_operator("helpdesk", "hd4")
    make_user("m")
    passwords.force_change(ctx, admin, "hd4")
    with pytest.raises(PasswordChangeRequired):
        users.block_user(ctx, op.actor, "m", reason="r", identity_check="i")
    actor = passwords.change_own_password(ctx, op.actor, op.password, strong())
    assert users.block_user(ctx, actor, "m", reason="r", identity_check="i").blocked


def test_expire_now(ctx, admin, make_user, clock, audit_events):
    pw = make_user("lee").password.reveal()
    v = passwords.expire_now(ctx, admin, "lee", reason="breach")
    assert v.expired and v.password_expires_at == clock.now and "expired" in v.status
    assert auth.authenticate(ctx, "lee", pw).status == "expired"
    assert audit_events()[-1].details == {"expired_at": clock.now.isoformat()}


def test_expired_operator_password_requires_a_change_before_acting(ctx, admin, make_operator, make_user):
    op = make_operator("admin", "adm2")
    make_user("m")
    passwords.expire_now(ctx, admin, "adm2")
    actor = auth.sign_in(ctx, "adm2", op.password)
    assert actor.must_change_password
    with pytest.raises(PasswordChangeRequired):
        users.block_user(ctx, actor, "m", reason="r")
    assert not listing.get_user(ctx, admin, "m").blocked
    actor = passwords.change_own_password(ctx, actor, op.password, strong())
    assert not actor.must_change_password
    assert users.block_user(ctx, actor, "m", reason="r").blocked


def test_no_argon2_work_while_a_write_transaction_is_open(ctx, admin, make_operator, make_user, monkeypatch):
    """Hashing and history checks (each ~0.1 s with real parameters) happen
    before the write lock: on SQLite that lock stops every other writer."""
    from console.services import tickets

    op = make_operator("admin", "opal")
    make_user("sam")
    open_writes = [0]
    under_lock: list[str] = []
    real_session = ctx.write_session

    class Tracked:
        def __init__(self) -> None:
            self.session = real_session()

        def __enter__(self):
            open_writes[0] += 1
            return self.session.__enter__()

        def __exit__(self, *exc):
            try:
                return self.session.__exit__(*exc)
            finally:
                open_writes[0] -= 1

    def watched(name, real):
        def call(*args, **kwargs):
            if open_writes[0]:
                under_lock.append(name)
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(ctx, "write_session", Tracked)
    monkeypatch.setattr(ctx.hasher, "hash", watched("hash", ctx.hasher.hash))
    monkeypatch.setattr(ctx.hasher, "verify", watched("verify", ctx.hasher.verify))
    first = "an operator chose this one 1"
    passwords.set_password(ctx, admin, "sam", first, reason="forgot it")
    passwords.set_password(ctx, admin, "sam", "and then this other one 2", reason="r")  # checked against the history
    with pytest.raises(WeakPassword):
        passwords.set_password(ctx, admin, "sam", first, reason="r")  # in the history: refused, still no work under the lock
    passwords.reset_password(ctx, admin, "sam", reason="forgot it")
    token = tickets.issue_ticket(ctx, admin, "sam").token.reveal()
    tickets.redeem_ticket(ctx, token, "the user picked this one 3")
    passwords.change_own_password(ctx, op.actor, op.password, "the operator has a new one 4")
    from console.services import auth

    assert auth.authenticate(ctx, "sam", "the user picked this one 3").authenticated
    assert not auth.authenticate(ctx, "sam", "not it at all 5").authenticated
    assert not auth.authenticate(ctx, "nobody-here", "not it at all 5").authenticated
    assert auth.sign_in(ctx, "opal", "the operator has a new one 4").username == "opal"
    assert open_writes == [0] and under_lock == []


def test_a_password_changed_between_the_check_and_the_lock_is_judged_as_it_is_now(ctx, admin, make_user):
    from console.services import auth
    from console.services.base import find_user

    old = make_user("sam").password.reveal()
    verdict = auth._Verdict(ctx, "sam", old)  # checked before the lock: right
    new = passwords.reset_password(ctx, admin, "sam", reason="r").password.reveal()  # meanwhile, another console
    with ctx.write_session() as s:
        result, _ = verdict.for_(find_user(s, "sam", for_update=True))
    assert not result.ok  # judged against the hash stored now
    assert auth._Verdict(ctx, "sam", new).result.ok


def test_with_reason_required_off_an_admin_resets_without_a_reason_and_helpdesk_still_gives_one(
        make_ctx, admin, helpdesk, make_user, audit_events):
    make_user("bob")
    relaxed = make_ctx(reason_required=False)
    res = passwords.reset_password(relaxed, admin, "bob")
    assert res.password.reveal()
    passwords.set_password(relaxed, admin, "bob", strong())
    assert [(e.action, e.outcome, e.reason) for e in audit_events()[-2:]] == [
        ("password.reset", "ok", None), ("password.set", "ok", None)]
    with pytest.raises(ReasonRequired):
        passwords.reset_password(relaxed, helpdesk, "bob", identity_check="badge")

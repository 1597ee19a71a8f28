"""console.services.auth: operator sign-in (with lockout), trusted operator mode,
and ``authenticate`` for the integrating application."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from console.security.hashing import Argon2Params
from console.services import auth, listing, users
from console.services.auth import AuthResult
from console.services.context import Actor
from console.services.errors import AuthFailed, InvalidInput, LockedOut, PermissionDenied

SYSTEM = Actor.system("test")
WRONG = "definitely-not-the-password"


def stored_hash(ctx, username: str) -> str:
    with ctx.engine.connect() as conn:
        return conn.execute(text("SELECT password_hash FROM users WHERE username = :u"), {"u": username}).scalar_one()


# -- sign_in ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "helpdesk", "viewer"])
def test_sign_in_operator(ctx, make_user, clock, role, audit_events):
    r = make_user("op", role=role)
    actor = auth.sign_in(ctx, "OP", r.password.reveal())
    assert actor == Actor(r.user.id, "op", role, "password", False)
    assert listing.get_user(ctx, SYSTEM, "op").last_login_at == clock.now
    ev = audit_events()[-1]
    assert (ev.action, ev.operator, ev.target, ev.outcome, ev.details) == (
        "operator.sign_in", "op", "op", "ok", {"method": "password"})


def test_sign_in_without_audit_success(ctx, make_user, audit_events):
    r = make_user("op", role="admin")
    n = len(audit_events())
    auth.sign_in(ctx, "op", r.password.reveal(), audit_success=False)
    assert len(audit_events()) == n


@pytest.mark.settings(password_expiry_days=760)  # passwords that expire
def test_sign_in_must_change_and_expired_are_reported_on_the_actor(ctx, make_user, clock):
    r = make_user("op1", role="admin", must_change=True)
    assert auth.sign_in(ctx, "op1", r.password.reveal()).must_change_password
    r2 = make_user("op2", role="admin")
    clock.advance(days=ctx.settings.password_expiry_days)
    assert auth.sign_in(ctx, "op2", r2.password.reveal()).must_change_password


def test_a_password_typed_as_the_operator_name_is_not_kept_in_the_audit(ctx, make_user, audit_events):
    make_user("op", role="viewer")
    for typed in ("Tr0ub4dor3x", "bad name with spaces!"):
        with pytest.raises(AuthFailed):
            auth.sign_in(ctx, typed, WRONG)
        ev = audit_events()[-1]
        assert (ev.operator, ev.target, ev.details["name_length"]) == ("(unknown name)", None, len(typed))
        assert typed not in repr(ev) and typed.lower() not in repr(ev).lower()
    with pytest.raises(AuthFailed):
        auth.sign_in(ctx, "OP", WRONG)  # an existing operator's name is kept, as the account spells it
    assert (audit_events()[-1].operator, audit_events()[-1].target) == ("op", "op")


def test_sign_in_failures_look_the_same(ctx, make_user, audit_events):
    member = make_user("mem").password.reveal()
    make_user("ext", role="admin", source="okta")
    op = make_user("op", role="viewer").password.reveal()
    messages = set()
    for name, pw in [("nobody", WRONG), ("op", WRONG), ("mem", member), ("ext", WRONG), ("bad name!", WRONG)]:
        with pytest.raises(AuthFailed) as ei:
            auth.sign_in(ctx, name, pw)
        assert ei.value.code == "AUTH_FAILED" and ei.value.outcome == "denied"
        messages.add(ei.value.message)
        ev = audit_events()[-1]
        assert (ev.action, ev.outcome, ev.error_code) == ("operator.sign_in", "denied", "AUTH_FAILED")
    assert messages == {"wrong username or password"}
    assert audit_events()[-1].operator == "(unknown name)"
    assert listing.get_user(ctx, SYSTEM, "op").console_failed_logins == 1
    assert listing.get_user(ctx, SYSTEM, "mem").failed_logins == 0
    assert auth.sign_in(ctx, "op", op).username == "op"
    assert listing.get_user(ctx, SYSTEM, "op").failed_logins == 0  # success resets the count


def test_sign_in_blocked_operator(ctx, make_user):
    pw = make_user("op", role="admin").password.reveal()
    make_user("other", role="admin")
    users.block_user(ctx, SYSTEM, "op", reason="on leave")
    with pytest.raises(AuthFailed) as ei:
        auth.sign_in(ctx, "op", pw)
    assert "blocked" in ei.value.message and "on leave" in ei.value.message
    with pytest.raises(AuthFailed) as ei:  # a wrong password does not learn that it is blocked
        auth.sign_in(ctx, "op", WRONG)
    assert ei.value.message == "wrong username or password"


def test_sign_in_empty_password(ctx):
    with pytest.raises(InvalidInput) as ei:
        auth.sign_in(ctx, "op", "")
    assert (ei.value.field, ei.value.rule) == ("password", "required")


def test_operator_lockout(make_ctx, ctx, make_user, clock, audit_events):
    c = make_ctx(operator_lockout_failures=3, operator_lockout_minutes=10)
    pw = make_user("op", role="helpdesk").password.reveal()
    with pytest.raises(AuthFailed) as unknown:
        auth.sign_in(c, "nobody-here", WRONG)
    for _ in range(2):
        with pytest.raises(AuthFailed):
            auth.sign_in(c, "op", WRONG)
    # The failure that locks answers as any wrong password does: it tells no one the account exists.
    with pytest.raises(AuthFailed) as ei:
        auth.sign_in(c, "op", WRONG)
    assert ei.value.as_dict() == unknown.value.as_dict()
    until = clock.now + timedelta(minutes=10)
    ev = audit_events()[-1]
    assert (ev.action, ev.target, ev.outcome, ev.error_code) == ("operator.locked", "op", "denied", "LOCKED_OUT")
    assert ev.details["failures"] == 3 and ev.details["until"] == until.isoformat()
    v = listing.get_user(c, SYSTEM, "op")
    assert v.console_locked and v.console_locked_until == until
    assert not v.locked  # the application's lock is another matter

    # A wrong password while locked: the same answer again; the right one is told of the lock.
    with pytest.raises(AuthFailed) as ei:
        auth.sign_in(c, "op", WRONG + "2")
    assert ei.value.as_dict() == unknown.value.as_dict()
    clock.advance(minutes=9, seconds=59)
    with pytest.raises(LockedOut) as ei:
        auth.sign_in(c, "op", pw)
    assert ei.value.code == "LOCKED_OUT" and ei.value.until == until and ei.value.details["until"] == until
    ev = audit_events()[-1]
    assert (ev.action, ev.outcome, ev.error_code) == ("operator.sign_in", "denied", "LOCKED_OUT")

    # released once the clock passes `until`
    clock.advance(seconds=1)
    assert auth.sign_in(c, "op", pw).username == "op"
    v = listing.get_user(c, SYSTEM, "op")
    assert not v.console_locked and v.console_locked_until is None and v.console_failed_logins == 0


def test_the_applications_sign_in_never_locks_an_operator_out_of_the_console(ctx, make_user):
    pw = make_user("boss", role="admin").password.reveal()
    for _ in range(ctx.settings.user_lockout_failures * 3):  # a public login form, hammered
        assert auth.authenticate(ctx, "boss", WRONG).status == "invalid"
    assert auth.authenticate(ctx, "boss", pw).status == "locked"  # the application's lock holds
    assert auth.sign_in(ctx, "boss", pw).username == "boss"


def test_console_failures_do_not_lock_the_application_account(ctx, make_user):
    pw = make_user("hd", role="helpdesk").password.reveal()
    for _ in range(ctx.settings.operator_lockout_failures):
        with pytest.raises(AuthFailed):
            auth.sign_in(ctx, "hd", WRONG)
    assert auth.authenticate(ctx, "hd", pw).status == "ok"


def test_unlock_clears_an_operators_console_lock(ctx, admin, make_user):
    make_user("op2", role="viewer")
    for _ in range(ctx.settings.operator_lockout_failures):
        with pytest.raises(AuthFailed):
            auth.sign_in(ctx, "op2", WRONG)
    assert listing.get_user(ctx, admin, "op2").console_locked
    v = users.unlock_user(ctx, admin, "op2", reason="verified by phone")
    assert not v.console_locked and v.console_failed_logins == 0


def test_operator_lockout_uses_default_failures(ctx, make_user, clock):
    make_user("op", role="viewer")
    n = ctx.settings.operator_lockout_failures
    for _ in range(n):
        with pytest.raises(AuthFailed):
            auth.sign_in(ctx, "op", WRONG)
    v = listing.get_user(ctx, SYSTEM, "op")
    assert v.console_locked_until == clock.now + timedelta(minutes=ctx.settings.operator_lockout_minutes)


# -- trusted_operator -------------------------------------------------------------------


def test_trusted_operator_refused_unless_configured(ctx, make_user, audit_events):
    make_user("op", role="admin")
    with pytest.raises(PermissionDenied) as ei:
        auth.trusted_operator(ctx, "op")
    assert ei.value.code == "PERMISSION_DENIED"
    ev = audit_events()[-1]
    assert (ev.action, ev.outcome, ev.error_code, ev.details) == (
        "operator.sign_in", "denied", "PERMISSION_DENIED", {"method": "trusted"})


def test_trusted_operator(make_ctx, ctx, make_user, audit_events):
    c = make_ctx(trusted_operator=True)
    r = make_user("op", role="helpdesk", must_change=True)
    actor = auth.trusted_operator(c, "OP")
    assert actor == Actor(r.user.id, "op", "helpdesk", "trusted", False)
    ev = audit_events()[-1]
    assert (ev.action, ev.outcome, ev.details) == ("operator.sign_in", "ok", {"method": "trusted"})
    # trusted operators are not held up by must-change
    make_user("m")
    assert users.block_user(c, actor, "m", reason="r", identity_check="i").blocked


@pytest.mark.parametrize("who", ["nobody", "mem", "blocked"])
def test_trusted_operator_refuses_non_operators(make_ctx, ctx, make_user, who):
    c = make_ctx(trusted_operator=True)
    make_user("mem")
    make_user("blocked", role="admin")
    make_user("admin2", role="admin")
    users.block_user(ctx, SYSTEM, "blocked", reason="gone")
    with pytest.raises(AuthFailed):
        auth.trusted_operator(c, who)


# -- authenticate ------------------------------------------------------------------------


def test_authenticate_ok(ctx, make_user, clock):
    r = make_user("app")
    res = auth.authenticate(ctx, "APP", r.password.reveal())
    assert res == AuthResult("ok", r.user.id, "app") and res.authenticated
    assert listing.get_user(ctx, SYSTEM, "app").last_login_at == clock.now


def test_authenticate_unknown_and_wrong_password_are_identical(ctx, make_user):
    make_user("app")
    make_user("ext", source="okta")
    make_user("nopw")
    results = [
        auth.authenticate(ctx, "nobody", WRONG),
        auth.authenticate(ctx, "app", WRONG),
        auth.authenticate(ctx, "ext", WRONG),
        auth.authenticate(ctx, "not a name!", WRONG),
        auth.authenticate(ctx, "app", ""),
        auth.authenticate(ctx, "app", "x" * 2000),
    ]
    assert all(r == AuthResult("invalid") for r in results)
    assert all(not r.authenticated for r in results)
    assert repr(results[0]) == repr(results[1])


def test_authenticate_lockout(ctx, make_user, clock, audit_events):
    pw = make_user("app").password.reveal()
    n = ctx.settings.user_lockout_failures
    for i in range(n - 1):
        assert auth.authenticate(ctx, "app", WRONG) == AuthResult("invalid")
        assert listing.get_user(ctx, SYSTEM, "app").failed_logins == i + 1
    assert auth.authenticate(ctx, "app", WRONG) == AuthResult("invalid")  # this one locks
    until = clock.now + timedelta(minutes=ctx.settings.user_lockout_minutes)
    v = listing.get_user(ctx, SYSTEM, "app")
    assert v.locked and v.locked_until == until
    ev = audit_events()[-1]
    assert (ev.operator, ev.action, ev.target, ev.outcome) == ("application", "user.locked", "app", "ok")
    # the status is only told to someone with the right password
    assert auth.authenticate(ctx, "app", WRONG) == AuthResult("invalid")
    res = auth.authenticate(ctx, "app", pw)
    assert res == AuthResult("locked", v.id, "app", until) and not res.authenticated
    clock.advance(minutes=ctx.settings.user_lockout_minutes)
    assert auth.authenticate(ctx, "app", pw).status == "ok"


def test_authenticate_blocked_only_with_right_password(ctx, make_user):
    pw = make_user("app").password.reveal()
    users.block_user(ctx, SYSTEM, "app", reason="x")
    assert auth.authenticate(ctx, "app", WRONG) == AuthResult("invalid")
    res = auth.authenticate(ctx, "app", pw)
    assert res.status == "blocked" and not res.authenticated


@pytest.mark.settings(password_expiry_days=760)  # passwords that expire
def test_authenticate_expired_only_with_right_password(ctx, make_user, clock):
    pw = make_user("app").password.reveal()
    clock.advance(days=ctx.settings.password_expiry_days)
    assert auth.authenticate(ctx, "app", WRONG) == AuthResult("invalid")
    res = auth.authenticate(ctx, "app", pw)
    assert res.status == "expired" and res.authenticated


def test_authenticate_must_change_only_with_right_password(ctx, make_user):
    pw = make_user("app", must_change=True).password.reveal()
    assert auth.authenticate(ctx, "app", WRONG) == AuthResult("invalid")
    res = auth.authenticate(ctx, "app", pw)
    assert res.status == "must_change" and res.authenticated


def test_authenticate_success_resets_failure_count(ctx, make_user):
    pw = make_user("app").password.reveal()
    auth.authenticate(ctx, "app", WRONG)
    auth.authenticate(ctx, "app", WRONG)
    auth.authenticate(ctx, "app", pw)
    assert listing.get_user(ctx, SYSTEM, "app").failed_logins == 0


def test_authenticate_rehashes_when_parameters_change(make_ctx, ctx, make_user):
    pw = make_user("app").password.reveal()
    before = stored_hash(ctx, "app")
    stronger = make_ctx(argon2_params=Argon2Params(time_cost=2, memory_cost=16, parallelism=1,
                                                   hash_len=16, salt_len=16))
    assert auth.authenticate(stronger, "app", WRONG).status == "invalid"
    assert stored_hash(ctx, "app") == before  # not on a failure
    assert auth.authenticate(stronger, "app", pw).status == "ok"
    after = stored_hash(ctx, "app")
    assert after != before
    assert "t=2" in after and "m=16" in after
    assert stronger.hasher.verify(after, pw).needs_rehash is False
    # once rehashed, a further success with the same parameters leaves it alone
    assert auth.authenticate(stronger, "app", pw).status == "ok"
    assert stored_hash(ctx, "app") == after


def test_sign_in_rehashes_when_parameters_change(make_ctx, ctx, make_user, audit_events):
    pw = make_user("op", role="admin").password.reveal()
    before = stored_hash(ctx, "op")
    stronger = make_ctx(argon2_params=Argon2Params(time_cost=2, memory_cost=16, parallelism=1))
    auth.sign_in(stronger, "op", pw)
    assert stored_hash(ctx, "op") != before
    assert audit_events()[-1].details == {"method": "password", "rehashed": True}


def test_a_sign_in_under_weaker_settings_keeps_the_stronger_hash(make_ctx, ctx, make_user):
    strong = make_ctx(argon2_params=Argon2Params(time_cost=2, memory_cost=16, parallelism=1))
    made = users.create_user(strong, SYSTEM, "op", role="admin", must_change=False)
    before = stored_hash(ctx, "op")
    assert auth.sign_in(ctx, "op", made.password.reveal()).username == "op"  # ctx: the cheapest parameters
    assert auth.authenticate(ctx, "op", made.password.reveal()).status == "ok"
    assert stored_hash(ctx, "op") == before


def test_a_trusted_sign_in_is_the_accounts_last_sign_in(ctx, make_user, make_ctx, clock):
    from console.services import listing

    make_user("ops", role="admin")
    assert listing.get_user(ctx, SYSTEM, "ops").last_login_at is None
    auth.trusted_operator(make_ctx(trusted_operator=True), "ops")
    assert listing.get_user(ctx, SYSTEM, "ops").last_login_at == clock.now

"""Every error code the services raise: the right code, nothing changed, and
the refusal audited (outcome ``denied``/``rejected`` with the error code)."""

from __future__ import annotations

import inspect
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from console.services import auth, errors, listing, passwords, sessions, tickets, users
from console.services.context import Actor
from console.services.errors import ServiceError

SYSTEM = Actor.system("test")
R = dict(reason="caller asked", identity_check="security questions")  # what helpdesk must give

#: Written out rather than read from the classes, so that a change shows up here.
OUTCOME = {
    "NO_CHANGE": "ok",
    "USER_NOT_FOUND": "rejected",
    "USER_EXISTS": "rejected",
    "INVALID_INPUT": "rejected",
    "WEAK_PASSWORD": "rejected",
    "PERMISSION_DENIED": "denied",
    "READ_ONLY": "denied",
    "IDENTITY_CHECK_REQUIRED": "denied",
    "REASON_REQUIRED": "rejected",
    "SET_PASSWORD_DISABLED": "denied",
    "PASSWORD_CHANGE_REQUIRED": "denied",
    "SELF_ACTION": "denied",
    "LAST_ADMIN": "rejected",
    "STALE_RECORD": "rejected",
    "EXTERNAL_ACCOUNT": "rejected",
    "TICKET_INVALID": "rejected",
    "RATE_LIMITED": "rejected",
    "TICKET_NOT_FOUND": "rejected",
    "AUTH_FAILED": "denied",
    "LOCKED_OUT": "denied",
    "MAIL_FAILED": "error",
}


def strong() -> str:
    return "Pw" + secrets.token_urlsafe(18)


@dataclass
class World:
    ctx: Any
    clock: Any
    admin: Actor
    helpdesk: Actor
    viewer: Actor
    make_user: Callable
    make_ctx: Callable
    make_operator: Callable
    db_rows: Callable
    audit_events: Callable
    revoked_ticket: int | None = None


@pytest.fixture
def w(ctx, clock, admin, helpdesk, viewer, make_user, make_ctx, make_operator, db_rows, audit_events) -> World:
    return World(ctx, clock, admin, helpdesk, viewer, make_user, make_ctx, make_operator, db_rows, audit_events)


@dataclass
class Case:
    call: Callable[[], Any]
    code: str
    action: str
    target: str | None
    operator: str = "admin"
    watch: tuple[str, ...] = ()
    #: expected audit details; None: ``{"error": <message>}``
    details: dict | None = None
    extra: Callable[[ServiceError], None] | None = None
    #: False: refused without an audit event (a read-only console writes nothing).
    audited: bool = True
    #: Tables where the refusal is counted (a bogus ticket's window counter, a
    #: ticket's failed attempts): they may change, nothing else may.
    counted: tuple[str, ...] = ()


def check_refused(w: World, case: Case) -> ServiceError:
    """Run the call; it must fail with case.code, change no row outside the
    audit log, and add exactly one matching audit event."""
    ignore = ("audit_events", "audit_head", *case.counted)
    before = w.db_rows(exclude=ignore)
    everything = w.db_rows(exclude=case.counted)
    views = {n: listing.get_user(w.ctx, SYSTEM, n) for n in case.watch}
    last = max((e.seq for e in w.audit_events()), default=0)

    with pytest.raises(ServiceError) as ei:
        case.call()
    err = ei.value
    assert err.code == case.code, err.message
    assert err.as_dict() == {"error_code": case.code, "error_msg": err.message}
    assert err.message and str(err) == err.message

    assert w.db_rows(exclude=ignore) == before
    for n, v in views.items():
        now = listing.get_user(w.ctx, SYSTEM, n)
        assert now == v and now.version == v.version

    new = w.audit_events(after=last)
    if not case.audited:
        assert new == [] and w.db_rows(exclude=case.counted) == everything
        return err
    assert len(new) == 1, new
    ev = new[0]
    assert (ev.action, ev.operator, ev.target) == (case.action, case.operator, case.target)
    assert (ev.outcome, ev.error_code) == (OUTCOME[case.code], case.code)
    default = {"unchanged": err.message} if case.code == "NO_CHANGE" else {"error": err.message}
    if "redeem_failures" in case.counted:  # counted in the window: the first refusal of one
        assert ev.details["failures_in_window"] == 1
        default = {**default, **{k: ev.details[k] for k in ("failures_in_window", "window_from", "window_minutes")}}
    assert ev.details == (case.details if case.details is not None else default)
    if case.extra:  # a check that returns False (or asserts) fails the test
        assert case.extra(err) is not False, err.message
    return err


# -- scenarios, one per way each code arises ------------------------------------------------


def _ghost(fn, action, **kw):
    def scenario(w):
        return Case(lambda: fn(w.ctx, w.admin, "ghost", **kw), "USER_NOT_FOUND", action, "ghost")
    return scenario


NOT_FOUND = {
    "update_profile": _ghost(users.update_profile, "user.update", display_name="x"),
    "set_role": _ghost(users.set_role, "user.set_role", role="viewer"),
    "block": _ghost(users.block_user, "user.block", reason="x"),
    "unblock": _ghost(users.unblock_user, "user.unblock"),
    "unlock": _ghost(users.unlock_user, "user.unlock"),
    "delete": _ghost(users.delete_user, "user.delete"),
    "reset": _ghost(passwords.reset_password, "password.reset"),
    "set_password": _ghost(passwords.set_password, "password.set", password="Pw-" + "q" * 20),
    "force_change": _ghost(passwords.force_change, "password.force_change"),
    "expire": _ghost(passwords.expire_now, "password.expire"),
    "issue_ticket": _ghost(tickets.issue_ticket, "ticket.issue"),
    "revoke_sessions": _ghost(sessions.revoke_sessions, "sessions.revoke"),
}


def s_exists(w):
    w.make_user("alice")
    return Case(lambda: users.create_user(w.ctx, w.admin, "alice"), "USER_EXISTS", "user.create", "alice",
                extra=lambda e: "alice" in e.message)


def s_exists_other_case(w):
    w.make_user("alice")
    return Case(lambda: users.create_user(w.ctx, w.admin, "ALICE", email="x@example.com"), "USER_EXISTS",
                "user.create", "ALICE", watch=("alice",))


def _weak_extra(rules):
    def extra(err):
        assert err.details["rules"] == rules
        assert [f.rule for f in err.failures] == rules
        for r in rules:
            assert r in err.message
    return extra


def s_weak_common(w):
    w.make_user("alice")
    return Case(lambda: passwords.set_password(w.ctx, w.admin, "alice", "password", reason="r"), "WEAK_PASSWORD",
                "password.set", "alice", watch=("alice",), extra=_weak_extra(["length", "not_common"]))


def s_weak_personal(w):
    w.make_user("alice", display_name="Alice Wonderland")
    pw = "wonderland-" + secrets.token_hex(8)
    return Case(lambda: passwords.set_password(w.ctx, w.admin, "alice", pw, reason="r"), "WEAK_PASSWORD",
                "password.set", "alice", watch=("alice",), extra=_weak_extra(["not_personal"]))


def s_weak_reused(w):
    pw = w.make_user("alice").password.reveal()
    return Case(lambda: passwords.set_password(w.ctx, w.admin, "alice", pw, reason="r"), "WEAK_PASSWORD",
                "password.set", "alice", watch=("alice",), extra=_weak_extra(["not_reused"]))


def s_weak_policy_preset(w):
    c = w.make_ctx(policy="dcs")
    w.make_user("alice")
    return Case(lambda: passwords.set_password(c, w.admin, "alice", "-lowercaseonly", reason="r"), "WEAK_PASSWORD",
                "password.set", "alice", watch=("alice",), extra=_weak_extra(["classes", "no_leading_hyphen"]))


def s_weak_redeem(w):
    w.make_user("alice")
    token = tickets.issue_ticket(w.ctx, w.admin, "alice").token.reveal()
    # too short only ("short" itself is a common password now)
    return Case(lambda: tickets.redeem_ticket(w.ctx, token, "Kz7#q"), "WEAK_PASSWORD", "ticket.redeem",
                "alice", operator="ticket", watch=("alice",), extra=_weak_extra(["length"]), counted=("reset_tickets",))


def s_weak_change_own(w):
    op = w.make_operator("viewer", "vi")
    return Case(lambda: passwords.change_own_password(w.ctx, op.actor, op.password, "qwertyuiop12345"),
                "WEAK_PASSWORD", "password.change_own", "vi", operator="vi", watch=("vi",),
                extra=_weak_extra(["not_common"]))


def s_denied_viewer(w):
    w.make_user("alice")
    return Case(lambda: passwords.reset_password(w.ctx, w.viewer, "alice"), "PERMISSION_DENIED",
                "password.reset", "alice", operator="viewer", watch=("alice",),
                extra=lambda e: "viewer" in e.message)


def s_denied_helpdesk_on_admin(w):
    w.make_user("boss", role="admin")
    return Case(lambda: passwords.reset_password(w.ctx, w.helpdesk, "boss", **R), "PERMISSION_DENIED",
                "password.reset", "boss", operator="helpdesk", watch=("boss",),
                extra=lambda e: "member accounts" in e.message)


def s_denied_helpdesk_delete(w):
    w.make_user("alice")
    return Case(lambda: users.delete_user(w.ctx, w.helpdesk, "alice", reason="x"), "PERMISSION_DENIED",
                "user.delete", "alice", operator="helpdesk", watch=("alice",))


def s_denied_helpdesk_create_admin(w):
    return Case(lambda: users.create_user(w.ctx, w.helpdesk, "newboss", role="admin", **R), "PERMISSION_DENIED",
                "user.create", "newboss", operator="helpdesk")


def s_denied_member_actor(w):
    u = w.make_user("mem").user
    w.make_user("alice")
    member = Actor(u.id, "mem", "member")
    return Case(lambda: users.block_user(w.ctx, member, "alice", reason="x"), "PERMISSION_DENIED",
                "user.block", "alice", operator="mem", watch=("alice",),
                extra=lambda e: "members cannot use the console" in e.message)


def s_denied_blocked_operator(w):
    op = w.make_operator("admin", "admin2").actor
    users.block_user(w.ctx, SYSTEM, "admin2", reason="compromised")
    w.make_user("alice")
    return Case(lambda: passwords.reset_password(w.ctx, op, "alice"), "PERMISSION_DENIED", "password.reset",
                "alice", operator="admin2", watch=("alice", "admin2"))


def s_denied_demoted_operator(w):
    op = w.make_operator("admin", "admin2").actor
    users.set_role(w.ctx, SYSTEM, "admin2", "viewer")
    w.make_user("alice")
    return Case(lambda: users.delete_user(w.ctx, op, "alice"), "PERMISSION_DENIED", "user.delete",
                "alice", operator="admin2", watch=("alice", "admin2"))


def s_denied_trusted_off(w):
    return Case(lambda: auth.trusted_operator(w.ctx, "admin"), "PERMISSION_DENIED", "operator.sign_in",
                "admin", watch=("admin",), details={"method": "trusted"})


def s_read_only(w):
    c = w.make_ctx(read_only=True)
    w.make_user("alice")
    return Case(lambda: passwords.reset_password(c, w.admin, "alice"), "READ_ONLY", "password.reset", "alice",
                watch=("alice",), audited=False)


def s_read_only_create(w):
    c = w.make_ctx(read_only=True)
    return Case(lambda: users.create_user(c, w.admin, "newbie"), "READ_ONLY", "user.create", "newbie",
                audited=False)


def s_reason_helpdesk(w):
    """Helpdesk without a reason: the code names the field the message does
    (it was IDENTITY_CHECK_REQUIRED, "reason: …")."""
    w.make_user("alice")
    return Case(lambda: passwords.reset_password(w.ctx, w.helpdesk, "alice", identity_check="passport"),
                "REASON_REQUIRED", "password.reset", "alice", operator="helpdesk", watch=("alice",),
                extra=lambda e: e.message == "reason: helpdesk actions must record a reason" and e.field == "reason")


def s_reason_reset(w):
    """An admin's reset must say why too (reason_required, on by default)."""
    w.make_user("alice")
    return Case(lambda: passwords.reset_password(w.ctx, w.admin, "alice", reason="  "), "REASON_REQUIRED",
                "password.reset", "alice", watch=("alice",),
                extra=lambda e: "reason_required" in e.message and e.message.startswith("reason: "))


def s_reason_set(w):
    w.make_user("alice")
    return Case(lambda: passwords.set_password(w.ctx, w.admin, "alice", strong()), "REASON_REQUIRED",
                "password.set", "alice", watch=("alice",))


def s_reason_block(w):
    w.make_user("alice")
    return Case(lambda: users.block_user(w.ctx, w.admin, "alice", reason=None), "REASON_REQUIRED", "user.block", "alice",
                watch=("alice",))


def s_identity_no_check(w):
    w.make_user("alice")
    return Case(lambda: tickets.issue_ticket(w.ctx, w.helpdesk, "alice", reason="forgot", identity_check="  "),
                "IDENTITY_CHECK_REQUIRED", "ticket.issue", "alice", operator="helpdesk", watch=("alice",),
                extra=lambda e: e.message.startswith("identity_check"))


def s_set_password_disabled(w):
    c = w.make_ctx(admin_may_set_password=False)
    w.make_user("alice")
    return Case(lambda: passwords.set_password(c, w.admin, "alice", strong(), reason="r"), "SET_PASSWORD_DISABLED",
                "password.set", "alice", watch=("alice",))


def s_set_password_disabled_helpdesk(w):
    c = w.make_ctx(admin_may_set_password=False)
    w.make_user("alice")
    return Case(lambda: passwords.set_password(c, w.helpdesk, "alice", strong(), **R), "SET_PASSWORD_DISABLED",
                "password.set", "alice", operator="helpdesk", watch=("alice",))


def s_change_required(w):
    op = w.make_operator("admin", "fresh", must_change=True).actor
    w.make_user("alice")
    return Case(lambda: users.block_user(w.ctx, op, "alice", reason="x"), "PASSWORD_CHANGE_REQUIRED",
                "user.block", "alice", operator="fresh", watch=("alice", "fresh"))


def s_change_required_expired(w):
    op = w.make_operator("helpdesk", "stale")
    passwords.expire_now(w.ctx, SYSTEM, "stale")
    actor = auth.sign_in(w.ctx, "stale", op.password)
    w.make_user("alice")
    return Case(lambda: passwords.force_change(w.ctx, actor, "alice", **R), "PASSWORD_CHANGE_REQUIRED",
                "password.force_change", "alice", operator="stale", watch=("alice", "stale"))


def s_self_block(w):
    return Case(lambda: users.block_user(w.ctx, w.admin, "admin", reason="oops"), "SELF_ACTION", "user.block",
                "admin", watch=("admin",))


def s_self_delete(w):
    return Case(lambda: users.delete_user(w.ctx, w.admin, "admin"), "SELF_ACTION", "user.delete", "admin",
                watch=("admin",))


def s_self_role(w):
    w.make_user("admin2", role="admin")
    return Case(lambda: users.set_role(w.ctx, w.admin, "admin", "viewer"), "SELF_ACTION", "user.set_role",
                "admin", watch=("admin",))


def s_last_admin_demote(w):
    return Case(lambda: users.set_role(w.ctx, SYSTEM, "admin", "member"), "LAST_ADMIN", "user.set_role", "admin",
                operator="test", watch=("admin",))


def s_last_admin_block(w):
    return Case(lambda: users.block_user(w.ctx, SYSTEM, "admin", reason="x"), "LAST_ADMIN", "user.block", "admin",
                operator="test", watch=("admin",))


def s_last_admin_delete_blocked_others_dont_count(w):
    w.make_user("admin2", role="admin")
    users.block_user(w.ctx, SYSTEM, "admin2", reason="away")
    return Case(lambda: users.delete_user(w.ctx, SYSTEM, "admin"), "LAST_ADMIN", "user.delete", "admin",
                operator="test", watch=("admin", "admin2"))


def _stale(fn, action, **kw):
    def scenario(w):
        v = w.make_user("alice").user
        users.update_profile(w.ctx, SYSTEM, "alice", display_name="Someone else was here")
        return Case(lambda: fn(w.ctx, w.admin, "alice", expected_version=v.version, **kw), "STALE_RECORD", action,
                    "alice", watch=("alice",))
    return scenario


STALE = {
    "update_profile": _stale(users.update_profile, "user.update", display_name="Mine"),
    "set_role": _stale(users.set_role, "user.set_role", role="viewer"),
    "block": _stale(users.block_user, "user.block", reason="x"),
    "delete": _stale(users.delete_user, "user.delete"),
    "reset": _stale(passwords.reset_password, "password.reset"),
    "set_password": _stale(passwords.set_password, "password.set", password="Pw-" + "z" * 20),
    "force_change": _stale(passwords.force_change, "password.force_change"),
    "expire": _stale(passwords.expire_now, "password.expire"),
}


def _external(fn, action, **kw):
    def scenario(w):
        w.make_user("ext", source="okta")
        return Case(lambda: fn(w.ctx, w.admin, "ext", **kw), "EXTERNAL_ACCOUNT", action, "ext", watch=("ext",),
                    extra=lambda e: "'okta'" in e.message)
    return scenario


EXTERNAL = {
    "reset": _external(passwords.reset_password, "password.reset"),
    "set_password": _external(passwords.set_password, "password.set", password="Pw-" + "y" * 20),
    "force_change": _external(passwords.force_change, "password.force_change"),
    "expire": _external(passwords.expire_now, "password.expire"),
    "issue_ticket": _external(tickets.issue_ticket, "ticket.issue"),
}


BOGUS = ("redeem_failures",)


def s_ticket_unknown(w):
    return Case(lambda: tickets.redeem_ticket(w.ctx, secrets.token_urlsafe(32), strong()), "TICKET_INVALID",
                "ticket.redeem", None, operator="ticket", counted=BOGUS)


def s_ticket_used(w):
    w.make_user("alice")
    token = tickets.issue_ticket(w.ctx, w.admin, "alice").token.reveal()
    tickets.redeem_ticket(w.ctx, token, strong())
    return Case(lambda: tickets.redeem_ticket(w.ctx, token, strong()), "TICKET_INVALID", "ticket.redeem", "alice",
                operator="ticket", watch=("alice",), counted=BOGUS)


def s_ticket_superseded(w):
    w.make_user("alice")
    token = tickets.issue_ticket(w.ctx, w.admin, "alice").token.reveal()
    tickets.issue_ticket(w.ctx, w.admin, "alice")
    return Case(lambda: tickets.redeem_ticket(w.ctx, token, strong()), "TICKET_INVALID", "ticket.redeem", "alice",
                operator="ticket", watch=("alice",), counted=BOGUS)


def s_ticket_revoked(w):
    w.make_user("alice")
    it = tickets.issue_ticket(w.ctx, w.admin, "alice")
    tickets.revoke_ticket(w.ctx, w.admin, it.ticket.id)
    return Case(lambda: tickets.redeem_ticket(w.ctx, it.token.reveal(), strong()), "TICKET_INVALID",
                "ticket.redeem", "alice", operator="ticket", watch=("alice",), counted=BOGUS)


def s_ticket_expired(w):
    w.make_user("alice")
    token = tickets.issue_ticket(w.ctx, w.admin, "alice", lifetime_minutes=1).token.reveal()
    w.clock.advance(minutes=1)
    return Case(lambda: tickets.redeem_ticket(w.ctx, token, strong()), "TICKET_INVALID", "ticket.redeem", "alice",
                operator="ticket", watch=("alice",), counted=BOGUS)


def s_ticket_blocked_user(w):
    """Blocked by the application itself, behind the console's back (block_user
    would also have revoked the ticket)."""
    w.make_user("alice")
    token = tickets.issue_ticket(w.ctx, w.admin, "alice").token.reveal()
    with w.ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET blocked = true WHERE username = 'alice'"))
    return Case(lambda: tickets.redeem_ticket(w.ctx, token, strong()), "TICKET_INVALID", "ticket.redeem", "alice",
                operator="ticket", watch=("alice",), counted=BOGUS)


def s_rate_limited(w):
    """Past the window's limit of refused redemptions: refused, counted, and
    (the 101st is no milestone) not audited on its own."""
    for _ in range(tickets.REDEEM_FAILURES_PER_WINDOW):
        with pytest.raises(errors.TicketInvalid):
            tickets.redeem_ticket(w.ctx, secrets.token_urlsafe(32), strong())
    return Case(lambda: tickets.redeem_ticket(w.ctx, secrets.token_urlsafe(32), strong()), "RATE_LIMITED",
                "ticket.redeem", None, operator="ticket", counted=BOGUS, audited=False)


def s_mail_off(w):
    w.make_user("alice", email="alice@example.com")
    return Case(lambda: tickets.email_ticket(w.ctx, w.admin, "alice"), "MAIL_FAILED", "ticket.email", "alice",
                watch=("alice",))


def s_mail_outbox_unwritable(w):
    """The outbox path is a file: nothing can be written there. The ticket
    issued before must survive (the failed one superseded nothing)."""
    with tempfile.NamedTemporaryFile(delete=False) as f:
        in_the_way = f.name
    ctx = w.make_ctx(mail_delivery="outbox", mail_outbox=in_the_way)
    w.make_user("alice", email="alice@example.com")
    tickets.issue_ticket(w.ctx, w.admin, "alice")
    return Case(lambda: tickets.email_ticket(ctx, w.admin, "alice"), "MAIL_FAILED", "ticket.email", "alice",
                watch=("alice",), extra=lambda err: os.unlink(in_the_way))


def s_ticket_not_found(w):
    return Case(lambda: tickets.revoke_ticket(w.ctx, w.admin, 999), "TICKET_NOT_FOUND", "ticket.revoke", None)


def s_auth_unknown(w):
    return Case(lambda: auth.sign_in(w.ctx, "nobody", "some-password-here"), "AUTH_FAILED", "operator.sign_in",
                None, operator="(unknown name)", details={"method": "password", "name_length": 6})


def s_auth_member(w):
    pw = w.make_user("mem").password.reveal()
    return Case(lambda: auth.sign_in(w.ctx, "mem", pw), "AUTH_FAILED", "operator.sign_in", "mem", operator="mem",
                watch=("mem",), details={"method": "password"})


def s_auth_trusted_member(w):
    c = w.make_ctx(trusted_operator=True)
    w.make_user("mem")
    return Case(lambda: auth.trusted_operator(c, "mem"), "AUTH_FAILED", "operator.sign_in", "mem", operator="mem",
                watch=("mem",), details={"method": "trusted"})


def s_locked_out(w):
    op = w.make_operator("helpdesk", "hd2")
    for _ in range(w.ctx.settings.operator_lockout_failures):
        try:
            auth.sign_in(w.ctx, "hd2", "wrong-password-xyz")
        except ServiceError:
            pass
    return Case(lambda: auth.sign_in(w.ctx, "hd2", op.password), "LOCKED_OUT", "operator.sign_in", "hd2",
                operator="hd2", watch=("hd2",), details={"method": "password"},
                extra=lambda e: e.until is not None and e.until > w.clock.now)


#: code -> {scenario name -> scenario}
SCENARIOS: dict[str, dict[str, Callable[[World], Case]]] = {
    "USER_NOT_FOUND": NOT_FOUND,
    "RATE_LIMITED": {"flood": s_rate_limited},
    "USER_EXISTS": {"exists": s_exists, "exists-other-case": s_exists_other_case},
    "WEAK_PASSWORD": {
        "common": s_weak_common,
        "personal": s_weak_personal,
        "reused": s_weak_reused,
        "preset": s_weak_policy_preset,
        "redeem": s_weak_redeem,
        "change-own": s_weak_change_own,
    },
    "PERMISSION_DENIED": {
        "viewer": s_denied_viewer,
        "helpdesk-on-admin": s_denied_helpdesk_on_admin,
        "helpdesk-delete": s_denied_helpdesk_delete,
        "helpdesk-create-admin": s_denied_helpdesk_create_admin,
        "member-actor": s_denied_member_actor,
        "blocked-operator": s_denied_blocked_operator,
        "demoted-operator": s_denied_demoted_operator,
        "trusted-off": s_denied_trusted_off,
    },
    "READ_ONLY": {"reset": s_read_only, "create": s_read_only_create},
    "IDENTITY_CHECK_REQUIRED": {"no-check": s_identity_no_check},
    "REASON_REQUIRED": {"helpdesk": s_reason_helpdesk, "reset": s_reason_reset, "set": s_reason_set,
                        "block": s_reason_block},
    "SET_PASSWORD_DISABLED": {"admin": s_set_password_disabled, "helpdesk": s_set_password_disabled_helpdesk},
    "PASSWORD_CHANGE_REQUIRED": {"must-change": s_change_required, "expired": s_change_required_expired},
    "SELF_ACTION": {"block": s_self_block, "delete": s_self_delete, "role": s_self_role},
    "LAST_ADMIN": {
        "demote": s_last_admin_demote,
        "block": s_last_admin_block,
        "delete-blocked-others-dont-count": s_last_admin_delete_blocked_others_dont_count,
    },
    "STALE_RECORD": STALE,
    "EXTERNAL_ACCOUNT": EXTERNAL,
    "TICKET_INVALID": {
        "unknown": s_ticket_unknown,
        "used": s_ticket_used,
        "superseded": s_ticket_superseded,
        "revoked": s_ticket_revoked,
        "expired": s_ticket_expired,
        "blocked-user": s_ticket_blocked_user,
    },
    "TICKET_NOT_FOUND": {"revoke": s_ticket_not_found},
    "MAIL_FAILED": {"delivery-off": s_mail_off, "outbox-unwritable": s_mail_outbox_unwritable},
    "AUTH_FAILED": {"unknown": s_auth_unknown, "member": s_auth_member, "trusted-member": s_auth_trusted_member},
    "LOCKED_OUT": {"right-password-while-locked": s_locked_out},
}


@pytest.mark.parametrize(
    "code, name", [(c, n) for c, group in SCENARIOS.items() for n in group], ids=lambda x: x
)
def test_error_changes_nothing_and_is_audited(w, code, name):
    case = SCENARIOS[code][name](w)
    assert case.code == code
    check_refused(w, case)


def test_every_error_code_is_covered():
    """A new ServiceError subclass must get scenarios here (or in the config tests)."""
    codes = {c.code for _, c in inspect.getmembers(errors, inspect.isclass)
             if issubclass(c, ServiceError) and c is not ServiceError}
    # Not audited by design: configuration (test_services_config.py), an
    # unreachable database (test_database_unavailable below) and a database
    # without tables or operators, or at another schema version (test_services_setup.py,
    # test_services_schema.py).
    unaudited = {"CONFIG_INVALID", "DB_UNAVAILABLE", "NOT_INITIALIZED", "SCHEMA_OUTDATED", "SCHEMA_NEWER"}
    # A foreign store's refusals: tests/stores/, against the real store.
    store_codes = {"NOT_SUPPORTED", "STORE_REFUSED", "STORE_UNAVAILABLE", "FOREIGN_STORE"}
    # A log that cannot be extended takes no refusal either: test_services_audit_anchor.py
    # shows each changes nothing and writes no event.
    audit_codes = {"AUDIT_UNAVAILABLE", "AUDIT_KEY_MISSING", "AUDIT_KEY_MISMATCH", "AUDIT_BROKEN"}
    assert codes - unaudited - store_codes - audit_codes == set(OUTCOME)
    # INVALID_INPUT and NO_CHANGE (rule no_change): their own table below.
    assert set(SCENARIOS) | {"INVALID_INPUT", "NO_CHANGE"} == set(OUTCOME)
    assert all(SCENARIOS.values())


def test_read_only_still_allows_reading(w):
    c = w.make_ctx(read_only=True)
    w.make_user("alice")
    assert listing.get_user(c, w.admin, "alice").username == "alice"
    assert "alice" in [u.username for u in listing.list_users(c, w.viewer).items]


def test_database_unavailable(tmp_path, settings, clock):
    from console.security.hashing import Argon2Params
    from console.services.context import ServiceContext

    (tmp_path / "adir").mkdir()
    bad = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'adir'}"})
    c = ServiceContext.from_settings(bad, argon2_params=Argon2Params.cheapest(), clock=clock)
    try:
        for call in (lambda: passwords.reset_password(c, SYSTEM, "alice"),
                     lambda: auth.sign_in(c, "alice", "some-password"),
                     lambda: listing.get_user(c, SYSTEM, "alice")):
            with pytest.raises(errors.DatabaseUnavailable) as ei:
                call()
            assert ei.value.code == "DB_UNAVAILABLE"
    finally:
        c.engine.dispose()


# -- INVALID_INPUT: field and rule named, nothing changed, audited without the bad text ------------

BIG = "x" * 10_000
ESC, NUL, RLO = "\x1b[31m", "\x00", "\u202e"


def ii(call, field, rule, action, target="alice"):
    return (call, field, rule, action, target)


INVALID = {
    # usernames
    "username-empty": ii(lambda w: users.create_user(w.ctx, w.admin, ""), "username", "required", "user.create",
                         "(invalid username)"),
    "username-space": ii(lambda w: users.create_user(w.ctx, w.admin, "bad name"), "username", "charset",
                         "user.create", "(invalid username)"),
    "username-leading-dash": ii(lambda w: users.create_user(w.ctx, w.admin, "-opt"), "username", "charset",
                                "user.create", "(invalid username)"),
    "username-non-ascii": ii(lambda w: users.create_user(w.ctx, w.admin, "jürgen"), "username", "charset",
                             "user.create", "(invalid username)"),
    "username-escape": ii(lambda w: users.create_user(w.ctx, w.admin, "a" + ESC), "username", "charset",
                          "user.create", "(invalid username)"),
    "username-65": ii(lambda w: users.create_user(w.ctx, w.admin, "a" * 65), "username", "max_length",
                      "user.create", "(invalid username)"),
    "username-10000": ii(lambda w: users.create_user(w.ctx, w.admin, BIG), "username", "max_length",
                         "user.create", "(invalid username)"),
    "username-bad-on-update": ii(lambda w: users.update_profile(w.ctx, w.admin, "a/b", display_name="x"),
                                 "username", "charset", "user.update", "(invalid username)"),
    # emails
    "email-no-at": ii(lambda w: users.create_user(w.ctx, w.admin, "bob", email="not-an-email"), "email", "format",
                      "user.create", "bob"),
    "email-space": ii(lambda w: users.create_user(w.ctx, w.admin, "bob", email="a b@example.com"), "email",
                      "format", "user.create", "bob"),
    "email-no-dot": ii(lambda w: users.create_user(w.ctx, w.admin, "bob", email="bob@localhost"), "email",
                       "format", "user.create", "bob"),
    "email-non-ascii": ii(lambda w: users.create_user(w.ctx, w.admin, "bob", email="bøb@example.com"), "email",
                          "format", "user.create", "bob"),
    "email-control": ii(lambda w: users.update_profile(w.ctx, w.admin, "alice", email="a@ex\x00ample.com"),
                        "email", "format", "user.update"),
    "email-10000": ii(lambda w: users.update_profile(w.ctx, w.admin, "alice", email=BIG + "@example.com"),
                      "email", "max_length", "user.update"),
    # display names
    "display-escape": ii(lambda w: users.update_profile(w.ctx, w.admin, "alice", display_name=f"Al{ESC}ice"),
                         "display_name", "no_control", "user.update"),
    "display-nul": ii(lambda w: users.update_profile(w.ctx, w.admin, "alice", display_name=f"Al{NUL}ice"),
                      "display_name", "no_control", "user.update"),
    "display-bidi": ii(lambda w: users.create_user(w.ctx, w.admin, "bob", display_name=f"Bob {RLO}gpj.exe"),
                       "display_name", "no_control", "user.create", "bob"),
    "display-10000": ii(lambda w: users.update_profile(w.ctx, w.admin, "alice", display_name=BIG),
                        "display_name", "max_length", "user.update"),
    # reasons
    "reason-escape": ii(lambda w: users.block_user(w.ctx, w.admin, "alice", reason=f"spam {ESC}"), "reason",
                        "no_control", "user.block"),
    "reason-nul": ii(lambda w: passwords.reset_password(w.ctx, w.admin, "alice", reason=f"a{NUL}b"), "reason",
                     "no_control", "password.reset"),
    "reason-bidi": ii(lambda w: users.delete_user(w.ctx, w.admin, "alice", reason=f"x{RLO}y"), "reason",
                      "no_control", "user.delete"),
    "reason-10000": ii(lambda w: users.block_user(w.ctx, w.admin, "alice", reason=BIG), "reason", "max_length",
                       "user.block"),
    "reason-empty-required": ii(lambda w: users.block_user(w.ctx, w.admin, "alice", reason=""), "reason",
                                "required", "user.block"),
    "reason-blank-required": ii(lambda w: users.block_user(w.ctx, w.admin, "alice", reason="   "), "reason",
                                "required", "user.block"),
    "reason-none-required": ii(lambda w: users.block_user(w.ctx, w.admin, "alice", reason=None), "reason",
                               "required", "user.block"),
    # identity checks
    "identity-escape": ii(lambda w: passwords.reset_password(w.ctx, w.helpdesk, "alice", reason="r",
                                                             identity_check=f"id {ESC}"),
                          "identity_check", "no_control", "password.reset"),
    "identity-nul": ii(lambda w: tickets.issue_ticket(w.ctx, w.helpdesk, "alice", reason="r",
                                                      identity_check=f"id{NUL}"),
                       "identity_check", "no_control", "ticket.issue"),
    "identity-bidi": ii(lambda w: sessions.revoke_sessions(w.ctx, w.helpdesk, "alice", reason="r",
                                                           identity_check=f"{RLO}id"),
                        "identity_check", "no_control", "sessions.revoke"),
    "identity-10000": ii(lambda w: users.unlock_user(w.ctx, w.helpdesk, "alice", reason="r", identity_check=BIG),
                         "identity_check", "max_length", "user.unlock"),
    # choices
    "role-unknown-create": ii(lambda w: users.create_user(w.ctx, w.admin, "bob", role="root"), "role", "choice",
                              "user.create", "bob"),
    "role-unknown-set": ii(lambda w: users.set_role(w.ctx, w.admin, "alice", "root"), "role", "choice",
                           "user.set_role"),
    "source-bad": ii(lambda w: users.create_user(w.ctx, w.admin, "bob", source="Okta!"), "source", "charset",
                     "user.create", "bob"),
    # numbers
    **{f"expiry-reset-{k}": ii(lambda w, v=v: passwords.reset_password(w.ctx, w.admin, "alice", expiry_days=v,
                                                                       reason="r"),
                               "expiry_days", "range", "password.reset")
       for k, v in {"negative": -1, "huge": 36501, "enormous": 10**12, "float": 1.5, "str": "30",
                    "bool": True}.items()},
    **{f"expiry-set-{k}": ii(lambda w, v=v: passwords.set_password(w.ctx, w.admin, "alice", "Pw-" + "k" * 20,
                                                                   expiry_days=v, reason="r"),
                             "expiry_days", "range", "password.set")
       for k, v in {"negative": -30, "huge": 100_000, "float": 7.0}.items()},
    **{f"lifetime-{k}": ii(lambda w, v=v: tickets.issue_ticket(w.ctx, w.admin, "alice", lifetime_minutes=v),
                           "lifetime_minutes", "range", "ticket.issue")
       for k, v in {"zero": 0, "over-a-day": 24 * 60 + 1, "str": "10", "bool": True}.items()},
    # passwords
    "new-password-empty": ii(lambda w: passwords.set_password(w.ctx, w.admin, "alice", "", reason="r"), "new_password",
                             "required", "password.set"),
    "new-password-huge": ii(lambda w: passwords.set_password(w.ctx, w.admin, "alice", "P" * 2000, reason="r"),
                            "new_password",
                            "max_length", "password.set"),
    # nothing to do
    "no-change-profile": ii(lambda w: users.update_profile(w.ctx, w.admin, "alice", display_name="Alice"),
                            "profile", "no_change", "user.update"),
    "no-change-profile-nothing-given": ii(lambda w: users.update_profile(w.ctx, w.admin, "alice"), "profile",
                                          "no_change", "user.update"),
    "no-change-role": ii(lambda w: users.set_role(w.ctx, w.admin, "alice", "member"), "role", "no_change",
                         "user.set_role"),
    "no-change-unblock": ii(lambda w: users.unblock_user(w.ctx, w.admin, "alice"), "blocked", "no_change",
                            "user.unblock"),
    "no-change-unlock": ii(lambda w: users.unlock_user(w.ctx, w.admin, "alice"), "locked", "no_change",
                           "user.unlock"),
    "no-change-force-off": ii(lambda w: passwords.force_change(w.ctx, w.admin, "alice", on=False), "must_change",
                              "no_change", "password.force_change"),
}


INVALID["no-change-block"] = ii(lambda w: users.block_user(w.ctx, w.admin, "alice", reason="again"), "blocked",
                                "no_change", "user.block")
INVALID["no-change-force-on"] = ii(lambda w: passwords.force_change(w.ctx, w.admin, "alice"), "must_change",
                                   "no_change", "password.force_change")
INVALID["expire-without-password"] = ii(lambda w: passwords.expire_now(w.ctx, w.admin, "nopw"), "password",
                                        "missing", "password.expire", "nopw")
INVALID["ticket-for-blocked-user"] = ii(lambda w: tickets.issue_ticket(w.ctx, w.admin, "alice"), "user", "blocked",
                                       "ticket.issue")
INVALID["revoke-ended-ticket"] = ii(lambda w: tickets.revoke_ticket(w.ctx, w.admin, w.revoked_ticket), "ticket",
                                    "no_change", "ticket.revoke")

SETUP = {
    "no-change-block": lambda w: users.block_user(w.ctx, SYSTEM, "alice", reason="first"),
    "ticket-for-blocked-user": lambda w: users.block_user(w.ctx, SYSTEM, "alice", reason="first"),
    "no-change-force-on": lambda w: passwords.force_change(w.ctx, SYSTEM, "alice"),
    "expire-without-password": lambda w: users.create_user(w.ctx, SYSTEM, "nopw", generate_password=False),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_input_names_field_and_rule(w, name):
    call, field, rule, action, target = INVALID[name]
    w.make_user("alice", email="alice@example.com", display_name="Alice")
    if name == "revoke-ended-ticket":
        it = tickets.issue_ticket(w.ctx, SYSTEM, "alice")
        tickets.revoke_ticket(w.ctx, SYSTEM, it.ticket.id)
        w.revoked_ticket = it.ticket.id
    if name in SETUP:
        SETUP[name](w)
    operator = "helpdesk" if name.startswith("identity-") else "admin"
    watch = ("alice",)
    # Nothing to do: not a failure, but no change. A missing reason has its own code (an InvalidInput still).
    code = ("NO_CHANGE" if rule == "no_change" else "REASON_REQUIRED" if (field, rule) == ("reason", "required")
            else "INVALID_INPUT")
    err = check_refused(w, Case(lambda: call(w), code, action, target, operator=operator, watch=watch))
    assert (err.field, err.rule) == (field, rule)
    assert err.details == {"field": field, "rule": rule}
    assert code == "NO_CHANGE" or err.message.startswith(f"{field}: ")
    # the offending text is neither echoed nor audited
    for bad in (ESC, NUL, RLO, BIG[:100]):
        assert bad not in err.message
    ev = w.audit_events()[-1]
    assert ev.reason is None or not any(c in ev.reason for c in (ESC, NUL, RLO))
    assert ev.identity_check is None or not any(c in ev.identity_check for c in (ESC, NUL, RLO))
    assert len(ev.reason or "") <= 500 and len(ev.identity_check or "") <= 200
    assert BIG[:100] not in repr(ev)


def test_text_failures_are_audited_without_the_text(w):
    w.make_user("alice")
    with pytest.raises(ServiceError):
        passwords.reset_password(w.ctx, w.helpdesk, "alice", reason=f"legit {ESC}]52;c;evil", identity_check="ok")
    ev = w.audit_events()[-1]
    assert (ev.reason, ev.identity_check) == (None, None)
    assert "evil" not in repr(ev)


def test_a_read_only_console_writes_nothing_at_all(ctx, make_ctx, make_user, db_rows):
    """Not a change, not a refusal's audit event, not a sign-in's bookkeeping."""
    pw = make_user("root", role="admin").password.reveal()
    make_user("alice")
    ro = make_ctx(read_only=True)
    trusted_ro = make_ctx(read_only=True, trusted_operator=True)
    before = db_rows()
    admin = auth.sign_in(ro, "root", pw)
    for attempt in (lambda: auth.sign_in(ro, "root", "wrong password here"),
                    lambda: auth.sign_in(ro, "nobody", "wrong password here"),
                    lambda: passwords.reset_password(ro, admin, "alice", reason="x"),
                    lambda: users.block_user(ro, admin, "alice", reason="x"),
                    lambda: users.create_user(ro, admin, "newbie"),
                    lambda: users.block_user(ro, admin, "alice", reason="\x1b[31m")):
        with pytest.raises(ServiceError):
            attempt()
    assert auth.trusted_operator(trusted_ro, "root").username == "root"
    assert listing.get_user(ro, admin, "alice").username == "alice"
    assert db_rows() == before

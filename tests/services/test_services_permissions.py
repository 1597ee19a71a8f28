"""The permission matrix: every operator role x every action x every target role,
through the service function that performs the action.

The expectation comes from the table below (DESIGN.md, "Who may do what"),
not from ``console.services.permissions``, so a change there shows up here."""

from __future__ import annotations

import dataclasses
import os
import secrets
import tempfile

import pytest

from console.services import audit, auth, listing, passwords, sessions, tickets, users
from console.services.context import Actor
from console.services.errors import PermissionDenied, ServiceError, UserNotFound
from console.services.permissions import Action

SYSTEM = Actor.system("test")
OPERATOR_ROLES = ("admin", "helpdesk", "viewer")
TARGET_ROLES = ("member", "helpdesk", "admin", "viewer")

# Y: allowed, -: PERMISSION_DENIED.        target:  member helpdesk admin viewer
TABLE = """
                 | admin   | helpdesk | viewer
                 | m h a v | m h a v  | m h a v
view             | Y Y Y Y | Y Y Y Y  | Y Y Y Y
create           | Y Y Y Y | Y - - -  | - - - -
update_profile   | Y Y Y Y | Y - - -  | - - - -
block            | Y Y Y Y | Y - - -  | - - - -
unblock          | Y Y Y Y | Y - - -  | - - - -
unlock           | Y Y Y Y | Y - - -  | - - - -
reset_password   | Y Y Y Y | Y - - -  | - - - -
set_password     | Y Y Y Y | Y - - -  | - - - -
force_change     | Y Y Y Y | Y - - -  | - - - -
expire           | Y Y Y Y | Y - - -  | - - - -
issue_ticket     | Y Y Y Y | Y - - -  | - - - -
email_ticket     | Y Y Y Y | Y - - -  | - - - -
revoke_ticket    | Y Y Y Y | Y - - -  | - - - -
revoke_sessions  | Y Y Y Y | Y - - -  | - - - -
delete           | Y Y Y Y | - - - -  | - - - -
set_role         | Y Y Y Y | - - - -  | - - - -
"""


def _parse(table: str) -> dict[tuple[str, str, str], bool]:
    out = {}
    for line in table.strip().splitlines()[2:]:
        action, *cols = [c.strip() for c in line.split("|")]
        for op, col in zip(OPERATOR_ROLES, cols, strict=True):
            marks = col.split()
            assert len(marks) == 4 and set(marks) <= {"Y", "-"}, line
            for target, mark in zip(TARGET_ROLES, marks, strict=True):
                out[(op, action, target)] = mark == "Y"
    return out


EXPECTED = _parse(TABLE)

R = dict(reason="matrix test", identity_check="called back on the number on file")


def strong() -> str:
    return "Pw" + secrets.token_urlsafe(18)


# Each action: (prepare the target as the system, perform as the operator, check the effect).
# prepare(ctx, name) -> state; perform(ctx, actor, name, role, state); effect(ctx, name, role, state, result)


def _noop(ctx, name):
    return None


def view_perform(ctx, actor, name, role, st):
    v = listing.get_user(ctx, actor, name)
    listed = listing.list_users(ctx, actor, search=name).items
    log = audit.query(ctx, actor, user=name).items
    return v, listed, log


def view_effect(ctx, name, role, st, res):
    v, listed, log = res
    assert v.username == name and v.role == role
    assert [u.username for u in listed] == [name]
    assert log and log[-1].action == "user.create"


def create_perform(ctx, actor, name, role, st):
    return users.create_user(ctx, actor, name, role=role, **R)


def create_effect(ctx, name, role, st, res):
    assert listing.get_user(ctx, SYSTEM, name).role == role
    assert auth.authenticate(ctx, name, res.password.reveal()).authenticated


def update_perform(ctx, actor, name, role, st):
    return users.update_profile(ctx, actor, name, display_name="Renamed Person", **R)


def update_effect(ctx, name, role, st, res):
    assert listing.get_user(ctx, SYSTEM, name).display_name == "Renamed Person"


def block_perform(ctx, actor, name, role, st):
    return users.block_user(ctx, actor, name, **R)


def block_effect(ctx, name, role, st, res):
    assert listing.get_user(ctx, SYSTEM, name).blocked


def unblock_prepare(ctx, name):
    users.block_user(ctx, SYSTEM, name, reason="prepare")


def unblock_perform(ctx, actor, name, role, st):
    return users.unblock_user(ctx, actor, name, **R)


def unblock_effect(ctx, name, role, st, res):
    assert not listing.get_user(ctx, SYSTEM, name).blocked


def unlock_prepare(ctx, name):
    for _ in range(ctx.settings.user_lockout_failures):
        auth.authenticate(ctx, name, "wrong-password-for-matrix")
    assert listing.get_user(ctx, SYSTEM, name).locked


def unlock_perform(ctx, actor, name, role, st):
    return users.unlock_user(ctx, actor, name, **R)


def unlock_effect(ctx, name, role, st, res):
    assert not listing.get_user(ctx, SYSTEM, name).locked


def reset_perform(ctx, actor, name, role, st):
    return passwords.reset_password(ctx, actor, name, **R)


def reset_effect(ctx, name, role, st, res):
    assert auth.authenticate(ctx, name, res.password.reveal()).status == "ok"


def set_prepare(ctx, name):
    return strong()


def set_perform(ctx, actor, name, role, pw):
    return passwords.set_password(ctx, actor, name, pw, **R)


def set_effect(ctx, name, role, pw, res):
    assert auth.authenticate(ctx, name, pw).status == "ok"


def force_perform(ctx, actor, name, role, st):
    return passwords.force_change(ctx, actor, name, **R)


def force_effect(ctx, name, role, st, res):
    assert listing.get_user(ctx, SYSTEM, name).must_change_password


def expire_perform(ctx, actor, name, role, st):
    return passwords.expire_now(ctx, actor, name, **R)


def expire_effect(ctx, name, role, st, res):
    assert listing.get_user(ctx, SYSTEM, name).expired


def issue_perform(ctx, actor, name, role, st):
    return tickets.issue_ticket(ctx, actor, name, **R)


def issue_effect(ctx, name, role, st, res):
    assert [t.id for t in tickets.list_tickets(ctx, SYSTEM, name)] == [res.ticket.id]


def email_prepare(ctx, name):
    """The user gets an address; the context mails into an outbox of its own."""
    users.update_profile(ctx, SYSTEM, name, email=f"{name}@example.com")
    outbox = tempfile.mkdtemp(prefix="userdesk-outbox-")
    settings = ctx.settings.model_copy(update={"mail_delivery": "outbox", "mail_outbox": outbox})
    return dataclasses.replace(ctx, settings=settings), outbox


def email_perform(ctx, actor, name, role, st):
    return tickets.email_ticket(st[0], actor, name, **R)


def email_effect(ctx, name, role, st, res):
    assert [t.id for t in tickets.list_tickets(ctx, SYSTEM, name)] == [res.ticket.id]
    assert res.to == f"{name}@example.com" and len(os.listdir(st[1])) == 1


def revoke_ticket_prepare(ctx, name):
    return tickets.issue_ticket(ctx, SYSTEM, name).ticket.id


def revoke_ticket_perform(ctx, actor, name, role, ticket_id):
    return tickets.revoke_ticket(ctx, actor, ticket_id, **R)


def revoke_ticket_effect(ctx, name, role, ticket_id, res):
    assert tickets.list_tickets(ctx, SYSTEM, name) == []


def revoke_sessions_prepare(ctx, name):
    return sessions.open_session(ctx, name).token.reveal()


def revoke_sessions_perform(ctx, actor, name, role, token):
    return sessions.revoke_sessions(ctx, actor, name, **R)


def revoke_sessions_effect(ctx, name, role, token, res):
    assert res == 1 and not sessions.check_session(ctx, token).valid


def delete_perform(ctx, actor, name, role, st):
    return users.delete_user(ctx, actor, name, reason="matrix test")


def delete_effect(ctx, name, role, st, res):
    with pytest.raises(UserNotFound):
        listing.get_user(ctx, SYSTEM, name)


def set_role_perform(ctx, actor, name, role, st):
    return users.set_role(ctx, actor, name, "viewer" if role == "member" else "member", reason="matrix test")


def set_role_effect(ctx, name, role, st, res):
    assert listing.get_user(ctx, SYSTEM, name).role == ("viewer" if role == "member" else "member")


#: action -> (audit action name, prepare, perform, effect)
PERFORM = {
    Action.VIEW: (None, _noop, view_perform, view_effect),
    Action.CREATE: ("user.create", _noop, create_perform, create_effect),
    Action.UPDATE_PROFILE: ("user.update", _noop, update_perform, update_effect),
    Action.BLOCK: ("user.block", _noop, block_perform, block_effect),
    Action.UNBLOCK: ("user.unblock", unblock_prepare, unblock_perform, unblock_effect),
    Action.UNLOCK: ("user.unlock", unlock_prepare, unlock_perform, unlock_effect),
    Action.RESET_PASSWORD: ("password.reset", _noop, reset_perform, reset_effect),
    Action.SET_PASSWORD: ("password.set", set_prepare, set_perform, set_effect),
    Action.FORCE_CHANGE: ("password.force_change", _noop, force_perform, force_effect),
    Action.EXPIRE: ("password.expire", _noop, expire_perform, expire_effect),
    Action.ISSUE_TICKET: ("ticket.issue", _noop, issue_perform, issue_effect),
    Action.EMAIL_TICKET: ("ticket.email", email_prepare, email_perform, email_effect),
    Action.REVOKE_TICKET: ("ticket.revoke", revoke_ticket_prepare, revoke_ticket_perform, revoke_ticket_effect),
    Action.REVOKE_SESSIONS: ("sessions.revoke", revoke_sessions_prepare, revoke_sessions_perform,
                             revoke_sessions_effect),
    Action.DELETE: ("user.delete", _noop, delete_perform, delete_effect),
    Action.SET_ROLE: ("user.set_role", _noop, set_role_perform, set_role_effect),
}


def test_table_and_mapping_cover_every_action():
    assert {a for (_, a, _) in EXPECTED} == {a.value for a in Action}
    assert set(PERFORM) == set(Action)
    assert len(EXPECTED) == len(OPERATOR_ROLES) * len(Action) * len(TARGET_ROLES)


@pytest.mark.parametrize("target_role", TARGET_ROLES)
@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
@pytest.mark.parametrize("op_role", OPERATOR_ROLES)
def test_permission_matrix(ctx, make_operator, make_user, db_rows, audit_events, op_role, action, target_role):
    actor = make_operator(op_role, f"op-{op_role}").actor
    make_user("spare-admin", role="admin")  # so an admin target is never the last admin
    name = f"target-{target_role}"
    if action is not Action.CREATE:
        make_user(name, role=target_role)  # a fresh target for every case
    audit_name, prepare, perform, effect = PERFORM[action]
    state = prepare(ctx, name)
    before = db_rows(exclude=("audit_events", "audit_head"))
    last = audit_events()[-1].seq

    if EXPECTED[(op_role, action.value, target_role)]:
        result = perform(ctx, actor, name, target_role, state)
        effect(ctx, name, target_role, state, result)
        if audit_name:
            ev = [e for e in audit_events(after=last) if e.action == audit_name][-1]
            assert (ev.operator, ev.target, ev.outcome, ev.error_code) == (actor.username, name, "ok", None)
            if op_role == "helpdesk":
                assert (ev.reason, ev.identity_check) == (R["reason"], R["identity_check"])
    else:
        with pytest.raises(ServiceError) as ei:
            perform(ctx, actor, name, target_role, state)
        assert isinstance(ei.value, PermissionDenied) and ei.value.code == "PERMISSION_DENIED", ei.value.message
        assert db_rows(exclude=("audit_events", "audit_head")) == before
        if audit_name:
            new = audit_events(after=last)
            assert len(new) == 1
            # A role that may not revoke tickets is refused before the ticket is
            # looked up (ids cannot be probed), so that event names no account.
            refused_unseen = audit_name == "ticket.revoke" and actor.role == "viewer"
            assert (new[0].action, new[0].operator, new[0].target, new[0].outcome, new[0].error_code) == (
                audit_name, actor.username, None if refused_unseen else name, "denied", "PERMISSION_DENIED")


# -- what a refusal says ---------------------------------------------------------------------------


@pytest.mark.parametrize("op_role", ["helpdesk", "viewer"])
def test_a_role_refusal_reads_as_a_sentence(ctx, make_operator, make_user, op_role):
    """"a viewer cannot issue reset tickets", not "the viewer role may not issue_ticket"."""
    from console.services.permissions import ALLOWED, denial

    op = make_operator(op_role).actor
    article = {"helpdesk": "a helpdesk operator", "viewer": "a viewer"}[op_role]
    refused = [a for a in Action if a not in ALLOWED[op_role]]
    assert refused
    for action in refused:
        why = denial(op, action, "member")
        assert why.startswith(f"{article} cannot "), why
        assert "_" not in why and "role may" not in why, why
    assert denial(op, Action.ISSUE_TICKET, "member") == (
        None if op_role == "helpdesk" else "a viewer cannot issue reset tickets")
    make_user("alice")
    with pytest.raises(PermissionDenied) as ei:
        users.delete_user(ctx, op, "alice", reason="r")
    assert ei.value.message == f"permission denied: {article} cannot delete accounts"


def test_helpdesk_on_a_staff_account_is_told_which_accounts_it_may_act_on(make_operator):
    from console.services.permissions import denial

    op = make_operator("helpdesk").actor
    assert denial(op, Action.RESET_PASSWORD, "admin") == (
        "a helpdesk operator can act on member accounts only, not on admin accounts")


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
def test_who_may_tells_the_table(action):
    """``who_may`` (what the console's help shows) says what the table says:
    the roles that may take the action, and "member accounts" where a role may
    take it only on members."""
    from console.services.permissions import who_may

    expected = {}
    for op in OPERATOR_ROLES:
        marks = [EXPECTED[(op, action.value, target)] for target in TARGET_ROLES]
        if all(marks):
            expected[op] = None
        elif marks == [True, False, False, False]:
            expected[op] = "member accounts"
        else:
            assert not any(marks), (op, action, marks)
    assert who_may(action) == expected

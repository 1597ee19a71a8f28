"""Changing native accounts: create, update, role, block, unblock, unlock,
delete; adding operators. Reading them (get, list, count, filters, the
operators) is services/listing.py."""

from __future__ import annotations

import json

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from console.models import LOCAL_SOURCE, AuditEvent, AuditHead, ResetTicket, User, UserSession
from console.security.generator import generate
from console.security.text import looks_alike
from console.services import validation
from console.services.base import action, expiry_from, find_user, user_action
from console.services.context import Actor, ServiceContext
from console.services.errors import InvalidInput, LastAdmin, NoChange, SelfAction, UserExists
from console.services.listing import OPERATOR_ROLES
from console.services.permissions import ALLOWED, Action, denial
from console.services.views import OneTimeSecret, PasswordResult, UserView

UNSET = object()


def create_user(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    email: str | None = None,
    display_name: str | None = None,
    role: str = "member",
    source: str = LOCAL_SOURCE,
    generate_password: bool = True,
    must_change: bool = True,
    reason: str | None = None,
    identity_check: str | None = None,
    first_admin: bool = False,
) -> PasswordResult:
    """Create an account. A local account gets a generated one-time password
    (to be changed at first sign-in unless ``must_change`` is False) unless
    ``generate_password`` is False. ``first_admin``: refused if the database
    has an admin by the time this transaction holds the writers' lock, so two
    ``init`` runs at once create one admin, not two."""
    with action(ctx, actor, "user.create", target=username, reason=reason, identity_check=identity_check) as tx:
        role = validation.role(role)
        tx.require(Action.CREATE, target_role=role)
        if first_admin:
            # The audit head row is every writer's lock on PostgreSQL (SQLite's
            # write transaction already holds the whole database).
            tx.s.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one_or_none()
            if tx.s.exec(select(func.count()).select_from(User).where(User.role == "admin")).one():
                raise UserExists("this database already has an admin; sign in as them to create more")
        username = validation.username(username)
        email = validation.email(email)
        display_name = validation.display_name(display_name)
        source = validation.source(source)
        if find_user(tx.s, username) is not None:
            raise UserExists(f"a user named {username!r} already exists (usernames ignore case)")
        _refuse_lookalike(tx, username=username, display_name=display_name)
        u = User(username=username, email=email, display_name=display_name, role=role, source=source,
                 created_at=tx.now, updated_at=tx.now)
        generated = None
        if source == LOCAL_SOURCE and generate_password:
            generated = generate(ctx.policy, username=username, email=email, display_name=display_name)
            u.password_hash = ctx.hasher.hash(generated.password)
            u.password_changed_at = tx.now
            u.must_change_password = must_change
            u.password_expires_at = expiry_from(ctx, tx.now, None)
        tx.s.add(u)
        try:
            tx.s.flush()
        except IntegrityError:
            raise UserExists(f"a user named {username!r} already exists (usernames ignore case)") from None
        tx.details = {"role": role, "source": source, "password": "generated" if generated else "none"}
        view = UserView.of(u, tx.now)
    return PasswordResult(
        user=view,
        password=OneTimeSecret(generated.password) if generated else None,
        entropy_bits=generated.entropy_bits if generated else None,
    )


def update_profile(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    email=UNSET,
    display_name=UNSET,
    expected_version: int | None = None,
    reason: str | None = None,
    identity_check: str | None = None,
) -> UserView:
    with user_action(ctx, actor, "user.update", Action.UPDATE_PROFILE, username,
                     reason=reason, identity_check=identity_check, expected_version=expected_version) as (tx, u):
        changed = []
        if email is not UNSET:
            new = validation.email(email)
            if new != u.email:
                u.email, changed = new, changed + ["email"]
        if display_name is not UNSET:
            new = validation.display_name(display_name)
            if new != u.display_name:
                _refuse_lookalike(tx, display_name=new, self_id=u.id)
                u.display_name, changed = new, changed + ["display_name"]
        if not changed:
            raise NoChange("profile", "nothing to change")
        u.updated_at = tx.now
        tx.details = {"changed": changed}
        return tx.saved(u)


def _active_admins(s) -> int:
    """Counted under row locks (PostgreSQL), so two operators cannot each remove
    one of the last two admins."""
    ids = s.exec(select(User.id).where(User.role == "admin", User.blocked == False).with_for_update()).all()  # noqa: E712
    return len(ids)


def _guard_last_admin(tx, u: User, what: str) -> None:
    if u.role == "admin" and not u.blocked and _active_admins(tx.s) <= 1:
        raise LastAdmin(f"{u.username} is the last active admin; {what} would leave nobody able to administer")


def _guard_self(tx, u: User, what: str) -> None:
    if tx.actor.id is not None and u.id == tx.actor.id:
        raise SelfAction(f"you cannot {what} your own account")


def set_role(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    role: str,
    *,
    expected_version: int | None = None,
    reason: str | None = None,
) -> UserView:
    with user_action(ctx, actor, "user.set_role", Action.SET_ROLE, username,
                     reason=reason, expected_version=expected_version) as (tx, u):
        role = validation.role(role)
        if role == u.role:
            raise NoChange("role", f"{u.username} already has the {role} role")
        _guard_self(tx, u, "change the role of")
        if u.role == "admin":
            _guard_last_admin(tx, u, "demoting them")
        tx.details = {"from": u.role, "to": role}
        if role in OPERATOR_ROLES and u.role not in OPERATOR_ROLES:
            _refuse_lookalike(tx, username=u.username, display_name=u.display_name, self_id=u.id)
        if RANK[role] > RANK[u.role]:
            _raise_privilege(tx, u, role)
        u.role = role
        u.updated_at = tx.now
        return tx.saved(u)


def _refuse_lookalike(tx, *, username: str | None = None, display_name: str | None = None,
                      self_id: int | None = None) -> None:
    """A name must not pass for an operator's: compared under the UTS #39
    confusables skeleton, regardless of case, with every other operator's
    username and display name (``аdmin`` in Cyrillic, ``adrnin``, a display
    name ``Admin`` for a member)."""
    with tx.s.no_autoflush:  # a pending change of the account is flushed once, at commit
        operators = tx.s.exec(select(User.id, User.username, User.display_name)
                              .where(User.role.in_(OPERATOR_ROLES))).all()
    for field, value in (("username", username), ("display_name", display_name)):
        if not value:
            continue
        for oid, name, shown in operators:
            if oid != self_id and any(looks_alike(value, x) for x in (name, shown) if x):
                raise InvalidInput(field, "lookalike",
                                   f"looks like the name of the operator {name}: choose one that cannot be "
                                   "mistaken for theirs")


#: Roles from least to most privileged.
RANK = {"member": 0, "viewer": 1, "helpdesk": 2, "admin": 3}
#: The events that leave an account with a new password.
_CREDENTIAL_SETTERS = ("user.create", "password.reset", "password.set", "password.change_own", "ticket.redeem")


def _raise_privilege(tx, u: User, role: str) -> None:
    """No privilege is carried across a promotion: the account's outstanding
    tickets and its sessions end, and a password someone set who has no rights
    over an account of the new role (helpdesk, for an admin) must be changed."""
    tx.details["tickets_revoked"] = revoke_tickets_of(tx, u, "role raised")
    tx.details["sessions_revoked"] = revoke_sessions_of(tx, u, "role raised")
    if u.password_hash is None or u.must_change_password:
        return
    setter = _credential_setter(tx.s, u)
    if setter is None:
        return
    holder = tx.s.exec(select(User).where(func.lower(User.username) == setter.lower())).first()
    if holder is not None and not holder.blocked and holder.role in ALLOWED and not denial(
            Actor(holder.id, holder.username, holder.role, "password"), Action.SET_PASSWORD, role):
        return
    u.must_change_password = True
    tx.details["must_change"] = f"the password was set by {setter}, who has no rights over a {role} account"


def _credential_setter(s, u: User) -> str | None:
    """Who knows the account's current password besides its user: the operator
    of the newest event that set it (for a redeemed ticket, its issuer unless it
    was mailed to the user's own address), or None when the user chose it."""
    ev = s.exec(select(AuditEvent).where(AuditEvent.target == u.username, AuditEvent.outcome == "ok",
                                         AuditEvent.action.in_(_CREDENTIAL_SETTERS), AuditEvent.at >= u.created_at)
                .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if ev is None or ev.action == "password.change_own":
        return None
    if ev.action == "ticket.redeem":
        ticket = s.get(ResetTicket, json.loads(ev.details).get("ticket_id") or 0)
        return None if ticket is None or ticket.delivery == "email" else ticket.issued_by
    return ev.operator


def revoke_sessions_of(tx, u: User, why: str) -> int:
    res = tx.s.exec(
        update(UserSession)
        .where(UserSession.user_id == u.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=tx.now, revoked_reason=why)
    )
    return res.rowcount or 0


def revoke_tickets_of(tx, u: User, why: str) -> int:
    res = tx.s.exec(
        update(ResetTicket)
        .where(ResetTicket.user_id == u.id, ResetTicket.used_at.is_(None), ResetTicket.revoked_at.is_(None))
        .values(revoked_at=tx.now, revoked_reason=why)
    )
    return res.rowcount or 0


def block_user(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    reason: str,
    identity_check: str | None = None,
    expected_version: int | None = None,
) -> UserView:
    """Block an account (reason required); its sessions and tickets are revoked."""
    with user_action(ctx, actor, "user.block", Action.BLOCK, username,
                     reason=reason, identity_check=identity_check, reason_required=True, expected_version=expected_version) as (tx, u):
        if u.blocked:
            raise NoChange("blocked", f"{u.username} is already blocked")
        _guard_self(tx, u, "block")
        _guard_last_admin(tx, u, "blocking them")
        u.blocked, u.blocked_reason, u.blocked_at, u.updated_at = True, tx.reason, tx.now, tx.now
        tx.s.add(u)
        tx.s.flush()
        tx.details = {
            "sessions_revoked": revoke_sessions_of(tx, u, "blocked"),
            "tickets_revoked": revoke_tickets_of(tx, u, "blocked"),
        }
        return UserView.of(u, tx.now)


def unblock_user(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    reason: str | None = None,
    identity_check: str | None = None,
    expected_version: int | None = None,
) -> UserView:
    with user_action(ctx, actor, "user.unblock", Action.UNBLOCK, username,
                     reason=reason, identity_check=identity_check, expected_version=expected_version) as (tx, u):
        if not u.blocked:
            raise NoChange("blocked", f"{u.username} is not blocked")
        tx.details = {"was_blocked_for": u.blocked_reason}
        u.blocked, u.blocked_reason, u.blocked_at, u.updated_at = False, None, None, tx.now
        return tx.saved(u)


def unlock_user(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    reason: str | None = None,
    identity_check: str | None = None,
    expected_version: int | None = None,
) -> UserView:
    """Clear a lockout after failed sign-ins (and the failure count): the
    application's, and an operator's console lock."""
    with user_action(ctx, actor, "user.unlock", Action.UNLOCK, username,
                     reason=reason, identity_check=identity_check, expected_version=expected_version) as (tx, u):
        if (u.failed_logins, u.locked_until, u.console_failed_logins, u.console_locked_until) == (0, None, 0, None):
            raise NoChange("locked", f"{u.username} is not locked and has no failed sign-ins")
        tx.details = {"failed_logins": u.failed_logins, "was_locked": bool(u.locked_until and u.locked_until > tx.now)}
        if u.console_failed_logins or u.console_locked_until:
            tx.details.update(console_failed_logins=u.console_failed_logins,
                              was_console_locked=bool(u.console_locked_until and u.console_locked_until > tx.now))
        u.failed_logins, u.locked_until, u.updated_at = 0, None, tx.now
        u.console_failed_logins, u.console_locked_until = 0, None
        return tx.saved(u)


def delete_user(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Delete an account with its sessions, tickets and password history.
    The audit log keeps the username."""
    with user_action(ctx, actor, "user.delete", Action.DELETE, username,
                     reason=reason, expected_version=expected_version) as (tx, u):
        _guard_self(tx, u, "delete")
        _guard_last_admin(tx, u, "deleting them")
        # No personal data in the event: the account is meant to be gone.
        tx.details = {"role": u.role, "sessions_revoked": revoke_sessions_of(tx, u, "deleted")}
        tx.s.delete(u)
        tx.s.flush()


def create_operator(ctx: ServiceContext, actor: Actor, username: str, role: str, *, email: str | None = None,
                    reason: str | None = None, identity_check: str | None = None) -> PasswordResult:
    """Add an operator to the desk: ``create_user`` for an operator role only,
    with a generated password to be changed at first sign-in."""
    if role not in OPERATOR_ROLES:
        raise InvalidInput("role", "choice", f"an operator's role is one of {', '.join(OPERATOR_ROLES)}")
    return create_user(ctx, actor, username, email=email, role=role, reason=reason, identity_check=identity_check)

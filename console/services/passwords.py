"""Password actions: reset (generated), set (chosen), change own, force change, expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from console.models import PasswordHistory, User
from console.security import policy as policy_rules
from console.security.generator import generate
from console.security.hashing import VerifyResult
from console.services import validation
from console.services.auth import sign_in
from console.services.base import Tx, action, expiry_from, find_user, user_action
from console.services.context import Actor, ServiceContext
from console.services.errors import InvalidInput, NoChange, PasswordChoiceDisabled, ServiceError, WeakPassword
from console.services.permissions import Action
from console.services.users import revoke_sessions_of, revoke_tickets_of
from console.services.views import OneTimeSecret, PasswordResult, UserView


def previous_hashes(s: Session, u: User, n: int) -> list[str]:
    """The user's current and earlier password hashes, newest first, at most n."""
    if n <= 0:
        return []
    hashes = [u.password_hash] if u.password_hash else []
    if len(hashes) < n:
        rows = s.exec(
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.user_id == u.id)
            .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
            .limit(n - len(hashes))
        ).all()
        hashes.extend(rows)
    return hashes


class Prechecked:
    """A new password's argon2 work, done before the write lock is taken: its
    hash, and its checks against the account's stored hashes (history). Under
    the lock the checks are looked up; a stored hash that appeared meanwhile is
    checked there, so the verdict is always against the history as committed."""

    def __init__(self, ctx: ServiceContext, password: str, stored: list[str]) -> None:
        self.ctx, self.password = ctx, password
        self.new_hash = ctx.hasher.hash(password)
        self.results: dict[str, VerifyResult] = {}
        for h in stored:
            self.verify(h, password)

    def verify(self, stored: str | None, password: str) -> VerifyResult:
        if password != self.password or not stored:
            return self.ctx.hasher.verify(stored, password)
        if stored not in self.results:
            self.results[stored] = self.ctx.hasher.verify(stored, password)
        return self.results[stored]

    @classmethod
    def of(cls, ctx: ServiceContext, password: str, read: Callable[[Session], User | None]) -> "Prechecked | None":
        """``read``: finds the account in a read transaction. None when the
        password is malformed, fails a rule that needs no hash, or the account
        cannot be read: the action itself then reports why, audited, and no
        argon2 work was spent on it."""
        try:
            validation.secret(password, "new_password")
            with ctx.read_session() as s:
                u = read(s)
                if u is None or policy_rules.failures(policy_rules.check(
                        ctx.policy, password, username=u.username, email=u.email, display_name=u.display_name)):
                    return None  # refused by a rule that needs no hash: no argon2 work for it
                stored = previous_hashes(s, u, ctx.policy.history)
        except (ServiceError, SQLAlchemyError):
            return None
        return cls(ctx, password, stored)


def check_new_password(ctx: ServiceContext, s: Session, u: User, password: str,
                       pre: Prechecked | None = None) -> None:
    """Raise WeakPassword with every failing rule, history included."""
    validation.secret(password, "new_password")
    pol = ctx.policy
    who = {"username": u.username, "email": u.email, "display_name": u.display_name}
    # The rules that need no hash first: a password they refuse costs no argon2 work.
    failed = policy_rules.failures(policy_rules.check(pol, password, **who))
    if not failed:
        failed = policy_rules.failures(policy_rules.check(
            pol, password, **who, previous_hashes=previous_hashes(s, u, pol.history),
            hasher=pre if pre is not None else ctx.hasher))
    if failed:
        raise WeakPassword(failed)


def apply_new_hash(tx: Tx, u: User, new_hash: str, *, expires_at: datetime | None, must_change: bool | None) -> None:
    """Store a new hash: keep the old one in the history (trimmed to the policy's
    depth), set change/expiry dates, clear any lockout."""
    keep = tx.ctx.policy.history
    if u.password_hash and keep > 0:
        tx.s.add(PasswordHistory(user_id=u.id, password_hash=u.password_hash,
                                 created_at=u.password_changed_at or tx.now))
        tx.s.flush()
        ids = tx.s.exec(
            select(PasswordHistory.id)
            .where(PasswordHistory.user_id == u.id)
            .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
        ).all()
        stale = ids[keep:]  # a short per-user list
        if stale:
            tx.s.exec(delete(PasswordHistory).where(PasswordHistory.id.in_(stale)))
    u.password_hash = new_hash
    u.password_changed_at = tx.now
    u.password_expires_at = expires_at
    if must_change is not None:
        u.must_change_password = must_change
    u.failed_logins, u.locked_until = 0, None
    u.console_failed_logins, u.console_locked_until = 0, None
    u.updated_at = tx.now
    tx.s.add(u)


def reset_password(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    reason: str | None = None,
    identity_check: str | None = None,
    expiry_days: int | None = None,
    must_change: bool | None = None,
    expected_version: int | None = None,
) -> PasswordResult:
    """Set a generated password and return it once, after the change has committed.

    Revokes the user's sessions and outstanding tickets and clears any lockout.
    ``must_change``: True/False sets the flag, None keeps the current value.
    ``expiry_days``: None uses the configured default, 0 means no expiry."""
    pol = ctx.policy
    # The argon2 work happens before the write lock is taken, so a reset never
    # holds up other operators' actions or users' sign-ins for a hash.
    generated = generate(pol, username=username)
    new_hash = ctx.hasher.hash(generated.password)
    with user_action(ctx, actor, "password.reset", Action.RESET_PASSWORD, username,
                     reason=reason, identity_check=identity_check, expected_version=expected_version) as (tx, u):
        expiry_days = validation.expiry_days(expiry_days)
        if policy_rules.failures(policy_rules.check(pol, generated.password, username=u.username, email=u.email,
                                                    display_name=u.display_name)):
            # Contains the email or name (vanishingly rare at 192 bits): draw again.
            generated = generate(pol, username=u.username, email=u.email, display_name=u.display_name)
            new_hash = ctx.hasher.hash(generated.password)
        apply_new_hash(tx, u, new_hash, expires_at=expiry_from(ctx, tx.now, expiry_days), must_change=must_change)
        sessions = revoke_sessions_of(tx, u, "password reset")
        tickets = revoke_tickets_of(tx, u, "password reset")
        tx.s.flush()
        tx.details = {
            "must_change": u.must_change_password,
            "expires_at": u.password_expires_at,
            "sessions_revoked": sessions,
            "tickets_revoked": tickets,
            "entropy_bits": generated.entropy_bits,
        }
        view = UserView.of(u, tx.now)
    # Only reached after the commit above.
    return PasswordResult(view, OneTimeSecret(generated.password), generated.entropy_bits, sessions, tickets)


def set_password(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    password: str,
    *,
    reason: str | None = None,
    identity_check: str | None = None,
    expiry_days: int | None = None,
    must_change: bool | None = None,
    expected_version: int | None = None,
) -> UserView:
    """Set a password the operator chose, under the policy. Refused when the
    configuration does not let operators choose passwords. The argon2 work is
    done before the write lock (Prechecked)."""
    pre = (Prechecked.of(ctx, password, lambda s: find_user(s, username))
           if isinstance(username, str) and ctx.settings.admin_may_set_password else None)
    with user_action(ctx, actor, "password.set", Action.SET_PASSWORD, username,
                     reason=reason, identity_check=identity_check, expected_version=expected_version) as (tx, u):
        expiry_days = validation.expiry_days(expiry_days)
        if not ctx.settings.admin_may_set_password:
            raise PasswordChoiceDisabled(
                "operators may not choose passwords here (admin_may_set_password is off): "
                "reset to a generated password or issue a reset ticket"
            )
        check_new_password(ctx, tx.s, u, password, pre)
        apply_new_hash(tx, u, pre.new_hash if pre else ctx.hasher.hash(password),
                       expires_at=expiry_from(ctx, tx.now, expiry_days), must_change=must_change)
        sessions = revoke_sessions_of(tx, u, "password set")
        tickets = revoke_tickets_of(tx, u, "password set")
        tx.s.flush()
        tx.details = {"must_change": u.must_change_password, "expires_at": u.password_expires_at,
                      "sessions_revoked": sessions, "tickets_revoked": tickets}
        return UserView.of(u, tx.now)


def change_own_password(ctx: ServiceContext, actor: Actor, old_password: str, new_password: str) -> Actor:
    """The signed-in operator changes their own password. The old one is verified
    (a wrong one counts towards lockout); returns the operator re-authenticated
    with the new password."""
    validation.secret(old_password, "old_password")
    sign_in(ctx, actor.username, old_password, audit_success=False)
    pre = Prechecked.of(ctx, new_password, lambda s: s.get(User, actor.id) if actor.id is not None else None)
    with action(ctx, actor, "password.change_own", target=actor.username) as tx:
        tx.operator()
        u = tx.user(actor.username)
        if u.id != actor.id:
            raise InvalidInput("operator", "mismatch", "the signed-in operator no longer exists")
        check_new_password(ctx, tx.s, u, new_password, pre)
        apply_new_hash(tx, u, pre.new_hash if pre else ctx.hasher.hash(new_password),
                       expires_at=expiry_from(ctx, tx.now, None), must_change=False)
        tx.s.flush()
        tx.details = {"expires_at": u.password_expires_at}
    return sign_in(ctx, actor.username, new_password, audit_success=False)


def force_change(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    on: bool = True,
    reason: str | None = None,
    identity_check: str | None = None,
    expected_version: int | None = None,
) -> UserView:
    """Require (or stop requiring) a password change at the next sign-in."""
    with user_action(ctx, actor, "password.force_change", Action.FORCE_CHANGE, username,
                     reason=reason, identity_check=identity_check, expected_version=expected_version) as (tx, u):
        if u.must_change_password == on:
            raise NoChange("must_change",
                               f"{u.username} {'already has' if on else 'does not have'} to change password")
        u.must_change_password, u.updated_at = on, tx.now
        tx.details = {"must_change": on}
        return tx.saved(u)


def expire_now(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    reason: str | None = None,
    identity_check: str | None = None,
    expected_version: int | None = None,
) -> UserView:
    """Expire the password now: the next sign-in must change it."""
    with user_action(ctx, actor, "password.expire", Action.EXPIRE, username,
                     reason=reason, identity_check=identity_check, expected_version=expected_version) as (tx, u):
        if u.password_hash is None:
            raise InvalidInput("password", "missing", f"{u.username} has no password to expire")
        u.password_expires_at, u.updated_at = tx.now, tx.now
        tx.details = {"expired_at": tx.now}
        return tx.saved(u)

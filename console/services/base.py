"""The shape of every mutating service function: one transaction that checks
permission, validates, changes rows, writes its audit event and commits — or
changes nothing and records the failure in the audit log.

Internal to the service layer (console/services/__init__.py lists the public API).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from console.models import LOCAL_SOURCE, User
from console.services import auditlog, prepared, validation
from console.services.context import Actor, ServiceContext
from console.services.errors import (
    AuditUnavailable,
    DatabaseUnavailable,
    ExternalAccount,
    IdentityCheckRequired,
    PasswordChangeRequired,
    PermissionDenied,
    NoChange,
    ReadOnly,
    ReasonRequired,
    ServiceError,
    StaleRecord,
    UserNotFound,
)
from console.services.permissions import PASSWORD_ACTIONS, Action, reason_needed, require
from console.services.views import UserView


def find_user(s: Session, username: str, *, for_update: bool = False) -> User | None:
    stmt = select(User).where(func.lower(User.username) == username.lower())
    if for_update:
        stmt = stmt.with_for_update()
    return s.exec(stmt).one_or_none()


def get_user_row(s: Session, username: str) -> User:
    """A user by name for reading, or USER_NOT_FOUND."""
    validation.username(username)
    u = find_user(s, username)
    if u is None:
        raise UserNotFound(f"no user named {username!r}")
    return u


class Tx:
    """Handle given to the body of an action."""

    def __init__(self, ctx: ServiceContext, actor: Actor, session: Session, name: str, target: str | None,
                 reason: str | None, identity_check: str | None) -> None:
        self.ctx = ctx
        self.actor = actor
        self.s = session
        self.name = name
        self.target = target
        self.reason = reason
        self.identity_check = identity_check
        self.details: dict[str, Any] = {}
        self.now = ctx.now()
        #: The audited outcome on commit: ``ok``, or ``pending`` for a change a
        #: foreign store applies after this transaction (services/accounts.py).
        self.outcome = "ok"
        #: The audit event this transaction wrote (set on commit).
        self.event: Any = None
        #: Called with this Tx after its audit event is appended, before the commit.
        self.before_commit: list = []

    # -- permission -------------------------------------------------------------

    def operator(self) -> Actor:
        """The operator as the database has them now: a demotion, block or
        forced password change takes effect at once."""
        actor = self.actor
        if actor.is_system:
            return actor
        if self.ctx.settings.read_only:
            raise ReadOnly("the console is in read-only mode: no changes can be made")
        row = self.s.get(User, actor.id) if actor.id is not None else None
        if row is None or row.blocked:
            raise PermissionDenied("permission denied: your operator account is blocked or no longer exists")
        expired = row.password_expires_at is not None and row.password_expires_at <= self.now
        if (row.must_change_password or expired) and actor.method == "password" and self.name != "password.change_own":
            raise PasswordChangeRequired("change your own password first (userdesk change-password)")
        return Actor(row.id, row.username, row.role, actor.method, row.must_change_password)

    def require(self, action: Action, target: User | None = None, *, target_role: str | None = None) -> None:
        """Permission check against the operator's current role, then the rules
        that go with it (external accounts, then the reason and identity check
        the action must record)."""
        actor = self.operator()
        require(actor, action, target.role if target is not None else target_role)
        if target is not None and action in PASSWORD_ACTIONS and target.source != LOCAL_SOURCE:
            raise ExternalAccount(
                f"{target.username}'s password is managed by the identity provider {target.source!r}; "
                "change it there"
            )
        # What the action must record, once it is known that it can be done at all.
        why = reason_needed(actor, action, reason_required=self.ctx.settings.reason_required)
        if why is not None and not self.reason:
            raise ReasonRequired(why)
        if actor.role == "helpdesk" and action is not Action.VIEW and not self.identity_check:
            raise IdentityCheckRequired(
                "identity_check: helpdesk actions must record how the caller's identity was checked"
            )

    def user(self, username: str, *, expected_version: int | None = None) -> User:
        validation.username(username)
        u = find_user(self.s, username, for_update=True)
        if u is None:
            raise UserNotFound(f"no user named {username!r}")
        if expected_version is not None and u.version != expected_version:
            raise StaleRecord(
                f"{u.username} was changed by someone else since you loaded it; reload and try again"
            )
        self.target = u.username
        return u

    def saved(self, u: User) -> UserView:
        """Write the changed account (within this transaction) and return its view."""
        self.s.add(u)
        self.s.flush()
        return UserView.of(u, self.now)

    def target_user(self, username: str, action: Action, *, expected_version: int | None = None) -> User:
        """Load the user ``action`` is about and check permission: first whether
        the role may take the action at all (so a viewer learns nothing about
        the account), then against the account's role."""
        require(self.operator(), action, None)
        u = self.user(username, expected_version=expected_version)
        self.require(action, u)
        return u


def _record_failure(ctx: ServiceContext, actor: Actor, name: str, target: str | None, reason: str | None,
                    identity_check: str | None, err: ServiceError) -> None:
    if ctx.settings.read_only or isinstance(err, AuditUnavailable):
        return  # read-only writes nothing; a log that cannot be extended takes no refusal either
    try:
        with ctx.write_session() as s:
            auditlog.append(
                ctx,
                s,
                at=ctx.now(),
                operator=actor.username,
                action=name,
                target=target,
                outcome=err.outcome,
                error_code=err.code,
                reason=reason,
                identity_check=identity_check,
                details={"unchanged": err.message} if isinstance(err, NoChange) else {"error": err.message},
            )
            s.commit()
    except (OperationalError, DBAPIError, AuditUnavailable):
        pass  # the database is gone, or its log cannot be extended: the caller gets the original error


@contextmanager
def action(
    ctx: ServiceContext,
    actor: Actor,
    name: str,
    *,
    target: str | None = None,
    reason: str | None = None,
    identity_check: str | None = None,
    reason_required: bool = False,
) -> Iterator[Tx]:
    """Run the body in one write transaction; audit success or failure. A
    read-only console refuses before anything, and writes nothing (no audit
    event either: a read-only console writes nothing at all)."""
    if ctx.settings.read_only and not actor.is_system:
        raise ReadOnly("the console is in read-only mode: no changes can be made")
    # Free text is checked before anything else, and a failure is itself audited
    # without the offending text.
    try:
        reason = validation.reason(reason, required=reason_required)
        identity_check = validation.identity_check(identity_check)
    except ServiceError as err:
        _record_failure(ctx, actor, name, _safe_target(target), None, None, err)
        raise
    tx: Tx | None = None
    try:
        with ctx.write_session() as s:
            tx = Tx(ctx, actor, s, name, _safe_target(target), reason, identity_check)
            yield tx
            tx.event = auditlog.append(
                ctx,
                s,
                at=tx.now,
                operator=actor.username,
                action=name,
                target=tx.target,
                outcome=tx.outcome,
                reason=reason,
                identity_check=identity_check,
                details=tx.details,
            )
            for hook in tx.before_commit:
                hook(tx)
            s.commit()
            ctx.writes += 1
    except StaleDataError:
        err = StaleRecord(f"{tx.target if tx else target} was changed by someone else at the same time; reload and try again")
        _record_failure(ctx, actor, name, tx.target if tx else target, reason, identity_check, err)
        raise err from None
    except ServiceError as err:
        _record_failure(ctx, actor, name, tx.target if tx else _safe_target(target), reason, identity_check, err)
        raise
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None


@contextmanager
def user_action(
    ctx: ServiceContext,
    actor: Actor,
    name: str,
    permission: Action,
    username: str,
    *,
    reason: str | None = None,
    identity_check: str | None = None,
    expected_version: int | None = None,
    reason_required: bool = False,
) -> Iterator[tuple[Tx, User]]:
    """``action`` for the common case: one user, loaded for update, permission checked."""
    with action(ctx, actor, name, target=username, reason=reason, identity_check=identity_check,
                reason_required=reason_required) as tx:
        yield tx, tx.target_user(username, permission, expected_version=expected_version)


def _safe_target(target: str | None) -> str | None:
    """Targets are audited as given only when they are well-formed usernames."""
    if target is None:
        return None
    try:
        return validation.username(target)
    except ServiceError:
        return "(invalid username)"


def _still_allowed(actor: Actor, row: Any) -> None:
    """``row``: the operator's (role, blocked) as stored now, or None."""
    if row is None or row[1]:
        raise PermissionDenied("permission denied: your operator account is blocked or no longer exists")
    require(Actor(actor.id, actor.username, row[0], actor.method), Action.VIEW, None)  # demoted?


@contextmanager
def reading(ctx: ServiceContext, actor: Actor) -> Iterator[Session]:
    """A read-only session for a VIEW action by an operator who still exists
    and is not blocked."""
    require(actor, Action.VIEW, None)
    try:
        with ctx.read_session() as s:
            if actor.id is not None:  # a plain-column read: this runs before every page
                _still_allowed(actor, s.connection().execute(
                    select(User.role, User.blocked).where(User.id == actor.id)).one_or_none())
            yield s
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None


def _operator_row():
    return select(User.role, User.blocked).where(User.id == bindparam("operator_id"))


@contextmanager
def reading_prepared(ctx: ServiceContext, actor: Actor) -> Iterator[Connection]:
    """``reading`` on a bare connection, for reads run through prepared.py (the
    operator check is one of them)."""
    require(actor, Action.VIEW, None)
    try:
        with ctx.engine.connect() as conn:
            if actor.id is not None:
                query = prepared.prepare(conn.dialect, "operator.role_blocked", _operator_row)
                _still_allowed(actor, prepared.fetch(conn, query, {"operator_id": actor.id}, one=True))
            yield conn
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None


def expiry_from(ctx: ServiceContext, now: datetime, days: int | None) -> datetime | None:
    """When a password set at *now* expires: after *days* (the operator's
    choice), else the configured default (``Settings.default_expiry_days``);
    None when that is 0 (never)."""
    days = ctx.settings.default_expiry_days() if days is None else days
    return now + timedelta(days=days) if days else None

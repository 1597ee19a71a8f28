"""Signing in: operators to the console (with lockout), and ``authenticate`` for
the application that uses this database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from console.models import LOCAL_SOURCE, User
from console.security.hashing import VerifyResult
from console.services import auditlog, validation
from console.services.base import find_user
from console.services.context import Actor, ServiceContext
from console.services.permissions import OPERATOR_ROLES
from console.services.errors import (
    AuthFailed,
    DatabaseUnavailable,
    InvalidInput,
    LockedOut,
    PermissionDenied,
    ServiceError,
)

WRONG = "wrong username or password"
#: The audit's operator for a sign-in with a name that is no account's.
UNKNOWN_NAME = "(unknown name)"


def _fmt(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def _username_or_none(username: str) -> str | None:
    try:
        return validation.username(username)
    except InvalidInput:
        return None


def _bookkeep(s, u: User, **values) -> None:
    """Write sign-in bookkeeping (failure count, lockout, last sign-in, rehash)
    without bumping the record's version: a user signing in is not an edit
    that an operator's open dialog should be refused over."""
    s.exec(update(User).where(User.id == u.id).values(**values))
    for key, value in values.items():
        set_committed_value(u, key, value)


class _Verdict:
    """A password checked against an account's stored hash before the write
    lock is taken (argon2 takes ~0.1 s; on SQLite that lock stops every other
    writer, sign-ins included). Under the lock, ``for_(u)`` gives the verdict
    on the hash stored now: the one computed before if it is the same hash,
    else computed again (the hash changed in between: rare)."""

    def __init__(self, ctx: ServiceContext, name: str | None, password: str) -> None:
        self.ctx, self.password = ctx, password
        self.stored = self.result = self.rehash = None
        if name:
            try:
                with ctx.read_session() as s:
                    self.stored = s.connection().execute(
                        select(User.password_hash).where(func.lower(User.username) == name.lower())).scalar()
            except OperationalError:
                self.stored = None  # the action's own transaction reports it
        if self.stored:
            self.result = ctx.hasher.verify(self.stored, password)
            if self.result.ok and self.result.needs_rehash:
                self.rehash = ctx.hasher.hash(password)
        else:
            ctx.hasher.dummy_verify(password)  # the same work for an unknown account

    def for_(self, u: User) -> tuple[VerifyResult, str | None]:
        """(verdict, new hash if it should be rehashed) for ``u`` as locked now."""
        if self.result is not None and u.password_hash == self.stored:
            return self.result, self.rehash
        result = self.ctx.hasher.verify(u.password_hash, self.password)
        return result, (self.ctx.hasher.hash(self.password) if result.ok and result.needs_rehash else None)


def _register_failure(s, u: User, now, failures: int, minutes: int, *, console: bool = False) -> bool:
    """Count a failed sign-in, the console's or the application's (each has its
    own count and lock); return True when this one locks."""
    count_field, until_field = ("console_failed_logins", "console_locked_until") if console else (
        "failed_logins", "locked_until")
    count = getattr(u, count_field) + 1
    if count >= failures:
        _bookkeep(s, u, **{count_field: 0, until_field: now + timedelta(minutes=minutes)})
        return True
    _bookkeep(s, u, **{count_field: count})
    return False


def sign_in(ctx: ServiceContext, username: str, password: str, *, audit_success: bool = True) -> Actor:
    """Verify an operator's password. Unknown user, wrong password, a member or
    external account all give the same AUTH_FAILED; repeated failures lock the
    operator out of the console (its own lock: the application's sign-in
    failures never count here). The lock is told (LOCKED_OUT, with when it
    ends) only to whoever gives the right password: the failure that locks and
    a wrong password while locked give the same AUTH_FAILED as an unknown name.
    Every outcome is audited."""
    validation.secret(password)
    settings = ctx.settings
    name = _username_or_none(username)
    err: ServiceError | None = None
    actor: Actor | None = None
    verdict = _Verdict(ctx, name, password)
    try:
        with ctx.write_session() as s:
            now = ctx.now()
            u = find_user(s, name, for_update=True) if name else None
            details: dict = {}
            action = "operator.sign_in"
            audit_code: str | None = None
            if u is None or u.role not in OPERATOR_ROLES or u.source != LOCAL_SOURCE or not u.password_hash:
                err = AuthFailed(WRONG)
            elif u.console_locked_until is not None and u.console_locked_until > now:
                if verdict.for_(u)[0].ok:
                    err = LockedOut(f"too many failed sign-ins: {u.username} is locked until "
                                    f"{_fmt(u.console_locked_until)}", until=u.console_locked_until)
                else:
                    err, audit_code = AuthFailed(WRONG), LockedOut.code
            else:
                result, rehash = verdict.for_(u)
                if not result.ok:
                    if _register_failure(s, u, now, settings.operator_lockout_failures,
                                         settings.operator_lockout_minutes, console=True):
                        action = "operator.locked"
                        details = {"failures": settings.operator_lockout_failures, "until": u.console_locked_until}
                        audit_code = LockedOut.code
                    err = AuthFailed(WRONG)
                elif u.blocked:
                    err = AuthFailed(f"{u.username} is blocked: {u.blocked_reason or 'no reason given'}")
                else:
                    values: dict = {"console_failed_logins": 0, "console_locked_until": None, "last_login_at": now}
                    if rehash is not None:
                        values["password_hash"] = rehash
                        details["rehashed"] = True
                    _bookkeep(s, u, **values)
                    expired = u.password_expires_at is not None and u.password_expires_at <= now
                    actor = Actor(u.id, u.username, u.role, "password", u.must_change_password or expired)
            if u is None:
                # What was typed is kept only when it names an account: the
                # name field often receives a password typed one field early.
                details["name_length"] = len(username) if isinstance(username, str) else 0
            if ctx.settings.read_only:
                s.rollback()  # a read-only console writes nothing: no count, no sign-in time, no audit
            elif err is not None or audit_success:
                # A failure's count holds even when its event cannot be written; a success is refused then.
                (auditlog.append_or_log if err is not None else auditlog.append)(
                    ctx,
                    s,
                    at=now,
                    operator=u.username if u else UNKNOWN_NAME,
                    action=action,
                    target=u.username if u else None,
                    outcome="ok" if err is None else err.outcome,
                    error_code=audit_code or (err.code if err else None),
                    details={**details, "method": "password"},
                )
            if not ctx.settings.read_only:
                s.commit()
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None
    if err is not None:
        raise err
    assert actor is not None
    return actor


def trusted_operator(ctx: ServiceContext, username: str) -> Actor:
    """Identify an operator without a password: only when ``trusted_operator`` is
    on (forced-command SSH, local development). Audited like a sign-in."""
    name = validation.username(username, "operator")
    err: ServiceError | None = None
    with ctx.write_session() as s:
        now = ctx.now()
        u = find_user(s, name)
        if not ctx.settings.trusted_operator:
            err = PermissionDenied("trusted operator mode is off: sign in with a password")
        elif u is None or u.role not in OPERATOR_ROLES:
            err = AuthFailed(f"{name} is not an operator account")
        elif u.blocked:
            err = AuthFailed(f"{u.username} is blocked: {u.blocked_reason or 'no reason given'}")
        known = u is not None
        if not ctx.settings.read_only:  # a read-only console writes nothing
            if err is None:  # the account's "last sign-in" shows the console's sign-ins, trusted ones too
                _bookkeep(s, u, last_login_at=now)
            auditlog.append(ctx, s, at=now, operator=u.username if known else UNKNOWN_NAME, action="operator.sign_in",
                            target=u.username if known else None, outcome="ok" if err is None else err.outcome,
                            error_code=err.code if err else None,
                            details={"method": "trusted"} if known else {"method": "trusted",
                                                                         "name_length": len(name)})
            s.commit()
    if err is not None:
        raise err
    return Actor(u.id, u.username, u.role, "trusted", False)


@dataclass(frozen=True)
class AuthResult:
    """``status``: ok | invalid | blocked | locked | expired | must_change.

    Anything but ``invalid`` is reported only to a caller who gave the right
    password, so the answer never tells whether an account exists."""

    status: str
    user_id: int | None = None
    username: str | None = None
    locked_until: object = None

    @property
    def authenticated(self) -> bool:
        """The password was right (the application may still require a change)."""
        return self.status in ("ok", "expired", "must_change")


def authenticate(ctx: ServiceContext, username: str, password: str) -> AuthResult:
    """For the integrating application: check a user's password.

    Unknown users and wrong passwords are indistinguishable (same answer, same
    argon2 work); N failures lock the account for the configured time; a hash
    made with old parameters is rehashed on success."""
    if not isinstance(password, str) or password == "" or len(password) > 1024:
        ctx.hasher.dummy_verify("x")
        return AuthResult("invalid")
    settings = ctx.settings
    name = _username_or_none(username)
    verdict = _Verdict(ctx, name, password)
    with ctx.write_session() as s:
        now = ctx.now()
        u = find_user(s, name, for_update=True) if name else None
        if u is None or u.source != LOCAL_SOURCE or not u.password_hash:
            return AuthResult("invalid")
        result, rehash = verdict.for_(u)
        if not result.ok:
            if u.locked_until is None or u.locked_until <= now:
                if _register_failure(s, u, now, settings.user_lockout_failures, settings.user_lockout_minutes):
                    auditlog.append_or_log(ctx, s, at=now, operator="application", action="user.locked",
                                           target=u.username, outcome="ok", details={"until": u.locked_until})
            s.commit()
            return AuthResult("invalid")
        if u.blocked:
            status = "blocked"
        elif u.locked_until is not None and u.locked_until > now:
            return AuthResult("locked", u.id, u.username, u.locked_until)
        elif u.password_expires_at is not None and u.password_expires_at <= now:
            status = "expired"
        elif u.must_change_password:
            status = "must_change"
        else:
            status = "ok"
        values = {"failed_logins": 0, "last_login_at": now} if status != "blocked" else {}
        if rehash is not None:
            values["password_hash"] = rehash
        if values:
            _bookkeep(s, u, **values)
        s.commit()
        return AuthResult(status, u.id, u.username)

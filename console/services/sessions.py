"""Sessions of the application that uses this database: list and revoke from the
console; ``open_session`` and ``check_session`` for the application itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from console.models import User, UserSession
from console.security import tokens
from console.services import validation
from console.services.base import find_user, get_user_row, reading, user_action
from console.services.context import Actor, ServiceContext
from console.services.errors import UserNotFound
from console.services.permissions import Action
from console.services.users import revoke_sessions_of
from console.services.views import OneTimeSecret, SessionView


def sessions_of(s: Session, u: User, now: datetime, *, include_ended: bool = False, limit: int = 200
                ) -> list[SessionView]:
    stmt = select(UserSession).where(UserSession.user_id == u.id)
    if not include_ended:
        stmt = stmt.where(UserSession.revoked_at.is_(None), UserSession.expires_at > now)
    rows = s.exec(stmt.order_by(UserSession.created_at.desc()).limit(limit)).all()
    return [SessionView.of(r, u.username, now) for r in rows]


def list_sessions(ctx: ServiceContext, actor: Actor, username: str, *, include_ended: bool = False) -> list[SessionView]:
    """The user's sessions, newest first (active ones only unless include_ended)."""
    with reading(ctx, actor) as s:
        return sessions_of(s, get_user_row(s, username), ctx.now(), include_ended=include_ended)


def revoke_sessions(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    reason: str | None = None,
    identity_check: str | None = None,
) -> int:
    """Revoke every active session of the user; returns how many."""
    with user_action(ctx, actor, "sessions.revoke", Action.REVOKE_SESSIONS, username,
                     reason=reason, identity_check=identity_check) as (tx, u):
        n = revoke_sessions_of(tx, u, "revoked by operator")
        tx.details = {"sessions_revoked": n}
        return n


@dataclass(frozen=True)
class OpenedSession:
    session: SessionView
    token: OneTimeSecret


def open_session(ctx: ServiceContext, username: str, *, client: str = "") -> OpenedSession:
    """For the application, after a successful ``authenticate``: store a new
    session (only the token's SHA-256) and return its token."""
    validation.username(username)
    client = validation.reason(client, field="client", limit=200) or ""
    token = tokens.new_token()
    with ctx.write_session() as s:
        u = find_user(s, username)
        if u is None or u.blocked:
            raise UserNotFound(f"no active user named {username!r}")
        now = ctx.now()
        row = UserSession(user_id=u.id, token_digest=tokens.digest(token), client=client, created_at=now,
                          last_seen_at=now, expires_at=now + timedelta(hours=ctx.settings.session_lifetime_hours))
        s.add(row)
        s.commit()
        view = SessionView.of(row, u.username, now)
    return OpenedSession(view, OneTimeSecret(token))


@dataclass(frozen=True)
class SessionCheck:
    valid: bool
    username: str | None = None
    expires_at: datetime | None = None


def check_session(ctx: ServiceContext, token: str) -> SessionCheck:
    """For the application: is this session token still valid? Revoked, expired,
    and blocked users' sessions are not."""
    if not isinstance(token, str) or not 10 <= len(token) <= 200:
        return SessionCheck(False)
    digest = tokens.digest(token)
    with ctx.write_session() as s:
        row = s.exec(select(UserSession).where(UserSession.token_digest == digest)).one_or_none()
        now = ctx.now()
        if row is None or not tokens.matches(token, row.token_digest):
            return SessionCheck(False)
        u = s.get(User, row.user_id)
        if row.revoked_at is not None or row.expires_at <= now or u is None or u.blocked:
            return SessionCheck(False)
        row.last_seen_at = now
        s.add(row)
        s.commit()
        return SessionCheck(True, u.username, row.expires_at)

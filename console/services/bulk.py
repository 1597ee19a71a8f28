"""Bulk actions by filter ("all members not signed in for 90 days"): force a
password change, expire passwords, revoke sessions.

Previewed with the number of accounts affected, then executed set-based —
one UPDATE per id range, never a row at a time — in one transaction with one
audit event naming the filter and the count. The run refuses (STALE_RECORD)
when the selection no longer has the previewed size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import select

from console.models import LOCAL_SOURCE, User, UserSession
from console.services.base import action, reading
from console.services.context import Actor, ServiceContext
from console.services.errors import InvalidInput, PermissionDenied, StaleRecord
from console.services.permissions import Action, require
from console.services.listing import UserFilter, filter_conditions, filter_values

BULK_ACTIONS: dict[str, Action] = {
    "force_change": Action.FORCE_CHANGE,
    "expire": Action.EXPIRE,
    "revoke_sessions": Action.REVOKE_SESSIONS,
}
TITLES = {"force_change": "Force a password change", "expire": "Expire passwords",
          "revoke_sessions": "Revoke sessions"}
CHUNK = 20_000
SAMPLE = 5


@dataclass(frozen=True)
class BulkPreview:
    action: str
    filter: UserFilter
    #: Accounts the action would change.
    count: int
    #: Active sessions that would end (revoke_sessions only).
    sessions: int
    sample: list[str]


@dataclass(frozen=True)
class BulkResult:
    action: str
    count: int
    sessions_revoked: int


def _check(action_name: str, flt: UserFilter) -> Action:
    if action_name not in BULK_ACTIONS:
        raise InvalidInput("action", "choice", f"one of {', '.join(BULK_ACTIONS)}")
    if not isinstance(flt, UserFilter):
        raise InvalidInput("filter", "type", "a UserFilter")
    return BULK_ACTIONS[action_name]


def _targets(action_name: str, flt: UserFilter, now, actor: Actor) -> list:
    """The accounts the action would change: matching the filter, not already
    in the target state, and never the operator's own."""
    conds = filter_conditions(flt, filter_values(flt, now))
    if action_name != "revoke_sessions":  # password state exists only for local passwords
        conds += [User.source == LOCAL_SOURCE, User.password_hash.is_not(None)]
    if action_name == "force_change":
        conds.append(User.must_change_password == False)  # noqa: E712
    elif action_name == "expire":
        conds.append(User.password_expires_at.is_(None) | (User.password_expires_at > now))
    if actor.id is not None:
        conds.append(User.id != actor.id)
    return conds


def _require(actor_role: str, flt: UserFilter) -> None:
    if actor_role == "helpdesk" and flt.role != "member":
        raise PermissionDenied("permission denied: a helpdesk operator can run bulk actions on member accounts "
                               "only (role: member)")


def _active_sessions(conds):
    return (select(func.count()).select_from(UserSession)
            .where(UserSession.revoked_at.is_(None), UserSession.user_id.in_(select(User.id).where(*conds))))


def preview(ctx: ServiceContext, actor: Actor, action_name: str, flt: UserFilter) -> BulkPreview:
    """How many accounts the bulk action would change, and a few of them."""
    permission = _check(action_name, flt)
    require(actor, permission, flt.role)
    _require(actor.role, flt)
    now = ctx.now()
    conds = _targets(action_name, flt, now, actor)
    with reading(ctx, actor) as s:
        count = s.exec(select(func.count()).select_from(User).where(*conds)).one()
        sessions = s.exec(_active_sessions(conds)).one() if action_name == "revoke_sessions" else 0
        sample = list(s.exec(select(User.username).where(*conds).order_by(User.id).limit(SAMPLE)).all())
    return BulkPreview(action_name, flt, count, sessions, sample)


def run(
    ctx: ServiceContext,
    actor: Actor,
    action_name: str,
    flt: UserFilter,
    *,
    expected_count: int | None = None,
    reason: str | None = None,
    identity_check: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
) -> BulkResult:
    """Apply the action to every account the filter selects, set-based."""
    permission = _check(action_name, flt)
    with action(ctx, actor, f"bulk.{action_name}", reason=reason, identity_check=identity_check) as tx:
        tx.require(permission, target_role=flt.role)
        _require(tx.operator().role, flt)
        conds = _targets(action_name, flt, tx.now, actor)
        count, lo, hi = tx.s.exec(select(func.count(), func.min(User.id), func.max(User.id)).where(*conds)).one()
        if expected_count is not None and count != expected_count:
            raise StaleRecord(f"the selection now has {count} accounts, not the {expected_count} previewed: "
                              "preview again")
        changed = sessions = 0
        if count:
            for start in range(lo, hi + 1, chunk):
                window = [*conds, User.id >= start, User.id < start + chunk]
                if action_name == "revoke_sessions":
                    res = tx.s.exec(
                        update(UserSession)
                        .where(UserSession.revoked_at.is_(None), UserSession.user_id.in_(select(User.id).where(*window)))
                        .values(revoked_at=tx.now, revoked_reason="bulk revoke")
                        .execution_options(synchronize_session=False)
                    )
                    sessions += res.rowcount or 0
                    changed = min(count, changed + tx.s.exec(select(func.count()).select_from(User).where(*window)).one())
                else:
                    values = ({"must_change_password": True} if action_name == "force_change"
                              else {"password_expires_at": tx.now})
                    res = tx.s.exec(update(User).where(*window)
                                    .values(**values, updated_at=tx.now, version=User.version + 1)
                                    .execution_options(synchronize_session=False))
                    changed += res.rowcount or 0
                if progress:
                    progress(changed, count)
        tx.details = {"filter": flt.describe(), "count": changed, "sessions_revoked": sessions}
    return BulkResult(action_name, changed, sessions)

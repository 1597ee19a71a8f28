"""Everything the detail screen shows about one account, in one read, and which
actions the operator may take on it (with the reason when not)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from console.models import AuditEvent
from console.services import validation
from console.services.base import get_user_row, reading
from console.services.sessions import sessions_of
from console.services.tickets import tickets_of
from console.services.context import Actor, ServiceContext
from console.services.permissions import PASSWORD_ACTIONS, Action, denial
from console.services.views import AuditView, SessionView, TicketView, UserView

#: The danger zone, in the order it is shown.
DANGER_ACTIONS = (
    Action.RESET_PASSWORD,
    Action.SET_PASSWORD,
    Action.FORCE_CHANGE,
    Action.EXPIRE,
    Action.ISSUE_TICKET,
    Action.EMAIL_TICKET,
    Action.REVOKE_SESSIONS,
    Action.BLOCK,
    Action.UNBLOCK,
    Action.UNLOCK,
    Action.SET_ROLE,
    Action.DELETE,
)


@dataclass(frozen=True)
class UserDetail:
    user: UserView
    sessions: list[SessionView]
    tickets: list[TicketView]
    events: list[AuditView]
    #: For each danger-zone action: None when the operator may take it now,
    #: else why not (role, read-only mode, account state, configuration).
    actions: dict[Action, str | None]


def availability(ctx: ServiceContext, actor: Actor, u: UserView) -> dict[Action, str | None]:
    """Why each danger-zone action is unavailable, or None. The services enforce
    the same rules; this only lets a screen explain them up front."""
    out: dict[Action, str | None] = {}
    for action in DANGER_ACTIONS:
        why = denial(actor, action, u.role)
        if why is None and ctx.settings.read_only:
            why = "the console is in read-only mode"
        if why is None and action in PASSWORD_ACTIONS and u.external:
            why = f"the password is managed by the identity provider {u.source!r}"
        if why is None:
            why = _state_denial(ctx, actor, action, u)
        out[action] = why
    return out


def _state_denial(ctx: ServiceContext, actor: Actor, action: Action, u: UserView) -> str | None:
    own = actor.id is not None and actor.id == u.id
    if action is Action.SET_PASSWORD and not ctx.settings.admin_may_set_password:
        return "operators may not choose passwords here (configuration)"
    if action is Action.FORCE_CHANGE and u.must_change_password:
        return "already has to change password at next sign-in"
    if action is Action.EXPIRE and (not u.has_password or u.expired):
        return "no password to expire" if not u.has_password else "the password has already expired"
    if action in (Action.ISSUE_TICKET, Action.EMAIL_TICKET) and u.blocked:
        return "the account is blocked: unblock it first"
    if action is Action.EMAIL_TICKET and not u.email:
        return "the account has no email address"
    if action is Action.EMAIL_TICKET and not validation.deliverable(u.email):
        return "the address on the account is not a valid email address: correct it first"
    if action is Action.EMAIL_TICKET and ctx.settings.mail_delivery == "off":
        return "mail delivery is not configured (mail_delivery)"
    if action is Action.BLOCK and (u.blocked or own):
        return "already blocked" if u.blocked else "you cannot block your own account"
    if action is Action.UNBLOCK and not u.blocked:
        return "the account is not blocked"
    if action is Action.UNLOCK and not (u.locked or u.failed_logins or u.console_locked or u.console_failed_logins):
        return "the account is not locked and has no failed sign-ins"
    if action in (Action.DELETE, Action.SET_ROLE) and own:
        return "you cannot do this to your own account"
    return None


def user_detail(ctx: ServiceContext, actor: Actor, username: str, *, events: int = 20) -> UserDetail:
    now = ctx.now()
    with reading(ctx, actor) as s:
        row = get_user_row(s, username)
        u = UserView.of(row, now)
        evs = s.exec(
            select(AuditEvent).where(AuditEvent.target == row.username).order_by(AuditEvent.seq.desc()).limit(events)
        ).all()
        return UserDetail(
            user=u,
            sessions=sessions_of(s, row, now, limit=50),
            tickets=tickets_of(s, row, now, limit=20),
            events=[AuditView.of(e) for e in evs],
            actions=availability(ctx, actor, u),
        )

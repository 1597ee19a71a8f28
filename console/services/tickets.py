"""Single-use password reset tickets. Only the SHA-256 of a token is stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, select

from console import mail
from console.config import MAX_TICKET_LIFETIME_MINUTES
from console.models import RedeemFailures, ResetTicket, User
from console.security import tokens
from console.services import validation
from console.services import auditlog
from console.services.base import Tx, action, get_user_row, reading, user_action
from console.services.context import Actor, ServiceContext
from console.services.errors import (
    DatabaseUnavailable,
    InvalidInput,
    MailFailed,
    NoChange,
    RateLimited,
    TicketInvalid,
    TicketNotFound,
    WeakPassword,
)
from console.services.passwords import Prechecked, apply_new_hash, check_new_password, expiry_from
from console.services.permissions import Action, require
from console.services.users import revoke_sessions_of, revoke_tickets_of
from console.services.views import EmailedTicket, IssuedTicket, OneTimeSecret, TicketView

INVALID = "this reset ticket is not valid: it is unknown, already used, revoked, superseded or expired"


def _lifetime(ctx: ServiceContext, minutes: int | None) -> int:
    if minutes is None:
        return ctx.settings.ticket_lifetime_minutes
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_TICKET_LIFETIME_MINUTES:
        raise InvalidInput("lifetime_minutes", "range", f"from 1 to {MAX_TICKET_LIFETIME_MINUTES} minutes (24 hours)")
    return minutes


def _new_ticket(ctx: ServiceContext, tx: Tx, u: User, token: str, lifetime_minutes: int | None,
                delivery: str = "shown") -> ResetTicket:
    """The ticket row (its older outstanding tickets superseded); tx.details set."""
    minutes = _lifetime(ctx, lifetime_minutes)
    if u.blocked:
        raise InvalidInput("user", "blocked", f"{u.username} is blocked: unblock the account before issuing a ticket")
    superseded = revoke_tickets_of(tx, u, "superseded")
    t = ResetTicket(user_id=u.id, token_digest=tokens.digest(token), issued_by=tx.actor.username,
                    created_at=tx.now, expires_at=tx.now + timedelta(minutes=minutes), delivery=delivery)
    tx.s.add(t)
    tx.s.flush()
    tx.details = {"ticket_id": t.id, "expires_at": t.expires_at, "lifetime_minutes": minutes,
                  "superseded": superseded}
    return t


def issue_ticket(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    lifetime_minutes: int | None = None,
    reason: str | None = None,
    identity_check: str | None = None,
) -> IssuedTicket:
    """Issue a reset ticket; the user's older outstanding tickets stop working.
    The token and link are returned once, after the commit."""
    token = tokens.new_token()
    with user_action(ctx, actor, "ticket.issue", Action.ISSUE_TICKET, username,
                     reason=reason, identity_check=identity_check) as (tx, u):
        view = TicketView.of(_new_ticket(ctx, tx, u, token, lifetime_minutes), u.username, tx.now)
    url = ctx.settings.ticket_url(token, view.username)
    return IssuedTicket(view, OneTimeSecret(url), OneTimeSecret(token))


def email_ticket(
    ctx: ServiceContext,
    actor: Actor,
    username: str,
    *,
    lifetime_minutes: int | None = None,
    reason: str | None = None,
    identity_check: str | None = None,
) -> EmailedTicket:
    """Issue a reset ticket and email its link to the user's own address; the
    operator never sees the link. The message is handed to the mail server (or
    outbox) inside the ticket's transaction: if it cannot be, nothing is
    committed, so no valid ticket is left behind, and MAIL_FAILED says why
    (audited). A commit failing after a successful hand-over leaves a mail whose
    link does not work, never a working link nobody was sent."""
    token = tokens.new_token()
    with user_action(ctx, actor, "ticket.email", Action.EMAIL_TICKET, username,
                     reason=reason, identity_check=identity_check) as (tx, u):
        if ctx.settings.mail_delivery == "off":
            raise MailFailed("mail delivery is not configured: set mail_delivery (smtp or outbox)")
        if not u.email:
            raise InvalidInput("email", "required", f"{u.username} has no email address: show the link instead")
        if not validation.deliverable(u.email):
            raise InvalidInput("email", "format", f"the address on {u.username}'s account is not a valid email "
                                                  "address: correct it first")
        t = _new_ticket(ctx, tx, u, token, lifetime_minutes, delivery="email")
        tx.details["delivery"] = ctx.settings.mail_delivery
        message = mail.compose(ctx.settings, to=u.email, username=u.username, display_name=u.display_name,
                               link=ctx.settings.ticket_url(token, u.username), expires_at=t.expires_at,
                               minutes=tx.details["lifetime_minutes"], now=tx.now)
        mail.send(ctx.settings, message)
        view = TicketView.of(t, u.username, tx.now)
        to = u.email
    return EmailedTicket(view, to=to, delivery=ctx.settings.mail_delivery)


def tickets_of(s: Session, u: User, now: datetime, *, include_ended: bool = False, limit: int = 100
               ) -> list[TicketView]:
    stmt = select(ResetTicket).where(ResetTicket.user_id == u.id)
    if not include_ended:
        stmt = stmt.where(ResetTicket.used_at.is_(None), ResetTicket.revoked_at.is_(None), ResetTicket.expires_at > now)
    rows = s.exec(stmt.order_by(ResetTicket.created_at.desc(), ResetTicket.id.desc()).limit(limit)).all()
    return [TicketView.of(t, u.username, now) for t in rows]


def list_tickets(ctx: ServiceContext, actor: Actor, username: str, *, include_ended: bool = False) -> list[TicketView]:
    """Outstanding tickets (not used, revoked or expired), newest first."""
    with reading(ctx, actor) as s:
        return tickets_of(s, get_user_row(s, username), ctx.now(), include_ended=include_ended)


def revoke_ticket(
    ctx: ServiceContext,
    actor: Actor,
    ticket_id: int,
    *,
    reason: str | None = None,
    identity_check: str | None = None,
) -> TicketView:
    with action(ctx, actor, "ticket.revoke", reason=reason, identity_check=identity_check) as tx:
        require(tx.operator(), Action.REVOKE_TICKET, None)  # before the lookup: no probing of ids
        t = tx.s.get(ResetTicket, ticket_id) if isinstance(ticket_id, int) else None
        u = tx.s.get(User, t.user_id) if t else None
        if t is None or u is None:
            raise TicketNotFound(f"no reset ticket with id {ticket_id}")
        tx.target = u.username
        tx.require(Action.REVOKE_TICKET, u)
        if t.used_at or t.revoked_at or t.expires_at <= tx.now:
            raise NoChange("ticket", f"ticket {ticket_id} is already used, revoked or expired")
        t.revoked_at, t.revoked_reason = tx.now, "revoked by operator"
        tx.s.add(t)
        tx.s.flush()
        tx.details = {"ticket_id": t.id}
        return TicketView.of(t, u.username, tx.now)


#: Refused redemptions that name no live ticket are counted per window; past
#: the limit the caller is told to wait (RATE_LIMITED). A live ticket still works.
REDEEM_WINDOW = timedelta(minutes=15)
REDEEM_FAILURES_PER_WINDOW = 100
#: Policy refusals one ticket takes before it is revoked.
TICKET_FAILED_ATTEMPTS = 5


def _lookup(s: Session, token: object, now: datetime, *, lock: bool = False
            ) -> tuple[ResetTicket | None, User | None, bool]:
    """The ticket a token names, its account, and whether it can be redeemed
    now (unused, unrevoked, unexpired, the account's newest, account not
    blocked and userdesk's own). A token that is not one of ours in shape is
    refused without a lookup."""
    if not tokens.well_formed(token):
        return None, None, False
    stmt = select(ResetTicket).where(ResetTicket.token_digest == tokens.digest(token))
    t = s.exec(stmt.with_for_update() if lock else stmt).one_or_none()
    if t is None or not tokens.matches(token, t.token_digest):
        return None, None, False
    u = s.get(User, t.user_id)
    newest = s.exec(
        select(ResetTicket.id)
        .where(ResetTicket.user_id == t.user_id)
        .order_by(ResetTicket.created_at.desc(), ResetTicket.id.desc())
        .limit(1)
    ).one()
    live = (u is not None and not t.used_at and not t.revoked_at and t.expires_at > now and newest == t.id
            and not u.blocked and u.source == "local")
    return t, u, live


def _valid_ticket(tx: Tx, token: str) -> tuple[ResetTicket, User]:
    t, u, live = _lookup(tx.s, token, tx.now, lock=True)
    tx.target = u.username if u else None
    if not live:
        raise TicketInvalid(INVALID)
    return t, u


def _milestone(n: int) -> bool:
    """1, 10, 100, 1000 …: the failures of a window the audit is told of."""
    return str(n).rstrip("0") == "1"


def _refused(ctx: ServiceContext, target: str | None, now: datetime) -> None:
    """Count a redemption that named no live ticket, in one short write: no
    hashing, and an audit event only for the window's 1st, 10th, 100th …
    failure and, when a new window starts, the total of the last one. Raises
    RateLimited past REDEEM_FAILURES_PER_WINDOW."""
    if ctx.settings.read_only:
        return
    for _ in range(2):  # two first failures may race to create the row
        try:
            with ctx.write_session() as s:
                row = s.exec(select(RedeemFailures).where(RedeemFailures.scope == "all").with_for_update()
                             ).one_or_none()
                if row is None:
                    row = RedeemFailures(scope="all", window_start=now, failures=0)
                details: dict = {}
                if not row.window_start <= now < row.window_start + REDEEM_WINDOW:
                    if row.failures > 1:
                        details["previous_window"] = {"from": row.window_start, "failures": row.failures}
                    row.window_start, row.failures = now, 0
                row.failures += 1
                limited = row.failures > REDEEM_FAILURES_PER_WINDOW
                if _milestone(row.failures) or details:
                    auditlog.append_or_log(  # the count holds even when its event cannot be written
                        ctx,
                        s, at=now, operator="ticket", action="ticket.redeem", target=target, outcome="rejected",
                        error_code=RateLimited.code if limited else TicketInvalid.code,
                        details={"error": INVALID, "failures_in_window": row.failures,
                                 "window_from": row.window_start,
                                 "window_minutes": int(REDEEM_WINDOW.total_seconds() // 60), **details})
                s.add(row)
                s.commit()
                until = row.window_start + REDEEM_WINDOW
            break
        except IntegrityError:
            continue
        except (OperationalError, DBAPIError):
            return  # the database is gone; the caller gets TICKET_INVALID
    else:
        return
    if limited:
        raise RateLimited(f"too many invalid reset tickets were tried: try again after {until:%H:%M} UTC")


def _attempt_failed(ctx: ServiceContext, ticket_id: int) -> None:
    """A live ticket's redemption was refused by the policy: count it; at
    TICKET_FAILED_ATTEMPTS the ticket is revoked (audited)."""
    if ctx.settings.read_only:
        return
    try:
        with ctx.write_session() as s:
            t = s.get(ResetTicket, ticket_id, with_for_update=True)
            if t is None or t.used_at or t.revoked_at:
                return
            now = ctx.now()
            t.failed_attempts += 1
            if t.failed_attempts >= TICKET_FAILED_ATTEMPTS:
                t.revoked_at, t.revoked_reason = now, "too many failed attempts"
                u = s.get(User, t.user_id)
                auditlog.append_or_log(ctx, s, at=now, operator="ticket", action="ticket.revoke",
                                       target=u.username if u else None, outcome="ok",
                                       details={"ticket_id": t.id, "why": "too many failed attempts",
                                                "failed_attempts": t.failed_attempts})
            s.add(t)
            s.commit()
    except (OperationalError, DBAPIError):
        pass


def redeem_ticket(ctx: ServiceContext, token: str, new_password: str) -> str:
    """For the user (through the application): set a new password with a ticket.
    Single use, newest ticket only, not expired; the policy applies; the user's
    sessions are revoked. Returns the username.

    A token that names no live ticket is refused before any argon2 work and is
    counted, not audited one by one (``_refused``); past the window's limit the
    caller gets RATE_LIMITED. A live ticket the policy refuses
    TICKET_FAILED_ATTEMPTS times is revoked."""
    now = ctx.now()
    try:
        with ctx.read_session() as s:
            t, u, live = _lookup(s, token, now)
            holder = u.username if u else None
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None
    if not live:
        _refused(ctx, holder, now)
        raise TicketInvalid(INVALID)
    ticket_id, user_id = t.id, u.id
    pre = Prechecked.of(ctx, new_password, lambda s: s.get(User, user_id))
    try:
        with action(ctx, Actor.system("ticket"), "ticket.redeem") as tx:
            t, u = _valid_ticket(tx, token)
            check_new_password(ctx, tx.s, u, new_password, pre)
            apply_new_hash(tx, u, pre.new_hash if pre else ctx.hasher.hash(new_password),
                           expires_at=expiry_from(ctx, tx.now, None), must_change=False)
            t.used_at = tx.now
            tx.s.add(t)
            tx.s.flush()
            tx.details = {"ticket_id": t.id, "sessions_revoked": revoke_sessions_of(tx, u, "password reset by ticket")}
            return u.username
    except WeakPassword:
        _attempt_failed(ctx, ticket_id)
        raise

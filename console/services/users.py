"""User accounts: create, get, list/search, update, role, block, unlock, delete."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Integer, String, case, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from console.models import LOCAL_SOURCE, AuditHead, ResetTicket, User, UserSession, UTCDateTime
from console.security.generator import generate
from console.services import pagination, prepared, validation
from console.services import search as search_index
from console.services.base import action, find_user, get_user_row, reading, reading_prepared, user_action
from console.services.context import Actor, ServiceContext
from console.services.errors import InvalidInput, LastAdmin, SelfAction, UserExists
from console.services.permissions import Action
from console.services.views import Count, OneTimeSecret, Page, PasswordResult, UserView

UNSET = object()


@dataclass(frozen=True)
class UserFilter:
    role: str | None = None
    blocked: bool | None = None
    locked: bool | None = None
    expired: bool | None = None
    must_change: bool | None = None
    external: bool | None = None
    #: Not signed in for this many days (or never).
    inactive_days: int | None = None

    def describe(self) -> dict:
        """The filter's set fields, for audit events and previews."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def get_user(ctx: ServiceContext, actor: Actor, username: str) -> UserView:
    with reading(ctx, actor) as s:
        return UserView.of(get_user_row(s, username), ctx.now())


ORDERS = ("username", "attention")


def _attention_rank(now):
    """0 locked, 1 expired, 2 blocked, 3 never signed in, 4 the rest."""
    return case(
        ((User.locked_until.is_not(None)) & (User.locked_until > now), 0),
        ((User.password_expires_at.is_not(None)) & (User.password_expires_at <= now), 1),
        (User.blocked == True, 2),  # noqa: E712
        (User.last_login_at.is_(None), 3),
        else_=4,
    )


def filter_values(f: UserFilter, now) -> dict:
    """The bind values of a filter's conditions, validated (see filter_conditions)."""
    values: dict = {"now": now}
    if f.role is not None:
        values["role"] = validation.role(f.role)
    if f.inactive_days is not None:
        if not isinstance(f.inactive_days, int) or isinstance(f.inactive_days, bool) or not 1 <= f.inactive_days <= 36500:
            raise InvalidInput("inactive_days", "range", "a whole number of days from 1 to 36500")
        values["since"] = now - timedelta(days=f.inactive_days)
    return values


def filter_conditions(f: UserFilter, values: dict | None = None) -> list:
    """SQL conditions on ``users`` for a filter (shared with bulk actions).
    ``values``: from filter_values; None leaves ``now``, ``role`` and ``since``
    as bind parameters for a prepared statement, whose shape is then the
    filter's boolean fields and which of role and inactive_days are set."""
    param = prepared.binder(values)
    conds: list = []
    if f.role is not None:
        conds.append(User.role == param("role", String))
    if f.blocked is not None:
        conds.append(User.blocked == f.blocked)
    if f.locked is not None:
        now = param("now", UTCDateTime)
        locked = (User.locked_until.is_not(None)) & (User.locked_until > now)
        conds.append(locked if f.locked else ~locked)
    if f.expired is not None:
        now = param("now", UTCDateTime)
        expired = (User.password_expires_at.is_not(None)) & (User.password_expires_at <= now)
        conds.append(expired if f.expired else ~expired)
    if f.must_change is not None:
        conds.append(User.must_change_password == f.must_change)
    if f.external is not None:
        conds.append((User.source != LOCAL_SOURCE) if f.external else (User.source == LOCAL_SOURCE))
    if f.inactive_days is not None:
        since = param("since", UTCDateTime)
        conds.append(User.last_login_at.is_(None) | (User.last_login_at < since))
    return conds


def _filtered(stmt, f: UserFilter, values: dict | None):
    conds = filter_conditions(f, values)
    return stmt.where(*conds) if conds else stmt


def _shape_of(f: UserFilter) -> UserFilter:
    """The part of a filter that shapes its SQL: the booleans as given, role and
    inactive_days only as "set" (their values are bound at run time)."""
    return replace(f, role="" if f.role is not None else None, inactive_days=0 if f.inactive_days is not None else None)


def _page_statement(order: str, mode: str, kind: str | None, shape: UserFilter):
    """A list page's statement, from its shape only (prepared.py): bind
    parameters ``now``, ``role``, ``since``, the search terms, ``k0``… (the
    cursor) and ``limit``."""
    param = prepared.binder(None)
    stmt = _filtered(select(*UserView.columns()).select_from(User), shape, None)
    if kind is not None:
        stmt, id_col = search_index.apply(stmt, kind)
        cols = [id_col]
    else:
        cols = [func.lower(User.username), User.id]
    if order == "attention":
        cols.insert(0, _attention_rank(param("now", UTCDateTime)))
    keys = [param(f"k{i}") for i in range(len(cols))]
    if mode == "after":
        stmt = stmt.where(pagination.after(cols, keys))
    elif mode == "before":
        stmt = stmt.where(pagination.before(cols, keys))
    backwards = mode in ("before", "end")
    return stmt.order_by(*(c.desc() for c in cols) if backwards else cols).limit(param("limit", Integer))


def list_users(
    ctx: ServiceContext,
    actor: Actor,
    *,
    search: str | None = None,
    filter: UserFilter | None = None,
    cursor: str | None = None,
    before: str | None = None,
    from_end: bool = False,
    limit: int = 50,
    order: str = "username",
) -> Page[UserView]:
    """One keyset page of users (never an offset).

    ``search`` is a case-insensitive substring of username, email or display name
    (under three characters on SQLite: a prefix; see services/search.py); its
    results come in account-creation order.
    ``order``: ``username`` (case-insensitive), or ``attention``: locked, expired,
    blocked and never-signed-in accounts first, each group by username.
    ``cursor`` continues after a page (its ``next_cursor``); ``before`` gives the
    page that ends just before a page (its ``prev_cursor``); ``from_end`` gives
    the last page."""
    limit = pagination.check_limit(limit)
    if order not in ORDERS:
        raise InvalidInput("order", "choice", f"one of {', '.join(ORDERS)}")
    if sum(map(bool, (cursor, before, from_end))) > 1:
        raise InvalidInput("cursor", "exclusive", "give one of cursor, before and from_end")
    now = ctx.now()
    f = filter or UserFilter()
    values = filter_values(f, now)
    q = search.strip() if search else ""
    kind = None
    if q:
        validation.reason(search, field="search", limit=200)
        kind = search_index.kind_of(ctx.engine.dialect.name, q)
        values.update(search_index.terms(kind, q))
    mode = "after" if cursor else "before" if before else "end" if from_end else "first"
    if cursor or before:
        types = ((int,) if order == "attention" else ()) + ((int,) if kind else (str, int))
        values.update((f"k{i}", v) for i, v in enumerate(pagination.decode(cursor or before, types)))
    values["limit"] = limit + 1
    shape = ("users.page", order, mode, kind, _shape_of(f))
    with reading_prepared(ctx, actor) as conn:
        query = prepared.prepare(conn.dialect, shape, lambda: _page_statement(order, mode, kind, _shape_of(f)))
        rows = prepared.fetch(conn, query, values)
    more = len(rows) > limit
    rows = rows[:limit]
    backwards = mode in ("before", "end")
    if backwards:
        rows.reverse()
    items = [UserView(r, now) for r in rows]
    searching = kind is not None

    def key_of(u: UserView) -> str:
        parts: list = [u.id] if searching else [u.username.lower(), u.id]
        if order == "attention":
            parts.insert(0, u.attention_rank)
        return pagination.encode(*parts)

    if not items:
        return Page(items=[], next_cursor=None, prev_cursor=None)
    return Page(
        items=items,
        next_cursor=key_of(items[-1]) if (more and not backwards) or before else None,
        prev_cursor=key_of(items[0]) if (more and backwards) or cursor else None,
    )


#: Counts beyond this are reported as "at least", never scanned to the end.
COUNT_CAP = 10_000
TOTAL_TTL = 60.0


def count_users(
    ctx: ServiceContext, actor: Actor, *, search: str | None = None, filter: UserFilter | None = None
) -> Count:
    """How many users match, without scanning a million rows on each keystroke:
    searches and filters are counted up to COUNT_CAP ("10,000+" beyond; a plain
    search from the full-text index alone); the unfiltered total is cached
    (labelled "~")."""
    f = filter or UserFilter()
    now = ctx.now()
    searching = bool(search and search.strip())
    with reading(ctx, actor) as s:
        if not searching and f == UserFilter():
            cached = ctx.cache_get("users.total", TOTAL_TTL)
            if cached is None:
                cached = s.exec(select(func.count()).select_from(User)).one()
                ctx.cache_put("users.total", cached)
                return Count(cached)
            return Count(cached, exact=False)
        if searching:
            validation.reason(search, field="search", limit=200)
        dialect = ctx.engine.dialect.name
        if searching and f == UserFilter() and search_index.uses_fts(dialect, search.strip()):
            stmt = search_index.matches(search.strip())  # the index alone, no table lookups
        else:
            stmt = _filtered(select(User.id), f, filter_values(f, now))
            if searching:
                kind = search_index.kind_of(dialect, search.strip())
                stmt, _ = search_index.apply(stmt, kind, search_index.terms(kind, search.strip()))
        n = s.exec(select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery())).one()
    return Count(COUNT_CAP, at_least=True) if n > COUNT_CAP else Count(n)


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
        u = User(username=username, email=email, display_name=display_name, role=role, source=source,
                 created_at=tx.now, updated_at=tx.now)
        generated = None
        if source == LOCAL_SOURCE and generate_password:
            generated = generate(ctx.policy, username=username, email=email, display_name=display_name)
            u.password_hash = ctx.hasher.hash(generated.password)
            u.password_changed_at = tx.now
            u.must_change_password = must_change
            days = ctx.settings.password_expiry_days
            u.password_expires_at = tx.now + timedelta(days=days) if days else None
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
                u.display_name, changed = new, changed + ["display_name"]
        if not changed:
            raise InvalidInput("profile", "no_change", "nothing to change")
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
            raise InvalidInput("role", "no_change", f"{u.username} already has the {role} role")
        _guard_self(tx, u, "change the role of")
        if u.role == "admin":
            _guard_last_admin(tx, u, "demoting them")
        tx.details = {"from": u.role, "to": role}
        u.role = role
        u.updated_at = tx.now
        return tx.saved(u)


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
            raise InvalidInput("blocked", "no_change", f"{u.username} is already blocked")
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
            raise InvalidInput("blocked", "no_change", f"{u.username} is not blocked")
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
    """Clear a lockout after failed sign-ins (and the failure count)."""
    with user_action(ctx, actor, "user.unlock", Action.UNLOCK, username,
                     reason=reason, identity_check=identity_check, expected_version=expected_version) as (tx, u):
        if u.failed_logins == 0 and u.locked_until is None:
            raise InvalidInput("locked", "no_change", f"{u.username} is not locked and has no failed sign-ins")
        tx.details = {"failed_logins": u.failed_logins, "was_locked": bool(u.locked_until and u.locked_until > tx.now)}
        u.failed_logins, u.locked_until, u.updated_at = 0, None, tx.now
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


#: The roles that sign in to the console (everyone else is an account it manages).
OPERATOR_ROLES = ("admin", "helpdesk", "viewer")


def list_operators(ctx: ServiceContext, actor: Actor) -> list[UserView]:
    """The desk's operators, by name (a short list: the people who run the
    console). On a foreign store these are the desk's only accounts."""
    with reading(ctx, actor) as s:
        now = ctx.now()
        rows = s.exec(select(User).where(User.role.in_(OPERATOR_ROLES)).order_by(func.lower(User.username))).all()
        return [UserView.of(u, now) for u in rows]


def create_operator(ctx: ServiceContext, actor: Actor, username: str, role: str, *, email: str | None = None,
                    reason: str | None = None, identity_check: str | None = None) -> PasswordResult:
    """Add an operator to the desk: ``create_user`` for an operator role only,
    with a generated password to be changed at first sign-in."""
    if role not in OPERATOR_ROLES:
        raise InvalidInput("role", "choice", f"an operator's role is one of {', '.join(OPERATOR_ROLES)}")
    return create_user(ctx, actor, username, email=email, role=role, reason=reason, identity_check=identity_check)

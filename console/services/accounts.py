"""Accounts in a foreign store (console/stores/): list, show, and the account
changes the store supports — with every rule kept here, as for the native
store: permission (the operator as the desk has them now), the store's
capabilities, the password policy, validation and the audit.

A change to a foreign store and its audit event are in two databases, so no one
transaction covers both. The order that loses nothing (STORES.md): the desk
commits the event as ``pending`` (with what the store will show once the change
landed, in ``pending_changes``), the store applies the change, and the desk
records the outcome as a second event that ``settles`` the first. A crash in
between leaves a pending event that ``settle_pending`` (run at each start and by
``audit --verify``) settles against the store where the store can tell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import select

from console import mail
from console.models import AuditEvent, PendingChange
from console.security import policy as policy_rules
from console.security.generator import generate
from console.services import auditlog, listing, pagination, validation
from console.services.base import action, reading
from console.services.context import Actor, ServiceContext
from console.services.errors import (
    AuditUnavailable,
    ConfigError,
    DatabaseUnavailable,
    InvalidInput,
    MailFailed,
    NoChange,
    NotSupported,
    PasswordChoiceDisabled,
    ServiceError,
    StoreRefused,
    StoreUnavailable,
    UserNotFound,
    WeakPassword,
)
from console.services.permissions import Action, denial, require
from console.services.views import Count, OneTimeSecret, Page
from console.services.passwords import expiry_from
from console.stores import Account, Store, StoreError
from console.stores.base import Written

#: Account names in foreign stores: Django allows 150 characters.
MAX_NAME = 150


@dataclass(frozen=True)
class StorePasswordResult:
    account: Account
    password: OneTimeSecret
    entropy_bits: float
    #: Sessions the reset ended; None where the store has no sessions.
    sessions_revoked: int | None
    #: The format the store wrote (e.g. "pbkdf2_sha256, 1,000,000 iterations").
    written_as: str


@dataclass(frozen=True)
class ResetLink:
    account: Account
    link: OneTimeSecret
    #: What the link's own system guarantees about it, and what it does not.
    note: str
    expires_at: datetime


@dataclass(frozen=True)
class Settled:
    seq: int
    action: str
    target: str
    outcome: str  # ok | failed | unknown


def _store(ctx: ServiceContext) -> Store:
    if ctx.store is None:
        raise NotSupported("these functions are for a foreign store; the native store's are in users and passwords")
    return ctx.store


def _name(username: Any) -> str:
    if not isinstance(username, str) or not username:
        raise InvalidInput("username", "required", "is required")
    if len(username) > MAX_NAME:
        raise InvalidInput("username", "max_length", f"at most {MAX_NAME} characters (got {len(username)})")
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in username):
        raise InvalidInput("username", "charset", "no control characters")
    return username


def _unavailable(exc: StoreError) -> ServiceError:
    return StoreRefused(exc.message) if exc.refused else StoreUnavailable(exc.message)


def _call(fn: Callable, *args: Any) -> Any:
    try:
        return fn(*args)
    except StoreError as exc:
        raise _unavailable(exc) from None


# -- what the store can do ------------------------------------------------------


@dataclass(frozen=True)
class StoreInfo:
    """What the screens say of the store itself."""

    #: ``store = "…"`` in the settings.
    name: str
    #: Where the accounts are, free of any secret ("Redis ACL users on host:6379").
    where: str
    #: Whether its accounts carry names and email addresses (a database
    #: server's accounts are a name only).
    has_profile: bool


def store_info(ctx: ServiceContext) -> StoreInfo:
    store = _store(ctx)
    return StoreInfo(store.name, store.where, store.has_profile)


def capabilities(ctx: ServiceContext) -> dict[str, str | None]:
    """Each account action → None when the store can do it, else why not."""
    store = _store(ctx)
    return {a.value: store.reason_unsupported(a.value) for a in Action if a is not Action.VIEW}


def unavailable(ctx: ServiceContext, actor: Actor, account: Account) -> dict[str, str]:
    """Actions the operator cannot take on ``account``, each with its reason:
    the store's first (it cannot, for anyone), then the operator's role."""
    store = _store(ctx)
    out: dict[str, str] = {}
    protected = store.refuses(account.username)
    for a in Action:
        if a is Action.VIEW:
            continue
        why = store.reason_unsupported(a.value)
        if not why and protected:
            out[a.value] = f"{store.name}: {protected}"
            continue
        if why:
            out[a.value] = f"{store.name}: {why}"
            continue
        why = denial(actor, a, account.role)
        if why:
            out[a.value] = why
    return out


def _require_supported(store: Store, act: Action) -> None:
    why = store.reason_unsupported(act.value)
    if why:
        raise NotSupported(f"not supported by the {store.name} store: {why}", action=act.value)


# -- reading ----------------------------------------------------------------------


def list_accounts(ctx: ServiceContext, actor: Actor, *, search: str | None = None, cursor: str | None = None,
                  before: str | None = None, from_end: bool = False, limit: int = 50) -> Page[Account]:
    """One keyset page of the store's accounts in name order; ``search``: a
    case-insensitive substring of the name, email or names."""
    store = _store(ctx)
    limit = pagination.check_limit(limit)
    if sum(map(bool, (cursor, before, from_end))) > 1:
        raise InvalidInput("cursor", "exclusive", "give one of cursor, before and from_end")
    q = search.strip() if search else None
    if q:
        validation.reason(search, field="search", limit=200)
    after_key = pagination.decode(cursor, (str,))[0] if cursor else None
    before_key = pagination.decode(before, (str,))[0] if before else None
    with reading(ctx, actor):
        page = _call(lambda: store.page(search=q, after=after_key, before=before_key, from_end=from_end,
                                        limit=limit))
    items = page.items
    if not items:
        return Page(items=[])
    backwards = bool(before) or from_end
    return Page(
        items=items,
        next_cursor=pagination.encode(items[-1].username) if (page.more and not backwards) or before else None,
        prev_cursor=pagination.encode(items[0].username) if (page.more and backwards) or cursor else None,
    )


def refuse_filters(ctx: ServiceContext) -> None:
    """The native store's views (role, blocked, locked, expired, must-change,
    external, inactive) are not filters of a foreign store's list."""
    store = _store(ctx)
    raise NotSupported(f"not supported by the {store.name} store: its list is searched by name, email and names; "
                       "the role, status and inactivity filters are the native store's")


def native_only(ctx: ServiceContext, what: str) -> None:
    """NOT_SUPPORTED for a command that reads or changes the native store's own
    records (its tickets, its session table), named by ``what``."""
    store = _store(ctx)
    raise NotSupported(f"not supported by the {store.name} store: {what}")


def count_accounts(ctx: ServiceContext, actor: Actor, *, search: str | None = None) -> Count:
    store = _store(ctx)
    q = search.strip() if search else None
    if q:
        validation.reason(search, field="search", limit=200)
    with reading(ctx, actor):
        # Capped as the native store's counts are ("10,000+"; a search's "1,000+").
        cap = listing.SEARCH_COUNT_CAP if q else listing.COUNT_CAP
        n, floor = _call(lambda: store.count(search=q, cap=cap))
    return Count(n, exact=not floor, at_least=floor)


def get_account(ctx: ServiceContext, actor: Actor, username: str) -> Account:
    store = _store(ctx)
    _name(username)
    with reading(ctx, actor):
        acc = _call(store.get, username)
    if acc is None:
        raise UserNotFound(f"no user named {username!r} in {store.where}")
    return acc


@dataclass(frozen=True)
class AccountDetail:
    account: Account
    #: Action value → why the operator cannot take it (the store's reason first).
    unavailable: dict[str, str]
    #: Action value → how the store does it, in its own words (``Store.says``).
    how: dict[str, str] = field(default_factory=dict)


def account_detail(ctx: ServiceContext, actor: Actor, username: str) -> AccountDetail:
    """One account and what the operator cannot do to it, with the reasons."""
    acc = get_account(ctx, actor, username)
    return AccountDetail(acc, unavailable(ctx, actor, acc), dict(_store(ctx).says))


# -- changes ------------------------------------------------------------------------


def _change(ctx: ServiceContext, actor: Actor, name: str, act: Action, username: str, *,
            reason: str | None, identity_check: str | None, change: str,
            prepare: Callable[[Account], Any], apply: Callable[[Any], Any],
            details: Callable[[Any, Any], dict], reason_required: bool = False,
            expect: Callable[[Any], str] | None = None) -> tuple[Account, Any, Any]:
    """The pending → outcome order for one change to a foreign store.

    ``prepare(account)`` runs before anything is written (hashing, a check of
    the account's state) and returns what ``apply`` needs; ``change``: the kind
    of probe the store settles a crash with (``credential``: ``prepared`` is a
    Credential; ``blocked``: ``prepared`` is the new state; ``sessions``);
    ``details(prepared, result)``: the outcome's audit details, never a secret;
    ``expect(prepared)``: the probe once applied, for any other kind of change
    (``expiry``, ``deleted``)."""
    store = _store(ctx)
    with action(ctx, actor, name, target=username, reason=reason, identity_check=identity_check,
                reason_required=reason_required) as tx:
        acc = _target(tx, store, act, username)
        # The store's own name, audited as it is: the native username rule
        # would record MySQL's "app@%" or an LDAP uid as "(invalid username)".
        tx.target = acc.username
        prepared = prepare(acc)
        probe = (expect(prepared) if expect is not None else prepared.probe if change == "credential"
                 else ("blocked" if prepared else "active") if change == "blocked" else "none")
        tx.outcome = "pending"
        tx.details = {"store": store.name, "change": change}
        tx.before_commit.append(lambda t: t.s.add(PendingChange(
            seq=t.event.seq, store=store.name, target=username, change=change, probe=probe, at=t.now)))
    pending_seq = tx.event.seq
    try:
        result = apply(prepared)
    except StoreError as exc:
        if exc.in_doubt:  # sent, then cut off: no outcome yet, the event stays pending until the store can tell
            raise StoreUnavailable(f"{exc.message}: whether the change took effect is unknown; it stays pending "
                                   "(outcome unknown) and is settled against the store at the next start or "
                                   "audit --verify") from None
        err = _unavailable(exc)
        _outcome(ctx, actor, name, username, pending_seq, "rejected" if exc.refused else "error",
                 {"store": store.name, "error": err.message}, reason, identity_check, err.code)
        raise err from None
    _outcome(ctx, actor, name, username, pending_seq, "ok", {"store": store.name, **details(prepared, result)},
             reason, identity_check)
    try:
        after = store.get(username) or acc
    except StoreError:
        after = acc
    return after, prepared, result


def _target(tx, store: Store, act: Action, username: str) -> Account:
    """The account an action is about, permission checked: first whether the
    operator's role may take the action at all (so a viewer learns nothing of
    the account), then whether the store can, then against the account."""
    require(tx.operator(), act, None)
    _name(username)
    _require_supported(store, act)
    why = store.refuses(username)
    if why:
        raise NotSupported(f"not supported by the {store.name} store: {why}", action=act.value)
    acc = _call(store.get, username)
    if acc is None:
        raise UserNotFound(f"no user named {username!r} in {store.where}")
    tx.require(act, target_role=acc.role)
    return acc


def _outcome(ctx: ServiceContext, actor: Actor, name: str, target: str, seq: int, outcome: str, details: dict,
             reason: str | None, identity_check: str | None, error_code: str | None = None) -> None:
    """Record how a pending change ended, and drop its pending row. A desk that
    fails here leaves the pending event for settle_pending."""
    try:
        with ctx.write_session() as s:
            auditlog.append(ctx, s, at=ctx.now(), operator=actor.username, action=name, target=target, outcome=outcome,
                            error_code=error_code, reason=reason, identity_check=identity_check,
                            details={**details, "settles": seq})
            row = s.get(PendingChange, seq)
            if row is not None:
                s.delete(row)
            s.commit()
            ctx.writes += 1
    except (OperationalError, DBAPIError, AuditUnavailable, ConfigError):
        pass  # the change is made (a generated password must still be shown); its event stays pending until settled


def _expiry(ctx: ServiceContext, store: Store, expiry_days: int | None) -> dict:
    """What a new password's expiry is on this store: ``expires_at`` for
    write_credential where the store has expiry (``expiry_days``, else the
    configured default; None: never), nothing where it has none (an expiry
    asked for there is NOT_SUPPORTED)."""
    if store.reason_unsupported(Action.EXPIRE.value):
        if expiry_days is not None:
            _require_supported(store, Action.EXPIRE)
        return {}
    if expiry_days is not None:
        expiry_days = validation.expiry_days(expiry_days)
    return {"expires_at": expiry_from(ctx, ctx.now(), expiry_days)}


def _expiry_details(when: dict) -> dict:
    if "expires_at" not in when:
        return {}
    return {"expires_at": when["expires_at"].isoformat() if when["expires_at"] else None}


def reset_password(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None,
                   identity_check: str | None = None, expiry_days: int | None = None) -> StorePasswordResult:
    """A generated password, written in the store's own format; returned once,
    after the store confirmed the change. Ends the account's sessions. Where
    the store has expiry, the new password expires after ``expiry_days`` (else
    the configured default; 0: never)."""
    store = _store(ctx)
    pol = ctx.policy

    drawn: list = []
    when: dict = {}

    def prepare(acc: Account):
        when.update(_expiry(ctx, store, expiry_days))
        drawn.append(generate(pol, username=acc.username, email=acc.email, display_name=acc.display_name))
        return _call(store.new_credential, acc.username, drawn[0].password)

    acc, cred, written = _change(
        ctx, actor, "password.reset", Action.RESET_PASSWORD, username, reason=reason, identity_check=identity_check,
        change="credential", prepare=prepare, apply=lambda c: _written(store.write_credential(username, c, **when)),
        details=lambda c, w: {"written_as": c.describe + w.note, "sessions_revoked": w.sessions,
                              "entropy_bits": drawn[0].entropy_bits, **_expiry_details(when)},
    )
    # Only reached once the store confirmed the change.
    has_sessions = store.reason_unsupported(Action.REVOKE_SESSIONS.value) is None
    return StorePasswordResult(acc, OneTimeSecret(drawn[0].password), drawn[0].entropy_bits,
                               written.sessions if has_sessions else None, cred.describe + written.note)


def _written(result: int | Written) -> Written:
    """``write_credential``'s answer, whichever form the store gave it in."""
    return result if isinstance(result, Written) else Written(result)


def set_password(ctx: ServiceContext, actor: Actor, username: str, password: str, *, reason: str | None = None,
                 identity_check: str | None = None, expiry_days: int | None = None) -> Account:
    """A password the operator chose, under the policy, in the store's format
    (with an expiry as ``reset_password``'s)."""
    store = _store(ctx)
    when: dict = {}

    def prepare(acc: Account):
        when.update(_expiry(ctx, store, expiry_days))
        if not ctx.settings.admin_may_set_password:
            raise PasswordChoiceDisabled(
                "operators may not choose passwords here (admin_may_set_password is off): "
                "reset to a generated password or issue a reset link")
        validation.secret(password, "new_password")
        failed = policy_rules.failures(policy_rules.check(
            ctx.policy, password, username=acc.username, email=acc.email, display_name=acc.display_name))
        if failed:
            raise WeakPassword(failed)
        return _call(store.new_credential, acc.username, password)

    acc, _cred, _n = _change(
        ctx, actor, "password.set", Action.SET_PASSWORD, username, reason=reason, identity_check=identity_check,
        change="credential", prepare=prepare, apply=lambda c: _written(store.write_credential(username, c, **when)),
        details=lambda c, w: {"written_as": c.describe + w.note, "sessions_revoked": w.sessions,
                              **_expiry_details(when)},
    )
    return acc


def block(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None,
          identity_check: str | None = None) -> Account:
    """Deactivate the account (Django: is_active = false) and end its sessions."""
    store = _store(ctx)

    def prepare(acc: Account):
        if acc.blocked:
            raise NoChange("blocked", f"{acc.username} is already blocked")
        return True

    acc, _b, n = _change(ctx, actor, "user.block", Action.BLOCK, username, reason=reason,
                         identity_check=identity_check, change="blocked", prepare=prepare,
                         apply=lambda b: store.set_blocked(username, b),
                         details=lambda b, n: {"sessions_revoked": n}, reason_required=True)
    return acc


def unblock(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None,
            identity_check: str | None = None) -> Account:
    store = _store(ctx)

    def prepare(acc: Account):
        if not acc.blocked:
            raise NoChange("blocked", f"{acc.username} is not blocked")
        return False

    acc, _b, _n = _change(ctx, actor, "user.unblock", Action.UNBLOCK, username, reason=reason,
                          identity_check=identity_check, change="blocked", prepare=prepare,
                          apply=lambda b: store.set_blocked(username, b), details=lambda b, n: {})
    return acc


def revoke_sessions(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None,
                    identity_check: str | None = None) -> int:
    """End the account's sessions in its system; returns how many."""
    store = _store(ctx)
    _acc, _p, n = _change(ctx, actor, "sessions.revoke", Action.REVOKE_SESSIONS, username, reason=reason,
                          identity_check=identity_check, change="sessions", prepare=lambda acc: None,
                          apply=lambda _p: store.end_sessions(username),
                          details=lambda _p, n: {"sessions_revoked": n})
    return n


def expire(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None,
           identity_check: str | None = None) -> Account:
    """Expire the password now (PostgreSQL: VALID UNTIL now): the store stops
    accepting it at the next sign-in."""
    store = _store(ctx)
    acc, when, _r = _change(ctx, actor, "password.expire", Action.EXPIRE, username, reason=reason,
                            identity_check=identity_check, change="expiry", prepare=lambda acc: ctx.now(),
                            apply=lambda w: store.set_expiry(username, w), expect=store.expected_expiry,
                            details=lambda w, _r: {"expired_at": w.isoformat()})
    return acc


def force_change(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None,
                 identity_check: str | None = None) -> Account:
    """Require a new password at the next sign-in, as the store does it
    (MySQL: PASSWORD EXPIRE; LDAP: pwdReset)."""
    store = _store(ctx)
    acc, _p, _r = _change(ctx, actor, "password.force_change", Action.FORCE_CHANGE, username, reason=reason,
                          identity_check=identity_check, change="must_change", prepare=lambda acc: None,
                          apply=lambda _p: store.require_change(username), expect=lambda _p: "required",
                          details=lambda _p, _r: {})
    return acc


def unlock(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None,
           identity_check: str | None = None) -> Account:
    """Clear the lockout failed sign-ins set in the store (LDAP's ppolicy)."""
    store = _store(ctx)
    acc, _p, _r = _change(ctx, actor, "user.unlock", Action.UNLOCK, username, reason=reason,
                          identity_check=identity_check, change="locked", prepare=lambda acc: None,
                          apply=lambda _p: store.unlock(username), expect=lambda _p: "unlocked",
                          details=lambda _p, _r: {})
    return acc


def delete(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None) -> int:
    """Remove the account from its store (PostgreSQL: DROP ROLE, which the
    server refuses, in its own words, while the role owns anything); returns
    the sessions ended."""
    store = _store(ctx)
    _acc, _p, n = _change(ctx, actor, "user.delete", Action.DELETE, username, reason=reason, identity_check=None,
                          change="deleted", prepare=lambda acc: None, apply=lambda _p: store.delete(username),
                          expect=lambda _p: "deleted", details=lambda _p, n: {"sessions_revoked": n})
    return n


def issue_reset_link(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None,
                     identity_check: str | None = None) -> ResetLink:
    """The store's own reset link (Django: its reset URL and token), shown once.
    Nothing in the store changes; the event records that a link was issued."""
    store = _store(ctx)
    with action(ctx, actor, "ticket.issue", target=username, reason=reason, identity_check=identity_check) as tx:
        acc = _target(tx, store, Action.ISSUE_TICKET, username)
        link = _call(store.reset_link, username)
        tx.details = {"store": store.name, "delivery": "shown"}
    return ResetLink(acc, OneTimeSecret(link.value), link.note, link.expires_at)


@dataclass(frozen=True)
class EmailedLink:
    account: Account
    to: str
    delivery: str
    expires_at: datetime


def email_reset_link(ctx: ServiceContext, actor: Actor, username: str, *, reason: str | None = None,
                     identity_check: str | None = None) -> EmailedLink:
    """The store's own reset link, mailed to the address on the account through
    userdesk's mail settings; the operator never sees it. Nothing in the store
    changes. A mail that cannot be handed over is MAIL_FAILED, audited as such."""
    store = _store(ctx)
    with action(ctx, actor, "ticket.email", target=username, reason=reason, identity_check=identity_check) as tx:
        acc = _target(tx, store, Action.EMAIL_TICKET, username)
        if ctx.settings.mail_delivery == "off":
            raise MailFailed("mail delivery is not configured: set mail_delivery (smtp or outbox)")
        if not acc.email:
            raise InvalidInput("email", "required", f"{acc.username} has no email address: show the link instead")
        if not validation.deliverable(acc.email):
            raise InvalidInput("email", "format", f"the address on {acc.username}'s account is not a valid email "
                                                  "address: show the link instead")
        link = _call(store.reset_link, acc.username)
        minutes = max(1, round((link.expires_at - tx.now).total_seconds() / 60))
        message = mail.compose(ctx.settings, to=acc.email, username=acc.username,
                               display_name=acc.display_name or acc.username, link=link.value,
                               expires_at=link.expires_at, minutes=minutes, now=tx.now)
        tx.details = {"store": store.name, "delivery": ctx.settings.mail_delivery}
        mail.send(ctx.settings, message)
    return EmailedLink(acc, acc.email, ctx.settings.mail_delivery, link.expires_at)


def refuse(ctx: ServiceContext, actor: Actor, act: Action, username: str, *, reason: str | None = None,
           identity_check: str | None = None) -> None:
    """An action this store cannot do: NOT_SUPPORTED, naming the store and
    why, audited as refused."""
    store = _store(ctx)
    with action(ctx, actor, f"user.{act.value}", target=username, reason=reason, identity_check=identity_check) as tx:
        require(tx.operator(), act, None)
        _require_supported(store, act)
        raise InvalidInput("action", "supported", f"the {store.name} store can {act.value.replace('_', ' ')}")


# -- pending changes ----------------------------------------------------------------


def settle_pending(ctx: ServiceContext) -> list[Settled]:
    """Settle the changes a crash left pending, where the store can tell: the
    store shows the change (ok), or shows something else (failed: not applied,
    or changed again since). One it cannot tell stays "outcome unknown"."""
    store = ctx.store
    if store is None or ctx.settings.read_only:  # a read-only console writes nothing, settlements included
        return []
    try:
        with ctx.read_session() as s:
            rows = s.exec(select(PendingChange).where(PendingChange.store == store.name)
                          .order_by(PendingChange.seq)).all()
            names = _actions_of(s, rows)
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None
    out: list[Settled] = []
    for row in rows:
        name = names.get(row.seq, "store.change")
        try:
            now = store.probe(row.target, row.change)
        except StoreError:
            now = None
        if now is None:
            out.append(Settled(row.seq, name, row.target, "unknown"))
            continue
        ok = now == row.probe
        _outcome(ctx, Actor.system("settle"), name, row.target, row.seq, "ok" if ok else "error",
                 {"store": store.name, "change": row.change, "settled": "after a restart",
                  "found": "the store shows the change" if ok
                  else "the store does not show the change (not applied, or changed again since)"},
                 None, None, None if ok else "NOT_APPLIED")
        out.append(Settled(row.seq, name, row.target, "ok" if ok else "failed"))
    return out


def _actions_of(s, rows) -> dict[int, str]:
    if not rows:
        return {}
    return dict(s.exec(select(AuditEvent.seq, AuditEvent.action).where(AuditEvent.seq.in_([r.seq for r in rows]))).all())


def pending(ctx: ServiceContext, actor: Actor) -> list[Settled]:
    """Changes whose outcome is unknown: pending in the desk, not yet settled."""
    with reading(ctx, actor) as s:
        rows = s.exec(select(PendingChange).order_by(PendingChange.seq)).all()
        names = _actions_of(s, rows)
    return [Settled(r.seq, names.get(r.seq, "store.change"), r.target, "unknown") for r in rows]

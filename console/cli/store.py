"""The account commands on a foreign store (``--store django``): the same
commands and options, answered by ``console.services.accounts``. An action the
store cannot do is refused with NOT_SUPPORTED, naming the store and why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from console.cli.output import emit, print_reset, print_secret, safe, table, when
from console.cli.state import state

if TYPE_CHECKING:  # for annotations only: the commands import these where they run
    from console.services import accounts
    from console.services.permissions import Action



def account_dict(a: accounts.Account, unavailable: dict[str, str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"username": a.username, "email": a.email, "display_name": a.display_name,
                            "kind": a.kind, "blocked": a.blocked, "details": dict(a.details), "flags": list(a.flags),
                            "last_login_at": a.last_login_at.isoformat() if a.last_login_at else None}
    if unavailable is not None:
        data["unavailable"] = unavailable
    return data


def users_list(*, search: str | None, limit: int, cursor: str | None, all_pages: bool, as_json: bool,
               filtered: bool) -> None:
    from console.services import accounts
    st = state()
    ctx = st.ctx()
    if filtered:
        accounts.refuse_filters(ctx)
    actor = st.reader()
    items: list[accounts.Account] = []
    nxt = cursor
    while True:
        page = accounts.list_accounts(ctx, actor, search=search, cursor=nxt, limit=limit)
        items.extend(page.items)
        nxt = page.next_cursor
        if not all_pages or nxt is None:
            break

    def text() -> None:
        table(["USERNAME", "NAME", "EMAIL", "KIND", "STATUS", "LAST SIGN-IN"],
              [[a.username, a.display_name, a.email, a.kind, "blocked" if a.blocked else "active",
                when(a.last_login_at)] for a in items],
              widths=[20, 20, 28, 9, 8, 20] if items else None)
        if nxt:
            typer.echo(f"more: --cursor {nxt}")

    emit(as_json, lambda: {"items": [account_dict(a) for a in items], "next_cursor": nxt}, text)


def users_show(username: str, as_json: bool) -> None:
    from console.services import accounts
    st = state()
    ctx, actor = st.ctx(), st.reader()
    a = accounts.get_account(ctx, actor, username)
    why = accounts.unavailable(ctx, actor, a)

    def text() -> None:
        rows = [("username", a.username), ("name", a.display_name or "-"), ("email", a.email), ("kind", a.kind),
                *a.details]
        for k, v in rows:
            typer.echo(f"{k:>16}  {safe(v)}")
        for f in a.flags:
            typer.echo(f"{'warning':>16}  {safe(f)}")
        if why:
            typer.echo(f"{'unavailable':>16}")
            for act, reason in why.items():
                typer.echo(f"{act.replace('_', ' '):>16}  {safe(reason)}")

    emit(as_json, lambda: account_dict(a, why), text)


def _refuse_also(ctx, actor, username: str, also: tuple[Action, ...], expiry: int | None, **kw) -> None:
    """What the options asked for besides that the store cannot do (a
    must-change flag; an expiry where it has none), refused first."""
    from console.services import accounts
    from console.services.permissions import Action

    for act in also:
        if act in (Action.EXPIRE, Action.FORCE_CHANGE) and accounts.capabilities(ctx)[act.value] is None:
            continue  # the store can: the expiry is set with the password, the must-change flag after it
        accounts.refuse(ctx, actor, act, username, **kw)


def _must_change_after(ctx, actor, username: str, must_change: bool | None, **kw):
    """``--must-change`` on a store that has the flag: set once the password is
    (a new password clears it where the store has it, so ``--no-must-change``
    asks for nothing more). Returns (whether it is set, the error that stopped
    it): the new password is shown either way, so an error is raised only
    after it."""
    from console.services import accounts
    from console.services.errors import ServiceError

    if not must_change:
        return False, None
    try:
        accounts.force_change(ctx, actor, username, **kw)
    except ServiceError as err:
        return False, err
    return True, None


def reset_password(username: str, *, reason: str | None, identity_check: str | None, as_json: bool,
                   also: tuple[Action, ...] = (), expiry: int | None = None,
                   must_change: bool | None = None) -> None:
    """``also``: what the options asked for besides (an expiry, a must-change
    flag), refused first if the store cannot do it."""
    from console.services import accounts
    from console.services.permissions import Action

    st = state()
    ctx, actor = st.ctx(), st.actor()
    _refuse_also(ctx, actor, username, also, expiry, reason=reason, identity_check=identity_check)
    r = accounts.reset_password(ctx, actor, username, reason=reason, identity_check=identity_check,
                                expiry_days=expiry if Action.EXPIRE in also else None)

    def show(forced: bool) -> None:
        emit(as_json,
             lambda: {"username": r.account.username, "password": r.password.reveal(), "entropy_bits": r.entropy_bits,
                      "sessions_revoked": r.sessions_revoked, "written_as": r.written_as, "must_change": forced},
             lambda: print_reset(r.account.username, r.password,
                                 f"Shown once ({r.entropy_bits:.0f} bits), written as {r.written_as}."
                                 + (f" Ended {r.sessions_revoked} session(s)." if r.sessions_revoked is not None
                                    else "")
                                 + (" Must choose a new password at the next sign-in." if forced else "")))

    try:
        forced, err = _must_change_after(ctx, actor, username, must_change, reason=reason,
                                         identity_check=identity_check)
    except BaseException:  # interrupted, or an unforeseen failure: the password is set, so it is shown
        show(False)
        raise
    show(forced)
    if err is not None:  # the password is set and shown; the must-change flag is not
        raise err


def set_password(username: str, password_of, *, reason: str | None, identity_check: str | None, as_json: bool,
                 tries: int, also: tuple[Action, ...] = (), expiry: int | None = None,
                 must_change: bool | None = None) -> None:
    from console.services import accounts
    from console.services.errors import ServiceError
    from console.services.permissions import Action

    st = state()
    ctx, actor = st.ctx(), st.actor()
    _refuse_also(ctx, actor, username, also, expiry, reason=reason, identity_check=identity_check)
    for attempt in range(1, tries + 1):
        pw = password_of()
        try:
            a = accounts.set_password(ctx, actor, username, pw, reason=reason, identity_check=identity_check,
                                      expiry_days=expiry if Action.EXPIRE in also else None)
            break
        except ServiceError as err:
            if err.code != "WEAK_PASSWORD" or attempt == tries:
                raise
            for f in err.failures:
                typer.echo(f"  ✗ {f.text}", err=True)
    forced, err = _must_change_after(ctx, actor, username, must_change, reason=reason, identity_check=identity_check)
    emit(as_json, lambda: {**account_dict(a), "must_change": forced},
         lambda: typer.echo(f"password set for {safe(a.username)}"
                            + ("; must choose a new password at the next sign-in" if forced else "")))
    if err is not None:
        raise err


def change(act: Action, username: str, *, reason: str | None, identity_check: str | None, as_json: bool) -> None:
    """Block, unblock, end sessions, expire, delete; anything else the store cannot do."""
    from console.services import accounts
    from console.services.permissions import Action

    st = state()
    ctx, actor = st.ctx(), st.actor()
    kw = {"reason": reason, "identity_check": identity_check}
    if act is Action.BLOCK:
        a = accounts.block(ctx, actor, username, **kw)
        emit(as_json, lambda: account_dict(a), f"blocked {safe(a.username)}")
    elif act is Action.UNBLOCK:
        a = accounts.unblock(ctx, actor, username, **kw)
        emit(as_json, lambda: account_dict(a), f"unblocked {safe(a.username)}")
    elif act is Action.REVOKE_SESSIONS:
        n = accounts.revoke_sessions(ctx, actor, username, **kw)
        emit(as_json, {"username": username, "sessions_revoked": n}, f"ended {n} session(s) of {safe(username)}")
    elif act is Action.EXPIRE and accounts.capabilities(ctx)[act.value] is None:
        a = accounts.expire(ctx, actor, username, **kw)
        emit(as_json, lambda: account_dict(a), f"password of {safe(a.username)} expired")
    elif act is Action.FORCE_CHANGE and accounts.capabilities(ctx)[act.value] is None:
        a = accounts.force_change(ctx, actor, username, **kw)
        emit(as_json, lambda: account_dict(a), f"{safe(a.username)} must choose a new password at the next sign-in")
    elif act is Action.UNLOCK and accounts.capabilities(ctx)[act.value] is None:
        a = accounts.unlock(ctx, actor, username, **kw)
        emit(as_json, lambda: account_dict(a), f"unlocked {safe(a.username)}")
    elif act is Action.DELETE and accounts.capabilities(ctx)[act.value] is None:
        n = accounts.delete(ctx, actor, username, reason=reason)
        emit(as_json, {"username": username, "deleted": True, "sessions_revoked": n},
             f"deleted {safe(username)} (ended {n} session(s))")
    else:
        accounts.refuse(ctx, actor, act, username, **kw)


def reset_link(username: str, *, reason: str | None, identity_check: str | None, as_json: bool) -> None:
    from console.services import accounts
    st = state()
    r = accounts.issue_reset_link(st.ctx(), st.actor(), username, reason=reason, identity_check=identity_check)
    emit(as_json, lambda: {"username": r.account.username, "url": r.link.reveal(), "note": r.note},
         lambda: print_secret(f"reset link for {safe(r.account.username)}", r.link, f"Shown once. {r.note}"))


def email_link(username: str, *, reason: str | None, identity_check: str | None, as_json: bool) -> None:
    from console.services import accounts
    st = state()
    r = accounts.email_reset_link(st.ctx(), st.actor(), username, reason=reason, identity_check=identity_check)
    emit(as_json, lambda: {"username": r.account.username, "to": r.to, "delivery": r.delivery,
                           "expires_at": r.expires_at.isoformat()},
         lambda: typer.echo(f"reset link for {safe(r.account.username)} emailed to {safe(r.to)} ({r.delivery}); "
                            f"the application accepts it until {when(r.expires_at)}"))

"""``userdesk users``: list, show, create and manage accounts."""

from __future__ import annotations

import sys
from typing import Any, Optional

import typer

from console.cli.common import IDCHECK, JSON, REASON, VERSION, handles_errors, simple
from console.cli.output import emit, jsonable, print_secret, safe, table, when
from console.cli import store
from console.cli.state import state
from console.services.errors import InvalidInput

users_app = typer.Typer(help="List, show, create and manage user accounts.", rich_markup_mode=None)


def show_user(u) -> None:
    rows = [
        ("username", u.username),
        ("display name", u.display_name or "-"),
        ("email", u.email),
        ("role", u.role),
        ("source", u.source),
        ("status", ", ".join(u.status)),
        ("password", "set" if u.has_password else "none"),
        ("changed", when(u.password_changed_at)),
        ("expires", when(u.password_expires_at) if u.password_expires_at else "never"),
        ("must change", "yes" if u.must_change_password else "no"),
        ("blocked", f"yes: {u.blocked_reason or 'no reason'} ({when(u.blocked_at)})" if u.blocked else "no"),
        ("failed sign-ins", u.failed_logins),
        ("locked until", when(u.locked_until) if u.locked else "-"),
        *([("console lock", f"until {when(u.console_locked_until)}" if u.console_locked
            else f"no ({u.console_failed_logins} failed console sign-in(s))")]
          if u.role in ("admin", "helpdesk", "viewer") else []),
        ("last sign-in", when(u.last_login_at)),
        ("created", when(u.created_at)),
        ("version", u.version),
    ]
    for k, v in rows:
        typer.echo(f"{k:>16}  {safe(v)}")


@users_app.command("list")
@handles_errors
def users_list(
    search: Optional[str] = typer.Option(None, "--search", "-s", help="Substring of username, email or name."),
    role: Optional[str] = typer.Option(None, "--role"),
    blocked: Optional[bool] = typer.Option(None, "--blocked/--not-blocked"),
    locked: Optional[bool] = typer.Option(None, "--locked/--not-locked"),
    expired: Optional[bool] = typer.Option(None, "--expired/--not-expired"),
    must_change: Optional[bool] = typer.Option(None, "--must-change/--no-must-change"),
    external: Optional[bool] = typer.Option(None, "--external/--local"),
    limit: int = typer.Option(50, "--limit", help="Rows per page (1-500)."),
    cursor: Optional[str] = typer.Option(None, "--cursor", help="Continue after a previous page."),
    all_pages: bool = typer.Option(False, "--all", help="Follow the cursor to the last page."),
    as_json: bool = JSON,
) -> None:
    """List users one keyset page at a time: ordered by username, or with
    --search in the order the accounts were created (a search index's order)."""
    from console.services import listing
    st = state()
    flt = listing.UserFilter(role=role, blocked=blocked, locked=locked, expired=expired, must_change=must_change,
                           external=external)
    if st.foreign:
        return store.users_list(search=search, limit=limit, cursor=cursor, all_pages=all_pages, as_json=as_json,
                                filtered=bool(flt.describe()))
    actor = st.reader()
    items, nxt = [], cursor
    while True:
        page = listing.list_users(st.ctx(), actor, search=search, filter=flt, cursor=nxt, limit=limit)
        items.extend(page.items)
        nxt = page.next_cursor
        if not all_pages or nxt is None:
            break

    def text() -> None:
        table(["USERNAME", "NAME", "EMAIL", "ROLE", "STATUS", "LAST SIGN-IN"],
              [[u.username, u.display_name, u.email, u.role, ",".join(u.status), when(u.last_login_at)]
               for u in items],
              widths=[20, 20, 28, 8, 18, 20] if items else None)
        if nxt:
            typer.echo(f"more: --cursor {nxt}")

    emit(as_json, {"items": items, "next_cursor": nxt}, text)


@users_app.command("show")
@handles_errors
def users_show(username: str, as_json: bool = JSON) -> None:
    """Show one account."""
    from console.services import listing
    st = state()
    if st.foreign:
        return store.users_show(username, as_json)
    u = listing.get_user(st.ctx(), st.reader(), username)
    emit(as_json, u, lambda: show_user(u))


@users_app.command("create")
@handles_errors
def users_create(
    username: str,
    email: Optional[str] = typer.Option(None, "--email"),
    name: Optional[str] = typer.Option(None, "--name", help="Display name."),
    role: str = typer.Option("member", "--role", help="member, helpdesk, admin or viewer."),
    source: str = typer.Option("local", "--source", help="'local' or the external identity provider's name."),
    no_password: bool = typer.Option(False, "--no-password", help="Create without a password (issue a ticket later)."),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    as_json: bool = JSON,
) -> None:
    """Create an account; a local one gets a generated password, printed once."""
    from console.services import users
    from console.services.permissions import Action
    st = state()
    if st.foreign:
        return store.change(Action.CREATE, username, reason=reason, identity_check=identity_check, as_json=as_json)
    r = users.create_user(st.ctx(), st.actor(), username, email=email, display_name=name, role=role, source=source,
                          generate_password=not no_password, reason=reason, identity_check=identity_check)

    def text() -> None:
        typer.echo(f"created {safe(r.user.username)} ({r.user.role})")
        if r.password:
            print_secret("password", r.password, "Shown once; the user must change it at first sign-in.")

    emit(as_json, lambda: {**jsonable(r.user), "password": r.password.reveal() if r.password else None}, text)


@users_app.command("update")
@handles_errors
def users_update(
    username: str,
    email: Optional[str] = typer.Option(None, "--email", help="New email ('' to clear)."),
    name: Optional[str] = typer.Option(None, "--name", help="New display name."),
    expected_version: Optional[int] = VERSION,
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    as_json: bool = JSON,
) -> None:
    """Change an account's email or display name."""
    from console.services import users
    from console.services.permissions import Action
    if state().foreign:
        return store.change(Action.UPDATE_PROFILE, username, reason=reason, identity_check=identity_check,
                            as_json=as_json)
    kw: dict[str, Any] = {}
    if email is not None:
        kw["email"] = email
    if name is not None:
        kw["display_name"] = name
    simple(users.update_profile, "updated {result.username}", username, as_json=as_json,
           expected_version=expected_version, reason=reason, identity_check=identity_check, **kw)


@users_app.command("delete")
@handles_errors
def users_delete(
    username: str,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    expected_version: Optional[int] = VERSION,
    reason: Optional[str] = REASON,
    as_json: bool = JSON,
) -> None:
    """Delete an account with its sessions, tickets and password history."""
    from console.services import users
    from console.services.permissions import Action
    st = state()
    if st.foreign:
        return store.change(Action.DELETE, username, reason=reason, identity_check=None, as_json=as_json)
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("yes", "required", "deleting needs --yes when not run from a terminal")
        typed = typer.prompt(f"Type the username to delete it ({safe(username)})")
        if typed != username:
            raise InvalidInput("confirmation", "mismatch", "the typed username does not match; nothing deleted")
    users.delete_user(st.ctx(), st.actor(), username, reason=reason, expected_version=expected_version)
    emit(as_json, {"deleted": username}, f"deleted {safe(username)}")


@users_app.command("block")
@handles_errors
def users_block(username: str, reason: str = typer.Option(..., "--reason", help="Why (required, shown on the account)."),
                identity_check: Optional[str] = IDCHECK, expected_version: Optional[int] = VERSION,
                as_json: bool = JSON) -> None:
    """Block an account; its sessions and reset tickets are revoked."""
    from console.services import users
    from console.services.permissions import Action
    if state().foreign:
        return store.change(Action.BLOCK, username, reason=reason, identity_check=identity_check, as_json=as_json)
    simple(users.block_user, "blocked {result.username}", username, as_json=as_json, reason=reason,
           identity_check=identity_check, expected_version=expected_version)


@users_app.command("unblock")
@handles_errors
def users_unblock(username: str, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                  expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Unblock an account."""
    from console.services import users
    from console.services.permissions import Action
    if state().foreign:
        return store.change(Action.UNBLOCK, username, reason=reason, identity_check=identity_check, as_json=as_json)
    simple(users.unblock_user, "unblocked {result.username}", username, as_json=as_json, reason=reason,
           identity_check=identity_check, expected_version=expected_version)


@users_app.command("unlock")
@handles_errors
def users_unlock(username: str, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                 expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Clear a lockout after failed sign-ins."""
    from console.services import users
    from console.services.permissions import Action
    if state().foreign:
        return store.change(Action.UNLOCK, username, reason=reason, identity_check=identity_check, as_json=as_json)
    simple(users.unlock_user, "unlocked {result.username}", username, as_json=as_json, reason=reason,
           identity_check=identity_check, expected_version=expected_version)


@users_app.command("set-role")
@handles_errors
def users_set_role(username: str, role: str, reason: Optional[str] = REASON,
                   expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Change an account's role (admins only)."""
    from console.services import users
    from console.services.permissions import Action
    if state().foreign:
        return store.change(Action.SET_ROLE, username, reason=reason, identity_check=None, as_json=as_json)
    simple(users.set_role, "{result.username} is now {result.role}", username, role, as_json=as_json,
           reason=reason, expected_version=expected_version)

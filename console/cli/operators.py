"""``userdesk operators``: the people who may sign in to the console, kept in
the desk. On the native store they are accounts with an operator role; on a
foreign store (``--store django``) the desk holds only them."""

from __future__ import annotations

from typing import Optional

import typer

from console.cli.common import IDCHECK, JSON, REASON, handles_errors
from console.cli.output import emit, jsonable, print_secret, safe, table, when
from console.cli.state import state

operators_app = typer.Typer(help="Operators: who may sign in to the console, kept in the desk.",
                            rich_markup_mode=None)


@operators_app.command("list")
@handles_errors
def operators_list(as_json: bool = JSON) -> None:
    """Every operator, by name."""
    from console.services import listing
    st = state()
    rows = listing.list_operators(st.ctx(), st.reader())
    emit(as_json, rows, lambda: table(["USERNAME", "ROLE", "STATUS", "LAST SIGN-IN"],
                                      [[u.username, u.role, ",".join(u.status), when(u.last_login_at)] for u in rows]))


@operators_app.command("create")
@handles_errors
def operators_create(
    username: str,
    role: str = typer.Option(..., "--role", help="admin, helpdesk or viewer."),
    email: Optional[str] = typer.Option(None, "--email"),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    as_json: bool = JSON,
) -> None:
    """Add an operator; their generated password is printed once (changed at first sign-in)."""
    from console.services import users
    st = state()
    r = users.create_operator(st.ctx(), st.actor(), username, role, email=email, reason=reason,
                              identity_check=identity_check)

    def text() -> None:
        typer.echo(f"operator {safe(r.user.username)} ({r.user.role}) added")
        print_secret("password", r.password, "Shown once; they must change it at first sign-in.")

    emit(as_json, lambda: {**jsonable(r.user), "password": r.password.reveal()}, text)

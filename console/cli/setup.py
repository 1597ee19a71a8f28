"""Setting up a database: ``init`` (schema and first admin) and ``demo``."""

from __future__ import annotations

import dataclasses
import sys
from typing import Optional

import typer

from console.cli.common import JSON, handles_errors
from console.cli.output import emit, jsonable, print_secret, safe
from console.cli.root import app, open_console
from console.cli.state import local_reader, state
from console.services.errors import ServiceError


@app.command()
@handles_errors
def init(
    admin: str = typer.Option("admin", "--admin", help="Username of the first admin."),
    email: Optional[str] = typer.Option(None, "--email"),
    as_json: bool = JSON,
) -> None:
    """Create the schema and the first admin. Its generated password is printed once."""
    from console.services import accounts, audit, database, setup
    st = state()
    result = setup.initialize(st.ctx(), admin, email=email)

    def text() -> None:
        settings = st.settings()
        if settings.foreign_store:
            typer.echo(f"desk ready: {safe(database.describe(settings.desk_database_url()))}, for the {settings.store} "
                       f"store at {safe(accounts.store_info(st.ctx()).where)}")
        else:
            typer.echo(f"database ready: {safe(database.describe(settings.database_url))}")
        key = audit.key_status(st.ctx(), local_reader())
        typer.echo(f"audit log signed with key {key.key_id}, kept in {safe(key.where)} (not in the database): "
                   "keep a copy elsewhere; without it nothing can change")
        print_secret(f"admin {safe(result.user.username)} password", result.password,
                     "This password is shown once. Store it now; use 'userdesk change-password' to change it.")

    emit(as_json, lambda: {**jsonable(result.user), "password": result.password.reveal()}, text)


@app.command()
@handles_errors
def demo(
    users_count: int = typer.Option(250, "--users", min=1, max=10_000_000, help="How many users to create."),
    reset: bool = typer.Option(False, "--reset", help="Delete the demo database and build it again."),
    no_console: bool = typer.Option(False, "--no-console", help="Only build the database; do not open the console."),
    as_json: bool = JSON,
) -> None:
    """Build a demo database of realistic accounts and open the console on it
    as demo-admin (profile 'demo': trusted operators)."""
    from console.services import database, setup
    st = state()
    if st.profile is None and st.database is None:
        st.profile = "demo"
    settings = st.settings()
    url = settings.database_url
    if reset:
        database.delete_demo_database(url)
    ctx = st.ctx()
    from rich.progress import Progress

    with Progress(transient=True, disable=as_json) as bar:
        task = bar.add_task("creating demo users", total=users_count)
        try:
            summary = setup.seed_demo(ctx, users_count, progress=lambda done, total: bar.update(task, completed=done))
        except ServiceError as err:
            if err.code != "USER_EXISTS" or reset:
                raise
            summary = None

    def text() -> None:
        """What was built, then the console (on a terminal) or how to open it."""
        if summary is None:
            typer.echo(f"demo database already exists: {safe(database.describe(url))} (use --reset to rebuild it)")
        else:
            typer.echo(f"demo database: {safe(database.describe(url))}")
            typer.echo(f"  {summary.users} users: {summary.blocked} blocked, {summary.locked} locked, "
                       f"{summary.expired} expired, {summary.must_change} must change, {summary.external} external; "
                       f"{summary.sessions} sessions, {summary.tickets} tickets")
        if summary is not None:
            typer.echo("operators, trusted in the demo profile (no password asked); their passwords, shown")
            typer.echo("once, to try a password sign-in or 'p' (my password) in the console:")
            for name, secret in summary.operator_passwords.items():
                print_secret(f"  {name}", secret, None)
        if not no_console and sys.stdin.isatty() and sys.stdout.isatty():
            st.close()
            open_console(demo=True)
            return
        if summary is None:
            typer.echo("operators (trusted in the demo profile): demo-admin, demo-helpdesk, demo-viewer")
        typer.echo("try: userdesk demo                     (opens the console)")
        typer.echo("     userdesk --profile demo users list")
        typer.echo("     userdesk --profile demo --operator demo-admin reset-password <username>")

    def data() -> dict:
        if summary is None:
            return {"database": database.describe(url), "created": None}
        created = jsonable(dataclasses.replace(summary, operator_passwords={}))
        created["operator_passwords"] = {name: s.reveal() for name, s in summary.operator_passwords.items()}
        return {"database": database.describe(url), "created": created}

    emit(as_json, data, text)

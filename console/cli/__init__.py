"""The ``userdesk`` command: scriptable subcommands over the service layer.

Every command calls service functions and renders what they return; none opens a
database session. Errors print ``error: MESSAGE [CODE]`` on stderr and exit 1, or
``{"error_code": ..., "error_msg": ...}`` on stdout with ``--json``.

One module per command group: ``root`` (the global options and the console),
``setup`` (init, demo), ``db``, ``users``, ``operators``, ``passwords``, ``tickets``,
``sessions``, ``bulk``, ``audit``, ``policy``; ``state``, ``common`` and
``output`` are what they share."""

from __future__ import annotations

# Importing a module registers its commands; the order here is the order of
# ``userdesk --help``.
from console.cli import setup as _setup, passwords as _passwords, bulk as _bulk  # noqa: F401
from console.cli.audit import audit_app
from console.cli.db import db_app
from console.cli.operators import operators_app
from console.cli.policy import policy_app
from console.cli.root import app
from console.cli.sessions import sessions_app
from console.cli.tickets import ticket_app
from console.cli.users import users_app

app.add_typer(users_app, name="users")
app.add_typer(ticket_app, name="ticket")
app.add_typer(sessions_app, name="sessions")
app.add_typer(policy_app, name="policy")
app.add_typer(operators_app, name="operators")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")

__all__ = ["app", "main"]


def main() -> None:
    app(prog_name="userdesk")

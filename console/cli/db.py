"""``userdesk db``: the database schema's version and migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from console.cli.common import JSON, handles_errors
from console.cli.output import emit
from console.cli.state import state

if TYPE_CHECKING:
    from console.services.database import SchemaVersion

db_app = typer.Typer(help="The database schema: its version and migrations.", rich_markup_mode=None)


def _schema_dict(version: SchemaVersion) -> dict:
    return {"current": version.current, "head": version.head, "status": version.status}


@db_app.command("current")
@handles_errors
def db_current(as_json: bool = JSON) -> None:
    """Show the database's schema version and this userdesk's."""
    from console.services import database
    data = _schema_dict(database.schema_version(state().ctx()))

    def text() -> None:
        typer.echo(f"database: {data['current'] or '(none)'}  userdesk: {data['head']}  ({data['status']})")
        if data["status"] == "outdated":
            typer.echo("run `userdesk db upgrade` to migrate it", err=True)
        elif data["status"] == "newer":
            typer.echo("the database is newer than this userdesk: upgrade userdesk", err=True)

    emit(as_json, data, text)


@db_app.command("upgrade")
@handles_errors
def db_upgrade(as_json: bool = JSON) -> None:
    """Migrate the database to this userdesk's schema version (creating it if empty)."""
    from console.services import database
    done = database.upgrade_schema(state().ctx())
    before, after = done.before, done.after

    def text() -> None:
        if before.current == after.current:
            typer.echo(f"already at {after.current}: nothing to do")
        else:
            was = before.current or ("(from before migrations)" if before.has_tables else "(empty)")
            typer.echo(f"migrated {was} -> {after.current}")
        if done.signed:
            typer.echo(f"audit log: {done.signed} events written before audit keys verified and signed")

    emit(as_json, {"from": before.current, **_schema_dict(after), "signed_events": done.signed}, text)

"""``userdesk db``: the database schema's version and migrations."""

from __future__ import annotations

import typer

from console import schema
from console.cli.common import JSON, handles_errors
from console.cli.output import emit
from console.cli.state import state

db_app = typer.Typer(help="The database schema: its version and migrations.", rich_markup_mode=None)


def _schema_dict(st_: "schema.State") -> dict:
    status = "current" if st_.up_to_date else ("newer" if not st_.known else
                                               "empty" if not st_.has_tables else "outdated")
    return {"current": st_.current, "head": st_.head, "status": status}


@db_app.command("current")
@handles_errors
def db_current(as_json: bool = JSON) -> None:
    """Show the database's schema version and this userdesk's."""
    data = _schema_dict(schema.state(state().ctx().engine))

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
    engine = state().ctx().engine
    before = schema.state(engine)
    after = schema.upgrade(engine)

    def text() -> None:
        if before.current == after.current:
            typer.echo(f"already at {after.current}: nothing to do")
        else:
            was = before.current or ("(from before migrations)" if before.has_tables else "(empty)")
            typer.echo(f"migrated {was} -> {after.current}")

    emit(as_json, {"from": before.current, **_schema_dict(after)}, text)

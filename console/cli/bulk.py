"""``userdesk bulk``: one action on every account a filter selects."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from console.cli.common import IDCHECK, JSON, REASON, handles_errors
from console.cli.output import emit, safe
from console.cli.root import app
from console.cli.state import state
from console.services.errors import InvalidInput


@app.command("bulk")
@handles_errors
def bulk_cmd(
    action_name: str = typer.Argument(..., metavar="ACTION", help="force-change, expire or revoke-sessions"),
    role: Optional[str] = typer.Option(None, "--role"),
    inactive_days: Optional[int] = typer.Option(None, "--inactive-days", help="Not signed in for N days (or never)."),
    blocked: Optional[bool] = typer.Option(None, "--blocked/--not-blocked"),
    locked: Optional[bool] = typer.Option(None, "--locked/--not-locked"),
    expired: Optional[bool] = typer.Option(None, "--expired/--not-expired"),
    must_change: Optional[bool] = typer.Option(None, "--must-change/--no-must-change"),
    external: Optional[bool] = typer.Option(None, "--external/--local"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only preview."),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    as_json: bool = JSON,
) -> None:
    """Apply an action to every account a filter selects: previewed, confirmed,
    set-based, one audit event."""
    from console.services import bulk, listing
    st = state()
    name = action_name.replace("-", "_")
    flt = listing.UserFilter(role=role, blocked=blocked, locked=locked, expired=expired, must_change=must_change,
                           external=external, inactive_days=inactive_days)
    ctx, actor = st.ctx(), st.actor()
    preview = bulk.preview(ctx, actor, name, flt)
    what = f"{bulk.TITLES.get(name, name)}: {preview.count:,} account(s)"
    if name == "revoke_sessions":
        what += f", {preview.sessions:,} active session(s)"
    if dry_run or not preview.count:
        emit(as_json, preview,
             lambda: typer.echo(what + (f" (e.g. {', '.join(safe(u) for u in preview.sample)})"
                                        if preview.sample else "")))
        return
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("yes", "required", "a bulk action needs --yes when not run from a terminal")
        typer.echo(what + f" (e.g. {', '.join(safe(u) for u in preview.sample)})")
        if not typer.confirm("Go ahead?"):
            raise typer.Exit(1)
    from rich.progress import Progress

    with Progress(transient=True, disable=as_json) as bar:
        task = bar.add_task(bulk.TITLES.get(name, name), total=preview.count)
        result = bulk.run(ctx, actor, name, flt, expected_count=preview.count, reason=reason,
                          identity_check=identity_check,
                          progress=lambda done, total: bar.update(task, completed=done))
    extra = f", {result.sessions_revoked:,} session(s) revoked" if name == "revoke_sessions" else ""
    emit(as_json, result,
         lambda: typer.echo(f"{bulk.TITLES.get(name, name)}: done for {result.count:,} account(s){extra}"))

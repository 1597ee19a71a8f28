"""``userdesk policy``: the active password policy, and a check of a password against it."""

from __future__ import annotations

import dataclasses
from typing import Optional

import typer

from console.cli.common import JSON, handles_errors
from console.cli.output import emit
from console.cli.state import state

policy_app = typer.Typer(help="The active password policy.", rich_markup_mode=None)


@policy_app.command("check")
@handles_errors
def policy_check(
    username: Optional[str] = typer.Option(None, "--username"),
    email: Optional[str] = typer.Option(None, "--email"),
    name: Optional[str] = typer.Option(None, "--name"),
    as_json: bool = JSON,
) -> None:
    """Check a password (first line of stdin) against every rule of the active policy."""
    from console.services import policy
    st = state()
    pw = st.stdin_line("password")
    results = policy.check_password(st.ctx(), pw, username=username, email=email, display_name=name)
    ok = all(r.ok for r in results)

    def text() -> None:
        typer.echo(f"policy {st.ctx().policy.name}:")
        for r in results:
            if not r.checked:
                typer.echo(f"  · {r.text} (not checked here: checked when the password is set)")
            else:
                typer.echo(f"  {'✓' if r.ok else '✗'} {r.text}")

    emit(as_json, lambda: {"policy": st.ctx().policy.name, "ok": ok, "rules": results}, text)
    if not ok:
        raise typer.Exit(1)


@policy_app.command("show")
@handles_errors
def policy_show(as_json: bool = JSON) -> None:
    """The active policy's rules, and how long a new password stays valid."""
    from console.services import policy
    ctx = state().ctx()
    p = policy.active_policy(ctx)
    days = ctx.settings.default_expiry_days()  # the preset's own unless password_expiry_days is set

    def text() -> None:
        typer.echo(f"policy {p.name}:")
        for line in p.describe():
            typer.echo(f"  - {line}")
        typer.echo(f"new passwords expire after {days} days" if days else "new passwords do not expire")

    emit(as_json, lambda: {"policy": p.name, "rules": p.describe(), "expiry_days": days,
                           "settings": dataclasses.asdict(p)}, text)

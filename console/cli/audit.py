"""``userdesk audit``: the audit log, and a check of its hash chain."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import typer

from console.cli.common import JSON, handles_errors
from console.cli.output import emit, jsonable, safe, table, when
from console.cli.root import app
from console.cli.state import state
from console.services import accounts, audit
from console.services.errors import InvalidInput


def _date(value: Optional[str], field: str) -> Optional[datetime]:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "format", "an ISO date or date-time, e.g. 2026-11-24 or 2026-11-24T13:00") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@app.command("audit")
@handles_errors
def audit_cmd(
    user: Optional[str] = typer.Option(None, "--user", help="Events about this user."),
    operator_name: Optional[str] = typer.Option(None, "--by", help="Events by this operator."),
    action: Optional[str] = typer.Option(None, "--action", help="e.g. password.reset"),
    since: Optional[str] = typer.Option(None, "--since", help="ISO date/time (UTC unless given)."),
    until: Optional[str] = typer.Option(None, "--until"),
    limit: int = typer.Option(50, "--limit"),
    cursor: Optional[str] = typer.Option(None, "--cursor"),
    verify: bool = typer.Option(False, "--verify", help="Check the hash chain instead of listing."),
    as_json: bool = JSON,
) -> None:
    """The audit log, newest first; --verify checks that no event was edited, removed or reordered."""
    st = state()
    actor = st.reader()
    if verify:
        report = audit.verify_chain(st.ctx(), actor)
        # On a foreign store: changes a crash left pending that the store could
        # not settle (state.ready settled the rest before this).
        unknown = accounts.pending(st.ctx(), actor) if st.foreign else []

        def verdict() -> None:
            if report.ok:
                typer.echo(f"audit chain verified: {report.events} events, intact")
            else:
                typer.echo(f"audit chain BROKEN at event #{report.broken_at}: {report.problem}", err=True)
            for p in unknown:
                typer.echo(f"outcome unknown: event #{p.seq} {p.action} {safe(p.target)} (the store could not "
                           "tell whether the change landed)", err=True)

        emit(as_json, lambda: {**jsonable(report), "outcome_unknown": jsonable(unknown)}, verdict)
        if not report.ok:
            raise typer.Exit(1)
        return
    page = audit.query(st.ctx(), actor, user=user, operator=operator_name, action=action,
                       since=_date(since, "since"), until=_date(until, "until"), cursor=cursor, limit=limit)

    def text() -> None:
        table(["#", "AT", "OPERATOR", "ACTION", "TARGET", "OUTCOME", "REASON"],
              [[e.seq, when(e.at), e.operator, e.action, e.target,
                e.outcome + (f" {e.error_code}" if e.error_code else ""), e.reason] for e in page.items])
        if page.next_cursor:
            typer.echo(f"more: --cursor {page.next_cursor}")

    emit(as_json, {"items": page.items, "next_cursor": page.next_cursor}, text)

"""``userdesk audit``: the audit log, a check of its signed hash chain, and checkpoints."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from console.cli.common import JSON, handles_errors
from console.cli.output import emit, jsonable, safe, table, when
from console.cli.state import state
from console.services.errors import InvalidInput


def _date(value: Optional[str], field: str) -> Optional[datetime]:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "format", "an ISO date or date-time, e.g. 2026-11-24 or 2026-11-24T13:00") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


audit_app = typer.Typer(help="The audit log: list it, verify it, and export checkpoints of it.",
                        rich_markup_mode=None)


def _read_checkpoint(path: Path):
    from console.services import audit
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("--against", "file", f"{safe(path)}: cannot be read "
                           f"({getattr(exc, 'strerror', None) or 'not UTF-8'})") from None
    return audit.read_checkpoint(content, field="--against")


@audit_app.callback(invoke_without_command=True)
@handles_errors
def audit_cmd(
    context: typer.Context,
    user: Optional[str] = typer.Option(None, "--user", help="Events about this user."),
    operator_name: Optional[str] = typer.Option(None, "--by", help="Events by this operator."),
    action: Optional[str] = typer.Option(None, "--action", help="e.g. password.reset"),
    since: Optional[str] = typer.Option(None, "--since", help="ISO date/time (UTC unless given)."),
    until: Optional[str] = typer.Option(None, "--until"),
    limit: int = typer.Option(50, "--limit"),
    cursor: Optional[str] = typer.Option(None, "--cursor"),
    verify: bool = typer.Option(False, "--verify", help="Check the hash chain and its signatures instead of listing."),
    against: Optional[Path] = typer.Option(None, "--against", metavar="FILE", dir_okay=False,
                                           help="With --verify: the log must still hold this checkpoint's event."),
    as_json: bool = JSON,
) -> None:
    """The audit log, newest first; --verify checks that no event was edited, removed or reordered, and that the
    log is signed with this desk's audit key; --against FILE that it still holds a checkpoint's event as it was."""
    if context.invoked_subcommand is not None:
        return
    from console.services import accounts, audit

    if against is not None and not verify:
        raise InvalidInput("--against", "needs_verify", "goes with --verify")
    st = state()
    actor = st.reader()
    if verify:
        if against is not None:
            report = audit.verify_against(st.ctx(), actor, _read_checkpoint(against))
        else:
            report = audit.verify_chain(st.ctx(), actor)
        # On a foreign store: changes a crash left pending that the store could
        # not settle (state.ready settled the rest before this).
        unknown = accounts.pending(st.ctx(), actor) if st.foreign else []

        def verdict() -> None:
            if report.ok:
                typer.echo(f"audit chain verified: {report.events} events, intact and signed"
                           + (", holding the checkpoint's event" if against is not None else ""))
            elif not report.signatures_checked and report.broken_at is None:
                typer.echo(f"audit chain NOT VERIFIED: {safe(report.problem)}", err=True)
            else:
                typer.echo(f"audit chain BROKEN at event #{report.broken_at}: {safe(report.problem)}", err=True)
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


@audit_app.command("checkpoint")
@handles_errors
def audit_checkpoint(
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="FILE", dir_okay=False,
                                          help="Write it to FILE (a new file) instead of standard output."),
    as_json: bool = JSON,
) -> None:
    """A signed checkpoint of the whole log, once it verifies: keep it away from this database (another machine,
    a ticket, paper). `audit --verify --against FILE` later shows the log still holds it: a log cut back or
    rewritten since does not."""
    from console.services import audit
    st = state()
    cp = audit.checkpoint(st.ctx(), st.reader())
    if output is None:
        typer.echo(cp.to_json(), nl=False)
        return
    try:
        with output.open("x", encoding="utf-8") as fh:
            fh.write(cp.to_json())
    except FileExistsError:
        raise InvalidInput("--output", "exists", f"{safe(output)} exists already: not overwritten") from None
    except OSError as exc:
        raise InvalidInput("--output", "file", f"{safe(output)}: cannot be written ({exc.strerror})") from None
    emit(as_json, {"seq": cp.seq, "hash": cp.hash, "key_id": cp.key_id, "file": str(output)},
         f"checkpoint of event #{cp.seq} ({when(cp.at)}) written to {safe(output)}: keep it away from this "
         "database")

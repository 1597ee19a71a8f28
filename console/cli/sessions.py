"""``userdesk sessions``: the sessions of the application that uses this database."""

from __future__ import annotations

from typing import Optional

import typer

from console.cli.common import IDCHECK, JSON, REASON, handles_errors, simple
from console.cli.output import emit, safe, table, when
from console.cli import store
from console.cli.state import state

sessions_app = typer.Typer(help="Sessions of the application that uses this database.", rich_markup_mode=None)


@sessions_app.command("list")
@handles_errors
def sessions_list(username: str, all_: bool = typer.Option(False, "--all", help="Include revoked and expired."),
                  as_json: bool = JSON) -> None:
    """A user's application sessions."""
    from console.services import accounts, sessions
    st = state()
    if st.foreign:
        accounts.native_only(st.ctx(), "the session list is the native store's (a Django account's session count "
                                       "is in users show)")
    rows = sessions.list_sessions(st.ctx(), st.reader(), username, include_ended=all_)
    emit(as_json, rows,
         lambda: table(["ID", "CLIENT", "STARTED", "LAST SEEN", "EXPIRES", "STATE"],
                       [[r.id, r.client, when(r.created_at), when(r.last_seen_at), when(r.expires_at),
                         r.state] for r in rows]))


@sessions_app.command("revoke")
@handles_errors
def sessions_revoke(username: str, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                    as_json: bool = JSON) -> None:
    """Revoke every active session of a user."""
    from console.services import sessions
    from console.services.permissions import Action
    if state().foreign:
        return store.change(Action.REVOKE_SESSIONS, username, reason=reason, identity_check=identity_check,
                            as_json=as_json)
    simple(sessions.revoke_sessions, "revoked {result} session(s) of " + safe(username), username, as_json=as_json,
           reason=reason, identity_check=identity_check)

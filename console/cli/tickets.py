"""``userdesk ticket``: single-use password reset tickets."""

from __future__ import annotations

from typing import Optional

import typer

from console.cli.common import IDCHECK, JSON, REASON, handles_errors, simple
from console.cli.output import emit, jsonable, print_secret, safe, table, when
from console.cli import store
from console.cli.state import state
from console.services.errors import InvalidInput

ticket_app = typer.Typer(help="Single-use password reset tickets.", rich_markup_mode=None)


def _store_lifetime(lifetime: int | None) -> None:
    if lifetime is not None:
        raise InvalidInput("lifetime", "store", "a Django reset link lives for the project's "
                                                "PASSWORD_RESET_TIMEOUT; --lifetime is the native store's")


@ticket_app.command("issue")
@handles_errors
def ticket_issue(username: str,
                 lifetime: Optional[int] = typer.Option(None, "--lifetime", help="Minutes (1-1440; default config)."),
                 reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK, as_json: bool = JSON) -> None:
    """Issue a reset ticket and print its link once; older tickets stop working.
    On the Django store: Django's own reset link, which the Django app redeems."""
    from console.services import tickets
    st = state()
    if st.foreign:
        _store_lifetime(lifetime)
        return store.reset_link(username, reason=reason, identity_check=identity_check, as_json=as_json)
    t = tickets.issue_ticket(st.ctx(), st.actor(), username, lifetime_minutes=lifetime, reason=reason,
                             identity_check=identity_check)
    emit(as_json, lambda: {**jsonable(t.ticket), "url": t.url.reveal(), "token": t.token.reveal()},
         lambda: print_secret(f"reset link for {safe(t.ticket.username)}", t.url,
                              f"Shown once; valid until {when(t.ticket.expires_at)}, single use."))


@ticket_app.command("email")
@handles_errors
def ticket_email(username: str,
                 lifetime: Optional[int] = typer.Option(None, "--lifetime", help="Minutes (1-1440; default config)."),
                 reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK, as_json: bool = JSON) -> None:
    """Issue a reset ticket and email its link to the user's address (you do not
    see it); older tickets stop working. If the mail cannot be sent, nothing is issued.
    On the Django store: Django's own reset link, mailed the same way."""
    from console.services import tickets
    st = state()
    if st.foreign:
        _store_lifetime(lifetime)
        return store.email_link(username, reason=reason, identity_check=identity_check, as_json=as_json)
    sent = tickets.email_ticket(st.ctx(), st.actor(), username, lifetime_minutes=lifetime, reason=reason,
                                identity_check=identity_check)
    emit(as_json, sent,
         lambda: typer.echo(f"reset link for {safe(sent.ticket.username)} emailed to {safe(sent.to)} "
                            f"({sent.delivery}); valid until {when(sent.ticket.expires_at)}, single use"))


@ticket_app.command("list")
@handles_errors
def ticket_list(username: str, all_: bool = typer.Option(False, "--all", help="Include used, revoked, expired."),
                as_json: bool = JSON) -> None:
    """Outstanding reset tickets of a user."""
    from console.services import accounts, tickets
    st = state()
    if st.foreign:
        accounts.native_only(st.ctx(), "userdesk's reset tickets (a Django project keeps no list of its links)")
    rows = tickets.list_tickets(st.ctx(), st.reader(), username, include_ended=all_)
    emit(as_json, rows,
         lambda: table(["ID", "ISSUED BY", "SENT", "CREATED", "EXPIRES", "STATE"],
                       [[t.id, t.issued_by, "emailed" if t.delivery == "email" else "shown", when(t.created_at),
                         when(t.expires_at), t.state] for t in rows]))


@ticket_app.command("revoke")
@handles_errors
def ticket_revoke(ticket_id: int, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                  as_json: bool = JSON) -> None:
    """Revoke one reset ticket."""
    from console.services import accounts, tickets
    if state().foreign:
        accounts.native_only(state().ctx(), "Django keeps no list of reset links: one stops working when the "
                                            "password changes")
    simple(tickets.revoke_ticket, "revoked ticket {result.id} of {result.username}", ticket_id, as_json=as_json,
           reason=reason, identity_check=identity_check)


@ticket_app.command("redeem")
@handles_errors
def ticket_redeem(as_json: bool = JSON) -> None:
    """Redeem a ticket as its user would: the token on the first line of stdin,
    the new password on the second."""
    from console.services import accounts, tickets
    st = state()
    if st.foreign:
        accounts.native_only(st.ctx(), "a Django reset link is redeemed by the Django app itself")
    token = st.stdin_line("token")
    new = st.stdin_line("new_password")
    username = tickets.redeem_ticket(st.ctx(), token, new)
    emit(as_json, {"username": username, "redeemed": True}, f"password set for {safe(username)}")

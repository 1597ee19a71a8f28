"""Passwords: reset, set, change one's own, force a change, expire."""

from __future__ import annotations

from typing import Optional

import typer

from console.cli.common import IDCHECK, JSON, REASON, VERSION, handles_errors, simple
from console.cli.output import emit, jsonable, print_reset, safe, when
from console.cli.root import app
from console.cli import store
from console.cli.state import state
from console.services.errors import InvalidInput, ServiceError


@app.command("reset-password")
@handles_errors
def reset_password(
    username: str,
    expiry: Optional[int] = typer.Option(None, "--expiry", help="Days until the new password expires (0: never; "
                                                                "default: password_expiry_days, else the "
                                                                "policy preset's own)."),
    must_change: Optional[bool] = typer.Option(None, "--must-change/--no-must-change",
                                               help="Require a change at next sign-in (also --must-change "
                                                    "true|false; default: keep as is)."),
    new_stdin: bool = typer.Option(False, "--password-stdin", help="Set the password on stdin (after the operator's, "
                                                                   "if that is read too) under the policy, instead "
                                                                   "of a generated one."),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    expected_version: Optional[int] = VERSION,
    as_json: bool = JSON,
) -> None:
    """Reset to a generated password and print it once (Zato's form: Password for
    user `NAME` reset to `PASSWORD`); with --password-stdin, to the one given."""
    from console.services import passwords
    from console.services.permissions import Action
    st = state()
    if new_stdin:  # the password given, as set-password sets it (DCS's optional new password)
        return _set_chosen(username, new_stdin=True, expiry=expiry, must_change=must_change, reason=reason,
                           identity_check=identity_check, expected_version=expected_version, as_json=as_json)
    if st.foreign:
        also = tuple(a for a, given in ((Action.EXPIRE, expiry), (Action.FORCE_CHANGE, must_change)) if given is not None)
        return store.reset_password(username, reason=reason, identity_check=identity_check, as_json=as_json,
                                    also=also, expiry=expiry, must_change=must_change)
    r = passwords.reset_password(st.ctx(), st.actor(), username, reason=reason, identity_check=identity_check,
                                 expiry_days=expiry, must_change=must_change, expected_version=expected_version)
    emit(as_json,
         lambda: {"username": r.user.username, "password": r.password.reveal(), "entropy_bits": r.entropy_bits,
                  "must_change": r.user.must_change_password, "expires_at": jsonable(r.user.password_expires_at),
                  "sessions_revoked": r.sessions_revoked, "tickets_revoked": r.tickets_revoked},
         lambda: print_reset(r.user.username, r.password,
                             f"Shown once ({r.entropy_bits:.0f} bits). Revoked {r.sessions_revoked} session(s) and "
                             f"{r.tickets_revoked} ticket(s). Expires: {when(r.user.password_expires_at)}. "
                             f"Must change at next sign-in: {'yes' if r.user.must_change_password else 'no'}."))


@app.command("set-password")
@handles_errors
def set_password(
    username: str,
    new_stdin: bool = typer.Option(False, "--password-stdin", help="Read the new password from stdin (after the "
                                                                   "operator's password, if that is read too)."),
    expiry: Optional[int] = typer.Option(None, "--expiry", help="Days until it expires (0: never; default: "
                                                          "password_expiry_days, else the policy preset's own)."),
    must_change: Optional[bool] = typer.Option(None, "--must-change/--no-must-change",
                                               help="Require a change at next sign-in (also --must-change true|false)."),
    reason: Optional[str] = REASON,
    identity_check: Optional[str] = IDCHECK,
    expected_version: Optional[int] = VERSION,
    as_json: bool = JSON,
) -> None:
    """Set a password you choose (policy enforced). Prompts twice, up to 3 tries."""
    _set_chosen(username, new_stdin=new_stdin, expiry=expiry, must_change=must_change, reason=reason,
                identity_check=identity_check, expected_version=expected_version, as_json=as_json)


def _set_chosen(username: str, *, new_stdin: bool, expiry: int | None, must_change: bool | None, reason: str | None,
                identity_check: str | None, expected_version: int | None, as_json: bool) -> None:
    from console.services import passwords
    from console.services.permissions import Action
    st = state()
    tries = 1 if new_stdin else 3

    def new_password() -> str:
        # Not asked for where operators may not choose one: the service refuses
        # (SET_PASSWORD_DISABLED, audited) whatever it would have been.
        if not st.ctx().settings.admin_may_set_password:
            return ""
        return st.secret("new_password", f"New password for {safe(username)}", from_stdin=new_stdin, confirm=True)

    if st.foreign:
        also = tuple(a for a, given in ((Action.EXPIRE, expiry), (Action.FORCE_CHANGE, must_change)) if given is not None)
        return store.set_password(username, new_password, reason=reason, identity_check=identity_check,
                                  as_json=as_json, tries=tries, also=also, expiry=expiry, must_change=must_change)
    ctx, actor = st.ctx(), st.actor()
    for attempt in range(1, tries + 1):
        pw = new_password()
        try:
            u = passwords.set_password(ctx, actor, username, pw, reason=reason, identity_check=identity_check,
                                       expiry_days=expiry, must_change=must_change, expected_version=expected_version)
            break
        except ServiceError as err:
            if err.code != "WEAK_PASSWORD" or attempt == tries:
                raise
            for f in err.failures:
                typer.echo(f"  ✗ {f.text}", err=True)
    emit(as_json, u, lambda: typer.echo(f"password set for {safe(u.username)}; expires {when(u.password_expires_at)}"))


@app.command("change-password")
@handles_errors
def change_password(as_json: bool = JSON) -> None:
    """Change the signed-in operator's own password (old one first, then the new
    one; with --password-stdin, one per line)."""
    from console.services import auth, passwords
    st = state()
    ctx = st.ctx()
    if not st.operator:
        raise InvalidInput("operator", "required", "give --operator NAME")
    old = st.secret("old_password", "Current password", from_stdin=st.password_stdin)
    actor = auth.sign_in(ctx, st.operator, old)
    new = st.secret("new_password", "New password", from_stdin=st.password_stdin, confirm=True)
    actor = passwords.change_own_password(ctx, actor, old, new)
    emit(as_json, {"username": actor.username, "changed": True}, f"password changed for {safe(actor.username)}")


@app.command("force-change")
@handles_errors
def force_change(username: str, off: bool = typer.Option(False, "--off", help="Stop requiring a change."),
                 reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
                 expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Require a password change at the next sign-in."""
    from console.services import passwords
    from console.services.permissions import Action
    if state().foreign:
        return store.change(Action.FORCE_CHANGE, username, reason=reason, identity_check=identity_check,
                            as_json=as_json)
    simple(passwords.force_change, "{result.username} must change password: "
           + ("no" if off else "yes"), username, as_json=as_json, on=not off, reason=reason,
           identity_check=identity_check, expected_version=expected_version)


@app.command("expire")
@handles_errors
def expire(username: str, reason: Optional[str] = REASON, identity_check: Optional[str] = IDCHECK,
           expected_version: Optional[int] = VERSION, as_json: bool = JSON) -> None:
    """Expire the password now."""
    from console.services import passwords
    from console.services.permissions import Action
    if state().foreign:
        return store.change(Action.EXPIRE, username, reason=reason, identity_check=identity_check, as_json=as_json)
    simple(passwords.expire_now, "password of {result.username} expired", username, as_json=as_json, reason=reason,
           identity_check=identity_check, expected_version=expected_version)

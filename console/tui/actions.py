"""The danger zone's actions: what each one says to the operator, which fields it
asks for, and the one service function it calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.services import accounts, passwords, sessions, tickets, users
from console.services.context import Actor, ServiceContext
from console.services.permissions import Action, who
from console.services.views import UserView

Runner = Callable[[ServiceContext, Actor, UserView, dict[str, Any]], Any]


@dataclass(frozen=True)
class ActionSpec:
    title: str
    summary: str
    explanation: str
    run: Runner
    #: Extra fields: expiry, must_change, lifetime, role, password, confirm_username.
    fields: tuple[str, ...] = ()
    destructive: bool = False
    #: The result carries a one-time secret to reveal.
    reveals: bool = False
    #: What happened, from the service's result and the username (None: "done for NAME").
    said: Callable[[Any, str], str] | None = None

    def done(self, result: Any, username: str) -> str:
        """The notification after the action: the title, then what happened."""
        what = self.said(result, username) if self.said else f"done for {username}"
        return f"{self.title}: {what}"


def _sessions_ended(n: Any, username: str) -> str:
    if not n:
        return f"{username} had no active session; none ended"
    return f"{n} session{'' if n == 1 else 's'} ended for {username}"


#: Said in the menu, in the dialog and after it: one wording.
EXPIRE_SAYS = "the next sign-in must change the password"


def _common(v: dict[str, Any], u: UserView) -> dict[str, Any]:
    return {"reason": v.get("reason") or None, "identity_check": v.get("identity_check") or None,
            "expected_version": u.version}


def _ticket(issue: Callable[..., Any]) -> Runner:
    """A ticket action (shown or emailed): the lifetime, reason and identity check."""
    return lambda c, a, u, v: issue(c, a, u.username, lifetime_minutes=v.get("lifetime"),
                                    reason=v.get("reason") or None, identity_check=v.get("identity_check") or None)


ACTIONS: dict[Action, ActionSpec] = {
    Action.RESET_PASSWORD: ActionSpec(
        "Reset password", "set a generated password, shown once",
        "Sets a new generated password and shows it once. Signs the user out everywhere and cancels "
        "outstanding reset tickets. Tell the user the password over a trusted channel.",
        lambda c, a, u, v: passwords.reset_password(c, a, u.username, expiry_days=v.get("expiry"),
                                                    must_change=v.get("must_change"), **_common(v, u)),
        fields=("expiry", "must_change"), reveals=True),
    Action.SET_PASSWORD: ActionSpec(
        "Set password", "choose the password (policy applies)",
        # One line: the dialog gives the rest of its height to the policy checklist.
        "Sets a password you type. Signs the user out and cancels reset tickets.",
        lambda c, a, u, v: passwords.set_password(c, a, u.username, v["password"], expiry_days=v.get("expiry"),
                                                  must_change=v.get("must_change"), **_common(v, u)),
        fields=("password", "expiry", "must_change"),
        said=lambda r, name: f"the new password is set for {name}, who is signed out everywhere"),
    Action.FORCE_CHANGE: ActionSpec(
        "Force change", "require a new password at next sign-in",
        "The user keeps signing in with the current password but must choose a new one first.",
        lambda c, a, u, v: passwords.force_change(c, a, u.username, **_common(v, u)),
        said=lambda r, name: f"{name} must choose a new password at the next sign-in"),
    Action.EXPIRE: ActionSpec(
        "Expire now", EXPIRE_SAYS,
        f"Expires the password now: {EXPIRE_SAYS}.",
        lambda c, a, u, v: passwords.expire_now(c, a, u.username, **_common(v, u)),
        said=lambda r, name: f"{name}'s password has expired; {EXPIRE_SAYS}"),
    Action.ISSUE_TICKET: ActionSpec(
        "Issue reset ticket", "a single-use link, shown once",
        "Creates a single-use link with which the user sets a password themselves. Older links stop "
        "working. The link is shown once.",
        _ticket(tickets.issue_ticket), fields=("lifetime",), reveals=True),
    Action.EMAIL_TICKET: ActionSpec(
        "Email reset link", "a single-use link to the user's address",
        "Creates a single-use link and emails it to the address on the account; you do not see it. "
        "Older links stop working. If the mail cannot be sent, no link is created.",
        _ticket(tickets.email_ticket), fields=("lifetime",)),
    Action.REVOKE_SESSIONS: ActionSpec(
        "Revoke sessions", "sign the user out everywhere",
        "Ends every active session of the user in the application; they must sign in again.",
        lambda c, a, u, v: sessions.revoke_sessions(c, a, u.username, reason=v.get("reason") or None,
                                                    identity_check=v.get("identity_check") or None),
        said=_sessions_ended),
    Action.BLOCK: ActionSpec(
        "Block", "no sign-in until unblocked",
        "Blocks the account: sign-in is refused, sessions are revoked and reset tickets cancelled. "
        "The reason is shown on the account.",
        lambda c, a, u, v: users.block_user(c, a, u.username, **_common(v, u)),
        destructive=True, said=lambda r, name: f"{name} is blocked and signed out"),
    Action.UNBLOCK: ActionSpec(
        "Unblock", "allow sign-in again",
        "Lifts the block; the user can sign in with their current password.",
        lambda c, a, u, v: users.unblock_user(c, a, u.username, **_common(v, u)),
        said=lambda r, name: f"{name} can sign in again"),
    Action.UNLOCK: ActionSpec(
        "Unlock", "clear the lockout after failed sign-ins",
        "Clears the temporary lockout and the count of failed sign-ins.",
        lambda c, a, u, v: users.unlock_user(c, a, u.username, **_common(v, u)),
        said=lambda r, name: f"{name} is unlocked; failed sign-ins cleared"),
    Action.SET_ROLE: ActionSpec(
        "Change role", "member, helpdesk, admin or viewer",
        "Changes what the account may do in this console. Admins only.",
        lambda c, a, u, v: users.set_role(c, a, u.username, v["role"], reason=v.get("reason") or None,
                                          expected_version=u.version),
        fields=("role",), said=lambda r, name: f"{name} is now {who(r.role)}"),
    Action.DELETE: ActionSpec(
        "Delete account", "remove it for good",
        "Deletes the account with its sessions, tickets and password history. The audit log keeps the "
        "username. This cannot be undone: type the username to confirm.",
        lambda c, a, u, v: users.delete_user(c, a, u.username, reason=v.get("reason") or None,
                                             expected_version=u.version),
        fields=("confirm_username",), destructive=True, said=lambda r, name: f"{name} is deleted"),
}


def _why(v: dict[str, Any]) -> dict[str, Any]:
    return {"reason": v.get("reason") or None, "identity_check": v.get("identity_check") or None}


#: The danger zone on a foreign store (console.services.accounts): the same
#: actions, said as that store does them. Those the store cannot do are listed
#: with the store's reason (accounts.unavailable) and never run.
STORE_ACTIONS: dict[Action, ActionSpec] = {
    Action.RESET_PASSWORD: ActionSpec(
        "Reset password", "set a generated password, shown once",
        "Sets a new generated password in the store's own format and shows it once. Ends the user's "
        "sessions. Tell the user the password over a trusted channel.",
        lambda c, a, u, v: accounts.reset_password(c, a, u.username, **_why(v)), reveals=True),
    Action.SET_PASSWORD: ActionSpec(
        "Set password", "choose the password (policy applies)",
        "Sets a password you type, in the store's own format. Ends the user's sessions.",
        lambda c, a, u, v: accounts.set_password(c, a, u.username, v["password"], **_why(v)),
        fields=("password",)),
    Action.FORCE_CHANGE: ActionSpec(
        "Force change", "require a new password at next sign-in",
        "The store makes the user choose a new password at the next sign-in.",
        lambda c, a, u, v: accounts.force_change(c, a, u.username, **_why(v)),
        said=lambda r, name: f"{name} must choose a new password at the next sign-in"),
    Action.EXPIRE: ActionSpec(
        "Expire password", "stop accepting it now",
        "Expires the password in the store now: the next sign-in with it is refused until it is reset.",
        lambda c, a, u, v: accounts.expire(c, a, u.username, **_why(v)),
        said=lambda r, name: f"the password of {name} is expired"),
    Action.ISSUE_TICKET: ActionSpec(
        "Reset link", "the store's own reset link, shown once",
        "Makes the application's own password-reset link for the user and shows it once; the application "
        "redeems it.",
        lambda c, a, u, v: accounts.issue_reset_link(c, a, u.username, **_why(v)), reveals=True),
    Action.EMAIL_TICKET: ActionSpec(
        "Email reset link", "the store's own link, to the user's address",
        "Makes the application's own password-reset link and emails it to the address on the account; you do "
        "not see it. The application redeems it. If the mail cannot be sent, nothing is sent.",
        lambda c, a, u, v: accounts.email_reset_link(c, a, u.username, **_why(v))),
    Action.REVOKE_SESSIONS: ActionSpec(
        "End sessions", "sign the user out everywhere",
        "Ends every session of the user in the application; they must sign in again.",
        lambda c, a, u, v: accounts.revoke_sessions(c, a, u.username, **_why(v)), said=_sessions_ended),
    Action.BLOCK: ActionSpec(
        "Block", "no sign-in until unblocked",
        "Blocks the account in the store: sign-in is refused and its sessions end.",
        lambda c, a, u, v: accounts.block(c, a, u.username, **_why(v)), destructive=True,
        said=lambda r, name: f"{name} is blocked and signed out"),
    Action.UNBLOCK: ActionSpec(
        "Unblock", "allow sign-in again",
        "Reactivates the account; the user can sign in with their current password.",
        lambda c, a, u, v: accounts.unblock(c, a, u.username, **_why(v)),
        said=lambda r, name: f"{name} can sign in again"),
    Action.UNLOCK: ActionSpec(
        "Unlock", "clear the lockout after failed sign-ins",
        "Clears the store's lockout after failed sign-ins.",
        lambda c, a, u, v: accounts.unlock(c, a, u.username, **_why(v)),
        said=lambda r, name: f"{name} is unlocked; failed sign-ins cleared"),
    Action.DELETE: ActionSpec(
        "Delete account", "remove it from the store",
        "Deletes the account in the store and ends its sessions. This cannot be undone: type the username to "
        "confirm.",
        lambda c, a, u, v: accounts.delete(c, a, u.username, reason=v.get("reason") or None),
        fields=("confirm_username",), destructive=True, said=lambda r, name: f"{name} is deleted"),
}

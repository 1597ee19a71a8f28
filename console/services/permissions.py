"""Who may do what (DESIGN.md, "Who may do what"). Every service action asks here."""

from __future__ import annotations

from enum import Enum

from console.services.context import Actor
from console.services.errors import PermissionDenied


class Action(str, Enum):
    VIEW = "view"
    CREATE = "create"
    UPDATE_PROFILE = "update_profile"
    BLOCK = "block"
    UNBLOCK = "unblock"
    UNLOCK = "unlock"
    RESET_PASSWORD = "reset_password"
    SET_PASSWORD = "set_password"
    FORCE_CHANGE = "force_change"
    EXPIRE = "expire"
    ISSUE_TICKET = "issue_ticket"
    EMAIL_TICKET = "email_ticket"
    REVOKE_TICKET = "revoke_ticket"
    REVOKE_SESSIONS = "revoke_sessions"
    DELETE = "delete"
    SET_ROLE = "set_role"


#: Actions that change a password or its state, refused on external accounts.
PASSWORD_ACTIONS = frozenset(
    {Action.RESET_PASSWORD, Action.SET_PASSWORD, Action.FORCE_CHANGE, Action.EXPIRE, Action.ISSUE_TICKET,
     Action.EMAIL_TICKET}
)

_HELPDESK = frozenset(
    {
        Action.VIEW,
        Action.CREATE,
        Action.UPDATE_PROFILE,
        Action.BLOCK,
        Action.UNBLOCK,
        Action.UNLOCK,
        Action.RESET_PASSWORD,
        Action.SET_PASSWORD,
        Action.FORCE_CHANGE,
        Action.EXPIRE,
        Action.ISSUE_TICKET,
        Action.EMAIL_TICKET,
        Action.REVOKE_TICKET,
        Action.REVOKE_SESSIONS,
    }
)

ALLOWED: dict[str, frozenset[Action]] = {
    "admin": frozenset(Action),
    "helpdesk": _HELPDESK,
    "viewer": frozenset({Action.VIEW}),
    "member": frozenset(),
    "system": frozenset(Action),
}

#: The roles a role may act on (apart from viewing), where it is limited.
TARGETS: dict[str, frozenset[str]] = {"helpdesk": frozenset({"member"})}

#: The roles an operator signs in to the console with, most powerful first.
OPERATOR_ROLES = ("admin", "helpdesk", "viewer")


#: What each action is, said as a sentence's verb phrase ("a viewer cannot …").
DOES: dict[Action, str] = {
    Action.VIEW: "view accounts",
    Action.CREATE: "create accounts",
    Action.UPDATE_PROFILE: "change profiles",
    Action.BLOCK: "block accounts",
    Action.UNBLOCK: "unblock accounts",
    Action.UNLOCK: "unlock accounts",
    Action.RESET_PASSWORD: "reset passwords",
    Action.SET_PASSWORD: "set passwords",
    Action.FORCE_CHANGE: "force a password change",
    Action.EXPIRE: "expire passwords",
    Action.ISSUE_TICKET: "issue reset tickets",
    Action.EMAIL_TICKET: "email reset links",
    Action.REVOKE_TICKET: "revoke reset tickets",
    Action.REVOKE_SESSIONS: "revoke sessions",
    Action.DELETE: "delete accounts",
    Action.SET_ROLE: "change roles",
}

#: Who a role's holder is, in a sentence.
WHO = {"admin": "an admin", "helpdesk": "a helpdesk operator", "viewer": "a viewer", "member": "a member"}


def who(role: str) -> str:
    return WHO.get(role, f"the {role} role")


def denial(actor: Actor, action: Action, target_role: str | None) -> str | None:
    """Why ``actor`` may not take ``action`` on a user of ``target_role``, or None:
    a sentence ("a viewer cannot issue reset tickets").

    Used both to enforce (``require``) and to explain disabled actions in a UI."""
    allowed = ALLOWED.get(actor.role, frozenset())
    if action not in allowed:
        if actor.role == "member":
            return "members cannot use the console"
        return f"{who(actor.role)} cannot {DOES[action]}"
    targets = TARGETS.get(actor.role)
    if targets is not None and action is not Action.VIEW and target_role is not None and target_role not in targets:
        return f"{who(actor.role)} can act on {_accounts(targets)} accounts only, not on {target_role} accounts"
    return None


#: Actions that must record why when the ``reason_required`` setting is on.
REASON_ACTIONS = {Action.RESET_PASSWORD: "to reset a password", Action.SET_PASSWORD: "to set a password"}
#: Actions that always record why, whoever takes them (the reason is shown on the account).
ALWAYS_REASON = {Action.BLOCK: "is required to block an account"}


def reason_needed(actor: Actor, action: Action, *, reason_required: bool) -> str | None:
    """Why ``actor`` must give a reason for ``action`` (the message when it is
    missing), or None: everything helpdesk does, and a password reset or set
    while the ``reason_required`` setting is on, and a block always. Reading
    never needs one; the application (``system``) only for a block."""
    if action in ALWAYS_REASON:
        return ALWAYS_REASON[action]
    if action is Action.VIEW or actor.is_system:
        return None
    if actor.role == "helpdesk":
        return "helpdesk actions must record a reason"
    if reason_required and action in REASON_ACTIONS:
        return f"is required {REASON_ACTIONS[action]} (setting reason_required)"
    return None


def who_may(action: Action) -> dict[str, str | None]:
    """The operator roles that may take ``action``, each with the accounts it is
    limited to ("member accounts"), or None for any account: the table above,
    for a screen that explains it (the console's help)."""
    out: dict[str, str | None] = {}
    for role in OPERATOR_ROLES:
        if action in ALLOWED[role]:
            targets = TARGETS.get(role) if action is not Action.VIEW else None
            out[role] = f"{_accounts(targets)} accounts" if targets is not None else None
    return out


def _accounts(roles: frozenset[str]) -> str:
    return " or ".join(sorted(roles))


def require(actor: Actor, action: Action, target_role: str | None) -> None:
    why = denial(actor, action, target_role)
    if why is not None:
        raise PermissionDenied(f"permission denied: {why}", action=action.value)

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


def denial(actor: Actor, action: Action, target_role: str | None) -> str | None:
    """Why ``actor`` may not take ``action`` on a user of ``target_role``, or None.

    Used both to enforce (``require``) and to explain disabled actions in a UI."""
    allowed = ALLOWED.get(actor.role, frozenset())
    if action not in allowed:
        if actor.role == "member":
            return "members cannot use the console"
        return f"the {actor.role} role may not {action.value.replace('_', ' ')}"
    targets = TARGETS.get(actor.role)
    if targets is not None and action is not Action.VIEW and target_role is not None and target_role not in targets:
        return (f"the {actor.role} role may act only on {_accounts(targets)} accounts, "
                f"not on {target_role} accounts")
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

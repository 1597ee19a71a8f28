"""The store interface: where the accounts live, and how to read and change them
in that system's own formats. Services call it; it holds no rule (permission,
policy, validation and audit are the services'), only how its system works.

An action a store cannot do is named in ``unsupported`` with the reason a
person can read; the services refuse it with NOT_SUPPORTED and the danger zone
lists it as unavailable with that reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

#: The account actions a store may offer, by the names services use
#: (console.services.permissions.Action values).
ACTIONS = (
    "reset_password", "set_password", "force_change", "expire", "issue_ticket", "email_ticket",
    "revoke_sessions", "block", "unblock", "unlock", "delete", "create", "set_role", "update_profile",
)


class StoreError(Exception):
    """The store's system refused or failed; ``message`` is the system's own
    words, free of any secret."""

    def __init__(self, message: str, *, refused: bool = True, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.message = message
        #: True: the system said no (nothing changed); False: it could not be reached.
        self.refused = refused
        #: The connection was lost after the change was sent: the system may
        #: have taken it. Only ``probe`` can tell, later.
        self.in_doubt = in_doubt


@dataclass(frozen=True)
class Account:
    """An account as a store shows it: plain values, never a credential."""

    #: The store's unique name of the account (what every action is given).
    username: str
    email: str | None
    display_name: str
    #: For permissions: ``admin`` for an account with rights over others (a
    #: superuser, a staff member), else ``member``.
    role: str
    #: The store's own word for the kind of account ("superuser", "staff", "user").
    kind: str
    blocked: bool
    #: The fields this store has, in display order: (label, text). A field the
    #: store lacks is absent, not blank.
    details: tuple[tuple[str, str], ...] = ()
    #: Warnings a person should see (a weak hash, an unusable password).
    flags: tuple[str, ...] = ()
    last_login_at: datetime | None = None
    sessions: int | None = None


@dataclass(frozen=True)
class AccountPage:
    items: list[Account]
    #: Whether there are more rows past this page in its direction.
    more: bool = False


@dataclass(frozen=True)
class Credential:
    """A new password in the store's own format, ready to write. ``probe`` is
    what ``probe`` reads back once it is stored (never the credential itself:
    a digest of it), so a crash between the write and its audit can be settled."""

    value: str = field(repr=False)
    probe: str
    #: What the written format is, for the audit: e.g. "pbkdf2_sha256, 1,000,000 iterations".
    describe: str = ""


@dataclass(frozen=True)
class Written:
    """What ``write_credential`` did, where a store has more to say than the
    sessions it ended (a bare int means only that)."""

    sessions: int = 0
    #: Added to the credential's description, for the audit and the screen
    #: ("; the server's policy set pwdReset: …").
    note: str = ""


@dataclass(frozen=True)
class Link:
    """A reset link the store's own system redeems."""

    value: str = field(repr=False)
    #: When the system stops accepting it (for the mail that carries it).
    expires_at: datetime
    #: What the system guarantees about it, and what it does not.
    note: str


class Store(ABC):
    #: The name used in settings (``store = "django"``) and in audit events.
    name: str = ""
    #: A short, secret-free description of where the accounts are.
    where: str = ""
    #: Action → why this store cannot do it.
    unsupported: Mapping[str, str] = {}
    #: Action → how this store does it, in its own words ("PostgreSQL: DROP
    #: ROLE, refused while the role owns anything"), for the danger zone; short,
    #: and only where the action's own explanation leaves it open.
    says: Mapping[str, str] = {}
    #: Whether its accounts have a display name and an email (else the list
    #: gives their columns' width to the account's name: MySQL's user@host).
    has_profile: bool = True

    def reason_unsupported(self, action: str) -> str | None:
        return self.unsupported.get(action)

    @abstractmethod
    def page(self, *, search: str | None, after: str | None, before: str | None, from_end: bool,
             limit: int) -> AccountPage:
        """Accounts in the order of the store's unique name, keyset-paged on it;
        ``search``: a case-insensitive substring of the name, email or names."""

    @abstractmethod
    def count(self, *, search: str | None, cap: int) -> tuple[int, bool]:
        """(count, whether it is only a floor: more than ``cap``)."""

    @abstractmethod
    def get(self, username: str) -> Account | None: ...

    @abstractmethod
    def new_credential(self, username: str, password: str) -> Credential:
        """``password`` in the format the account's system expects (the hash
        work is done here, before any transaction)."""

    @abstractmethod
    def write_credential(self, username: str, credential: Credential) -> "int | Written":
        """Store the new credential (ending the account's sessions where the
        store has them); returns the sessions ended, or a ``Written`` with a
        note on what the server did besides. A store that can
        ``expire`` also takes ``expires_at=`` (a datetime, or None: never),
        which services pass only to such a store."""

    @abstractmethod
    def set_blocked(self, username: str, blocked: bool) -> int:
        """Block or unblock; returns the sessions it ended (0 if none)."""

    @abstractmethod
    def end_sessions(self, username: str) -> int: ...

    @abstractmethod
    def probe(self, username: str, change: str) -> str | None:
        """What the store shows now for a change of kind ``change``
        (``credential``, ``blocked``, ``expiry``, ``deleted``, ``must_change``,
        ``locked``; ``sessions`` cannot be told), to compare with a pending
        change's expected probe; None when the account is gone or the store
        cannot tell."""

    def refuses(self, username: str) -> str | None:
        """Why no change may be made to this account through this store at all
        (e.g. the role the store's own connection signs in as), or None."""
        return None

    def set_expiry(self, username: str, when: datetime | None) -> None:
        """The password stops being accepted at ``when`` (None: never);
        ``probe(…, "expiry")`` reads it back."""
        raise StoreError(self.unsupported.get("expire", "this store has no password expiry"))

    def expected_expiry(self, when: datetime | None) -> str:
        """What ``probe(…, "expiry")`` reads back once ``set_expiry(when)``
        took (a store whose expiry is not a date says it its own way: MySQL's
        ``expired``)."""
        return expiry_probe(when)

    def require_change(self, username: str) -> None:
        """The account must choose a new password at its next sign-in
        (MySQL: PASSWORD EXPIRE; LDAP: pwdReset). ``probe(…, "must_change")``
        says ``required`` once it is."""
        raise StoreError(self.unsupported.get("force_change", "this store has no must-change flag"))

    def unlock(self, username: str) -> None:
        """Clear a lockout that failed sign-ins set (LDAP: pwdAccountLockedTime
        and pwdFailureTime). ``probe(…, "locked")`` says ``unlocked`` once it is."""
        raise StoreError(self.unsupported.get("unlock", "this store has no lockout"))

    def delete(self, username: str) -> int:
        """Remove the account; returns the sessions ended. ``probe(…,
        "deleted")`` says ``deleted`` once it is gone."""
        raise StoreError(self.unsupported.get("delete", "this store deletes no accounts"))

    def reset_link(self, username: str) -> Link:
        """The system's own reset link for the account."""
        raise StoreError(self.unsupported.get("issue_ticket", "this store has no reset links"))

    def tables(self) -> list[str]:
        """The tables of the store's database (tests check userdesk adds none)."""
        return []

    def close(self) -> None:  # pragma: no cover - default
        pass


def expiry_probe(when: datetime | None) -> str:
    """An expiry as ``probe(…, "expiry")`` reads it back: to the second, UTC;
    ``never`` for none."""
    if when is None or when.year >= 9999:
        return "never"
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

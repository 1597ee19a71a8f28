"""What service functions return: plain frozen values, never ORM rows, never a hash."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from console.models import LOCAL_SOURCE, AuditEvent, ResetTicket, User, UserSession

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    #: Pass back as ``cursor`` for the next page; None on the last page.
    next_cursor: str | None = None
    #: Pass back as ``before`` for the page before this one; None on the first.
    prev_cursor: str | None = None


@dataclass(frozen=True)
class Count:
    """A count that says how sure it is: exact, an estimate (cached), or a floor."""

    value: int
    exact: bool = True
    at_least: bool = False

    def label(self) -> str:
        if self.at_least:
            return f"{self.value:,}+"
        return f"{self.value:,}" if self.exact else f"~{self.value:,}"

    def __int__(self) -> int:
        return self.value


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    email: str | None
    display_name: str
    role: str
    source: str
    has_password: bool
    password_changed_at: datetime | None
    password_expires_at: datetime | None
    must_change_password: bool
    blocked: bool
    blocked_reason: str | None
    blocked_at: datetime | None
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    #: Derived at the time the view was made.
    locked: bool
    expired: bool

    @property
    def external(self) -> bool:
        return self.source != LOCAL_SOURCE

    @property
    def attention_rank(self) -> int:
        """0 locked, 1 expired, 2 blocked, 3 never signed in, 4 fine (the
        ``attention`` order of ``list_users``)."""
        if self.locked:
            return 0
        if self.expired:
            return 1
        if self.blocked:
            return 2
        if self.last_login_at is None:
            return 3
        return 4

    @property
    def status(self) -> list[str]:
        flags = []
        if self.blocked:
            flags.append("blocked")
        if self.locked:
            flags.append("locked")
        if self.expired:
            flags.append("expired")
        if self.must_change_password:
            flags.append("must-change")
        if self.external:
            flags.append(f"external:{self.source}")
        return flags or ["active"]

    #: The ``users`` columns, in field order, that ``from_row`` expects (the
    #: password hash only as "is there one").
    @staticmethod
    def columns() -> list:
        t = User.__table__.c
        return [t.id, t.username, t.email, t.display_name, t.role, t.source, t.password_hash.is_not(None),
                t.password_changed_at, t.password_expires_at, t.must_change_password, t.blocked, t.blocked_reason,
                t.blocked_at, t.failed_logins, t.locked_until, t.last_login_at, t.created_at, t.updated_at,
                t.version]

    @classmethod
    def from_row(cls, row, now: datetime) -> "UserView":
        """From a Core row of ``columns()``: no ORM object is built (list pages)."""
        locked_until, expires = row[14], row[8]
        return cls(*row, locked=locked_until is not None and locked_until > now,
                   expired=expires is not None and expires <= now)

    @classmethod
    def of(cls, u: User, now: datetime) -> "UserView":
        return cls(
            id=u.id,
            username=u.username,
            email=u.email,
            display_name=u.display_name,
            role=u.role,
            source=u.source,
            has_password=u.password_hash is not None,
            password_changed_at=u.password_changed_at,
            password_expires_at=u.password_expires_at,
            must_change_password=u.must_change_password,
            blocked=u.blocked,
            blocked_reason=u.blocked_reason,
            blocked_at=u.blocked_at,
            failed_logins=u.failed_logins,
            locked_until=u.locked_until,
            last_login_at=u.last_login_at,
            created_at=u.created_at,
            updated_at=u.updated_at,
            version=u.version,
            locked=u.locked_until is not None and u.locked_until > now,
            expired=u.password_expires_at is not None and u.password_expires_at <= now,
        )


@dataclass(frozen=True)
class SessionView:
    id: int
    username: str
    client: str
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None

    @classmethod
    def of(cls, s: UserSession, username: str) -> "SessionView":
        return cls(s.id, username, s.client, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at, s.revoked_reason)


@dataclass(frozen=True)
class TicketView:
    id: int
    username: str
    issued_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None

    @classmethod
    def of(cls, t: ResetTicket, username: str) -> "TicketView":
        return cls(t.id, username, t.issued_by, t.created_at, t.expires_at, t.used_at, t.revoked_at, t.revoked_reason)


@dataclass(frozen=True)
class AuditView:
    seq: int
    at: datetime
    operator: str
    action: str
    target: str | None
    outcome: str
    error_code: str | None
    reason: str | None
    identity_check: str | None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, e: AuditEvent) -> "AuditView":
        return cls(
            e.seq, e.at, e.operator, e.action, e.target, e.outcome, e.error_code, e.reason, e.identity_check,
            json.loads(e.details or "{}"),
        )


class OneTimeSecret:
    """A password or ticket link to be shown once. Never printed by repr/str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        if self._value is None:
            raise ValueError("this one-time secret was already discarded")
        return self._value

    def discard(self) -> None:
        """Drop the secret: it has been shown and must not be shown again."""
        self._value = None

    @property
    def discarded(self) -> bool:
        return self._value is None

    def __repr__(self) -> str:
        return "OneTimeSecret(<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True)
class PasswordResult:
    """The result of a reset (or a create with a generated password)."""

    user: UserView
    password: OneTimeSecret | None
    entropy_bits: float | None
    sessions_revoked: int = 0
    tickets_revoked: int = 0


@dataclass(frozen=True)
class IssuedTicket:
    ticket: TicketView
    #: The link with the token in it, shown once.
    url: OneTimeSecret
    token: OneTimeSecret

"""What service functions return: plain frozen values, never ORM rows, never a hash."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
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


def utc(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC datetime, however the driver gave it:
    SQLite hands back text, PostgreSQL a naive datetime, an ORM row an aware one."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


class _Column:
    """A field of a view read from its row as the driver returned it, converted
    on access (a page of 50 rows is built far more often than all its fields
    are looked at)."""

    __slots__ = ("index", "convert", "name")

    def __init__(self, index: int, convert: Callable[[Any], Any] | None = None) -> None:
        self.index = index
        self.convert = convert

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj._row[self.index]
        return value if self.convert is None or value is None else self.convert(value)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(f"{self.name} is read-only")


class UserView:
    """An account as shown: built from a plain row of ``columns()`` (list pages,
    straight from the driver) or from an ORM row (``of``); read-only."""

    __slots__ = ("_row", "_now")

    #: The fields, in the order of ``columns()``.
    FIELDS = (
        "id", "username", "email", "display_name", "role", "source", "has_password", "password_changed_at",
        "password_expires_at", "must_change_password", "blocked", "blocked_reason", "blocked_at", "failed_logins",
        "locked_until", "last_login_at", "created_at", "updated_at", "version", "console_failed_logins",
        "console_locked_until",
    )

    id: int = _Column(0)  # type: ignore[assignment]
    username: str = _Column(1)  # type: ignore[assignment]
    email: str | None = _Column(2)  # type: ignore[assignment]
    display_name: str = _Column(3)  # type: ignore[assignment]
    role: str = _Column(4)  # type: ignore[assignment]
    source: str = _Column(5)  # type: ignore[assignment]
    has_password: bool = _Column(6, bool)  # type: ignore[assignment]
    password_changed_at: datetime | None = _Column(7, utc)  # type: ignore[assignment]
    password_expires_at: datetime | None = _Column(8, utc)  # type: ignore[assignment]
    must_change_password: bool = _Column(9, bool)  # type: ignore[assignment]
    blocked: bool = _Column(10, bool)  # type: ignore[assignment]
    blocked_reason: str | None = _Column(11)  # type: ignore[assignment]
    blocked_at: datetime | None = _Column(12, utc)  # type: ignore[assignment]
    failed_logins: int = _Column(13)  # type: ignore[assignment]
    locked_until: datetime | None = _Column(14, utc)  # type: ignore[assignment]
    last_login_at: datetime | None = _Column(15, utc)  # type: ignore[assignment]
    created_at: datetime = _Column(16, utc)  # type: ignore[assignment]
    updated_at: datetime = _Column(17, utc)  # type: ignore[assignment]
    version: int = _Column(18)  # type: ignore[assignment]
    #: An operator's console sign-in failures and lock (apart from the application's).
    console_failed_logins: int = _Column(19)  # type: ignore[assignment]
    console_locked_until: datetime | None = _Column(20, utc)  # type: ignore[assignment]

    def __init__(self, row: tuple | Any, now: datetime) -> None:
        """``row``: the values of ``columns()`` in order; ``now``: the moment
        ``locked`` and ``expired`` are judged at."""
        object.__setattr__(self, "_row", row)
        object.__setattr__(self, "_now", now)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    #: The ``users`` columns, in field order, that the constructor expects (the
    #: password hash only as "is there one").
    @staticmethod
    def columns() -> list:
        t = User.__table__.c
        return [t.id, t.username, t.email, t.display_name, t.role, t.source, t.password_hash.is_not(None),
                t.password_changed_at, t.password_expires_at, t.must_change_password, t.blocked, t.blocked_reason,
                t.blocked_at, t.failed_logins, t.locked_until, t.last_login_at, t.created_at, t.updated_at,
                t.version, t.console_failed_logins, t.console_locked_until]

    @classmethod
    def of(cls, u: User, now: datetime) -> "UserView":
        return cls((u.id, u.username, u.email, u.display_name, u.role, u.source, u.password_hash is not None,
                    u.password_changed_at, u.password_expires_at, u.must_change_password, u.blocked,
                    u.blocked_reason, u.blocked_at, u.failed_logins, u.locked_until, u.last_login_at, u.created_at,
                    u.updated_at, u.version, u.console_failed_logins, u.console_locked_until), now)

    # -- derived, at the time the view was made ---------------------------------

    @property
    def locked(self) -> bool:
        until = self.locked_until
        return until is not None and until > self._now

    @property
    def console_locked(self) -> bool:
        until = self.console_locked_until
        return until is not None and until > self._now

    @property
    def expired(self) -> bool:
        expires = self.password_expires_at
        return expires is not None and expires <= self._now

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

    def as_dict(self) -> dict[str, Any]:
        """Every field, converted, and the derived flags (for JSON output)."""
        data = {name: getattr(self, name) for name in self.FIELDS}
        data.update(locked=self.locked, expired=self.expired, status=self.status, external=self.external)
        return data

    def _key(self) -> tuple:
        return tuple(getattr(self, name) for name in self.FIELDS) + (self.locked, self.expired)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, UserView) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"UserView(id={self.id!r}, username={self.username!r}, role={self.role!r}, status={self.status!r})"


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
    #: ``active``, ``expired`` or ``revoked (why)``, at the moment the view was made.
    state: str = "active"

    @classmethod
    def of(cls, s: UserSession, username: str, now: datetime) -> "SessionView":
        return cls(s.id, username, s.client, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at, s.revoked_reason,
                   session_state(s.revoked_at, s.revoked_reason, s.expires_at, now))


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
    #: ``shown`` (to the operator, once) or ``email`` (to the user's address).
    delivery: str = "shown"
    #: ``outstanding``, ``used``, ``expired`` or ``revoked (why)``, at the moment the view was made.
    state: str = "outstanding"

    @classmethod
    def of(cls, t: ResetTicket, username: str, now: datetime) -> "TicketView":
        return cls(t.id, username, t.issued_by, t.created_at, t.expires_at, t.used_at, t.revoked_at, t.revoked_reason,
                   t.delivery, ticket_state(t.used_at, t.revoked_at, t.revoked_reason, t.expires_at, now))


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def session_state(revoked_at: datetime | None, revoked_reason: str | None, expires_at: datetime, now: datetime) -> str:
    """One answer for every screen and command: revoked first, then expired."""
    if revoked_at is not None:
        return f"revoked ({revoked_reason})" if revoked_reason else "revoked"
    return "expired" if _utc(expires_at) <= _utc(now) else "active"


def ticket_state(used_at: datetime | None, revoked_at: datetime | None, revoked_reason: str | None,
                 expires_at: datetime, now: datetime) -> str:
    if used_at is not None:
        return "used"
    if revoked_at is not None:
        return f"revoked ({revoked_reason})" if revoked_reason else "revoked"
    return "expired" if _utc(expires_at) <= _utc(now) else "outstanding"


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


@dataclass(frozen=True)
class EmailedTicket:
    """A ticket whose link went to the user's address (never to the operator)."""

    ticket: TicketView
    #: The address it was sent to.
    to: str
    #: ``smtp`` or ``outbox``.
    delivery: str

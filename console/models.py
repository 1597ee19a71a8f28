"""SQLModel tables. Timestamps are stored as UTC and always read back timezone-aware."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, func, text
from sqlalchemy.types import TypeDecorator
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

ROLES = ("member", "helpdesk", "admin", "viewer")
LOCAL_SOURCE = "local"


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, refuses naive input (a bug, not a timezone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ts(nullable: bool = True, index: bool = False):
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


_user_version = Column("version", Integer, nullable=False, default=1)


class Table(SQLModel):
    """The base of every table. Rows are built by the ORM and never validated by
    pydantic, so its validators are built only if ever asked for (``defer_build``
    takes ~3 ms off every start of the console)."""

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]


class User(Table, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    email: str | None = Field(default=None, max_length=254)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(default="member", max_length=16)
    #: ``local``, or the name of the external identity provider that owns the password.
    source: str = Field(default=LOCAL_SOURCE, max_length=32)
    password_hash: str | None = Field(default=None, max_length=512, repr=False)
    password_changed_at: datetime | None = _ts()
    password_expires_at: datetime | None = _ts()
    must_change_password: bool = False
    blocked: bool = False
    blocked_reason: str | None = Field(default=None, max_length=500)
    blocked_at: datetime | None = _ts()
    failed_logins: int = 0
    locked_until: datetime | None = _ts()
    last_login_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    version: int = Field(default=1, sa_column=_user_version)
    #: The operator's console sign-in failures and lockout, apart from the
    #: application's (``failed_logins``, ``locked_until``): a public login form
    #: can lock an account out of the application, never an operator out of the console.
    console_failed_logins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    console_locked_until: datetime | None = _ts()

    __mapper_args__ = {"version_id_col": _user_version}


# Case-insensitive unique username (usernames are ASCII, so lower() is exact on
# every backend); email lookups are case-insensitive too.
Index("ux_users_username_lower", func.lower(User.username), unique=True)
Index("ix_users_email_lower", func.lower(User.email))
Index("ix_users_display_name_lower", func.lower(User.display_name))
# The list's indexes (docs/architecture.md, "No slow corner"): every view, filter
# and order of the user list reads a page and a capped count from one of these,
# never by scanning the table. Each carries the state columns the filters test,
# so that a row is accepted or skipped from the index alone.
STATE_COLUMNS = ("role", "blocked", "must_change_password", "source", "locked_until", "password_expires_at")
#: Partial indexes' conditions, as the list's filters write them (services/listing.py).
LIST_INDEX_WHERE = {
    "ix_users_blocked_name": ("blocked = 1", "blocked"),
    "ix_users_must_change_name": ("must_change_password = 1", "must_change_password"),
    "ix_users_external_name": ("source <> 'local'", "source <> 'local'"),
    "ix_users_never_name": ("last_login_at IS NULL", "last_login_at IS NULL"),
    "ix_users_locked_until": ("locked_until IS NOT NULL", "locked_until IS NOT NULL"),
    "ix_users_password_expires_at": ("password_expires_at IS NOT NULL", "password_expires_at IS NOT NULL"),
}


_LIST_INDEX_NAMES = {"ix_users_name_state", "ix_users_role_name", *LIST_INDEX_WHERE}


def _list_index(name: str, *lead) -> Index:
    names = {getattr(c, "key", None) for c in lead}
    cover = [getattr(User, c) for c in STATE_COLUMNS if c not in names]
    where = LIST_INDEX_WHERE.get(name)
    kw = {"sqlite_where": text(where[0]), "postgresql_where": text(where[1])} if where else {}
    return Index(name, *lead, *cover, **kw)


_LIST_INDEXES: list[Index] = []


def declare_list_indexes() -> list[Index]:
    """The list's indexes, declared on the users table when first asked for
    (by the migrations' environment and Alembic's comparison with the
    migrations), not at import: their partial conditions name PostgreSQL's
    dialect, which SQLAlchemy would otherwise load into every start of the
    console (0007 makes them; the list names them in INDEXED BY)."""
    if _LIST_INDEXES:
        return _LIST_INDEXES
    by_name = (func.lower(User.username), User.id)
    #: Username order, every row: the views that match most accounts.
    _list_index("ix_users_name_state", *by_name)
    #: One role, by username (and the operators' list).
    _list_index("ix_users_role_name", User.role, *by_name)
    #: The rare states, by username: blocked, must change, external, never signed in.
    _list_index("ix_users_blocked_name", *by_name)
    _list_index("ix_users_must_change_name", *by_name)
    _list_index("ix_users_external_name", *by_name)
    _list_index("ix_users_never_name", *by_name)
    #: The states that come and go with time, as ranges of their timestamps: the
    #: accounts locked at a moment are ``locked_until > now``, the expired ones
    #: ``password_expires_at <= now`` (so a lockout that passes stops showing).
    _list_index("ix_users_locked_until", User.locked_until, User.id)
    _list_index("ix_users_password_expires_at", User.password_expires_at, User.id)
    _LIST_INDEXES.extend(ix for ix in User.__table__.indexes if ix.name in _LIST_INDEX_NAMES)
    return _LIST_INDEXES


#: The narrowest index of every row (one byte a row): SQLite counts all
#: accounts by walking its pages (a tenth of the username index's).
Index("ix_users_count", User.blocked)
# The search indexes of each backend (SQLite's FTS5 table, PostgreSQL's pg_trgm
# GIN index and prefix btrees) are made by the migrations, not described here:
# console/schema.py UNMODELLED_INDEXES.


class PasswordHistory(Table, table=True):
    __tablename__ = "password_history"
    __table_args__ = (Index("ix_password_history_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    password_hash: str = Field(max_length=512, repr=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class UserSession(Table, table=True):
    """A session of the application that uses this database."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user", "user_id", "revoked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    token_digest: str = Field(max_length=64, unique=True, repr=False)
    client: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime | None = _ts()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = _ts()
    revoked_reason: str | None = Field(default=None, max_length=64)


class ResetTicket(Table, table=True):
    """A single-use password reset ticket. Only the SHA-256 of its token is stored."""

    __tablename__ = "reset_tickets"
    __table_args__ = (Index("ix_reset_tickets_user", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))
    token_digest: str = Field(max_length=64, unique=True, repr=False)
    issued_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    revoked_reason: str | None = Field(default=None, max_length=64)
    #: ``shown`` (to the operator, once) or ``email`` (to the user's address).
    delivery: str = Field(default="shown", max_length=16, sa_column_kwargs={"server_default": "shown"})
    #: Redemptions of this ticket the policy refused; at the limit it is revoked.
    failed_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class RedeemFailures(Table, table=True):
    """Refused ticket redemptions that named no live ticket, counted per time
    window (one row: ``scope`` ``all``). The audit gets the first, the tenth,
    the hundredth … failure of a window and the last window's total, not one
    event each: a flood of bogus tokens cannot grow the database."""

    __tablename__ = "redeem_failures"

    scope: str = Field(primary_key=True, max_length=32)
    window_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    failures: int = Field(default=0, nullable=False)


class AuditEvent(Table, table=True):
    """One audited action or denial. ``hash`` chains each event to the one before."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_target_at", "target", "at"),
        Index("ix_audit_operator_at", "operator", "at"),
        Index("ix_audit_action_at", "action", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    operator: str = Field(max_length=64)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=16)  # ok | denied | rejected | error
    error_code: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    identity_check: str | None = Field(default=None, max_length=200)
    details: str = Field(default="{}")  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    #: HMAC-SHA-256 of ``hash`` with the desk's audit key, which the database
    #: does not hold: a recomputed chain has no valid signature.
    mac: str | None = Field(default=None, max_length=64)


class AuditHead(Table, table=True):
    """Single row holding the newest event's sequence number and hash.

    Every audit append updates it first, which serialises appends (a row lock on
    PostgreSQL) and lets ``verify`` notice events removed from the end."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)
    #: Which audit key signs the log (an HMAC of a fixed label: names the key,
    #: reveals nothing of it); None before the first event.
    key_id: str | None = Field(default=None, max_length=16)
    #: The key's signature of (seq, hash): a head moved back is not signed.
    mac: str | None = Field(default=None, max_length=64)


class PendingChange(Table, table=True):
    """A change a foreign store is applying, recorded in the desk before it is
    made (STORES.md: pending → outcome). ``seq`` is its pending audit event;
    ``probe`` is what the store shows once the change landed (a digest, never a
    credential). The row goes when the outcome is recorded; one left behind by
    a crash is settled against the store at the next start or audit --verify."""

    __tablename__ = "pending_changes"

    seq: int = Field(primary_key=True)
    store: str = Field(max_length=32)
    target: str = Field(max_length=150)
    change: str = Field(max_length=32)
    probe: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)

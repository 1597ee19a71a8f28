"""A Django project's users: ``auth_user``, its groups and ``django_session``,
read and changed as Django itself would (console/security/django.py for the
password and reset-token formats). userdesk never creates, alters or migrates
anything in this database: the tables below are described, never created.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import (Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, delete,
                        func, inspect, or_, select, update)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from console.security import django as fmt
from console.stores.base import Account, AccountPage, Credential, Link, Store, StoreError

#: Never created or migrated (a private MetaData, not userdesk's).
_meta = MetaData()
auth_user = Table(
    "auth_user", _meta,
    Column("id", Integer, primary_key=True),
    Column("password", String(128)),
    Column("last_login", DateTime(timezone=True)),
    Column("is_superuser", Boolean),
    Column("username", String(150)),
    Column("first_name", String(150)),
    Column("last_name", String(150)),
    Column("email", String(254)),
    Column("is_staff", Boolean),
    Column("is_active", Boolean),
    Column("date_joined", DateTime(timezone=True)),
)
auth_group = Table("auth_group", _meta, Column("id", Integer, primary_key=True), Column("name", String(150)))
auth_user_groups = Table(
    "auth_user_groups", _meta,
    Column("id", Integer, primary_key=True), Column("user_id", Integer), Column("group_id", Integer),
)
django_session = Table(
    "django_session", _meta,
    Column("session_key", String(40), primary_key=True),
    Column("session_data", Text),
    Column("expire_date", DateTime(timezone=True)),
)

REQUIRED_TABLES = ("auth_user",)
UNSUPPORTED = {
    "delete": "Django deletes related rows in Python (on_delete runs in the ORM, not the database): deactivate instead",
    "force_change": "Django has no must-change flag",
    "expire": "Django has no password expiry",
    "unlock": "Django has no lockout of its own (deactivate and reactivate instead)",
    "create": "create Django users in the project (manage.py createsuperuser or its admin)",
    "set_role": "staff and superuser are changed in the Django admin",
    "update_profile": "names and email are changed in the Django admin",
    "revoke_ticket": "Django keeps no list of reset links: one stops working when the password changes",
}


def looks_like_django(tables: set[str]) -> bool:
    return "auth_user" in tables and "django_migrations" in tables


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _session_user(data: str | None) -> str | None:
    """The ``_auth_user_id`` of a stored session (Django ≥ 3.1 signing format
    ``[.]base64:timestamp:signature``, or the older ``base64(hash:json)``), or
    None. The signature is not checked: a row that only claims to be a user's
    is ended with the user's, which Django would refuse anyway."""
    if not data:
        return None
    try:
        payload = data.split(":", 1)[0]
        compressed = payload.startswith(".")
        raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
        if compressed:
            raw = zlib.decompress(raw)
        obj = json.loads(raw)
    except (ValueError, zlib.error, UnicodeDecodeError):
        try:
            raw = base64.b64decode(data.encode("ascii"))
            obj = json.loads(raw.split(b":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            return None
    user = obj.get("_auth_user_id") if isinstance(obj, dict) else None
    return None if user is None else str(user)


class DjangoStore(Store):
    name = "django"
    unsupported = UNSUPPORTED
    says = {
        "block": "Django: is_active = False, and its django_session rows deleted",
        "unblock": "Django: is_active = True",
        "revoke_sessions": "Django: its django_session rows deleted",
    }

    def __init__(self, url: str, *, secret_key: str | None = None, reset_url: str = "",
                 reset_timeout_seconds: int = 259200, time_zone: str = "UTC", hasher: str = "auto",
                 clock=None) -> None:
        self.engine = open_engine(url)
        self.where = describe(url)
        self._secret = secret_key
        self.reset_url = reset_url
        self.reset_timeout_seconds = reset_timeout_seconds
        self.time_zone = ZoneInfo(time_zone)
        self._hasher_setting = hasher
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        tables = set(self.tables())
        if not looks_like_django(tables):
            self.engine.dispose()
            raise StoreError(f"{self.where} is not a Django project's database (no auth_user and "
                             "django_migrations tables)", refused=False)
        self._sessions = "django_session" in tables
        self._groups = {"auth_group", "auth_user_groups"} <= tables
        if not self._sessions:
            self.unsupported = {**UNSUPPORTED, "revoke_sessions": "the project keeps no django_session table "
                                "(a cache, file or signed-cookie session engine): sessions cannot be ended here"}
        if not secret_key:
            why = ("a Django reset link needs the project's SECRET_KEY (django_secret_key_file, or the variable "
                   "django_secret_key_env names)")
            self.unsupported = {**self.unsupported, "issue_ticket": why, "email_ticket": why}

    # -- reading ---------------------------------------------------------------

    def tables(self) -> list[str]:
        try:
            return sorted(inspect(self.engine).get_table_names())
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(f"{self.where}: cannot be read ({_driver_message(exc)})", refused=False) from None

    def _search(self, search: str | None):
        if not search:
            return None
        # What the Django admin's search_fields = (username, first_name,
        # last_name, email) sends: icontains on each.
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        c = auth_user.c
        return or_(*(col.ilike(pattern, escape="\\") for col in (c.username, c.first_name, c.last_name, c.email)))

    def _read(self, stmt):
        try:
            with self.engine.connect() as conn:
                return conn.execute(stmt).all()
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(f"{self.where}: cannot be read ({_driver_message(exc)})", refused=False) from None

    def page(self, *, search, after, before, from_end, limit) -> AccountPage:
        c = auth_user.c
        stmt = select(auth_user)
        cond = self._search(search)
        if cond is not None:
            stmt = stmt.where(cond)
        backwards = bool(before) or from_end
        if after:
            stmt = stmt.where(c.username > after)
        if before:
            stmt = stmt.where(c.username < before)
        stmt = stmt.order_by(c.username.desc() if backwards else c.username).limit(limit + 1)
        rows = self._read(stmt)
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        current = self.current_hasher()
        return AccountPage([self._account(r, current) for r in rows], more)

    def count(self, *, search, cap) -> tuple[int, bool]:
        inner = select(auth_user.c.id)
        cond = self._search(search)
        if cond is not None:
            inner = inner.where(cond)
        n = self._read(select(func.count()).select_from(inner.limit(cap + 1).subquery()))[0][0]
        return (cap, True) if n > cap else (n, False)

    def _row(self, username: str):
        rows = self._read(select(auth_user).where(auth_user.c.username == username))
        return rows[0] if rows else None

    def get(self, username: str) -> Account | None:
        row = self._row(username)
        if row is None:
            return None
        groups: list[str] = []
        if self._groups:
            groups = [g for (g,) in self._read(
                select(auth_group.c.name).join(auth_user_groups, auth_user_groups.c.group_id == auth_group.c.id)
                .where(auth_user_groups.c.user_id == row.id).order_by(auth_group.c.name))]
        sessions = len(self._session_keys(row.id)) if self._sessions else None
        return self._account(row, self.current_hasher(), groups=groups, sessions=sessions)

    def _account(self, r, current: fmt.HashInfo, *, groups: list[str] | None = None,
                 sessions: int | None = None) -> Account:
        info = fmt.identify(r.password)
        kind = "superuser" if r.is_superuser else "staff" if r.is_staff else "user"
        name = " ".join(p for p in (r.first_name, r.last_name) if p)
        flags = []
        if not info.usable:
            flags.append("unusable password: cannot sign in with a password")
        elif info.weaker_than(current):
            flags.append(f"hash weaker than the project's current {current.algorithm} "
                         f"({current.work_text()}): Django rehashes it at the next sign-in")
        details = [
            ("active", "yes" if r.is_active else "no (deactivated)"),
            ("staff", "yes" if r.is_staff else "no"),
            ("superuser", "yes" if r.is_superuser else "no"),
        ]
        if groups is not None:
            details.append(("groups", ", ".join(groups) if groups else "none"))
        details += [
            ("last login", _when(r.last_login)),
            ("date joined", _when(r.date_joined)),
            ("password hash", info.algorithm if info.usable else "none"),
            ("work factor", info.work_text() if info.usable else "-"),
        ]
        if sessions is not None:
            details.append(("sessions", str(sessions)))
        return Account(
            username=r.username, email=r.email or None, display_name=name, role="admin" if (r.is_superuser or
            r.is_staff) else "member", kind=kind, blocked=not r.is_active, details=tuple(details),
            flags=tuple(flags), last_login_at=_utc(r.last_login), sessions=sessions,
        )

    def current_hasher(self) -> fmt.HashInfo:
        """The project's current hasher and work factor: as configured, or the
        one on the password of the account that signed in last (Django rehashes
        a password to its first hasher at every sign-in), else of the account
        that joined last (Django hashed it with its first hasher then), or, on
        an empty project, Django 5.2's default: pbkdf2_sha256 at 1,000,000
        iterations."""
        default = fmt.HashInfo("pbkdf2_sha256", (("iterations", fmt.PBKDF2_ITERATIONS),))
        if self._hasher_setting != "auto":
            defaults = {"pbkdf2_sha256": default.params,
                        "argon2": tuple((k[0], v) for k, v in fmt.ARGON2.items()),
                        "bcrypt_sha256": (("rounds", fmt.BCRYPT_ROUNDS),),
                        "scrypt": tuple(fmt.SCRYPT.items())}
            return fmt.HashInfo(self._hasher_setting, defaults[self._hasher_setting])
        c = auth_user.c
        rows = self._read(select(c.password).where(~c.password.startswith("!"))
                          .order_by(c.last_login.is_(None), c.last_login.desc(), c.date_joined.desc()).limit(1))
        if rows:
            info = fmt.identify(rows[0][0])
            if info.usable and info.algorithm in fmt.WRITABLE:
                return info
        return default

    def _session_keys(self, user_id: int) -> list[str]:
        """The user's sessions that have not expired."""
        now = self._clock()
        if self.engine.dialect.name == "sqlite":
            now = now.astimezone(timezone.utc).replace(tzinfo=None)  # Django stores naive UTC text there
        rows = self._read(select(django_session.c.session_key, django_session.c.session_data)
                          .where(django_session.c.expire_date > now))
        return [key for key, data in rows if _session_user(data) == str(user_id)]

    # -- changing --------------------------------------------------------------

    def new_credential(self, username: str, password: str) -> Credential:
        current = self.current_hasher()
        try:
            value = fmt.encode(password, current)
        except (ValueError, RuntimeError) as exc:
            raise StoreError(str(exc)) from None
        return Credential(value, _probe(value), f"{current.algorithm}, {current.work_text()}")

    def _write(self, username: str, fn) -> int:
        try:
            with self.engine.begin() as conn:
                row = conn.execute(select(auth_user.c.id).where(auth_user.c.username == username)).first()
                if row is None:
                    raise StoreError(f"no Django user named {username!r}")
                return fn(conn, row.id)
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(f"{self.where}: the change failed ({_driver_message(exc)})", refused=False) from None

    def _end_sessions(self, conn, user_id: int) -> int:
        if not self._sessions:
            return 0
        rows = conn.execute(select(django_session.c.session_key, django_session.c.session_data)).all()
        keys = [k for k, d in rows if _session_user(d) == str(user_id)]
        for i in range(0, len(keys), 500):
            conn.execute(delete(django_session).where(django_session.c.session_key.in_(keys[i:i + 500])))
        return len(keys)

    def write_credential(self, username: str, credential: Credential) -> int:
        """Store the new password and end the user's sessions, in one
        transaction of the project's database; returns the sessions ended."""
        def body(conn, uid):
            conn.execute(update(auth_user).where(auth_user.c.id == uid).values(password=credential.value))
            return self._end_sessions(conn, uid)
        return self._write(username, body)

    def set_blocked(self, username: str, blocked: bool) -> int:
        def body(conn, uid):
            conn.execute(update(auth_user).where(auth_user.c.id == uid).values(is_active=not blocked))
            return self._end_sessions(conn, uid) if blocked else 0
        return self._write(username, body)

    def end_sessions(self, username: str) -> int:
        if not self._sessions:
            raise StoreError(self.unsupported["revoke_sessions"])
        return self._write(username, self._end_sessions)

    def probe(self, username: str, change: str) -> str | None:
        row = self._row(username)
        if row is None:
            return None
        if change == "credential":
            return _probe(row.password or "")
        if change == "blocked":
            return "blocked" if not row.is_active else "active"
        if change == "sessions" and self._sessions:
            return "none" if not self._session_keys(row.id) else "some"
        return None

    def reset_link(self, username: str) -> Link:
        why = self.unsupported.get("issue_ticket")
        if why:
            raise StoreError(why)
        row = self._row(username)
        if row is None:
            raise StoreError(f"no Django user named {username!r}")
        if not row.is_active:
            raise StoreError(f"{username} is deactivated: Django's reset form sends no link to an inactive user, "
                             "and its reset view refuses one")
        last_login = _utc(row.last_login)
        token = fmt.reset_token(
            pk=row.id, password=row.password or "", email=row.email,
            last_login=last_login.replace(tzinfo=None) if last_login else None, secret=self._secret or "",
            now=self._clock().astimezone(self.time_zone).replace(tzinfo=None),
        )
        link = self.reset_url.format(uidb64=fmt.uidb64(row.id), token=token)
        hours = self.reset_timeout_seconds / 3600
        note = (f"Django redeems this link once: it stops working when the password changes or the user signs in, "
                f"and after PASSWORD_RESET_TIMEOUT ({hours:g} h). Links issued earlier stay valid until then.")
        return Link(link, self._clock() + timedelta(seconds=self.reset_timeout_seconds), note)

    def close(self) -> None:
        self.engine.dispose()


def _probe(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _when(value: datetime | None) -> str:
    v = _utc(value)
    return v.strftime("%Y-%m-%d %H:%M UTC") if v else "never"


def _driver_message(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0][:200]


def open_engine(url: str) -> Engine:
    """An engine on the project's database that changes nothing about it: a
    SQLite file must exist (it is never created) and keeps its journal mode."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError("database_url: not a database URL (e.g. sqlite:///path/to/db.sqlite3)",
                         refused=False) from None
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").expanduser()
        if not parsed.database or not path.is_file():
            raise StoreError(f"{path}: no such Django database file", refused=False)
        return create_engine(parsed.set(database=str(path)), connect_args={"timeout": 30}, hide_parameters=True)
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, pool_size=2, max_overflow=2)


def describe(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "an unknown database"
    if parsed.get_backend_name() == "sqlite":
        return f"Django · {Path(parsed.database or '').name}"
    return f"Django · {parsed.database or ''}{' on ' + parsed.host if parsed.host else ''}"

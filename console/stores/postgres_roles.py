"""A PostgreSQL server's login roles, read from its catalogs (``pg_roles``,
``pg_auth_members``, ``pg_stat_activity``; ``pg_authid`` when the connection
may read it) and changed with the server's own statements: ``ALTER ROLE``,
``DROP ROLE``, ``pg_terminate_backend``. userdesk creates nothing on the server.

A password reaches the server only as a SCRAM-SHA-256 verifier computed here
by libpq (``PQencryptPasswordConn``, psycopg's ``PGconn.encrypt_password``), as
psql's ``\\password`` does: the statement the server sees, and may log,
carries the verifier, never the password.

The connection is an admin role with CREATEROLE (a superuser to change
superusers and to read ``pg_authid``: the stored password's type, and the
probe that settles a reset a crash left pending). Its password comes from the
URL, libpq's password file (PGPASSFILE, ~/.pgpass) or PGPASSWORD, never from
the desk.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from console.stores.base import Account, AccountPage, Credential, Store, StoreError, expiry_probe

UNSUPPORTED = {
    "issue_ticket": "PostgreSQL has no reset links: reset the password or set one",
    "email_ticket": "PostgreSQL has no reset links: reset the password or set one",
    "force_change": "PostgreSQL has no must-change flag: a role cannot be made to change its password at sign-in",
    "unlock": "PostgreSQL has no lockout after failed sign-ins (block and unblock with NOLOGIN / LOGIN instead)",
    "create": "create roles with CREATE ROLE (psql or your provisioning): userdesk resets and locks existing ones",
    "set_role": "role attributes (SUPERUSER, CREATEROLE, memberships) are changed with ALTER ROLE and GRANT",
    "update_profile": "a role has no name or email fields",
    "revoke_ticket": "PostgreSQL has no reset links",
}

SAYS = {
    "expire": "PostgreSQL: VALID UNTIL now",
    "block": "PostgreSQL: NOLOGIN, and pg_terminate_backend on its sessions",
    "unblock": "PostgreSQL: LOGIN",
    "revoke_sessions": "PostgreSQL: pg_terminate_backend on each of its backends",
    "delete": "PostgreSQL: DROP ROLE, refused while the role owns anything",
}

#: Columns every read takes from pg_roles (r) for an account.
_COLUMNS = sql.SQL(
    "r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, "
    "r.rolconnlimit, {valid} AS rolvaliduntil, "
    "coalesce(shobj_description(r.oid, 'pg_authid'), '') AS comment")
#: VALID UNTIL as Python can hold it: 'infinity' (no expiry) is NULL, '-infinity' long past.
_VALID = sql.SQL("CASE WHEN r.rolvaliduntil = 'infinity' THEN NULL WHEN r.rolvaliduntil = '-infinity' "
                 "THEN timestamptz '1970-01-01 00:00+00' ELSE r.rolvaliduntil END")
_COLUMNS = _COLUMNS.format(valid=_VALID)
#: The role's client connections. backend_type is NULL in the rows of other
#: roles' backends unless the connection may read all statistics.
_SESSIONS = ("SELECT count(*) FROM pg_stat_activity WHERE usesysid = %s "
             "AND coalesce(backend_type, 'client backend') = 'client backend'")
#: Roles the server predefines (pg_monitor, pg_signal_backend…) are never accounts.
_NOT_PREDEFINED = sql.SQL("r.rolname !~ '^pg_'")


def _server_words(exc: psycopg.Error) -> str:
    """The server's own message (and detail), never the statement sent."""
    diag = getattr(exc, "diag", None)
    primary = diag.message_primary if diag is not None else None
    if not primary:
        return (str(exc).strip().splitlines() or ["unknown error"])[0][:300]
    detail = diag.message_detail
    return (primary + (f" ({detail.strip()})" if detail else ""))[:500]


def _unreachable(exc: psycopg.Error) -> bool:
    """The server could not be reached or the connection was lost (nothing
    the server decided about the change)."""
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith(("08", "57", "53"))


def _probe(value: str | None) -> str:
    return hashlib.sha256((value or "").encode()).hexdigest()


def _when(value: datetime | None) -> str:
    if value is None:
        return "never (no expiry)"
    if value == datetime.max.replace(tzinfo=timezone.utc) or value.year >= 9999:
        return "infinity (no expiry)"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def password_type(stored: str | None) -> str:
    """SCRAM-SHA-256, md5 or none, from ``pg_authid.rolpassword``."""
    if not stored:
        return "none"
    if stored.startswith("SCRAM-SHA-256$"):
        return "SCRAM-SHA-256"
    if stored.startswith("md5") and len(stored) == 35:
        return "md5"
    return "unknown format"


class PostgresRolesStore(Store):
    name = "postgres-roles"
    unsupported = UNSUPPORTED
    says = SAYS

    def __init__(self, url: str, *, connect_timeout: int = 10, clock=None) -> None:
        try:
            u = make_url(url)
        except ArgumentError:
            raise StoreError("database_url: not a database URL (e.g. postgresql+psycopg://admin@host/postgres)",
                             refused=False) from None
        if u.get_backend_name() != "postgresql":
            raise StoreError("the postgres-roles store needs a PostgreSQL server's URL "
                             "(postgresql+psycopg://admin@host/postgres)", refused=False)
        self._params = {k: v for k, v in {"host": u.host, "port": u.port, "user": u.username,
                                          "password": u.password, "dbname": u.database or "postgres",
                                          "connect_timeout": connect_timeout, **dict(u.query)}.items()
                        if v is not None}
        self.where = f"PostgreSQL roles on {u.host or 'the local socket'}{':' + str(u.port) if u.port else ''}"
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        with self._connect() as conn:
            row = conn.execute("SELECT current_user, r.rolsuper, r.rolcreaterole, "
                               "current_setting('server_version_num')::int FROM pg_roles r "
                               "WHERE r.rolname = current_user").fetchone()
        self.current_user, self.superuser, createrole, self.server_version = row
        if not (self.superuser or createrole):
            raise StoreError(f"{self.where}: the connection's role {self.current_user!r} has neither SUPERUSER nor "
                             "CREATEROLE: it cannot change roles", refused=False)

    # -- the connection ----------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(**self._params, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"{self.where}: cannot connect ({_server_words(exc)})", refused=False) from None

    def _run(self, fn, *, changing: bool = False):
        """``fn(conn)`` on a fresh connection (``fn(conn, sent)`` for a change:
        it appends to ``sent`` before it sends the changing statement). The
        server's refusal is a StoreError with its own words; a lost connection
        one with refused=False, and in_doubt once the change was sent (the
        server may have taken it before the connection went)."""
        sent: list[bool] = []
        with self._connect() as conn:
            try:
                return fn(conn, sent) if changing else fn(conn)
            except StoreError:
                raise
            except psycopg.Error as exc:
                words = _server_words(exc)
                if _unreachable(exc):
                    what = "the connection was lost during the change" if sent else \
                        "the change failed" if changing else "cannot be read"
                    raise StoreError(f"{self.where}: {what} ({words})", refused=False, in_doubt=bool(sent)) from None
                raise StoreError(f"PostgreSQL refused: {words}") from None

    # -- reading -----------------------------------------------------------------

    def _listed(self) -> sql.Composable:
        """Login roles, and (when pg_authid can be read) the roles blocked with
        NOLOGIN that still have a password: a group role has none."""
        if self.superuser:
            return sql.SQL("(r.rolcanlogin OR EXISTS (SELECT 1 FROM pg_authid a WHERE a.oid = r.oid "
                           "AND a.rolpassword IS NOT NULL))")
        return sql.SQL("r.rolcanlogin")

    def _where(self, search: str | None) -> tuple[sql.Composable, list]:
        conds, args = [_NOT_PREDEFINED, self._listed()], []
        if search:
            pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds.append(sql.SQL("(r.rolname ILIKE %s OR shobj_description(r.oid, 'pg_authid') ILIKE %s)"))
            args += [pattern, pattern]
        return sql.SQL(" AND ").join(conds), args

    def page(self, *, search, after, before, from_end, limit) -> AccountPage:
        where, args = self._where(search)
        backwards = bool(before) or from_end
        if after:
            where, args = sql.SQL("{} AND r.rolname > %s").format(where), [*args, after]
        if before:
            where, args = sql.SQL("{} AND r.rolname < %s").format(where), [*args, before]
        stmt = sql.SQL("SELECT {} FROM pg_roles r WHERE {} ORDER BY r.rolname {} LIMIT %s").format(
            _COLUMNS, where, sql.SQL("DESC" if backwards else "ASC"))
        rows = self._run(lambda c: c.execute(stmt, [*args, limit + 1]).fetchall())
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        return AccountPage([self._account(r) for r in rows], more)

    def count(self, *, search, cap) -> tuple[int, bool]:
        where, args = self._where(search)
        stmt = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM pg_roles r WHERE {} LIMIT %s) s").format(where)
        n = self._run(lambda c: c.execute(stmt, [*args, cap + 1]).fetchone()[0])
        return (cap, True) if n > cap else (n, False)

    def get(self, username: str) -> Account | None:
        def body(conn):
            row = conn.execute(sql.SQL("SELECT {}, r.oid FROM pg_roles r WHERE r.rolname = %s AND {}").format(
                _COLUMNS, _NOT_PREDEFINED), [username]).fetchone()
            if row is None:
                return None
            member_of = [g for (g,) in conn.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "WHERE m.member = %s ORDER BY g.rolname", [row[-1]]).fetchall()]
            sessions = conn.execute(_SESSIONS, [row[-1]]).fetchone()[0]
            stored = ...
            if self.superuser:
                stored = conn.execute("SELECT rolpassword FROM pg_authid WHERE oid = %s", [row[-1]]).fetchone()[0]
            return self._account(row[:-1], member_of=member_of, sessions=sessions, stored=stored)
        return self._run(body)

    def _account(self, r, *, member_of: list[str] | None = None, sessions: int | None = None,
                 stored=...) -> Account:
        name, canlogin, superuser, createrole, createdb, replication, bypassrls, connlimit, valid_until, comment = r
        kind = ("superuser" if superuser else "createrole" if createrole else "replication" if replication
                else "login" if canlogin else "nologin")
        details = [
            ("can log in", "yes" if canlogin else "no (NOLOGIN)"),
            ("valid until", _when(valid_until)),
            ("superuser", "yes" if superuser else "no"),
            ("create role", "yes" if createrole else "no"),
            ("create db", "yes" if createdb else "no"),
        ]
        if replication or bypassrls:
            details.append(("also", ", ".join(w for w, on in (("REPLICATION", replication), ("BYPASSRLS", bypassrls))
                                              if on)))
        if member_of is not None:
            details.append(("member of", ", ".join(member_of) if member_of else "none"))
        details.append(("connection limit", "none" if connlimit < 0 else str(connlimit)))
        flags = []
        if stored is not ...:
            kind_of = password_type(stored)
            details.append(("password", kind_of))
            if kind_of == "md5":
                flags.append("md5 password: weak (an unsalted MD5 of the password and the role's name); "
                             "reset it to store SCRAM-SHA-256")
            elif kind_of == "none" and canlogin:
                flags.append("no password: cannot sign in with a password")
        elif member_of is not None:
            details.append(("password", "unknown (reading pg_authid needs a superuser connection)"))
        if valid_until is not None and valid_until.year < 9999 and valid_until <= self._clock():
            flags.append(f"password expired: VALID UNTIL {_when(valid_until)}")
        if name == self.current_user:
            flags.append("userdesk's own connection role: no action is taken on it here")
        if sessions is not None:
            details.append(("sessions", str(sessions)))
        return Account(username=name, email=None, display_name=comment, role="admin" if (superuser or createrole or replication or bypassrls)
                       else "member", kind=kind, blocked=not canlogin, details=tuple(details), flags=tuple(flags),
                       sessions=sessions)

    def refuses(self, username: str) -> str | None:
        if username == self.current_user:
            return (f"{username} is the role userdesk connects as: change it from another connection "
                    "(a console cannot lock itself out)")
        return None

    # -- changing ------------------------------------------------------------------

    def new_credential(self, username: str, password: str) -> Credential:
        """A SCRAM-SHA-256 verifier made by libpq on this machine (random salt,
        4096 iterations, the server's default)."""
        def body(conn):
            return conn.pgconn.encrypt_password(password.encode(), username.encode(), b"scram-sha-256").decode()
        verifier = self._run(body)
        return Credential(verifier, _probe(verifier), "SCRAM-SHA-256 (computed by the console; the server never "
                                                      "sees the password)")

    @staticmethod
    def password_statement(username: str, verifier: str, valid_until: datetime | None | str = "keep") -> sql.Composed:
        """The ALTER ROLE that stores ``verifier``: the statement the server receives."""
        stmt = sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(username), sql.Literal(verifier))
        if valid_until != "keep":
            stmt = sql.SQL("{} VALID UNTIL {}").format(stmt, sql.Literal(
                "infinity" if valid_until is None else valid_until.astimezone(timezone.utc).isoformat()))
        return stmt

    def _oid(self, conn, username: str) -> int:
        row = conn.execute("SELECT oid FROM pg_roles WHERE rolname = %s", [username]).fetchone()
        if row is None:
            raise StoreError(f"no PostgreSQL role named {username!r}")
        return row[0]

    def _terminate(self, conn, oid: int) -> tuple[int, int]:
        """End the role's backends that this connection may signal (a
        superuser: all; else those of a non-superuser role it has the
        privileges of, or all of those with pg_signal_backend); returns
        (ended, left open). From PostgreSQL 14 each end is waited for (up to
        5 s), so a session reported ended is gone."""
        terminate = "pg_terminate_backend(pid, 5000)" if self.server_version >= 140000 else "pg_terminate_backend(pid)"
        return conn.execute(
            f"SELECT count(*) FILTER (WHERE may AND {terminate}), count(*) FILTER (WHERE NOT may) "
            "FROM (SELECT a.pid, (current_setting('is_superuser') = 'on' OR (NOT r.rolsuper AND "
            "(pg_has_role(current_user, r.oid, 'USAGE') OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE'))))"
            " AS may FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.usesysid = %s "
            "AND a.pid <> pg_backend_pid() AND coalesce(a.backend_type, 'client backend') = 'client backend') s",
            [oid]).fetchone()

    def _ended_after(self, conn, oid: int) -> int:
        """The sessions ended after a change the server has taken (autocommit):
        a failure here must not report the change as refused."""
        try:
            return self._terminate(conn, oid)[0]
        except psycopg.Error:
            return 0

    def write_credential(self, username: str, credential: Credential, *,
                         expires_at: datetime | None | str = "keep") -> int:
        """ALTER ROLE … PASSWORD '<verifier>' [VALID UNTIL …], then end the
        role's open sessions (signed in with the old password)."""
        def body(conn, sent):
            oid = self._oid(conn, username)
            sent.append(True)
            conn.execute(self.password_statement(username, credential.value, expires_at))
            return self._ended_after(conn, oid)
        return self._run(body, changing=True)

    def set_blocked(self, username: str, blocked: bool) -> int:
        def body(conn, sent):
            oid = self._oid(conn, username)
            sent.append(True)
            conn.execute(sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(username),
                                                             sql.SQL("NOLOGIN" if blocked else "LOGIN")))
            return self._ended_after(conn, oid) if blocked else 0
        return self._run(body, changing=True)

    def set_expiry(self, username: str, when: datetime | None) -> None:
        def body(conn, sent):
            self._oid(conn, username)
            sent.append(True)
            conn.execute(sql.SQL("ALTER ROLE {} VALID UNTIL {}").format(sql.Identifier(username), sql.Literal(
                "infinity" if when is None else when.astimezone(timezone.utc).isoformat())))
        self._run(body, changing=True)

    def end_sessions(self, username: str) -> int:
        def body(conn, sent):
            oid = self._oid(conn, username)
            sent.append(True)
            ended, left = self._terminate(conn, oid)
            if left:
                raise StoreError(
                    f"{left} session(s) of {username} cannot be ended by {self.current_user} (ended {ended}): ending "
                    "another role's backends needs a superuser, or for a non-superuser role its privileges or "
                    "pg_signal_backend (GRANT pg_signal_backend TO the connection's role)")
            return ended
        return self._run(body, changing=True)

    def delete(self, username: str) -> int:
        """DROP ROLE; the server refuses while the role owns objects or holds
        privileges (its own words say which). Its open sessions end after."""
        def body(conn, sent):
            oid = self._oid(conn, username)
            sent.append(True)
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(username)))
            return self._ended_after(conn, oid)
        return self._run(body, changing=True)

    def probe(self, username: str, change: str) -> str | None:
        """``credential``: a digest of the stored verifier (pg_authid: a
        superuser connection only, else None: outcome unknown); ``blocked``:
        NOLOGIN or not; ``expiry``: VALID UNTIL; ``deleted``: whether the role
        is gone; ``sessions``: whether any is open."""
        def body(conn):
            row = conn.execute(sql.SQL("SELECT r.oid, r.rolcanlogin, {} FROM pg_roles r WHERE r.rolname = %s")
                               .format(_VALID), [username]).fetchone()
            if change == "deleted":
                return "deleted" if row is None else "present"
            if row is None:
                return None
            oid, canlogin, valid_until = row
            if change == "credential":
                if not self.superuser:
                    return None  # pg_authid is a superuser's to read: cannot tell
                return _probe(conn.execute("SELECT rolpassword FROM pg_authid WHERE oid = %s",
                                           [oid]).fetchone()[0])
            if change == "blocked":
                return "active" if canlogin else "blocked"
            if change == "expiry":
                return expiry_probe(valid_until)
            if change == "sessions":
                n = conn.execute(_SESSIONS, [oid]).fetchone()[0]
                return "none" if n == 0 else "some"
            return None
        return self._run(body)


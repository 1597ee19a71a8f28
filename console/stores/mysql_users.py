"""A MariaDB server's user accounts (``user@host``), read from its grant
tables (``mysql.global_priv`` and the ``mysql.user`` view over it, MariaDB
10.4 and later) and ``information_schema.PROCESSLIST``, and changed with the
server's own statements: ``ALTER USER``, ``KILL CONNECTION``, ``DROP USER``.
userdesk creates nothing on the server.

What reaches the server, and what it may log: MariaDB writes a statement to
its general query log and its binary log exactly as sent (``ALTER USER …
IDENTIFIED BY 'pw'`` appears in both in plaintext: MariaDB 10.11 does not
mask it, unlike MySQL), and to the slow log and performance_schema's
statement history as well. So a
password never goes into a statement: the console computes the account's
``mysql_native_password`` hash itself (the format's definition,
``'*' + HEX(SHA1(SHA1(password)))``, with hashlib) and sends
``ALTER USER 'u'@'h' IDENTIFIED WITH mysql_native_password AS '*…'``. The
statement then carries that hash, which is what ``mysql.global_priv`` stores
and what any ``IDENTIFIED BY`` would have stored; the connection also turns
the general and slow logs off for its own statements (``SET SESSION
sql_log_off = 1, slow_query_log = 0``, which needs SUPER or its successor
privileges), so neither log receives it. The binary log still does (replicas
must apply the change): protect binary logs as you protect ``mysql.*``, or
run without them (``skip-log-bin``) where no replica reads them.

mysql_native_password is an unsalted double SHA-1: weak against offline
guessing when the stored hash leaks. The generated passwords are long enough
that it holds; an account on another plugin (``ed25519``, ``unix_socket``,
``gssapi``, MySQL's ``caching_sha2_password``) is refused a reset with that
reason rather than being silently moved to mysql_native_password.

MySQL's expiry is a lifetime counted from the last password change, not a
date: a reset's expiry days become ``PASSWORD EXPIRE INTERVAL n DAY`` (no
expiry: ``PASSWORD EXPIRE NEVER``); "expire now" and "require a change" are
both ``PASSWORD EXPIRE`` (the client may sign in only to set a new password).

The connection is an account with CREATE USER (and, to end other accounts'
connections, SUPER or CONNECTION ADMIN). Its password comes from the URL,
MYSQL_PWD, or an option file (``?read_default_file=PATH``, else
``~/.my.cnf``'s ``[client]``), never from the desk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pymysql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from console.security.files import PrivateFileError, read_private
from console.stores.base import Account, AccountPage, Credential, Store, StoreError

UNSUPPORTED = {
    "issue_ticket": "MariaDB has no reset links: reset the password or set one",
    "email_ticket": "MariaDB has no reset links: reset the password or set one",
    "unlock": "MariaDB's lockout after failed sign-ins (max_password_errors) has no per-account unlock: "
              "FLUSH PRIVILEGES clears it for every account (block and unblock with ACCOUNT LOCK / UNLOCK instead)",
    "create": "create accounts with CREATE USER (the mariadb client or your provisioning): userdesk resets and locks "
              "existing ones",
    "set_role": "privileges are changed with GRANT and REVOKE",
    "update_profile": "a MariaDB account has no name or email fields",
    "revoke_ticket": "MariaDB has no reset links",
}

#: How MariaDB does each action, for the danger zone.
SAYS = {
    "force_change": "MariaDB: PASSWORD EXPIRE; it signs in only to choose a new password",
    "expire": "MariaDB: PASSWORD EXPIRE; it signs in only to choose a new password",
    "block": "MariaDB: ACCOUNT LOCK, and KILL on its connections",
    "unblock": "MariaDB: ACCOUNT UNLOCK",
    "revoke_sessions": "MariaDB: KILL CONNECTION on each of its connections",
    "delete": "MariaDB: DROP USER, and KILL on its connections",
}

#: The plugin whose hash the console computes; any other is refused a reset.
NATIVE = "mysql_native_password"

_ACCOUNT_COLUMNS = ("u.User, u.Host, u.Super_priv, u.Grant_priv, u.Create_user_priv, u.plugin, "
                    "u.authentication_string, u.password_expired, g.Priv, "
                    # Rights over others besides those three: writing the grant tables, globally or
                    # on a database pattern that matches mysql, and a default role (whose rights are
                    # not read here, so it counts as admin: the careful side).
                    "(u.Insert_priv = 'Y' OR u.Update_priv = 'Y' OR u.Delete_priv = 'Y'), "
                    "EXISTS (SELECT 1 FROM mysql.db d WHERE d.User = u.User AND d.Host = u.Host "
                    "AND 'mysql' LIKE d.Db AND (d.Insert_priv = 'Y' OR d.Update_priv = 'Y' OR d.Delete_priv = 'Y')), "
                    "u.default_role")
_FROM = ("mysql.user u JOIN mysql.global_priv g ON g.Host = u.Host AND g.User = u.User "
         "WHERE coalesce(u.is_role, 'N') <> 'Y'")

#: Client-side errors (the server was not reached, or the connection was lost)
#: and the server's "going away" codes: nothing the server decided.
_GONE = {1053, 1077, 1152, 1158, 1159, 1160, 1161, 1184, 1927}


#: TLS to the server, from the URL's query (PyMySQL's own names): the CA,
#: a client certificate and key, and whether to verify the server's
#: certificate and name (``?ssl_ca=/etc/ssl/ca.pem&ssl_verify_identity=true``).
_TLS_FILES = ("ssl_ca", "ssl_cert", "ssl_key")
_TLS_FLAGS = ("ssl_verify_cert", "ssl_verify_identity")


def _owner_only(path: str) -> None:
    """An option file that holds the store account's password is read only
    when no one else may read it (PyMySQL reads it; this checks it first)."""
    try:
        read_private(Path(path).expanduser(), "the option file")
    except PrivateFileError as exc:
        raise StoreError(str(exc), refused=False) from None


def split_account(username: str) -> tuple[str, str] | None:
    """``user@host`` → (user, host), at the last ``@`` (a host has none)."""
    user, sep, host = username.rpartition("@")
    return (user, host) if sep else None


def native_hash(password: str) -> str:
    """mysql_native_password's stored form, as the server's PASSWORD() makes it."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode("utf-8")).digest()).hexdigest().upper()


def _code(exc: Exception) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _server_words(exc: Exception, secrets: tuple[str, ...] = ()) -> str:
    """The server's own message with its error number, never the statement
    sent: a syntax error (1064) quotes the statement, so it is not shown, and
    any secret is scrubbed from the rest."""
    code = _code(exc)
    args = getattr(exc, "args", ())
    text = str(args[1]) if len(args) > 1 else str(exc)
    if code == 1064:
        text = "the statement has a syntax error (its text is not shown)"
    for s in secrets:
        if s:
            text = text.replace(s, "<secret>")
    text = (text.strip().splitlines() or ["unknown error"])[0][:400]
    return f"{text} (error {code})" if code else text


def _unreachable(exc: Exception) -> bool:
    code = _code(exc)
    return (isinstance(exc, pymysql.err.InterfaceError) or code is None or 2000 <= code < 3000 or code in _GONE)


def _probe(value: str | None) -> str:
    return hashlib.sha256((value or "").encode()).hexdigest()


def _host_regex(pattern: str) -> re.Pattern:
    """A MySQL host pattern (``%`` and ``_`` wildcards) as a regex."""
    out = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{out}$", re.IGNORECASE)


def _specificity(pattern: str) -> tuple[int, int]:
    """How the server ranks accounts of one user name that match a client
    (smaller first): a host without wildcards first, then the one whose first
    wildcard comes later."""
    where = [i for i, ch in enumerate(pattern) if ch in "%_"]
    return (0, 0) if not where else (1, -where[0])


def _client_host(processlist_host: str) -> str:
    """``127.0.0.1:53422`` → ``127.0.0.1``; ``localhost`` (a socket) as it is."""
    if processlist_host in ("localhost", "") or ":" not in processlist_host:
        return processlist_host
    return processlist_host.rsplit(":", 1)[0].strip("[]")


def _ts(epoch: int | None) -> str:
    if not epoch:
        return "unknown"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _blocked(priv: dict) -> bool:
    return bool(priv.get("account_locked", False))


def _expired(priv: dict) -> bool:
    """PASSWORD EXPIRE (password_last_changed 0, as the mysql.user view's password_expired)."""
    return priv.get("password_last_changed", None) == 0


class MySQLUsersStore(Store):
    name = "mysql-users"
    unsupported = UNSUPPORTED
    says = SAYS
    has_profile = False

    def __init__(self, url: str, *, connect_timeout: int = 10, clock=None) -> None:
        try:
            u = make_url(url)
        except ArgumentError:
            raise StoreError("database_url: not a database URL (e.g. mysql+pymysql://admin@127.0.0.1:3306/mysql)",
                             refused=False) from None
        if u.get_backend_name() not in ("mysql", "mariadb"):
            raise StoreError("the mysql-users store needs a MariaDB server's URL "
                             "(mysql+pymysql://admin@host:3306/mysql)", refused=False)
        query = dict(u.query)
        option_file = query.pop("read_default_file", None)
        if option_file is None and (Path.home() / ".my.cnf").is_file():
            option_file = str(Path.home() / ".my.cnf")
        if option_file is not None:
            _owner_only(option_file)
        unix_socket = query.pop("unix_socket", None)
        tls = {k: query.pop(k) for k in _TLS_FILES if k in query}
        tls.update({k: query.pop(k).lower() in ("1", "true", "yes", "on") for k in _TLS_FLAGS if k in query})
        if query:  # anything else would be dropped without a word (TLS, say, believed on)
            raise StoreError(f"database_url: unknown option(s) {', '.join(sorted(query))}: the mysql-users store "
                             f"takes {', '.join(('read_default_file', 'unix_socket', *_TLS_FILES, *_TLS_FLAGS))}",
                             refused=False)
        password = u.password if u.password is not None else os.environ.get("MYSQL_PWD")
        self._params = {k: v for k, v in {
            "host": u.host, "port": u.port, "user": u.username, "password": password,
            "database": u.database or "mysql", "unix_socket": unix_socket,
            "read_default_file": option_file, "connect_timeout": connect_timeout, **tls}.items() if v is not None}
        self.where = f"MariaDB users on {u.host or 'the local socket'}{':' + str(u.port) if u.port else ''}"
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        with self._connect() as conn, conn.cursor() as cur:
            try:
                cur.execute("SELECT CURRENT_USER(), VERSION()")
                current, version = cur.fetchone()
                if "mariadb" not in version.lower():
                    raise StoreError(f"{self.where}: the server is MySQL {version}; this store reads MariaDB's "
                                     "grant tables (mysql.global_priv, MariaDB 10.4 and later)", refused=False)
                user, host = current.rsplit("@", 1)
                cur.execute("SELECT Create_user_priv, Process_priv FROM mysql.user WHERE User = %s AND Host = %s",
                            (user, host))
                row = cur.fetchone()
            except pymysql.err.MySQLError as exc:  # e.g. no SELECT on mysql.*: said, not a traceback
                raise StoreError(f"{self.where}: the connection's account cannot read the server's accounts "
                                 f"({_server_words(exc, (self._params.get('password'),))})", refused=False) from None
        self.current_user, self.server_version = current, version
        if row is None or row[0] != "Y":
            raise StoreError(f"{self.where}: the connection's account {current} has no CREATE USER privilege: it "
                             "cannot change accounts", refused=False)
        #: PROCESS: the connection sees other accounts' connections (else
        #: their count is unknown and they cannot be ended from here).
        self.process = row[1] == "Y"

    # -- the connection ----------------------------------------------------------

    def _connect(self) -> pymysql.connections.Connection:
        try:
            return pymysql.connect(**self._params, autocommit=True, charset="utf8mb4")
        except pymysql.err.MySQLError as exc:
            raise StoreError(f"{self.where}: cannot connect ({_server_words(exc, (self._params.get('password'),))})",
                             refused=False) from None

    def _run(self, fn, *, changing: bool = False, secrets: tuple[str, ...] = ()):
        """``fn(cur)`` on a fresh connection (``fn(cur, sent)`` for a change:
        it appends to ``sent`` before it sends the changing statement). The
        server's refusal is a StoreError in its own words; a lost connection
        one with refused=False, and in_doubt once the change was sent."""
        sent: list[bool] = []
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                if changing:
                    self._quiet(cur)
                return fn(cur, sent) if changing else fn(cur)
        except StoreError:
            raise
        except pymysql.err.MySQLError as exc:
            words = _server_words(exc, secrets)
            if _unreachable(exc):
                what = "the connection was lost during the change" if sent else \
                    "the change failed" if changing else "cannot be read"
                raise StoreError(f"{self.where}: {what} ({words})", refused=False, in_doubt=bool(sent)) from None
            raise StoreError(f"MariaDB refused: {words}") from None
        finally:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a connection already gone
                pass

    @staticmethod
    def _quiet(cur) -> None:
        """Keep this connection's changing statements out of the general and
        slow query logs (each needs a privilege the connection may lack: then
        the server's settings apply, as the README says)."""
        for stmt in ("SET SESSION sql_log_off = 1", "SET SESSION slow_query_log = 0"):
            try:
                cur.execute(stmt)
            except pymysql.err.MySQLError as exc:
                if _unreachable(exc):
                    raise

    # -- reading -----------------------------------------------------------------

    @staticmethod
    def _search(search: str | None) -> tuple[str, list]:
        if not search:
            return "", []
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return " AND LOWER(CONCAT(u.User, '@', u.Host)) LIKE %s", [pattern]

    def page(self, *, search, after, before, from_end, limit) -> AccountPage:
        where, args = self._search(search)
        backwards = bool(before) or from_end
        for key, op in ((after, ">"), (before, "<")):
            if key:
                parts = split_account(key) or (key, "")
                where += f" AND (u.User, u.Host) {op} (%s, %s)"
                args += list(parts)
        order = "DESC" if backwards else "ASC"
        stmt = f"SELECT {_ACCOUNT_COLUMNS} FROM {_FROM}{where} ORDER BY u.User {order}, u.Host {order} LIMIT %s"
        rows = self._run(lambda c: (c.execute(stmt, [*args, limit + 1]), c.fetchall())[1])
        rows = list(rows)
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        return AccountPage([self._account(r) for r in rows], more)

    def count(self, *, search, cap) -> tuple[int, bool]:
        where, args = self._search(search)
        stmt = f"SELECT count(*) FROM (SELECT 1 FROM {_FROM}{where} LIMIT %s) s"
        n = self._run(lambda c: (c.execute(stmt, [*args, cap + 1]), c.fetchone()[0])[1])
        return (cap, True) if n > cap else (n, False)

    def _row(self, cur, user: str, host: str):
        cur.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM {_FROM} AND u.User = %s AND u.Host = %s", (user, host))
        return cur.fetchone()

    def _no_process(self, username: str) -> StoreError:
        return StoreError(f"the connections of {username} cannot be seen by {self.current_user}: seeing and ending "
                          "another account's connections needs PROCESS and CONNECTION ADMIN (or SUPER): GRANT "
                          "PROCESS, CONNECTION ADMIN ON *.* TO the connection's account")

    def _connections(self, cur, user: str, host: str) -> list[int]:
        """The ids of the connections signed in as ``user@host``: those of
        the user name whose client host the account's host pattern matches,
        when no more specific account of that user name matches it too (the
        server's own choice, approximated: IP/netmask hosts are not matched)."""
        cur.execute("SELECT Host FROM mysql.global_priv WHERE User = %s", (user,))
        patterns = sorted((h for (h,) in cur.fetchall()), key=_specificity)
        cur.execute("SELECT ID, HOST FROM information_schema.PROCESSLIST WHERE USER = %s "
                    "AND ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump')", (user,))
        ids = []
        for pid, client in cur.fetchall():
            client = _client_host(client or "")
            chosen = next((p for p in patterns if _host_regex(p).match(client)), None)
            if chosen == host:
                ids.append(int(pid))
        return ids

    def get(self, username: str) -> Account | None:
        parts = split_account(username)
        if parts is None:
            return None

        def body(cur):
            row = self._row(cur, *parts)
            if row is None:
                return None
            cur.execute("SELECT @@default_password_lifetime")
            default_lifetime = int(cur.fetchone()[0])
            return self._account(row, sessions=len(self._connections(cur, *parts)) if self.process else None,
                                 default_lifetime=default_lifetime)
        return self._run(body)

    def _account(self, r, *, sessions: int | None = None, default_lifetime: int | None = None) -> Account:
        (user, host, super_priv, grant_priv, create_user, plugin, auth, _expired_col, priv_json, writes_all,
         writes_mysql, default_role) = r
        priv = json.loads(priv_json or "{}")
        name = f"{user}@{host}"
        rights = [label for label, flag in (("SUPER", super_priv), ("GRANT OPTION", grant_priv),
                                            ("CREATE USER", create_user)) if flag == "Y"]
        if writes_all:
            rights.append("writes *.* (the grant tables too)")
        elif writes_mysql:
            rights.append("writes mysql.*")
        if default_role:
            rights.append(f"default role {default_role}")
        plugin = plugin or NATIVE
        blocked, expired = _blocked(priv), _expired(priv)
        lifetime = priv.get("password_lifetime", -1)
        changed = priv.get("password_last_changed")
        details = [
            ("locked", "yes (ACCOUNT LOCK)" if blocked else "no"),
            ("password expired", "yes (PASSWORD EXPIRE: must change at sign-in)" if expired else "no"),
        ]
        if lifetime == 0:
            life = "never expires"
        elif lifetime is None or lifetime < 0:
            life = "server default" + ("" if default_lifetime is None else
                                       f" ({default_lifetime} days)" if default_lifetime else " (never)")
            lifetime = default_lifetime
        else:
            life = f"{lifetime} days"
        details.append(("lifetime", life))
        details.append(("last changed", "expired (PASSWORD EXPIRE)" if expired else _ts(changed)))
        flags = []
        if lifetime and changed and not expired:
            ends = datetime.fromtimestamp(changed, timezone.utc) + timedelta(days=lifetime)
            details.append(("expires", ends.strftime("%Y-%m-%d %H:%M UTC")))
            if ends <= self._clock():
                flags.append(f"password expired: its lifetime ended {ends:%Y-%m-%d}")
        details.append(("plugin", plugin + (" (unsalted double SHA-1)" if plugin == NATIVE else "")))
        details.append(("admin rights", ", ".join(rights) if rights else "none global"))
        if expired:
            flags.append("password expired: the account must choose a new one at its next sign-in")
        if plugin == NATIVE and not auth:
            flags.append("no password: signs in with an empty password")
        if plugin != NATIVE:
            flags.append(f"authenticates with {plugin}: userdesk resets mysql_native_password accounts only")
        if name == self.current_user:
            flags.append("userdesk's own connection account: no action is taken on it here")
        if sessions is not None:
            details.append(("connections", str(sessions)))
        elif default_lifetime is not None:  # the detail read, without PROCESS
            details.append(("connections", "unknown (the connection's account lacks PROCESS)"))
        return Account(username=name, email=None, display_name="", role="admin" if rights else "member",
                       kind="admin" if rights else "user", blocked=blocked, details=tuple(details),
                       flags=tuple(flags), sessions=sessions)

    def refuses(self, username: str) -> str | None:
        if username == self.current_user:
            return (f"{username} is the account userdesk connects as: change it from another connection "
                    "(a console cannot lock itself out)")
        return None

    # -- changing ------------------------------------------------------------------

    def _existing(self, cur, username: str) -> tuple[str, str, tuple]:
        parts = split_account(username)
        row = self._row(cur, *parts) if parts else None
        if row is None:
            raise StoreError(f"no MariaDB account {username!r} (accounts are named user@host)")
        return parts[0], parts[1], row

    def new_credential(self, username: str, password: str) -> Credential:
        """The account's mysql_native_password hash, computed here; an account
        on another plugin is refused (its plugin would change)."""
        def body(cur):
            row = self._existing(cur, username)[2]
            return row[5] or NATIVE, json.loads(row[8] or "{}").get("auth_or") or []
        plugin, alternatives = self._run(body)
        if len(alternatives) > 1:
            # IDENTIFIED VIA unix_socket OR mysql_native_password: mysql.user shows the
            # native plugin, and a new hash would replace every method but that one.
            raise StoreError(f"{username} signs in with more than one method (IDENTIFIED VIA … OR …): a new "
                             "password would drop the others; change it with ALTER USER … IDENTIFIED VIA … OR …")
        if plugin != NATIVE:
            raise StoreError(f"{username} authenticates with {plugin}: userdesk writes mysql_native_password "
                             "hashes only, and would change its plugin (reset it with ALTER USER … IDENTIFIED VIA "
                             f"{plugin} in a session the server does not log)")
        value = native_hash(password)
        return Credential(value, _probe(value), "mysql_native_password (computed by the console; the server never "
                                                "sees the password)")

    @staticmethod
    def _lifetime_clause(days: int | None) -> str:
        return " PASSWORD EXPIRE NEVER" if days is None else f" PASSWORD EXPIRE INTERVAL {int(days)} DAY"

    def _days_until(self, when: datetime) -> int:
        """A date as MySQL's lifetime from a change made now: whole days, at least one."""
        seconds = (when - self._clock()).total_seconds()
        return max(1, min(65535, -(-int(seconds) // 86400)))

    @staticmethod
    def password_statement(user: str, host: str, value: str, lifetime: str = "") -> tuple[str, tuple]:
        """The ALTER USER that stores ``value`` (a mysql_native_password hash)
        and its parameters: what the server receives."""
        return ("ALTER USER %s@%s IDENTIFIED WITH mysql_native_password AS %s" + lifetime, (user, host, value))

    def _end(self, cur, ids: list[int]) -> int:
        """KILL CONNECTION each id, then wait (up to 5 s) until the server has
        closed them; returns how many it ended."""
        ended = 0
        for pid in ids:
            try:
                cur.execute("KILL CONNECTION %s", (pid,))
                ended += 1
            except pymysql.err.OperationalError as exc:
                if _code(exc) != 1094:  # already gone: not ours to count
                    raise
        deadline = time.monotonic() + 5
        while ids and time.monotonic() < deadline:
            cur.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID IN (" +
                        ", ".join(str(int(i)) for i in ids) + ")")
            if cur.fetchone()[0] == 0:
                break
            time.sleep(0.05)
        return ended

    def _ended_after(self, cur, user: str, host: str) -> int:
        """The connections ended after a change the server has taken: a
        failure here must not report the change as refused."""
        if not self.process:
            return 0
        try:
            return self._end(cur, self._connections(cur, user, host))
        except pymysql.err.MySQLError:
            return 0

    def write_credential(self, username: str, credential: Credential, *,
                         expires_at: datetime | None | str = "keep") -> int:
        """ALTER USER … IDENTIFIED WITH mysql_native_password AS '<hash>'
        [PASSWORD EXPIRE INTERVAL n DAY | NEVER], then end the account's open
        connections (signed in with the old password)."""
        lifetime = "" if expires_at == "keep" else self._lifetime_clause(
            None if expires_at is None else self._days_until(expires_at))

        def body(cur, sent):
            user, host, row = self._existing(cur, username)
            if (row[5] or NATIVE) != NATIVE:
                raise StoreError(f"{username} authenticates with {row[5]}: userdesk writes mysql_native_password "
                                 "hashes only")
            stmt, args = self.password_statement(user, host, credential.value, lifetime)
            sent.append(True)
            cur.execute(stmt, args)
            return self._ended_after(cur, user, host)
        return self._run(body, changing=True, secrets=(credential.value,))

    def _alter(self, username: str, clause: str, *, end: bool = False) -> int:
        def body(cur, sent):
            user, host, _row = self._existing(cur, username)
            sent.append(True)
            cur.execute("ALTER USER %s@%s " + clause, (user, host))
            return self._ended_after(cur, user, host) if end else 0
        return self._run(body, changing=True)

    def set_blocked(self, username: str, blocked: bool) -> int:
        """ACCOUNT LOCK (then its open connections end: the server keeps them) or ACCOUNT UNLOCK."""
        return self._alter(username, "ACCOUNT LOCK" if blocked else "ACCOUNT UNLOCK", end=blocked)

    def require_change(self, username: str) -> None:
        self._alter(username, "PASSWORD EXPIRE")

    def set_expiry(self, username: str, when: datetime | None) -> None:
        """Now (or past): PASSWORD EXPIRE; None: PASSWORD EXPIRE NEVER. A
        future date is refused: MySQL's expiry is a lifetime counted from the
        password's last change, set with a new password's expiry days."""
        if when is None:
            self._alter(username, "PASSWORD EXPIRE NEVER")
        elif when <= self._clock() + timedelta(seconds=1):
            self._alter(username, "PASSWORD EXPIRE")
        else:
            raise StoreError("MariaDB's password expiry is a lifetime counted from the last change, not a date: "
                             "set it with a new password's expiry days (PASSWORD EXPIRE INTERVAL n DAY)")

    def expected_expiry(self, when: datetime | None) -> str:
        if when is None:
            return "never"
        return "expired" if when <= self._clock() + timedelta(seconds=1) else "unsupported"

    def end_sessions(self, username: str) -> int:
        def body(cur, sent):
            user, host, _row = self._existing(cur, username)
            if not self.process:
                raise self._no_process(username)
            ids = self._connections(cur, user, host)
            sent.append(True)
            return self._end(cur, ids)
        return self._run(body, changing=True)

    def delete(self, username: str) -> int:
        """DROP USER; the account's open connections (which the server keeps) end after."""
        def body(cur, sent):
            user, host, _row = self._existing(cur, username)
            ids = self._connections(cur, user, host) if self.process else []
            sent.append(True)
            cur.execute("DROP USER %s@%s", (user, host))
            try:
                return self._end(cur, ids)
            except pymysql.err.MySQLError:
                return 0
        return self._run(body, changing=True)

    def _settled(self, cur) -> bool:
        """Whether no other connection of the store's own account is open
        (waiting up to 3 s for them to end). The server finishes a statement
        whose client died after sending it, so while a killed console's
        connection is still there its ALTER USER may yet land: what the
        server shows is not the answer yet."""
        deadline = time.monotonic() + 3
        while True:
            cur.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = %s "
                        "AND ID <> CONNECTION_ID()", (self.current_user.rsplit("@", 1)[0],))
            if cur.fetchone()[0] == 0:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def probe(self, username: str, change: str) -> str | None:
        """``credential``: a digest of the stored hash; ``blocked``: ACCOUNT
        LOCK or not; ``must_change``: PASSWORD EXPIRE or not; ``expiry``:
        ``expired``, ``never``, ``default`` or the lifetime; ``deleted``:
        whether the account is gone; ``sessions``: whether any is open.
        None (cannot tell yet) while another connection of the store's own
        account is open: its change may still land."""
        parts = split_account(username)
        if parts is None:
            return None

        def body(cur):
            if not self._settled(cur):
                return None
            row = self._row(cur, *parts)
            if change == "deleted":
                return "deleted" if row is None else "present"
            if row is None:
                return None
            priv = json.loads(row[8] or "{}")
            if change == "credential":
                return _probe(row[6])
            if change == "blocked":
                return "blocked" if _blocked(priv) else "active"
            if change == "must_change":
                return "required" if _expired(priv) else "not required"
            if change == "expiry":
                if _expired(priv):
                    return "expired"
                life = priv.get("password_lifetime", -1)
                return "never" if life == 0 else "default" if life is None or life < 0 else f"{life} days"
            if change == "sessions":
                if not self.process:
                    return None
                return "some" if self._connections(cur, *parts) else "none"
            return None
        return self._run(body)

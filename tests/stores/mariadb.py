"""A throwaway MariaDB server for the mysql-users store's tests, from Debian's
``mariadb-server`` (``mariadb-install-db``, ``/usr/sbin/mariadbd``): a data
directory in a temporary directory, a server on 127.0.0.1 on a free port
(``--skip-name-resolve``: accounts are ``user@127.0.0.1``), its general query
log and binary log on (the tests read what the server logged), stopped and deleted at the end
of the run. Started lazily by the first test that needs it (a session fixture:
under pytest-xdist each worker starts its own).

``USERDESK_TEST_MARIADB``: unset or ``auto``: skip the tests with a message
when the programs are absent; ``required`` (CI): a server that cannot start
fails the tests; ``off``: skip them.

Accounts per test carry a unique prefix and are dropped after."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pymysql
import pytest

from console.config import Settings
from console.services.context import ServiceContext
from desks import operator  # noqa: F401  (the tests take it from here)
from ports import free_port

ENV = "USERDESK_TEST_MARIADB"
MARIADBD = os.environ.get("USERDESK_MARIADBD", "/usr/sbin/mariadbd")


class MariaDBUnavailable(RuntimeError):
    pass


@dataclass
class Server:
    port: int
    root: Path
    proc: subprocess.Popen
    version: str = ""

    @property
    def socket(self) -> str:
        return str(self.root / "sock")

    @property
    def general_log(self) -> Path:
        return self.root / "general.log"

    def binlog_text(self) -> str:
        """Every statement in the server's binary logs (SHOW BINLOG EVENTS)."""
        out = []
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute("SHOW BINARY LOGS")
            for name, *_ in cur.fetchall():
                cur.execute(f"SHOW BINLOG EVENTS IN '{name}'")
                out += [str(row[-1]) for row in cur.fetchall()]
        return "\n".join(out)

    def admin(self) -> pymysql.connections.Connection:
        """root over the server's socket (no password: --auth-root-authentication-method=normal)."""
        return pymysql.connect(unix_socket=self.socket, user="root", autocommit=True, charset="utf8mb4")

    def sql(self, stmt: str, args=None):
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(stmt, args)
            return cur.fetchall()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


def _start() -> Server:
    install = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
    if not (os.access(MARIADBD, os.X_OK) and os.access(install, os.X_OK)):
        raise MariaDBUnavailable(f"no MariaDB server programs ({MARIADBD}, mariadb-install-db): "
                                 "apt-get install mariadb-server")
    root = Path(tempfile.mkdtemp(prefix="userdesk-mariadb-"))
    user = getpass.getuser()
    data = root / "data"
    done = subprocess.run([install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                           f"--user={user}", "--skip-test-db"], capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise MariaDBUnavailable(f"mariadb-install-db failed: {(done.stderr or done.stdout)[-800:]}")
    last = ""
    for _attempt in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={data}", f"--socket={root / 'sock'}", f"--port={port}",
             "--bind-address=127.0.0.1", f"--user={user}", f"--log-bin={root / 'binlog'}", "--server-id=1",
             "--skip-name-resolve",
             f"--pid-file={root / 'mariadbd.pid'}", f"--log-error={root / 'error.log'}", "--general-log=1",
             f"--general-log-file={root / 'general.log'}", "--innodb-buffer-pool-size=32M",
             "--max-connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = Server(port, root, proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                server.version = server.sql("SELECT VERSION()")[0][0]
                return server
            except pymysql.err.MySQLError:
                time.sleep(0.2)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log = root / "error.log"
        last = log.read_text(errors="replace")[-800:] if log.exists() else ""
    shutil.rmtree(root, ignore_errors=True)
    raise MariaDBUnavailable(f"mariadbd did not start: {last}")


@pytest.fixture(scope="session")
def mariadb_server():
    mode = os.environ.get(ENV, "auto").lower()
    if mode == "off":
        pytest.skip(f"the mysql-users store's tests are off ({ENV}=off)")
    try:
        server = _start()
    except MariaDBUnavailable as exc:
        if mode == "required":
            pytest.fail(f"{ENV}=required, and MariaDB could not start: {exc}", pytrace=False)
        pytest.skip(f"the mysql-users store is tested on a real MariaDB server: {exc} ({ENV}=required fails instead)")
    yield server
    server.stop()


class Accounts:
    """Accounts on the server for one test, all named ``prefix + name`` at 127.0.0.1."""

    HOST = "127.0.0.1"

    def __init__(self, server: Server, prefix: str) -> None:
        self.server, self.prefix = server, prefix

    def name(self, short: str, host: str = HOST) -> str:
        return f"{self.prefix}{short}@{host}"

    def make(self, short: str, password: str | None = "an old password 1", *, host: str = HOST,
             grant: str | None = None, options: str = "") -> str:
        user = self.prefix + short
        with self.server.admin() as conn, conn.cursor() as cur:
            cur.execute("CREATE USER %s@%s" + (" IDENTIFIED BY %s" if password is not None else "") + " " + options,
                        (user, host, password) if password is not None else (user, host))
            if grant:
                cur.execute(f"GRANT {grant} TO %s@%s", (user, host))
        return f"{user}@{host}"

    def connect(self, name: str, password: str) -> pymysql.connections.Connection:
        user, _, _host = name.rpartition("@")
        return pymysql.connect(host="127.0.0.1", port=self.server.port, user=user, password=password,
                               connect_timeout=10, autocommit=True)

    def signs_in(self, name: str, password: str) -> bool:
        try:
            with self.connect(name, password) as conn, conn.cursor() as cur:
                cur.execute("SELECT CURRENT_USER()")
                return cur.fetchone()[0] == name
        except pymysql.err.OperationalError:
            return False

    def priv(self, name: str) -> dict | None:
        import json

        user, _, host = name.rpartition("@")
        rows = self.server.sql("SELECT Priv FROM mysql.global_priv WHERE User = %s AND Host = %s", (user, host))
        return json.loads(rows[0][0]) if rows else None

    def drop_all(self) -> None:
        with self.server.admin() as conn, conn.cursor() as cur:
            cur.execute("SELECT User, Host FROM mysql.global_priv WHERE User LIKE %s",
                        (self.prefix.replace("_", "\\_") + "%",))
            for user, host in cur.fetchall():
                cur.execute("DROP USER IF EXISTS %s@%s", (user, host))
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER LIKE %s",
                        (self.prefix.replace("_", "\\_") + "%",))
            for (pid,) in cur.fetchall():
                try:
                    cur.execute("KILL CONNECTION %s", (pid,))
                except pymysql.err.MySQLError:
                    pass


@pytest.fixture
def accounts_on(mariadb_server):
    a = Accounts(mariadb_server, f"ud{uuid.uuid4().hex[:8]}_")
    yield a
    a.drop_all()


ADMIN_PASSWORD = "the admin's password 1"


@pytest.fixture
def store_admin(accounts_on) -> str:
    """The store's connection account: all privileges, with GRANT OPTION."""
    return accounts_on.make("admin", ADMIN_PASSWORD, grant="ALL PRIVILEGES ON *.*", options="")


def grant_option(accounts: Accounts, name: str) -> None:
    user, _, host = name.rpartition("@")
    accounts.server.sql("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (user, host))


def store_url(server: Server, name: str, password: str | None = ADMIN_PASSWORD) -> str:
    user = name.rpartition("@")[0]
    auth_part = quote(user, safe="") + (":" + quote(password, safe="") if password is not None else "")
    return f"mysql+pymysql://{auth_part}@127.0.0.1:{server.port}/mysql"


def my_settings(tmp_path, server: Server, name: str, **kw) -> Settings:
    return Settings(store="mysql-users", database_url=store_url(server, name),
                    desk_url=f"sqlite:///{tmp_path / 'desk.db'}", **kw)


@pytest.fixture
def make_mctx(tmp_path, mariadb_server, open_desk):
    def make(name: str, **kw) -> ServiceContext:
        return open_desk(my_settings(tmp_path, mariadb_server, name, **kw))

    return make


@pytest.fixture
def mctx(make_mctx, accounts_on, store_admin):
    """A context on the mysql-users store (an ALL PRIVILEGES … WITH GRANT OPTION connection), its desk made."""
    grant_option(accounts_on, store_admin)
    return make_mctx(store_admin)



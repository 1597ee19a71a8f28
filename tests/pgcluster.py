"""A throwaway PostgreSQL cluster for the test run, started by the tests' own
setup: ``initdb`` into a temporary directory, a server on loopback on a free
port (socket in that directory), stopped and deleted when the run ends.

``USERDESK_TEST_POSTGRES`` decides:

- unset or ``auto``: start one when PostgreSQL's server programs are found
  (on PATH, or Debian's /usr/lib/postgresql/<version>/bin), else SQLite only;
- ``off``: SQLite only;
- ``required``: start one, and fail the run if that is not possible;
- a ``postgresql+psycopg://…`` URL: use that server (its user must be able
  to create databases) instead of starting one.

As root, the server runs as the ``postgres`` system user (PostgreSQL refuses
to run as root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ports import free_port

ENV = "USERDESK_TEST_POSTGRES"


class PostgresUnavailable(RuntimeError):
    pass


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


@dataclass
class Cluster:
    """A running server: ``url(db)`` for SQLAlchemy, ``admin()`` for psycopg."""

    host: str
    port: int
    user: str
    password: str | None = None
    datadir: Path | None = None
    owner: str | None = None  # the system user the server runs as, when started as root
    version: str = ""
    options: str = ""  # the server's command-line options, to start it again

    @property
    def owned(self) -> bool:
        """Started by this run (so a test may stop and start it)."""
        return self.datadir is not None

    def pause(self) -> None:
        """Stop the server (fast shutdown: every connection is cut)."""
        _run([_bin("pg_ctl") or "pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"], self.owner)

    def resume(self) -> None:
        """Start it again, on the same port."""
        _run([_bin("pg_ctl") or "pg_ctl", "-D", str(self.datadir), "-o", self.options, "-l",
              str(self.datadir.parent / "server.log"), "-w", "-t", "60", "start"], self.owner)
        _server_version(self)

    def check_passwords_of(self, group: str) -> bool:
        """Make the server check passwords (SCRAM-SHA-256) on loopback TCP
        for the members of role ``group``, ahead of the cluster's ``trust``
        for everyone else: a line at the top of pg_hba.conf, then a reload.
        Only for a cluster this run started (False otherwise)."""
        if self.datadir is None:
            return False
        hba = self.datadir / "pg_hba.conf"
        line = f"host all +{group} 127.0.0.1/32 scram-sha-256\n"
        text = hba.read_text()
        if line not in text:
            hba.write_text(line + text)
            with self.admin() as conn:
                conn.execute("SELECT pg_reload_conf()")
            time.sleep(0.3)  # the postmaster rereads it on SIGHUP
        return True

    @property
    def log_path(self) -> Path | None:
        """The server's log (stderr), for a cluster this run started."""
        return None if self.datadir is None else self.datadir.parent / "server.log"

    def url(self, database: str) -> str:
        auth = self.user if self.password is None else f"{self.user}:{self.password}"
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname="postgres", autocommit=True)

    def stop(self) -> None:
        if self.datadir is None:
            return
        _run([_bin("pg_ctl") or "pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop"], self.owner,
             check=False)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)
        self.datadir = None


def _run(cmd: list[str], owner: str | None, *, check: bool = True) -> subprocess.CompletedProcess:
    if owner is not None:
        cmd = ["runuser", "-u", owner, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)


def start(settings: str = "") -> Cluster:
    """Start a cluster of our own; PostgresUnavailable if it cannot be done.
    ``settings``: more of the server's command-line options (the benchmarks:
    ``-c shared_buffers=…``)."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise PostgresUnavailable("PostgreSQL's initdb/pg_ctl were not found (Debian: apt-get install postgresql)")
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as") from None
        owner = "postgres"
    base = Path(tempfile.mkdtemp(prefix="userdesk-pg-"))
    datadir = base / "data"
    if owner is not None:
        shutil.chown(base, owner)
    port = free_port()
    try:
        _run([initdb, "-D", str(datadir), "-U", "userdesk", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
              "--no-sync"], owner)
        # Durability off: a test cluster never outlives its run.
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off "
                   f"-c full_page_writes=off -c max_connections=200 {settings}").strip()
        _run([pg_ctl, "-D", str(datadir), "-o", options, "-l", str(base / "server.log"), "-w", "-t", "60", "start"],
             owner)
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        shutil.rmtree(base, ignore_errors=True)
        raise PostgresUnavailable(f"could not start a PostgreSQL cluster: {detail.strip()[-500:]}") from None
    cluster = Cluster(host="127.0.0.1", port=port, user="userdesk", datadir=datadir, owner=owner, options=options)
    cluster.version = _server_version(cluster)
    return cluster


def _server_version(cluster: Cluster) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with cluster.admin() as conn:
                return conn.execute("SHOW server_version").fetchone()[0]
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise


def from_env() -> Cluster | None:
    """The cluster the run should use, per USERDESK_TEST_POSTGRES (None: SQLite only)."""
    choice = os.environ.get(ENV, "auto").strip()
    if choice == "off":
        return None
    if "://" in choice:
        from sqlalchemy.engine import make_url

        u = make_url(choice)
        cluster = Cluster(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                          password=u.password)
        cluster.version = _server_version(cluster)
        return cluster
    try:
        return start()
    except PostgresUnavailable:
        if choice == "required":
            raise
        return None

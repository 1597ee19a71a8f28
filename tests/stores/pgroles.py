"""The postgres-roles store's test fixtures, on the run's PostgreSQL cluster
(tests/pgcluster.py): roles with a unique prefix per test, dropped after; an
admin role for the store's connection; the server made to check passwords
(SCRAM-SHA-256 on 127.0.0.1) for the test roles, so that a sign-in proves the
password, which the cluster's ``trust`` would not."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from psycopg import sql

from console.config import Settings
from console.services.context import ServiceContext

from desks import operator  # noqa: F401  (the tests take it from here)

#: Members of this role sign in with a checked password (pg_hba.conf, first line).
CHECKED = "userdesk_pw_checked"


class Roles:
    """Roles on the cluster for one test, all named ``prefix + name``."""

    def __init__(self, cluster, prefix: str) -> None:
        self.cluster, self.prefix = cluster, prefix
        self.made: list[str] = []

    def name(self, short: str) -> str:
        return self.prefix + short

    def admin(self) -> psycopg.Connection:
        return self.cluster.admin()

    def make(self, short: str, password: str | None = "an old password 1", *, options: str = "LOGIN",
             encryption: str = "scram-sha-256") -> str:
        name = self.name(short)
        with self.admin() as conn:
            conn.execute(sql.SQL("SET password_encryption = {}").format(sql.Literal(encryption)))
            conn.execute(sql.SQL("CREATE ROLE {} " + options + (" PASSWORD {}" if password is not None else ""))
                         .format(sql.Identifier(name), sql.Literal(password)))
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(CHECKED), sql.Identifier(name)))
        self.made.append(name)
        return name

    def connect(self, name: str, password: str | None) -> psycopg.Connection:
        """Sign in as ``name`` over TCP on 127.0.0.1, where the server checks the password."""
        return psycopg.connect(host="127.0.0.1", port=self.cluster.port, user=name, password=password or "",
                               dbname="postgres", connect_timeout=10, autocommit=True)

    def signs_in(self, name: str, password: str | None) -> bool:
        try:
            with self.connect(name, password) as conn:
                return conn.execute("SELECT current_user").fetchone()[0] == name
        except psycopg.OperationalError:
            return False

    def row(self, name: str):
        with self.admin() as conn:
            return conn.execute("SELECT rolcanlogin, rolvaliduntil::text, rolpassword FROM pg_authid "
                                "WHERE rolname = %s", [name]).fetchone()

    def drop_all(self) -> None:
        with self.admin() as conn:
            rows = conn.execute("SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", [self.prefix]).fetchall()
            for (name,) in rows:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [name])
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            for (name,) in rows:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def pg_cluster(request):
    cluster = request.config.userdesk_pg
    if cluster is None:
        pytest.skip("the postgres-roles store is tested on the run's PostgreSQL cluster: none here "
                    "(USERDESK_TEST_POSTGRES=off, or no PostgreSQL server programs)")
    if not cluster.owned:
        pytest.skip("the postgres-roles tests change pg_hba.conf to check passwords: they need a cluster this run "
                    "started, not USERDESK_TEST_POSTGRES=URL")
    with cluster.admin() as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [CHECKED]).fetchone() is None:
            try:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(CHECKED)))
            except psycopg.errors.DuplicateObject:
                pass
    cluster.check_passwords_of(CHECKED)
    return cluster


@pytest.fixture
def roles(pg_cluster):
    r = Roles(pg_cluster, f"ud{uuid.uuid4().hex[:8]}_")
    # The server checks passwords for the test roles (not trust): a wrong one is refused.
    probe = r.make("probe", "the right password 1")
    deadline = time.monotonic() + 10
    while r.signs_in(probe, "a wrong password"):
        assert time.monotonic() < deadline, "pg_hba.conf's scram-sha-256 line was not loaded"
        time.sleep(0.1)
    assert r.signs_in(probe, "the right password 1")
    yield r
    r.drop_all()


@pytest.fixture
def store_admin(roles):
    """The store's connection role: a superuser whose statements the server
    logs (log_statement = all, for that role only)."""
    name = roles.name("admin")
    with roles.admin() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(sql.Identifier(name)))
        conn.execute(sql.SQL("ALTER ROLE {} SET log_statement = 'all'").format(sql.Identifier(name)))
    return name


def store_url(cluster, user: str) -> str:
    return f"postgresql+psycopg://{user}@{cluster.host}:{cluster.port}/postgres"


def pg_settings(tmp_path, cluster, user: str, **kw) -> Settings:
    return Settings(store="postgres-roles", database_url=store_url(cluster, user),
                    desk_url=f"sqlite:///{tmp_path / 'desk.db'}", **kw)


@pytest.fixture
def make_pctx(tmp_path, pg_cluster, open_desk):
    def make(user: str, **kw) -> ServiceContext:
        return open_desk(pg_settings(tmp_path, pg_cluster, user, **kw))

    return make


@pytest.fixture
def pctx(make_pctx, store_admin):
    """A context on the postgres-roles store (a superuser connection), its desk made."""
    return make_pctx(store_admin)



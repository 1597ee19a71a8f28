"""Shared fixtures: a throw-away database, a controllable clock, a service
context with the cheapest argon2 parameters, and operators to act as.

Every test that uses a database runs twice when PostgreSQL is available (see
tests/pgcluster.py): ``[sqlite]`` on its own file, ``[postgresql]`` on its own
database in a cluster the run starts. ``@pytest.mark.sqlite_only`` marks a test
of a SQLite mechanism (its full-text index, its driver trace),
``@pytest.mark.postgresql_only`` one of a server (stopped, connections cut).
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import pytest
import typer.testing
from sqlalchemy import event, inspect, text

from console import db
from console.config import Settings
from console.models import LOCAL_SOURCE
from console.security.hashing import Argon2Params
from console.services import audit, auth, prepared, users
from console.services.context import Actor, ServiceContext
from console.services.views import AuditView, PasswordResult
import pgcluster as postgres
import pgpool

# Textual's Pilot waits for "idle" after every key and pause: it sleeps 20 ms at
# a time until a sleep passes with under 1 ms of the process's CPU
# (textual._wait). A screen draws what changed on a timer, 60 times a second
# (textual.screen.UPDATE_PERIOD). A fifth of the console tests' time was that
# sleep, the event loop idle with nothing left to do. Here the sleep is 4 ms
# (idle if under 0.2 ms of CPU) and a frame is drawn every 8 ms. The frame
# must come that soon: with 4 ms sleeps and 60 frames a second, the idle wait
# ended before the frame a test then read was drawn. The tests still wait for
# what they check (tests/tui/conftest.py: Tui.wait_for, wait_screen, drawn).
# Measured with `pytest tests/tui tests/snapshots`, 3 workers, 2 cores,
# interleaved: 183-199 s before, 157-162 s after.
import textual._wait  # noqa: E402
import textual.screen  # noqa: E402

if hasattr(textual._wait, "SLEEP_GRANULARITY") and hasattr(textual.screen, "UPDATE_PERIOD"):
    textual._wait.SLEEP_GRANULARITY = 1 / 250
    textual._wait.SLEEP_IDLE = textual._wait.SLEEP_GRANULARITY / 20
    textual.screen.UPDATE_PERIOD = 2 * textual._wait.SLEEP_GRANULARITY


class Clock:
    """A clock a test can move: ``clock.advance(minutes=16)``.

    ``ServiceContext.clock`` is called for "now"; this returns ``clock.now``,
    which starts at the real UTC time when the fixture is created."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        """Move forward by ``timedelta(**kwargs)``; returns the new time."""
        self.now = self.now + timedelta(**kwargs)
        return self.now

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("Clock.set needs an aware datetime")
        self.now = when
        return self.now


class Operator(NamedTuple):
    """A signed-in operator and the password it signed in with."""

    actor: Actor
    password: str


SYSTEM = Actor.system("test")


def _command_once(get_command):
    """Typer builds an app's click command (every parameter of every command,
    from its annotations) on each ``CliRunner.invoke``: about 60 ms, which a
    process of the real CLI pays once. The tests build it once per app."""
    built: dict[int, object] = {}

    def command(app):
        if id(app) not in built:
            built[id(app)] = (app, get_command(app))  # the app kept alive, so its id is not reused
        return built[id(app)][1]

    return command


typer.testing._get_command = _command_once(typer.testing._get_command)


def _no_fsync(dbapi_conn, _record) -> None:
    """SQLite: a test's commit is not synced to the disk (a millisecond each
    here, under WAL's synchronous=FULL), as the test cluster runs PostgreSQL
    with fsync off (tests/pgcluster.py). A killed process loses nothing by it;
    only a crash of the machine would. `pytest tests/services/test_services_errors.py
    tests/services/test_services_users.py -n0 -k sqlite`: 9.0-9.5 s, 6.3-6.5 s with this."""
    dbapi_conn.execute("PRAGMA synchronous=OFF")


def _one_dialect_per_driver(make_engine):
    """SQLAlchemy keeps the statements it compiled in a cache of each engine,
    keyed by the engine's dialect object. The console makes one engine per
    process and compiles each statement once; the tests make one per test, so
    each test compiled every statement it ran again: a fifth of a services
    test's time (`pytest tests/services/test_services_permissions.py -n0 -k
    sqlite`: 13.9 s, 11.1 s with this). Engines of one driver here share the
    dialect (same version, same arguments: db.make_engine's) and the cache of
    the first whose first connection initialized its dialect, as the
    statements of one process do; until one has, each keeps its own. A
    SQLite engine's connections do not sync each commit to the disk
    (_no_fsync)."""
    ready: dict[tuple[str, str], tuple] = {}  # (dialect, cache) by (dialect, driver)

    def make(url, **kw):
        engine = make_engine(url, **kw)
        key = (engine.dialect.name, engine.dialect.driver)
        if key in ready:
            engine.dialect = engine.pool._dialect = ready[key][0]
            engine._compiled_cache = ready[key][1]
        else:
            own = (engine.dialect, engine._compiled_cache)
            # After create_engine's own first "connect" listener, which initializes the dialect: a connection
            # that fails there (a server cut in the middle) never shares a half-initialized one.
            event.listen(engine, "connect", lambda *_: ready.setdefault(key, own), once=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _no_fsync)
        return engine

    return make


db.make_engine = _one_dialect_per_driver(db.make_engine)


@pytest.fixture(autouse=True)
def _statements_prepared_afresh(monkeypatch):
    """The statements services/prepared.py keeps, per dialect, start empty
    for each test, as when each test's engine had a dialect of its own: a
    test that changes a constant a statement holds as a literal (COUNT_CAP,
    KEY_FROM…) leaves nothing behind for the next."""
    monkeypatch.setattr(prepared, "_cache", type(prepared._cache)())


TEMPLATE = "userdesk_template"
#: A copy of TEMPLATE migrated to this console's schema: what a test's
#: database starts from when the test asks for ``ctx`` (which migrates it
#: anyway), so the migrations run once per worker rather than once per test.
MIGRATED = "userdesk_template_migrated"


def _xdist_controller(config) -> bool:
    """The process that hands tests to pytest-xdist's workers (and runs none):
    each worker starts a cluster of its own (a test may stop its server)."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test of a SQLite-only mechanism")
    config.addinivalue_line("markers", "postgresql_only: a test of a database server (stopped, connections cut)")
    config.addinivalue_line("markers", "settings(**values): settings the test's database context is made with")
    config.userdesk_pg = None
    config.userdesk_pg_pool = None
    if _xdist_controller(config):
        return
    cluster = postgres.from_env()
    config.userdesk_pg = cluster
    if cluster is not None:
        with cluster.admin() as conn:  # each test's database is a copy of this one
            conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        with postgres.psycopg.connect(cluster.url(TEMPLATE).replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        with cluster.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {MIGRATED}")
            conn.execute(f"CREATE DATABASE {MIGRATED} TEMPLATE {TEMPLATE}")
        _migrate(cluster.url(MIGRATED))
        config.userdesk_pg_pool = pgpool.Pool(cluster, [MIGRATED, TEMPLATE])


def _migrate(url: str) -> None:
    """Bring the database at ``url`` to this console's schema, as ``ctx`` does."""
    engine = db.make_engine(url)
    try:
        db.create_schema(engine)
    finally:
        engine.dispose()


#: What the crash tests' workers import (tests/crash_worker.py,
#: tests/stores/crash_worker_store.py), imported once by the forker.
CRASH_WORKER_IMPORTS = (
    "console.config", "console.security.hashing", "console.security.blocklist:common_words",
    "console.services.accounts", "console.services.auth", "console.services.context", "console.services.passwords",
    "console.services.tickets", "console.stores.django", "console.stores.ldap", "console.stores.mysql_users",
    "console.stores.postgres_roles", "console.stores.redis_acl",
)


@pytest.fixture(scope="session")
def forker():
    """Starts the crash tests' workers, each a process forked from one that
    has imported what they import (tests/forker.py): a start costs a fork, not
    half a second of imports."""
    from forker import Forker

    f = Forker(CRASH_WORKER_IMPORTS)
    yield f
    f.close()


@pytest.fixture(scope="session")
def sqlite_migrated(tmp_path_factory) -> Path:
    """A SQLite file at this console's schema, copied for each test that asks
    for ``ctx`` (as MIGRATED is on PostgreSQL)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    _migrate(f"sqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists()  # every page in the file itself
    return path


def pytest_unconfigure(config) -> None:
    pool = getattr(config, "userdesk_pg_pool", None)
    cluster = getattr(config, "userdesk_pg", None)
    try:
        if pool is not None:
            pool.close()
    finally:
        if cluster is not None:
            cluster.stop()


def pytest_sessionfinish(session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a worker tells the controller what it ran against
        cluster = session.config.userdesk_pg
        workeroutput["userdesk_databases"] = f"databases: SQLite and PostgreSQL {cluster.version}" if cluster \
            else f"databases: SQLite only ({postgres.ENV}=auto found no PostgreSQL, or off)"
        pool = session.config.userdesk_pg_pool
        if pool is not None:
            workeroutput["userdesk_pg_pool"] = pool.counts()


def pytest_testnodedown(node, error) -> None:
    output = getattr(node, "workeroutput", {})
    said = output.get("userdesk_databases")
    if said:
        node.config.userdesk_said = sorted({*getattr(node.config, "userdesk_said", ()), said})
    counts = output.get("userdesk_pg_pool")
    if counts:
        node.config.userdesk_pool_counts = [a + b for a, b in zip(getattr(node.config, "userdesk_pool_counts",
                                                                          [0, 0, 0]), counts)]


def pytest_terminal_summary(terminalreporter, config) -> None:
    for line in getattr(config, "userdesk_said", ()):
        terminalreporter.write_line(f"{line} (a cluster per worker)" if "PostgreSQL " in line else line)
    pool = getattr(config, "userdesk_pg_pool", None)
    counts = pool.counts() if pool is not None \
        else getattr(config, "userdesk_pool_counts", None)
    if counts:
        terminalreporter.write_line("PostgreSQL test databases (tests/pgpool.py): {} copied from a template, "
                                    "{} reused, {} dropped".format(*counts))


def pytest_report_header(config) -> str:
    cluster = getattr(config, "userdesk_pg", None)
    if _xdist_controller(config):
        return "databases: each worker starts its own (the summary at the end says which)"
    if cluster is None:
        return f"databases: SQLite only ({postgres.ENV}=auto found no PostgreSQL, or off)"
    return f"databases: SQLite and PostgreSQL {cluster.version} on {cluster.host}:{cluster.port}"


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: half as many workers again as there are cores. A test
    spends about half its time waiting (on a database server, on the console's
    screen to settle, on a store's server), which a third worker on two cores
    fills: 6 min 23 s instead of 7 min 36 s here. (``PYTEST_XDIST_AUTO_NUM_WORKERS``
    sets the number outright.)"""
    import math
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, math.ceil(cores * 1.5))


#: Seconds each test file took (tests/durations.json: ``pytest --durations=0``'s
#: setup, call and teardown times summed per file, from a run on a quiet 2-core
#: machine); a file not in it counts as its tests times its directory's typical
#: test (a TUI test drives an app through its screens, a security test checks
#: a function).
_DURATIONS = Path(__file__).with_name("durations.json")
_PER_TEST = {"tui": 2.0, "snapshots": 3.0, "stores": 1.1, "cli": 0.5, "services": 0.25, "security": 0.02}


def pytest_collection_modifyitems(config, items) -> None:
    """The slowest files first. pytest-xdist hands each worker a whole file at
    a time (``--dist loadfile``); with a long file (the TUI's take minutes) at
    the end, one worker would run the last of it while the other idled, so the
    long ones go first and the many short ones fill in at the end
    (``--no-loadscope-reorder`` keeps this order rather than one by number of
    tests). Only the order changes: every test runs."""
    import json

    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    measured = json.loads(_DURATIONS.read_text()) if _DURATIONS.exists() else {}

    def cost(path: str) -> float:
        parts = path.split("/")
        return measured.get(path, len(files[path]) * _PER_TEST.get(parts[1] if len(parts) > 2 else "", 0.25))

    items[:] = [item for path in sorted(files, key=cost, reverse=True) for item in files[path]]


def pytest_generate_tests(metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        has_pg = metafunc.config.userdesk_pg is not None
        if metafunc.definition.get_closest_marker("postgresql_only"):
            backends = ["postgresql" if has_pg else pytest.param(
                "postgresql", marks=pytest.mark.skip(reason=f"no PostgreSQL ({postgres.ENV})"))]
        else:
            backends = ["sqlite"]
            if has_pg and not metafunc.definition.get_closest_marker("sqlite_only"):
                backends.append("postgresql")
        metafunc.parametrize("backend", backends, scope="function")


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    """Every test has its own platform data directory: audit keys, desks and
    the demo database are made there, never in the real one."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    for name in ("USERDESK_AUDIT_KEY", "USERDESK_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def backend(request) -> str:
    return request.param


@pytest.fixture
def outage(request, backend):
    """``with outage():`` the PostgreSQL server is down for the body (every
    connection cut), then up again on the same port. Only for a cluster this
    run started."""
    cluster = request.config.userdesk_pg
    if backend != "postgresql" or cluster is None or not cluster.owned:
        pytest.skip("needs a PostgreSQL server this run started")

    @contextlib.contextmanager
    def down():
        cluster.pause()
        try:
            yield
        finally:
            cluster.resume()

    return down


@pytest.fixture
def settings(tmp_path, backend, request) -> Settings:
    """The test database's settings, defaults otherwise; a test that assumes
    other values says so: ``@pytest.mark.settings(password_expiry_days=760)``."""
    marker = request.node.get_closest_marker("settings")
    extra = dict(marker.kwargs) if marker else {}
    migrated = "ctx" in request.fixturenames  # ctx would migrate it: start from a migrated copy
    if backend == "sqlite":
        path = tmp_path / "t.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_migrated"), path)
        yield Settings(database_url=f"sqlite:///{path}", **extra)
        return
    pool = request.config.userdesk_pg_pool  # a fresh copy, or one emptied back to it (tests/pgpool.py)
    name = pool.take(MIGRATED if migrated else TEMPLATE)
    yield Settings(database_url=request.config.userdesk_pg.url(name), **extra)
    pool.give_back(name)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_ctx(settings, clock):
    """Build another context on the same database and clock, e.g. with other
    settings (``make_ctx(read_only=True)``) or other argon2 parameters
    (``make_ctx(argon2_params=Argon2Params(...))``). Engines are disposed at teardown."""
    made: list[ServiceContext] = []

    def _make(*, argon2_params: Argon2Params | None = None, **setting_updates) -> ServiceContext:
        # Validated, as a config file's values would be.
        s = Settings.model_validate({**dict(settings), **setting_updates}) if setting_updates else settings
        c = ServiceContext.from_settings(s, argon2_params=argon2_params or Argon2Params.cheapest(), clock=clock)
        made.append(c)
        return c

    yield _make
    for c in made:
        c.engine.dispose()


@pytest.fixture
def ctx(settings, clock) -> ServiceContext:
    c = ServiceContext.from_settings(settings, argon2_params=Argon2Params.cheapest(), clock=clock)
    db.create_schema(c.engine)
    yield c
    c.engine.dispose()


@pytest.fixture
def system_actor() -> Actor:
    """The console itself (``init``/``demo``): may do everything, never blocked."""
    return SYSTEM


@pytest.fixture
def make_user(ctx):
    """Create a user through the service layer as the system actor.

    ``make_user()`` gives a member with a generated password (no forced change);
    ``make_user("bob", role="admin")``, ``make_user(source="okta")`` (external,
    no password), ``make_user(must_change=True)``. Returns the ``PasswordResult``
    (``.user`` is the view, ``.password.reveal()`` the password, None if external)."""
    counter = itertools.count(1)

    def _make(
        username: str | None = None,
        *,
        role: str = "member",
        source: str = LOCAL_SOURCE,
        must_change: bool = False,
        email: str | None = None,
        display_name: str | None = None,
    ) -> PasswordResult:
        name = username or f"{role}{next(counter)}"
        return users.create_user(
            ctx,
            SYSTEM,
            name,
            email=email,
            display_name=display_name,
            role=role,
            source=source,
            must_change=must_change,
        )

    return _make


@pytest.fixture
def make_operator(ctx, make_user):
    """Create an operator account and sign it in with its password: returns
    ``Operator(actor, password)``."""

    def _make(role: str, username: str | None = None, *, must_change: bool = False) -> Operator:
        created = make_user(username, role=role, must_change=must_change)
        password = created.password.reveal()
        return Operator(auth.sign_in(ctx, created.user.username, password), password)

    return _make


@pytest.fixture
def admin(make_operator) -> Actor:
    return make_operator("admin", "admin").actor


@pytest.fixture
def helpdesk(make_operator) -> Actor:
    return make_operator("helpdesk", "helpdesk").actor


@pytest.fixture
def viewer(make_operator) -> Actor:
    return make_operator("viewer", "viewer").actor


@pytest.fixture
def audit_events(ctx):
    """``audit_events()``: every audit event, oldest first (as ``AuditView``);
    ``audit_events(after=seq)`` only those written after ``seq``."""

    def _events(*, after: int = 0) -> list[AuditView]:
        out: list[AuditView] = []
        cursor = None
        while True:
            page = audit.query(ctx, SYSTEM, cursor=cursor, limit=500)
            out.extend(e for e in page.items if e.seq > after)
            if page.next_cursor is None or (page.items and page.items[-1].seq <= after):
                break
            cursor = page.next_cursor
        return sorted(out, key=lambda e: e.seq)

    return _events


@pytest.fixture
def db_rows(ctx):
    """``db_rows()``: every row of every table, by raw SQL, as
    ``{table: [tuple, ...]}`` ordered by primary key; ``db_rows(exclude=(...))`` skips tables."""

    def _rows(*, exclude: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {}
        with ctx.engine.connect() as conn:
            inspector = inspect(conn)
            for table in sorted(inspector.get_table_names()):
                # The search index's shadow tables hold derived trigrams, not rows.
                if table in exclude or table.startswith("users_fts"):
                    continue
                key = ", ".join(f'"{c}"' for c in inspector.get_pk_constraint(table)["constrained_columns"])
                out[table] = [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY {key}'))]
        return out

    return _rows

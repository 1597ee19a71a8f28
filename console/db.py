"""Engine and session factory, schema creation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, create_engine

from console import models  # noqa: F401  (registers the tables)
from console.errors import ConfigError, NotInitialized
from console.security.files import create_private

if TYPE_CHECKING:
    from console.config import Settings


def make_engine(url: str, *, echo: bool = False, settings: "Settings | None" = None) -> Engine:
    """``hide_parameters``: a driver error's message never quotes bound values
    (a hash among them). A server database gets the pool of ``settings`` and a
    check of each connection as it is taken (so a restarted server costs no
    failed action)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("database_url: not a database URL (e.g. sqlite:///path/to/userdesk.db)") from None
    if parsed.drivername in ("redis", "rediss"):
        raise ConfigError("database_url: a Redis server holds no userdesk tables; to manage its ACL users open it "
                          "as a store: `userdesk --store redis-acl --db URL init --admin NAME`")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        path = None
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser()
            parsed = parsed.set(database=str(path))  # SQLite itself does not expand "~"
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": 30}, hide_parameters=True)
        if path is not None:
            _never_create(engine, path)
        _sqlite_setup(engine)
        return engine
    pool: dict = {}
    if settings is not None:
        pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow,
                "pool_timeout": settings.db_pool_timeout, "pool_recycle": settings.db_pool_recycle or -1}
    return create_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True, **pool)


def _never_create(engine: Engine, path: Path) -> None:
    """Connecting never creates the file (SQLite would, and a mistyped path on a
    read would leave an empty database behind): only ``create_file`` does, for
    init, demo and upgrade."""

    @event.listens_for(engine, "do_connect")
    def _exists(dialect, conn_rec, cargs, cparams):
        if not path.exists():
            raise NotInitialized(f"no database at {path}: run `userdesk init` (or `userdesk demo`) to make one")


def create_file(engine: Engine) -> None:
    """Make the engine's SQLite file if it does not exist: readable by its owner
    only, as it holds the password hashes (SQLite gives its -wal and -shm files
    the same mode); an existing one keeps its mode. Through a symlink: the file
    it points to. Nothing for a server database."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:"):
        create_private(Path(database).resolve())


#: A database holding tables but not this one is not userdesk's (a Django
#: project's, say): it is left in the journal mode it has.
_OWN_TABLE = "users"


def fold(value: str) -> str:
    """Lower case, Unicode-aware (SQLite's lower() folds ASCII only), as the
    full-text index folds what it indexes: one character for one, so a final
    sigma is a sigma (Python lowers a capital one at a word's end to ς, the
    full-text index folds both to σ)."""
    return value.lower().replace("\u03c2", "\u03c3")


def _fold(value: str | None) -> str | None:
    return fold(value) if value is not None else None


def _sqlite_setup(engine: Engine) -> None:
    """Foreign keys on, WAL, and explicit BEGIN so write transactions can take the
    write lock up front (BEGIN IMMEDIATE) instead of failing to upgrade later.

    WAL is a property of the file, not the connection: it is set only on a
    database that is empty or is userdesk's, so opening another system's
    database by mistake (which the services then refuse) leaves every byte of
    it as it was."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        # The search's case folding, for a search tested row by row (services/search.py, kind ``rows``).
        dbapi_conn.create_function("userdesk_fold", 1, _fold, deterministic=True)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if cur.execute("PRAGMA journal_mode").fetchone()[0] not in ("memory", "wal"):
            tables = {row[0] for row in cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables or _OWN_TABLE in tables:
                cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


#: SQLite: the trigger that keeps the search index (users_fts, made by the
#: first migration) in step with inserts; a bulk load drops it, loads, rebuilds
#: the index once and puts it back (services/setup.py).
SQLITE_FTS_INSERT_TRIGGER = """CREATE TRIGGER IF NOT EXISTS users_fts_insert AFTER INSERT ON users BEGIN
        INSERT INTO users_fts(rowid, username, email, display_name)
        VALUES (new.id, new.username, new.email, new.display_name);
    END"""


def create_schema(engine: Engine) -> None:
    """Bring the database to this console's schema (console/schema.py), making
    its file first where it is a new SQLite database."""
    from console import schema

    create_file(engine)
    schema.upgrade(engine)


def read_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def describe(url: str) -> str:
    """A short, password-free description of a database URL for display."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "unknown database"
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        name = Path(parsed.database).name if parsed.database and parsed.database != ":memory:" else "in memory"
        return f"SQLite · {name}"
    if backend in ("redis", "rediss"):  # the redis-acl store: a server, its users not in any database number
        return f"Redis{' (TLS)' if backend == 'rediss' else ''} · {parsed.host}:{parsed.port or 6379}"
    if backend in ("ldap", "ldaps"):  # the ldap store's directory (console/stores/ldap.py)
        return f"LDAP directory · {parsed.host}{f':{parsed.port}' if parsed.port else ''}"
    where = f" on {parsed.host}" if parsed.host else ""
    return f"{'PostgreSQL' if backend == 'postgresql' else backend} · {parsed.database or ''}{where}"

"""Engine and session factory, schema creation."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, SQLModel, create_engine

from console import models  # noqa: F401  (registers the tables)
from console.services.errors import ConfigError


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """``hide_parameters``: a driver error's message never quotes bound values
    (a hash among them)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("database_url: not a database URL (e.g. sqlite:///path/to/userdesk.db)") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30}, hide_parameters=True)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True)


def _sqlite_setup(engine: Engine) -> None:
    """Foreign keys on, WAL, and explicit BEGIN so write transactions can take the
    write lock up front (BEGIN IMMEDIATE) instead of failing to upgrade later."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if cur.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


#: SQLite: a trigram full-text index over the searchable columns, kept in sync
#: with ``users`` by triggers, so substring search never scans the table.
SQLITE_FTS_INSERT_TRIGGER = """CREATE TRIGGER IF NOT EXISTS users_fts_insert AFTER INSERT ON users BEGIN
        INSERT INTO users_fts(rowid, username, email, display_name)
        VALUES (new.id, new.username, new.email, new.display_name);
    END"""
SQLITE_FTS = (
    """CREATE VIRTUAL TABLE IF NOT EXISTS users_fts USING fts5(
        username, email, display_name, content='users', content_rowid='id',
        tokenize='trigram case_sensitive 0')""",
    SQLITE_FTS_INSERT_TRIGGER,
    """CREATE TRIGGER IF NOT EXISTS users_fts_delete AFTER DELETE ON users BEGIN
        INSERT INTO users_fts(users_fts, rowid, username, email, display_name)
        VALUES ('delete', old.id, old.username, old.email, old.display_name);
    END""",
    """CREATE TRIGGER IF NOT EXISTS users_fts_update AFTER UPDATE OF username, email, display_name ON users BEGIN
        INSERT INTO users_fts(users_fts, rowid, username, email, display_name)
        VALUES ('delete', old.id, old.username, old.email, old.display_name);
        INSERT INTO users_fts(rowid, username, email, display_name)
        VALUES (new.id, new.username, new.email, new.display_name);
    END""",
)


def create_schema(engine: Engine) -> None:
    """Create missing tables, search indexes and the audit chain's head row."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    SQLModel.metadata.create_all(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            for ddl in SQLITE_FTS:
                conn.exec_driver_sql(ddl)
    with Session(engine) as s:
        if s.get(models.AuditHead, 1) is None:
            s.add(models.AuditHead(id=1))
            s.commit()


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
    where = f" on {parsed.host}" if parsed.host else ""
    return f"{'PostgreSQL' if backend == 'postgresql' else backend} · {parsed.database or ''}{where}"

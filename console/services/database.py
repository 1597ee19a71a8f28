"""The database as the CLI and the TUI see it: a description for display, the
schema's version and its upgrade, the demo database's files, and a database
fault the services did not expect, reported by its type only.

These wrap console.db and console.schema so that the layers above the
services never import those (or SQLAlchemy) themselves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from console import db, schema
from console.config import demo_database_url
from console.services.context import Actor, ServiceContext
from console.services.errors import DatabaseUnavailable, InvalidInput, NotInitialized
from console.services.setup import refuse_foreign


def describe(url: str) -> str:
    """A short, password-free description of a database URL for display."""
    return db.describe(url)


def check_schema(ctx: ServiceContext) -> None:
    """Raise unless the database is at this console's schema version
    (NOT_INITIALIZED, SCHEMA_OUTDATED or SCHEMA_NEWER, each saying what to run;
    FOREIGN_STORE for another system's account store, saying how to open it)."""
    if ctx.engine.dialect.name in ("mysql", "mariadb") and not ctx.engine.url.database:
        refuse_foreign(ctx)  # a server with no database named: there is no schema to check
    try:
        schema.check(ctx.engine)
    except NotInitialized:
        refuse_foreign(ctx)
        raise


@dataclass(frozen=True)
class SchemaVersion:
    #: The database's revision; None when it has none.
    current: str | None
    #: The revision this console was built for.
    head: str
    #: "current", "newer" (a revision this console does not know), "empty" or "outdated".
    status: str
    #: Has userdesk tables at all.
    has_tables: bool


def _version(st: schema.State) -> SchemaVersion:
    status = "current" if st.up_to_date else ("newer" if not st.known else
                                              "empty" if not st.has_tables else "outdated")
    return SchemaVersion(current=st.current, head=st.head, status=status, has_tables=st.has_tables)


def schema_version(ctx: ServiceContext) -> SchemaVersion:
    """The database's schema version and this console's (FOREIGN_STORE for
    another system's account store: its schema is not userdesk's)."""
    st = schema.state(ctx.engine)
    if not st.has_tables:
        refuse_foreign(ctx)
    return _version(st)


#: The migration that added the audit log's signatures.
SIGNED_FROM = "0006"


@dataclass(frozen=True)
class Upgrade:
    before: SchemaVersion
    after: SchemaVersion
    #: Events of a log written before audit keys, signed now (0: none).
    signed: int


def upgrade_schema(ctx: ServiceContext) -> Upgrade:
    """Migrate the database to this console's schema version (creating it if
    empty), then sign an audit log written before audit keys (if it verifies:
    AUDIT_BROKEN otherwise, the schema migrated all the same). Never another
    system's account store (FOREIGN_STORE): only a desk is migrated."""
    from console.services.audit import sign_log

    refuse_foreign(ctx)
    db.create_file(ctx.engine)
    before = schema.state(ctx.engine)
    after = schema.upgrade(ctx.engine)
    # Only the run that brings the audit signatures (0006) signs what was written before them.
    older = before.has_tables and (before.current is None or before.current < SIGNED_FROM)
    signed = sign_log(ctx, Actor.system("upgrade")) if older else 0
    return Upgrade(_version(before), _version(after), signed)


def delete_demo_database(url: str) -> None:
    """Delete a SQLite demo database (demo.db) and its journal files; refuse any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or url != demo_database_url() and not \
            parsed.database.endswith("demo.db"):
        raise InvalidInput("reset", "demo_only", "--reset only deletes a SQLite demo database (demo.db)")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(parsed.database + suffix).unlink(missing_ok=True)


def fault(exc: BaseException) -> dict[str, str] | None:
    """A database fault the services did not expect, as ``{"error_code",
    "error_msg"}`` naming its type only (a driver's message may quote values);
    None if ``exc`` is not a database fault."""
    if isinstance(exc, OperationalError):  # the server or file is not there (or not answering)
        return DatabaseUnavailable.from_driver(exc).as_dict()
    if isinstance(exc, SQLAlchemyError):
        return {"error_code": "DB_ERROR", "error_msg": f"database error ({type(exc).__name__})"}
    return None

"""The database schema's version: Alembic migrations (console/migrations/).

``upgrade`` brings a database to the version this console was built for;
``check`` refuses to work on a database at any other version, saying what to
run. Databases made before there were migrations (by ``create_all``, with the
same tables as the first migration) are adopted: stamped at that revision.

``check`` runs at every start, so it reads the version table with plain SQL
and knows the revisions from the file names (``NNNN_*.py``): Alembic itself
is imported only to migrate (a test holds HEAD and the files to Alembic's own
view of them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from console.errors import DatabaseUnavailable, NotInitialized, SchemaNewer, SchemaOutdated

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The revision this console was built for (the newest migration).
HEAD = "0010"
#: The first migration: what a database made before migrations holds.
BASELINE = "0001"


#: Not in the models, made and kept by the migrations themselves: SQLite's
#: full-text index (a virtual table and the shadow tables it keeps),
#: PostgreSQL's search indexes, a trigram GIN index and three prefix btrees
#: (0008; describing those in the models would load SQLAlchemy's PostgreSQL
#: dialect into every start of the console), and the search key's partial
#: indexes and, on SQLite, its generated column (0009) and whether it is
#: ASCII (0010).
UNMODELLED_TABLES = ("users_fts",)
PG_SEARCH_INDEXES = ("ix_users_search_trgm", "ix_users_username_prefix", "ix_users_email_prefix",
                     "ix_users_display_name_prefix")
KEY_INDEXES = ("ix_users_key_role", "ix_users_key_blocked", "ix_users_key_must_change", "ix_users_key_external",
               "ix_users_key_never", "ix_users_key_locked")
UNMODELLED_INDEXES = PG_SEARCH_INDEXES + KEY_INDEXES
UNMODELLED_COLUMNS = ("search_key", "search_ascii")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's comparisons: leave out what the models do not describe."""
    if type_ == "table" and name and name.startswith(UNMODELLED_TABLES):
        return False
    if type_ == "column" and name in UNMODELLED_COLUMNS:
        return False
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def revisions() -> set[str]:
    """Every revision this console has a migration for."""
    return {p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py")}


def config(connection: Connection | None = None) -> "Config":
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@dataclass(frozen=True)
class State:
    #: The database's revision; None when it has none.
    current: str | None
    head: str
    #: Has userdesk tables at all.
    has_tables: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def known(self) -> bool:
        """The database's revision is one of this console's migrations."""
        return self.current is None or _known(self.current)


def _known(revision: str) -> bool:
    return revision in revisions()


def state(engine: Engine) -> State:
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            current = None
            if inspector.has_table("alembic_version"):
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return State(current=current, head=HEAD, has_tables=inspector.has_table("users"))
    except OperationalError as exc:
        raise DatabaseUnavailable.from_driver(exc) from None


def check(engine: Engine) -> State:
    """The database is at this console's version, or an error saying what to run."""
    st = state(engine)
    if st.up_to_date:
        return st
    if not st.has_tables and st.current is None:
        raise NotInitialized("this database has no userdesk tables: run `userdesk init` (or `userdesk demo`)")
    if not st.known:
        raise SchemaNewer(f"this database's schema ({st.current}) is newer than this userdesk (built for "
                          f"{st.head}): upgrade userdesk before using it")
    raise SchemaOutdated(f"this database's schema ({st.current or 'from before migrations'}) is older than this "
                         f"userdesk ({st.head}): run `userdesk db upgrade`")


def upgrade(engine: Engine, revision: str = "head") -> State:
    """Migrate to ``revision`` (default: this console's). A database from before
    migrations is stamped at the baseline first; a newer one is refused."""
    st = state(engine)
    if not st.known:
        raise SchemaNewer(f"this database's schema ({st.current}) is newer than this userdesk (built for "
                          f"{st.head}): upgrade userdesk, not the database")
    if revision == "head" and st.up_to_date:
        return st  # nothing to do: Alembic (and its reading of every migration) not loaded
    from alembic import command

    with engine.begin() as conn:
        if st.current is None and st.has_tables:
            command.stamp(config(conn), BASELINE)
        command.upgrade(config(conn), revision)
    return state(engine)

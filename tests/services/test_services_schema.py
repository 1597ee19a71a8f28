"""The schema comes from Alembic migrations: they agree with the models on
every backend, and a console on a database at another version stops and says
what to run."""

from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

from console import db, models, schema
from console.security.hashing import Argon2Params
from console.services import listing, setup, tickets
from console.services.context import Actor, ServiceContext
from console.services.errors import NotInitialized, SchemaNewer, SchemaOutdated

READER = Actor(None, "t", "viewer", "local")


@pytest.fixture
def bare(settings):
    """A context on an empty database: no tables, no schema version."""
    c = ServiceContext.from_settings(settings, argon2_params=Argon2Params.cheapest())
    db.create_file(c.engine)  # SQLite: an empty file (a server database exists already)
    yield c
    c.engine.dispose()


def test_the_migrations_build_what_the_models_describe(bare):
    state = schema.upgrade(bare.engine)
    assert state.current == schema.HEAD and state.up_to_date
    with bare.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"include_object": schema.include_object,
                                                   "compare_type": True})
        with warnings.catch_warnings():  # SQLite cannot reflect expression indexes: checked by name below
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            models.declare_list_indexes()  # (made by the migrations; declared on demand)
            diff = compare_metadata(mc, SQLModel.metadata)
        assert diff == []
        if bare.engine.dialect.name == "sqlite":
            made = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
            wanted = {ix.name for t in SQLModel.metadata.tables.values() for ix in t.indexes}
            assert wanted <= made
            assert set(schema.KEY_INDEXES) <= made
            assert {"users_fts_insert", "users_fts_update", "users_fts_delete"} <= {
                r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
        else:
            defs = dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'users'")).all())
            search = {n: d for n, d in defs.items() if "gin_trgm_ops" in d or "text_pattern_ops" in d}
            assert set(search) == set(schema.PG_SEARCH_INDEXES)  # 0008's, and no longer 0001's three
            assert all("INCLUDE (username, email, display_name" in defs[n] for n in schema.KEY_INDEXES), defs
            assert "USING gin" in search["ix_users_search_trgm"]
            assert all("INCLUDE" in d for n, d in search.items() if n.endswith("_prefix"))


def test_head_and_the_revision_files_are_alembics_own():
    scripts = ScriptDirectory.from_config(schema.config())
    assert scripts.get_heads() == [schema.HEAD]
    assert {r.revision for r in scripts.walk_revisions()} == schema.revisions()


def test_an_empty_database_asks_for_init(bare):
    with pytest.raises(NotInitialized) as ei:
        schema.check(bare.engine)
    assert "userdesk init" in ei.value.message


def test_a_database_from_before_migrations_is_outdated_then_adopted(bare):
    """Made as consoles did before migrations: the tables, search index and
    audit head of the first migration, and no version table."""
    schema.upgrade(bare.engine, schema.BASELINE)
    with bare.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    assert schema.state(bare.engine).current is None
    with pytest.raises(SchemaOutdated) as ei:
        setup.check_ready(bare)
    assert "userdesk db upgrade" in ei.value.message and ei.value.code == "SCHEMA_OUTDATED"
    after = schema.upgrade(bare.engine)
    assert after.up_to_date
    setup.initialize(bare, "root")
    setup.check_ready(bare)
    assert [u.username for u in listing.list_users(bare, READER, search="roo").items] == ["root"]


def test_a_database_at_an_older_revision_is_outdated_then_upgraded_with_its_data(bare):
    """At 0001 (before tickets recorded how they went out), with a ticket."""
    schema.upgrade(bare.engine, "0001")
    with bare.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (username, display_name, role, source, must_change_password, blocked, "
                          "failed_logins, created_at, updated_at, version) VALUES ('root', '', 'admin', 'local', "
                          "false, false, 0, :t, :t, 1)"), {"t": "2026-01-01 00:00:00"})
        conn.execute(text("INSERT INTO reset_tickets (user_id, token_digest, issued_by, created_at, expires_at) "
                          "SELECT id, :d, 'root', :t, :e FROM users"),
                     {"d": "0" * 64, "t": "2026-01-01 00:00:00", "e": "2099-01-01 00:00:00"})
    with pytest.raises(SchemaOutdated) as ei:
        setup.check_ready(bare)
    assert f"(0001) is older than this userdesk ({schema.HEAD})" in ei.value.message
    assert "userdesk db upgrade" in ei.value.message
    assert schema.upgrade(bare.engine).current == schema.HEAD
    setup.check_ready(bare)
    [ticket] = tickets.list_tickets(bare, READER, "root")
    assert ticket.delivery == "shown" and ticket.issued_by == "root"


def test_a_newer_database_is_refused_and_not_touched(bare):
    schema.upgrade(bare.engine)
    setup.initialize(bare, "root")
    with bare.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    for attempt in (setup.check_ready, lambda c: schema.upgrade(c.engine)):
        with pytest.raises(SchemaNewer) as ei:
            attempt(bare)
        assert "9999" in ei.value.message and "upgrade userdesk" in ei.value.message
    assert schema.state(bare.engine).current == "9999"

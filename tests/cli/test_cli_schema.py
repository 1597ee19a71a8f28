"""`userdesk db current` and `db upgrade`; commands on a database at another
schema version stop with a code that says what to do."""

from __future__ import annotations

import json

from sqlalchemy import inspect, text

from console import db, schema


def test_db_current_and_upgrade_on_the_command_line(cli, settings):
    engine = db.make_engine(settings.database_url)
    try:
        if engine.url.get_backend_name() == "sqlite":
            r = cli("db", "current", "--json")  # no file: a read creates none
            assert r.code == 1 and r.json()["error_code"] == "NOT_INITIALIZED" and "no database at" in r.json()["error_msg"]
            db.create_file(engine)
        r = cli("db", "current", "--json")
        assert r.code == 0 and r.json() == {"current": None, "head": schema.HEAD, "status": "empty"}
        r = cli("users", "list")
        assert r.code == 1 and "[NOT_INITIALIZED]" in r.stderr
        r = cli("db", "upgrade")
        assert r.code == 0 and f"migrated (empty) -> {schema.HEAD}" in r.stdout
        assert cli("db", "upgrade").stdout.strip() == f"already at {schema.HEAD}: nothing to do"
        assert inspect(engine).has_table("users")
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        r = cli("db", "current")
        assert "(newer)" in r.stdout and "upgrade userdesk" in r.stderr
        r = cli("users", "list", "--json")
        assert r.code == 1 and json.loads(r.stdout)["error_code"] == "SCHEMA_NEWER"
    finally:
        engine.dispose()

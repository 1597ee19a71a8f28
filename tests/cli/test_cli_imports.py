"""What a command loads (issue 14): `--help`, of the tool or of any command,
loads none of the heavy libraries (SQLAlchemy, SQLModel, argon2,
Textual, the console's services); `users show` loads no Textual. Measured
by the modules a fresh process ends up with, not by a clock."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# pydantic is not in the list: Typer itself loads it for a group's help when it is installed.
HEAVY = ("sqlalchemy", "sqlmodel", "argon2", "textual", "psycopg", "alembic", "regex", "zxcvbn",
         "console.services", "console.config", "console.tui", "console.stores", "console.models", "console.db")

PROBE = """
import json, sys
from console.cli import main
sys.argv = ["userdesk", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("\\n" + json.dumps(sorted({m for m in sys.modules for h in HEAVY if m == h or m.startswith(h + ".")})))
"""


#: Light: the service layer's package (a docstring) and its errors (plain classes).
LIGHT = {"console.services", "console.services.errors"}


def loaded(args: list[str], env: dict | None = None) -> set[str]:
    code = f"HEAVY = {HEAVY!r}\n" + PROBE
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1])) - LIGHT


@pytest.mark.parametrize("args", [["--help"], ["users", "show", "--help"], ["reset-password", "--help"],
                                  ["audit", "--help"], ["audit", "checkpoint", "--help"], ["db", "--help"]],
                         ids=" ".join)
def test_help_loads_nothing_heavy(args):
    assert loaded(args) == set()


@pytest.mark.sqlite_only
def test_users_show_loads_no_textual(cli_env, cli, initialized):
    import os

    mods = loaded(["users", "show", "root"], env={**os.environ, **cli_env})
    assert "sqlalchemy" in mods  # it did read the database
    assert not {m for m in mods if m == "textual" or m.startswith(("textual.", "console.tui"))}


@pytest.mark.sqlite_only
def test_a_sqlite_database_loads_no_other_dialect(cli_env, cli, initialized):
    """SQLAlchemy loads a dialect's module for any index that names it: the
    list's partial indexes are declared for the migrations only, so a command
    on SQLite never pays for PostgreSQL's (nor MySQL's) dialect."""
    import os

    mods = loaded(["users", "list"], env={**os.environ, **cli_env})
    assert "sqlalchemy.dialects.sqlite" in mods  # it did read the database
    assert not {m for m in mods if m.startswith(("sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.mysql"))}

"""The CLI on a PostgreSQL server's roles, as the README shows it: --store
postgres-roles (or USERDESK_STORE) with --db naming the server; the desk a
private SQLite file; the new password signs in over SCRAM."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from console.cli import app

from pgroles import pg_cluster, roles, store_admin, store_url  # noqa: F401  (fixtures)


@pytest.fixture
def run(tmp_path, roles, store_admin, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    for k, v in {"USERDESK_CONFIG": str(cfg), "XDG_DATA_HOME": str(tmp_path / "data"),
                 "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "USERDESK_ARGON2_TIME_COST": "2",
                 "USERDESK_ARGON2_MEMORY_COST": "19456", "USERDESK_ARGON2_PARALLELISM": "1"}.items():
        monkeypatch.setenv(k, v)
    for k in ("USERDESK_PROFILE", "USERDESK_OPERATOR", "USERDESK_STORE", "USERDESK_DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    runner = CliRunner()
    url = store_url(roles.cluster, store_admin)

    def invoke(*args, input=None, store=True):
        argv = (["--store", "postgres-roles"] if store else []) + ["--db", url, *args]
        return runner.invoke(app, argv, input=input, catch_exceptions=False)

    return invoke


def test_init_list_show_reset_and_the_new_password_signs_in(run, roles, tmp_path, monkeypatch):
    web = roles.make("web")
    root = roles.make("root", options="LOGIN SUPERUSER")
    init = run("init", "--admin", "ops", "--json")
    assert init.exit_code == 0, init.stderr
    ops_pw = json.loads(init.stdout)["password"]
    assert list((tmp_path / "data" / "userdesk" / "desks").glob("postgres-roles-*.db"))  # the desk is userdesk's

    listed = run("users", "list", "--search", roles.prefix, "--json")
    assert listed.exit_code == 0, listed.stderr
    names = [u["username"] for u in json.loads(listed.stdout)["items"]]
    assert web in names and root in names
    text = run("users", "list", "--search", roles.prefix)
    assert web in text.stdout

    shown = json.loads(run("users", "show", web, "--json").stdout)
    assert shown["details"]["password"] == "SCRAM-SHA-256" and shown["details"]["can log in"] == "yes"
    assert "force_change" in shown["unavailable"] and "issue_ticket" in shown["unavailable"]
    assert run("users", "show", root).stdout.count("superuser") >= 1

    reset = run("--operator", "ops", "--password-stdin", "reset-password", web, "--reason", "forgot", "--json",
                input=ops_pw + "\n")
    assert reset.exit_code == 0, reset.stderr
    new = json.loads(reset.stdout)["password"]
    assert roles.signs_in(web, new)
    assert not roles.signs_in(web, "an old password 1")

    # USERDESK_STORE instead of --store, and an expiry on the reset: VALID UNTIL.
    monkeypatch.setenv("USERDESK_STORE", "postgres-roles")
    again = run("--operator", "ops", "--password-stdin", "reset-password", web, "--reason", "x", "--expiry", "7",
                "--json", input=ops_pw + "\n", store=False)
    assert again.exit_code == 0, again.stderr
    assert roles.row(web)[1] != "infinity" and roles.row(web)[1] is not None
    assert roles.signs_in(web, json.loads(again.stdout)["password"])

    must = run("--operator", "ops", "--password-stdin", "force-change", web, "--reason", "x", "--json",
               input=ops_pw + "\n", store=False)
    assert must.exit_code == 1
    err = json.loads(must.stdout)
    assert err["error_code"] == "NOT_SUPPORTED" and "postgres-roles" in err["error_msg"]

    blocked = run("--operator", "ops", "--password-stdin", "users", "block", web, "--reason", "left", "--json",
                  input=ops_pw + "\n", store=False)
    assert blocked.exit_code == 0, blocked.stderr
    assert not roles.signs_in(web, json.loads(again.stdout)["password"])

    tmp = roles.make("tmp")
    expired = run("--operator", "ops", "--password-stdin", "expire", tmp, "--reason", "x", "--json",
                  input=ops_pw + "\n", store=False)
    assert expired.exit_code == 0, expired.stderr
    assert not roles.signs_in(tmp, "an old password 1")
    deleted = run("--operator", "ops", "--password-stdin", "users", "delete", tmp, "--yes", "--reason", "x",
                  "--json", input=ops_pw + "\n", store=False)
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] is True and roles.row(tmp) is None

    audited = run("audit", "--json", store=False)
    assert audited.exit_code == 0, audited.stderr
    assert new not in audited.stdout


def test_the_native_store_on_the_servers_postgres_database_says_how_to_open_its_roles(run, roles):
    with roles.admin() as conn:
        before = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    for args in (("users", "list"), ("db", "current"), ("db", "upgrade"), ("init", "--admin", "x")):
        r = run(*args, "--json", store=False)
        assert r.exit_code == 1, args
        err = json.loads(r.stdout)
        assert err["error_code"] == "FOREIGN_STORE" and "--store postgres-roles" in err["error_msg"], args
    with roles.admin() as conn:  # nothing was added to it
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == before

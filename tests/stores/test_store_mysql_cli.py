"""The CLI on a MariaDB server's accounts, as the README shows it: --store
mysql-users (or USERDESK_STORE) with --db naming the server; the desk a
private SQLite file; the new password signs in, PASSWORD EXPIRE is what the
server tells the client."""

from __future__ import annotations

import json

import pymysql
import pytest
from typer.testing import CliRunner

from console.cli import app

from mariadb import accounts_on, grant_option, mariadb_server, store_admin, store_url  # noqa: F401  (fixtures)


@pytest.fixture
def run(tmp_path, accounts_on, store_admin, mariadb_server, monkeypatch):
    grant_option(accounts_on, store_admin)
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    for k, v in {"USERDESK_CONFIG": str(cfg), "XDG_DATA_HOME": str(tmp_path / "data"),
                 "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "USERDESK_ARGON2_TIME_COST": "2",
                 "USERDESK_ARGON2_MEMORY_COST": "19456", "USERDESK_ARGON2_PARALLELISM": "1",
                 "HOME": str(tmp_path)}.items():
        monkeypatch.setenv(k, v)
    for k in ("USERDESK_PROFILE", "USERDESK_OPERATOR", "USERDESK_STORE", "USERDESK_DATABASE_URL", "MYSQL_PWD"):
        monkeypatch.delenv(k, raising=False)
    runner = CliRunner()
    url = store_url(mariadb_server, store_admin)

    def invoke(*args, input=None, store=True):
        argv = (["--store", "mysql-users"] if store else []) + ["--db", url, *args]
        return runner.invoke(app, argv, input=input, catch_exceptions=False)

    return invoke


def test_init_list_show_reset_force_change_block_expire_delete(run, accounts_on, tmp_path, monkeypatch):
    web = accounts_on.make("web")
    root = accounts_on.make("root", grant="ALL PRIVILEGES ON *.*")
    init = run("init", "--admin", "ops", "--json")
    assert init.exit_code == 0, init.stderr
    ops_pw = json.loads(init.stdout)["password"]
    assert list((tmp_path / "data" / "userdesk" / "desks").glob("mysql-users-*.db"))  # the desk is userdesk's

    listed = run("users", "list", "--search", accounts_on.prefix, "--json")
    assert listed.exit_code == 0, listed.stderr
    names = [u["username"] for u in json.loads(listed.stdout)["items"]]
    assert web in names and root in names
    assert web.split("@")[0] + "@" in run("users", "list", "--search", accounts_on.prefix).stdout  # (truncated)

    shown = json.loads(run("users", "show", web, "--json").stdout)
    assert shown["details"]["plugin"].startswith("mysql_native_password") and shown["details"]["locked"] == "no"
    assert shown["unavailable"]["issue_ticket"].startswith("mysql-users: ")
    assert not shown["unavailable"].get("force_change", "").startswith("mysql-users")  # the store can
    assert "SUPER" in run("users", "show", root).stdout

    def as_ops(*args):
        return run("--operator", "ops", "--password-stdin", *args, "--json", input=ops_pw + "\n", store=False)

    monkeypatch.setenv("USERDESK_STORE", "mysql-users")
    reset = as_ops("reset-password", web, "--reason", "forgot", "--expiry", "7")
    assert reset.exit_code == 0, reset.stderr
    new = json.loads(reset.stdout)["password"]
    assert accounts_on.signs_in(web, new) and not accounts_on.signs_in(web, "an old password 1")
    assert accounts_on.priv(web)["password_lifetime"] == 7

    must = as_ops("reset-password", web, "--reason", "x", "--must-change")
    assert must.exit_code == 0, must.stderr
    temp = json.loads(must.stdout)["password"]
    assert json.loads(must.stdout)["must_change"] is True
    with accounts_on.connect(web, temp) as conn, conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as ei:
            cur.execute("SELECT 1")
        assert ei.value.args[0] == 1820  # You must SET PASSWORD before executing this statement
    with accounts_on.connect(web, temp) as conn, conn.cursor() as cur:
        cur.execute("SET PASSWORD = PASSWORD('the users own choice 1')")  # what the user does next
    assert accounts_on.signs_in(web, "the users own choice 1")

    blocked = as_ops("users", "block", web, "--reason", "left")
    assert blocked.exit_code == 0, blocked.stderr
    assert not accounts_on.signs_in(web, "the users own choice 1")

    tmp = accounts_on.make("tmp")
    assert as_ops("expire", tmp, "--reason", "x").exit_code == 0
    assert accounts_on.priv(tmp)["password_last_changed"] == 0
    deleted = as_ops("users", "delete", tmp, "--yes", "--reason", "x")
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] is True and accounts_on.priv(tmp) is None

    refused = as_ops("users", "delete", accounts_on.name("nobody"), "--yes", "--reason", "x")
    assert refused.exit_code == 1 and json.loads(refused.stdout)["error_code"] == "USER_NOT_FOUND"
    link = as_ops("users", "unlock", web, "--reason", "x")
    err = json.loads(link.stdout)
    assert err["error_code"] == "NOT_SUPPORTED" and "max_password_errors" in err["error_msg"]

    audited = run("audit", "--json", store=False)
    assert audited.exit_code == 0, audited.stderr
    assert new not in audited.stdout and temp not in audited.stdout


def test_the_native_store_on_the_servers_mysql_database_says_how_to_open_its_accounts(run, mariadb_server):
    before = mariadb_server.sql("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql'")
    for args in (("users", "list"), ("init", "--admin", "x")):
        r = run(*args, "--json", store=False)
        assert r.exit_code == 1, args
        err = json.loads(r.stdout)
        assert err["error_code"] == "FOREIGN_STORE" and "--store mysql-users" in err["error_msg"], (args, err)
    after = mariadb_server.sql("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql'")
    assert after == before  # nothing was added to it


def test_the_native_store_on_a_server_url_without_a_database_says_how_to_open_its_accounts(
        run, mariadb_server, store_admin):
    server = store_url(mariadb_server, store_admin).rsplit("/", 1)[0] + "/"
    for args in (("users", "list"), ("init", "--admin", "x")):
        r = run("--db", server, *args, "--json", store=False)  # the later --db wins
        assert r.exit_code == 1, args
        err = json.loads(r.stdout)
        assert err["error_code"] == "FOREIGN_STORE" and "--store mysql-users" in err["error_msg"], (args, err)

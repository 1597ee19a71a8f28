"""The CLI on a Redis server's ACL users, as the README shows it: --store
redis-acl (or USERDESK_STORE) with --db naming the server, its password from
REDISCLI_AUTH; the desk a private SQLite file; the new password is accepted
by the server's AUTH."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from console.cli import app

from redisserver import ADMIN_PASSWORD, OLD, redis_server, redis_servers, rusers  # noqa: F401  (fixtures)


@pytest.fixture
def run(tmp_path, rusers, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    for k, v in {"USERDESK_CONFIG": str(cfg), "XDG_DATA_HOME": str(tmp_path / "data"),
                 "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "USERDESK_ARGON2_TIME_COST": "2",
                 "USERDESK_ARGON2_MEMORY_COST": "19456", "USERDESK_ARGON2_PARALLELISM": "1",
                 "REDISCLI_AUTH": ADMIN_PASSWORD}.items():
        monkeypatch.setenv(k, v)
    for k in ("USERDESK_PROFILE", "USERDESK_OPERATOR", "USERDESK_STORE", "USERDESK_DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    runner = CliRunner()
    url = rusers.server.url(password=None)  # the password from REDISCLI_AUTH

    def invoke(*args, input=None, store=True):
        argv = (["--store", "redis-acl"] if store else []) + ["--db", url, *args]
        return runner.invoke(app, argv, input=input, catch_exceptions=False)

    return invoke


def test_init_list_show_reset_block_sessions_delete_and_the_server_agrees(run, rusers, tmp_path, monkeypatch):
    web = rusers.make("web")
    init = run("init", "--admin", "ops", "--json")
    assert init.exit_code == 0, init.stderr
    ops_pw = json.loads(init.stdout)["password"]
    assert list((tmp_path / "data" / "userdesk" / "desks").glob("redis-acl-*.db"))  # the desk is userdesk's

    listed = run("users", "list", "--search", rusers.prefix, "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [u["username"] for u in json.loads(listed.stdout)["items"]] == [web]
    assert web in run("users", "list", "--search", rusers.prefix).stdout

    shown = json.loads(run("users", "show", web, "--json").stdout)
    assert shown["details"]["status"] == "on" and shown["details"]["passwords"].startswith("1 (SHA-256, unsalted")
    assert shown["details"]["keys"] == "~app:*"
    assert "expire" in shown["unavailable"] and "force_change" in shown["unavailable"]
    text = run("users", "show", "default").stdout
    assert "default" in text and "off (cannot sign in)" in text

    held = rusers.connect(web, OLD)
    reset = run("--operator", "ops", "--password-stdin", "reset-password", web, "--reason", "forgot", "--json",
                input=ops_pw + "\n")
    assert reset.exit_code == 0, reset.stderr
    out = json.loads(reset.stdout)
    new = out["password"]
    assert out["sessions_revoked"] == 1 and out["written_as"].startswith("SHA-256")
    assert rusers.signs_in(web, new) and not rusers.signs_in(web, OLD)
    held.close()

    # USERDESK_STORE instead of --store; an expiry is what Redis has not.
    monkeypatch.setenv("USERDESK_STORE", "redis-acl")
    again = run("--operator", "ops", "--password-stdin", "reset-password", web, "--reason", "x", "--expiry", "7",
                "--json", input=ops_pw + "\n", store=False)
    assert again.exit_code == 1
    err = json.loads(again.stdout)
    assert err["error_code"] == "NOT_SUPPORTED" and "do not expire" in err["error_msg"]
    assert rusers.signs_in(web, new)

    blocked = run("--operator", "ops", "--password-stdin", "users", "block", web, "--reason", "left", "--json",
                  input=ops_pw + "\n", store=False)
    assert blocked.exit_code == 0, blocked.stderr
    assert json.loads(blocked.stdout)["blocked"] is True and not rusers.signs_in(web, new)
    unblocked = run("--operator", "ops", "--password-stdin", "users", "unblock", web, "--reason", "back", "--json",
                    input=ops_pw + "\n", store=False)
    assert unblocked.exit_code == 0, unblocked.stderr
    assert rusers.signs_in(web, new)

    held = rusers.connect(web, new)
    ended = run("--operator", "ops", "--password-stdin", "sessions", "revoke", web, "--reason", "x", "--json",
                input=ops_pw + "\n", store=False)
    assert ended.exit_code == 0, ended.stderr
    assert json.loads(ended.stdout)["sessions_revoked"] == 1
    held.close()

    refused = run("--operator", "ops", "--password-stdin", "users", "delete", "default", "--yes", "--reason", "x",
                  "--json", input=ops_pw + "\n", store=False)
    assert refused.exit_code == 1
    err = json.loads(refused.stdout)
    assert err["error_code"] == "STORE_REFUSED" and err["error_msg"] == \
        "Redis refused: The 'default' user cannot be removed"
    deleted = run("--operator", "ops", "--password-stdin", "users", "delete", web, "--yes", "--reason", "x",
                  "--json", input=ops_pw + "\n", store=False)
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] is True and rusers.getuser(web) is None

    audited = run("audit", "--json", store=False)
    assert audited.exit_code == 0, audited.stderr
    assert new not in audited.stdout and "password.reset" in audited.stdout


def test_the_native_store_on_a_redis_url_says_how_to_open_its_users(run, rusers):
    before = rusers.server.admin().execute_command("ACL", "LIST")
    for args in (("users", "list"), ("init", "--admin", "x")):
        r = run(*args, "--json", store=False)
        assert r.exit_code == 1, args
        err = json.loads(r.stdout)
        assert err["error_code"] == "CONFIG_INVALID" and "--store redis-acl" in err["error_msg"], args
    assert rusers.server.admin().execute_command("ACL", "LIST") == before

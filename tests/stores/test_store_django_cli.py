"""The CLI on a Django store, as the README shows it: the same global options
for every command, --json included, and Django's table list unchanged after
every command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from console.cli import app

from test_store_django import make_django_user


@pytest.fixture
def run(tmp_path, dj, key_file, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    for k, v in {"USERDESK_CONFIG": str(cfg), "XDG_DATA_HOME": str(tmp_path / "data"),
                 "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "USERDESK_DJANGO_SECRET_KEY_FILE": str(key_file),
                 "USERDESK_DJANGO_RESET_URL": "http://testserver/accounts/reset/{uidb64}/{token}/",
                 "USERDESK_ARGON2_TIME_COST": "2", "USERDESK_ARGON2_MEMORY_COST": "19456",
                 "USERDESK_ARGON2_PARALLELISM": "1"}.items():
        monkeypatch.setenv(k, v)
    for k in ("USERDESK_PROFILE", "USERDESK_OPERATOR", "USERDESK_STORE", "USERDESK_DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    runner = CliRunner()
    tables = dj.tables()

    def invoke(*args, input=None, store=True):
        argv = (["--store", "django"] if store else []) + ["--db", dj.url, *args]
        r = runner.invoke(app, argv, input=input, catch_exceptions=False)
        assert dj.tables() == tables, f"{args}: the Django database's tables changed"
        return r

    return invoke


def test_init_then_every_global_option_works_on_the_django_store(run, dj, tmp_path):
    make_django_user(dj, "alice", "alice's old password", email="alice@example.org", first="Alice")
    init = run("init", "--admin", "ops", "--json")
    assert init.exit_code == 0, init.stderr
    ops_pw = init.stdout and json.loads(init.stdout)["password"]
    assert (tmp_path / "data" / "userdesk" / "desks").is_dir()  # the desk is userdesk's, not in Django's database

    listed = run("users", "list", "--json")
    assert [u["username"] for u in json.loads(listed.stdout)["items"]] == ["alice"]
    shown = json.loads(run("users", "show", "alice", "--json").stdout)
    assert shown["details"]["password hash"] == "pbkdf2_sha256"
    assert "delete" in shown["unavailable"]

    reset = run("--operator", "ops", "--password-stdin", "reset-password", "alice", "--reason", "forgot", "--json",
                input=ops_pw + "\n")
    assert reset.exit_code == 0, reset.stderr
    new = json.loads(reset.stdout)["password"]
    assert dj.authenticate("alice", new) is not None
    assert dj.authenticate("alice", "alice's old password") is None

    link = run("--operator", "ops", "--password-stdin", "ticket", "issue", "alice", "--reason", "x",
               input=ops_pw + "\n")
    assert link.exit_code == 0 and "http://testserver/accounts/reset/" in link.stdout

    refused = run("--operator", "ops", "--password-stdin", "users", "delete", "alice", "--yes", "--json",
                  input=ops_pw + "\n")
    assert refused.exit_code == 1
    err = json.loads(refused.stdout)
    assert err["error_code"] == "NOT_SUPPORTED" and "django" in err["error_msg"] and "deactivate" in err["error_msg"]
    assert dj.User.objects.filter(username="alice").exists()

    audited = run("audit", "--json")
    assert audited.exit_code == 0, audited.stderr


def test_the_native_store_on_a_django_database_says_how_to_open_it(run):
    for args in (("users", "list"), ("db", "current"), ("db", "upgrade"), ("init", "--admin", "x")):
        r = run(*args, "--json", store=False)
        assert r.exit_code == 1, args
        assert json.loads(r.stdout)["error_code"] == "FOREIGN_STORE", args

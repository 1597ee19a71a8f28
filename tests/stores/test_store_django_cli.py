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


def test_audit_verify_settles_what_the_store_can_tell_and_reports_the_rest_as_unknown(run, dj, tmp_path):
    from sqlalchemy import create_engine, text

    make_django_user(dj, "bea")
    assert run("init", "--admin", "ops").exit_code == 0
    [desk] = (tmp_path / "data" / "userdesk" / "desks").glob("*.db")
    engine = create_engine(f"sqlite:///{desk}")
    with engine.begin() as conn:  # as crashes leave them: one the store can tell, one it cannot (account gone)
        for seq, target in ((9001, "bea"), (9002, "gone")):
            conn.execute(text("INSERT INTO pending_changes (seq, store, target, change, probe, at) "
                              "VALUES (:s, 'django', :t, 'blocked', 'active', '2026-01-01 00:00:00')"),
                         {"s": seq, "t": target})
    engine.dispose()
    r = run("audit", "--verify", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["ok"] is True
    assert [(p["seq"], p["target"], p["outcome"]) for p in data["outcome_unknown"]] == [(9002, "gone", "unknown")]
    text_run = run("audit", "--verify")
    assert "outcome unknown: event #9002" in text_run.stderr


def test_an_admin_adds_a_helpdesk_operator_who_resets_a_django_user_with_an_identity_check(run, dj):
    make_django_user(dj, "cai", "cai's old password")
    make_django_user(dj, "chief", staff=True)
    ops_pw = json.loads(run("init", "--admin", "ops", "--json").stdout)["password"]
    added = run("--operator", "ops", "--password-stdin", "operators", "create", "hd", "--role", "helpdesk", "--json",
                input=ops_pw + "\n")
    assert added.exit_code == 0, added.stdout
    hd_pw = json.loads(added.stdout)["password"]
    bad = run("--operator", "ops", "--password-stdin", "operators", "create", "mem", "--role", "member", "--json",
              input=ops_pw + "\n")
    assert json.loads(bad.stdout)["error_code"] == "INVALID_INPUT"
    listed = json.loads(run("operators", "list", "--json").stdout)
    assert [(o["username"], o["role"]) for o in listed] == [("hd", "helpdesk"), ("ops", "admin")]
    # The new operator first changes their own password (must change at first sign-in).
    changed = run("--operator", "hd", "--password-stdin", "change-password",
                  input=f"{hd_pw}\nhelpdesk kettle harbour\nhelpdesk kettle harbour\n")
    assert changed.exit_code == 0, changed.stderr
    hd = ("--operator", "hd", "--password-stdin")
    staff = run(*hd, "reset-password", "chief", "--reason", "x", "--identity-check", "badge", "--json",
                input="helpdesk kettle harbour\n")
    assert json.loads(staff.stdout)["error_code"] == "PERMISSION_DENIED"
    ok = run(*hd, "reset-password", "cai", "--reason", "called", "--identity-check", "callback", "--json",
             input="helpdesk kettle harbour\n")
    assert ok.exit_code == 0, ok.stdout
    assert dj.authenticate("cai", json.loads(ok.stdout)["password"]) is not None


def test_ticket_email_mails_djangos_own_link_and_prints_only_where_it_went(run, dj, tmp_path, monkeypatch):
    import email

    make_django_user(dj, "kai", email="kai@example.org")
    outbox = tmp_path / "outbox"
    monkeypatch.setenv("USERDESK_MAIL_DELIVERY", "outbox")
    monkeypatch.setenv("USERDESK_MAIL_OUTBOX", str(outbox))
    ops_pw = json.loads(run("init", "--admin", "ops", "--json").stdout)["password"]
    r = run("--operator", "ops", "--password-stdin", "ticket", "email", "kai", "--reason", "asked", input=ops_pw + "\n")
    assert r.exit_code == 0, r.stderr
    assert "reset link for kai emailed to kai@example.org (outbox); the application accepts it until" in r.stdout
    assert "/accounts/reset/" not in r.stdout
    [eml] = outbox.iterdir()
    body = email.message_from_bytes(eml.read_bytes()).get_payload(decode=True).decode()
    path = body[body.index("http://testserver") + len("http://testserver"):].split()[0]
    assert dj.client().get(path).status_code == 302  # Django takes it (to its set-password form)
    refused = run("--operator", "ops", "--password-stdin", "ticket", "email", "kai", "--lifetime", "5", "--json",
                  input=ops_pw + "\n")
    assert json.loads(refused.stdout)["error_code"] == "INVALID_INPUT"

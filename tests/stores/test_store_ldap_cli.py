"""The CLI on an LDAP directory, as the README shows it: --store ldap (or
USERDESK_STORE) with --db naming the server, the bind DN and base from the
environment, its password from a 0600 file; the desk a private SQLite file;
what the CLI changes, slapd enforces on bind."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from console.cli import app

from slapdserver import ADMIN_DN, OLD, POLICY_DN, password_file, people, slapd  # noqa: F401  (fixtures)


@pytest.fixture
def run(tmp_path, slapd, people, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    for k, v in {"USERDESK_CONFIG": str(cfg), "XDG_DATA_HOME": str(tmp_path / "data"),
                 "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "USERDESK_ARGON2_TIME_COST": "2",
                 "USERDESK_ARGON2_MEMORY_COST": "19456", "USERDESK_ARGON2_PARALLELISM": "1",
                 "USERDESK_LDAP_BIND_DN": ADMIN_DN, "USERDESK_LDAP_PEOPLE_BASE": people.base,
                 "USERDESK_LDAP_DEFAULT_POLICY_DN": POLICY_DN,
                 "USERDESK_LDAP_BIND_PASSWORD_FILE": str(password_file(tmp_path, slapd.admin_pw))}.items():
        monkeypatch.setenv(k, v)
    for k in ("USERDESK_PROFILE", "USERDESK_OPERATOR", "USERDESK_STORE", "USERDESK_DATABASE_URL",
              "USERDESK_LDAP_PASSWORD"):
        monkeypatch.delenv(k, raising=False)
    runner = CliRunner()

    def invoke(*args, input=None, store=True):
        argv = (["--store", "ldap"] if store else []) + ["--db", slapd.url, *args]
        return runner.invoke(app, argv, input=input, catch_exceptions=False)

    return invoke


def test_init_list_show_reset_force_change_block_unlock_delete(run, people, tmp_path, monkeypatch, slapd):
    for n in ("alice", "bob", "carol"):
        people.make(n)
    init = run("init", "--admin", "ops", "--json")
    assert init.exit_code == 0, init.stderr
    ops_pw = json.loads(init.stdout)["password"]
    assert list((tmp_path / "data" / "userdesk" / "desks").glob("ldap-*.db"))  # the desk is userdesk's

    listed = run("users", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [u["username"] for u in json.loads(listed.stdout)["items"]] == ["alice", "bob", "carol"]
    assert "carol" in run("users", "list", "--search", "car").stdout

    shown = json.loads(run("users", "show", "alice", "--json").stdout)
    assert shown["details"]["password policy"] == POLICY_DN and shown["details"]["locked"] == "no"
    assert "revoke_sessions" in shown["unavailable"] and "expire" in shown["unavailable"]

    def as_ops(*args, store=True):
        return run("--operator", "ops", "--password-stdin", *args, "--json", input=ops_pw + "\n", store=store)

    reset = as_ops("reset-password", "alice", "--reason", "forgot")
    assert reset.exit_code == 0, reset.stderr
    out = json.loads(reset.stdout)
    assert people.binds("alice", out["password"]) and not people.binds("alice", OLD)
    assert "set pwdReset" in out["written_as"]
    assert out["sessions_revoked"] is None  # a directory keeps no sessions: none are claimed ended

    # USERDESK_STORE instead of --store; must-change is pwdReset, which slapd reports on bind.
    monkeypatch.setenv("USERDESK_STORE", "ldap")
    must = as_ops("force-change", "bob", "--reason", "x", store=False)
    assert must.exit_code == 0, must.stderr
    assert "Password must be changed" in people.whoami_ppolicy("bob", OLD)

    expired = as_ops("expire", "bob", "--reason", "x", store=False)
    assert expired.exit_code == 1
    err = json.loads(expired.stdout)
    assert err["error_code"] == "NOT_SUPPORTED" and "pwdMaxAge" in err["error_msg"]

    blocked = as_ops("users", "block", "carol", "--reason", "left", store=False)
    assert blocked.exit_code == 0, blocked.stderr
    assert json.loads(blocked.stdout)["blocked"] is True and not people.binds("carol", OLD)
    assert as_ops("users", "unblock", "carol", "--reason", "back", store=False).exit_code == 0
    assert people.binds("carol", OLD)

    for _ in range(3):
        people.binds("carol", "a wrong password")
    assert not people.binds("carol", OLD)
    unlocked = as_ops("users", "unlock", "carol", "--reason", "called", store=False)
    assert unlocked.exit_code == 0, unlocked.stderr
    assert people.binds("carol", OLD)

    deleted = as_ops("users", "delete", "carol", "--yes", "--reason", "x", store=False)
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] is True and people.attrs("carol") == {}

    audited = run("audit", "--json", store=False)
    assert audited.exit_code == 0, audited.stderr
    assert out["password"] not in audited.stdout and slapd.admin_pw not in audited.stdout


def test_a_bind_password_file_readable_by_others_is_refused_by_name(run, people, tmp_path, monkeypatch, slapd):
    loose = tmp_path / "loose"
    loose.write_text(slapd.admin_pw)
    loose.chmod(0o644)
    monkeypatch.setenv("USERDESK_LDAP_BIND_PASSWORD_FILE", str(loose))
    r = run("users", "list", "--json")
    assert r.exit_code != 0
    assert "ldap_bind_password_file" in r.stdout + r.stderr and "chmod 600" in r.stdout + r.stderr
    assert slapd.admin_pw not in r.stdout + r.stderr


def test_the_native_store_on_an_ldap_url_says_how_to_open_the_directory(run, people):
    r = run("users", "list", "--json", store=False)
    assert r.exit_code == 1
    err = json.loads(r.stdout)
    assert err["error_code"] == "CONFIG_INVALID" and "--store ldap" in err["error_msg"]

"""The CLI end to end: what an admin types, what they see, what the database holds."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from console.services import audit, auth, listing
from console.services.context import Actor

READER = Actor(None, "test-reader", "viewer", "local")


def as_root(cli, initialized, *args, extra_stdin: str = "", **kw):
    name, pw = initialized
    return cli("--operator", name, "--password-stdin", *args, input=pw + "\n" + extra_stdin, **kw)


def test_init_prints_the_admin_password_once_and_it_signs_in(cli, ctx):
    r = cli("init", "--admin", "root")
    assert r.code == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if "password:" in l)
    pw = line.split("password: ", 1)[1]
    assert auth.sign_in(ctx, "root", pw).role == "admin"
    assert "shown once" in r.stderr
    again = cli("init")
    assert again.code == 1
    assert "[USER_EXISTS]" in again.stderr
    # The password is in no audit row.
    page = audit.query(ctx, READER, limit=100)
    assert pw not in json.dumps([e.details for e in page.items])


def test_bare_command_prints_help(cli):
    r = cli()
    assert r.code == 0
    assert "reset-password" in r.stdout and "Usage" in r.stdout


def test_reset_password_prints_a_password_that_works(cli, ctx, initialized):
    assert as_root(cli, initialized, "users", "create", "alice", "--email", "alice@example.com").code == 0
    r = as_root(cli, initialized, "reset-password", "alice", "--reason", "r",
                "--expiry", "30", "--no-must-change", "--json")
    assert r.code == 0, r.stdout + r.stderr
    data = r.json()
    assert auth.authenticate(ctx, "alice", data["password"]).status == "ok"
    assert data["must_change"] is False
    u = listing.get_user(ctx, READER, "alice")
    assert (u.password_expires_at - u.password_changed_at).days == 30
    # Never again: not in the audit log's JSON nor in `users show`.
    assert data["password"] not in cli("audit", "--json").stdout
    assert data["password"] not in cli("users", "show", "alice", "--json").stdout


def test_reset_keeps_must_change_unless_told(cli, ctx, initialized):
    as_root(cli, initialized, "users", "create", "bob")  # created with must-change on
    assert as_root(cli, initialized, "reset-password", "bob", "--reason", "r").code == 0
    assert listing.get_user(ctx, READER, "bob").must_change_password is True
    assert as_root(cli, initialized, "reset-password", "bob", "--reason", "r", "--no-must-change").code == 0
    assert listing.get_user(ctx, READER, "bob").must_change_password is False


def test_reset_password_needs_a_reason_unless_reason_required_is_off(cli, ctx, initialized):
    """The audit log records why (it recorded "reason: -"): without --reason
    nothing changes; USERDESK_REASON_REQUIRED=false (the demo's) lets it go."""
    as_root(cli, initialized, "users", "create", "bob")
    before = listing.get_user(ctx, READER, "bob")
    r = as_root(cli, initialized, "reset-password", "bob")
    assert r.code == 1 and r.stdout == ""
    assert r.stderr.strip() == ("error: reason: is required to reset a password (setting reason_required) "
                                "[REASON_REQUIRED]")
    assert as_root(cli, initialized, "set-password", "bob", "--password-stdin", "--json",
                   extra_stdin="a perfectly fine long passphrase\n").json()["error_code"] == "REASON_REQUIRED"
    assert listing.get_user(ctx, READER, "bob") == before
    r = as_root(cli, initialized, "reset-password", "bob", "--reason", "locked out, called in", "--json")
    assert r.code == 0, r.stderr
    event = audit.query(ctx, READER, user="bob", action="password.reset").items[0]
    assert (event.outcome, event.reason) == ("ok", "locked out, called in")
    assert as_root(cli, initialized, "reset-password", "bob", env={"USERDESK_REASON_REQUIRED": "false"}).code == 0


@pytest.mark.parametrize("expiry", ["abc", "1.5", ""])
def test_malformed_expiry_is_a_usage_error(cli, initialized, expiry):
    as_root(cli, initialized, "users", "create", "carol")
    r = as_root(cli, initialized, "reset-password", "carol", "--reason", "r", "--expiry", expiry)
    assert r.code == 2
    assert "--expiry" in r.stderr


def test_out_of_range_expiry_names_the_field_and_changes_nothing(cli, ctx, initialized):
    as_root(cli, initialized, "users", "create", "carol")
    before = listing.get_user(ctx, READER, "carol")
    r = as_root(cli, initialized, "reset-password", "carol", "--reason", "r", "--expiry", "-5", "--json")
    assert r.code == 1
    assert r.json()["error_code"] == "INVALID_INPUT"
    assert "expiry_days" in r.json()["error_msg"]
    assert listing.get_user(ctx, READER, "carol") == before


def test_errors_go_to_stderr_with_code_or_to_stdout_as_json(cli, initialized):
    r = cli("users", "show", "nobody")
    assert r.code == 1 and r.stdout == ""
    assert r.stderr.strip() == "error: no user named 'nobody' [USER_NOT_FOUND]"
    r = cli("users", "show", "nobody", "--json")
    assert r.code == 1
    assert r.json() == {"error_code": "USER_NOT_FOUND", "error_msg": "no user named 'nobody'"}


def test_wrong_operator_password_is_refused_and_audited(cli, ctx, initialized):
    r = cli("--operator", "root", "--password-stdin", "users", "create", "dave", input="wrong password\n")
    assert r.code == 1 and "[AUTH_FAILED]" in r.stderr
    with pytest.raises(Exception):
        listing.get_user(ctx, READER, "dave")
    events = audit.query(ctx, READER, action="operator.sign_in").items
    assert events[0].outcome == "denied" and events[0].error_code == "AUTH_FAILED"


def test_mutating_without_operator_is_refused(cli, initialized):
    r = cli("users", "create", "erin")
    assert r.code == 1 and "--operator" in r.stderr and "[INVALID_INPUT]" in r.stderr


def test_helpdesk_denied_on_admin_and_needs_identity_check(cli, ctx, initialized):
    r = as_root(cli, initialized, "users", "create", "desk", "--role", "helpdesk", "--json")
    desk_pw = r.json()["password"]
    # first sign-in must change the generated password
    r = cli("--operator", "desk", "--password-stdin", "change-password",
            input=f"{desk_pw}\nfresh support passphrase 42\nfresh support passphrase 42\n")
    assert r.code == 0, r.stderr
    desk = ["--operator", "desk", "--password-stdin"]
    pw = "fresh support passphrase 42\n"
    r = cli(*desk, "reset-password", "root", "--reason", "x", "--identity-check", "y", input=pw)
    assert r.code == 1 and "[PERMISSION_DENIED]" in r.stderr
    as_root(cli, initialized, "users", "create", "frank")
    r = cli(*desk, "reset-password", "frank", "--reason", "called", input=pw)
    assert r.code == 1 and "[IDENTITY_CHECK_REQUIRED]" in r.stderr
    r = cli(*desk, "reset-password", "frank", "--reason", "called", "--identity-check", "callback to HR number",
            input=pw)
    assert r.code == 0, r.stderr
    ev = audit.query(ctx, READER, user="frank", action="password.reset").items
    assert [e.outcome for e in ev] == ["ok", "denied"]
    assert ev[0].identity_check == "callback to HR number" and ev[0].operator == "desk"


def test_set_password_from_stdin_enforces_policy(cli, ctx, initialized):
    as_root(cli, initialized, "users", "create", "gina", "--name", "Gina Rossi")
    before = listing.get_user(ctx, READER, "gina")
    r = as_root(cli, initialized, "set-password", "gina", "--reason", "r",
                "--password-stdin", "--json", extra_stdin="password\n")
    assert r.code == 1
    assert r.json()["error_code"] == "WEAK_PASSWORD"
    assert "length:" in r.json()["error_msg"] and "not_common:" in r.json()["error_msg"]
    assert listing.get_user(ctx, READER, "gina") == before
    r = as_root(cli, initialized, "set-password", "gina", "--reason", "r", "--password-stdin",
                extra_stdin="a perfectly fine long passphrase\n")
    assert r.code == 0, r.stderr
    assert auth.authenticate(ctx, "gina", "a perfectly fine long passphrase").authenticated


def test_set_password_refused_when_config_forbids_it(cli, ctx, initialized):
    as_root(cli, initialized, "users", "create", "hank")
    r = as_root(cli, initialized, "set-password", "hank", "--reason", "r", "--password-stdin",
                extra_stdin="a perfectly fine long passphrase\n", env={"USERDESK_ADMIN_MAY_SET_PASSWORD": "false"})
    assert r.code == 1 and "[SET_PASSWORD_DISABLED]" in r.stderr


def test_invalid_utf8_on_stdin_is_a_clear_error(cli):
    r = cli("policy", "check", input=b"abc\xff\xfe\n")
    assert r.code == 1
    assert "not valid UTF-8" in r.stderr and "[INVALID_INPUT]" in r.stderr


def test_policy_check_reports_every_rule(cli):
    r = cli("policy", "check", "--json", input="Tr0ub4dor&3\n")
    assert r.code == 1
    data = r.json()
    assert data["policy"] == "nist"
    verdicts = {x["rule"]: x["ok"] for x in data["rules"]}
    assert verdicts["length"] is False and verdicts["not_common"] is True
    r = cli("policy", "check", input="correct horse battery staple\n")
    assert r.code == 0 and "✓ 15 to 64 characters" in r.stdout
    r = cli("policy", "check", env={"USERDESK_POLICY": "dcs"}, input="-Abcdefg1\n")
    assert r.code == 1 and "✗ does not start with '-'" in r.stdout


def test_policy_show_says_how_long_a_new_password_lasts(cli):
    r = cli("policy", "show", "--json")
    assert r.code == 0 and r.json()["expiry_days"] == 0 and r.json()["settings"]["expiry_days"] == 0  # nist
    assert cli("policy", "show").stdout.rstrip().endswith("new passwords do not expire")
    preset_760 = {"USERDESK_POLICY_OVERRIDES": "expiry_days = 760"}
    assert cli("policy", "show", "--json", env=preset_760).json()["expiry_days"] == 760
    told = cli("policy", "show", env={**preset_760, "USERDESK_PASSWORD_EXPIRY_DAYS": "30"})
    assert told.stdout.rstrip().endswith("new passwords expire after 30 days")


@pytest.mark.parametrize(
    "args, field",
    [
        (["--name", "\x1b[31mred"], "display_name"),
        (["--name", "x" * 10_000], "display_name"),
        (["--email", "not an email"], "email"),
        (["--reason", "why\x00"], "reason"),
        (["--name", "evil\u202etxt.exe"], "display_name"),
    ],
)
def test_hostile_values_are_refused_naming_the_field(cli, ctx, initialized, args, field):
    r = as_root(cli, initialized, "users", "create", "ivan", *args, "--json")
    assert r.code == 1
    assert r.json()["error_code"] == "INVALID_INPUT"
    assert r.json()["error_msg"].startswith(field)
    assert listing.list_users(ctx, READER, search="ivan").items == []


@pytest.mark.parametrize("name", ["", "x" * 10_000, "bad name", "ünï", "a\x1bb", "-dash"])
def test_bad_usernames_are_refused(cli, initialized, name):
    r = as_root(cli, initialized, "users", "create", "--json", "--", name)
    assert r.code == 1
    assert r.json()["error_code"] == "INVALID_INPUT"
    assert r.json()["error_msg"].startswith("username")


def test_stored_hostile_text_is_printed_inertly(cli, ctx, initialized):
    """Rows written by the application itself may hold anything; output escapes it."""
    as_root(cli, initialized, "users", "create", "jane")
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE users SET display_name = :d, blocked = true, blocked_reason = :r WHERE username='jane'"),
                     {"d": "\x1b[2J\x1b]52;c;aGk=\x07Jane", "r": "\x9b31m\u202eevil"})
    for args in (["users", "list"], ["users", "show", "jane"]):
        r = cli(*args)
        assert r.code == 0
        assert "\x1b" not in r.stdout and "\x9b" not in r.stdout and "\u202e" not in r.stdout and "\x07" not in r.stdout
    shown = cli("users", "show", "jane").stdout
    assert "\\x1b[2J\\x1b]52;c;aGk=\\x07Jane" in shown
    assert "\\x9b31m\\u202eevil" in shown


def test_tickets_issue_list_redeem(cli, ctx, initialized):
    as_root(cli, initialized, "users", "create", "kim")
    r = as_root(cli, initialized, "ticket", "issue", "kim", "--lifetime", "30", "--json")
    assert r.code == 0, r.stderr
    issued = r.json()
    assert issued["token"] in issued["url"]
    listed = cli("ticket", "list", "kim", "--json").json()
    assert [t["id"] for t in listed] == [issued["id"]]
    assert issued["token"] not in json.dumps(listed)
    r = cli("ticket", "redeem", input=f"{issued['token']}\na brand new passphrase for me\n")
    assert r.code == 0, r.stderr
    assert auth.authenticate(ctx, "kim", "a brand new passphrase for me").authenticated
    again = cli("ticket", "redeem", "--json", input=f"{issued['token']}\nanother new passphrase here\n")
    assert again.code == 1 and again.json()["error_code"] == "TICKET_INVALID"
    r = as_root(cli, initialized, "ticket", "issue", "kim", "--lifetime", "5000")
    assert r.code == 1 and "lifetime_minutes" in r.stderr


def test_ticket_email_sends_the_link_and_prints_only_where_it_went(cli, ctx, initialized, tmp_path):
    import email
    import re

    as_root(cli, initialized, "users", "create", "kim", "--email", "kim@example.com")
    outbox = tmp_path / "outbox"
    env = {"USERDESK_MAIL_DELIVERY": "outbox", "USERDESK_MAIL_OUTBOX": str(outbox)}
    r = as_root(cli, initialized, "ticket", "email", "kim", "--lifetime", "30", env=env)
    assert r.code == 0, r.stderr
    assert "reset link for kim emailed to kim@example.com (outbox); valid until" in r.stdout
    [eml] = outbox.iterdir()
    body = email.message_from_bytes(eml.read_bytes()).get_payload(decode=True).decode()
    token = re.search(r"token=([A-Za-z0-9_-]+)", body).group(1)
    assert token not in r.stdout + r.stderr
    data = as_root(cli, initialized, "ticket", "email", "kim", "--json", env=env).json()
    assert data["to"] == "kim@example.com" and data["ticket"]["username"] == "kim" and "token" not in json.dumps(data)
    r = as_root(cli, initialized, "ticket", "email", "kim", "--json")  # delivery off (the default)
    assert r.code == 1 and r.json()["error_code"] == "MAIL_FAILED"


def test_block_unblock_sessions_and_audit_verify(cli, ctx, initialized):
    from console.services import sessions

    as_root(cli, initialized, "users", "create", "lee")
    sessions.open_session(ctx, "lee", client="web")
    assert len(cli("sessions", "list", "lee", "--json").json()) == 1
    r = as_root(cli, initialized, "users", "block", "lee", "--reason", "fraud review")
    assert r.code == 0, r.stderr
    assert cli("sessions", "list", "lee", "--json").json() == []
    assert "blocked" in cli("users", "show", "lee", "--json").json()["status"]
    assert as_root(cli, initialized, "users", "unblock", "lee").code == 0
    r = cli("audit", "--verify")
    assert r.code == 0 and "intact" in r.stdout
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET reason = 'nothing to see' WHERE action = 'user.block'"))
    r = cli("audit", "--verify", "--json")
    assert r.code == 1
    assert r.json()["ok"] is False and r.json()["broken_at"] is not None


def test_read_only_refuses_changes(cli, ctx, initialized):
    as_root(cli, initialized, "users", "create", "mia")
    r = as_root(cli, initialized, "--read-only", "force-change", "mia", "--off")
    assert r.code == 1 and "[READ_ONLY]" in r.stderr
    r = as_root(cli, initialized, "force-change", "mia", "--off", env={"USERDESK_READ_ONLY": "1"})
    assert r.code == 1 and "[READ_ONLY]" in r.stderr
    assert listing.get_user(ctx, READER, "mia").must_change_password is True


def test_expect_version_detects_a_stale_view(cli, ctx, initialized):
    as_root(cli, initialized, "users", "create", "noor")
    v = cli("users", "show", "noor", "--json").json()["version"]
    assert as_root(cli, initialized, "expire", "noor", "--expect-version", str(v)).code == 0
    r = as_root(cli, initialized, "force-change", "noor", "--off", "--expect-version", str(v))
    assert r.code == 1 and "[STALE_RECORD]" in r.stderr


def test_users_list_pages_with_cursor(cli, ctx, initialized):
    for i in range(7):
        as_root(cli, initialized, "users", "create", f"page{i}", "--no-password")
    first = cli("users", "list", "--search", "page", "--limit", "3", "--json").json()
    names = [u["username"] for u in first["items"]]
    nxt = first["next_cursor"]
    while nxt:
        page = cli("users", "list", "--search", "page", "--limit", "3", "--cursor", nxt, "--json").json()
        names += [u["username"] for u in page["items"]]
        nxt = page["next_cursor"]
    assert names == [f"page{i}" for i in range(7)]
    everything = cli("users", "list", "--search", "page", "--limit", "3", "--all", "--json").json()
    assert [u["username"] for u in everything["items"]] == names
    r = cli("users", "list", "--cursor", "garbage!")
    assert r.code == 1 and "cursor" in r.stderr


def test_demo_builds_a_database_with_every_state(cli, tmp_path):
    db = tmp_path / "demo.db"
    r = cli("--db", f"sqlite:///{db}", "demo", "--users", "300", "--json")
    assert r.code == 0, r.stderr
    made = r.json()["created"]
    assert made["users"] == 300
    for k in ("blocked", "locked", "expired", "must_change", "external", "sessions"):
        assert made[k] > 0, k
    r = cli("--db", f"sqlite:///{db}", "users", "list", "--external", "--limit", "5", "--json")
    assert all(u["source"] != "local" for u in r.json()["items"]) and r.json()["items"]
    # Trusted operators work only where trusted mode is on.
    r = cli("--db", f"sqlite:///{db}", "--operator", "demo-admin", "expire", "demo-viewer")
    assert r.code == 1 and "[INVALID_INPUT]" in r.stderr  # no terminal, no password
    r = cli("--db", f"sqlite:///{db}", "--operator", "demo-admin", "expire", "demo-viewer",
            env={"USERDESK_TRUSTED_OPERATOR": "true"})
    assert r.code == 0, r.stderr
    again = cli("--db", f"sqlite:///{db}", "demo")
    assert again.code == 0 and "already exists" in again.stdout


def test_demo_prints_its_operators_passwords_once_and_they_sign_in(cli, tmp_path):
    db = tmp_path / "demo.db"
    r = cli("--db", f"sqlite:///{db}", "demo", "--users", "20")
    assert r.code == 0, r.stderr
    shown = dict(re.findall(r"^  (demo-[a-z]+): (\S+)$", r.stdout, re.M))
    assert set(shown) == {"demo-admin", "demo-helpdesk", "demo-viewer"}
    assert len(set(shown.values())) == 3  # each their own
    r = cli("--db", f"sqlite:///{db}", "--operator", "demo-helpdesk", "--password-stdin", "users", "show",
            "demo-viewer", input=shown["demo-helpdesk"] + "\n")
    assert r.code == 0, r.stderr
    again = cli("--db", f"sqlite:///{db}", "demo")
    assert not any(pw in again.stdout for pw in shown.values())  # shown once, when built
    made = cli("--db", f"sqlite:///{tmp_path / 'd2.db'}", "demo", "--users", "5", "--json").json()["created"]
    assert set(made["operator_passwords"]) == {"demo-admin", "demo-helpdesk", "demo-viewer"}


def test_config_errors_are_reported(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("password_expiry_days = -3\n")
    r = cli("--config", str(bad), "users", "list")
    assert r.code == 1 and "[CONFIG_INVALID]" in r.stderr and "password_expiry_days" in r.stderr
    r = cli("--profile", "nope", "users", "list", "--json")
    assert r.json()["error_code"] == "CONFIG_INVALID"


def test_change_password_wrong_old_password(cli, initialized):
    r = cli("--operator", "root", "--password-stdin", "change-password",
            input="not it\nwhatever new passphrase\nwhatever new passphrase\n")
    assert r.code == 1 and "[AUTH_FAILED]" in r.stderr


def test_python_dash_m_console_runs(cli_env):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "console", "--version"], capture_output=True, text=True,
                       env={**os.environ, **cli_env})
    assert r.returncode == 0 and r.stdout.startswith("userdesk ")


def test_bulk_previews_confirms_and_applies(cli, ctx, initialized):
    for i in range(5):
        as_root(cli, initialized, "users", "create", f"bulk{i}", "--no-password")
    for i in range(3):
        as_root(cli, initialized, "users", "create", f"pw{i}")
    r = as_root(cli, initialized, "bulk", "expire", "--role", "member", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["count"] == 3  # only accounts with a local password
    r = as_root(cli, initialized, "bulk", "expire", "--role", "member")
    assert r.code == 1 and "--yes" in r.stderr  # no terminal to confirm on
    r = as_root(cli, initialized, "bulk", "expire", "--role", "member", "--yes", "--reason", "audit", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["count"] == 3
    now = datetime.now(timezone.utc)  # the CLI ran on the real clock, not the fixture's
    assert all(listing.get_user(ctx, READER, f"pw{i}").password_expires_at <= now for i in range(3))
    assert listing.get_user(ctx, READER, "bulk0").password_expires_at is None
    r = as_root(cli, initialized, "bulk", "delete", "--yes")
    assert r.code == 1 and "[INVALID_INPUT]" in r.stderr


def test_a_read_on_a_mistyped_sqlite_path_creates_nothing_and_names_it(cli, tmp_path):
    missing = tmp_path / "typo" / "userdesk.db"
    for args in (("users", "list"), ("db", "current"), ("audit",), ("users", "show", "bob")):
        r = cli("--db", f"sqlite:///{missing}", *args, "--json")
        assert r.code == 1, args
        assert r.json()["error_code"] == "NOT_INITIALIZED" and str(missing) in r.json()["error_msg"], args
    assert not missing.parent.exists()
    made = cli("--db", f"sqlite:///{missing}", "init", "--admin", "root", "--json")
    assert made.code == 0, made.stderr
    assert missing.exists()


def test_an_action_already_done_succeeds_saying_nothing_changed(cli, initialized):
    name, pw = initialized
    assert cli("--operator", name, "--password-stdin", "users", "create", "mia", input=pw + "\n").code == 0
    assert cli("--operator", name, "--password-stdin", "force-change", "mia", "--off", input=pw + "\n").code == 0
    first = cli("--operator", name, "--password-stdin", "force-change", "mia", input=pw + "\n")
    assert first.code == 0 and "must change password" in first.stdout
    again = cli("--operator", name, "--password-stdin", "force-change", "mia", input=pw + "\n")
    assert again.code == 0, again.stderr
    assert again.stdout.strip() == "nothing changed: mia already has to change password"
    as_json = cli("--operator", name, "--password-stdin", "force-change", "mia", "--json", input=pw + "\n")
    assert as_json.code == 0 and as_json.json() == {"changed": False,
                                                      "message": "mia already has to change password"}
    unblock = cli("--operator", name, "--password-stdin", "users", "unblock", "mia", input=pw + "\n")
    assert unblock.code == 0 and unblock.stdout.startswith("nothing changed: mia is not blocked")


def test_policy_check_for_a_named_user_does_not_claim_the_reuse_rule_passed(cli, initialized):
    """bob's current password passes `policy check`, but set-password refuses it
    as reused: the check says the rule was not checked, rather than ✓."""
    name, pw = initialized
    current = "violet Harbour lamps 2031 quay"
    assert cli("--operator", name, "--password-stdin", "users", "create", "bob", input=pw + "\n").code == 0
    assert cli("--operator", name, "--password-stdin", "set-password", "bob", "--reason", "r", "--password-stdin",
               input=f"{pw}\n{current}\n").code == 0
    r = cli("policy", "check", "--username", "bob", input=current + "\n")
    reuse = [line for line in r.stdout.splitlines() if "last 5 passwords" in line]
    assert reuse == ["  · not one of the last 5 passwords (not checked here: checked when the password is set)"]
    data = cli("policy", "check", "--username", "bob", "--json", input=current + "\n").json()
    assert [x["checked"] for x in data["rules"] if x["rule"] == "not_reused"] == [False]
    refused = cli("--operator", name, "--password-stdin", "set-password", "bob", "--reason", "r",
                  "--password-stdin", "--json",
                  input=f"{pw}\n{current}\n")
    assert refused.json()["error_code"] == "WEAK_PASSWORD"


def test_an_expired_session_or_ticket_is_listed_as_expired(cli, ctx, initialized, clock):
    from datetime import timedelta

    from console.services import sessions as session_service
    from console.services import tickets as ticket_service
    from console.services.context import Actor

    name, pw = initialized
    assert cli("--operator", name, "--password-stdin", "users", "create", "kim", input=pw + "\n").code == 0
    session_service.open_session(ctx, "kim", client="laptop")
    ticket_service.issue_ticket(ctx, Actor.system("test"), "kim", lifetime_minutes=5)
    # The CLI reads the real clock: make both end in the past, as time would.
    from sqlalchemy import text

    with ctx.engine.begin() as conn:
        past = clock.now - timedelta(days=400)
        conn.execute(text("UPDATE user_sessions SET expires_at = :p"), {"p": past})
        conn.execute(text("UPDATE reset_tickets SET expires_at = :p"), {"p": past})
    listed = cli("sessions", "list", "kim", "--all", "--json").json()
    assert [s["state"] for s in listed] == ["expired"]
    assert cli("sessions", "list", "kim", "--all").stdout.splitlines()[1].rstrip().endswith("expired")
    tickets_listed = cli("ticket", "list", "kim", "--all", "--json").json()
    assert [t["state"] for t in tickets_listed] == ["expired"]
    assert cli("ticket", "list", "kim", "--all").stdout.splitlines()[1].rstrip().endswith("expired")


def test_set_password_where_operators_may_not_choose_one_says_so_without_reading_it(cli, initialized):
    name, pw = initialized
    assert cli("--operator", name, "--password-stdin", "users", "create", "kim", input=pw + "\n").code == 0
    r = cli("--operator", name, "--password-stdin", "set-password", "kim", "--reason", "r",
            "--password-stdin", "--json",
            env={"USERDESK_ADMIN_MAY_SET_PASSWORD": "false"}, input=pw + "\n")  # no line for the new password
    assert r.code == 1 and r.json()["error_code"] == "SET_PASSWORD_DISABLED"


def test_users_list_help_says_how_searches_are_ordered(cli):
    out = " ".join(cli("users", "list", "--help").stdout.split())
    assert "ordered by username, or with --search in the order the accounts were created" in out


def test_reset_password_the_way_zato_takes_and_prints_it(cli, ctx, initialized):
    import re

    from console.services import auth as auth_service

    name, pw = initialized
    assert as_root(cli, initialized, "users", "create", "zed").code == 0
    r = as_root(cli, initialized, "reset-password", "zed", "--reason", "r", "--must-change", "false")
    assert r.code == 0, r.stderr
    m = re.fullmatch(r"Password for user `zed` reset to `(\S+)`\n", r.stdout)
    assert m, r.stdout
    assert auth_service.authenticate(ctx, "zed", m.group(1)).status == "ok"  # --must-change false: none required
    r = as_root(cli, initialized, "reset-password", "zed", "--reason", "r", "--must-change", "true", "--json")
    assert auth_service.authenticate(ctx, "zed", r.json()["password"]).status == "must_change"
    r = as_root(cli, initialized, "reset-password", "zed", "--reason", "r",
                "--must-change", "--json")  # the flag alone: true
    assert r.json()["must_change"] is True
    bad = as_root(cli, initialized, "reset-password", "zed", "--reason", "r", "--must-change", "maybe", "--json")
    assert bad.code == 2 and "maybe" in bad.stderr  # not a value it takes: a usage error, nothing reset
    # DCS: the new password given on stdin is set, under the policy.
    given = "violet Harbour lamps 2031 quay"
    r = cli("--operator", name, "--password-stdin", "reset-password", "zed", "--reason", "r",
            "--password-stdin", "--no-must-change",
            input=f"{pw}\n{given}\n")
    assert r.code == 0, r.stderr
    assert given not in r.stdout and auth_service.authenticate(ctx, "zed", given).status == "ok"
    weak = cli("--operator", name, "--password-stdin", "reset-password", "zed", "--reason", "r",
               "--password-stdin", "--json",
               input=f"{pw}\nshort\n")
    assert weak.json()["error_code"] == "WEAK_PASSWORD"

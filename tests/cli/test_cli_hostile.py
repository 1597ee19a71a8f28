"""The hostile-input corpus through the CLI: as arguments and on standard
input it is refused with the field named (exit 1) or taken as text; stored
behind the services' back, it is printed inertly by every listing, with
control characters shown as escapes (``\\x1b``), never sent raw."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from hostile import CORPUS, invisible, unsafe

ITEMS = sorted(CORPUS.items())


def as_root(cli, initialized, *args, stdin: str = ""):
    name, pw = initialized
    return cli("--operator", name, "--password-stdin", *args, input=pw + "\n" + stdin)


@pytest.mark.parametrize("name, value", ITEMS, ids=[n for n, _ in ITEMS])
def test_as_arguments_refused_naming_the_field_or_kept_as_text(cli, ctx, initialized, name, value):
    r = as_root(cli, initialized, "users", "create", "hostile", "--name", value[:128], "--json")
    if unsafe(value[:128]):
        assert r.code == 1 and r.json()["error_code"] == "INVALID_INPUT"
        assert r.json()["error_msg"].startswith("display_name")
    else:
        assert r.code == 0, r.stdout + r.stderr
        assert cli("users", "show", "hostile", "--json").json()["display_name"] == value[:128]
    r = as_root(cli, initialized, "users", "create", value)
    assert r.code == 1 and "username" in r.stderr and "[INVALID_INPUT]" in r.stderr
    assert not invisible(r.stderr.replace("\n", ""))  # the refusal does not echo the raw value


@pytest.mark.parametrize("name, value", ITEMS, ids=[n for n, _ in ITEMS])
def test_on_standard_input_as_a_new_password(cli, ctx, initialized, name, value):
    assert as_root(cli, initialized, "users", "create", "kim").code == 0
    r = as_root(cli, initialized, "set-password", "kim", "--reason", "r",
                "--password-stdin", "--json", stdin=value + "\n")
    out = r.stdout + r.stderr
    assert value not in out  # never echoed
    if r.code:
        assert json.loads(r.stdout)["error_code"] in ("INVALID_INPUT", "WEAK_PASSWORD")
    assert not invisible(out.replace("\n", ""))


def test_stored_corpus_is_printed_inertly_by_every_listing(cli, ctx, initialized):
    name, _ = initialized
    for i, (key, value) in enumerate(ITEMS):
        if "\x00" in value and ctx.engine.dialect.name == "postgresql":
            value = value.replace("\x00", "")  # PostgreSQL text cannot hold NUL at all
        assert as_root(cli, initialized, "users", "create", f"h{i:02d}").code == 0
        with ctx.engine.begin() as conn:  # behind the services' back: they refuse most of these
            conn.execute(text("UPDATE users SET display_name = :d, blocked = true, blocked_reason = :r "
                              "WHERE username = :u"), {"d": value[:128], "r": value[:500], "u": f"h{i:02d}"})
            conn.execute(text("UPDATE audit_events SET reason = :r WHERE target = :u"),
                         {"r": value[:500], "u": f"h{i:02d}"})
    outputs = [cli("users", "list", "--limit", "100"), cli("users", "list", "--json", "--limit", "100"),
               cli("audit", "--limit", "200"), cli("audit", "--json", "--limit", "200")]
    outputs += [cli("users", "show", f"h{i:02d}") for i in range(len(ITEMS))]
    for r in outputs:
        assert r.code == 0, r.stderr
        assert not invisible(r.stdout.replace("\n", "")), repr(sorted(invisible(r.stdout.replace("\n", ""))))
    shown = "".join(r.stdout for r in outputs)
    for visible in ("\\x1b[31mred", "\\u202eevil", "a\\u200bb", "\\x9b31mred", "\\x1b]52;c;aGVsbG8=\\x07"):
        assert visible in shown, visible
    assert "[bold]x[/bold]" in shown and "'; DROP TABLE users; --" in shown


# Bytes that are not UTF-8 arrive in sys.argv as lone surrogates ("surrogateescape").
NOT_UTF8 = b"ab\xff\xfecd".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("args, field", [
    (["users", "create", NOT_UTF8], "username"),
    (["users", "create", "kim", "--name", NOT_UTF8], "--name"),
    (["users", "create", "kim", "--email", NOT_UTF8], "--email"),
    (["users", "list", "--search", NOT_UTF8], "--search"),
    (["--operator", NOT_UTF8, "users", "list"], "--operator"),
    (["bulk", NOT_UTF8], "action"),  # as its usage line names it (ACTION), not the code's action_name
])
def test_an_argument_that_is_not_utf8_is_refused_naming_it(cli, ctx, initialized, args, field):
    before = cli("audit", "--json", "--limit", "5").stdout
    r = as_root(cli, initialized, *args, "--json") if args[0] != "--operator" else cli(*args, "--json")
    assert r.code == 1
    assert r.json() == {"error_code": "INVALID_INPUT", "error_msg": f"{field}: not valid UTF-8"}
    assert cli("users", "show", "kim").code == 1  # nothing was created
    assert cli("audit", "--json", "--limit", "5").stdout == before


def test_a_stored_hostile_username_is_printed_inertly_by_every_command_that_names_it(cli, ctx, initialized):
    """Usernames stored behind the services' back reach the output of commands
    that take an id (ticket revoke) or print many accounts (lists, audit):
    every line of every one shows control characters as escapes."""
    hostile = [(k, v.replace("\x00", "")[:64]) for k, v in ITEMS if invisible(v)]
    ids = {}
    for i, (key, value) in enumerate(hostile):
        assert as_root(cli, initialized, "users", "create", f"h{i:02d}", "--email", f"h{i:02d}@example.com").code == 0
        issued = as_root(cli, initialized, "ticket", "issue", f"h{i:02d}", "--json")
        assert issued.code == 0, issued.stderr
        ids[value] = issued.json()["id"]
        with ctx.engine.begin() as conn:
            conn.execute(text("UPDATE users SET username = :v, blocked = true WHERE username = :u"),
                         {"v": value, "u": f"h{i:02d}"})
    outputs = [as_root(cli, initialized, "ticket", "revoke", str(ticket), "--reason", "x") for ticket in ids.values()]
    outputs += [as_root(cli, initialized, "bulk", "force_change", "--blocked", "--reason", "x", "--yes"),
                cli("users", "list", "--limit", "100"), cli("users", "list", "--blocked"), cli("operators", "list"),
                cli("audit", "--limit", "300")]
    for r in outputs:
        assert r.code == 0, r.stdout + r.stderr
        for stream in (r.stdout, r.stderr):
            assert not invisible(stream.replace("\n", "")), repr(sorted(invisible(stream.replace("\n", ""))))
    revoked = "".join(r.stdout for r in outputs[:len(ids)])
    assert "revoked ticket" in revoked and "\\x1b[31mred" in revoked

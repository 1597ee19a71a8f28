"""The CLI with its database server gone: a clear message on stderr (or JSON),
a non-zero exit, nothing half done; and fine again once the server is back."""

from __future__ import annotations

import json

import pytest

from console.services import auth

pytestmark = pytest.mark.postgresql_only


def test_a_command_while_the_server_is_down(cli, ctx, initialized, outage):
    name, pw = initialized
    r = cli("--operator", name, "--password-stdin", "users", "create", "kim", input=pw + "\n")
    assert r.code == 0, r.stderr
    with outage():
        r = cli("users", "list")
        assert r.code == 1 and r.stdout == ""
        assert r.stderr.strip() == "error: database unavailable: OperationalError [DB_UNAVAILABLE]"
        r = cli("--operator", name, "--password-stdin", "reset-password", "kim", "--reason", "r",
                "--json", input=pw + "\n")
        assert r.code == 1 and json.loads(r.stdout)["error_code"] == "DB_UNAVAILABLE"
        assert pw not in r.stdout + r.stderr
    r = cli("--operator", name, "--password-stdin", "reset-password", "kim", "--reason", "r", "--json", input=pw + "\n")
    assert r.code == 0, r.stderr
    assert auth.authenticate(ctx, "kim", r.json()["password"]).authenticated

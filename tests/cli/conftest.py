"""Running the ``userdesk`` CLI in-process against the test database.

The CLI sees the same SQLite file as the ``ctx`` fixture, so a test can act
through the CLI and check the outcome through the services."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from console.cli import app
from console.config import Settings
from console.security.hashing import Argon2Params


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli_env(tmp_path, settings, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    env = {
        "USERDESK_CONFIG": str(cfg),
        "USERDESK_DATABASE_URL": settings.database_url,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
    }
    for k in ("USERDESK_PROFILE", "USERDESK_OPERATOR"):
        monkeypatch.delenv(k, raising=False)
    # argon2's cheapest parameters, below what a configuration may ask for: in
    # this process only (the CLI runs in it).
    monkeypatch.setattr(Settings, "argon2_params", lambda self: Argon2Params.cheapest())
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def cli(cli_env):
    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None, env: dict | None = None) -> Run:
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def initialized(cli, ctx):
    """`userdesk init` has run: returns the admin's (username, password)."""
    r = cli("init", "--admin", "root", "--json")
    assert r.code == 0, r.stderr
    return "root", r.json()["password"]

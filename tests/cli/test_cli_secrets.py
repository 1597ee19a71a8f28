"""Secret hygiene, end to end: a scripted session resets, sets and changes
passwords, issues and emails tickets and redeems one. Afterwards every
password and token involved is searched for in the database (its files on
SQLite, every row on PostgreSQL), the logs and other files the run wrote, the
audit export, every command's output, and screenshots of the console. Each
may appear only in the one output that displayed it once."""

from __future__ import annotations

import email
import re
from pathlib import Path

from sqlalchemy import inspect, text

from console.services.context import Actor
from console.tui.app import UserdeskApp
from console.tui.clipboard import Clipboard

GOOD = "a chosen passphrase for her 1"
OWN = "the operators own new one 2"
REDEEMED = "the user picked this herself 3"


def _files_text(root: Path) -> dict[str, str]:
    return {str(p): p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file()}


def _database_text(ctx) -> str:
    if ctx.engine.dialect.name == "sqlite":
        path = Path(ctx.engine.url.database)
        return "".join(Path(f"{path}{suffix}").read_bytes().decode("latin-1")
                       for suffix in ("", "-wal", "-journal") if Path(f"{path}{suffix}").exists())
    with ctx.engine.connect() as conn:
        return "\n".join(repr(tuple(row)) for table in inspect(conn).get_table_names()
                         for row in conn.execute(text(f'SELECT * FROM "{table}"')))


async def _screenshots(ctx, tmp_path) -> list[str]:
    """The console as an operator sees it after the session: the list, and kim's
    account, tickets and activity tabs."""
    from console.tui.screens.detail import UserDetailScreen

    shots: list[str] = []
    app = UserdeskApp(ctx, actor=_root_actor(ctx), remember_path=tmp_path / "state.json",
                      clipboard=Clipboard(lambda _t: None, env={}))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if type(app.screen).__name__ == "UsersScreen":
                break
        shots.append(app.export_screenshot())
        app.push_screen(UserDetailScreen("kim"))
        for _ in range(100):
            await pilot.pause(0.02)
            if getattr(app.screen, "detail", None) is not None:
                break
        for tab in ("1", "3", "4"):
            await pilot.press(tab)
            await pilot.pause(0.05)
            shots.append(app.export_screenshot())
    return shots


def _root_actor(ctx) -> Actor:
    with ctx.engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM users WHERE username = 'root'")).scalar()
    return Actor(uid, "root", "admin", "trusted")


async def test_no_secret_is_left_anywhere(cli, cli_env, ctx, tmp_path, monkeypatch):
    # Every place the run may write (data, config, state and logs, cache) is under tmp_path, searched below.
    for var in ("XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    outbox = tmp_path / "outbox"
    outputs: dict[str, str] = {}
    shown_by: dict[str, str] = {}  # secret -> the one output that displayed it

    def run(label: str, *args: str, input: str | None = None, env: dict | None = None):
        r = cli(*args, input=input, env=env)
        assert r.code == 0, (label, r.stderr)
        outputs[label] = r.stdout + r.stderr
        return r

    r = run("init", "init", "--admin", "root", "--json")
    root_pw = r.json()["password"]
    shown_by[root_pw] = "init"

    def as_root(label, *args, stdin_extra: str = "", env=None):
        return run(label, "--operator", "root", "--password-stdin", *args, input=root_pw + "\n" + stdin_extra,
                   env=env)

    as_root("create", "users", "create", "kim", "--email", "kim@example.com", "--no-password")
    reset = as_root("reset", "reset-password", "kim", "--reason", "r", "--json").json()["password"]
    shown_by[reset] = "reset"
    as_root("set", "set-password", "kim", "--reason", "r", "--password-stdin", stdin_extra=GOOD + "\n")
    shown_by[GOOD] = "(typed)"
    issued = as_root("ticket", "ticket", "issue", "kim", "--json").json()
    shown_by[issued["token"]] = "ticket"
    env = {"USERDESK_MAIL_DELIVERY": "outbox", "USERDESK_MAIL_OUTBOX": str(outbox)}
    as_root("email", "ticket", "email", "kim", env=env)
    [eml] = outbox.iterdir()
    mailed = re.search(r"token=([A-Za-z0-9_-]+)",
                       email.message_from_bytes(eml.read_bytes()).get_payload(decode=True).decode()).group(1)
    run("redeem", "ticket", "redeem", input=f"{mailed}\n{REDEEMED}\n")
    shown_by[mailed] = "(mailed)"
    shown_by[REDEEMED] = "(typed)"
    run("change-own", "--operator", "root", "--password-stdin", "change-password", input=f"{root_pw}\n{OWN}\n")
    shown_by[OWN] = "(typed)"
    for label, args in {"show": ("users", "show", "kim", "--json"), "list": ("users", "list", "--json"),
                        "tickets": ("ticket", "list", "kim", "--all", "--json"),
                        "audit": ("audit", "--limit", "500", "--json"), "verify": ("audit", "--verify"),
                        "checkpoint": ("audit", "checkpoint")}.items():
        run(label, *args)
    assert "intact" in outputs["verify"]

    places = {f"output of {label}": out for label, out in outputs.items()}
    places["the database"] = _database_text(ctx)
    files = _files_text(tmp_path)
    files.pop(str(eml))  # the mail itself carries its link: that is its delivery
    places.update({f"file {name}": body for name, body in files.items()})
    for i, shot in enumerate(await _screenshots(ctx, tmp_path / "tui")):
        places[f"screenshot {i}"] = shot
    assert "kim" in places["screenshot 1"] and "Tickets" in places["screenshot 2"]

    for secret, shown in shown_by.items():
        found = [where for where, body in places.items() if secret in body and where != f"output of {shown}"]
        assert found == [], f"a secret shown by {shown} is also in {found}"
    # The audit key: in its own 0600 file only (never the database, an output or a screen).
    [key_file] = [name for name in files if "/audit-keys/" in name and name.endswith(".key")]
    key = files[key_file].strip()
    assert [where for where, body in places.items() if key in body] == [f"file {key_file}"]
    for secret, shown in shown_by.items():
        if not shown.startswith("("):
            assert secret in outputs[shown]  # and it was shown, once, where it should be

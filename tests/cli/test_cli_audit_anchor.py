"""``userdesk audit checkpoint`` and ``audit --verify --against FILE`` (issue 12,
item 1): a checkpoint kept outside the database catches a log cut back to an
earlier state, which the database alone cannot show; without the audit key
nothing changes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sqlalchemy import text

from console.config import audit_keys_dir


def as_root(cli, initialized, *args, **kw):
    name, password = initialized
    return cli("--operator", name, "--password-stdin", *args, input=password + "\n", **kw)


def sql(ctx, stmt: str, **params):
    with ctx.engine.begin() as conn:
        return list(conn.execute(text(stmt), params)) if stmt.startswith("SELECT") else conn.execute(text(stmt), params)


def test_init_says_where_the_key_is(cli, ctx):
    r = cli("init", "--admin", "root")
    assert r.code == 0, r.stderr
    [(key_id,)] = sql(ctx, "SELECT key_id FROM audit_head")
    path = audit_keys_dir() / f"{key_id}.key"
    assert f"signed with key {key_id}, kept in {path}" in r.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() not in r.stdout + r.stderr


def test_checkpoint_then_cut_back_then_verify_against(cli, ctx, initialized, tmp_path):
    for name in ("ann", "ben"):
        assert as_root(cli, initialized, "users", "create", name).code == 0
    [(seq, hash_, mac)] = sql(ctx, "SELECT seq, hash, mac FROM audit_head")  # what an intruder saves
    for name in ("cid", "dee"):
        assert as_root(cli, initialized, "users", "create", name).code == 0
    [(last,)] = sql(ctx, "SELECT seq FROM audit_head")  # sign-ins are events too
    cp = tmp_path / "cp.json"
    r = cli("audit", "checkpoint", "--output", str(cp))
    assert r.code == 0 and f"written to {cp}" in r.stdout
    data = json.loads(cp.read_text())
    assert data["seq"] == last and set(data) >= {"hash", "key_id", "signature", "at", "made_at"}
    again = json.loads(cli("audit", "checkpoint").stdout)  # to standard output too
    assert (again["seq"], again["hash"]) == (data["seq"], data["hash"])
    r = cli("audit", "--verify", "--against", str(cp))
    assert r.code == 0 and "holding the checkpoint's event" in r.stdout

    sql(ctx, f"DELETE FROM audit_events WHERE seq > {seq}")
    sql(ctx, "UPDATE audit_head SET seq = :s, hash = :h, mac = :m", s=seq, h=hash_, m=mac)
    assert cli("audit", "--verify").code == 0  # every signature holds: the database alone cannot tell
    r = cli("audit", "--verify", "--against", str(cp))
    assert r.code == 1 and f"event #{last}" in r.stderr and "cut back" in r.stderr
    r = cli("audit", "--verify", "--against", str(cp), "--json")
    assert r.code == 1 and r.json()["ok"] is False and r.json()["broken_at"] == last


def test_checkpoint_refuses_to_overwrite_and_against_needs_verify(cli, ctx, initialized, tmp_path):
    cp = tmp_path / "cp.json"
    cp.write_text("keep me")
    r = cli("audit", "checkpoint", "-o", str(cp), "--json")
    assert r.code == 1 and r.json()["error_code"] == "INVALID_INPUT" and "--output" in r.json()["error_msg"]
    assert cp.read_text() == "keep me"
    r = cli("audit", "--against", str(cp))
    assert r.code == 1 and "--against: goes with --verify" in r.stderr
    r = cli("audit", "--verify", "--against", str(cp))
    assert r.code == 1 and "--against: not a userdesk audit checkpoint" in r.stderr
    r = cli("audit", "--verify", "--against", str(tmp_path / "missing.json"))
    assert r.code != 0


def test_without_the_key_changes_are_refused_and_verify_says_it_could_not_check(cli, ctx, initialized):
    [(key_id,)] = sql(ctx, "SELECT key_id FROM audit_head")
    path = audit_keys_dir() / f"{key_id}.key"
    path.rename(Path(str(path) + ".away"))
    r = as_root(cli, initialized, "users", "create", "eve", "--json")
    assert r.code == 1 and r.json()["error_code"] == "AUDIT_KEY_MISSING"
    assert cli("users", "show", "root").code == 0  # reads still work
    r = cli("audit", "--verify")
    assert r.code == 1 and "NOT VERIFIED" in r.stderr and key_id in r.stderr

"""Crash safety: a process resetting passwords and issuing tickets is killed
with SIGKILL at random moments, many times. After every kill the database
holds, for every account, the old state or the new one in full; the password
history, the version and the audit log agree with it; the audit chain is
intact; and every password printed was one whose change had committed."""

from __future__ import annotations

import random
import signal
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import text

from console.services import audit
from console.services.context import Actor

WORKER = Path(__file__).resolve().parents[1] / "crash_worker.py"
ROUNDS = 16
SYSTEM = Actor.system("test")


def run_until_killed(forker, url: str, seed: int, rng: random.Random) -> list[list[str]]:
    """Start the worker (a process of its own, forked by ``forker``), let it
    work for a random while, SIGKILL it; the complete lines it printed."""
    proc = forker.spawn(WORKER, [url, str(seed)])
    try:
        assert proc.stdout.readline().strip() == b"ready", proc.stderr.read().decode()[-2000:]
        time.sleep(rng.uniform(0.005, 0.25))
    finally:
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return [line.split() for line in out.decode().splitlines(keepends=True) if line.endswith("\n")]


def stored(ctx) -> dict[str, tuple]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.username, u.password_hash, u.version, "
            "(SELECT count(*) FROM password_history h WHERE h.user_id = u.id) "
            "FROM users u WHERE u.username LIKE 'crash%' AND u.role = 'member'")).all()
        valid = conn.execute(text(
            "SELECT u.username, t.id, t.token_digest FROM reset_tickets t JOIN users u ON u.id = t.user_id "
            "WHERE t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > :now"),
            {"now": ctx.now().replace(tzinfo=None)}).all()
        if ctx.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    tickets = defaultdict(list)
    for name, tid, digest in valid:
        tickets[name].append((tid, digest))
    return {name: (h, version, history, tickets[name]) for name, h, version, history in rows}


def ok_events(ctx) -> list:
    out, cursor = [], None
    while True:
        page = audit.query(ctx, SYSTEM, cursor=cursor, limit=500)
        out += [e for e in page.items if e.outcome == "ok" and e.action in ("password.reset", "ticket.issue")]
        if page.next_cursor is None:
            return sorted(out, key=lambda e: e.seq)
        cursor = page.next_cursor


def test_killed_at_random_moments_nothing_is_half_done(ctx, make_user, make_operator, backend, forker):
    from console.security import tokens

    make_operator("admin", "crash-admin")
    passwords = {f"crash{i}": make_user(f"crash{i}").password.reveal() for i in range(6)}
    first_version = {n: v for n, (_, v, _, _) in stored(ctx).items()}
    depth = ctx.policy.history
    last_password = dict(passwords)  # the newest password printed (or made) per account
    last_token: dict[str, str] = {}
    unprinted: set[int] = set()  # audit seqs of changes that committed but were never printed
    seen_seq = max((e.seq for e in ok_events(ctx)), default=0)
    rng = random.Random(20261125)
    rounds_with_work = 0
    for round_ in range(ROUNDS):
        lines = run_until_killed(forker, ctx.settings.database_url, rng.randrange(10**6), rng)
        events = ok_events(ctx)
        new = [e for e in events if e.seq > seen_seq]
        seen_seq = max([seen_seq, *(e.seq for e in new)])
        rounds_with_work += bool(new)
        # The worker prints each change after it committed, in order: the round's
        # committed changes are its printed lines, plus at most one at the very
        # end, committed when the kill came, before its line.
        assert len(lines) <= len(new), f"round {round_}: more printed than committed"
        assert len(new) - len(lines) <= 1, f"round {round_}: {len(new) - len(lines)} changes never printed"
        for (kind, name, secret), event in zip(lines, new):
            assert (event.action, event.target) == ({"reset": "password.reset", "ticket": "ticket.issue"}[kind], name)
            if kind == "reset":
                last_password[name] = secret
            else:
                last_token[name] = secret
        if len(new) > len(lines):
            unprinted.add(new[-1].seq)
        assert audit.verify_chain(ctx, SYSTEM).ok, f"round {round_}: the audit chain broke"
        for name, (hash_, version, history, valid) in stored(ctx).items():
            mine = [e for e in events if e.target == name]
            resets = [e for e in mine if e.action == "password.reset"]
            assert version == first_version[name] + len(resets), f"{name}: version and audit disagree"
            assert history == min(depth, len(resets)), f"{name}: password history and audit disagree"
            # The stored hash is the newest printed password's, unless a reset committed after it unprinted.
            newest_reset_unprinted = bool(resets) and resets[-1].seq in unprinted
            assert ctx.hasher.verify(hash_, last_password[name]).ok != newest_reset_unprinted, name
            # Tickets: one valid at most, the newest issued, and none once a reset came after it.
            assert len(valid) <= 1, f"{name}: {len(valid)} valid tickets"
            newest = mine[-1] if mine else None
            if newest is not None and newest.action == "ticket.issue":
                assert [tid for tid, _ in valid] == [newest.details["ticket_id"]], name
                if newest.seq not in unprinted:  # its token was printed: it is the valid one
                    assert valid[0][1] == tokens.digest(last_token[name]), name
            else:
                assert valid == [], f"{name}: a ticket survived a later reset"
    assert rounds_with_work >= ROUNDS // 2  # the kills landed while work was going on
    assert len(last_token) > 0 and any(last_password[n] != passwords[n] for n in passwords)

"""7. Bulk force-change of ~100,000 users vs a raw UPDATE of the same rows plus
one audit insert (goal: <= 1.5)."""

import sqlite3
import time
from datetime import datetime, timezone

from common import admin, context, copy_of, database, emit

from console.services import bulk
from console.services.listing import UserFilter

N = 112_300  # ~100,000 of them are local members with a password
path = copy_of(database(N, name=f"bulk-{N}.db"), "bulk.db")
ctx = context(path)
actor = admin(ctx)
flt = UserFilter(role="member")
WHERE = "role = 'member' AND source = 'local' AND password_hash IS NOT NULL AND must_change_password = 0"


def fresh_state() -> int:
    """Untimed: every member needs no change again, so each trial changes the same rows."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE users SET must_change_password = 0 WHERE role = 'member'")
    return bulk.preview(ctx, actor, "force_change", flt).count


def service() -> float:
    count = fresh_state()
    t0 = time.perf_counter()
    bulk.run(ctx, actor, "force_change", flt, expected_count=count, reason="bench")
    return time.perf_counter() - t0


def raw() -> float:
    fresh_state()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(path, isolation_level=None) as conn:
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"UPDATE users SET must_change_password = 1, updated_at = ?, version = version + 1 "
                     f"WHERE {WHERE}", (now,))
        conn.execute("INSERT INTO audit_events (seq, at, operator, action, outcome, details, prev_hash, hash) "
                     "VALUES ((SELECT min(0, coalesce(min(seq), 1)) - 1 FROM audit_events), ?, 'bench', 'bulk.raw', 'ok', "
                     "'{}', '', '')", (now,))
        conn.execute("COMMIT")
        return time.perf_counter() - t0


service(), raw()  # warm
ours = sorted(service() for _ in range(5))[2]
floor = sorted(raw() for _ in range(5))[2]
emit("bulk_force_change_100k_vs_raw_update", ours, floor, 1.5, rows=fresh_state())

"""6. No slow corner: every view, filter, order and search the console and the
CLI can ask for, timed as the list screen asks (its first page of
``PAGE`` rows plus its count, through the service functions; a first page
that holds every match is its own count, and the screen asks for none), on the cached
demo databases of 10k, 100k and 1M users (SQLite). Goal: the worst case at 1M
within 20 ms.

Each case runs ``REPEAT`` times, interleaved across cases (case A, B, C …, then
again), so a burst of load on a shared machine spreads over all of them.
Uncached: the unfiltered total is read again on every run (the screen's cache
is cleared), as when its minute has passed.

Two clocks, so that what the demo's states look like does not depend on when
it was built: ``fresh`` is the demo's own build time (its 4% locked accounts
are locked), ``later`` a day after (every demo lockout has passed: the locked
view matches nothing, the needs-attention order has no rank 0).

    python bench/corners.py                  # 10k, 100k, 1M; one JSON line, the table on stderr
    CORNERS_SIZES=10000,100000 python bench/corners.py
    CORNERS_ONLY=locked,qx python bench/corners.py   # some cases only
    CORNERS_POSTGRESQL=1 python bench/corners.py     # PostgreSQL, 1M (goal 50 ms), a throwaway cluster
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

from common import HERE, MILLION, PG_SETTINGS, admin, as_the_list_asks, context, copy_to_postgresql, database, emit

from console.services.listing import UserFilter as F

#: The console's list asks for pages of this many rows (tui/widgets/userlist.py PAGE).
PAGE = 100
REPEAT = int(os.environ.get("CORNERS_REPEAT", "7"))
GOAL_MS = 20.0

# (name, search, filter, order): the console's views (tui/screens/users.py VIEWS), alone and with searches,
# the CLI's filters (`users list --role --blocked/--not-blocked --locked/--not-locked --expired/--not-expired
# --must-change/--no-must-change --external/--local --search`), alone and combined, including combinations
# that match nothing.
VIEWS = {
    "all": F(), "locked": F(locked=True), "blocked": F(blocked=True), "expired": F(expired=True),
    "must_change": F(must_change=True), "external": F(external=True), "admin": F(role="admin"),
    "helpdesk": F(role="helpdesk"), "viewer": F(role="viewer"), "member": F(role="member"),
}
CASES: list[tuple[str, str | None, F, str]] = []
for _name, _f in VIEWS.items():
    CASES.append((f"view {_name}", None, _f, "username"))
CASES.append(("view attention (n)", None, F(), "attention"))
CASES += [
    ("not blocked", None, F(blocked=False), "username"),
    ("not locked", None, F(locked=False), "username"),
    ("not expired", None, F(expired=False), "username"),
    ("no must-change", None, F(must_change=False), "username"),
    ("local", None, F(external=False), "username"),
    ("locked+admin", None, F(locked=True, role="admin"), "username"),
    ("locked+blocked", None, F(locked=True, blocked=True), "username"),
    ("expired+external (none)", None, F(expired=True, external=True), "username"),
    ("blocked+must-change", None, F(blocked=True, must_change=True), "username"),
    ("viewer+expired+must-change", None, F(role="viewer", expired=True, must_change=True), "username"),
    ("member+local+ok", None, F(role="member", external=False, blocked=False, locked=False, expired=False,
                                must_change=False), "username"),
    ("expired+not locked+local", None, F(expired=True, locked=False, external=False), "username"),
]
SEARCHES = ["a", "q", "an", "qx", "ana", "nova", "tanaka1", "exa", "mail.example.org", "corp.example.org", "zzqz", "lea.",
            "keller.example"]
for _q in SEARCHES:
    CASES.append((f"search {_q!r}", _q, F(), "username"))
CASES += [
    ("search 'exa' + locked", "exa", F(locked=True), "username"),
    ("search 'exa' + admin", "exa", F(role="admin"), "username"),
    ("search 'ana' + blocked", "ana", F(blocked=True), "username"),
    ("search 'a' + locked", "a", F(locked=True), "username"),
    ("search 'a' + viewer", "a", F(role="viewer"), "username"),
    ("search 'qx' + expired", "qx", F(expired=True), "username"),
    ("search 'nova' + external", "nova", F(external=True), "username"),
    ("search 'exa' + expired+external", "exa", F(expired=True, external=True), "username"),
    ("search 'exa' attention", "exa", F(), "attention"),
    ("search 'a' attention", "a", F(), "attention"),
]
ONLY = [s for s in os.environ.get("CORNERS_ONLY", "").split(",") if s]
if ONLY:
    CASES = [c for c in CASES if any(o in c[0] for o in ONLY)]


def seeded_at(path) -> datetime:
    """When the demo was built (its demo.seed audit event): the clock of ``fresh``."""
    with sqlite3.connect(path) as raw:
        at = raw.execute("SELECT at FROM audit_events WHERE action = 'demo.seed' ORDER BY seq LIMIT 1").fetchone()[0]
    return datetime.fromisoformat(at).replace(tzinfo=timezone.utc)


def measure(users: int) -> dict[tuple[str, str], list[float]]:
    path = database(users)
    ctx = context(path)
    return measure_on(ctx, admin(ctx), seeded_at(path))


def measure_postgresql(users: int) -> dict[tuple[str, str], list[float]] | None:
    """The same cases on PostgreSQL: the cached demo's users copied into a
    throwaway cluster (tests/pgcluster.py: initdb, loopback, deleted after)."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    import pgcluster

    from console import db
    from console.config import Settings
    from console.security.auditkey import AuditKey
    from console.security.hashing import Argon2Params
    from console.services import auth
    from console.services.context import ServiceContext

    try:
        cluster = pgcluster.start(PG_SETTINGS)
    except pgcluster.PostgresUnavailable as exc:
        print(f"# PostgreSQL skipped: {str(exc)[:120]}", file=sys.stderr)
        return None
    try:
        name = f"userdesk_corners_{os.getpid()}"
        with cluster.admin() as admin_conn:
            admin_conn.execute(f'CREATE DATABASE "{name}"')
        url = cluster.url(name)
        settings = Settings(database_url=url, trusted_operator=True, audit_key=AuditKey.generate().text())
        ctx = ServiceContext.from_settings(settings, argon2_params=Argon2Params.cheapest())
        db.create_schema(ctx.engine)
        path = database(users)
        seconds = copy_to_postgresql(path, ctx.engine.url)
        print(f"# copied the users into PostgreSQL in {seconds:.0f} s", file=sys.stderr)
        results = measure_on(ctx, auth.trusted_operator(ctx, "demo-admin"), seeded_at(path))
        ctx.engine.dispose()
        return results
    finally:
        cluster.stop()


def measure_on(ctx, actor, built: datetime) -> dict[tuple[str, str], list[float]]:
    clocks = {"fresh": built + timedelta(seconds=1), "later": built + timedelta(days=1)}

    def run(search, flt, order) -> None:
        ctx._cache.clear()  # the unfiltered total uncached, as when its minute has passed
        as_the_list_asks(ctx, actor, search=search, filter=flt, order=order, limit=PAGE)

    times: dict[tuple[str, str], list[float]] = {}
    for clock_name, at in clocks.items():
        ctx.clock = lambda at=at: at
        for name, search, flt, order in CASES:  # warm up (and compile each shape once)
            run(search, flt, order)
        for _ in range(REPEAT):
            for name, search, flt, order in CASES:
                t0 = time.perf_counter()
                run(search, flt, order)
                times.setdefault((name, clock_name), []).append(time.perf_counter() - t0)
    ctx.engine.dispose()
    return times


def main() -> None:
    if os.environ.get("CORNERS_POSTGRESQL"):  # PostgreSQL at 1M (goal 50 ms)
        global GOAL_MS
        GOAL_MS = 50.0
        results = measure_postgresql(MILLION)
        if results is None:
            return
        report({MILLION: results}, [MILLION], "corners_postgresql_worst_case_ms_at_")
        return
    sizes = [int(s) for s in os.environ.get("CORNERS_SIZES", "10000,100000,1000000").split(",")]
    report({n: measure(n) for n in sizes}, sizes, "corners_worst_case_ms_at_")


def report(results, sizes, measure_name) -> None:
    big = sizes[-1]
    med = {n: {k: statistics.median(v) * 1000 for k, v in r.items()} for n, r in results.items()}
    worst_first = sorted(results[big], key=lambda k: -med[big][k])
    head = " | ".join(f"{n // 1000}k median (max)" for n in sizes)
    print(f"| case | clock | {head} |", file=sys.stderr)
    print("|---|---|" + "---|" * len(sizes), file=sys.stderr)
    for key in worst_first:
        cells = " | ".join(f"{med[n][key]:.1f} ({max(results[n][key]) * 1000:.1f})" for n in sizes)
        print(f"| {key[0]} | {key[1]} | {cells} |", file=sys.stderr)
    worst = worst_first[0]
    all_medians = sorted(med[big].values())
    emit(measure_name + str(big), med[big][worst] / 1000, GOAL_MS / 1000, 1.0,
         worst_case=f"{worst[0]} ({worst[1]})", worst_median_ms=round(med[big][worst], 2),
         worst_max_ms=round(max(results[big][worst]) * 1000, 2),
         median_of_cases_ms=round(statistics.median(all_medians), 2), cases=len(med[big]), repeat=REPEAT,
         users=big, page=PAGE)


if __name__ == "__main__":
    main()

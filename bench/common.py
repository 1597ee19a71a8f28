"""Shared by the benchmark scripts: the cached databases, timing, and the JSON
line every measure prints. Ratios compare against a floor measured in the same
run on the same machine, so they hold on a noisy one."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from console import db, schema  # noqa: E402
from console.config import Settings  # noqa: E402
from console.security.hashing import Argon2Params  # noqa: E402
from console.services import auth, setup  # noqa: E402
from console.services.context import ServiceContext  # noqa: E402

#: The searches of measure 3 (SQLite, search.py) and 3b (PostgreSQL, search_pg.py).
SEARCH_QUERIES = ["nova", "tanaka1", "ana", "example.org", "mail.exa", "ziegler", "lea.", "okafor9", "rossi12",
                  "chowdhury", "mei.", "viktor", "sousa7", "zhang", "corp.ex", "an.h", "yilmaz3", "quinn",
                  "petrov", "becker8", "tessa", "herrera", "lindqvist", "kowalski5"]

CACHE = Path(os.environ.get("USERDESK_BENCH_CACHE", HERE / ".cache"))
MILLION = int(os.environ.get("USERDESK_BENCH_USERS", "1000000"))


def context(path: Path, *, real_argon2: bool = False) -> ServiceContext:
    settings = Settings(database_url=f"sqlite:///{path}", trusted_operator=True,
                        audit_key_file=f"{path}.auditkey")  # beside the throw-away database
    return ServiceContext.from_settings(settings, argon2_params=None if real_argon2 else Argon2Params.cheapest())


def database(users: int = MILLION, name: str | None = None) -> Path:
    """A demo database of ``users`` accounts, built once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / (name or f"demo-{users}.db")
    if not path.exists():
        tmp = path.with_suffix(".building")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        ctx = context(tmp)
        setup.seed_demo(ctx, users)
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        ctx.engine.dispose()
        tmp.rename(path)
        # The audit key goes with its database (context(): "<database>.auditkey").
        Path(f"{tmp}.auditkey").rename(f"{path}.auditkey")
        print(f"# built {path.name} ({users:,} users) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    engine = db.make_engine(f"sqlite:///{path}")
    try:  # a cached database from an older userdesk: migrate it (a no-op when current)
        schema.upgrade(engine)
    finally:
        engine.dispose()
    return path


def copy_of(path: Path, name: str) -> Path:
    dst = CACHE / name
    shutil.copyfile(path, dst)
    for suffix in ("-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    return dst


#: The users' columns copied into PostgreSQL (corners.py, search_pg.py).
PG_COLUMNS = ("id, username, email, display_name, role, source, password_hash, password_changed_at, "
              "password_expires_at, must_change_password, blocked, blocked_reason, blocked_at, failed_logins, "
              "locked_until, last_login_at, created_at, updated_at, version")


def as_the_list_asks(ctx, actor, *, search=None, filter=None, order="username", limit: int) -> None:
    """What the list screen reads for a view (tui/widgets/userlist.py): its
    first page, then its count, unless the first page holds every match (its
    length is the count then)."""
    from console.services import listing

    if listing.list_users(ctx, actor, search=search, filter=filter, order=order, limit=limit).next_cursor is not None:
        listing.count_users(ctx, actor, search=search, filter=filter)


#: The benchmarks' throwaway PostgreSQL cluster, set as a server for a million
#: accounts would be: PostgreSQL's default shared_buffers (128 MB) holds under
#: half of the users table (about 300 MB at 1M), so a search's rechecks read
#: their pages from the system's cache into it, evicting another case's, and a
#: case took 38 ms in one run and 90 in the next; PostgreSQL's documentation
#: advises a quarter of the memory of a dedicated server. Both sides of a
#: measure (userdesk and the Django admin) run on that cluster.
PG_SETTINGS = "-c shared_buffers=1GB"


def copy_to_postgresql(demo: Path, url) -> float:
    """Copy the users of the SQLite demo database ``demo`` into the migrated
    PostgreSQL database at ``url`` (a SQLAlchemy URL) by COPY, then vacuum it;
    returns the seconds it took."""
    import sqlite3

    import psycopg

    started = time.perf_counter()
    src = sqlite3.connect(demo)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                         dbname=url.database) as pg:
        with pg.cursor() as cur:
            with cur.copy(f"COPY users ({PG_COLUMNS}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {PG_COLUMNS} FROM users"):
                    copy.write_row(row)
            cur.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))")
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE users")
        # And again: right after the load the first pass left no page all-visible (0% measured; a
        # second one moments later marks them, as autovacuum does on a table in use), and a
        # count read from an index alone needs them marked; both sides alike.
        visible = "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class WHERE relname = 'users'"
        before = pg.execute(visible).fetchone()[0]
        pg.execute("VACUUM users")
        print(f"# pages all-visible after the first VACUUM {before:.0%}, after the second "
              f"{pg.execute(visible).fetchone()[0]:.0%}", file=sys.stderr)
    src.close()
    return time.perf_counter() - started


def admin(ctx: ServiceContext):
    db.create_schema(ctx.engine)
    return auth.trusted_operator(ctx, "demo-admin")


def median_time(fn: Callable[[], object], *, repeat: int = 30, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def emit(measure: str, value: float, floor: float, goal: float, *, valid: bool = True, **extra) -> dict:
    """One JSON line: value and floor (seconds or bytes), their ratio, the goal.
    ``valid`` False: the floor did not measure what it should, never ok."""
    ratio = value / floor if floor else float("inf")
    line = {"measure": measure, "value": round(value, 6), "floor": round(floor, 6), "ratio": round(ratio, 4),
            "goal": goal, "ok": valid and ratio <= goal, **extra}
    print(json.dumps(line), flush=True)
    return line


def interleaved(ours: Callable[[], object], theirs: Callable[[], object], *, rounds: int,
                warmup: int = 1, before: Callable[[], object] | None = None) -> tuple[list[float], list[float]]:
    """Time ``ours`` and ``theirs`` alternately (A B A B …), so both sides see
    the same machine, load and caches; the seconds of each call, in pairs.
    ``before``: run once after the warm-up, before the timed rounds."""
    for _ in range(warmup):
        ours()
        theirs()
    if before is not None:
        before()
    a, b = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ours()
        a.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs()
        b.append(time.perf_counter() - t0)
    return a, b


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def spread(ours: list[float], theirs: list[float]) -> dict:
    """Min–max of both sides (ms) and the worst round: the pair whose ratio was highest."""
    worst = max(range(len(ours)), key=lambda i: ours[i] / theirs[i])
    return {"value_min_max_ms": [_ms(min(ours)), _ms(max(ours))],
            "floor_min_max_ms": [_ms(min(theirs)), _ms(max(theirs))],
            "worst_ratio": round(ours[worst] / theirs[worst], 5),
            "worst_ms": [_ms(ours[worst]), _ms(theirs[worst])]}


ROUNDS = int(os.environ.get("USERDESK_BENCH_ROUNDS", "0")) or None

#: The slow corners of issue 14 and searches that find nothing, timed with
#: SEARCH_QUERIES in measures 3 and 3b: no-hit searches (3+ characters, made of
#: rare and of common trigrams), and searches of one and two characters.
CORNER_QUERIES = ["mail.example.org", "zzqxj", "nobody.here", "qx", "xq", "a", "z", "an", "zh"]


def compare_with_admin(suffix: str, ctx: ServiceContext, actor, admin, **extra) -> list[dict]:
    """Measures 3c, 3d and 3 (``suffix`` names the backend): userdesk's service
    calls, as the console makes them, against the real Django admin's
    changelist (``admin``: a signed-in ``django.test.Client``, see
    djangoadmin.py), interleaved, each Django response checked against what
    userdesk found:

    - first page: ``list_users`` (100 rows, the console's page) + ``count_users``
      vs ``/admin/auth/user/`` (100 rows, the count, the total);
    - a deep page: ``list_users`` by cursor + ``count_users`` vs ``?p=9000``
      (depth 899,900; at fewer users, nine tenths down);
    - search: ``list_users(search=q)`` + ``count_users(search=q)`` vs ``?q=q``
      (no count where the first page holds every match, as the list screen),
      for SEARCH_QUERIES + CORNER_QUERIES; the median over the queries of each
      side's median, the worst query beside it."""
    import statistics

    from sqlalchemy import text

    import djangoadmin
    from console.services import listing, pagination
    from console.services import search as search_index

    page_rounds = ROUNDS or 15
    search_rounds = ROUNDS or 5
    lines = []
    limit = djangoadmin.PER_PAGE  # the console's page (tui/widgets/userlist.py PAGE) and UserAdmin's list_per_page
    counted = listing.count_users(ctx, actor)
    total = counted.value
    clear_total = lambda: ctx._cache.pop("users.total", None)  # noqa: E731 - so one timed round counts for real

    # 3c. The first page.
    first = listing.list_users(ctx, actor, limit=limit)
    html = djangoadmin.get(admin)
    shown = djangoadmin.count_of(html)
    # PostgreSQL's total is the planner's estimate from 100,000 accounts on, labelled "~" (listing.ESTIMATE_FROM)
    assert shown == total if counted.exact else abs(shown - total) <= shown // 100, (shown, total, counted)
    assert djangoadmin.usernames_of(html) == [u.username for u in first.items], "first pages differ"

    def ours_first() -> None:
        listing.list_users(ctx, actor, limit=limit)
        listing.count_users(ctx, actor)

    a, b = interleaved(ours_first, lambda: djangoadmin.get(admin), rounds=page_rounds, before=clear_total)
    lines.append(emit(f"first_page_service_vs_django_admin{suffix}", statistics.median(a), statistics.median(b), 0.1,
                      rounds=page_rounds, users=total, **spread(a, b), **extra))

    # 3d. A deep page, at the same depth on both sides.
    p = min(9000, total * 9 // 10 // limit)
    depth = (p - 1) * limit
    with ctx.engine.connect() as conn:  # setup only: the key just before that depth
        key = conn.execute(text("SELECT lower(username), id FROM users ORDER BY lower(username), id "
                                "LIMIT 1 OFFSET :d"), {"d": depth - 1}).one()
    cursor = pagination.encode(*key)
    deep = listing.list_users(ctx, actor, cursor=cursor, limit=limit)
    html = djangoadmin.get(admin, f"?p={p}")
    assert djangoadmin.usernames_of(html) == [u.username for u in deep.items], f"page {p} differs"

    def ours_deep() -> None:
        listing.list_users(ctx, actor, cursor=cursor, limit=limit)
        listing.count_users(ctx, actor)

    a, b = interleaved(ours_deep, lambda: djangoadmin.get(admin, f"?p={p}"), rounds=page_rounds)
    lines.append(emit(f"deep_page_service_vs_django_admin{suffix}", statistics.median(a), statistics.median(b), 0.1,
                      page=p, depth=depth, rounds=page_rounds, users=total, **spread(a, b), **extra))

    # 3. Searches, the slow corners among them.
    dialect = ctx.engine.dialect.name
    queries = SEARCH_QUERIES + CORNER_QUERIES
    ours, theirs, ratios, all_a, all_b, hits = [], [], [], [], [], {}
    for q in queries:
        page = listing.list_users(ctx, actor, search=q, limit=limit)
        n = listing.count_users(ctx, actor, search=q)
        html = djangoadmin.get(admin, f"?q={q}")
        theirs_n = djangoadmin.count_of(html)
        if "prefix" in search_index.kind_of(dialect, q):  # userdesk: a prefix; Django: a substring (a superset)
            assert theirs_n >= n.value, (q, theirs_n, n)
        elif n.at_least:
            assert theirs_n >= n.value, (q, theirs_n, n)
        else:
            assert theirs_n == n.value, (q, "Django", theirs_n, "userdesk", n.value)
            if n.value <= limit:
                assert sorted(djangoadmin.usernames_of(html)) == sorted(u.username for u in page.items), q
        hits[q] = [f"{n.value}+" if n.at_least else n.value, theirs_n]

        def service(q: str = q) -> None:
            as_the_list_asks(ctx, actor, search=q, limit=limit)

        a, b = interleaved(service, lambda q=q: djangoadmin.get(admin, f"?q={q}"), rounds=search_rounds)
        ours.append(statistics.median(a))
        theirs.append(statistics.median(b))
        ratios.append(ours[-1] / theirs[-1])
        all_a += a
        all_b += b
    w = ratios.index(max(ratios))
    slowest = ours.index(max(ours))
    lines.append(emit(
        f"search_service_vs_django_admin{suffix}", statistics.median(ours), statistics.median(theirs), 0.02,
        median_ratio=round(statistics.median(ratios), 5), worst_query=queries[w], worst_ratio=round(ratios[w], 5),
        worst_ms=[_ms(ours[w]), _ms(theirs[w])], slowest_query=queries[slowest],
        slowest_ms=[_ms(ours[slowest]), _ms(theirs[slowest])],
        value_min_max_ms=[_ms(min(all_a)), _ms(max(all_a))], floor_min_max_ms=[_ms(min(all_b)), _ms(max(all_b))],
        queries=len(queries), rounds=search_rounds, users=total,
        per_query={q: {"ms": [_ms(o), _ms(t)], "ratio": round(r, 5), "hits": hits[q]}
                   for q, o, t, r in zip(queries, ours, theirs, ratios)},
        **extra))
    return lines

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


def compare_searches(measure: str, ctx: ServiceContext, actor, django: Callable[[str], object], **extra) -> dict:
    """Measure 3 on a backend: for each of SEARCH_QUERIES, the service's page and
    count (as the console asks) against ``django(q)``; emits the medians and the
    median ratio (goal 0.02)."""
    import statistics

    from console.services import listing

    def service(q: str) -> None:
        listing.list_users(ctx, actor, search=q, limit=100)
        listing.count_users(ctx, actor, search=q)

    ratios, ours, theirs = [], [], []
    for q in SEARCH_QUERIES:
        ours.append(median_time(lambda: service(q), repeat=15))
        theirs.append(median_time(lambda: django(q), repeat=3, warmup=1))
        ratios.append(ours[-1] / theirs[-1])
    return emit(measure, statistics.median(ours), statistics.median(theirs), 0.02,
                median_ratio=round(statistics.median(ratios), 5), worst_ratio=round(max(ratios), 5),
                worst_query=SEARCH_QUERIES[ratios.index(max(ratios))], queries=len(SEARCH_QUERIES), **extra)

"""3b (and 3c, 3d on PostgreSQL). The comparisons of search.py on PostgreSQL:
userdesk's service calls against the real Django admin, both on the same
server, the same users in each one's own database, interleaved (A B A B).
Search: the 24 searches and the slow corners, median ratio (goal <= 0.02).

The users are copied from the cached SQLite demo database into a throwaway
cluster (tests/pgcluster.py: initdb, loopback, deleted afterwards), or into
the server of USERDESK_BENCH_POSTGRES (a postgresql+psycopg:// URL whose user
may create databases): userdesk's schema, and a Django project
(djangoadmin.py) migrated there by Django, auth_user filled by COPY; both
tables VACUUM ANALYZEd. Without PostgreSQL it prints a skip line."""

import os
import sys
import time

from common import HERE, compare_with_admin, copy_to_postgresql, database, PG_SETTINGS

sys.path.insert(0, str(HERE.parent / "tests"))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import djangoadmin  # noqa: E402
import pgcluster  # noqa: E402
from console import db  # noqa: E402
from console.config import Settings  # noqa: E402
from console.security.auditkey import AuditKey  # noqa: E402
from console.security.hashing import Argon2Params  # noqa: E402
from console.services import auth, listing  # noqa: E402
from console.services.context import ServiceContext  # noqa: E402

MEASURE = "search_service_vs_django_admin_on_postgresql"

def server() -> tuple[str, str, pgcluster.Cluster | None]:
    """(URL of an empty database for userdesk, one for Django, the cluster we started or None)."""
    given = os.environ.get("USERDESK_BENCH_POSTGRES")
    if given:
        u = make_url(given)
        admin = psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                                dbname=u.database or "postgres", autocommit=True)
        cluster = None
    else:
        cluster = pgcluster.start(PG_SETTINGS)
        admin = cluster.admin()
    names = f"userdesk_bench_{os.getpid()}", f"django_bench_{os.getpid()}"
    with admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    urls = [cluster.url(name) if cluster else make_url(given).set(database=name).render_as_string(hide_password=False)
            for name in names]
    return urls[0], urls[1], cluster


def main() -> None:
    try:
        url, django_url, cluster = server()
    except (pgcluster.PostgresUnavailable, psycopg.Error) as exc:
        print(f'{{"measure": "{MEASURE}", "skipped": "no PostgreSQL: {str(exc)[:120]}"}}')
        return
    try:
        settings = Settings(database_url=url, trusted_operator=True, audit_key=AuditKey.generate().text())
        ctx = ServiceContext.from_settings(settings, argon2_params=Argon2Params.cheapest())
        db.create_schema(ctx.engine)
        seconds = copy_to_postgresql(database(), ctx.engine.url)
        actor = auth.trusted_operator(ctx, "demo-admin")
        total = listing.count_users(ctx, actor).value
        print(f"# copied {total:,} users into PostgreSQL in {seconds:.0f} s", file=sys.stderr)

        u = make_url(django_url)
        djangoadmin.project(djangoadmin.postgres_settings(u.host, u.port, u.username, u.password, u.database))
        started = time.perf_counter()
        djangoadmin.migrate()
        n = djangoadmin.load_postgres(database())
        print(f"# migrated Django {djangoadmin.django_version()} and copied {n:,} users into auth_user in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)

        compare_with_admin("_on_postgresql", ctx, actor, djangoadmin.client(), django=djangoadmin.django_version(),
                           server=cluster.version if cluster else "USERDESK_BENCH_POSTGRES")
        from django.db import connections

        connections.close_all()
        ctx.engine.dispose()
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()

"""Fixtures for store tests: the real Django project (django_project.py), a
desk of its own per test, and operators in that desk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.config import Settings

import desks
import django_project

pytest.importorskip("django", reason="Django is a test dependency: pip install -e '.[test]'")


def pytest_generate_tests(metafunc) -> None:
    """Every test of a Django database runs on the project's SQLite file and,
    when the run has a PostgreSQL cluster, on the same project's PostgreSQL
    database (``sqlite_only`` for what only a file has)."""
    if "django_backend" not in metafunc.fixturenames:
        return
    backends = ["sqlite"]
    if not metafunc.definition.get_closest_marker("sqlite_only"):
        backends.append("postgresql" if metafunc.config.userdesk_pg is not None else pytest.param(
            "postgresql", marks=pytest.mark.skip(reason="no PostgreSQL (USERDESK_TEST_POSTGRES)")))
    metafunc.parametrize("django_backend", backends, scope="function")


@pytest.fixture
def django_backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def django_env(tmp_path_factory, request):
    import json
    import shutil
    import uuid

    root = tmp_path_factory.mktemp("django")
    cluster = request.config.userdesk_pg
    pg = None
    if cluster is not None:
        name = f"dj_{uuid.uuid4().hex[:12]}"
        pg = {"host": cluster.host, "port": cluster.port, "user": cluster.user, "password": cluster.password,
              "name": name, "template": f"{name}_t", "cluster": cluster}
        with cluster.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        os.environ[django_project.PG_ENV] = json.dumps({k: pg[k] for k in ("host", "port", "user", "password",
                                                                            "name")})
    project, template = django_project.make(root)
    db_path = root / "db.sqlite3"
    shutil.copyfile(template, db_path)
    django_project.load(project, db_path)
    if pg is not None:  # migrated once, then the template every test's database is copied from
        django_project.migrate_pg()
        with cluster.admin() as conn:
            conn.execute(f"CREATE DATABASE {pg['template']} TEMPLATE {pg['name']}")
    from django.conf import settings as dj

    yield {"project": project, "template": template, "db": db_path, "secret": dj.SECRET_KEY, "pg": pg}
    if pg is not None:
        from django.db import connections

        connections.close_all()
        with cluster.admin() as conn:
            for db_name in (pg["name"], pg["template"]):
                conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


@pytest.fixture
def dj(django_env, django_backend):
    """A freshly migrated Django database for this test (the project's SQLite
    file, or its PostgreSQL database); Django's modules, routed to it."""
    from django.db import connections

    pg = django_env["pg"]
    if django_backend == "sqlite":
        django_project.fresh(django_env["template"], django_env["db"])
        alias, url, db_file = "default", f"sqlite:///{django_env['db']}", django_env["db"]
    else:
        connections.close_all()
        with pg["cluster"].admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {pg['name']} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {pg['name']} TEMPLATE {pg['template']}")
        alias, url, db_file = "pg", pg["cluster"].url(pg["name"]), None
    django_project.use(alias)
    from django.contrib.auth import authenticate, get_user_model
    from django.test import Client

    class Dj:
        backend = django_backend
        db = db_file
        secret = django_env["secret"]
        User = get_user_model()

        @staticmethod
        def authenticate(username, password):
            return authenticate(username=username, password=password)

        @staticmethod
        def client():
            return Client()

        @staticmethod
        def tables() -> list[str]:
            return sorted(connections[alias].introspection.table_names())

    Dj.url = url
    yield Dj
    connections.close_all()
    django_project.use("default")


@pytest.fixture
def key_file(tmp_path, django_env) -> Path:
    p = tmp_path / "django-secret"
    p.write_text(django_env["secret"])
    p.chmod(0o600)
    return p


@pytest.fixture
def dj_settings(tmp_path, dj, key_file) -> Settings:
    return Settings(store="django", database_url=dj.url, desk_url=f"sqlite:///{tmp_path / 'desk.db'}",
                    django_secret_key_file=str(key_file), policy="django",
                    django_reset_url="http://testserver/accounts/reset/{uidb64}/{token}/")


@pytest.fixture
def open_desk(clock):
    """``open_desk(settings)`` → a context on a store, its desk made (desks.py)."""
    yield from desks.desks(clock)


@pytest.fixture
def dctx(dj_settings, open_desk):
    """A context on the Django store, its desk made (as ``init`` does)."""
    return open_desk(dj_settings)


@pytest.fixture
def desk_operator(dctx):
    """Operators in the desk: ``desk_operator("admin")`` → an Actor."""
    return lambda role, name=None: desks.operator(dctx, role, name)

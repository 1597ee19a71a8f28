"""Fixtures for store tests: the real Django project (django_project.py), a
desk of its own per test, and operators in that desk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console import db
from console.config import Settings
from console.security.hashing import Argon2Params
from console.services import setup, users
from console.services.context import Actor, ServiceContext

import django_project

pytest.importorskip("django", reason="Django is a test dependency: pip install -e '.[test]'")


@pytest.fixture(scope="session")
def django_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("django")
    project, template = django_project.make(root)
    db_path = root / "db.sqlite3"
    import shutil

    shutil.copyfile(template, db_path)
    django_project.load(project, db_path)
    from django.conf import settings as dj

    return {"project": project, "template": template, "db": db_path, "secret": dj.SECRET_KEY}


@pytest.fixture
def dj(django_env):
    """A freshly migrated Django database for this test; Django's modules."""
    django_project.fresh(django_env["template"], django_env["db"])
    from django.contrib.auth import authenticate, get_user_model
    from django.test import Client

    class Dj:
        db = django_env["db"]
        url = f"sqlite:///{django_env['db']}"
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
            from django.db import connection

            return sorted(connection.introspection.table_names())

    yield Dj
    from django.db import connections

    connections.close_all()


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
def dctx(dj_settings, clock):
    """A context on the Django store, its desk made (as ``init`` does)."""
    c = ServiceContext.from_settings(dj_settings, argon2_params=Argon2Params.cheapest(), clock=clock)
    db.create_schema(c.engine)
    yield c
    c.store.close()
    c.engine.dispose()


@pytest.fixture
def desk_operator(dctx):
    """Operators in the desk: ``desk_operator("admin")`` → an Actor."""
    from console.services import auth

    def make(role: str, name: str | None = None) -> Actor:
        name = name or f"op-{role}"
        made = users.create_user(dctx, Actor.system("test"), name, role=role, must_change=False)
        return auth.sign_in(dctx, name, made.password.reveal())

    return make

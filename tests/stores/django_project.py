"""A real Django project for the Django store's tests: made by ``django-admin
startproject``, migrated by ``manage.py migrate``, and loaded in this process so
the tests can ask Django itself (authenticate, the session middleware through
the test client, PasswordResetConfirmView) whether it accepts what userdesk
wrote.

The project is Django's own template with three additions, appended to its
files: the database path from the environment (a copy of the migrated template
database per test), hashers Django ships listed in PASSWORD_HASHERS (with
PBKDF2 at fewer iterations so a test run stays quick; userdesk writes whatever
work factor it finds), and two URLs: Django's auth views and a page that needs a
signed-in user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DB_ENV = "USERDESK_TEST_DJANGO_DB"
#: The same project's database on PostgreSQL, when the run has a cluster: a
#: JSON object of psycopg connection settings (host, port, user, password, name).
PG_ENV = "USERDESK_TEST_DJANGO_PG"
FAST_ITERATIONS = 2_000

SETTINGS_TAIL = f'''

# -- added by userdesk's tests ----------------------------------------------
import os as _os
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": _os.environ["{DB_ENV}"]}}}}
if _os.environ.get("{PG_ENV}"):
    import json as _json
    _pg = _json.loads(_os.environ["{PG_ENV}"])
    DATABASES["pg"] = {{"ENGINE": "django.db.backends.postgresql", "NAME": _pg["name"], "HOST": _pg["host"],
                        "PORT": _pg["port"], "USER": _pg["user"], "PASSWORD": _pg["password"] or ""}}
# Every query goes to the database a test chose (proj/route.py).
DATABASE_ROUTERS = ["proj.route.Router"]
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = [
    "proj.fast.FastPBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
'''

FAST = f'''from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """pbkdf2_sha256 at {FAST_ITERATIONS:,} iterations (the format is Django's own)."""

    iterations = {FAST_ITERATIONS}
'''

ROUTE = '''"""The tests run the same project on SQLite and on PostgreSQL: every model,
session and view goes to the alias a test chose with ``use(alias)``."""

ACTIVE = {"alias": "default"}


def use(alias: str) -> None:
    ACTIVE["alias"] = alias


class Router:
    def db_for_read(self, model, **hints):
        return ACTIVE["alias"]

    def db_for_write(self, model, **hints):
        return ACTIVE["alias"]

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, **hints):
        return True
'''

URLS_TAIL = '''

# -- added by userdesk's tests ----------------------------------------------
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include


@login_required
def whoami(request):
    return HttpResponse(request.user.username)


urlpatterns += [path("accounts/", include("django.contrib.auth.urls")), path("whoami/", whoami)]
'''


def make(root: Path) -> tuple[Path, Path]:
    """(project directory, migrated template database) under ``root``."""
    project = root / "project"
    project.mkdir(parents=True)
    admin = Path(sys.executable).with_name("django-admin")
    subprocess.run([str(admin), "startproject", "proj", str(project)], check=True, capture_output=True)
    with (project / "proj" / "settings.py").open("a") as fh:
        fh.write(SETTINGS_TAIL)
    with (project / "proj" / "urls.py").open("a") as fh:
        fh.write(URLS_TAIL)
    (project / "proj" / "fast.py").write_text(FAST)
    (project / "proj" / "route.py").write_text(ROUTE)
    template = root / "template.sqlite3"
    env = {**os.environ, DB_ENV: str(template)}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=project, env=env, check=True,
                   capture_output=True)
    return project, template


def load(project: Path, db_path: Path) -> None:
    """Django, set up in this process on ``db_path``."""
    os.environ[DB_ENV] = str(db_path)
    os.environ["DJANGO_SETTINGS_MODULE"] = "proj.settings"
    # The console's Pilot tests ask Django from inside an event loop; the ORM
    # calls there are the test's own, made while the console waits.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    sys.path.insert(0, str(project))
    import django
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()


def fresh(template: Path, db_path: Path) -> None:
    """The migrated template, copied over the database Django uses."""
    from django.db import connections

    connections.close_all()
    shutil.copyfile(template, db_path)


def migrate_pg() -> None:
    """``migrate`` on the PostgreSQL alias (its database is the template each test copies)."""
    from django.core.management import call_command

    call_command("migrate", database="pg", interactive=False, verbosity=0)
    from django.db import connections

    connections["pg"].close()


def use(alias: str) -> None:
    from proj import route

    route.use(alias)

"""The peer of measures 3, 3b, 3c and 3d: the real Django admin (Django from
PyPI, ``pip install -e '.[bench]'``), serving the same users.

A minimal Django project (admin, auth, contenttypes, sessions, messages;
``DEBUG = False``) is generated into a temporary directory for each run. Its
database is migrated by Django's own migrations, so ``auth_user`` has exactly
the indexes Django defines (the primary key and the unique username; nothing
added), and the users of the cached userdesk demo database are copied into
it, row for row and with the same ids:

- username, email; first and last name split from the display name at its
  first space (a search without a space matches the display name exactly
  when it matches one of the two, so both sides find the same accounts);
- ``is_active`` = not blocked; ``is_staff`` for the console's operators
  (admin, helpdesk, viewer); ``is_superuser`` for ``demo-admin`` only, the
  account the bench signs in as (``force_login``);
- ``date_joined`` = created_at, ``last_login`` = last_login_at;
- ``password``: the stored argon2id hash in Django's own notation
  (``argon2`` + the PHC string, what Django's Argon2PasswordHasher writes,
  so the rows are as wide as a real deployment's); accounts without a
  password get an unusable one (``!`` + 40 random characters, as Django's
  ``set_unusable_password``).

On SQLite the database is built once and cached beside the demo database
(``bench/.cache/django-<N>.db``, built again when the demo database was), by
a child process (``build``), inserted with executemany in one transaction. On
PostgreSQL (measure 3b) it is migrated into a new database of the same server
for each run and filled with COPY, then ``VACUUM ANALYZE``, as search_pg.py
does for userdesk's own table.

Timed through ``django.test.Client`` (the whole request: middleware, session,
the changelist's queries, the template): the changelist's first page, a deep
page (``?p=``) and a search (``?q=``). Each response is checked: status 200,
and its count and rows agree with what userdesk found (``check_*``)."""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from html import unescape
from pathlib import Path

OPERATOR_ROLES = ("admin", "helpdesk", "viewer")
SUPERUSER = "demo-admin"
#: The admin's changelist of users, and its page size (UserAdmin's list_per_page).
CHANGELIST = "/admin/auth/user/"
PER_PAGE = 100

SETTINGS = '''\
"""A minimal Django project for userdesk's benchmarks (bench/djangoadmin.py)."""
SECRET_KEY = "userdesk-bench-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "benchsite.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": %(database)r}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
'''

URLS = '''\
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
'''


def project(database: dict) -> Path:
    """Generate the project into a temporary directory and set Django up with it."""
    root = Path(tempfile.mkdtemp(prefix="userdesk-bench-django-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    (root / "benchsite").mkdir()
    (root / "benchsite" / "__init__.py").write_text("")
    (root / "benchsite" / "settings.py").write_text(SETTINGS % {"database": database})
    (root / "benchsite" / "urls.py").write_text(URLS)
    (root / "manage.py").write_text(
        "import os, sys\nfrom django.core.management import execute_from_command_line\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'benchsite.settings')\nexecute_from_command_line(sys.argv)\n")
    sys.path.insert(0, str(root))
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchsite.settings"
    import django

    django.setup()
    return root


def sqlite_settings(path: Path) -> dict:
    # A persistent connection, as a production deployment would keep (the test
    # client does not close it between requests anyway).
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "CONN_MAX_AGE": None}


def postgres_settings(host: str, port: int, user: str, password: str | None, name: str) -> dict:
    return {"ENGINE": "django.db.backends.postgresql", "HOST": host, "PORT": str(port), "USER": user,
            "PASSWORD": password or "", "NAME": name, "CONN_MAX_AGE": None}


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


SOURCE = ("SELECT id, username, email, display_name, role, password_hash, blocked, last_login_at, created_at "
          "FROM users ORDER BY id")
COLUMNS = ("id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
           "is_staff", "is_active", "date_joined")


def auth_user_rows(demo: Path):
    """The demo database's users as rows of ``auth_user`` (COLUMNS)."""
    src = sqlite3.connect(f"file:{demo}?mode=ro", uri=True)
    try:
        for uid, username, email, display, role, pw, blocked, last_login, created in src.execute(SOURCE):
            first, _, last = (display or "").partition(" ")
            password = f"argon2{pw}" if pw and pw.startswith("$argon2") else pw or "!" + secrets.token_urlsafe(30)[:40]
            yield (uid, password, last_login, username == SUPERUSER, username, first[:150], last[:150], email or "",
                   role in OPERATOR_ROLES, not blocked, created)
    finally:
        src.close()


def load_sqlite(demo: Path) -> int:
    """Copy the demo users into the migrated ``auth_user`` (this process's
    Django database): executemany, one transaction."""
    from django.db import connection, transaction

    sql = f"INSERT INTO auth_user ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    rows = auth_user_rows(demo)
    n = 0
    with transaction.atomic(), connection.cursor() as cur:
        while batch := [r for _, r in zip(range(20_000), rows)]:
            cur.executemany(sql, batch)
            n += len(batch)
    return n


def load_postgres(demo: Path) -> int:
    """The same on PostgreSQL, by COPY, then VACUUM ANALYZE (as search_pg.py
    does for userdesk's table)."""
    from django.db import connection

    n = 0
    with connection.cursor() as cur:
        with cur.cursor.copy(f"COPY auth_user ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in auth_user_rows(demo):
                copy.write_row(row)
                n += 1
        cur.execute("SELECT setval(pg_get_serial_sequence('auth_user', 'id'), (SELECT max(id) FROM auth_user))")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE auth_user")
        # And again: right after the load the first pass left no page all-visible (0%, measured on
        # userdesk's copy; a second one moments later marks them, as autovacuum does on a table in
        # use), and a count read from an index alone needs them marked; both sides alike.
        cur.execute("VACUUM auth_user")
    return n


def sqlite_database(demo: Path) -> Path:
    """The Django database of ``demo``'s users, built once (by a child process:
    Django's settings name one database per process) and cached beside it."""
    path = demo.with_name(demo.name.replace("demo-", "django-", 1))
    # Which build of the demo database it copies: its audit key, made afresh with each build.
    stamp, source = Path(f"{path}.source"), hashlib.sha256(Path(f"{demo}.auditkey").read_bytes()).hexdigest()
    if path.exists() and (not stamp.exists() or stamp.read_text() != source):
        path.unlink()  # the demo database was built again since: copy it again
    if not path.exists():
        tmp = path.with_suffix(".building")
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "build", str(demo), str(tmp)], check=True)
        tmp.rename(path)
        stamp.write_text(source)
        print(f"# built {path.name} (Django {django_version()}) in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    return path


def django_version() -> str:
    import django

    return django.get_version()


# -- the requests ----------------------------------------------------------------------------

def client():
    """A test client signed in as the superuser."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    c = Client()
    c.force_login(get_user_model().objects.get(username=SUPERUSER))
    return c


def get(c, query: str = "") -> str:
    """GET the changelist (``query``: its query string); the page's HTML."""
    response = c.get(CHANGELIST + query)
    if response.status_code != 200:
        raise AssertionError(f"Django admin {CHANGELIST}{query}: status {response.status_code}")
    return response.content.decode()


_COUNT = re.compile(r'<p class="paginator">.*?(\d+) users?\s', re.S)
_ROW = re.compile(r'<th class="field-username"><a href="[^"]*">([^<]*)</a></th>')


def count_of(html: str) -> int:
    """The changelist's result count (the paginator's "N users")."""
    m = _COUNT.search(html)
    if not m:
        raise AssertionError("Django admin: no result count in the changelist")
    return int(m.group(1))


def usernames_of(html: str) -> list[str]:
    return [unescape(u) for u in _ROW.findall(html)]


if __name__ == "__main__" and sys.argv[1:2] == ["build"]:
    demo, out = Path(sys.argv[2]), Path(sys.argv[3])
    project(sqlite_settings(out))
    migrate()
    t0 = time.perf_counter()
    users = load_sqlite(demo)
    print(f"# {users:,} users into auth_user in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

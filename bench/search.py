"""3, 3c, 3d. userdesk's service calls, as the console makes them, against the
real Django admin (Django from PyPI: pip install -e '.[bench]') serving the
same users from SQLite, through Django's test client, interleaved (A B A B):

- 3c: the first page (100 rows and the count) vs /admin/auth/user/ (goal <= 0.1);
- 3d: a page at depth 899,900 by cursor vs ?p=9000 (goal <= 0.1);
- 3: search (page + count) vs ?q= for 24 searches and 9 slow corners (no hits,
  1 and 2 characters), median ratio (goal <= 0.02), worst query beside it.

The Django project, its database and the checks of its answers: djangoadmin.py."""

from common import admin, compare_with_admin, context, database

import djangoadmin

path = database()
django_db = djangoadmin.sqlite_database(path)
djangoadmin.project(djangoadmin.sqlite_settings(django_db))
ctx = context(path)
compare_with_admin("", ctx, admin(ctx), djangoadmin.client(), django=djangoadmin.django_version())

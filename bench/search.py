"""3. Substring search through the service (page + count, as the console asks)
vs the Django-admin query shape: LIKE '%q%' on username OR email OR display
name, COUNT(*), and the page by OFFSET. Median ratio over 24 varied queries
(goal: <= 0.02, i.e. 50x faster)."""

import sqlite3

from common import admin, compare_searches, context, database

DJANGO_WHERE = "lower(username) LIKE ? OR lower(email) LIKE ? OR lower(display_name) LIKE ?"

path = database()
ctx = context(path)
raw = sqlite3.connect(path)


def django(q: str) -> None:
    like = (f"%{q}%",) * 3
    raw.execute(f"SELECT COUNT(*) FROM users WHERE {DJANGO_WHERE}", like).fetchone()
    raw.execute(f"SELECT * FROM users WHERE {DJANGO_WHERE} ORDER BY id DESC LIMIT 100 OFFSET 100", like).fetchall()


compare_searches("search_service_vs_django_like_count_offset", ctx, admin(ctx), django)

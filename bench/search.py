"""3. Substring search through the service (page + count, as the console asks)
vs the Django-admin query shape: LIKE '%q%' on username OR email OR display
name, COUNT(*), and the page by OFFSET. Median ratio over 24 varied queries
(goal: <= 0.02, i.e. 50x faster)."""

import sqlite3
import statistics

from common import SEARCH_QUERIES as QUERIES
from common import admin, context, database, emit, median_time

from console.services import users

DJANGO_WHERE = "lower(username) LIKE ? OR lower(email) LIKE ? OR lower(display_name) LIKE ?"

path = database()
ctx = context(path)
actor = admin(ctx)
raw = sqlite3.connect(path)


def service(q: str) -> None:
    users.list_users(ctx, actor, search=q, limit=100)
    users.count_users(ctx, actor, search=q)


def django(q: str) -> None:
    like = (f"%{q}%",) * 3
    raw.execute(f"SELECT COUNT(*) FROM users WHERE {DJANGO_WHERE}", like).fetchone()
    raw.execute(f"SELECT * FROM users WHERE {DJANGO_WHERE} ORDER BY id DESC LIMIT 100 OFFSET 100", like).fetchall()


ratios, ours, theirs = [], [], []
for q in QUERIES:
    a = median_time(lambda: service(q), repeat=15)
    b = median_time(lambda: django(q), repeat=3, warmup=1)
    ours.append(a)
    theirs.append(b)
    ratios.append(a / b)
median_ratio = statistics.median(ratios)
emit("search_service_vs_django_like_count_offset", statistics.median(ours), statistics.median(theirs), 0.02,
     median_ratio=round(median_ratio, 5), worst_ratio=round(max(ratios), 5), queries=len(QUERIES))

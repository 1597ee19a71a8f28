"""2. A service list page vs the same keyset query in raw SQL (goal: <= 2.0)."""

import sqlite3

from common import admin, context, database, emit, median_time

from console.services import pagination, users

path = database()
ctx = context(path)
actor = admin(ctx)
raw = sqlite3.connect(path)
key = raw.execute("SELECT lower(username), id FROM users ORDER BY lower(username), id LIMIT 1 OFFSET 500000").fetchone()
cursor = pagination.encode(*key)
SQL = ("SELECT * FROM users WHERE lower(username) >= ? AND (lower(username) > ? OR id > ?) "
       "ORDER BY lower(username), id LIMIT 51")
service = median_time(lambda: users.list_users(ctx, actor, cursor=cursor, limit=50), repeat=100)
floor = median_time(lambda: raw.execute(SQL, (key[0], key[0], key[1])).fetchall(), repeat=100)
emit("list_page_service_vs_raw_sql", service, floor, 2.0)

"""2. A service list page vs the same keyset query in raw SQL (goal: <= 2.0)."""

import sqlite3

from common import admin, context, database, emit, median_time

from console.services import listing, pagination

path = database()
ctx = context(path)
actor = admin(ctx)
raw = sqlite3.connect(path)
key = raw.execute("SELECT lower(username), id FROM users ORDER BY lower(username), id LIMIT 1 OFFSET 500000").fetchone()
cursor = pagination.encode(*key)
# The columns the service reads (everything but the hash, which is only "is there one").
SQL = ("SELECT id, username, email, display_name, role, source, password_hash IS NOT NULL, password_changed_at, "
       "password_expires_at, must_change_password, blocked, blocked_reason, blocked_at, failed_logins, locked_until, "
       "last_login_at, created_at, updated_at, version FROM users "
       "WHERE lower(username) >= ? AND (lower(username) > ? OR id > ?) ORDER BY lower(username), id LIMIT 51")
page = listing.list_users(ctx, actor, cursor=cursor, limit=50)
assert [u.id for u in page.items] == [r[0] for r in raw.execute(SQL, (key[0], key[0], key[1])).fetchall()[:50]]
service = median_time(lambda: listing.list_users(ctx, actor, cursor=cursor, limit=50), repeat=100)
floor = median_time(lambda: raw.execute(SQL, (key[0], key[0], key[1])).fetchall(), repeat=100)
emit("list_page_service_vs_raw_sql", service, floor, 2.0)

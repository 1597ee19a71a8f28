"""1. A service list page at depth ~900,000 vs page 0 (goal: ratio <= 1.5)."""

import sqlite3

from common import admin, context, database, emit, median_time

from console.services import listing, pagination

path = database()
ctx = context(path)
actor = admin(ctx)
with sqlite3.connect(path) as raw:  # setup only: find the key at depth 900,000
    depth = min(900_000, raw.execute("SELECT count(*) FROM users").fetchone()[0] - 100)
    key = raw.execute("SELECT lower(username), id FROM users ORDER BY lower(username), id LIMIT 1 OFFSET ?",
                      (depth,)).fetchone()
cursor = pagination.encode(*key)
deep = median_time(lambda: listing.list_users(ctx, actor, cursor=cursor, limit=50))
first = median_time(lambda: listing.list_users(ctx, actor, limit=50))
emit("list_page_depth_900k_vs_page0", deep, first, 1.5, depth=depth)

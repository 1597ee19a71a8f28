"""6. reset_password end to end vs one argon2 hash with the same (real,
configured) parameters (goal: <= 1.15)."""

from common import admin, context, copy_of, database, emit, median_time

from console.services import listing, passwords
from console.services.listing import UserFilter

path = copy_of(database(), "reset.db")
ctx = context(path, real_argon2=True)
actor = admin(ctx)
targets = [u.username for u in listing.list_users(ctx, actor, filter=UserFilter(role="member", external=False),
                                                   limit=40).items]
it = iter(targets * 10)
reset = median_time(lambda: passwords.reset_password(ctx, actor, next(it), reason="bench"), repeat=15)
one_hash = median_time(lambda: ctx.hasher.hash("correct horse battery staple"), repeat=15)
p = ctx.hasher.params
emit("reset_password_vs_one_argon2_hash", reset, one_hash, 1.15,
     argon2=f"t={p.time_cost} m={p.memory_cost}KiB p={p.parallelism}")

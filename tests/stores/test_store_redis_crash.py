"""Crash safety across the desk and a Redis server: a process resetting ACL
users' passwords through the redis-acl store is killed with SIGKILL at random
moments. After every kill, settling the pending events against the server (a
digest of the password hashes ACL GETUSER shows) leaves none unknown; every
pending event has exactly one outcome; the audit chain is intact; and every
password printed is accepted by AUTH, unless a later reset of the same user
reached the server."""

from __future__ import annotations

import random

from console.services import users
from console.services.context import Actor

from killed import WORKER, run_until_killed, settle_and_check, worker_args

from redisserver import make_rctx, rctx, redis_server, redis_servers, rusers  # noqa: F401  (fixtures)

ROUNDS = 8
SYSTEM = Actor.system("test")


def test_killed_at_random_moments_the_desk_and_the_server_agree(rusers, rctx, forker):
    users.create_user(rctx, SYSTEM, "crash-admin", role="admin", must_change=False)
    names = [rusers.make(f"crash{i}") for i in range(3)]
    rng = random.Random(20261206)
    for round_ in range(ROUNDS):
        lines = run_until_killed(forker, WORKER, worker_args(rctx.settings, rng.randrange(10**6), names), rng)
        settle_and_check(rctx, lines, rusers.signs_in, round_)

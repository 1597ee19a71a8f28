"""Crash safety across the desk and a PostgreSQL server: a process resetting
roles' passwords through the postgres-roles store is killed with SIGKILL at
random moments. After every kill, settling the pending events against the
server (a digest of pg_authid's verifier) leaves none unknown; every pending
event has exactly one outcome; the audit chain is intact; and every password
printed signs in, unless a later reset of the same role reached the server."""

from __future__ import annotations

import random

from console.services import users
from console.services.context import Actor

from killed import WORKER, run_until_killed, settle_and_check, worker_args

from pgroles import make_pctx, pctx, pg_cluster, roles, store_admin  # noqa: F401  (fixtures)

ROUNDS = 8
SYSTEM = Actor.system("test")


def test_killed_at_random_moments_the_desk_and_the_server_agree(roles, pctx, forker):
    users.create_user(pctx, SYSTEM, "crash-admin", role="admin", must_change=False)
    names = [roles.make(f"crash{i}") for i in range(3)]
    rng = random.Random(20261206)
    for round_ in range(ROUNDS):
        lines = run_until_killed(forker, WORKER, worker_args(pctx.settings, rng.randrange(10**6), names), rng)
        settle_and_check(pctx, lines, roles.signs_in, round_)

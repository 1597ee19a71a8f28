"""Crash safety across the desk and a MariaDB server: a process resetting
accounts' passwords through the mysql-users store is killed with SIGKILL at
random moments. After every kill, settling the pending events against the
server (a digest of the stored mysql_native_password hash) leaves none
unknown; every pending event has exactly one outcome; the audit chain is
intact; and every password printed signs in, unless a later reset of the same
account reached the server."""

from __future__ import annotations

import random

from console.services import users
from console.services.context import Actor

from killed import WORKER, run_until_killed, settle_and_check, worker_args

from mariadb import accounts_on, make_mctx, mariadb_server, mctx, store_admin  # noqa: F401  (fixtures)

ROUNDS = 8
SYSTEM = Actor.system("test")


def test_killed_at_random_moments_the_desk_and_the_server_agree(accounts_on, mctx, forker):
    users.create_user(mctx, SYSTEM, "crash-admin", role="admin", must_change=False)
    names = [accounts_on.make(f"crash{i}") for i in range(3)]
    rng = random.Random(20261206)
    for round_ in range(ROUNDS):
        lines = run_until_killed(forker, WORKER, worker_args(mctx.settings, rng.randrange(10**6), names), rng)
        settle_and_check(mctx, lines, accounts_on.signs_in, round_)

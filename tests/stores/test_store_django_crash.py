"""Crash safety across two databases: a process resetting Django users'
passwords through the Django store is killed with SIGKILL at random moments.
After every kill, settling the pending events against the store leaves none
unknown; every pending event has exactly one outcome; an outcome says ``ok``
only where the store holds the change; the audit chain is intact; and every
password printed was in the store when it was printed (the store confirmed it
before it was shown)."""

from __future__ import annotations

import random

from console.services import users
from console.services.context import Actor

from killed import WORKER, run_until_killed, settle_and_check, worker_args

from test_store_django import make_django_user

ROUNDS = 10
SYSTEM = Actor.system("test")


def test_killed_at_random_moments_the_desk_and_the_store_agree(dj, dctx, dj_settings, forker):
    from django.contrib.auth.hashers import check_password

    users.create_user(dctx, SYSTEM, "crash-admin", role="admin", must_change=False)
    for i in range(4):
        make_django_user(dj, f"crash{i}")
    rng = random.Random(20261201)
    printed_total = settled_total = 0
    for round_ in range(ROUNDS):
        lines = run_until_killed(forker, WORKER, worker_args(dj_settings, rng.randrange(10**6), [f"crash{i}" for i in range(4)],
                                                      "policy"), rng)
        printed_total += len(lines)
        # Each printed password is the one stored, unless a later reset of the
        # same account reached the store after it (its outcome ok).
        settled_total += len(settle_and_check(
            dctx, lines, lambda name, pw: check_password(pw, dj.User.objects.get(username=name).password), round_))
    print(f"printed {printed_total}, settled after a kill {settled_total}")

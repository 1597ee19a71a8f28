"""Crash safety across the desk and an LDAP directory: a process resetting
people's passwords through the ldap store is killed with SIGKILL at random
moments. After every kill, settling the pending events against the directory
(the newest pwdHistory value is the hash a landed reset replaced) leaves none
unknown; every pending event has exactly one outcome; the audit chain is
intact; and every password printed binds, unless a later reset of the same
person reached the server."""

from __future__ import annotations

import random

from console.services import users
from console.services.context import Actor

from killed import WORKER, run_until_killed, settle_and_check, worker_args

from slapdserver import lctx, make_lctx, people, slapd  # noqa: F401  (fixtures)

ROUNDS = 8
SYSTEM = Actor.system("test")


def test_killed_at_random_moments_the_desk_and_the_directory_agree(people, lctx, forker):
    users.create_user(lctx, SYSTEM, "crash-admin", role="admin", must_change=False)
    names = [people.make(f"crash{i}") for i in range(3)]
    s = lctx.settings
    rng = random.Random(20261206)
    settled = []
    # ROUNDS kills, and more (up to three times as many) until one has landed inside a pending window: on a
    # loaded machine the moments a kill can land in shift, and eight may all miss it.
    for round_ in range(3 * ROUNDS):
        if round_ >= ROUNDS and settled:
            break
        lines = run_until_killed(forker, WORKER, worker_args(s, rng.randrange(10**6), names, "ldap_bind_dn",
                                                      "ldap_bind_password_file", "ldap_people_base",
                                                      "ldap_default_policy_dn"), rng)
        settled += settle_and_check(lctx, lines, people.binds, round_)
    # The kills landed between a change and its outcome, and the directory told how each ended.
    assert settled and {x.outcome for x in settled} <= {"ok", "failed"}, settled

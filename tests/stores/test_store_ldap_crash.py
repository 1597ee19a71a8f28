"""Crash safety across the desk and an LDAP directory: a process resetting
people's passwords through the ldap store is killed with SIGKILL at random
moments. After every kill, settling the pending events against the directory
(the newest pwdHistory value is the hash a landed reset replaced) leaves none
unknown; every pending event has exactly one outcome; the audit chain is
intact; and every password printed binds, unless a later reset of the same
person reached the server."""

from __future__ import annotations

import json
import random

from sqlmodel import select

from console.models import AuditEvent, PendingChange
from console.services import accounts, audit, users
from console.services.context import Actor

from killed import WORKER, run_until_killed, worker_args

from slapdserver import lctx, make_lctx, people, slapd  # noqa: F401  (fixtures)

ROUNDS = 8
SYSTEM = Actor.system("test")


def test_killed_at_random_moments_the_desk_and_the_directory_agree(people, lctx):
    users.create_user(lctx, SYSTEM, "crash-admin", role="admin", must_change=False)
    names = [people.make(f"crash{i}") for i in range(3)]
    s = lctx.settings
    rng = random.Random(20261206)
    settled = []
    for round_ in range(ROUNDS):
        lines = run_until_killed(WORKER, worker_args(s, rng.randrange(10**6), names, "ldap_bind_dn",
                                                      "ldap_bind_password_file", "ldap_people_base",
                                                      "ldap_default_policy_dn"), rng)
        settled += accounts.settle_pending(lctx)
        with lctx.read_session() as rs:
            assert rs.exec(select(PendingChange)).all() == [], f"round {round_}: a change is still unknown"
            evs = list(rs.exec(select(AuditEvent).where(AuditEvent.action == "password.reset")
                               .order_by(AuditEvent.seq)))
        pend = [e for e in evs if e.outcome == "pending"]
        outcomes = {}
        for e in evs:
            if e.outcome != "pending":
                settles = json.loads(e.details)["settles"]
                assert settles not in outcomes, f"round {round_}: two outcomes for event {settles}"
                outcomes[settles] = e
        assert set(outcomes) == {e.seq for e in pend}, f"round {round_}: a pending event without an outcome"
        assert audit.verify_chain(lctx, SYSTEM).ok, f"round {round_}: the audit chain broke"
        for name in {n for _, n, _ in lines}:
            last = [pw for _, n, pw in lines if n == name][-1]
            if people.binds(name, last):
                continue
            mine = [e for e in pend if e.target == name]
            last_ok = [e for e in mine if outcomes[e.seq].outcome == "ok"]
            assert last_ok and last_ok[-1].seq == mine[-1].seq, f"round {round_}: {name}'s password lost"
    # The kills landed between a change and its outcome, and the directory told how each ended.
    assert settled and {x.outcome for x in settled} <= {"ok", "failed"}, settled

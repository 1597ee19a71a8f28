"""Crash safety across two databases: a process resetting Django users'
passwords through the Django store is killed with SIGKILL at random moments.
After every kill, settling the pending events against the store leaves none
unknown; every pending event has exactly one outcome; an outcome says ``ok``
only where the store holds the change; the audit chain is intact; and every
password printed was in the store when it was printed (the store confirmed it
before it was shown)."""

from __future__ import annotations

import json
import random

from sqlmodel import select

from console.models import AuditEvent, PendingChange
from console.services import accounts, audit, users
from console.services.context import Actor

from killed import WORKER, run_until_killed, worker_args

from test_store_django import make_django_user

ROUNDS = 10
SYSTEM = Actor.system("test")


def test_killed_at_random_moments_the_desk_and_the_store_agree(dj, dctx, dj_settings):
    from django.contrib.auth.hashers import check_password

    users.create_user(dctx, SYSTEM, "crash-admin", role="admin", must_change=False)
    for i in range(4):
        make_django_user(dj, f"crash{i}")
    rng = random.Random(20261201)
    printed_total = settled_total = 0
    for round_ in range(ROUNDS):
        lines = run_until_killed(WORKER, worker_args(dj_settings, rng.randrange(10**6), [f"crash{i}" for i in range(4)],
                                                      "policy"), rng)
        printed_total += len(lines)
        settled_total += len(accounts.settle_pending(dctx))
        with dctx.read_session() as s:
            assert s.exec(select(PendingChange)).all() == [], f"round {round_}: a change is still unknown"
            evs = list(s.exec(select(AuditEvent).where(AuditEvent.action == "password.reset")
                              .order_by(AuditEvent.seq)))
        pend = [e for e in evs if e.outcome == "pending"]
        outcomes = {}
        for e in evs:
            if e.outcome != "pending":
                settles = json.loads(e.details)["settles"]
                assert settles not in outcomes, f"round {round_}: two outcomes for event {settles}"
                outcomes[settles] = e
        assert set(outcomes) == {e.seq for e in pend}, f"round {round_}: a pending event without an outcome"
        assert audit.verify_chain(dctx, SYSTEM).ok, f"round {round_}: the audit chain broke"
        # Each printed password is the one stored, unless a later reset of the
        # same account reached the store after it (its outcome ok).
        for name in {n for _, n, _ in lines}:
            last = [pw for _, n, pw in lines if n == name][-1]
            stored = dj.User.objects.get(username=name).password
            mine = [e for e in pend if e.target == name]
            last_ok = [e for e in mine if outcomes[e.seq].outcome == "ok"]
            if check_password(last, stored):
                continue
            # Not the printed one: a later change must be the store's, in the desk as ok.
            assert len(last_ok) >= 1 and last_ok[-1].seq == mine[-1].seq, f"round {round_}: {name} lost"
    print(f"printed {printed_total}, settled after a kill {settled_total}")

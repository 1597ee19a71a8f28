"""Crash safety across the desk and a PostgreSQL server: a process resetting
roles' passwords through the postgres-roles store is killed with SIGKILL at
random moments. After every kill, settling the pending events against the
server (a digest of pg_authid's verifier) leaves none unknown; every pending
event has exactly one outcome; the audit chain is intact; and every password
printed signs in, unless a later reset of the same role reached the server."""

from __future__ import annotations

import json
import random

from sqlmodel import select

from console.models import AuditEvent, PendingChange
from console.services import accounts, audit, users
from console.services.context import Actor

from killed import WORKER, run_until_killed, worker_args

from pgroles import make_pctx, pctx, pg_cluster, roles, store_admin  # noqa: F401  (fixtures)

ROUNDS = 8
SYSTEM = Actor.system("test")


def test_killed_at_random_moments_the_desk_and_the_server_agree(roles, pctx):
    users.create_user(pctx, SYSTEM, "crash-admin", role="admin", must_change=False)
    names = [roles.make(f"crash{i}") for i in range(3)]
    rng = random.Random(20261206)
    for round_ in range(ROUNDS):
        lines = run_until_killed(WORKER, worker_args(pctx.settings, rng.randrange(10**6), names), rng)
        accounts.settle_pending(pctx)
        with pctx.read_session() as s:
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
        assert audit.verify_chain(pctx, SYSTEM).ok, f"round {round_}: the audit chain broke"
        for name in {n for _, n, _ in lines}:
            last = [pw for _, n, pw in lines if n == name][-1]
            if roles.signs_in(name, last):
                continue
            mine = [e for e in pend if e.target == name]
            last_ok = [e for e in mine if outcomes[e.seq].outcome == "ok"]
            assert last_ok and last_ok[-1].seq == mine[-1].seq, f"round {round_}: {name}'s password lost"

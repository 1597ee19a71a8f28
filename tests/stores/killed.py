"""The SIGKILL half of the store crash tests: start the worker
(crash_worker_store.py) that resets passwords through a store, let it get
going, kill it at a random moment."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path


#: The one worker every store's crash test runs.
WORKER = Path(__file__).resolve().parent / "crash_worker_store.py"


def worker_args(settings, seed: int, names, *fields: str) -> list[str]:
    """The worker's arguments: the store's settings (``store``,
    ``database_url``, ``desk_url`` and ``fields``), the seed, the accounts."""
    chosen = {k: getattr(settings, k) for k in ("store", "database_url", "desk_url", *fields)}
    return [json.dumps(chosen), str(seed), *names]


def run_until_killed(forker, worker: Path, args: list[str], rng: random.Random) -> list[list[str]]:
    """The complete lines the worker printed before the kill, split. The worker
    is a process of its own, forked by ``forker`` (the ``forker`` fixture)."""
    proc = forker.spawn(worker, args)
    first = b""
    try:
        assert proc.stdout.readline().strip() == b"ready", proc.stderr.read().decode()[-2000:]
        # The kill lands while work is going on, however slow the machine: after
        # the first reset, at a random moment in the ones that follow.
        first = proc.stdout.readline()
        assert first.startswith(b"reset "), proc.stderr.read().decode()[-2000:]
        time.sleep(rng.uniform(0.01, 0.3))
    finally:
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return [line.split() for line in (first + out).decode().splitlines(keepends=True) if line.endswith("\n")]


def settle_and_check(ctx, lines: list[list[str]], accepts, round_: int) -> list:
    """After a kill: settle what it left pending, then what must hold whatever
    the moment was. None stays unknown; every pending event has exactly one
    outcome; the audit chain is intact; and each account's last printed
    password is the one the store accepts (``accepts(name, password)``),
    unless a later reset of it reached the store (its outcome ok). Returns
    what was settled."""
    from sqlmodel import select

    from console.models import AuditEvent, PendingChange
    from console.services import accounts, audit
    from console.services.context import Actor

    settled = accounts.settle_pending(ctx)
    with ctx.read_session() as s:
        assert s.exec(select(PendingChange)).all() == [], f"round {round_}: a change is still unknown"
        evs = list(s.exec(select(AuditEvent).where(AuditEvent.action == "password.reset").order_by(AuditEvent.seq)))
    pend = [e for e in evs if e.outcome == "pending"]
    outcomes = {}
    for e in evs:
        if e.outcome != "pending":
            settles = json.loads(e.details)["settles"]
            assert settles not in outcomes, f"round {round_}: two outcomes for event {settles}"
            outcomes[settles] = e
    assert set(outcomes) == {e.seq for e in pend}, f"round {round_}: a pending event without an outcome"
    assert audit.verify_chain(ctx, Actor.system("test")).ok, f"round {round_}: the audit chain broke"
    for name in {n for _, n, _ in lines}:
        last = [pw for _, n, pw in lines if n == name][-1]
        if accepts(name, last):
            continue
        mine = [e for e in pend if e.target == name]
        last_ok = [e for e in mine if outcomes[e.seq].outcome == "ok"]
        assert last_ok and last_ok[-1].seq == mine[-1].seq, f"round {round_}: {name}'s password lost"
    return settled

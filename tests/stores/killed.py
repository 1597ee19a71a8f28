"""The SIGKILL half of the store crash tests: start the worker
(crash_worker_store.py) that resets passwords through a store, let it get
going, kill it at a random moment."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path


#: The one worker every store's crash test runs.
WORKER = Path(__file__).resolve().parent / "crash_worker_store.py"


def worker_args(settings, seed: int, names, *fields: str) -> list[str]:
    """The worker's arguments: the store's settings (``store``,
    ``database_url``, ``desk_url`` and ``fields``), the seed, the accounts."""
    chosen = {k: getattr(settings, k) for k in ("store", "database_url", "desk_url", *fields)}
    return [json.dumps(chosen), str(seed), *names]


def run_until_killed(worker: Path, args: list[str], rng: random.Random) -> list[list[str]]:
    """The complete lines the worker printed before the kill, split."""
    proc = subprocess.Popen([sys.executable, str(worker), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return [line.split() for line in (first + out).decode().splitlines(keepends=True) if line.endswith("\n")]

"""Run by the store crash tests (tests/stores/test_store_*_crash.py) in a
subprocess, to be killed with SIGKILL at a random moment: resets the passwords
of random accounts of a store, forever, printing each password only once its
service call has returned (the store confirmed it), one line each, flushed:

    reset <account> <password>

Usage: python crash_worker_store.py SETTINGS_JSON SEED ACCOUNT...
(SETTINGS_JSON: the store's settings, as ``console.config.Settings`` takes them.)"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.config import Settings  # noqa: E402
from console.security.hashing import Argon2Params  # noqa: E402
from console.services import accounts, auth  # noqa: E402
from console.services.context import ServiceContext  # noqa: E402


def main() -> None:
    settings, seed, names = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    rng = random.Random(seed)
    ctx = ServiceContext.from_settings(Settings(**settings, trusted_operator=True),
                                       argon2_params=Argon2Params.cheapest())
    admin = auth.trusted_operator(ctx, "crash-admin")
    real_write = ctx.store.write_credential

    def write_then_wait(*args, **kwargs):
        """The server's answer takes a moment to come back (a network between):
        kills land between the change and its outcome too, not only around them."""
        done = real_write(*args, **kwargs)
        time.sleep(rng.random() * 0.004)
        return done

    ctx.store.write_credential = write_then_wait
    print("ready", flush=True)
    while True:
        name = rng.choice(names)
        result = accounts.reset_password(ctx, admin, name, reason="crash test")
        time.sleep(rng.random() * 0.004)  # widen the gap between the change and the print
        print(f"reset {name} {result.password.reveal()}", flush=True)


if __name__ == "__main__":
    main()

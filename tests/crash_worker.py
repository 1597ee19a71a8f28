"""Run by tests/services/test_services_crash.py in a subprocess, to be killed
with SIGKILL at a random moment: resets passwords and issues reset tickets on
random accounts, forever, and prints each secret only once its service call
has returned (so after its transaction committed), one line each, flushed:

    reset <username> <password>
    ticket <username> <token>

Usage: python crash_worker.py DATABASE_URL SEED"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.config import Settings  # noqa: E402
from console.security.hashing import Argon2Params  # noqa: E402
from console.services import auth, passwords, tickets  # noqa: E402
from console.services.context import ServiceContext  # noqa: E402

ACCOUNTS = [f"crash{i}" for i in range(6)]


def main() -> None:
    url, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    ctx = ServiceContext.from_settings(Settings(database_url=url, trusted_operator=True),
                                       argon2_params=Argon2Params.cheapest())
    admin = auth.trusted_operator(ctx, "crash-admin")
    print("ready", flush=True)
    while True:
        name = rng.choice(ACCOUNTS)
        if rng.random() < 0.6:
            result = passwords.reset_password(ctx, admin, name, reason="crash test")
            time.sleep(rng.random() * 0.004)  # widen the gap between commit and print: kills land there too
            print(f"reset {name} {result.password.reveal()}", flush=True)
        else:
            issued = tickets.issue_ticket(ctx, admin, name, reason="crash test")
            time.sleep(rng.random() * 0.004)
            print(f"ticket {name} {issued.token.reveal()}", flush=True)


if __name__ == "__main__":
    main()

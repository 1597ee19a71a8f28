"""14d. `userdesk reset-password USER` from the shell, process against
process, against a process that does one argon2id hash with the same
parameters (the configured, real ones): interleaved A B A B, the median and
the worst of each (goal: median ratio <= 1.5).

The database is a small demo (1,000 users) so that the measure is the
command's own cost (imports, settings, the schema check, the transaction, the
audit) and the hash, not a large database's cache warming."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import admin, context, emit

from console.security.hashing import Argon2Params
from console.services import listing, setup
from console.services.listing import UserFilter

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 16

HASH_ONE = '''
import sys
from argon2 import PasswordHasher
t, m, p = map(int, sys.argv[1:4])
PasswordHasher(time_cost=t, memory_cost=m, parallelism=p).hash("correct horse battery staple")
'''


def run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise SystemExit(f"{cmd[2:4]} failed: {proc.stdout.decode(errors='replace')[-500:]}")
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reset.db"
        ctx = context(path)
        setup.seed_demo(ctx, 1000)
        actor = admin(ctx)
        targets = [u.username for u in listing.list_users(ctx, actor, filter=UserFilter(role="member", external=False),
                                                           limit=ROUNDS + 1).items]
        ctx.engine.dispose()
        p = Argon2Params()
        env = {**os.environ, "USERDESK_DATABASE_URL": f"sqlite:///{path}", "USERDESK_TRUSTED_OPERATOR": "true",
               "USERDESK_OPERATOR": "demo-admin", "USERDESK_AUDIT_KEY_FILE": f"{path}.auditkey",
               "USERDESK_REASON_REQUIRED": "false", "USERDESK_CONFIG": str(Path(tmp) / "empty.toml")}
        (Path(tmp) / "empty.toml").write_text("")
        hash_one = Path(tmp) / "hash_one.py"
        hash_one.write_text(HASH_ONE)
        ours, theirs = [], []
        for i, user in enumerate(targets):  # A B A B, the first round a warm-up
            a = run([sys.executable, "-m", "console", "reset-password", user, "--json"], env)
            b = run([sys.executable, str(hash_one), str(p.time_cost), str(p.memory_cost), str(p.parallelism)], env)
            if i:
                ours.append(a)
                theirs.append(b)
        emit("14d: userdesk reset-password (a process) vs a process doing one argon2id hash",
             statistics.median(ours), statistics.median(theirs), 1.5, worst=round(max(ours), 4),
             worst_floor=round(max(theirs), 4), argon2=f"t={p.time_cost} m={p.memory_cost}KiB p={p.parallelism}")


if __name__ == "__main__":
    main()

"""17. The common-password list and the pattern checks, against fixed budgets
(floor = the budget, goal: ratio <= 1):
- the list's load on the first check, in a fresh process after the imports the
  console makes at start (budget 0.25 s; the start itself loads nothing);
- the memory the list and its words hold, traced (budget 32 MiB);
- one nist check of a 24-character random password and of a passphrase, the
  list loaded (budget 2 ms: a form checks as the admin types)."""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import emit

ROOT = Path(__file__).resolve().parents[1]

LOAD = """
import time, tracemalloc, json
import console.config, console.security.policy, console.security.generator
from console.security import blocklist
assert blocklist._common.cache_info().currsize == 0
t = time.perf_counter()
blocklist._common(); blocklist.common_words()
elapsed = time.perf_counter() - t
blocklist._common.cache_clear(); blocklist.common_words.cache_clear()
tracemalloc.start()
blocklist._common(); blocklist.common_words()
held, peak = tracemalloc.get_traced_memory()
print(json.dumps({"seconds": elapsed, "held": held, "peak": peak,
                  "entries": blocklist.common_password_count(),
                  "long": blocklist.common_password_count(min_length=15)}))
"""


def fresh_load() -> dict:
    out = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


runs = [fresh_load() for _ in range(5)]
load = statistics.median(r["seconds"] for r in runs)
emit("blocklist load on first check (s)", load, 0.25, 1.0, entries=runs[0]["entries"],
     entries_15_plus=runs[0]["long"])
emit("blocklist memory held (bytes)", runs[0]["held"], 32 * 2**20, 1.0, peak=runs[0]["peak"])

import secrets  # noqa: E402

from console.security.policy import PRESETS, check  # noqa: E402  (common put the checkout on the path)

nist = PRESETS["nist"]
check(nist, "warm the list up")
for label, make in (("random 24", lambda: secrets.token_urlsafe(18)),
                    ("passphrase", lambda: "violet harbour lamps 2031 quay")):
    times = []
    for _ in range(300):
        pw = make()
        t = time.perf_counter()
        check(nist, pw)
        times.append(time.perf_counter() - t)
    emit(f"nist check, {label} (s)", statistics.median(times), 0.002, 1.0)

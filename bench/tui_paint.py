"""4. Time to the first painted page of the user list (headless, 80x24) on the
1M database vs a bare Textual app importing the same libraries and painting a
static table (goal: <= 1.3).
5. Peak RSS of that console run at 1M users vs at 1,000 users (goal: <= 1.1).
14e. The same first paint from process start vs a bare Textual app that imports
Textual only (goal: <= 1.5): what the console's own libraries and work cost.
Each run is a fresh process, the sides interleaved (A B C A B C); medians and
the worst of each."""

import statistics
import subprocess
import sys

from common import HERE, database, emit

RUNS = 5


LIBRARIES: dict[str, set[str]] = {}


def probe(mode: str, path) -> tuple[float, int]:
    """(seconds from the probe's first line, imports included, to the first
    painted page; peak RSS in bytes)."""
    out = subprocess.run([sys.executable, str(HERE / "tui_probe.py"), mode, str(path)], capture_output=True,
                         text=True, check=True, timeout=300)
    painted, rss, libraries = out.stdout.split()
    LIBRARIES[mode] = set(libraries.split(","))
    return float(painted), int(rss)


big, small = database(), database(1000)
probe("console", big)  # warm the page cache once
console, bare, textual_only, small_runs = [], [], [], []
for _ in range(RUNS):  # interleaved
    console.append(probe("console", big))
    bare.append(probe("bare", big))
    textual_only.append(probe("textual", big))
    small_runs.append(probe("console", small))
# The floor must have loaded every library the console did (else it is cheaper
# for the wrong reason); modules only the floor loaded are listed too.
emit("tui_first_paint_1m_vs_bare_textual", statistics.median(t for t, _ in console),
     statistics.median(t for t, _ in bare), 1.3, valid=LIBRARIES["console"] <= LIBRARIES["bare"],
     libraries_only_console=sorted(LIBRARIES["console"] - LIBRARIES["bare"]),
     libraries_only_bare=sorted(LIBRARIES["bare"] - LIBRARIES["console"]))
emit("14e: tui_first_paint_1m_vs_textual_only", statistics.median(t for t, _ in console),
     statistics.median(t for t, _ in textual_only), 1.5, worst=round(max(t for t, _ in console), 4),
     worst_floor=round(max(t for t, _ in textual_only), 4))
emit("tui_peak_rss_1m_vs_1k", statistics.median(r for _, r in console), statistics.median(r for _, r in small_runs),
     1.1)

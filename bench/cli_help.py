"""14c. `userdesk --help` (and a command's --help) against a bare Typer app's
--help, process against process, interleaved A B A B: the median and the worst
of each (goal: median ratio <= 1.5). The bare app has the same shape: a root
callback with options, commands and a group, so both load what Typer loads
for that (pydantic included, when it is installed)."""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import emit

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 21

BARE = '''
from typing import Optional
import typer
app = typer.Typer(add_completion=False, rich_markup_mode=None)
group = typer.Typer(rich_markup_mode=None)
app.add_typer(group, name="users")

@app.callback()
def root(profile: Optional[str] = typer.Option(None, "--profile"), db: Optional[str] = typer.Option(None, "--db")):
    """A root with options."""

@app.command()
def reset(username: str, reason: Optional[str] = typer.Option(None, "--reason")):
    """A command."""

@group.command("show")
def show(username: str, as_json: bool = typer.Option(False, "--json")):
    """A group's command."""

app()
'''


def run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE)
        for label, args, bare_args in (("14c", ["--help"], ["--help"]),
                                       ("14c-users-show", ["users", "show", "--help"], ["users", "show", "--help"])):
            ours, theirs = [], []
            for i in range(ROUNDS):  # A B A B, the first round a warm-up
                a = run([sys.executable, "-m", "console", *args])
                b = run([sys.executable, str(bare), *bare_args])
                if i:
                    ours.append(a)
                    theirs.append(b)
            emit(f"{label}: userdesk {' '.join(args)} vs a bare Typer app's", statistics.median(ours),
                 statistics.median(theirs), 1.5, worst=round(max(ours), 4), worst_floor=round(max(theirs), 4))


if __name__ == "__main__":
    main()

"""Run in a subprocess by tui_paint.py: start the console (or a bare Textual app
importing the same libraries: ``bare``; or importing Textual only: ``textual``)
headless at 80x24, print when the first page of users is painted, and the peak
resident memory, then exit."""

import resource
import sys
import time

T0 = time.perf_counter()
mode, path = sys.argv[1], sys.argv[2]

# ``bare`` loads the same libraries as the console: every module outside
# ``console`` that the console has loaded by its first paint (tui_paint.py
# checks the two sets agree). ``textual`` loads Textual only; ``console`` what
# the console imports itself.
if mode == "bare":
    import concurrent.futures.thread  # noqa: E402,F401
    import gzip  # noqa: E402,F401
    import sqlite3  # noqa: E402,F401
    import tomllib  # noqa: E402,F401

    import argon2  # noqa: E402,F401
    import platformdirs  # noqa: E402,F401
    import pyperclip  # noqa: E402,F401
    import regex  # noqa: E402,F401
    import sqlalchemy.dialects.sqlite  # noqa: E402,F401
    import sqlmodel  # noqa: E402,F401
import textual  # noqa: E402,F401
from textual.app import App  # noqa: E402
from textual.widgets import DataTable, Footer, Header  # noqa: E402


PAINTED: list[float] = []


def watch_paint(widget_cls, has_rows) -> None:
    """Record when the widget first draws a line while it holds rows: the
    first painted page."""
    original = widget_cls.render_line

    def render_line(self, y):
        if not PAINTED and has_rows(self):
            PAINTED.append(time.perf_counter() - T0)
        return original(self, y)

    widget_cls.render_line = render_line


async def painted(pilot) -> float:
    while not PAINTED:
        await pilot.pause(0.002)
    return PAINTED[0]


def peak_rss_kib() -> int:
    """This process's peak resident memory: Linux's VmHWM (that of this
    program's own memory), not getrusage's ru_maxrss, which a process started
    by fork and exec carries over from its parent (the benchmark that just
    built a million-user database, say)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report(painted: float) -> None:
    """Time to paint, peak RSS, and the library modules loaded (not the console's own)."""
    rss_kib = peak_rss_kib()
    libraries = sorted(m for m in sys.modules if m != "console" and not m.startswith("console."))
    print(f"{painted:.6f} {rss_kib * 1024} {','.join(libraries)}", flush=True)


class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("username", "name", "email", "role", "status", "last in", "age")
        for i in range(20):
            table.add_row(f"user{i}", f"User {i}", f"user{i}@example.com", "member", "active", "2026-11-01", "10d")


async def run_bare() -> None:
    watch_paint(DataTable, lambda table: table.row_count > 0)
    app = Bare()
    async with app.run_test(size=(80, 24)) as pilot:
        report(await painted(pilot))


async def run_console() -> None:
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    from console.config import Settings
    from console.services import auth, setup
    from console.services.context import ServiceContext
    from console.tui.app import UserdeskApp
    from console.tui.clipboard import Clipboard
    from console.tui.widgets.userlist import UserList

    watch_paint(UserList, lambda lst: bool(lst.rows))
    ctx = ServiceContext.from_settings(Settings(database_url=f"sqlite:///{path}", trusted_operator=True,
                                                   audit_key_file=f"{path}.auditkey"))
    setup.check_ready(ctx)
    app = UserdeskApp(ctx, actor=auth.trusted_operator(ctx, "demo-admin"), demo=True,
                      remember_path=__import__("pathlib").Path("/dev/null"),
                      clipboard=Clipboard(lambda _t: None, env={}))
    async with app.run_test(size=(80, 24)) as pilot:
        first = await painted(pilot)
        for _ in range(30):  # and scroll a few pages, as an operator would
            await pilot.press("pagedown")
        await app.workers.wait_for_complete()
        report(first)


import asyncio  # noqa: E402

asyncio.run(run_console() if mode == "console" else run_bare())

"""Driving the console through Textual's Pilot against the test database.

``tui.app(actor)`` builds a ``UserdeskApp`` on the ``ctx`` database with a
recording clipboard (nothing reaches the real clipboard of the machine running
the tests) and its remembered state (theme) under ``tmp_path``. Helpers wait for the service
workers and read what is actually on screen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyperclip
import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Static

from console.services.context import Actor, ServiceContext
from console.tui.app import UserdeskApp
from console.tui.clipboard import Clipboard

SIZE = (80, 24)


@dataclass
class FakeClipboard:
    """What the app sent where. OSC 52 goes on to the app's own
    ``copy_to_clipboard`` (as in production), so Textual's in-app copy
    (``app._clipboard``) is exercised too."""

    osc52: list[str] = field(default_factory=list)
    #: Raw sequences written to the terminal (OSC 52 in tmux's passthrough).
    written: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    #: What the local clipboard holds now (None: no local backend).
    local_holds: str | None = ""
    app: App | None = None

    def send_osc52(self, text: str) -> None:
        self.osc52.append(text)
        if self.app is not None:
            self.app.copy_to_clipboard(text)

    def write(self, sequence: str) -> None:
        self.written.append(sequence)

    def local_copy(self, text: str) -> None:
        if self.local_holds is None:
            raise pyperclip.PyperclipException("no clipboard backend")
        self.local.append(text)
        self.local_holds = text

    def local_paste(self) -> str:
        if self.local_holds is None:
            raise pyperclip.PyperclipException("no clipboard backend")
        return self.local_holds

    @property
    def everything(self) -> list[str]:
        return self.osc52 + self.written + self.local


class Tui:
    """Helpers for a test, as the ``tui`` fixture (test modules cannot import
    this conftest): build the app, wait for its workers, read its screen."""

    size = SIZE

    def __init__(self, ctx: ServiceContext, tmp_path) -> None:
        self.ctx = ctx
        self.tmp_path = tmp_path
        #: The console's monotonic clock (the clipboard countdown): it stands
        #: still unless a test moves it (``tui.seconds += 5``), however slow the machine.
        self.seconds = 1000.0

    def app(self, actor: Actor | None, *, ctx: ServiceContext | None = None, env: dict | None = None,
            local_backend: bool = False, remember_path=None, tmux=None) -> tuple[UserdeskApp, FakeClipboard]:
        """A console on the test database, signed in as ``actor`` (None: the
        sign-in screen first); returns it with its recording clipboard.
        ``tmux``: a ``console.tui.clipboard.Tmux`` answering for tmux (with TMUX in ``env``)."""
        fake = FakeClipboard(local_holds="" if local_backend else None)
        clip = Clipboard(fake.send_osc52, env=env if env is not None else {}, local_copy=fake.local_copy,
                         local_paste=fake.local_paste, write=fake.write, tmux=tmux)
        app = UserdeskApp(ctx or self.ctx, actor=actor,
                          remember_path=remember_path or self.tmp_path / "state.json", clipboard=clip,
                          monotonic=lambda: self.seconds)
        app.animation_level = "none"  # scrolls jump: a test waits for no animation to finish
        fake.app = app
        return app, fake

    @staticmethod
    async def fill(pilot: Pilot, selector: str, text: str) -> Input:
        """Focus an input and give it ``text`` (as a paste would: one Changed
        event, instead of a key press per character, which is slow)."""
        field = pilot.app.screen.query_one(selector, Input)
        field.focus()
        field.value = text
        field.cursor_position = len(text)
        await pilot.pause()
        return field

    # -- waiting ---------------------------------------------------------------------------------

    @staticmethod
    async def workers_done(pilot: Pilot) -> None:
        """Wait for every running worker (a cancelled one counts as done)."""
        running = [w for w in pilot.app.workers if not w.is_finished]
        if running:
            await asyncio.gather(*(w.wait() for w in running), return_exceptions=True)

    async def settle(self, pilot: Pilot, rounds: int = 2) -> None:
        """Let service workers finish and their results be delivered (a result
        may start another worker, hence a few rounds)."""
        for _ in range(rounds):
            await self.workers_done(pilot)
            await pilot.pause()
        await pilot.pause()

    async def wait_for(self, pilot: Pilot, predicate: Callable[[], object], *, timeout: float = 10.0,
                       what: str = "") -> None:
        """Poll ``predicate`` (letting workers and messages run) until it is true."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if predicate():
                    return
            except Exception:  # noqa: BLE001 - e.g. a widget not mounted yet
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {(what() if callable(what) else what) or predicate}")
            await self.workers_done(pilot)
            await pilot.pause()

    async def wait_screen(self, pilot: Pilot, cls: type, *, timeout: float = 10.0):
        """Wait for a ``cls`` screen to be the current one, its widgets mounted
        and its messages handled (one more pause once it is current)."""
        await self.wait_for(pilot, lambda: isinstance(pilot.app.screen, cls), timeout=timeout,
                            what=f"{cls.__name__} (on {type(pilot.app.screen).__name__})")
        await pilot.pause()
        return pilot.app.screen

    # -- getting somewhere ---------------------------------------------------------------------------

    async def open_user(self, pilot: Pilot, username: str):
        """From the user list, open ``username``'s detail screen and wait for it to load."""
        from console.tui.screens.detail import UserDetailScreen
        from console.tui.screens.users import UsersScreen

        users_screen = await self.wait_screen(pilot, UsersScreen)
        users_screen.open_user(username)
        screen = await self.wait_screen(pilot, UserDetailScreen)
        await self.wait_for(pilot, lambda: screen.detail is not None, what=f"{username}'s detail")
        return screen

    @staticmethod
    def danger(screen) -> dict[str, tuple[bool, str]]:
        """The danger zone as shown: action id -> (enabled, label text)."""
        options = screen.query_one("#detail-danger", OptionList)
        return {o.id: (not o.disabled, str(o.prompt)) for o in options.options}

    async def start(self, pilot: Pilot, action):
        """On a detail screen: ``d`` to the danger zone, highlight ``action``,
        Enter; returns the dialog that opened."""
        from console.tui.screens.action import ActionDialog

        screen = pilot.app.screen
        await pilot.press("d")
        options = screen.query_one("#detail-danger", OptionList)
        assert pilot.app.focused is options
        index = [o.id for o in options.options].index(action.value)
        assert not options.get_option_at_index(index).disabled, self.danger(screen)[action.value]
        options.highlighted = index
        await pilot.press("enter")
        return await self.wait_screen(pilot, ActionDialog)

    async def confirm(self, pilot: Pilot, *, key: bool = True) -> None:
        """Confirm the open dialog (ctrl+s, or a click on its button) and let it run."""
        if key:
            await pilot.press("ctrl+s")
        else:
            await pilot.click("#action-confirm")
        await self.settle(pilot)

    # -- reading the screen ------------------------------------------------------------------------

    @staticmethod
    def text(screen_or_app, selector: str) -> str:
        """The plain text a Static shows now."""
        screen = screen_or_app.screen if isinstance(screen_or_app, App) else screen_or_app
        return str(screen.query_one(selector, Static).visual)

    @staticmethod
    def drawn(app: App):
        """The current screen's compositor once the frame its widgets asked
        for is drawn: a change is drawn by the screen's update timer, which
        may not have fired yet when a test reads (Pilot's idle wait watches the
        CPU, not timers). This draws it now, as Pilot.pause does."""
        app.screen._on_timer_update()
        return app.screen._compositor

    @classmethod
    def lines(cls, app: App) -> list[str]:
        """What the terminal shows now, line by line (the active screen, with
        any screen beneath a modal), as plain text."""
        return [strip.text for strip in cls.drawn(app).render_strips()]

    def screen_text(self, app: App) -> str:
        return "\n".join(self.lines(app))

    @classmethod
    def raw_segments(cls, app: App) -> str:
        """Every character of every segment drawn on the terminal now."""
        return "".join(seg.text for strip in cls.drawn(app).render_strips() for seg in strip)

    @staticmethod
    def widget_texts(app: App) -> list[str]:
        """Every text any widget of any screen on the stack holds: rendered
        content, Static content, Input values, option prompts, table cells."""
        out: list[str] = []
        for screen in app.screen_stack:
            for w in [screen, *screen.walk_children(Widget)]:
                if isinstance(w, Static):
                    out.append(str(w.content))
                    out.append(str(w.visual))
                if isinstance(w, Input):
                    out.append(w.value)
                if isinstance(w, DataTable):
                    for row_key in w.rows:
                        out.extend(str(c) for c in w.get_row(row_key))
                if isinstance(w, OptionList):
                    out.extend(str(o.prompt) for o in w.options)
                try:
                    out.append(str(w.render()))
                except Exception:  # noqa: BLE001 - some widgets only render when laid out
                    pass
        return out


@pytest.fixture
def tui(ctx, tmp_path) -> Tui:
    return Tui(ctx, tmp_path)

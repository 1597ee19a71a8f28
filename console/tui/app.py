"""The userdesk console application."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import platformdirs
from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerCancelled, WorkerFailed, get_current_worker

from console.security.files import keep_private
from console.services import listing
from console.services.context import Actor, ServiceContext
from console.services.errors import ServiceError
from console.tui.clipboard import Clipboard, TmuxState
from console.tui.commands import UserdeskCommands
from console.tui.text import safe
from console.tui.themes import DEFAULT_THEME, load_themes

log = logging.getLogger(__name__)

#: How long the user list waits for its first page before it opens without it.
FIRST_PAGE_WAIT = 0.2


def state_path() -> Path:
    return Path(platformdirs.user_state_dir("userdesk")) / "console.json"


def console_log_path() -> Path:
    """Where the console logs (never a secret: see the service layer's rules)."""
    return Path(platformdirs.user_log_dir("userdesk")) / "console.log"


class UserdeskApp(App):
    """Sign in, find a user, see the account, act on it from the danger zone."""

    CSS_PATH = "app.tcss"
    TITLE = "userdesk"
    COMMANDS = App.COMMANDS | {UserdeskCommands}
    BINDINGS = [
        # Quit is in the help (?), the palette and on the sign-in screen's footer;
        # the footer of the others has no room left for it beside "? Help".
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        # Both shown: the footer shows "? Help", or "f1 Help" while a text field takes "?".
        # F1 is a priority key: it works in dialogs and text fields too (see keys.HELP_KEYS).
        Binding("question_mark", "help", "Help", tooltip="Help: the keys of this screen"),
        Binding("f1", "help", "Help", tooltip="Help: the keys of this screen", priority=True),
    ]

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        actor: Actor | None = None,
        demo: bool = False,
        remember_path: Path | None = None,
        clipboard: Clipboard | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``monotonic``: the clock of the clipboard countdown (screenshots stop it)."""
        super().__init__()
        self.ctx = ctx
        self._monotonic = monotonic
        self.actor: Actor | None = actor
        self.demo = demo
        self._remember_path = remember_path if remember_path is not None else state_path()
        self.clip = clipboard or Clipboard(self.copy_to_clipboard, write=self.write_to_terminal)
        self._clear_timer = None
        self.clipboard_deadline: float | None = None
        self._themes = load_themes()
        # Themes are chosen before the first stylesheet pass: switching later
        # restyles every widget.
        for theme in self._themes.values():
            self.register_theme(theme)
        remembered = self._remembered().get("theme")
        for name in (remembered, self.ctx.settings.theme, DEFAULT_THEME):
            if name in self._themes:
                self.theme = name
                break

    # -- start-up ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self.sub_title = self._subtitle()
        if self.actor is None:
            from console.tui.screens.signin import SignInScreen

            self.push_screen(SignInScreen())
        else:
            self.signed_in(self.actor)

    def signed_in(self, actor: Actor) -> None:
        self.actor = actor
        self.sub_title = self._subtitle()
        self.run_worker(self._open_users(actor), group="open-users", exclusive=True)

    async def _open_users(self, actor: Actor) -> None:
        """Open the user list with its first page already read: read while the
        screen before it (sign-in, or the empty start) is still shown, nothing
        competes with the read, and the list appears with its rows in one frame.
        A database slower than FIRST_PAGE_WAIT gets the list at once, which then
        reads for itself; so does an operator who must first change their
        password (that dialog comes at once)."""
        from console.tui.screens.signin import SignInScreen
        from console.tui.screens.users import DEFAULT_QUERY, UsersScreen
        from console.tui.widgets.userlist import UserList

        if self.ctx.settings.foreign_store:  # a foreign store: its own list (console/tui/screens/store.py)
            from console.tui.screens.store import StoreUsersScreen

            if isinstance(self.screen, SignInScreen):
                self.pop_screen()
            self.push_screen(StoreUsersScreen())
            if actor.must_change_password:
                from console.tui.screens.password import ChangePasswordScreen

                self.push_screen(ChangePasswordScreen(forced=True))
            return
        first = None
        if not actor.must_change_password:
            reader = self.run_worker(partial(listing.list_users, self.ctx, actor, **UserList.list_args(DEFAULT_QUERY)),
                                     thread=True, group="first-page", exit_on_error=False)
            try:
                first = await asyncio.wait_for(asyncio.shield(reader.wait()), FIRST_PAGE_WAIT)
            except (asyncio.TimeoutError, WorkerFailed, WorkerCancelled):
                pass  # too slow, or an error the screen's own read will report
        if isinstance(self.screen, SignInScreen):
            self.pop_screen()
        self.push_screen(UsersScreen(first=first))
        if actor.must_change_password:
            from console.tui.screens.password import ChangePasswordScreen

            self.push_screen(ChangePasswordScreen(forced=True))

    def _subtitle(self) -> str:
        parts = []
        if self.demo:
            parts.append("DEMO")
        if self.actor is not None:
            parts.append(f"{self.actor.username} ({self.actor.role})")
        if self.ctx.settings.read_only:
            parts.append("READ-ONLY")
        if self.ctx.settings.foreign_store:
            parts.append(self.ctx.store_name)
        return " · ".join(parts)

    # -- themes ----------------------------------------------------------------------------

    @property
    def userdesk_themes(self) -> list[str]:
        return list(self._themes)

    def choose_theme(self, name: str) -> None:
        """The operator picked a theme: use it and remember it."""
        self.theme = name
        self._remember(theme=name)

    def _remembered(self) -> dict[str, Any]:
        try:
            data = json.loads(self._remember_path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _remember(self, **values: Any) -> None:
        data = {**self._remembered(), **values}
        try:
            keep_private(self._remember_path)
            self._remember_path.write_text(json.dumps(data))
        except OSError:
            log.warning("could not remember the console state in %s", self._remember_path)

    #: Textual's built-in commands that are not offered: Theme (ours below,
    #: limited to userdesk's themes) and Screenshot (it would write the screen,
    #: a one-time password included, to a file).
    _DROPPED_COMMANDS = frozenset({"Theme", "Screenshot"})

    # -- help --------------------------------------------------------------------------------------

    def action_help(self) -> None:
        """The help of the screen on display (again: closes it)."""
        from console.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen(self.screen))

    def action_show_help_panel(self) -> None:
        """The palette's "Keys": the same help (Textual's keys panel would list
        only the focused widget's keys)."""
        self.action_help()

    def get_system_commands(self, screen: Screen):
        for command in super().get_system_commands(screen):
            if command.title not in self._DROPPED_COMMANDS:
                yield command
        for name in self._themes:
            yield SystemCommand(f"Theme: {name}", "Switch the colour theme (remembered)",
                                lambda name=name: self.choose_theme(name))

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Never: the screen may hold a secret. (``python -m console.screenshots``
        makes pictures from demo data, with the reveal hidden.)"""
        self.notify("Screenshots are off: the screen can hold a one-time password.", severity="warning",
                    markup=False)
        return None

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.deliver_screenshot(filename, path)

    # -- crashes --------------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """A bug reached the event loop. Textual would print a traceback with
        local variables (a password being typed or shown among them); print the
        error's type and where the log is instead, and log the stack only."""
        self._crash = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        error = getattr(self, "_crash", None)
        name = type(error).__name__ if error is not None else "error"
        if error is not None:
            log.error("the console stopped on %s\n%s", name, "".join(traceback.format_tb(error.__traceback__)))
        self.bell()
        self._exit_renderables.append(Text(f"userdesk stopped on an unexpected {name}; the stack is in "
                                           f"{console_log_path()}"))
        self._close_messages_no_wait()

    # -- service calls in worker threads ------------------------------------------------------

    def service(
        self,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[ServiceError], None] | None = None,
        group: str = "service",
        exclusive: bool = False,
        **kwargs: Any,
    ) -> Worker:
        """Run a service function off the event loop; deliver its result (or its
        error) back on it. A result from a cancelled (superseded) call is dropped."""

        def job() -> None:
            worker = get_current_worker()
            try:
                result = fn(*args, **kwargs)
            except ServiceError as err:
                if not worker.is_cancelled:
                    self.call_from_thread(self._failed, err, failed)
                return
            except Exception as exc:  # a bug, not an operator error: keep the console alive
                # Type and stack only: a driver's message may quote parameters (hashes).
                log.error("service call %s failed with %s\n%s", getattr(fn, "__name__", fn), type(exc).__name__,
                          "".join(traceback.format_tb(exc.__traceback__)))
                if not worker.is_cancelled:
                    self.call_from_thread(self.notify, f"unexpected error: see {console_log_path()}",
                                          severity="error", markup=False)
                return
            if not worker.is_cancelled and done is not None:
                self.call_from_thread(done, result)

        return self.run_worker(job, thread=True, group=group, exclusive=exclusive, exit_on_error=False)

    def _failed(self, err: ServiceError, failed: Callable[[ServiceError], None] | None) -> None:
        if failed is not None:
            failed(err)
        else:
            self.notify(f"{safe(err.message)} [{err.code}]", severity="error", markup=False, timeout=8)

    async def action_quit(self) -> None:
        """Quitting before the clear delay still clears what we copied."""
        if self.clip.pending:
            self.clear_clipboard()
        self.exit()

    # -- clipboard ---------------------------------------------------------------------------

    def write_to_terminal(self, sequence: str) -> None:
        """A raw sequence to the terminal (tmux's passthrough of OSC 52)."""
        if self._driver is not None:
            self._driver.write(sequence)

    def copy_secret(self, secret: str, tmux: TmuxState | None = None):
        """Copy a one-time secret; schedule clearing. Returns the CopyReport.
        ``tmux``: ``clip.tmux_state()``, asked in a worker beforehand."""
        report = self.clip.copy(secret, tmux=tmux)
        delay = self.ctx.settings.clipboard_clear_seconds
        if self._clear_timer is not None:
            self._clear_timer.stop()
        self._clear_timer = None
        self.clipboard_deadline = None
        if report.copied and delay:
            self._clear_timer = self.set_timer(delay, self.clear_clipboard)
            self.clipboard_deadline = self._monotonic() + delay
        return report

    def clipboard_seconds_left(self) -> int | None:
        if self.clipboard_deadline is None:
            return None
        return max(0, round(self.clipboard_deadline - self._monotonic()))

    def clear_clipboard(self) -> None:
        self.clip.clear()
        self.forget_clipboard()
        self._clear_timer = None
        self.clipboard_deadline = None

    def forget_clipboard(self) -> None:
        """Drop Textual's own copy of the last clipboard text (it keeps one for
        its in-app paste); the terminal's clipboard is cleared by the timer."""
        if getattr(self, "_clipboard", ""):
            self._clipboard = ""

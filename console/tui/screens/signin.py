"""Operator sign-in: username and password, lockout shown with when it ends."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Label, Static

from console.services import auth, database
from console.services.errors import LockedOut, ServiceError
from console.tui.text import plain, when
from console.tui.widgets.footer import Footer


class SignInScreen(Screen):
    CSS_PATH = "signin.tcss"
    HELP_TITLE = "Sign-in"
    BINDINGS = [Binding("escape", "app.quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="signin-box"):
            yield Label("Sign in to userdesk", id="signin-title")
            yield Static(plain(database.describe(self.app.ctx.settings.database_url)), id="signin-db")
            yield Label("Operator")
            yield Input(placeholder="username", id="signin-user", max_length=64)
            yield Label("Password")
            yield Input(placeholder="password", password=True, id="signin-password", max_length=1024)
            yield Static("", id="signin-error")
            yield Button("Sign in", id="signin-button", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#signin-user", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "signin-user":
            self.query_one("#signin-password", Input).focus()
        else:
            self.sign_in()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.sign_in()

    def sign_in(self) -> None:
        username = self.query_one("#signin-user", Input).value.strip()
        pw_input = self.query_one("#signin-password", Input)
        password = pw_input.value
        pw_input.value = ""
        if not username or not password:
            self._error("Give your operator username and password.")
            return
        self.query_one("#signin-button", Button).disabled = True
        self._error("Signing in…", error=False)
        self.app.service(auth.sign_in, self.app.ctx, username, password, done=self._done, failed=self._fail,
                         group="signin", exclusive=True)

    def _done(self, actor) -> None:
        self._error("Signed in: opening the user list…", error=False)
        self.app.signed_in(actor)  # replaces this screen

    def _fail(self, err: ServiceError) -> None:
        self.query_one("#signin-button", Button).disabled = False
        if isinstance(err, LockedOut) and err.until is not None:
            self._error(f"Locked out until {when(err.until)} UTC after too many failed sign-ins.")
        else:
            self._error(err.message)
        self.query_one("#signin-password", Input).focus()

    def _error(self, message: str, *, error: bool = True) -> None:
        box = self.query_one("#signin-error", Static)
        box.update(plain(message))
        box.set_class(error, "-error")

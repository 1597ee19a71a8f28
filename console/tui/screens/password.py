"""Change my password: the signed-in operator's own (old one verified)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from console.services import passwords
from console.services.errors import AuthFailed, LockedOut, ServiceError, WeakPassword
from console.tui.widgets.checklist import PolicyChecklist
from console.tui.keys import HELP_KEYS
from console.tui.text import plain
from console.tui.widgets.footer import Footer


class ChangePasswordScreen(ModalScreen):
    CSS_PATH = "action.tcss"
    HELP_TITLE = "My password"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Change"), *HELP_KEYS]

    def __init__(self, *, forced: bool = False) -> None:
        super().__init__()
        self.forced = forced
        self.running = False
        #: The inputs that correct the error on show (it goes when one is typed in).
        self.error_inputs: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        actor = self.app.actor
        with VerticalScroll(id="action-box", classes="-dense"):
            yield Static(Content.assemble(("Change my password", "bold"), " — ", plain(actor.username, "bold")),
                         id="action-title")
            yield Static(self._explanation(actor), id="action-explanation")
            with Vertical(id="action-fields"):
                for label, id_ in (("Current", "p-old"), ("New password", "p-new"), ("Repeat it", "p-new2")):
                    with Horizontal(classes="field"):
                        yield Label(label)
                        yield Input(password=True, id=id_, compact=True, max_length=1024)
                yield PolicyChecklist("", id="f-checklist")
            with Vertical(id="action-foot"):
                yield Static("", id="action-error")
                with Horizontal(id="action-buttons"):
                    yield Button("Change password", id="action-confirm", variant="primary", compact=True)
                    yield Button("Sign out" if self.forced else "Cancel", id="action-cancel", compact=True)
        yield Footer()

    def _explanation(self, actor) -> str:
        if self.forced:
            return "You must choose a new password before you can go on."
        if actor.method == "trusted":
            # Trusted mode (the demo profile, a forced-command SSH login) let them in by name alone.
            return ("You were let in without a password (trusted operator mode). Current is the password on "
                    "your account: `userdesk demo` prints its operators' when it builds the demo.")
        return "Your current password is checked first; the console stays signed in with the new one."

    def on_mount(self) -> None:
        self.query_one("#p-old", Input).focus()
        self._check()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("p-new", "p-new2"):
            self._check()
        if event.value and event.input.id in self.error_inputs:
            self.error_inputs = ()
            self.query_one("#action-error", Static).update("")

    def _check(self) -> None:
        self.query_one(PolicyChecklist).check(self.query_one("#p-new", Input).value,
                                              self.query_one("#p-new2", Input).value,
                                              username=self.app.actor.username)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "action-cancel":
            self.action_cancel()
        else:
            self.action_save()

    def action_cancel(self) -> None:
        if self.running:
            return
        if self.forced:
            self.app.exit(message="Signed out: the password change was not completed.")
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        if self.running:
            return
        old, new, again = (self.query_one(f"#{i}", Input).value for i in ("p-old", "p-new", "p-new2"))
        if new != again:
            self._refuse("new password: the two entries differ", ("p-new", "p-new2"))
            return
        for i in ("p-old", "p-new", "p-new2"):
            self.query_one(f"#{i}", Input).value = ""
        app = self.app
        self.running = True
        self.error_inputs = ()
        self.query_one("#action-confirm", Button).disabled = True
        self.query_one("#action-error", Static).update("working…")
        app.service(passwords.change_own_password, app.ctx, app.actor, old, new, done=self._done,
                    failed=self._failed, group="own-password", exclusive=True)

    def _failed(self, err: ServiceError) -> None:
        self.running = False
        if not self.is_current:
            return
        self.query_one("#action-confirm", Button).disabled = False
        if isinstance(err, (AuthFailed, LockedOut)) or getattr(err, "field", None) == "old_password":
            inputs: tuple[str, ...] = ("p-old",)
        elif isinstance(err, WeakPassword) or getattr(err, "field", None) == "new_password":
            inputs = ("p-new", "p-new2")
        else:
            inputs = ()
        self._refuse(f"{err.message} [{err.code}]", inputs)
        self.query_one("#p-old", Input).focus()

    def _refuse(self, message: str, inputs: tuple[str, ...]) -> None:
        self.error_inputs = inputs
        self.query_one("#action-error", Static).update(plain(message, "$error"))

    def _done(self, actor) -> None:
        self.running = False
        self.app.actor = actor
        self.app.notify("Your password was changed.", markup=False)
        if self.is_current:
            self.dismiss(True)

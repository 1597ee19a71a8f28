"""The danger-zone dialog: explains the action, asks for its fields, a reason and
(for helpdesk) the identity check, then runs the one service function."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from console.services.errors import NoChange, ServiceError, WeakPassword
from console.services.permissions import Action, reason_needed
from console.services.validation import ROLES
from console.services.views import EmailedTicket, IssuedTicket, PasswordResult, UserView
from console.services.accounts import Account, EmailedLink, ResetLink, StorePasswordResult
from console.tui.actions import ACTIONS, ActionSpec
from console.tui.clipboard import TMUX_FIX, TmuxState
from console.tui.keys import HELP_KEYS
from console.tui.text import plain
from console.tui.widgets.checklist import PolicyChecklist
from console.tui.widgets.footer import Footer

LIFETIMES = ((15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "24 hours"))

#: The fields an error may name (a service error's ``field``), and the inputs
#: that correct it: the error goes once one of them is typed in again.
FIELD_INPUTS = {
    "reason": ("f-reason",),
    "identity_check": ("f-identity",),
    "password": ("f-password", "f-password2"),
    "new_password": ("f-password", "f-password2"),
    "expiry_days": ("f-expiry",),
    "confirm": ("f-confirm",),
}


def error_field(err: ServiceError) -> str | None:
    """The form field a service error is about, if any."""
    if isinstance(err, WeakPassword):
        return "password"
    return getattr(err, "field", None)


class ActionDialog(ModalScreen):
    CSS_PATH = "action.tcss"
    HELP_TITLE = "A danger-zone action"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "Confirm"),
        *HELP_KEYS,
        Binding("ctrl+t", "tmux_clipboard", "tmux clipboard on"),
    ]

    def __init__(self, action: Action, user: UserView | Account, *, spec: ActionSpec | None = None) -> None:
        """``user``: the native store's view, or a foreign store's account
        (with ``spec`` from STORE_ACTIONS)."""
        super().__init__()
        self.action_ = action
        self.spec = spec or ACTIONS[action]
        self.user = user
        self.running = False
        #: The field the error on show names (it goes when that field is corrected).
        self.error_field: str | None = None
        #: What the tmux around the console does with OSC 52, once asked (secrets only).
        self.tmux: TmuxState | None = None
        self._tmux_fixed = False

    @property
    def helpdesk(self) -> bool:
        return self.app.actor.role == "helpdesk"

    @property
    def reason_required(self) -> str | None:
        """Why this action must record a reason (the services' rule), or None."""
        return reason_needed(self.app.actor, self.action_, reason_required=self.app.ctx.settings.reason_required)

    def compose(self) -> ComposeResult:
        spec, u = self.spec, self.user
        settings = self.app.ctx.settings
        # With a password and its checklist the fields sit without gaps, so the form fits 80x24.
        classes = " ".join(c for c, on in (("-destructive", spec.destructive), ("-dense", "password" in spec.fields))
                           if on)
        # The box scrolls when the terminal is small; its title and buttons stay (docked).
        with VerticalScroll(id="action-box", classes=classes):
            yield Static(Content.assemble((spec.title, "bold"), " — ", plain(u.username, "bold")), id="action-title")
            yield Static(spec.explanation, id="action-explanation")
            with Vertical(id="action-fields"):
                if "password" in spec.fields:
                    with Horizontal(classes="field"):
                        yield Label("New password")
                        yield Input(password=True, id="f-password", compact=True, max_length=1024)
                    with Horizontal(classes="field"):
                        yield Label("Repeat it")
                        yield Input(password=True, id="f-password2", compact=True, max_length=1024)
                    yield PolicyChecklist("", id="f-checklist")
                if "expiry" in spec.fields:
                    with Horizontal(classes="field"):
                        yield Label("Expires in days")
                        days = settings.default_expiry_days()  # what an empty field means
                        yield Input(placeholder=f"{days} (0 = never)" if days else "0 (never)", id="f-expiry",
                                    compact=True, restrict=r"[0-9]*", max_length=5)
                if "must_change" in spec.fields:
                    with Horizontal(classes="field"):
                        yield Label("Must change")
                        yield Select([("keep as is", "keep"), ("yes, at next sign-in", "yes"), ("no", "no")],
                                     value="yes" if "password" not in spec.fields else "keep", allow_blank=False,
                                     id="f-must-change", compact=True)
                if "lifetime" in spec.fields:
                    choices = [(label, m) for m, label in LIFETIMES if m <= 1440]
                    default = settings.ticket_lifetime_minutes
                    if default not in [m for _, m in choices]:
                        choices.insert(0, (f"{default} minutes", default))
                    with Horizontal(classes="field"):
                        yield Label("Valid for")
                        yield Select(choices, value=default, allow_blank=False, id="f-lifetime", compact=True)
                if "role" in spec.fields:
                    with Horizontal(classes="field"):
                        yield Label("New role")
                        yield Select([(r, r) for r in ROLES if r != u.role], allow_blank=False, id="f-role",
                                     compact=True)
                if "confirm_username" in spec.fields:
                    with Horizontal(classes="field"):
                        yield Label("Type username")
                        yield Input(placeholder="type the name in the title", id="f-confirm", compact=True,
                                    max_length=64)
                with Horizontal(classes="field"):
                    yield Label("Reason" + (" *" if self.reason_required else ""), id="f-reason-label")
                    yield Input(placeholder="why (audited)", id="f-reason", compact=True, max_length=500)
                if self.helpdesk:
                    with Horizontal(classes="field"):
                        yield Label("Identity check *")
                        yield Input(placeholder="how you verified the caller", id="f-identity", compact=True,
                                    max_length=200)
            if spec.reveals:
                yield Static("", id="action-clipboard")
            with Vertical(id="action-foot"):
                yield Static("", id="action-error")
                with Horizontal(id="action-buttons"):
                    yield Button(spec.title, id="action-confirm", variant="error" if spec.destructive else "primary",
                                 compact=True)
                    yield Button("Cancel", id="action-cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()
        else:
            self.query_one("#action-confirm", Button).focus()
        if "password" in self.spec.fields:
            self._check_password()
        if self.spec.reveals and self.app.clip.in_tmux:
            self._ask_tmux()

    # -- the clipboard, said before the secret is made -----------------------------------------------

    def _ask_tmux(self) -> None:
        app = self.app
        app.service(app.clip.tmux_state, done=self._show_tmux, group="tmux-state", exclusive=True)

    def _show_tmux(self, state: TmuxState | None) -> None:
        if not self.is_attached:
            return
        self.tmux = state
        notice = self.query_one("#action-clipboard", Static)
        if state is None or state.reaches_terminal:
            notice.update("" if state is None or not self._tmux_fixed else
                          Content.styled("tmux now passes the clipboard on (set-clipboard on).", "$success"))
        else:
            what = "password" if self.action_ is Action.RESET_PASSWORD else "link"
            notice.update(Content.assemble(
                (f"{state.why_not()}: the {what} cannot reach your terminal's clipboard. ", "$warning"),
                ("ctrl+t", "bold"), " runs ", (TMUX_FIX, "bold"), " now, or copy it by hand."))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tmux_clipboard":  # offered only when tmux would drop the secret
            return self.tmux is not None and not self.tmux.reaches_terminal
        return True

    def action_tmux_clipboard(self) -> None:
        if self.tmux is None or self.tmux.reaches_terminal:
            return
        app = self.app

        def fix() -> tuple[bool, TmuxState | None]:
            return app.clip.tmux.clipboard_on(), app.clip.tmux_state()

        def fixed(answer: tuple[bool, TmuxState | None]) -> None:
            took, state = answer
            if not took:
                app.notify(f"tmux did not take it: run `{TMUX_FIX}` yourself", severity="warning", markup=False)
            self._tmux_fixed = took
            self._show_tmux(state)

        app.service(fix, done=fixed, group="tmux-state", exclusive=True)

    # -- live policy checklist ---------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("f-password", "f-password2"):
            self._check_password()
        if event.value and event.input.id in FIELD_INPUTS.get(self.error_field or "", ()):
            self._clear_error()

    def _check_password(self) -> None:
        u = self.user
        self.query_one(PolicyChecklist).check(self.query_one("#f-password", Input).value,
                                              self.query_one("#f-password2", Input).value,
                                              username=u.username, email=u.email, display_name=u.display_name)

    # -- running -------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "action-cancel":
            self.action_cancel()
        else:
            self.action_confirm()

    def action_cancel(self) -> None:
        if not self.running:
            self.dismiss(None)

    def _values(self) -> dict[str, Any] | None:
        def value(id_: str) -> Any:
            found = self.query(f"#{id_}")
            return found.first().value if found else None

        v: dict[str, Any] = {"reason": (value("f-reason") or "").strip(),
                             "identity_check": (value("f-identity") or "").strip()}
        expiry = value("f-expiry")
        if expiry:
            v["expiry"] = int(expiry)
        mc = value("f-must-change")
        v["must_change"] = {"yes": True, "no": False}.get(mc) if mc else None
        if "lifetime" in self.spec.fields:
            v["lifetime"] = value("f-lifetime")
        if "role" in self.spec.fields:
            v["role"] = value("f-role")
        if "password" in self.spec.fields:
            v["password"] = value("f-password") or ""
            if v["password"] != value("f-password2"):
                return self._refuse("password: the two entries differ", "password")
        if "confirm_username" in self.spec.fields and value("f-confirm") != self.user.username:
            return self._refuse("confirmation: type the username exactly to delete the account", "confirm")
        why = self.reason_required
        if why and not v["reason"]:
            return self._refuse(f"reason: {why}", "reason")
        return v

    def _refuse(self, message: str, field: str | None = None) -> None:
        self.error_field = field
        self.query_one("#action-error", Static).update(plain(message, "$error"))
        return None

    def _clear_error(self) -> None:
        self.error_field = None
        self.query_one("#action-error", Static).update("")

    def action_confirm(self) -> None:
        if self.running:
            return
        values = self._values()
        if values is None:
            return
        self.running = True
        self.error_field = None
        self.query_one("#action-confirm", Button).disabled = True
        self.query_one("#action-error", Static).update("working…")
        app = self.app
        app.service(self.spec.run, app.ctx, app.actor, self.user, values, done=self._done, failed=self._failed,
                    group="action", exclusive=True)
        # The typed password is not kept in the form once sent.
        for id_ in ("f-password", "f-password2"):
            for field in self.query(f"#{id_}"):
                field.value = ""

    def _failed(self, err: ServiceError) -> None:
        if isinstance(err, NoChange):  # already as asked: done
            self.app.notify(f"{self.spec.title}: nothing changed — {err.message}", markup=False)
            self.dismiss(True)
            return
        self.running = False
        self.query_one("#action-confirm", Button).disabled = False
        self._refuse(f"{err.message} [{err.code}]", error_field(err))

    def _done(self, result: Any) -> None:
        from console.tui.screens.reveal import RevealScreen

        u = self.user
        if isinstance(result, PasswordResult) and result.password is not None:
            self.dismiss(True)
            self.app.push_screen(RevealScreen(result.password, kind="password", username=u.username,
                                              note=f"{result.entropy_bits:.0f} bits · revoked "
                                                   f"{result.sessions_revoked} session(s), "
                                                   f"{result.tickets_revoked} ticket(s)"))
            return
        if isinstance(result, IssuedTicket):
            self.dismiss(True)
            self.app.push_screen(RevealScreen(result.url, kind="link", username=u.username,
                                              note=f"valid until {result.ticket.expires_at:%Y-%m-%d %H:%M} UTC, "
                                                   "single use"))
            result.token.discard()
            return
        if isinstance(result, StorePasswordResult):
            self.dismiss(True)
            self.app.push_screen(RevealScreen(result.password, kind="password", username=u.username,
                                              note=f"{result.entropy_bits:.0f} bits · written as {result.written_as}"
                                                   + (f" · ended {result.sessions_revoked} session(s)"
                                                      if result.sessions_revoked is not None else "")))
            return
        if isinstance(result, ResetLink):
            self.dismiss(True)
            self.app.push_screen(RevealScreen(result.link, kind="link", username=u.username, note=result.note))
            return
        if isinstance(result, EmailedLink):
            self.app.notify(f"Reset link emailed to {result.to} ({result.delivery}); the application accepts it "
                            f"until {result.expires_at:%Y-%m-%d %H:%M} UTC", markup=False, timeout=8)
            self.dismiss(True)
            return
        if isinstance(result, EmailedTicket):
            self.app.notify(f"Reset link emailed to {result.to} (valid until "
                            f"{result.ticket.expires_at:%Y-%m-%d %H:%M} UTC, single use)", markup=False, timeout=8)
            self.dismiss(True)
            return
        self.app.notify(self.spec.done(result, u.username), markup=False)
        self.dismiss("deleted" if self.action_ is Action.DELETE else True)

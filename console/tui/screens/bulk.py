"""Bulk actions by filter: choose the action and the selection, see how many
accounts it changes, confirm, watch the progress."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, ProgressBar, Select, Static

from console.services import bulk
from console.services.errors import ServiceError
from console.services.listing import UserFilter
from console.services.validation import ROLES
from console.tui.text import plain, safe
from console.tui.widgets.footer import Footer

PREVIEW_DELAY = 0.3


def fitted(names: list[str], count: int, width: int) -> str:
    """As many of the sample's names as fit on one line of ``width`` cells
    (written out as they will be shown), then "…" if the selection holds more."""
    shown: list[str] = []
    for name in map(safe, names):
        more = count > len(shown) + 1
        if cell_len(", ".join([*shown, name]) + (", …" if more else "")) > width:
            break
        shown.append(name)
    if len(shown) == count:
        return ", ".join(shown)
    return ", ".join([*shown, "…"])


class BulkScreen(ModalScreen):
    CSS_PATH = "action.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "confirm", "Run")]

    def __init__(self) -> None:
        super().__init__()
        self.preview: bulk.BulkPreview | None = None
        self.running = False
        self._debounce: Timer | None = None
        self._asked = 0  # numbers the preview requests: only the latest one's answer counts
        #: The input that corrects the error on show (it goes when that is typed in).
        self.error_input: str | None = None

    @property
    def helpdesk(self) -> bool:
        return self.app.actor.role == "helpdesk"

    def compose(self) -> ComposeResult:
        roles = [("member", "member")] if self.helpdesk else [("any role", "")] + [(r, r) for r in ROLES]
        with VerticalScroll(id="action-box", classes="-destructive"):
            yield Static(Content.styled("Bulk action", "bold"), id="action-title")
            yield Static("Applies one action to every account the selection matches, in one transaction "
                         "with one audit event.", id="action-explanation")
            with Vertical(id="action-fields"):
                with Horizontal(classes="field"):
                    yield Label("Action")
                    yield Select([(t, k) for k, t in bulk.TITLES.items()], value="force_change", allow_blank=False,
                                 id="b-action", compact=True)
                with Horizontal(classes="field"):
                    yield Label("Role")
                    yield Select(roles, value=roles[0][1], allow_blank=False, id="b-role", compact=True)
                with Horizontal(classes="field"):
                    yield Label("Inactive days")
                    yield Input(placeholder="not signed in for N days (blank: any)", id="b-inactive", compact=True,
                                restrict=r"[0-9]*", max_length=5)
                with Horizontal(classes="field"):
                    yield Label("Reason" + (" *" if self.helpdesk else ""))
                    yield Input(placeholder="why (audited)", id="b-reason", compact=True, max_length=500)
                if self.helpdesk:
                    with Horizontal(classes="field"):
                        yield Label("Identity check *")
                        yield Input(placeholder="e.g. n/a: policy action", id="b-identity", compact=True,
                                    max_length=200)
            with Vertical(id="action-foot"):  # what Run would do, and Run, stay in sight
                yield Static("", id="b-preview")
                yield ProgressBar(id="b-progress", show_eta=False)
                yield Static("", id="action-error")
                with Horizontal(id="action-buttons"):
                    yield Button("Run", id="action-confirm", variant="error", compact=True, disabled=True)
                    yield Button("Cancel", id="action-cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#b-progress", ProgressBar).display = False
        self.query_one("#b-action", Select).focus()
        self._preview_now()

    # -- preview -----------------------------------------------------------------------------

    def _filter(self) -> UserFilter | None:
        role = self.query_one("#b-role", Select).value
        days = self.query_one("#b-inactive", Input).value
        return UserFilter(role=role or None, inactive_days=int(days) if days else None)

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._schedule()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "b-inactive":
            self._schedule()
        if event.value and event.input.id == self.error_input:
            self.error_input = None
            self.query_one("#action-error", Static).update("")

    def _schedule(self) -> None:
        # The form no longer matches the preview: nothing may run until it does,
        # and a count still on its way for the old form is not the preview.
        self._asked += 1
        self.preview = None
        self.query_one("#action-confirm", Button).disabled = True
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(PREVIEW_DELAY, self._preview_now)

    def _preview_now(self) -> None:
        self.preview = None
        self.query_one("#action-confirm", Button).disabled = True
        self.query_one("#b-preview", Static).update("counting…")
        action = self.query_one("#b-action", Select).value
        self._asked += 1
        asked = self._asked
        app = self.app
        app.service(bulk.preview, app.ctx, app.actor, action, self._filter(),
                    done=lambda p: self._show_preview(p, asked),
                    failed=lambda err: self._failed(err) if asked == self._asked else None,
                    group="bulk-preview", exclusive=True)

    def _show_preview(self, p: bulk.BulkPreview, asked: int) -> None:
        if not self.is_attached or self.running or asked != self._asked:
            return  # gone, running, or counted for a form that has changed since
        self.preview = p
        text = f"{p.count:,} account(s) will change"
        if p.action == "revoke_sessions":
            text += f", ending {p.sessions:,} session(s)"
        sample = fitted(p.sample, p.count, self.query_one("#b-preview", Static).size.width or 70)
        self.query_one("#b-preview", Static).update(
            Content.assemble((text, "bold $warning" if p.count else "bold"), "\n", plain(sample if p.count else "")))
        self.query_one("#action-confirm", Button).disabled = p.count == 0

    # -- run ---------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "action-cancel":
            self.action_cancel()
        else:
            self.action_confirm()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_confirm()

    def action_cancel(self) -> None:
        if not self.running:
            self.dismiss(None)

    def action_confirm(self) -> None:
        p = self.preview
        if self.running or p is None or p.count == 0:
            return
        self.running = True
        self.query_one("#action-confirm", Button).disabled = True
        bar = self.query_one("#b-progress", ProgressBar)
        bar.display = True
        bar.update(total=p.count, progress=0)
        reason = self.query_one("#b-reason", Input).value.strip() or None
        identity = self.query_one("#b-identity", Input).value.strip() if self.helpdesk else None
        app = self.app

        def progress(done: int, total: int) -> None:  # called on the worker thread
            app.call_from_thread(bar.update, total=total, progress=done)

        app.service(bulk.run, app.ctx, app.actor, p.action, p.filter, expected_count=p.count, reason=reason,
                    identity_check=identity or None, progress=progress, done=self._done, failed=self._failed,
                    group="bulk-run", exclusive=True)

    def _failed(self, err: ServiceError) -> None:
        self.running = False
        if self.is_attached:
            if self.preview is None:  # nothing was counted: no "counting…" beside the refusal
                self.query_one("#b-preview", Static).update("")
            self.error_input = {"reason": "b-reason", "identity_check": "b-identity"}.get(getattr(err, "field", ""))
            self.query_one("#action-error", Static).update(plain(f"{err.message} [{err.code}]", "$error"))
            self.query_one("#action-confirm", Button).disabled = self.preview is None

    def _done(self, result: bulk.BulkResult) -> None:
        self.running = False
        extra = f", {result.sessions_revoked:,} session(s) revoked" if result.action == "revoke_sessions" else ""
        self.app.notify(f"{bulk.TITLES[result.action]}: done for {result.count:,} account(s){extra}", markup=False)
        if self.is_current:
            self.dismiss(result)

"""One account: profile, password state, sessions, tickets, activity, danger zone."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Header, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option
from textual.widgets.tabbed_content import ContentTabs

from console.services import detail as detail_service
from console.services.detail import DANGER_ACTIONS, UserDetail
from console.services.permissions import Action
from console.tui.actions import ACTIONS, ActionSpec
from console.tui.screens.audit import AuditEventScreen, EventTable, outcome_mark
from console.tui.text import cell, clip, plain, relative, safe, when
from console.tui.widgets.footer import Footer

#: Column widths that fit 80 columns with a scrollbar; a longer value ends in
#: "…" (an activity row opens whole with Enter). None: as wide as the values.
COLUMNS = {
    "detail-sessions": (("client", 26), ("started", 16), ("last seen", 10), ("expires", 16)),
    "detail-tickets": (("id", None), ("issued by", 12), ("created", 16), ("expires", 16), ("sent", 7)),
    "detail-activity": (("#", None), ("at (UTC)", 16), ("by", 10), ("action", 21), ("", 1), ("reason", 10)),
}


def _cells(table_id: str, *values: object) -> list:
    return [cell(clip(v, w) if w else safe(v)) for v, (_, w) in zip(values, COLUMNS[table_id])]


def _row(label: str, value: object, note: str = "", style: str = "") -> Content:
    return Content.assemble((f"{label:>14}  ", "dim"), plain(value, style), (f"  {note}" if note else "", "dim"))


class UserDetailScreen(Screen):
    CSS_PATH = "detail.tcss"
    HELP_TITLE = "An account"
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back to the list"),
        Binding("d", "danger", "Danger", tooltip="Danger zone: its list of actions"),
        # One footer entry for the five, "1–5 Tabs"; the tooltips name each tab.
        Binding("1", "tab('account')", "Tabs", key_display="1–5", tooltip="Account tab"),
        Binding("2", "tab('sessions')", "Sessions", show=False, tooltip="Sessions tab"),
        Binding("3", "tab('tickets')", "Tickets", show=False, tooltip="Tickets tab"),
        Binding("4", "tab('activity')", "Activity", show=False, tooltip="Activity tab: Enter shows an event whole"),
        Binding("5", "tab('danger')", "Danger", show=False, tooltip="Danger zone tab: Enter starts an action"),
        Binding("enter", "enter_tab", "Into the tab", show=False, tooltip="On the tab bar: into the tab shown"),
        Binding("p", "change_password", "My password", tooltip="Change my own password"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Read the account again"),
    ]

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username
        self.detail: UserDetail | None = None
        self.events: dict = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(plain(self.username), id="detail-title")
        with TabbedContent(initial="account", id="detail-tabs"):
            with TabPane("Account", id="account"):
                with VerticalScroll():
                    yield Static("loading…", id="detail-account")
            with TabPane("Sessions", id="sessions"):
                yield DataTable(id="detail-sessions", cursor_type="row", zebra_stripes=True)
            with TabPane("Tickets", id="tickets"):
                yield DataTable(id="detail-tickets", cursor_type="row", zebra_stripes=True)
            with TabPane("Activity", id="activity"):
                yield EventTable(id="detail-activity", cursor_type="row", zebra_stripes=True)
            with TabPane("Danger zone", id="danger"):
                yield OptionList(id="detail-danger")
                yield Static("", id="detail-danger-help")
        yield Footer()

    def on_mount(self) -> None:
        for table_id, columns in COLUMNS.items():
            table = self.query_one(f"#{table_id}", DataTable)
            for label, width in columns:
                table.add_column(label, width=width)
        self.action_refresh()

    # -- data --------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        app = self.app
        app.service(detail_service.user_detail, app.ctx, app.actor, self.username, done=self.show,
                    group="detail", exclusive=True)

    def show(self, d: UserDetail) -> None:
        if not self.is_attached:
            return
        self.detail = d
        u = d.user
        now = self.app.ctx.now()
        title = Content.assemble(
            plain(u.username, "bold"), "  ", (u.role, "bold"), "  ",
            plain(" ".join(u.status), "$warning" if u.status != ["active"] else "$success"), "  ",
            plain(u.display_name), "  ", plain(f"<{u.email}>" if u.email else ""),
        )
        self.query_one("#detail-title", Static).update(title)
        expires = "never" if u.password_expires_at is None else when(u.password_expires_at)
        lines = [
            Content.styled("Profile", "bold $primary"),
            _row("display name", u.display_name),
            _row("email", u.email),
            _row("role", u.role),
            _row("source", "local password" if not u.external else f"identity provider {safe(u.source)}"),
            _row("created", when(u.created_at), relative(u.created_at, now)),
            Content.styled("Password", "bold $primary"),
            _row("password", "set" if u.has_password else "none"),
            _row("changed", when(u.password_changed_at), relative(u.password_changed_at, now)),
            _row("expires", expires, relative(u.password_expires_at, now) if u.password_expires_at else "",
                 "$warning" if u.expired else ""),
            _row("must change", "yes, at next sign-in" if u.must_change_password else "no"),
            Content.styled("Access", "bold $primary"),
            _row("blocked", f"yes: {safe(u.blocked_reason)} (since {when(u.blocked_at)})" if u.blocked else "no",
                 style="$error" if u.blocked else ""),
            _row("locked", f"until {when(u.locked_until)}" if u.locked else "no",
                 f"{u.failed_logins} failed sign-in(s)", "$warning" if u.locked else ""),
            _row("last sign-in", when(u.last_login_at), relative(u.last_login_at, now) if u.last_login_at else
                 "never signed in"),
            _row("sessions", f"{len(d.sessions)} active"),
            _row("reset tickets", f"{len(d.tickets)} outstanding"),
        ]
        self.query_one("#detail-account", Static).update(Content("\n").join(lines))
        sessions = self.query_one("#detail-sessions", DataTable)
        sessions.clear()
        for s in d.sessions:
            sessions.add_row(*_cells("detail-sessions", s.client, when(s.created_at), relative(s.last_seen_at, now),
                                     when(s.expires_at)))
        tickets = self.query_one("#detail-tickets", DataTable)
        tickets.clear()
        for t in d.tickets:
            tickets.add_row(*_cells("detail-tickets", t.id, t.issued_by, when(t.created_at), when(t.expires_at),
                                    "emailed" if t.delivery == "email" else "shown"))
        activity = self.query_one("#detail-activity", DataTable)
        activity.clear()
        self.events = {str(e.seq): e for e in d.events}
        for e in d.events:
            seq, at, by, action_name, _mark, reason = _cells("detail-activity", e.seq, when(e.at), e.operator,
                                                            e.action, "", e.reason)
            activity.add_row(seq, at, by, action_name, outcome_mark(e), reason, key=str(e.seq))
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("sessions").label = f"Sessions ({len(d.sessions)})"
        tabs.get_tab("tickets").label = f"Tickets ({len(d.tickets)})"
        self._fill_danger(d)

    def _fill_danger(self, d: UserDetail) -> None:
        options = self.query_one("#detail-danger", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for action in self.shown_actions():
            spec = ACTIONS[action]
            why = d.actions[action]
            label = Content.assemble((spec.title, "bold" if why is None else "dim"),
                                     (f" — {why}" if why else f" — {spec.summary}", "dim"))
            options.add_option(Option(label, id=action.value, disabled=why is not None))
        if highlighted is None:
            highlighted = next((i for i, a in enumerate(self.shown_actions()) if d.actions[a] is None), None)
        if highlighted is not None:
            options.highlighted = highlighted
        self._explain()

    def shown_actions(self) -> list[Action]:
        """Every danger-zone action, disabled ones included (with their reason),
        except "set password" where the configuration rules it out entirely
        (ASVS 6.4.6: only generated passwords and tickets)."""
        allowed_choice = self.app.ctx.settings.admin_may_set_password
        return [a for a in DANGER_ACTIONS if allowed_choice or a is not Action.SET_PASSWORD]

    def danger_help(self) -> list[tuple[Action, ActionSpec]]:
        """For the help screen: the danger zone's actions and what each says."""
        return [(action, ACTIONS[action]) for action in self.shown_actions()]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an activity row: the whole event (its reason is cut in the table)."""
        e = self.events.get(event.row_key.value) if event.data_table.id == "detail-activity" else None
        if e is not None:
            self.app.push_screen(AuditEventScreen(e))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._explain()

    def _explain(self) -> None:
        options = self.query_one("#detail-danger", OptionList)
        help_box = self.query_one("#detail-danger-help", Static)
        if options.highlighted is None or self.detail is None:
            help_box.update("")
            return
        action = Action(options.get_option_at_index(options.highlighted).id)
        why = self.detail.actions[action]
        text = ACTIONS[action].explanation
        help_box.update(Content.assemble(text, ("\nUnavailable: " + why, "$error") if why else ""))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.start_action(Action(event.option.id))

    def start_action(self, action: Action) -> None:
        from console.tui.screens.action import ActionDialog

        if self.detail is None:
            return
        why = self.detail.actions.get(action)
        if why is not None:
            self.notify(f"{ACTIONS[action].title}: {why}", severity="warning", markup=False)
            return
        self.app.push_screen(ActionDialog(action, self.detail.user), callback=self._after_action)

    def _after_action(self, result: object) -> None:
        if result == "deleted":
            self.dismiss()
        else:  # also after a cancel or failure: the account may have changed meanwhile
            self.action_refresh()

    # -- navigation ------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    #: What takes the keys in each tab: its table, or the danger zone's actions.
    #: The account tab has nothing to act on: the tab bar keeps the focus (←/→).
    TAB_FOCUS = {"sessions": "#detail-sessions", "tickets": "#detail-tickets", "activity": "#detail-activity",
                 "danger": "#detail-danger"}

    def action_tab(self, tab: str) -> None:
        """Show the tab and give its rows the keys: Enter then opens an event
        or starts an action without a Tab first."""
        tabs = self.query_one(TabbedContent)
        tabs.active = tab
        if tab in self.TAB_FOCUS:
            self.query_one(self.TAB_FOCUS[tab]).focus()
        else:
            tabs.query_one(ContentTabs).focus()

    def action_enter_tab(self) -> None:
        """Enter on the tab bar: into the tab shown."""
        tabs = self.query_one(TabbedContent)
        if isinstance(self.focused, ContentTabs) and tabs.active in self.TAB_FOCUS:
            self.query_one(self.TAB_FOCUS[tabs.active]).focus()

    def action_danger(self) -> None:
        self.action_tab("danger")

    def action_change_password(self) -> None:
        from console.tui.screens.password import ChangePasswordScreen

        self.app.push_screen(ChangePasswordScreen())

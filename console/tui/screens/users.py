"""The user list: search as you type, filters, the needs-attention view."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Input, Static

from console.services.listing import UserFilter
from console.services.views import Page, UserView
from console.tui.text import plain
from console.tui.widgets.footer import Footer
from console.tui.widgets.searchbox import SearchBox
from console.tui.widgets.userlist import EMAIL, NAME, Query, UserList
from console.tui.widgets.viewpicker import ViewMenu, ViewPicker

#: (label, filter, order) for the filter selector.
VIEWS: dict[str, tuple[str, UserFilter, str]] = {
    "all": ("All users", UserFilter(), "username"),
    "attention": ("Needs attention first", UserFilter(), "attention"),
    "locked": ("Locked", UserFilter(locked=True), "username"),
    "blocked": ("Blocked", UserFilter(blocked=True), "username"),
    "expired": ("Password expired", UserFilter(expired=True), "username"),
    "must_change": ("Must change password", UserFilter(must_change=True), "username"),
    "external": ("External provider", UserFilter(external=True), "username"),
    "admin": ("Role: admin", UserFilter(role="admin"), "username"),
    "helpdesk": ("Role: helpdesk", UserFilter(role="helpdesk"), "username"),
    "viewer": ("Role: viewer", UserFilter(role="viewer"), "username"),
    "member": ("Role: member", UserFilter(role="member"), "username"),
}


def current_line(lst: UserList) -> Content:
    """The highlighted row under the table, its values whole: the username,
    then what the columns cut (the email before the name), the rest after."""
    u = lst.current
    if u is None:
        return Content("")
    cut = lst.cut(u)
    email, name = plain(f"<{u.email}>" if u.email else "no email"), plain(u.display_name)
    middle = [email, name] if EMAIL in cut or NAME not in cut else [name, email]
    return Content("  ").join([plain(u.username, "bold"), *middle, plain(u.role), plain(" ".join(u.status))])


DEBOUNCE = 0.25
#: What the screen opens on: every user, by username.
DEFAULT_QUERY = Query()


class UsersScreen(Screen):
    CSS_PATH = "users.tcss"
    HELP_TITLE = "The user list"
    AUTO_FOCUS = "UserList"
    BINDINGS = [
        Binding("slash", "focus_search", "Search", tooltip="Search: username, email or name"),
        Binding("f", "focus_filter", "Filter", tooltip="The views menu: role, blocked, locked, expired…"),
        Binding("n", "attention", "Attention", tooltip="Needs attention first (again: every user)"),
        Binding("a", "audit", "Audit", tooltip="The audit log"),
        Binding("b", "bulk", "Bulk", tooltip="One action over every account a filter selects"),
        Binding("p", "change_password", "My password", show=False, tooltip="Change my own password"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Read the rows again"),
        Binding("escape", "clear_search", "Clear search", show=False,
                tooltip="Clear the search: every user again (while searching)"),
    ]

    def __init__(self, *, first: Page[UserView] | None = None) -> None:
        """``first``: the first page of the default view, if already read."""
        super().__init__()
        self._debounce: Timer | None = None
        self._first = first
        self._reread_on_resume = False
        #: Enter was pressed in the search box: open the first match once it is read.
        self._open_first = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="users-bar"):
            yield SearchBox(placeholder="Search username, email, name…  (/)", id="users-search", max_length=200)
            yield ViewPicker({key: label for key, (label, _, _) in VIEWS.items()}, "all", id="users-view")
        yield UserList(id="users-list")
        yield Static("", id="users-current")
        yield Static("", id="users-position")
        yield Footer()

    def on_mount(self) -> None:
        first, self._first = self._first, None
        self.query_one(UserList).reload(self._query(), first=first if self._query() == DEFAULT_QUERY else None)

    def _query(self) -> Query:
        search = self.query_one("#users-search", Input).value.strip()
        _, flt, order = VIEWS[self.query_one(ViewPicker).value]
        return Query(search=search, filter=flt, order=order)

    # -- search as you type -------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "users-search":
            return
        self.refresh_bindings()  # Esc on the rows: clears a search
        self._open_first = False  # typing on: whatever Enter was for is superseded
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        if not event.value.strip():
            self._search_now()  # cleared (Esc): every user again, at once
        else:
            self._debounce = self.set_timer(DEBOUNCE, self._search_now)

    def _search_now(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = None
        lst, query = self.query_one(UserList), self._query()
        if query != lst.query_:
            lst.reload(query)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the search box opens the first match: at once if its rows are
        in, else when they arrive (typing on before that cancels it). An empty
        search goes to the rows instead."""
        if event.input.id != "users-search":
            return
        self._search_now()
        if not event.value.strip():
            self.query_one(UserList).focus()
            return
        self._open_first = True
        self._open_first_when_read()

    def _open_first_when_read(self) -> None:
        lst = self.query_one(UserList)
        if not self._open_first or lst.query_ != self._query() or "first" in lst.fetching:
            return
        self._open_first = False
        if lst.current is not None:  # nothing matches: the focus stays, to correct the search
            lst.focus()  # back from the account: on the rows, on this user
            self.open_user(lst.current.username)

    def on_search_box_leave(self, event: SearchBox.Leave) -> None:
        self._search_now()
        self.query_one(UserList).focus()

    def on_view_picker_changed(self, _event: ViewPicker.Changed) -> None:
        lst, query = self.query_one(UserList), self._query()
        if query != lst.query_:
            lst.reload(query)

    def on_view_picker_picked(self, _event: ViewPicker.Picked) -> None:
        self.query_one(UserList).focus()

    # -- list ------------------------------------------------------------------------------------

    def on_user_list_changed(self, _event: UserList.Changed) -> None:
        lst = self.query_one(UserList)
        self.query_one("#users-position", Static).update(lst.position())
        self.query_one("#users-current", Static).update(current_line(lst))
        self._open_first_when_read()

    def on_user_list_opened(self, event: UserList.Opened) -> None:
        self.open_user(event.user.username)

    def open_user(self, username: str) -> None:
        from console.tui.screens.detail import UserDetailScreen

        self.app.push_screen(UserDetailScreen(username))

    def on_screen_suspend(self) -> None:
        # The view menu changes nothing: the rows need no fresh read after it.
        self._reread_on_resume = not isinstance(self.app.screen, ViewMenu)

    def on_screen_resume(self) -> None:
        """Back from a detail screen (however it was opened): redraw the rows
        in place, so an action's effect shows and the cursor stays put. (Not
        when first shown, nor after the view menu: the rows are fresh.)"""
        reread, self._reread_on_resume = self._reread_on_resume, False
        lst = self.query_one(UserList)
        if reread and lst.pages:
            lst.refresh_window()

    # -- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_search":  # as in k9s: Esc on the rows of a search goes back to every user
            return bool(self.query_one("#users-search", Input).value)
        return True

    def action_clear_search(self) -> None:
        self.query_one("#users-search", Input).value = ""

    def action_focus_search(self) -> None:
        self.query_one("#users-search", Input).focus()

    def action_focus_filter(self) -> None:
        picker = self.query_one(ViewPicker)
        picker.focus()
        picker.action_open()

    def action_attention(self) -> None:
        picker = self.query_one(ViewPicker)
        picker.value = "all" if picker.value == "attention" else "attention"

    def action_refresh(self) -> None:
        self.query_one(UserList).reload(self._query())

    def action_audit(self) -> None:
        from console.tui.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen())

    def action_bulk(self) -> None:
        from console.tui.screens.bulk import BulkScreen

        self.app.push_screen(BulkScreen())

    def action_change_password(self) -> None:
        from console.tui.screens.password import ChangePasswordScreen

        self.app.push_screen(ChangePasswordScreen())

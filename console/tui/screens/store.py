"""The console on a foreign store (``--store django``): the store's accounts,
one account with the fields the store has, and the danger zone with what the
store cannot do listed with its reason. Every read and change is a service
call of console.services.accounts, run in a worker."""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from console.services import accounts
from console.services.accounts import Account, AccountDetail
from console.services.permissions import Action
from console.services.views import Count, Page
from console.tui.actions import STORE_ACTIONS, ActionSpec
from console.tui.text import cell, clip, plain
from console.tui.widgets.footer import Footer

PAGE = 50
DEBOUNCE = 0.25
#: Column widths that fit 80 columns with a scrollbar; a longer value ends in "…".
COLUMNS = (("username", 16), ("name", 14), ("email", 20), ("kind", 9), ("status", 7))
#: The same for a store whose accounts have no name or email (MySQL's user@host).
COLUMNS_NAME_ONLY = (("username", 52), ("kind", 9), ("status", 7))
#: The danger zone's actions, in order (block or unblock, whichever applies).
DANGER = (Action.RESET_PASSWORD, Action.SET_PASSWORD, Action.ISSUE_TICKET, Action.EMAIL_TICKET,
          Action.REVOKE_SESSIONS, Action.BLOCK, Action.UNBLOCK, Action.FORCE_CHANGE, Action.EXPIRE, Action.UNLOCK,
          Action.DELETE)


class StoreUsersScreen(Screen):
    CSS_PATH = "store.tcss"
    HELP_TITLE = "The store's accounts"
    AUTO_FOCUS = "#store-table"
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("right_square_bracket", "page(1)", "Next"),
        Binding("left_square_bracket", "page(-1)", "Prev"),
        Binding("a", "audit", "Audit"),
        # Not in the footer (it must fit 80 columns), as on the native list.
        Binding("p", "change_password", "My password", show=False),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page: Page[Account] | None = None
        self.search = ""
        self._cursor: dict = {}
        self._debounce: Timer | None = None
        self._count: Count | None = None
        self._columns = COLUMNS

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="store-bar"):
            yield Input(placeholder="search name, email or names", id="store-search", compact=True, max_length=200)
            yield Static("", id="store-where")
        yield DataTable(id="store-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="store-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        store = accounts.store_info(self.app.ctx)
        self._columns = COLUMNS if store.has_profile else COLUMNS_NAME_ONLY
        if not store.has_profile:
            self.query_one("#store-search", Input).placeholder = "search the account's name"
        for label, width in self._columns:
            table.add_column(label, width=width)
        self.query_one("#store-where", Static).update(plain(store.where, "dim"))
        self.action_refresh()

    # -- reading ------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self._read({})

    def _read(self, where: dict) -> None:
        app = self.app
        self._cursor = where
        app.service(accounts.list_accounts, app.ctx, app.actor, search=self.search or None, limit=PAGE, **where,
                    done=self._show, group="store-page", exclusive=True)
        if not where:
            app.service(accounts.count_accounts, app.ctx, app.actor, search=self.search or None,
                        done=self._counted, group="store-count", exclusive=True)

    def _show(self, page: Page[Account]) -> None:
        if not self.is_attached:
            return
        self.page = page
        table = self.query_one(DataTable)
        table.clear()
        for a in page.items:
            values = (a.username, a.display_name, a.email, a.kind, "blocked" if a.blocked else "active")
            if self._columns is COLUMNS_NAME_ONLY:
                values = (values[0], *values[3:])
            table.add_row(*(cell(clip(v, w)) for v, (_, w) in zip(values, self._columns)), key=a.username)
        self._status()

    def _counted(self, count: Count) -> None:
        self._count = count
        if self.is_attached:
            self._status()

    def _status(self) -> None:
        shown = len(self.page.items) if self.page else 0
        total = f" of {self._count.label()}" if self._count is not None else ""
        more = []
        if self.page and self.page.prev_cursor:
            more.append("[ previous")
        if self.page and self.page.next_cursor:
            more.append("] next")
        self.query_one("#store-status", Static).update(
            plain(f"{shown} shown{total}" + (f" · {' · '.join(more)}" if more else "")))

    def action_page(self, step: int) -> None:
        if self.page is None:
            return
        if step > 0 and self.page.next_cursor:
            self._read({"cursor": self.page.next_cursor})
        elif step < 0 and self.page.prev_cursor:
            self._read({"before": self.page.prev_cursor})

    # -- search ---------------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "store-search":
            return
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE, lambda: self._searched(event.value))

    def _searched(self, value: str) -> None:
        if value.strip() != self.search:
            self.search = value.strip()
            self._count = None
            self._read({})

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._searched(event.value)
        self.query_one(DataTable).focus()

    def action_focus_search(self) -> None:
        self.query_one("#store-search", Input).focus()

    # -- opening --------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.push_screen(StoreAccountScreen(event.row_key.value), callback=lambda _: self._read(self._cursor))

    def action_audit(self) -> None:
        from console.tui.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen())

    def action_change_password(self) -> None:
        from console.tui.screens.password import ChangePasswordScreen

        self.app.push_screen(ChangePasswordScreen())


def _row(label: str, value: object, style: str = "") -> Content:
    return Content.assemble((f"{label:>14}  ", "dim"), plain(value, style))


class StoreAccountScreen(Screen):
    CSS_PATH = "store.tcss"
    HELP_TITLE = "An account in the store"
    AUTO_FOCUS = "#store-danger"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("d", "danger", "Danger zone"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username
        self.detail: AccountDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(plain(self.username, "bold"), id="store-title")
        with VerticalScroll(id="store-account-box"):
            yield Static("loading…", id="store-account")
        yield OptionList(id="store-danger")
        yield Static("", id="store-danger-help")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        app = self.app
        app.service(accounts.account_detail, app.ctx, app.actor, self.username, done=self.show,
                    group="store-detail", exclusive=True)

    def show(self, d: AccountDetail) -> None:
        if not self.is_attached:
            return
        self.detail = d
        a = d.account
        profile = [part for text in (a.display_name, f"<{a.email}>" if a.email else "") if text
                   for part in ("  ", plain(text))]  # a store's account may have neither
        self.query_one("#store-title", Static).update(Content.assemble(
            plain(a.username, "bold"), "  ", (a.kind, "bold"), "  ",
            plain("blocked" if a.blocked else "active", "$error" if a.blocked else "$success"), *profile))
        lines = [_row(label, value) for label, value in a.details]
        lines += [_row("warning", f, "$warning") for f in a.flags]
        self.query_one("#store-account", Static).update(Content("\n").join(lines))
        options = self.query_one("#store-danger", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        shown = self.shown_actions()
        # An unavailable action stays reachable by the arrow keys (a disabled
        # option is skipped, and the list is taller than its box): highlighted,
        # it shows why; Enter on it opens nothing.
        available, unavailable = ([act for act in shown if (act.value in d.unavailable) is off]
                                  for off in (False, True))
        for act in available + unavailable:
            spec, why = STORE_ACTIONS[act], d.unavailable.get(act.value)
            # Unavailable: italic, not dim, so the reason stays legible in 16 colours.
            options.add_option(Option(Content.assemble((spec.title, "bold" if why is None else "italic"),
                                                       (f" — {why}", "italic") if why else (f" — {spec.summary}",
                                                                                            "dim")),
                                      id=act.value))
        if highlighted is None or highlighted >= options.option_count:
            highlighted = 0 if shown else None
        if highlighted is not None:
            options.highlighted = highlighted
        self._explain()

    def shown_actions(self) -> list[Action]:
        d = self.detail
        if d is None:
            return []
        drop = Action.BLOCK if d.account.blocked else Action.UNBLOCK
        return [act for act in DANGER if act is not drop
                and (self.app.ctx.settings.admin_may_set_password or act is not Action.SET_PASSWORD)]

    def danger_help(self) -> list[tuple[Action, ActionSpec]]:
        """For the help screen: the danger zone's actions, as this store does them."""
        allowed_choice = self.app.ctx.settings.admin_may_set_password
        return [(act, STORE_ACTIONS[act]) for act in DANGER if allowed_choice or act is not Action.SET_PASSWORD]

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._explain()

    def _explain(self) -> None:
        options = self.query_one("#store-danger", OptionList)
        box = self.query_one("#store-danger-help", Static)
        if options.highlighted is None or self.detail is None:
            box.update("")
            return
        act = Action(options.get_option_at_index(options.highlighted).id)
        why = self.detail.unavailable.get(act.value)
        # Unavailable: only why (what the action would do elsewhere is beside the point).
        box.update(plain("Unavailable: " + why, "$error") if why else plain(self.spec(act).explanation))

    def spec(self, act: Action) -> ActionSpec:
        """The action as this store does it: its explanation with the store's own words."""
        spec = STORE_ACTIONS[act]
        how = self.detail.how.get(act.value) if self.detail is not None else None
        return replace(spec, explanation=f"{spec.explanation} ({how})") if how else spec

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        from console.tui.screens.action import ActionDialog

        act = Action(event.option.id)
        if self.detail is None:
            return
        why = self.detail.unavailable.get(act.value)
        if why:
            self.app.notify(f"{STORE_ACTIONS[act].title}: unavailable — {why}", markup=False, severity="warning")
            return
        self.app.push_screen(ActionDialog(act, self.detail.account, spec=self.spec(act)),
                             callback=self._after)

    def _after(self, result) -> None:
        """A deleted account has nothing left to show: back to the list."""
        if result == "deleted":
            self.dismiss()
        else:
            self.action_refresh()

    def action_back(self) -> None:
        self.dismiss()

    def action_danger(self) -> None:
        self.query_one("#store-danger", OptionList).focus()

"""Focus follows the work: the keys a person presses next do what they expect
without a Tab or a mouse first (issue 13)."""

from __future__ import annotations

import threading

from textual.widgets import DataTable, Input, OptionList, TabbedContent

from console.services import listing
from console.tui.screens.action import ActionDialog
from console.tui.screens.audit import AuditEventScreen
from console.tui.screens.detail import UserDetailScreen
from console.tui.screens.users import DEBOUNCE, VIEWS, UsersScreen
from console.tui.widgets.userlist import UserList
from console.tui.widgets.viewpicker import ViewMenu


def _names(lst: UserList) -> list[str]:
    return [u.username for u in lst.rows]


async def _list_ready(tui, pilot) -> UserList:
    await tui.wait_screen(pilot, UsersScreen)
    lst = pilot.app.screen.query_one(UserList)
    await tui.wait_for(pilot, lambda: lst.total is not None and not lst.fetching, what="the first page")
    return lst


# -- the search box -------------------------------------------------------------------------------


async def test_enter_right_after_typing_opens_the_first_match(tui, admin, make_user):
    """Enter within the debounce: the search runs at once and its first match
    opens. (Before: the Enter was lost and the focus stayed in the box.)"""
    for name in ("bob", "bobby", "carol"):
        make_user(name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("slash", "b", "o", "b", "enter")
        screen = await tui.wait_screen(pilot, UserDetailScreen)
        assert screen.username == "bob"
        # Back on the rows of that search, on the user just opened: ↓ goes to the next match.
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)
        await tui.settle(pilot)
        assert app.focused is lst and _names(lst) == ["bob", "bobby"] and lst.current.username == "bob"


async def test_enter_while_the_search_is_being_read_opens_the_first_match(tui, admin, make_user, monkeypatch):
    """Enter after the debounce, while the search's page is still on its way
    (a slow database): the first match opens when it arrives."""
    for name in ("bob", "bobby", "carol"):
        make_user(name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        held = threading.Event()
        real = listing.list_users

        def slow(*args, **kwargs):
            if kwargs.get("search"):
                held.wait(5)
            return real(*args, **kwargs)

        monkeypatch.setattr(listing, "list_users", slow)
        await pilot.press("slash", "b", "o", "b")
        await pilot.pause(DEBOUNCE + 0.1)  # the search is read now, and held
        assert lst.fetching
        await pilot.press("enter")
        held.set()
        screen = await tui.wait_screen(pilot, UserDetailScreen)
        assert screen.username == "bob"


async def test_enter_on_a_search_matching_nobody_stays_in_the_box(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("slash", *"zzz", "enter")
        await tui.wait_for(pilot, lambda: lst.total is not None and lst.total.value == 0 and not lst.fetching)
        await tui.settle(pilot)
        assert isinstance(app.screen, UsersScreen)
        assert app.focused.id == "users-search"  # to correct the search


async def test_typing_after_enter_cancels_the_open(tui, admin, make_user, monkeypatch):
    """Enter, then more typing before the page arrived: the newer search is
    what is shown, and nothing opens on its own."""
    for name in ("bob", "bobby", "carol"):
        make_user(name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        held = threading.Event()
        real = listing.list_users

        def slow(*args, **kwargs):
            if kwargs.get("search"):
                held.wait(5)
            return real(*args, **kwargs)

        monkeypatch.setattr(listing, "list_users", slow)
        await pilot.press("slash", "b", "o", "b", "enter", "b")
        held.set()
        await pilot.pause(DEBOUNCE + 0.1)
        await tui.wait_for(pilot, lambda: _names(lst) == ["bobby"] and not lst.fetching)
        await tui.settle(pilot)
        assert isinstance(app.screen, UsersScreen) and app.focused.id == "users-search"


async def test_down_from_the_search_box_moves_to_the_rows(tui, admin, make_user):
    for name in ("bob", "bobby", "carol"):
        make_user(name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("slash", "b", "o", "b", "down")
        assert app.focused is lst
        await tui.wait_for(pilot, lambda: _names(lst) == ["bob", "bobby"] and not lst.fetching)
        assert lst.current.username == "bob"
        await pilot.press("down", "enter")
        screen = await tui.wait_screen(pilot, UserDetailScreen)
        assert screen.username == "bobby"


async def test_escape_clears_the_search_then_leaves_the_box(tui, admin, make_user):
    """As in k9s and lazygit: the first Esc clears the search (every user is
    listed again), the second goes back to the rows; in an empty box the first
    Esc goes back at once. On the rows of a search, Esc goes back to every user."""
    for name in ("bob", "bobby", "carol"):
        make_user(name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        box = app.screen.query_one("#users-search", Input)
        await pilot.press("slash", "b", "o", "b")
        await tui.wait_for(pilot, lambda: _names(lst) == ["bob", "bobby"] and not lst.fetching)
        await pilot.press("escape")
        assert box.value == "" and app.focused is box
        await tui.wait_for(pilot, lambda: len(lst.rows) == 4 and not lst.fetching, what="every user again")
        await pilot.press("escape")
        assert app.focused is lst
        await pilot.press("slash")
        assert app.focused is box
        await pilot.press("escape")
        assert app.focused is lst
        assert isinstance(app.screen, UsersScreen)
        await pilot.press("slash", "b", "o", "b", "down")
        await tui.wait_for(pilot, lambda: _names(lst) == ["bob", "bobby"] and not lst.fetching)
        await pilot.press("escape")
        assert box.value == "" and app.focused is lst
        await tui.wait_for(pilot, lambda: len(lst.rows) == 4 and not lst.fetching, what="every user again")
        await pilot.press("escape")  # nothing left to clear: nothing happens
        assert isinstance(app.screen, UsersScreen) and app.focused is lst and len(lst.rows) == 4


# -- the views menu -------------------------------------------------------------------------------


async def test_choosing_a_view_hands_the_focus_to_the_rows(tui, admin, make_user):
    make_user("bob")
    make_user("viv", role="viewer")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("f")
        await tui.wait_screen(pilot, ViewMenu)
        for _ in range(list(VIEWS).index("viewer")):
            await pilot.press("down")
        await pilot.press("enter")
        await tui.wait_screen(pilot, UsersScreen)
        await tui.wait_for(pilot, lambda: _names(lst) == ["viv"])
        assert app.focused is lst
        await pilot.press("enter")  # the rows have the keys: Enter opens the user
        screen = await tui.wait_screen(pilot, UserDetailScreen)
        assert screen.username == "viv"


# -- the account screen -----------------------------------------------------------------------------


async def test_5_then_enter_starts_the_highlighted_danger_action(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "bob")
        await pilot.press("5")
        await pilot.pause()
        assert app.focused is screen.query_one("#detail-danger", OptionList)
        await pilot.press("enter")
        dialog = await tui.wait_screen(pilot, ActionDialog)
        assert dialog.action_.value == "reset_password"


async def test_4_then_enter_opens_the_highlighted_event(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("enter")
        shown = await tui.wait_screen(pilot, AuditEventScreen)
        assert shown.event_.action == "user.create"


async def test_enter_on_the_tab_bar_goes_into_the_tab(tui, admin, make_user):
    """The account screen opens with the tab bar focused: ←/→ choose a tab,
    Enter goes into it (the danger zone's list of actions, the activity rows)."""
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "bob")
        tabs = screen.query_one(TabbedContent)
        await pilot.press("left")  # from Account round to the Danger zone
        await pilot.pause()
        assert tabs.active == "danger"
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is screen.query_one("#detail-danger", OptionList)
        await pilot.press("shift+tab")  # back to the tab bar
        await pilot.press("left")
        await pilot.pause()
        assert tabs.active == "activity"
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is screen.query_one("#detail-activity", DataTable)


async def test_the_account_footer_shows_the_tab_keys_and_p(tui, admin, make_user):
    from console.tui.screens.password import ChangePasswordScreen

    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await pilot.pause()
        footer = tui.lines(app)[-1]
        assert "1–5 Tabs" in footer and "p My password" in footer, footer
        await pilot.press("p")
        await tui.wait_screen(pilot, ChangePasswordScreen)


async def test_jumping_to_a_user_from_the_palette_replaces_the_account_on_screen(tui, admin, make_user):
    make_user("bob")
    make_user("carol")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        depth = len(app.screen_stack)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"carol")
        await tui.wait_for(pilot, lambda: "Open user carol" in tui.screen_text(app), timeout=5)
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: isinstance(app.screen, UserDetailScreen) and app.screen.username == "carol")
        assert len(app.screen_stack) == depth
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)


async def test_the_footer_keeps_its_keys_until_what_it_shows_changes(tui, admin, make_user):
    from textual.widgets._footer import FooterKey

    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.wait_screen(pilot, UsersScreen)
        await tui.wait_for(pilot, lambda: screen.query(FooterKey), what="the footer's keys")
        await tui.settle(pilot)

        def shown() -> list[FooterKey]:
            return list(screen.query(FooterKey))

        def described(keys) -> set[str]:  # (the palette's key, which the footer always adds, aside)
            return {k.description for k in keys if k.action != "command_palette"}

        def bound() -> set[str]:  # what the screen's active bindings say the footer shows
            return {b.description for _, b, _, _ in screen.active_bindings.values() if b.show}

        keys = shown()
        assert described(keys) == bound() and "Open" in described(keys)
        screen.refresh_bindings()  # as a focus move or a key does: nothing it shows has changed
        await tui.settle(pilot)
        assert shown() == keys  # the same widgets, not rebuilt
        await pilot.press("slash")  # into the search box: other keys
        await tui.wait_for(pilot, lambda: "Clear" in described(shown()), what="the search box's keys")
        assert described(shown()) == bound() and "Open" not in described(shown())
        await pilot.press("escape")  # back to the rows: their keys again
        await tui.wait_for(pilot, lambda: "Open" in described(shown()), what="the rows' keys")
        assert described(shown()) == bound()

"""``?`` (and F1): the help of the screen on display, generated from its
bindings and from the permission table (issue 13)."""

from __future__ import annotations

from textual.widgets import Static

from console.services.detail import DANGER_ACTIONS
from console.services.permissions import Action, who_may
from console.tui.actions import ACTIONS
from console.tui.screens.audit import AuditScreen
from console.tui.screens.detail import UserDetailScreen
from console.tui.screens.help import HelpScreen
from console.tui.screens.users import UsersScreen

from test_tui_fit import misfits


def _rows(help_screen) -> dict[str, str]:
    """key(s) shown -> what they do, as on the help screen."""
    keys = [str(s.visual) for s in help_screen.query(".help-key").results(Static)]
    whats = [str(s.visual) for s in help_screen.query(".help-what").results(Static)]
    return dict(zip(keys, whats, strict=True))


def _keys(help_screen) -> set[str]:
    return {k for shown in _rows(help_screen) for k in shown.split(" ")}


def _fit(app) -> list[str]:
    """What does not fit, but for the lines of the help below its scroll."""
    return [m for m in misfits(app) if "help-" not in m or "help-box" in m or "help-title" in m]


def _display(app, binding) -> str:
    from dataclasses import replace

    return app.get_key_display(replace(binding, key_display=None))


async def test_question_mark_shows_every_key_of_the_user_list(tui, admin, make_user):
    from textual.binding import Binding

    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        users = await tui.wait_screen(pilot, UsersScreen)
        await tui.settle(pilot)
        await pilot.press("question_mark")
        help_screen = await tui.wait_screen(pilot, HelpScreen)
        assert help_screen.for_screen is users
        shown = _keys(help_screen)
        # Every key of the screen (those the footer hides too: p, r) and of the app (^q, F1).
        for binding in Binding.make_bindings(UsersScreen.BINDINGS + type(app).BINDINGS):
            assert _display(app, binding) in shown, binding
        assert {"p", "r", "^q", "?", "f1", "^p"} <= shown
        # The rows' keys, and the search box's.
        assert {"↑", "↓", "pgup", "pgdn", "home", "end", "⏎", "esc"} <= shown
        assert _rows(help_screen)["r"] == "Read the rows again"
        # No key that does nothing: "l" (the list) was one, the rows already had the focus.
        assert "l" not in shown
        # It fits 80×24, the rest scrolls.
        scroll = help_screen.query_one("#help-scroll")
        assert _fit(app) == []
        assert scroll.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert scroll.scroll_y > 0
        # Esc, ? and q close it; F1 opens it too.
        for close in ("escape", "question_mark", "q"):
            await pilot.press(close)
            await tui.wait_screen(pilot, UsersScreen)
            await pilot.press("f1")
            await tui.wait_screen(pilot, HelpScreen)
        await pilot.press("f1")
        await tui.wait_screen(pilot, UsersScreen)


async def test_the_account_help_tells_each_danger_action_and_who_may_take_it(tui, helpdesk, make_user):
    make_user("bob")
    app, _ = tui.app(helpdesk)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await pilot.press("f1")
        help_screen = await tui.wait_screen(pilot, HelpScreen)
        shown = _keys(help_screen)
        for binding in UserDetailScreen.BINDINGS:
            assert _display(app, binding) in shown, binding
        assert {"1", "2", "3", "4", "5", "←", "→"} <= shown
        titles = [str(s.visual) for s in help_screen.query(".help-action").results(Static)]
        whos = [str(s.visual) for s in help_screen.query(".help-who").results(Static)]
        assert titles == [f"{ACTIONS[a].title} — {ACTIONS[a].summary}" for a in DANGER_ACTIONS]
        assert len(whos) == len(DANGER_ACTIONS)
        who = dict(zip(DANGER_ACTIONS, whos))
        assert who[Action.DELETE] == who[Action.SET_ROLE] == "who: admin"
        assert who[Action.RESET_PASSWORD] == "who: admin · helpdesk (member accounts only)"
        assert set(who_may(Action.RESET_PASSWORD)) == {"admin", "helpdesk"}
        assert "(you: helpdesk)" in tui.screen_text(app) or any(
            "(you: helpdesk)" in str(s.visual) for s in help_screen.query(".help-section").results(Static))
        assert _fit(app) == []


async def test_the_palette_keys_command_opens_the_same_help(tui, admin):
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("a")
        audit_screen = await tui.wait_screen(pilot, AuditScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"keys")
        await tui.wait_for(pilot, lambda: "Keys" in tui.screen_text(app), timeout=5)
        await pilot.press("enter")
        help_screen = await tui.wait_screen(pilot, HelpScreen)
        assert help_screen.for_screen is audit_screen
        assert {"m", "v", "/", "esc"} <= _keys(help_screen)


async def test_the_footer_says_how_to_get_help(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        await tui.settle(pilot)
        assert "? Help" in tui.lines(app)[-1]
        await pilot.press("slash")  # a text field takes "?": F1 then
        await pilot.pause()
        assert "f1 Help" in tui.lines(app)[-1]


def test_every_key_has_an_action():
    """No binding names an action nobody has: each key of every screen, widget
    and the app does something."""
    from textual.actions import parse
    from textual.binding import Binding

    from console.tui.app import UserdeskApp
    from console.tui.screens.action import ActionDialog
    from console.tui.screens.audit import AuditEventScreen, EventTable
    from console.tui.screens.bulk import BulkScreen
    from console.tui.screens.password import ChangePasswordScreen
    from console.tui.screens.reveal import RevealScreen
    from console.tui.screens.signin import SignInScreen
    from console.tui.screens.store import StoreAccountScreen, StoreUsersScreen
    from console.tui.widgets.searchbox import SearchBox
    from console.tui.widgets.userlist import UserList
    from console.tui.widgets.viewpicker import ViewMenu, ViewPicker

    owners = (UsersScreen, UserDetailScreen, AuditScreen, AuditEventScreen, ActionDialog, RevealScreen,
              ChangePasswordScreen, SignInScreen, StoreUsersScreen, StoreAccountScreen, BulkScreen, HelpScreen,
              ViewMenu, ViewPicker, UserList, SearchBox, EventTable, UserdeskApp)
    for owner in owners:
        for binding in Binding.make_bindings(owner.BINDINGS):
            namespace, name, _ = parse(binding.action)
            target = {"app": UserdeskApp, "screen": owner}.get(namespace, owner)
            assert callable(getattr(target, f"action_{name}", None)), (owner.__name__, binding)
    # "l" (to the list) was a key that did nothing: the rows already had the keys.
    assert "l" not in {b.key for b in Binding.make_bindings(UsersScreen.BINDINGS)}


async def test_help_in_dialogs_too(tui, admin, make_user):
    """A dialog cuts the app's keys off: F1 works there (and in a text field,
    where "?" is typed), "?" where no text field has the focus."""
    from textual.widgets import Input

    from console.tui.screens.action import ActionDialog
    from console.tui.widgets.viewpicker import ViewMenu

    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.BLOCK)
        assert isinstance(app.focused, Input)
        await pilot.press("question_mark")  # typed
        assert app.focused.value == "?" and app.screen is dialog
        await pilot.press("f1")
        help_screen = await tui.wait_screen(pilot, HelpScreen)
        assert help_screen.for_screen is dialog and {"esc", "^s"} <= _keys(help_screen)
        await pilot.press("escape")
        await tui.wait_screen(pilot, ActionDialog)
        assert "f1 Help" in tui.lines(app)[-1]
        await pilot.press("escape", "escape")
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("f")
        menu = await tui.wait_screen(pilot, ViewMenu)
        await pilot.press("question_mark")
        help_screen = await tui.wait_screen(pilot, HelpScreen)
        assert help_screen.for_screen is menu
        await pilot.press("q")
        await tui.wait_screen(pilot, ViewMenu)


async def test_the_help_reads_in_a_16_colour_terminal(tui, admin, make_user):
    from console.tui.themes import load_themes
    from test_tui_themes import _illegible_in_16_colours

    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await pilot.press("question_mark")
        await tui.wait_screen(pilot, HelpScreen)
        seen = {}
        for theme in load_themes():
            app.theme = theme
            for where in ("home", "end"):  # the keys, then the danger zone's actions and roles
                await pilot.press(where)
                await pilot.pause()
                seen[f"{theme}, {where}"] = _illegible_in_16_colours(tui, app)
        assert {where: found for where, found in seen.items() if found} == {}

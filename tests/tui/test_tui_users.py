"""The user list: search as you type, filters, opening a user, paging through many."""

from __future__ import annotations

import re

import asyncio
import threading

from textual.widgets import OptionList

from console.services import listing, users
from console.tui import app as app_module
from console.tui.screens.detail import UserDetailScreen
from console.tui.screens.users import DEBOUNCE, VIEWS, UsersScreen
from console.tui.widgets.userlist import MAX_ROWS, UserList
from console.tui.widgets.viewpicker import ViewMenu, ViewPicker


async def _poll(predicate, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


def _names(lst: UserList) -> list[str]:
    return [u.username for u in lst.rows]


async def _list_ready(tui, pilot) -> UserList:
    await tui.wait_screen(pilot, UsersScreen)
    lst = pilot.app.screen.query_one(UserList)
    await tui.wait_for(pilot, lambda: lst.total is not None and not lst.fetching, what="the first page")
    # The position line follows on the list's Changed message.
    await tui.wait_for(pilot, lambda: "of " in tui.text(pilot.app, "#users-position"), what="the position line")
    return lst


async def test_the_list_opens_with_its_first_page_read_once(tui, admin, make_user, monkeypatch):
    """The first page is read before the screen is shown (it arrives with the
    screen's first frame), and not read a second time by the screen."""
    for name in ("bob", "carol"):
        make_user(name)
    calls: list[dict] = []
    real = listing.list_users

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(listing, "list_users", counting)
    monkeypatch.setattr(app_module, "FIRST_PAGE_WAIT", 30.0)  # however slow the machine
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.wait_screen(pilot, UsersScreen)
        assert screen.query_one(UserList).rows  # there when the screen is
        lst = await _list_ready(tui, pilot)
        assert _names(lst) == ["admin", "bob", "carol"]
        assert len(calls) == 1 and "cursor" not in calls[0]
        await pilot.press("f")  # the view menu, closed unchanged: nothing to read again
        await tui.wait_screen(pilot, ViewMenu)
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)
        await app.workers.wait_for_complete()
        assert len(calls) == 1


async def test_the_list_shows_the_users_and_where_the_cursor_is(tui, admin, make_user):
    for name in ("bob", "carol", "dave"):
        make_user(name, display_name=f"{name.title()} Example")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        assert _names(lst) == ["admin", "bob", "carol", "dave"]
        assert app.focused is lst
        text = tui.screen_text(app)
        for name in ("bob", "carol", "dave", "Carol Example"):
            assert name in text
        # exact: the whole list is loaded (the count is its own worker: awaited, not raced)
        await tui.wait_for(pilot, lambda: "of 4" in tui.text(app, "#users-position"),
                           what=lambda: tui.text(app, "#users-position"))
        # The header line is drawn, then one line per user.
        assert "USERNAME" in text and "STATUS" in text


async def test_typing_a_search_filters_after_the_debounce(tui, admin, make_user, monkeypatch):
    from console.tui.screens import users as users_screen

    # A debounce no typing outlasts, however loaded the machine: "not yet" is never a race; its timer is
    # then fired by hand (what waiting it out would do).
    monkeypatch.setattr(users_screen, "DEBOUNCE", 3600.0)
    for name in ("bob", "bobby", "carol", "robert"):
        make_user(name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("slash")
        assert app.focused.id == "users-search"
        await pilot.press("b", "o", "b")
        # Not yet: the search waits on a timer for the typing to pause.
        assert len(lst.rows) == 5
        pending = app.screen._debounce
        assert pending is not None and pending._interval == 3600.0
        app.screen._search_now()  # what that timer does once the typing has paused
        await tui.wait_for(pilot, lambda: _names(lst) == ["bob", "bobby"] and lst.total.value == 2,
                           what="search results")
        assert "of 2" in tui.text(app, "#users-position")
        screen = tui.screen_text(app)
        assert "bobby" in screen and "carol" not in screen and "robert" not in screen
        # Enter in the search box opens the first match (it used to hand the focus to the list).
        await pilot.press("enter")
        screen = await tui.wait_screen(pilot, UserDetailScreen)
        assert screen.username == "bob"


async def test_a_search_matching_nobody_says_so(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await tui.fill(pilot, "#users-search", "zzz-nobody")
        await pilot.press("enter")  # searches at once
        await tui.wait_for(pilot, lambda: lst.total.value == 0 and not lst.rows)
        assert "no users match" in tui.text(app, "#users-position")


async def test_a_search_under_three_characters_says_it_matches_starts(tui, admin, make_user):
    """One or two characters match the start of a username, email or name (no
    trigram index can find them inside): the position line says so."""
    make_user("bob")
    make_user("abo")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await tui.fill(pilot, "#users-search", "bo")  # searched after the debounce (Enter would open it)
        await tui.wait_for(pilot, lambda: lst.total is not None and lst.total.value == 1 and len(lst.rows) == 1)
        assert [u.username for u in lst.rows] == ["bob"]
        assert tui.text(app, "#users-position").endswith("starting with “bo”")
        await tui.fill(pilot, "#users-search", "bob")
        await tui.wait_for(pilot, lambda: lst.query_.search == "bob" and [u.username for u in lst.rows] == ["bob"]
                           and lst.total is not None and not lst.fetching)
        assert "starting with" not in tui.text(app, "#users-position")


async def test_the_blocked_filter_shows_only_blocked_users(tui, ctx, admin, make_user, system_actor):
    for name in ("bob", "carol", "dave", "erin"):
        make_user(name)
    users.block_user(ctx, system_actor, "carol", reason="left")
    users.block_user(ctx, system_actor, "erin", reason="left")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        app.screen.query_one("#users-view", ViewPicker).value = "blocked"
        await tui.wait_for(pilot, lambda: _names(lst) == ["carol", "erin"] and lst.total.value == 2)
        assert all(u.blocked for u in lst.rows)
        assert "of 2" in tui.text(app, "#users-position")
        assert "blocked" in tui.screen_text(app)
        # And back to everyone.
        app.screen.query_one("#users-view", ViewPicker).value = "all"
        await tui.wait_for(pilot, lambda: lst.total.value == 5 and len(lst.rows) == 5)


async def test_the_filter_is_reachable_from_the_keyboard(tui, ctx, admin, make_user, system_actor):
    make_user("bob")
    make_user("viv", role="viewer")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("f")  # opens the menu of views, the current one highlighted
        await tui.wait_screen(pilot, ViewMenu)
        menu = app.screen.query_one(OptionList)
        assert menu.highlighted == 0 and "Keep view" in tui.screen_text(app)
        await pilot.press("escape")  # keeps the view
        await pilot.pause()
        assert app.focused.id == "users-view" and app.focused.value == "all"
        await pilot.press("n")  # "n" is the needs-attention toggle, a binding of the screen
        await pilot.pause()
        assert app.screen.query_one("#users-view", ViewPicker).value == "attention"
        await pilot.press("enter")  # the picker has the focus: Enter opens the menu too
        await tui.wait_screen(pilot, ViewMenu)
        target = list(VIEWS).index("viewer")
        for _ in range(target - app.screen.query_one(OptionList).highlighted):
            await pilot.press("down")
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: _names(lst) == ["viv"])
        assert "Role: viewer ▾" in tui.screen_text(app)


async def test_enter_on_a_row_opens_that_user(tui, admin, make_user):
    for name in ("bob", "carol", "dave"):
        make_user(name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("down", "down")
        assert lst.current.username == "carol"
        await pilot.press("enter")
        screen = await tui.wait_screen(pilot, UserDetailScreen)
        await tui.wait_for(pilot, lambda: screen.detail is not None)
        assert screen.username == "carol" and screen.detail.user.username == "carol"
        # Escape goes back to the list, where the user still is.
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)
        await tui.wait_for(pilot, lambda: "carol" in _names(lst))


async def test_paging_through_a_thousand_users_holds_a_bounded_window(tui, ctx, make_operator):
    from console.services.setup import seed_demo

    seed_demo(ctx, 1000)  # only into an empty database: the operator comes after
    admin = make_operator("admin", "zz-admin").actor
    total = listing.count_users(ctx, admin).value
    everyone = []
    cursor = None
    while True:
        page = listing.list_users(ctx, admin, cursor=cursor, limit=500)
        everyone += [u.username for u in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(everyone) == total > 1000
    app, _ = tui.app(admin)
    # A tall terminal: a page is ~60 rows, so a thousand users take ~17 key presses.
    async with app.run_test(size=(80, 64)) as pilot:
        lst = await _list_ready(tui, pilot)
        assert lst.visible_rows > 50
        assert lst.total.value == total
        most = 0
        for _ in range(200):
            await pilot.press("pagedown")
            if lst.fetching:
                await tui.wait_for(pilot, lambda: not lst.fetching)
            most = max(most, len(lst.rows))
            assert len(lst.rows) <= MAX_ROWS
            assert lst.current is not None
            if lst.cursor == total - 1:
                break
        # Paging reached the very end by loading pages on the way...
        assert lst.cursor == total - 1
        assert lst.current.username == everyone[-1]
        assert most == MAX_ROWS
        assert lst.base > 0
        # ...and the rows held are the right slice of the whole list.
        assert _names(lst) == everyone[lst.base:lst.base + len(lst.rows)]
        position = tui.text(app, "#users-position")
        # The unfiltered total may come from the count cache, labelled "~".
        assert re.search(rf"of ~?{total:,}$", position) and f"{total:,} of" in position
        assert everyone[-1] in tui.screen_text(app)

        await pilot.press("home")
        await tui.wait_for(pilot, lambda: lst.cursor == 0 and lst.current is not None)
        assert lst.current.username == everyone[0]
        assert _names(lst) == everyone[:len(lst.rows)]

        await pilot.press("end")
        await tui.wait_for(pilot, lambda: lst.current is not None and lst.current.username == everyone[-1])
        assert lst.cursor == total - 1
        assert len(lst.rows) <= MAX_ROWS
        # Up from the end pages back in as needed.
        for _ in range(15):
            await pilot.press("pageup")
            if lst.fetching:
                await tui.wait_for(pilot, lambda: not lst.fetching)
            assert len(lst.rows) <= MAX_ROWS
            assert lst.current.username == everyone[lst.cursor]
        assert lst.cursor < total - 1 - 10 * lst.visible_rows


async def test_coming_back_from_a_user_keeps_the_place_in_the_list(tui, admin, make_user):
    for i in range(30):
        make_user(f"user{i:02d}")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("pagedown", "down", "down")
        chosen = lst.current.username
        assert chosen > "user10"
        await pilot.press("enter")
        await tui.wait_screen(pilot, UserDetailScreen)
        await tui.settle(pilot)
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)
        await tui.wait_for(pilot, lambda: lst.total is not None and not lst.fetching)
        assert lst.current.username == chosen


async def test_the_list_forgets_a_user_deleted_after_opening_it_from_the_palette(tui, admin, make_user):
    from console.services.permissions import Action

    make_user("bob")
    make_user("carol")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"bob")
        await tui.wait_for(pilot, lambda: "Open user bob" in tui.screen_text(app), timeout=5)
        await pilot.press("enter")
        screen = await tui.wait_screen(pilot, UserDetailScreen)
        await tui.wait_for(pilot, lambda: screen.detail is not None)
        await tui.start(pilot, Action.DELETE)
        await tui.fill(pilot, "#f-confirm", "bob")
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UsersScreen)
        await tui.settle(pilot)
        assert _names(lst) == ["admin", "carol"]


async def test_end_before_the_count_arrives_still_pages_back_up(tui, ctx, make_operator, monkeypatch):
    from console.services.setup import seed_demo

    seed_demo(ctx, 300)
    admin = make_operator("admin", "zz-admin").actor
    everyone = [u.username for u in listing.list_users(ctx, admin, limit=500).items]
    total = len(everyone)
    counted = threading.Event()
    real_count = listing.count_users

    def slow_count(*args, **kwargs):  # a count over a large table takes longer than one keyset page
        counted.wait(5)
        return real_count(*args, **kwargs)

    monkeypatch.setattr(listing, "count_users", slow_count)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        lst = app.screen.query_one(UserList)
        # (Not tui.wait_for: that waits for the held count too.)
        await _poll(lambda: lst.rows)
        await pilot.press("end")
        await _poll(lambda: lst.current and lst.current.username == everyone[-1])
        counted.set()  # now the count comes back
        await tui.settle(pilot)
        for _ in range(8):
            await pilot.press("pageup")
            await tui.settle(pilot, rounds=1)
        assert lst.total.value == total
        assert re.search(rf"of ~?{total:,}$", lst.position())
        assert lst.cursor == total - 1 - 8 * lst.visible_rows
        assert lst.current.username == everyone[lst.cursor]


async def test_a_first_page_that_holds_every_match_is_its_own_count(tui, admin, make_user, monkeypatch):
    """A list whose first page holds every match (a search with few hits, or
    none) asks for no count: the page is the count, exact, one query a
    keystroke instead of two. (A list longer than a page is counted:
    test_end_before_the_count_arrives_still_pages_back_up.)"""
    for name in ("bob", "bobby", "carol"):
        make_user(name)
    counted = []
    real_count = listing.count_users

    def count_users(*args, **kwargs):
        counted.append(kwargs.get("search"))
        return real_count(*args, **kwargs)

    monkeypatch.setattr(listing, "count_users", count_users)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        lst = await _list_ready(tui, pilot)
        await pilot.press("slash", "b", "o", "b")
        await tui.wait_for(pilot, lambda: lst.query_.search == "bob" and _names(lst) == ["bob", "bobby"]
                           and not lst.fetching)
        assert lst.total is not None and (lst.total.value, lst.total.exact) == (2, True)
        assert lst.position().endswith("of 2")
        for key in ("backspace",) * 3 + ("z", "z", "q"):
            await pilot.press(key)
        # The search box's keys are debounced: "zz" may be answered before "zzq" is asked.
        await tui.wait_for(pilot, lambda: lst.query_.search == "zzq" and not lst.rows and not lst.fetching
                           and lst.total is not None)
        assert lst.position() == "no users match"
        assert counted == []

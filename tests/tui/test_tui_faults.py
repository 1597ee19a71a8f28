"""The console with its database server gone: an action says "database
unavailable" and changes nothing, the console keeps running, and the same
action works once the server is back."""

from __future__ import annotations

import pytest

from console.services import listing
from console.services.permissions import Action
from console.tui.screens.action import ActionDialog
from console.tui.screens.detail import UserDetailScreen
from console.tui.screens.users import UsersScreen
from console.tui.widgets.userlist import UserList

pytestmark = pytest.mark.postgresql_only


async def test_an_action_during_an_outage_then_after_it(tui, ctx, admin, make_user, outage):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.FORCE_CHANGE)
        with outage():
            await tui.confirm(pilot)
            await tui.wait_for(pilot, lambda: "DB_UNAVAILABLE" in tui.text(dialog, "#action-error"),
                               what="the error in the dialog")
            assert "database unavailable" in tui.text(dialog, "#action-error")
            assert app.is_running and isinstance(app.screen, ActionDialog)
        await tui.confirm(pilot)  # the server is back: the same confirmation goes through
        await tui.wait_screen(pilot, UserDetailScreen)
        assert app.is_running
    assert listing.get_user(ctx, admin, "bob").must_change_password


async def test_the_list_during_an_outage_says_so_and_recovers(tui, ctx, admin, make_user, outage):
    for name in ("bob", "carol"):
        make_user(name)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.wait_screen(pilot, UsersScreen)
        lst = screen.query_one(UserList)
        await tui.wait_for(pilot, lambda: len(lst.rows) == 3, what="the first page")
        with outage():
            await pilot.press("r")
            await tui.wait_for(pilot, lambda: any("DB_UNAVAILABLE" in str(n.message) for n in app._notifications),
                               what="the notification")
            assert app.is_running
        make_user("dave")
        await pilot.press("r")
        await tui.wait_for(pilot, lambda: [u.username for u in lst.rows] == ["admin", "bob", "carol", "dave"],
                           what="the list again")

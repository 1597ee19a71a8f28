"""The console on a MariaDB server's accounts, through Textual's Pilot at
80×24: the list of user@host accounts, one account with its lock, expiry,
lifetime and plugin and the actions MariaDB cannot do (with the reason), a
reset from the danger zone whose password the server accepts, and force
change (PASSWORD EXPIRE) from the danger zone."""

from __future__ import annotations

import pymysql
import pytest
from textual.widgets import DataTable, OptionList

from console.services.permissions import Action
from console.tui.screens.action import ActionDialog
from console.tui.screens.reveal import RevealScreen
from console.tui.screens.store import StoreAccountScreen, StoreUsersScreen

from mariadb import accounts_on, make_mctx, mariadb_server, mctx, operator, store_admin  # noqa: F401  (fixtures)
from test_store_django_tui import fit, tui_helpers


def rows(screen) -> list[str]:
    """The accounts listed, by their full user@host (the column clips a long one with "…")."""
    return [k.value for k in screen.query_one(DataTable).rows]


@pytest.fixture
def tui(mctx, tmp_path):
    return tui_helpers.Tui(mctx, tmp_path)


async def _open(tui, pilot, name: str):
    screen = await tui.wait_screen(pilot, StoreUsersScreen)
    await tui.fill(pilot, "#store-search", name)
    await pilot.press("enter")
    await tui.wait_for(pilot, lambda: rows(screen)[:1] == [name], what=lambda: f"the search: {rows(screen)}")
    assert fit.misfits(pilot.app) == []
    # No name or email columns: the whole user@host is shown, not clipped.
    assert [str(c) for c in screen.query_one(DataTable).get_row_at(0)] == [name, "user", "active"]
    await pilot.press("enter")
    account = await tui.wait_screen(pilot, StoreAccountScreen)
    await tui.wait_for(pilot, lambda: account.detail is not None, what="the account")
    assert fit.misfits(pilot.app) == []
    return screen, account


async def test_search_an_account_see_it_and_reset_it_from_the_danger_zone(tui, accounts_on, mctx):
    admin = operator(mctx, "admin")
    name = accounts_on.make("web", options="PASSWORD EXPIRE INTERVAL 90 DAY")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen, account = await _open(tui, pilot, name)
        shown = tui.text(account, "#store-account")
        assert "mysql_native_password" in shown and "90 days" in shown and "locked" in shown
        danger = account.query_one(OptionList)
        order = [o.id for o in danger.options]
        prompts = {o.id: str(o.prompt) for o in danger.options}
        assert "max_password_errors" in prompts[Action.UNLOCK.value]
        assert order.index(Action.FORCE_CHANGE.value) < order.index(Action.UNLOCK.value)  # available first
        # An unavailable action is reached with the keys and says why; Enter does nothing.
        danger.highlighted = order.index(Action.ISSUE_TICKET.value)
        await pilot.pause()
        assert "Unavailable: mysql-users: MariaDB has no reset links" in tui.text(account, "#store-danger-help")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ActionDialog)
        danger.highlighted = order.index(Action.EXPIRE.value)  # how MariaDB does it, in its own words
        await pilot.pause()
        assert "(MariaDB: PASSWORD EXPIRE; it signs in only to choose a new password)" in tui.text(
            account, "#store-danger-help")
        assert fit.misfits(app) == []
        danger.highlighted = order.index(Action.RESET_PASSWORD.value)
        await pilot.press("enter")
        await tui.wait_screen(pilot, ActionDialog)
        assert fit.misfits(app) == []
        await tui.fill(pilot, "#f-reason", "rotated")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        assert fit.misfits(app) == []
        new = reveal.secret.reveal()
        assert "mysql_native_password" in tui.text(reveal, "#reveal-note")
        assert accounts_on.signs_in(name, new)
        assert not accounts_on.signs_in(name, "an old password 1")
        await pilot.press("escape")
        assert reveal.secret.discarded


async def test_force_change_from_the_danger_zone_is_password_expire(tui, accounts_on, mctx):
    admin = operator(mctx, "admin")
    name = accounts_on.make("must")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        _screen, account = await _open(tui, pilot, name)
        danger = account.query_one(OptionList)
        danger.highlighted = [o.id for o in danger.options].index(Action.FORCE_CHANGE.value)
        await pilot.press("enter")
        await tui.wait_screen(pilot, ActionDialog)
        await tui.fill(pilot, "#f-reason", "policy")
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: pilot.app.screen is account, what="back at the account")
        await tui.wait_for(pilot, lambda: "must choose a new one" in tui.text(account, "#store-account"),
                           what="the account shown expired")
        assert fit.misfits(app) == []
    with accounts_on.connect(name, "an old password 1") as conn, conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as ei:
            cur.execute("SELECT 1")
        assert ei.value.args[0] == 1820

"""The console on a Redis server's ACL users, through Textual's Pilot at
80×24: the list, one user with its rules and the actions Redis cannot do (each
with its reason), a reset from the danger zone whose password the server's
AUTH accepts, and a block."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from console.services.permissions import Action
from console.tui.screens.action import ActionDialog
from console.tui.screens.reveal import RevealScreen
from console.tui.screens.store import StoreAccountScreen, StoreUsersScreen

from redisserver import OLD, make_rctx, operator, rctx, redis_server, redis_servers, rusers  # noqa: F401
from test_store_django_tui import fit, rows, tui_helpers


@pytest.fixture
def tui(rctx, tmp_path):
    return tui_helpers.Tui(rctx, tmp_path)


async def _open(tui, pilot, search: str, name: str):
    screen = await tui.wait_screen(pilot, StoreUsersScreen)
    await tui.fill(pilot, "#store-search", search)
    await pilot.press("enter")
    await tui.wait_for(pilot, lambda: rows(screen) and rows(screen)[0] == name,
                       what=lambda: f"the search: {rows(screen)}")
    return screen


async def test_search_a_user_see_its_rules_and_what_redis_cannot_do_and_reset_it(tui, rusers, rctx):
    admin = operator(rctx, "admin")
    name = rusers.make("web")
    rusers.make("web-old", None)
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open(tui, pilot, rusers.prefix + "web", name)
        assert len(rows(screen)) == 2  # (the second name is cut to the column)
        assert fit.misfits(app) == []
        await pilot.press("enter")
        account = await tui.wait_screen(pilot, StoreAccountScreen)
        await tui.wait_for(pilot, lambda: account.detail is not None, what="the user")
        assert fit.misfits(app) == []
        shown = tui.text(account, "#store-account")
        assert "~app:*" in shown and "SHA-256, unsalted" in shown and "by ACL SAVE to" in shown
        danger = account.query_one(OptionList)
        prompts = {o.id: str(o.prompt) for o in danger.options}
        assert "must-change flag" in prompts[Action.FORCE_CHANGE.value]
        assert "do not expire" in prompts[Action.EXPIRE.value]
        assert "no lockout" in prompts[Action.UNLOCK.value]
        # Highlighted, an unavailable action says why; Enter on it opens nothing.
        danger.focus()
        danger.highlighted = [o.id for o in danger.options].index(Action.EXPIRE.value)
        await pilot.pause()
        assert "Unavailable: redis-acl: Redis ACL passwords do not expire" in tui.text(account, "#store-danger-help")
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is account
        danger.highlighted = [o.id for o in danger.options].index(Action.RESET_PASSWORD.value)
        await pilot.press("enter")
        await tui.wait_screen(pilot, ActionDialog)
        assert fit.misfits(app) == []
        await tui.fill(pilot, "#f-reason", "rotated")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        new = reveal.secret.reveal()
        assert "SHA-256" in tui.text(reveal, "#reveal-note")
        assert rusers.signs_in(name, new)
        assert not rusers.signs_in(name, OLD)
        await pilot.press("escape")
        assert reveal.secret.discarded


async def test_block_from_the_danger_zone_turns_the_user_off(tui, rusers, rctx):
    admin = operator(rctx, "admin")
    name = rusers.make("kim")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await _open(tui, pilot, name, name)
        await pilot.press("enter")
        account = await tui.wait_screen(pilot, StoreAccountScreen)
        await tui.wait_for(pilot, lambda: account.detail is not None, what="the user")
        danger = account.query_one(OptionList)
        danger.highlighted = [o.id for o in danger.options].index(Action.BLOCK.value)
        await pilot.press("enter")
        await tui.wait_screen(pilot, ActionDialog)
        await tui.fill(pilot, "#f-reason", "left the team")
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: pilot.app.screen is account and account.detail.account.blocked,
                           what="the user blocked")
        assert "off (cannot sign in)" in tui.text(account, "#store-account")
    assert not rusers.signs_in(name, OLD) and "off" in rusers.getuser(name)["flags"]

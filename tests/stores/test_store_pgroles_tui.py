"""The console on a PostgreSQL server's roles, through Textual's Pilot at
80×24: the list of login roles, one role with its attributes and the actions
PostgreSQL cannot do, and a reset from the danger zone whose password the
server accepts over SCRAM."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from console.services.permissions import Action
from console.tui.screens.action import ActionDialog
from console.tui.screens.reveal import RevealScreen
from console.tui.screens.store import StoreAccountScreen, StoreUsersScreen

from pgroles import make_pctx, operator, pctx, pg_cluster, roles, store_admin  # noqa: F401  (fixtures)
from test_store_django_tui import fit, rows, tui_helpers


@pytest.fixture
def tui(pctx, tmp_path):
    return tui_helpers.Tui(pctx, tmp_path)


async def test_search_a_role_see_it_and_reset_it_from_the_danger_zone(tui, roles, pctx):
    admin = operator(pctx, "admin")
    name = roles.make("web")
    roles.make("web_old", encryption="md5")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.wait_screen(pilot, StoreUsersScreen)
        await tui.fill(pilot, "#store-search", roles.prefix + "web")
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: len(rows(screen)) == 2 and rows(screen)[0] == name,
                           what=lambda: f"the search: {rows(screen)}")
        assert fit.misfits(app) == []
        await pilot.press("enter")
        account = await tui.wait_screen(pilot, StoreAccountScreen)
        await tui.wait_for(pilot, lambda: account.detail is not None, what="the role")
        assert fit.misfits(app) == []
        shown = tui.text(account, "#store-account")
        assert "SCRAM-SHA-256" in shown and "valid until" in shown
        danger = account.query_one(OptionList)
        prompts = {o.id: str(o.prompt) for o in danger.options}
        assert "must-change" in prompts[Action.FORCE_CHANGE.value]
        danger.highlighted = [o.id for o in danger.options].index(Action.RESET_PASSWORD.value)
        await pilot.press("enter")
        await tui.wait_screen(pilot, ActionDialog)
        assert fit.misfits(app) == []
        await tui.fill(pilot, "#f-reason", "rotated")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        new = reveal.secret.reveal()
        assert "SCRAM-SHA-256" in tui.text(reveal, "#reveal-note")
        assert roles.signs_in(name, new)
        assert not roles.signs_in(name, "an old password 1")
        await pilot.press("escape")
        assert reveal.secret.discarded


async def test_delete_from_the_danger_zone_drops_the_role_and_returns_to_the_list(tui, roles, pctx):
    admin = operator(pctx, "admin")
    name = roles.make("gone")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.wait_screen(pilot, StoreUsersScreen)
        await tui.fill(pilot, "#store-search", name)
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: rows(screen) == [name], what="the search")
        await pilot.press("enter")
        account = await tui.wait_screen(pilot, StoreAccountScreen)
        await tui.wait_for(pilot, lambda: account.detail is not None, what="the role")
        danger = account.query_one(OptionList)
        danger.highlighted = [o.id for o in danger.options].index(Action.DELETE.value)
        await tui.wait_for(pilot, lambda: "PostgreSQL: DROP ROLE" in tui.text(account, "#store-danger-help"),
                           what="what the server will do")
        assert fit.misfits(app) == []
        await pilot.press("enter")
        dialog = await tui.wait_screen(pilot, ActionDialog)
        assert "DROP ROLE, refused while the role owns anything" in tui.text(dialog, "#action-explanation")
        assert fit.misfits(app) == []
        await tui.fill(pilot, "#f-reason", "retired")
        await tui.fill(pilot, "#f-confirm", name)
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: pilot.app.screen is screen, what="back at the list")
        await tui.wait_for(pilot, lambda: rows(screen) == [], what="the role gone from the list")
    assert roles.row(name) is None

"""The console on an LDAP directory, through Textual's Pilot at 80×24: the
people list, one person's ppolicy state and the actions a directory cannot
do, a reset from the danger zone that slapd accepts on bind (and reports as
needing a change), and an unlock after failed binds."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from console.services.permissions import Action
from console.tui.screens.action import ActionDialog
from console.tui.screens.reveal import RevealScreen
from console.tui.screens.store import StoreAccountScreen, StoreUsersScreen

from slapdserver import OLD, lctx, make_lctx, operator, people, slapd  # noqa: F401  (fixtures)
from test_store_django_tui import fit, rows, tui_helpers


@pytest.fixture
def tui(lctx, tmp_path):
    return tui_helpers.Tui(lctx, tmp_path)


async def _open(tui, pilot, search: str, name: str):
    screen = await tui.wait_screen(pilot, StoreUsersScreen)
    await tui.fill(pilot, "#store-search", search)
    await pilot.press("enter")
    await tui.wait_for(pilot, lambda: rows(screen)[:1] == [name], what=lambda: f"the search: {rows(screen)}")
    await pilot.press("enter")
    account = await tui.wait_screen(pilot, StoreAccountScreen)
    await tui.wait_for(pilot, lambda: account.detail is not None, what="the person")
    return screen, account


async def test_search_a_person_see_the_ppolicy_state_and_reset_from_the_danger_zone(tui, people, lctx):
    admin = operator(lctx, "admin")
    for n in ("web", "webmaster", "other"):
        people.make(n, cn=f"{n.title()} Person")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.wait_screen(pilot, StoreUsersScreen)
        await tui.wait_for(pilot, lambda: len(rows(screen)) == 3, what=lambda: f"the list: {rows(screen)}")
        assert fit.misfits(app) == []
        _, account = await _open(tui, pilot, "web", "web")
        assert fit.misfits(app) == []
        shown = tui.text(account, "#store-account")
        assert "password policy" in shown and "expires" in shown and "must change" in shown
        danger = account.query_one(OptionList)
        prompts = {o.id: str(o.prompt) for o in danger.options}
        assert "no sessions" in prompts[Action.REVOKE_SESSIONS.value]
        assert "pwdMaxAge" in prompts[Action.EXPIRE.value]
        danger.highlighted = [o.id for o in danger.options].index(Action.RESET_PASSWORD.value)
        await pilot.press("enter")
        await tui.wait_screen(pilot, ActionDialog)
        assert fit.misfits(app) == []
        await tui.fill(pilot, "#f-reason", "forgot")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        new = reveal.secret.reveal()
        assert "pwdReset" in tui.text(reveal, "#reveal-note")
        assert fit.misfits(app) == []
        assert people.binds("web", new) and not people.binds("web", OLD)
        assert "Password must be changed" in people.whoami_ppolicy("web", new)
        await pilot.press("escape")
        assert reveal.secret.discarded


async def test_unlock_from_the_danger_zone_after_failed_binds(tui, people, lctx):
    admin = operator(lctx, "admin")
    people.make("sam")
    for _ in range(3):
        people.binds("sam", "a wrong password")
    assert not people.binds("sam", OLD)
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        _, account = await _open(tui, pilot, "sam", "sam")
        assert "locked after failed binds" in tui.text(account, "#store-account")
        danger = account.query_one(OptionList)
        danger.highlighted = [o.id for o in danger.options].index(Action.UNLOCK.value)
        await pilot.press("enter")
        await tui.wait_screen(pilot, ActionDialog)
        await tui.fill(pilot, "#f-reason", "called the desk")
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: people.binds("sam", OLD), what="the unlock")
        assert fit.misfits(app) == []

"""The console on a Django store, through Textual's Pilot at 80×24: the list
of auth_user, one account with its hash and the actions Django cannot do, and a
reset from the danger zone that Django's authenticate accepts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, OptionList

from console.services.permissions import Action
from console.tui.screens.action import ActionDialog
from console.tui.screens.reveal import RevealScreen
from console.tui.screens.store import StoreAccountScreen, StoreUsersScreen

from test_store_django import make_django_user

TUI = Path(__file__).resolve().parents[1] / "tui"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


tui_helpers = _load("userdesk_tui_helpers", TUI / "conftest.py")
fit = _load("userdesk_tui_fit", TUI / "test_tui_fit.py")


@pytest.fixture
def tui(dctx, tmp_path):
    return tui_helpers.Tui(dctx, tmp_path)


def rows(screen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row(k)[0]) for k in table.rows]


async def test_list_search_account_and_reset_on_a_django_store(tui, dj, dctx, desk_operator):
    admin = desk_operator("admin")
    for i in range(55):
        make_django_user(dj, f"user{i:02d}", email=f"u{i:02d}@example.org", first="Ann")
    make_django_user(dj, "zoe", "zoe's old password", first="Zoe", last="Ziegler", email="zoe@example.org")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.wait_screen(pilot, StoreUsersScreen)
        await tui.wait_for(pilot, lambda: len(rows(screen)) == 50, what="the first page")
        assert fit.misfits(app) == []
        await tui.wait_for(pilot, lambda: "50 shown of 56" in tui.text(screen, "#store-status"), what="the count")
        await pilot.press("right_square_bracket")
        await tui.wait_for(pilot, lambda: rows(screen)[-1] == "zoe", what="the next page")
        await tui.fill(pilot, "#store-search", "zieg")
        await pilot.press("enter")
        await tui.wait_for(pilot, lambda: rows(screen) == ["zoe"], what="the search")
        await pilot.press("enter")
        account = await tui.wait_screen(pilot, StoreAccountScreen)
        await tui.wait_for(pilot, lambda: account.detail is not None, what="zoe's account")
        assert fit.misfits(app) == []
        shown = tui.text(account, "#store-account")
        assert "pbkdf2_sha256" in shown and "work factor" in shown
        danger = account.query_one(OptionList)
        order = [o.id for o in danger.options]
        prompts = {o.id: str(o.prompt) for o in danger.options}
        assert "deactivate instead" in prompts[Action.DELETE.value] and "must-change" in prompts[
            Action.FORCE_CHANGE.value]
        assert order.index(Action.EMAIL_TICKET.value) < order.index(Action.FORCE_CHANGE.value)  # available first
        assert pilot.app.focused is danger
        # Every unavailable action can be reached with the keys, and says why.
        await pilot.press("end")
        assert order[danger.highlighted] == Action.DELETE.value
        assert "Unavailable: django: Django deletes related rows" in tui.text(account, "#store-danger-help")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ActionDialog)
        await pilot.press("home")
        assert order[danger.highlighted] == Action.RESET_PASSWORD.value
        account.query_one(OptionList).highlighted = [o.id for o in account.query_one(OptionList).options].index(
            Action.RESET_PASSWORD.value)
        await pilot.press("enter")
        dialog = await tui.wait_screen(pilot, ActionDialog)
        assert fit.misfits(app) == []
        await tui.fill(pilot, "#f-reason", "called in")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        assert fit.misfits(app) == []
        new = reveal.secret.reveal()
        assert "written as pbkdf2_sha256" in tui.text(reveal, "#reveal-note")
        assert dj.authenticate("zoe", new) is not None
        assert dj.authenticate("zoe", "zoe's old password") is None
        await pilot.press("escape")
        assert reveal.secret.discarded
        assert dialog is not None

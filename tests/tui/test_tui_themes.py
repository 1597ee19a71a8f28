"""Colour themes: the files in themes/ become Textual themes; the choice is remembered."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path


from console.tui.themes import DEFAULT_THEME, load_themes
from console.tui.screens.users import UsersScreen

THEME_DIR = Path(__file__).resolve().parents[2] / "themes"
NAMES = sorted(tomllib.loads(p.read_text())["name"] for p in THEME_DIR.glob("*.toml"))


def test_every_theme_file_is_loaded():
    assert len(NAMES) == 3
    themes = load_themes()
    assert sorted(themes) == NAMES
    assert DEFAULT_THEME in themes
    assert {t.dark for t in themes.values()} == {True, False}
    for name, theme in themes.items():
        data = tomllib.loads((THEME_DIR / f"{name}.toml").read_text())
        assert theme.primary.lower() == data["primary"].lower()


async def test_the_app_registers_them_and_starts_with_the_default(tui, admin):
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        assert set(NAMES) <= set(app.available_themes)
        assert sorted(app.userdesk_themes) == NAMES
        assert app.theme == DEFAULT_THEME == tui.ctx.settings.theme
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {f"Theme: {n}" for n in NAMES} <= set(titles)
        assert "Theme" not in titles  # Textual's own, with all its themes, is replaced


async def test_a_chosen_theme_is_remembered_for_the_next_start(tui, admin, tmp_path):
    remember = tmp_path / "state" / "console.json"
    app, _ = tui.app(admin, remember_path=remember)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        app.choose_theme("userdesk-light")
        await pilot.pause()
        assert app.theme == "userdesk-light"
        assert json.loads(remember.read_text())["theme"] == "userdesk-light"
        # A theme set some other way (not chosen by the operator) is not remembered.
        app.theme = "userdesk-high-contrast"
        await pilot.pause()
        assert json.loads(remember.read_text())["theme"] == "userdesk-light"
    again, _ = tui.app(admin, remember_path=remember)
    async with again.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        assert again.theme == "userdesk-light"


async def test_the_theme_command_switches_and_remembers(tui, admin, tmp_path):
    remember = tmp_path / "console.json"
    app, _ = tui.app(admin, remember_path=remember)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        (command,) = [c for c in app.get_system_commands(app.screen) if c.title == "Theme: userdesk-high-contrast"]
        command.callback()
        await pilot.pause()
        assert app.theme == "userdesk-high-contrast"
    assert json.loads(remember.read_text()) == {"theme": "userdesk-high-contrast"}


async def test_the_configured_theme_applies_when_nothing_is_remembered(tui, make_ctx, admin, tmp_path):
    ctx = make_ctx(theme="userdesk-high-contrast")
    app, _ = tui.app(admin, ctx=ctx, remember_path=tmp_path / "nothing-yet.json")
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        assert app.theme == "userdesk-high-contrast"


async def test_a_damaged_state_file_falls_back_and_is_repaired(tui, admin, tmp_path):
    remember = tmp_path / "console.json"
    remember.write_text("{not json")
    app, _ = tui.app(admin, remember_path=remember)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        assert app.theme == DEFAULT_THEME
        app.choose_theme("userdesk-light")
        await pilot.pause()
    assert json.loads(remember.read_text()) == {"theme": "userdesk-light"}


async def test_a_theme_nobody_chose_is_not_remembered_over_the_configuration(tui, make_ctx, admin, tmp_path):
    remember = tmp_path / "console.json"
    app, _ = tui.app(admin, remember_path=remember)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        assert app.theme == DEFAULT_THEME
    # The configuration changes; the operator never picked a theme.
    configured = make_ctx(theme="userdesk-light")
    again, _ = tui.app(admin, ctx=configured, remember_path=remember)
    async with again.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        assert again.theme == "userdesk-light"

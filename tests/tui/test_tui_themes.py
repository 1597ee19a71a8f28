"""Colour themes: the files in themes/ become Textual themes; the choice is remembered."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

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


def _illegible_in_16_colours(tui, app) -> list[tuple[int, str]]:
    """Text (not box drawing) whose colour and background fall on the same of
    a 16-colour terminal's colours once downgraded: it would vanish there."""
    from rich.color import ColorSystem

    out = []
    for y, strip in enumerate(tui.drawn(app).render_strips()):
        for seg in strip:
            glyphs = "".join(ch for ch in seg.text if not ch.isspace() and not 0x2500 <= ord(ch) <= 0x259F)
            st = seg.style
            if glyphs and st is not None and st.color is not None and st.bgcolor is not None:
                if st.color.downgrade(ColorSystem.STANDARD).number == st.bgcolor.downgrade(ColorSystem.STANDARD).number:
                    out.append((y, glyphs[:30]))
    return out


@pytest.mark.sqlite_only
@pytest.mark.parametrize("theme", NAMES)
async def test_every_screen_reads_in_a_16_colour_terminal(tui, ctx, admin, make_user, theme):
    from console.services import users as users_service
    from console.services.permissions import Action
    from console.tui.screens.audit import AuditScreen

    make_user("bob", email="bob@example.com")
    users_service.block_user(ctx, admin, "bob", reason="left")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        app.theme = theme
        await tui.wait_screen(pilot, UsersScreen)
        await tui.settle(pilot)
        seen = {"list": _illegible_in_16_colours(tui, app)}
        await pilot.press("a")
        await tui.wait_screen(pilot, AuditScreen)
        await tui.settle(pilot)
        seen["audit"] = _illegible_in_16_colours(tui, app)
        await pilot.press("escape")
        screen = await tui.open_user(pilot, "bob")
        seen["account"] = _illegible_in_16_colours(tui, app)
        await pilot.press("d")
        await pilot.pause()
        seen["danger zone (unavailable actions and their reasons)"] = _illegible_in_16_colours(tui, app)
        assert any(not enabled for enabled, _ in tui.danger(screen).values())
        await tui.start(pilot, Action.FORCE_CHANGE)
        seen["dialog"] = _illegible_in_16_colours(tui, app)
    signin, _ = tui.app(None)
    async with signin.run_test(size=tui.size) as pilot:
        signin.theme = theme
        await pilot.pause()
        seen["sign-in"] = _illegible_in_16_colours(tui, signin)
    assert {where: found for where, found in seen.items() if found} == {}


@pytest.mark.sqlite_only
async def test_no_color_draws_in_greys_only(tui, admin, make_user, monkeypatch):
    """NO_COLOR (no-color.org): Textual's monochrome filter is on, and every
    colour that reaches the terminal is a grey."""
    monkeypatch.setenv("NO_COLOR", "1")
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        await tui.settle(pilot)
        assert app.no_color
        background = app.screen.styles.background
        colours = set()
        for strip in tui.drawn(app).render_strips():
            for line_filter in app.get_line_filters():
                strip = strip.apply_filter(line_filter, background)
            for seg in strip:
                for c in (seg.style.color, seg.style.bgcolor) if seg.style else ():
                    if c is not None and c.triplet is not None:
                        colours.add(tuple(c.triplet))
        assert colours and all(r == g == b for r, g, b in colours), sorted(colours)[:5]

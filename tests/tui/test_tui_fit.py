"""Every screen fits 80×24: nothing scrolls sideways, no form or dialog hides a
field below a scrollbar, and nothing is drawn off the screen. Lists of many
rows (the user list, tables, menus) are the only things that scroll."""

from __future__ import annotations

import pytest
from textual.command import CommandList
from textual.containers import ScrollableContainer
from textual.widget import Widget
from textual.widgets import DataTable, OptionList, Static

from console.security.policy import PRESETS
from console.services import sessions, tickets
from console.services.permissions import Action
from console.tui.screens.audit import AuditScreen
from console.tui.screens.bulk import BulkScreen
from console.tui.screens.password import ChangePasswordScreen
from console.tui.clipboard import Tmux
from console.tui.screens.users import UsersScreen
from console.tui.widgets.userlist import UserList

SCROLLING_LISTS = (DataTable, OptionList, UserList, CommandList)


def misfits(app) -> list[str]:
    screen = app.screen
    out = []
    for w in screen.walk_children(Widget):
        if not w.display:
            continue
        if w.show_horizontal_scrollbar:
            out.append(f"{w!r} scrolls sideways ({w.virtual_size.width} columns in {w.size.width})")
        if w.show_vertical_scrollbar and not isinstance(w, SCROLLING_LISTS):
            out.append(f"{w!r} hides {w.virtual_size.height - w.size.height} line(s) below a scrollbar")
        if w.region.area and not screen.region.contains_region(w.region):
            out.append(f"{w!r} is drawn at {w.region}, off the {screen.region.size} screen")
        parent = w.parent
        if (isinstance(parent, Widget) and not isinstance(parent, ScrollableContainer) and w.region.area
                and parent.region.area and not parent.region.contains_region(w.region)):
            out.append(f"{w!r} is cut by {parent!r}: {w.region} is not inside {parent.region}")
        if isinstance(w, Static) and w.content_region.area:
            needed = w.get_content_height(w.parent.size, app.size, w.content_region.width)
            if needed > w.content_region.height:
                out.append(f"{w!r} cuts its text: {needed} line(s) in {w.content_region.height}")
    return out


async def _walk(tui, pilot, app, where: list[str], failures: list[str]) -> None:
    def check(what: str) -> None:
        failures.extend(f"{what}: {m}" for m in misfits(app))
        where.append(what)

    role = app.actor.role
    await tui.wait_screen(pilot, UsersScreen)
    await tui.settle(pilot)
    check(f"{role}: user list")
    screen = await tui.open_user(pilot, "bob")
    for key, tab in zip("12345", ("account", "sessions", "tickets", "activity", "danger zone")):
        await pilot.press(key)
        await tui.settle(pilot)
        check(f"{role}: account, {tab}")
    for action_id, (enabled, _label) in tui.danger(screen).items():
        if enabled:
            await tui.start(pilot, Action(action_id))
            await tui.settle(pilot)
            check(f"{role}: {action_id} dialog")
            await pilot.press("escape")
            await tui.settle(pilot)
    await pilot.press("escape")
    await tui.wait_screen(pilot, UsersScreen)
    for key, cls in (("a", AuditScreen), ("b", BulkScreen), ("p", ChangePasswordScreen)):
        await pilot.press(key)
        await tui.wait_screen(pilot, cls)
        await tui.settle(pilot)
        check(f"{role}: {cls.__name__}")
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)


async def test_every_screen_fits_80_by_24(tui, ctx, admin, helpdesk, make_user):
    make_user("bob", email="bob@example.com", display_name="Bob Builder")
    sessions.open_session(ctx, "bob", client="Firefox 132 on a laptop")
    # A reason at its longest (500 characters): the audit log and the account's
    # activity must cut it visibly, not wrap it out of their space.
    tickets.issue_ticket(ctx, admin, "bob", reason=("called from the office line, " * 20)[:500])
    assert tui.size == (80, 24)
    where: list[str] = []
    failures: list[str] = []
    app, _ = tui.app(None)
    async with app.run_test(size=tui.size) as pilot:
        await tui.settle(pilot)
        failures.extend(f"sign-in: {m}" for m in misfits(app))
    for actor in (admin, helpdesk):
        app, _ = tui.app(actor)
        async with app.run_test(size=tui.size) as pilot:
            await _walk(tui, pilot, app, where, failures)
    assert len(where) > 20, where
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("preset", sorted(PRESETS))
async def test_the_password_forms_fit_under_every_policy(tui, make_ctx, helpdesk, make_user, preset):
    """The checklist has a line per rule (two for a long one): under the longest
    policy, with a helpdesk operator's identity check too, the set-password
    dialog and the operator's own password form still show every field."""
    make_user("bob")
    app, _ = tui.app(helpdesk, ctx=make_ctx(policy=preset))
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await tui.start(pilot, Action.SET_PASSWORD)
        await tui.settle(pilot)
        assert not misfits(app), misfits(app)
        await pilot.press("escape", "escape")
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("p")
        await tui.wait_screen(pilot, ChangePasswordScreen)
        await tui.settle(pilot)
        assert not misfits(app), misfits(app)


# -- below 80x24 ---------------------------------------------------------------------------------------

SMALL = (60, 20)


def _usable(app, what: str) -> list[str]:
    """A dialog at a size below 80x24: inside the screen, nothing sideways, its
    buttons on screen, and everything else reachable by scrolling the box."""
    screen = app.screen
    box = screen.query_one("#action-box, #reveal-box")
    out = []
    if not screen.region.contains_region(box.region):
        out.append(f"{what}: the box {box.region} is not inside the {screen.region.size} screen")
    for w in [box, *box.walk_children(Widget)]:
        if w.display and w.show_horizontal_scrollbar:
            out.append(f"{what}: {w!r} scrolls sideways")
    for button in screen.query("#action-confirm, #action-cancel"):
        if not (button.region.area and box.region.contains_region(button.region)):
            out.append(f"{what}: {button.id} is not on screen ({button.region} in {box.region})")
    last = [w for w in box.walk_children(Widget) if w.display and w.can_focus] or [box]
    box.scroll_end(animate=False, immediate=True)
    return out, last[-1]


async def _check_small(tui, pilot, app, what: str, failures: list[str]) -> None:
    await tui.settle(pilot)
    found, last = _usable(app, what)
    failures.extend(found)
    await pilot.pause()
    box = app.screen.query_one("#action-box, #reveal-box")
    if last is not box and not box.region.contains_region(last.region):
        failures.append(f"{what}: {last!r} cannot be scrolled into sight ({last.region} in {box.region})")


async def test_below_80_by_24_every_dialog_scrolls_and_keeps_its_buttons(tui, ctx, admin, helpdesk, make_user):
    from console.tui.screens.reveal import RevealScreen

    make_user("bob", email="bob@example.com", display_name="Bob Builder")
    failures: list[str] = []
    seen: list[str] = []
    for actor in (admin, helpdesk):
        app, _ = tui.app(actor, env={"TMUX": "t"},
                         tmux=Tmux({"TMUX": "t"}, run=lambda args: b"off\n" if args[0] == "show-options" else None))
        async with app.run_test(size=SMALL) as pilot:
            screen = await tui.open_user(pilot, "bob")
            for action_id, (enabled, _label) in tui.danger(screen).items():
                if enabled:
                    await tui.start(pilot, Action(action_id))
                    await _check_small(tui, pilot, app, f"{actor.role}: {action_id}", failures)
                    seen.append(action_id)
                    await pilot.press("escape")
                    await tui.settle(pilot)
            await tui.start(pilot, Action.RESET_PASSWORD)
            await tui.fill(pilot, "#f-reason", "forgot it")
            if actor.role == "helpdesk":
                await tui.fill(pilot, "#f-identity", "badge")
            await tui.confirm(pilot)
            await tui.wait_screen(pilot, RevealScreen)
            await _check_small(tui, pilot, app, f"{actor.role}: reveal", failures)
            await pilot.press("escape")
            await pilot.press("escape")
            await tui.wait_screen(pilot, UsersScreen)
            for key, cls in (("b", BulkScreen), ("p", ChangePasswordScreen)):
                await pilot.press(key)
                await tui.wait_screen(pilot, cls)
                await _check_small(tui, pilot, app, f"{actor.role}: {cls.__name__}", failures)
                await pilot.press("escape")
                await tui.wait_screen(pilot, UsersScreen)
    assert "set_password" in seen and "delete" in seen
    assert not failures, "\n".join(failures)

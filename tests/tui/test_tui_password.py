"""Change my password ("p" on the user list): the operator's own, old one verified."""

from __future__ import annotations

import asyncio
import threading

import pytest

from console.services import auth, passwords
from console.services.errors import AuthFailed
from console.tui.screens.password import ChangePasswordScreen
from console.tui.screens.users import UsersScreen

NEW = "quiet Meadow lantern 4420"


async def _open(tui, pilot) -> ChangePasswordScreen:
    await tui.wait_screen(pilot, UsersScreen)
    await pilot.press("p")
    screen = await tui.wait_screen(pilot, ChangePasswordScreen)
    assert not screen.forced
    assert pilot.app.focused.id == "p-old"
    return screen


async def _fill(tui, pilot, old: str, new: str, again: str | None = None) -> None:
    await tui.fill(pilot, "#p-old", old)
    await tui.fill(pilot, "#p-new", new)
    await tui.fill(pilot, "#p-new2", new if again is None else again)


async def test_a_wrong_current_password_is_refused(tui, ctx, make_operator):
    op = make_operator("admin", "alice")
    app, _ = tui.app(op.actor)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open(tui, pilot)
        await _fill(tui, pilot, "not my password", NEW)
        await pilot.press("ctrl+s")
        await tui.wait_for(pilot, lambda: "wrong username or password" in tui.text(screen, "#action-error"))
        assert app.screen is screen and app.focused.id == "p-old"
        # Nothing typed is kept in the form.
        for text in tui.widget_texts(app):
            assert NEW not in text
    assert auth.sign_in(ctx, "alice", op.password).username == "alice"


async def test_two_different_new_entries_are_refused_before_anything_is_sent(tui, ctx, make_operator,
                                                                             audit_events):
    op = make_operator("admin", "alice")
    before = len(audit_events())
    app, _ = tui.app(op.actor)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open(tui, pilot)
        await _fill(tui, pilot, op.password, NEW, NEW + "x")
        await tui.wait_for(pilot, lambda: "✗ both entries match" in tui.text(screen, "#f-checklist"))
        await pilot.click("#action-confirm")
        await tui.settle(pilot)
        assert "the two entries differ" in tui.text(screen, "#action-error")
    assert len(audit_events()) == before


async def test_the_right_password_changes_it_and_the_console_stays_signed_in(tui, ctx, make_operator, make_user):
    op = make_operator("admin", "alice")
    make_user("bob")
    app, _ = tui.app(op.actor)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open(tui, pilot)
        await _fill(tui, pilot, op.password, NEW)
        await tui.wait_for(pilot, lambda: "✗" not in tui.text(screen, "#f-checklist"))
        await pilot.press("enter")  # Enter in a field saves
        await tui.wait_screen(pilot, UsersScreen)
        assert app.actor is not op.actor
        assert (app.actor.id, app.actor.username, app.actor.must_change_password) == (op.actor.id, "alice", False)
        # The console goes on working as alice.
        await tui.open_user(pilot, "bob")
    with pytest.raises(AuthFailed):
        auth.sign_in(ctx, "alice", op.password)
    assert auth.sign_in(ctx, "alice", NEW).username == "alice"


async def test_cancel_keeps_the_password(tui, ctx, make_operator):
    op = make_operator("admin", "alice")
    app, _ = tui.app(op.actor)
    async with app.run_test(size=tui.size) as pilot:
        await _open(tui, pilot)
        await _fill(tui, pilot, op.password, NEW)
        await pilot.press("escape")
        await tui.wait_screen(pilot, UsersScreen)
        assert app.is_running and app.actor is op.actor
    assert auth.sign_in(ctx, "alice", op.password).username == "alice"


@pytest.fixture
def slow_change(monkeypatch):
    """Hold ``change_own_password`` until released, as argon2 with production
    parameters does for a noticeable moment: ``started`` is set once it runs."""
    started, release = threading.Event(), threading.Event()
    real = passwords.change_own_password

    def slow(*args, **kwargs):
        started.set()
        release.wait(5)
        return real(*args, **kwargs)

    monkeypatch.setattr(passwords, "change_own_password", slow)
    yield started, release
    release.set()


async def _while_it_runs(started) -> None:
    while not started.is_set():
        await asyncio.sleep(0.01)


async def test_saving_again_while_the_first_save_runs_does_not_hide_its_outcome(tui, ctx, make_operator,
                                                                                 slow_change):
    started, release = slow_change
    op = make_operator("admin", "alice")
    app, _ = tui.app(op.actor)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open(tui, pilot)
        await _fill(tui, pilot, op.password, NEW)
        await pilot.press("enter")  # save...
        await _while_it_runs(started)
        await pilot.press("enter")  # ...and Enter again while it runs
        release.set()
        await tui.settle(pilot)
        await tui.wait_for(pilot, lambda: not screen.is_attached or "[" in tui.text(screen, "#action-error"))
        assert auth.authenticate(ctx, "alice", NEW).authenticated  # the change was made...
        # ...so the console must show it as made, not as a failure.
        assert not screen.is_attached, tui.text(screen, "#action-error")


async def test_cancelling_while_the_save_runs_leaves_the_user_list_in_place(tui, ctx, make_operator, slow_change):
    started, release = slow_change
    op = make_operator("admin", "alice")
    app, _ = tui.app(op.actor)
    async with app.run_test(size=tui.size) as pilot:
        await _open(tui, pilot)
        await _fill(tui, pilot, op.password, NEW)
        await pilot.press("ctrl+s")
        await _while_it_runs(started)
        await pilot.press("escape")
        release.set()
        await tui.settle(pilot)
        assert app.is_running
        assert any(isinstance(s, UsersScreen) for s in app.screen_stack), app.screen_stack
        assert isinstance(app.screen, (UsersScreen, ChangePasswordScreen)), app.screen_stack


async def test_a_trusted_operator_is_told_what_current_means(tui, ctx, make_user, make_ctx):
    make_user("ops", role="admin")
    trusted = auth.trusted_operator(make_ctx(trusted_operator=True), "ops")
    app, _ = tui.app(trusted)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open(tui, pilot)
        text = tui.text(screen, "#action-explanation")
        assert "without a password (trusted operator mode)" in text and "userdesk demo" in text

"""Operator sign-in: the first screen when the console is started without an operator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import Input

from console.services import auth
from console.services.errors import AuthFailed
from console.tui.screens.password import ChangePasswordScreen
from console.tui.screens.signin import SignInScreen
from console.tui.screens.users import UsersScreen


async def _type_credentials(tui, pilot, username: str, password: str, *, by_key: bool = True) -> None:
    """Username typed key by key, Enter to the password field, password pasted, Enter."""
    await tui.fill(pilot, "#signin-user", "" if by_key else username)
    if by_key:
        await pilot.press(*username)
    await pilot.press("enter")  # moves to the password field
    assert pilot.app.focused.id == "signin-password"
    await tui.fill(pilot, "#signin-password", password)
    await pilot.press("enter")


async def test_sign_in_opens_the_user_list_with_the_operator_in_the_subtitle(tui, make_user):
    pw = make_user("alice", role="admin").password.reveal()
    app, _ = tui.app(None)
    async with app.run_test(size=tui.size) as pilot:
        assert isinstance(app.screen, SignInScreen)
        assert app.focused.id == "signin-user"
        await _type_credentials(tui, pilot, "alice", pw)
        await tui.wait_screen(pilot, UsersScreen)
        assert app.actor is not None and app.actor.username == "alice" and app.actor.role == "admin"
        assert "alice (admin)" in app.sub_title
        assert not any(isinstance(s, SignInScreen) for s in app.screen_stack)


async def test_wrong_password_stays_on_sign_in_shows_the_error_and_is_audited(tui, make_user, audit_events):
    make_user("alice", role="admin")
    app, _ = tui.app(None)
    async with app.run_test(size=tui.size) as pilot:
        await _type_credentials(tui, pilot, "alice", "not-the-password")
        await tui.wait_for(pilot, lambda: "wrong username or password" in tui.text(app, "#signin-error"))
        assert isinstance(app.screen, SignInScreen)
        assert app.actor is None
        # The password field is emptied and focused for another try; the button works again.
        assert app.screen.query_one("#signin-password", Input).value == ""
        assert app.focused.id == "signin-password"
        assert not app.screen.query_one("#signin-button").disabled
    denied = [e for e in audit_events() if e.action == "operator.sign_in" and e.outcome == "denied"]
    assert [(e.operator, e.error_code) for e in denied] == [("alice", "AUTH_FAILED")]


async def test_empty_fields_are_refused_without_a_service_call(tui, make_user, audit_events):
    make_user("alice", role="admin")
    before = len(audit_events())
    app, _ = tui.app(None)
    async with app.run_test(size=tui.size) as pilot:
        await pilot.click("#signin-button")
        await tui.settle(pilot)
        assert "Give your operator username and password" in tui.text(app, "#signin-error")
        assert isinstance(app.screen, SignInScreen)
    assert len(audit_events()) == before


async def test_repeated_failures_lock_the_operator_out_and_only_the_right_password_learns_when_it_ends(
        tui, ctx, make_user, clock):
    pw = make_user("alice", role="admin").password.reveal()
    n = ctx.settings.operator_lockout_failures
    app, _ = tui.app(None)
    async with app.run_test(size=tui.size) as pilot:
        for i in range(n):
            await _type_credentials(tui, pilot, "alice", f"wrong-{i}", by_key=False)
            await tui.wait_for(pilot, lambda: not app.screen.query_one("#signin-button").disabled)
        # The locking failure reads as any wrong password (whoever guesses learns nothing).
        assert "wrong username or password" in tui.text(app, "#signin-error")
        assert "Locked" not in tui.text(app, "#signin-error")
        until = clock.now + timedelta(minutes=ctx.settings.operator_lockout_minutes)
        # The right password is refused now, and told why and until when.
        await _type_credentials(tui, pilot, "alice", pw, by_key=False)
        await tui.wait_for(pilot, lambda: not app.screen.query_one("#signin-button").disabled)
        message = tui.text(app, "#signin-error")
        assert "Locked out until" in message and until.strftime("%Y-%m-%d %H:%M") in message
        assert isinstance(app.screen, SignInScreen) and app.actor is None


async def test_escape_on_sign_in_quits(tui):
    app, _ = tui.app(None)
    async with app.run_test(size=tui.size) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert not app.is_running


async def test_operator_who_must_change_password_is_forced_into_the_change_screen(tui, ctx, make_user):
    pw = make_user("alice", role="admin", must_change=True).password.reveal()
    app, _ = tui.app(None)
    async with app.run_test(size=tui.size) as pilot:
        await _type_credentials(tui, pilot, "alice", pw)
        screen = await tui.wait_screen(pilot, ChangePasswordScreen)
        assert screen.forced
        assert "must choose a new password" in tui.text(app, "#action-explanation")
        # The user list is underneath, but the forced screen is on top until done.
        assert isinstance(app.screen_stack[-2], UsersScreen)
        assert not any(isinstance(s, SignInScreen) for s in app.screen_stack)
        new = "correct horse battery staple 42"
        await tui.fill(pilot, "#p-old", pw)
        await tui.fill(pilot, "#p-new", new)
        await tui.fill(pilot, "#p-new2", new)
        await pilot.press("ctrl+s")
        await tui.wait_screen(pilot, UsersScreen)
        assert app.actor.must_change_password is False
    assert auth.authenticate(ctx, "alice", new).status == "ok"
    with pytest.raises(AuthFailed):
        auth.sign_in(ctx, "alice", pw)


async def test_escape_on_the_forced_change_signs_out(tui, make_user):
    pw = make_user("alice", role="admin", must_change=True).password.reveal()
    app, _ = tui.app(None)
    async with app.run_test(size=tui.size) as pilot:
        await _type_credentials(tui, pilot, "alice", pw)
        await tui.wait_screen(pilot, ChangePasswordScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.is_running

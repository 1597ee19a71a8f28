"""The dialogs say the truth: an error names its field and clears once that
field is corrected, its code agrees with it, an empty form judges nothing yet,
and a result says what happened."""

from __future__ import annotations

from textual.widgets import Input

from console.services import listing, sessions
from console.services.permissions import Action
from console.tui.screens.bulk import BulkScreen
from console.tui.screens.detail import UserDetailScreen
from console.tui.screens.password import ChangePasswordScreen
from console.tui.screens.reveal import RevealScreen
from console.tui.screens.users import UsersScreen
from console.tui.widgets.userlist import UserList

GOOD = "violet Harbour lamps 2031"


def _notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


# -- errors: the field they name, and gone once it is corrected ----------------------------------


async def test_helpdesk_without_a_reason_is_told_so_with_the_reasons_code(tui, helpdesk, make_user, audit_events):
    """It read "reason: helpdesk actions must record a reason [IDENTITY_CHECK_REQUIRED]"."""
    make_user("bob")
    app, _ = tui.app(helpdesk)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.REVOKE_SESSIONS)
        await tui.fill(pilot, "#f-identity", "called back on the number on file")
        await tui.confirm(pilot)
        error = tui.text(dialog, "#action-error")
        assert error.startswith("reason: helpdesk actions must record a reason"), error
        assert "IDENTITY_CHECK" not in error
        # Corrected: the error goes at once, before anything is sent again.
        await tui.fill(pilot, "#f-reason", "stolen laptop")
        assert tui.text(dialog, "#action-error") == ""


async def test_a_service_error_clears_when_its_field_is_corrected(tui, helpdesk, make_user):
    make_user("bob")
    app, _ = tui.app(helpdesk)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.REVOKE_SESSIONS)
        await tui.fill(pilot, "#f-reason", "stolen laptop")
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: "IDENTITY_CHECK_REQUIRED" in tui.text(dialog, "#action-error"))
        assert tui.text(dialog, "#action-error").startswith("identity_check: ")
        await tui.fill(pilot, "#f-reason", "stolen laptop, ticket 12")  # another field: the error stays
        assert "IDENTITY_CHECK_REQUIRED" in tui.text(dialog, "#action-error")
        await tui.fill(pilot, "#f-identity", "badge shown at the desk")
        assert tui.text(dialog, "#action-error") == ""


async def test_a_bulk_refusal_clears_when_the_reason_is_given(tui, helpdesk, make_user):
    make_user("m0")
    app, _ = tui.app(helpdesk)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("b")
        screen = await tui.wait_screen(pilot, BulkScreen)
        await tui.wait_for(pilot, lambda: screen.preview is not None, what="the first preview")
        await pilot.press("ctrl+s")
        await tui.wait_for(pilot, lambda: "[REASON_REQUIRED]" in tui.text(screen, "#action-error"))
        assert tui.text(screen, "#action-error").startswith("reason: helpdesk actions must record a reason")
        await tui.fill(pilot, "#b-reason", "yearly rotation")
        assert tui.text(screen, "#action-error") == ""


async def test_a_weak_password_error_clears_when_the_password_is_typed_again(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.SET_PASSWORD)
        await tui.fill(pilot, "#f-password", "short")
        await tui.fill(pilot, "#f-password2", "short")
        await tui.fill(pilot, "#f-reason", "asked on the phone")
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: "WEAK_PASSWORD" in tui.text(dialog, "#action-error"))
        await tui.fill(pilot, "#f-password", GOOD)
        assert tui.text(dialog, "#action-error") == ""


async def test_own_password_mismatch_clears_when_retyped(tui, admin):
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("p")
        screen = await tui.wait_screen(pilot, ChangePasswordScreen)
        await tui.fill(pilot, "#p-new", GOOD)
        await tui.fill(pilot, "#p-new2", GOOD + "!")
        await pilot.press("ctrl+s")
        await tui.settle(pilot)
        assert "the two entries differ" in tui.text(screen, "#action-error")
        await tui.fill(pilot, "#p-new2", GOOD)
        assert tui.text(screen, "#action-error") == ""


async def test_the_empty_password_form_judges_nothing_yet(tui, admin, make_user):
    """Nothing typed: no "✗ no control characters", no "✓ both entries match"."""
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.SET_PASSWORD)
        await tui.settle(pilot)
        checklist = tui.text(dialog, "#f-checklist")
        assert "no control or invisible characters" in checklist and "both entries match" in checklist
        assert "✓" not in checklist and "✗" not in checklist, checklist
        await tui.fill(pilot, "#f-password", "short")
        await tui.wait_for(pilot, lambda: "✓ no control" in tui.text(dialog, "#f-checklist"))
        assert "✗ both entries match" in tui.text(dialog, "#f-checklist")
        await pilot.press("escape", "escape")
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("p")
        own = await tui.wait_screen(pilot, ChangePasswordScreen)
        await tui.settle(pilot)
        checklist = tui.text(own, "#f-checklist")
        assert "✓" not in checklist and "✗" not in checklist, checklist


# -- the reason -----------------------------------------------------------------------------------


async def test_an_admins_reset_needs_a_reason_which_the_audit_records(tui, ctx, admin, make_user, audit_events):
    """The audit recorded "reason: -" for an admin's reset."""
    make_user("bob")
    before = len(audit_events())
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.RESET_PASSWORD)
        assert str(dialog.query_one("#f-reason-label").content) == "Reason *"
        await tui.confirm(pilot)
        assert app.screen is dialog and clip.everything == []
        error = tui.text(dialog, "#action-error")
        assert error.startswith("reason: is required to reset a password"), error
        assert len(audit_events()) == before  # refused before anything was made
        await tui.fill(pilot, "#f-reason", "locked out, called in")
        assert tui.text(dialog, "#action-error") == ""
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, RevealScreen)
        await pilot.press("escape")
    event = [e for e in audit_events() if e.action == "password.reset"][-1]
    assert (event.outcome, event.reason) == ("ok", "locked out, called in")


async def test_with_reason_required_off_the_reset_asks_no_reason(tui, make_ctx, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin, ctx=make_ctx(reason_required=False))
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.RESET_PASSWORD)
        assert str(dialog.query_one("#f-reason-label").content) == "Reason"
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, RevealScreen)
        await pilot.press("escape")


# -- results say what happened ----------------------------------------------------------------


async def test_revoke_sessions_says_how_many_ended(tui, ctx, admin, make_user):
    make_user("yara.ziegler34")
    for client in ("laptop", "phone", "tablet"):
        sessions.open_session(ctx, "yara.ziegler34", client=client)
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "yara.ziegler34")
        await tui.start(pilot, Action.REVOKE_SESSIONS)
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UserDetailScreen)
        assert "Revoke sessions: 3 sessions ended for yara.ziegler34" in _notes(app)
        await tui.start(pilot, Action.REVOKE_SESSIONS)
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UserDetailScreen)
        assert "Revoke sessions: yara.ziegler34 had no active session; none ended" in _notes(app)


async def test_expire_says_the_same_in_the_menu_the_dialog_and_the_result(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        label = tui.danger(detail)["expire"][1]
        dialog = await tui.start(pilot, Action.EXPIRE)
        said = "the next sign-in must change the password"
        assert said in label and said in tui.text(dialog, "#action-explanation")
        assert "stops working" not in label
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UserDetailScreen)
        assert any(said in n and "bob" in n for n in _notes(app)), _notes(app)


async def test_the_viewers_bulk_screen_shows_the_refusal_and_counts_nothing(tui, viewer, make_user):
    make_user("bob")
    app, _ = tui.app(viewer)
    async with app.run_test(size=tui.size) as pilot:
        await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("b")
        screen = await tui.wait_screen(pilot, BulkScreen)
        await tui.wait_for(pilot, lambda: "PERMISSION_DENIED" in tui.text(screen, "#action-error"))
        assert "a viewer cannot" in tui.text(screen, "#action-error")
        assert "counting" not in tui.text(screen, "#b-preview")
        assert "counting" not in tui.screen_text(app)


async def test_the_delete_confirmation_field_does_not_look_filled_in(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.DELETE)
        field = dialog.query_one("#f-confirm", Input)
        assert field.value == ""
        assert "bob" not in str(field.placeholder) and "type" in str(field.placeholder)


async def test_an_empty_list_after_a_delete_says_so(tui, ctx, admin, make_user):
    make_user("zoe.unique")
    make_user("carol")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        users_screen = await tui.wait_screen(pilot, UsersScreen)
        await pilot.press("slash", *"zoe.uni")
        lst = users_screen.query_one(UserList)
        await tui.wait_for(pilot, lambda: [u.username for u in lst.rows] == ["zoe.unique"], what="the search")
        await pilot.press("enter")  # to the list
        await pilot.press("enter")  # open zoe.unique
        await tui.wait_screen(pilot, UserDetailScreen)
        await tui.settle(pilot)
        await tui.start(pilot, Action.DELETE)
        await tui.fill(pilot, "#f-confirm", "zoe.unique")
        await tui.fill(pilot, "#f-reason", "duplicate")
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UsersScreen)
        await tui.wait_for(pilot, lambda: lst.rows == [] and not lst.loading, what="the empty window")
        await tui.wait_for(pilot, lambda: "no users match" in tui.text(app, "#users-position"),
                           what="the empty list saying so")
    assert listing.count_users(ctx, admin, search="zoe").value == 0

"""The bulk screen: preview as the selection changes, run with progress."""

from __future__ import annotations

from textual.widgets import Input, Select

from console.services import audit, listing
from console.services.listing import UserFilter
from console.tui.screens.bulk import BulkScreen
from console.tui.screens.users import UsersScreen


async def _open_bulk(tui, pilot) -> BulkScreen:
    """From the user list, ``b``; returns the bulk screen once its first preview is in."""
    await tui.wait_screen(pilot, UsersScreen)
    await pilot.press("b")
    screen = await tui.wait_screen(pilot, BulkScreen)
    await tui.wait_for(pilot, lambda: screen.preview is not None, what="the first preview")
    return screen


async def test_bulk_force_change_previews_then_runs(tui, ctx, admin, make_user):
    for i in range(6):
        make_user(f"m{i}")
    make_user("h1", role="helpdesk")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_bulk(tui, pilot)
        everyone = screen.preview.count
        screen.query_one("#b-role", Select).value = "member"
        await tui.wait_for(pilot, lambda: screen.preview is not None and screen.preview.count == 6,
                           what="the member preview")
        assert everyone > 6
        assert "6 account(s) will change" in tui.text(app, "#b-preview")
        screen.query_one("#b-reason", Input).value = "yearly rotation"
        await pilot.press("ctrl+s")
        await tui.wait_for(pilot, lambda: not isinstance(app.screen, BulkScreen), what="the run to finish")
    assert listing.count_users(ctx, admin, filter=UserFilter(role="member", must_change=True)).value == 6
    assert listing.get_user(ctx, admin, "h1").must_change_password is False
    ev = audit.query(ctx, admin, action="bulk.force_change").items
    assert len(ev) == 1 and ev[0].details["count"] == 6 and ev[0].reason == "yearly rotation"


async def test_helpdesk_bulk_is_limited_to_members_and_needs_the_identity_check(tui, ctx, helpdesk, make_user):
    make_user("m0")
    app, _ = tui.app(helpdesk)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_bulk(tui, pilot)
        role = screen.query_one("#b-role", Select)
        assert [value for _, value in role._options] == ["member"]
        screen.query_one("#b-reason", Input).value = "yearly rotation"
        await pilot.press("ctrl+s")
        await tui.wait_for(pilot, lambda: "IDENTITY_CHECK_REQUIRED" in tui.text(app, "#action-error"),
                           what="the refusal")
    assert listing.get_user(ctx, helpdesk, "m0").must_change_password is False


async def test_a_count_for_a_form_since_changed_is_not_taken_as_the_preview(tui, admin, make_user):
    """A count still on its way when the operator changes the form must not
    arm Run with the old selection."""
    from textual.widgets import Button

    make_user("m0")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await _open_bulk(tui, pilot)
        stale, asked = screen.preview, screen._asked
        assert stale.filter.role is None
        screen.query_one("#b-role", Select).value = "member"
        await pilot.pause()
        screen._show_preview(stale, asked)  # the old form's count, arriving late
        assert screen.preview is None and screen.query_one("#action-confirm", Button).disabled
        await tui.wait_for(pilot, lambda: screen.preview is not None, what="the new preview")
        assert screen.preview.filter.role == "member"


def test_the_preview_sample_is_cut_to_one_line_with_an_ellipsis():
    from console.tui.screens.bulk import fitted

    assert fitted(["ann", "bob"], 2, 70) == "ann, bob"  # all of them: no ellipsis
    assert fitted(["ann", "bob"], 500, 70) == "ann, bob, …"  # more than the sample
    assert fitted(["ann.long", "bob.long", "cy"], 3, 16) == "ann.long, …"  # "ann.long, bob.long, cy" is 22
    assert fitted(["a" * 30], 1, 10) == "…"
    assert fitted(["山田太郎山田", "bob"], 2, 15) == "山田太郎山田, …"  # wide: 12 cells, not 6
    assert fitted(["a\x1bb"], 1, 70) == "a\\x1bb"  # measured as shown, written out

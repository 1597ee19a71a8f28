"""The user detail screen: profile tabs and the danger zone with why an action is unavailable."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList, TabbedContent

from console.services import sessions, users
from console.services.detail import DANGER_ACTIONS
from console.services.permissions import Action
from console.tui.screens.detail import UserDetailScreen
from console.tui.screens.users import UsersScreen

ALL = [a.value for a in DANGER_ACTIONS]


async def test_account_tab_shows_the_profile(tui, ctx, admin, make_user):
    make_user("bob", email="bob@example.com", display_name="Bob Builder")
    sessions.open_session(ctx, "bob", client="laptop")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "bob")
        assert screen.query_one(TabbedContent).active == "account"
        account = tui.text(app, "#detail-account")
        for expected in ("Bob Builder", "bob@example.com", "member", "local password", "1 active",
                         "0 outstanding", "never signed in"):
            assert expected in account, expected
        title = tui.text(app, "#detail-title")
        assert "bob" in title and "member" in title and "active" in title and "<bob@example.com>" in title
        assert "Bob Builder" in tui.screen_text(app)


async def test_other_tabs_show_sessions_tickets_and_activity(tui, ctx, admin, make_user):
    from console.services import tickets

    make_user("bob")
    sessions.open_session(ctx, "bob", client="phone-app")
    tickets.issue_ticket(ctx, admin, "bob", reason="caller lost access")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "bob")
        tabs = screen.query_one(TabbedContent)
        assert "Sessions (1)" in str(tabs.get_tab("sessions").label)
        assert "Tickets (1)" in str(tabs.get_tab("tickets").label)
        await pilot.press("2")
        assert tabs.active == "sessions"
        await pilot.pause()
        assert "phone-app" in tui.screen_text(app)
        await pilot.press("3")
        assert tabs.active == "tickets"
        table = screen.query_one("#detail-tickets", DataTable)
        assert table.row_count == 1 and "admin" in [str(c) for c in table.get_row_at(0)]
        await pilot.press("4")
        assert tabs.active == "activity"
        activity = screen.query_one("#detail-activity", DataTable)
        actions = [str(activity.get_row_at(i)[3]) for i in range(activity.row_count)]
        assert actions == ["ticket.issue", "user.create"]  # newest first
        await pilot.pause()
        assert "ticket.issue" in tui.screen_text(app)
        await pilot.press("5")
        assert tabs.active == "danger"


async def test_danger_zone_lists_every_action_and_explains_the_unavailable_ones(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "bob")
        await pilot.press("d")
        await pilot.pause()
        danger = tui.danger(screen)
        assert list(danger) == ALL
        disabled = {a: label for a, (enabled, label) in danger.items() if not enabled}
        assert set(disabled) == {"unblock", "unlock", "email_ticket"}
        assert "no email address" in disabled["email_ticket"]
        assert "not blocked" in disabled["unblock"]
        assert "not locked" in disabled["unlock"]
        assert "Reset password" in danger["reset_password"][1]
        # The first available action is highlighted and explained below the list.
        options = screen.query_one("#detail-danger", OptionList)
        assert app.focused is options and options.highlighted == 0
        assert "generated password" in tui.text(app, "#detail-danger-help")
        # Moving down explains each action in turn and skips the unavailable ones.
        await pilot.press("down")
        assert options.highlighted == 1
        assert "Sets a password you type" in tui.text(app, "#detail-danger-help")
        seen = []
        for _ in range(len(ALL)):
            await pilot.press("down")
            seen.append(ALL[options.highlighted])
        assert "unblock" not in seen and "unlock" not in seen and "email_ticket" not in seen
        assert "delete" in seen
        # Enter on an unavailable one does nothing (here: set up as if highlighted).
        options.highlighted = ALL.index("unblock")
        await pilot.press("enter")
        await tui.settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)


async def test_external_accounts_have_no_password_actions(tui, admin, make_user):
    make_user("ext", source="okta")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "ext")
        danger = tui.danger(screen)
        for action in ("reset_password", "set_password", "force_change", "issue_ticket"):
            enabled, label = danger[action]
            assert not enabled and "identity provider" in label and "okta" in label, (action, label)
        assert not danger["expire"][0]
        for action in ("revoke_sessions", "block", "set_role", "delete"):
            assert danger[action][0], action
        assert "identity provider okta" in tui.text(app, "#detail-account")


async def test_a_viewer_sees_every_action_disabled_with_the_reason(tui, viewer, make_user):
    make_user("bob")
    app, _ = tui.app(viewer)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "bob")
        danger = tui.danger(screen)
        assert list(danger) == ALL
        for action, (enabled, label) in danger.items():
            assert not enabled and "a viewer cannot" in label, (action, label)
        # Nothing to highlight, and no way to start one (e.g. from the palette).
        assert screen.query_one("#detail-danger", OptionList).highlighted is None
        screen.start_action(Action.RESET_PASSWORD)
        await tui.settle(pilot)
        assert isinstance(app.screen, UserDetailScreen)


async def test_helpdesk_cannot_act_on_an_admin_account(tui, helpdesk, make_user):
    make_user("boss", role="admin")
    make_user("bob")
    app, _ = tui.app(helpdesk)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "boss")
        for action, (enabled, label) in tui.danger(screen).items():
            assert not enabled, action
            assert label.split(" — ")[1].startswith("a helpdesk operator can"), (action, label)
        assert "not on admin accounts" in tui.danger(screen)["reset_password"][1]
        await pilot.press("escape")
        screen = await tui.open_user(pilot, "bob")
        danger = tui.danger(screen)
        # On a member: the helpdesk set (DESIGN.md), not delete or change role.
        for action in ("reset_password", "set_password", "force_change", "expire", "issue_ticket",
                       "revoke_sessions", "block"):
            assert danger[action][0], action
        for action in ("set_role", "delete"):
            assert not danger[action][0] and "a helpdesk operator cannot" in danger[action][1], action


async def test_read_only_console_disables_every_action(tui, make_ctx, admin, make_user, system_actor):
    make_user("bob")
    users.block_user(tui.ctx, system_actor, "bob", reason="test")  # so unblock would otherwise be open
    ro = make_ctx(read_only=True)
    app, _ = tui.app(admin, ctx=ro)
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "bob")
        assert "READ-ONLY" in app.sub_title
        danger = tui.danger(screen)
        assert list(danger) == ALL
        for action, (enabled, label) in danger.items():
            assert not enabled and "read-only" in label, (action, label)


async def test_set_password_is_not_offered_when_operators_may_not_choose(tui, make_ctx, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin, ctx=make_ctx(admin_may_set_password=False))
    async with app.run_test(size=tui.size) as pilot:
        screen = await tui.open_user(pilot, "bob")
        danger = tui.danger(screen)
        assert "set_password" not in danger
        assert danger["reset_password"][0] and danger["issue_ticket"][0]


async def test_a_user_deleted_meanwhile_is_reported_not_a_crash(tui, ctx, admin, make_user, system_actor):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size, notifications=True) as pilot:
        users_screen = await tui.wait_screen(pilot, UsersScreen)
        users.delete_user(ctx, system_actor, "bob")
        users_screen.open_user("bob")
        await tui.settle(pilot)
        assert app.is_running
        assert any("USER_NOT_FOUND" in str(n.message) for n in app._notifications)

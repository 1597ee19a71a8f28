"""Every danger-zone action, driven through its dialog against the real database."""

from __future__ import annotations

import email
import re
from urllib.parse import parse_qs, urlparse

import pytest
from textual.widgets import Input, Select

from console.services import auth, listing, passwords, sessions, tickets, users
from console.services.errors import TicketInvalid
from console.services.permissions import Action
from console.tui.screens.detail import UserDetailScreen
from console.tui.screens.reveal import RevealScreen
from console.tui.screens.users import UsersScreen
from console.tui.widgets.userlist import UserList

GOOD = "violet Harbour lamps 2031"


def _user(ctx, admin, name="bob"):
    return listing.get_user(ctx, admin, name)


def _shown_secret(tui, app) -> str:
    """The password as drawn in the reveal box: every other line holds the
    characters (spaced in groups), the lines between them the class markers."""
    lines = tui.text(app, "#reveal-secret").splitlines()
    return "".join(lines[0::2]).replace(" ", "")


def assert_nowhere(tui, app, secret: str) -> None:
    """The secret is in no widget of any screen, not on the terminal, not in
    Textual's own clipboard copy."""
    assert secret
    for text in tui.widget_texts(app):
        assert secret not in text and secret not in re.sub(r"\s", "", text)
    screen = tui.screen_text(app)
    assert secret not in screen and secret not in re.sub(r"\s", "", screen)
    assert secret not in app.export_screenshot()
    assert app._clipboard == ""


# -- reset password ------------------------------------------------------------------------------------


async def test_reset_password_is_shown_once_copied_and_then_gone(tui, ctx, admin, make_user, audit_events):
    old = make_user("bob").password.reveal()
    session = sessions.open_session(ctx, "bob", client="laptop")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.RESET_PASSWORD)
        assert "Reset password" in tui.text(dialog, "#action-title") and "bob" in tui.text(dialog, "#action-title")
        await tui.fill(pilot, "#f-reason", "caller forgot it, ticket 4711")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        await pilot.pause()
        shown = reveal.secret.reveal()
        # What is drawn is the password that was set...
        assert _shown_secret(tui, app) == shown
        assert "New password for bob" in tui.text(app, "#reveal-title")
        assert "revoked 1 session(s)" in tui.text(app, "#reveal-note")
        # ...and it was sent to the operator's terminal clipboard, and said so.
        assert clip.osc52 == [shown]
        assert "Sent to your terminal's clipboard (OSC 52)" in tui.text(app, "#reveal-clipboard")
        assert "cleared in 30 s" in tui.text(app, "#reveal-clipboard")
        tui.seconds += 12
        await tui.wait_for(pilot, lambda: "cleared in 18 s" in tui.text(app, "#reveal-clipboard"),
                           what="the countdown")
        # It was committed before it was shown: it works, the old one does not.
        assert auth.authenticate(ctx, "bob", shown).status == "must_change"  # the dialog's default: yes
        assert not auth.authenticate(ctx, "bob", old).authenticated
        assert not sessions.check_session(ctx, session.token.reveal()).valid

        await pilot.press("escape")
        detail = await tui.wait_screen(pilot, UserDetailScreen)
        assert not any(isinstance(s, RevealScreen) for s in app.screen_stack)
        assert reveal.secret.discarded
        await tui.wait_for(pilot, lambda: detail.detail.user.must_change_password)
        assert "yes, at next sign-in" in tui.text(app, "#detail-account")
        assert_nowhere(tui, app, shown)
    event = [e for e in audit_events() if e.action == "password.reset"][-1]
    assert (event.operator, event.target, event.outcome, event.reason) == (
        "admin", "bob", "ok", "caller forgot it, ticket 4711")
    assert shown not in repr(event)


async def test_reset_with_the_confirm_button_and_no_forced_change(tui, ctx, admin, make_user):
    make_user("bob")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.RESET_PASSWORD)
        dialog.query_one("#f-must-change", Select).value = "no"
        await tui.fill(pilot, "#f-expiry", "30")
        await tui.fill(pilot, "#f-reason", "forgot it")
        await tui.confirm(pilot, key=False)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        shown = reveal.secret.reveal()
        assert auth.authenticate(ctx, "bob", shown).status == "ok"
        u = _user(ctx, admin)
        assert not u.must_change_password
        assert (u.password_expires_at - ctx.now()).days in (29, 30)
        # "c" copies again; Enter closes too.
        await pilot.press("c")
        assert clip.osc52 == [shown, shown]
        await pilot.press("enter")
        await tui.wait_screen(pilot, UserDetailScreen)
        assert reveal.secret.discarded
        assert_nowhere(tui, app, shown)


async def test_the_expiry_field_shows_the_effective_default(tui, make_ctx, ctx, admin, make_user):
    """An empty field means the default: the preset's own (nist: never), or the setting."""
    make_user("bob")
    for c, placeholder in ((ctx, "0 (never)"),
                           (make_ctx(policy_overrides={"expiry_days": 760}), "760 (0 = never)"),
                           (make_ctx(policy_overrides={"expiry_days": 760}, password_expiry_days=30),
                            "30 (0 = never)")):
        app, _clip = tui.app(admin, ctx=c)
        async with app.run_test(size=tui.size) as pilot:
            await tui.open_user(pilot, "bob")
            dialog = await tui.start(pilot, Action.RESET_PASSWORD)
            assert dialog.query_one("#f-expiry", Input).placeholder == placeholder


async def test_the_clipboard_is_cleared_after_the_configured_delay(tui, make_ctx, admin, make_user):
    make_user("bob")
    quick = make_ctx(clipboard_clear_seconds=1)
    app, clip = tui.app(admin, ctx=quick, local_backend=True)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await tui.start(pilot, Action.RESET_PASSWORD)
        await tui.fill(pilot, "#f-reason", "forgot it")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        shown = reveal.secret.reveal()
        # The copy, then (1 s later, maybe already on a loaded machine) the clear.
        assert clip.local[:1] == [shown] and clip.osc52[:1] == [shown]
        assert "clipboard" in tui.text(app, "#reveal-clipboard").lower()
        await tui.wait_for(pilot, lambda: clip.osc52 == [shown, ""], timeout=5, what="the clipboard cleared")
        assert clip.local == [shown, ""] and clip.local_holds == ""
        await tui.wait_for(pilot, lambda: "clipboard cleared" in tui.text(app, "#reveal-clipboard"))
        # Still shown until the operator closes it.
        assert _shown_secret(tui, app) == shown
        await pilot.press("escape")
        await tui.wait_screen(pilot, UserDetailScreen)
        assert_nowhere(tui, app, shown)


async def test_hide_toggles_the_secret_to_dots(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await tui.start(pilot, Action.RESET_PASSWORD)
        await tui.fill(pilot, "#f-reason", "forgot it")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        shown = reveal.secret.reveal()
        await pilot.press("h")
        masked = tui.text(app, "#reveal-secret")
        assert masked.count("•") == len(shown)
        assert set(masked.splitlines()[0]) <= {"•", " "}
        assert shown not in tui.screen_text(app).replace(" ", "")
        await pilot.press("h")
        assert _shown_secret(tui, app) == shown
        await pilot.press("escape")


# -- set password ------------------------------------------------------------------------------------


async def test_set_password_checks_the_policy_live_and_sets_it(tui, ctx, admin, make_user, audit_events):
    make_user("bob")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.SET_PASSWORD)
        assert app.focused.id == "f-password"

        def checklist() -> str:
            return tui.text(dialog, "#f-checklist")

        # Empty: every rule listed, none judged yet (test_tui_dialogs.py).
        rules = [line for line in checklist().splitlines() if "both entries" not in line]
        assert "· 15 to 64 characters" in rules
        assert not any(line.startswith(("✓", "✗")) for line in rules)
        await tui.fill(pilot, "#f-password", "short")
        await tui.wait_for(pilot, lambda: "✓ no control or invisible characters" in checklist())
        assert "✗ 15 to 64 characters" in checklist()
        assert "✗ both entries match" in checklist()
        await tui.fill(pilot, "#f-password", "bob-" + "x" * 20)
        await tui.wait_for(pilot, lambda: "✓ 15 to 64 characters" in checklist())
        assert "✗ does not contain the username" in checklist()
        await tui.fill(pilot, "#f-password", GOOD)
        await tui.fill(pilot, "#f-password2", GOOD)
        await tui.wait_for(pilot, lambda: "✗" not in checklist(), what="every rule passing")
        assert "✓ 15 to 64 characters" in checklist() and "✓ both entries match" in checklist()
        await tui.fill(pilot, "#f-reason", "user asked on the phone")
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UserDetailScreen)
        # Nothing to reveal, nothing copied, nothing left in a field.
        assert clip.everything == []
        assert not any(isinstance(s, RevealScreen) for s in app.screen_stack)
        for text in tui.widget_texts(app):
            assert GOOD not in text
    assert auth.authenticate(ctx, "bob", GOOD).status == "ok"
    assert [e.action for e in audit_events()][-1] == "password.set"


async def test_set_password_refuses_two_different_entries(tui, ctx, admin, make_user, audit_events):
    old = make_user("bob").password.reveal()
    before = len(audit_events())
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.SET_PASSWORD)
        await tui.fill(pilot, "#f-password", GOOD)
        await tui.fill(pilot, "#f-password2", GOOD + "!")
        await tui.wait_for(pilot, lambda: "✗ both entries match" in tui.text(dialog, "#f-checklist"))
        await tui.confirm(pilot)
        assert app.screen is dialog
        assert "the two entries differ" in tui.text(dialog, "#action-error")
    assert len(audit_events()) == before
    assert auth.authenticate(ctx, "bob", old).authenticated


async def test_a_weak_password_is_refused_by_the_service_with_its_message(tui, ctx, admin, make_user):
    old = make_user("bob").password.reveal()
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.SET_PASSWORD)
        await tui.fill(pilot, "#f-password", "short")
        await tui.fill(pilot, "#f-password2", "short")
        await tui.fill(pilot, "#f-reason", "asked on the phone")
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: "WEAK_PASSWORD" in tui.text(dialog, "#action-error"))
        assert app.screen is dialog and not dialog.running
        assert not dialog.query_one("#action-confirm").disabled
    assert auth.authenticate(ctx, "bob", old).authenticated


# -- the simple ones -----------------------------------------------------------------------------------


async def test_force_change(tui, ctx, admin, make_user):
    pw = make_user("bob").password.reveal()
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        await tui.start(pilot, Action.FORCE_CHANGE)
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UserDetailScreen)
        await tui.wait_for(pilot, lambda: detail.detail.user.must_change_password)
        assert not tui.danger(detail)["force_change"][0]
    assert _user(ctx, admin).must_change_password
    assert auth.authenticate(ctx, "bob", pw).status == "must_change"


async def test_expire_now(tui, ctx, admin, make_user):
    pw = make_user("bob").password.reveal()
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        await tui.start(pilot, Action.EXPIRE)
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: isinstance(app.screen, UserDetailScreen) and detail.detail.user.expired)
        assert "expired" in tui.text(app, "#detail-title")
        assert "already expired" in tui.danger(detail)["expire"][1]
    assert _user(ctx, admin).expired
    assert auth.authenticate(ctx, "bob", pw).status == "expired"


async def test_issue_ticket_reveals_a_link_that_redeems_once(tui, ctx, admin, make_user):
    make_user("bob")
    app, clip = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.ISSUE_TICKET)
        assert dialog.query_one("#f-lifetime", Select).value == ctx.settings.ticket_lifetime_minutes
        dialog.query_one("#f-lifetime", Select).value = 15
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        await pilot.pause()
        url = reveal.secret.reveal()
        assert "Reset link for bob" in tui.text(app, "#reveal-title")
        heading, *lines = tui.text(app, "#reveal-secret").splitlines()
        assert heading.startswith("copy this as one line") and "".join(lines) == url
        assert "single use" in tui.text(app, "#reveal-note")
        assert clip.osc52 == [url]
        token = parse_qs(urlparse(url).query)["token"][0]
        assert len(token) >= 20
        await pilot.press("escape")
        await tui.wait_screen(pilot, UserDetailScreen)
        assert reveal.secret.discarded
        await tui.wait_for(pilot, lambda: len(detail.detail.tickets) == 1)
        assert_nowhere(tui, app, url)
        assert_nowhere(tui, app, token)
    (t,) = tickets.list_tickets(ctx, admin, "bob")
    assert 14 <= (t.expires_at - t.created_at).total_seconds() / 60 <= 15
    assert tickets.redeem_ticket(ctx, token, GOOD) == "bob"
    assert auth.authenticate(ctx, "bob", GOOD).authenticated
    with pytest.raises(TicketInvalid):
        tickets.redeem_ticket(ctx, token, GOOD + " again")


async def test_email_reset_link_sends_it_and_shows_only_where_it_went(tui, ctx, make_ctx, admin, make_user, tmp_path):
    outbox = tmp_path / "outbox"
    mctx = make_ctx(mail_delivery="outbox", mail_outbox=str(outbox))
    make_user("bob", email="bob@example.com")
    make_user("nomail")
    app, clip = tui.app(admin, ctx=mctx)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        enabled, label = tui.danger(detail)["email_ticket"]
        assert enabled and "Email reset link" in label
        await tui.start(pilot, Action.EMAIL_TICKET)
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UserDetailScreen)
        await tui.wait_for(pilot, lambda: len(detail.detail.tickets) == 1)
        assert any("Reset link emailed to bob@example.com" in str(n.message) for n in app._notifications)
        [eml] = outbox.iterdir()
        body = email.message_from_bytes(eml.read_bytes()).get_payload(decode=True).decode()
        token = re.search(r"token=([A-Za-z0-9_-]+)", body).group(1)
        assert clip.osc52 == []  # nothing for the operator's clipboard
        assert_nowhere(tui, app, token)
        await pilot.press("escape")
        other = await tui.open_user(pilot, "nomail")
        assert tui.danger(other)["email_ticket"][0] is False
        assert "the account has no email address" in tui.danger(other)["email_ticket"][1]
    assert tickets.redeem_ticket(ctx, token, GOOD) == "bob"


async def test_revoke_sessions(tui, ctx, admin, make_user):
    make_user("bob")
    one = sessions.open_session(ctx, "bob", client="laptop")
    two = sessions.open_session(ctx, "bob", client="phone")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        assert len(detail.detail.sessions) == 2
        await tui.start(pilot, Action.REVOKE_SESSIONS)
        await tui.fill(pilot, "#f-reason", "stolen laptop")
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UserDetailScreen)
        await tui.wait_for(pilot, lambda: detail.detail.sessions == [])
        assert "0 active" in tui.text(app, "#detail-account")
    assert not sessions.check_session(ctx, one.token.reveal()).valid
    assert not sessions.check_session(ctx, two.token.reveal()).valid


async def test_block_needs_a_reason_then_blocks(tui, ctx, admin, make_user, audit_events):
    pw = make_user("bob").password.reveal()
    before = len(audit_events())
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.BLOCK)
        assert "-destructive" in dialog.query_one("#action-box").classes
        await tui.confirm(pilot)
        assert app.screen is dialog
        assert "reason: is required" in tui.text(dialog, "#action-error")
        assert not _user(ctx, admin).blocked
        assert len(audit_events()) == before  # refused before any service call
        await tui.fill(pilot, "#f-reason", "left the company")
        await pilot.press("enter")  # Enter in a field confirms too
        await tui.settle(pilot)
        await tui.wait_screen(pilot, UserDetailScreen)
        await tui.wait_for(pilot, lambda: detail.detail.user.blocked)
        assert "left the company" in tui.text(app, "#detail-account")
        danger = tui.danger(detail)
        assert danger["unblock"][0] and not danger["block"][0]
    u = _user(ctx, admin)
    assert u.blocked and u.blocked_reason == "left the company"
    assert auth.authenticate(ctx, "bob", pw).status == "blocked"


async def test_unblock(tui, ctx, admin, make_user, system_actor):
    pw = make_user("bob").password.reveal()
    users.block_user(ctx, system_actor, "bob", reason="left")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        await tui.start(pilot, Action.UNBLOCK)
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: isinstance(app.screen, UserDetailScreen) and not detail.detail.user.blocked)
    assert not _user(ctx, admin).blocked
    assert auth.authenticate(ctx, "bob", pw).status == "ok"


async def test_unlock(tui, ctx, admin, make_user):
    pw = make_user("bob").password.reveal()
    for i in range(ctx.settings.user_lockout_failures):
        auth.authenticate(ctx, "bob", f"wrong {i}")
    assert auth.authenticate(ctx, "bob", pw).status == "locked"
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        assert detail.detail.user.locked
        assert "locked" in tui.text(app, "#detail-title")
        await tui.start(pilot, Action.UNLOCK)
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: isinstance(app.screen, UserDetailScreen) and not detail.detail.user.locked)
        assert not tui.danger(detail)["unlock"][0]
    u = _user(ctx, admin)
    assert not u.locked and u.failed_logins == 0
    assert auth.authenticate(ctx, "bob", pw).status == "ok"


async def test_change_role(tui, ctx, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        detail = await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.SET_ROLE)
        role = dialog.query_one("#f-role", Select)
        assert "member" not in [str(v) for _, v in role._options]  # only other roles offered
        role.value = "helpdesk"
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: isinstance(app.screen, UserDetailScreen)
                           and detail.detail.user.role == "helpdesk")
        assert "helpdesk" in tui.text(app, "#detail-title")
    assert _user(ctx, admin).role == "helpdesk"


async def test_delete_needs_the_username_typed_then_deletes_and_returns_to_the_list(tui, ctx, admin, make_user,
                                                                                    audit_events):
    make_user("bob")
    make_user("carol")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.DELETE)
        assert app.focused.id == "f-confirm"
        await pilot.press("B", "o", "b")  # not exactly the username
        await tui.confirm(pilot)
        assert app.screen is dialog
        assert "type the username exactly" in tui.text(dialog, "#action-error")
        assert listing.count_users(ctx, admin, search="bob").value == 1
        await tui.fill(pilot, "#f-confirm", "bob")
        await tui.fill(pilot, "#f-reason", "duplicate account")
        await tui.confirm(pilot)
        await tui.wait_screen(pilot, UsersScreen)
        lst = app.screen.query_one(UserList)
        await tui.wait_for(pilot, lambda: [u.username for u in lst.rows] == ["admin", "carol"])
        assert "bob" not in tui.screen_text(app)
    assert listing.count_users(ctx, admin, search="bob").value == 0
    event = audit_events()[-1]
    assert (event.action, event.target, event.outcome, event.reason) == ("user.delete", "bob", "ok",
                                                                         "duplicate account")


async def test_cancel_changes_nothing(tui, ctx, admin, make_user, audit_events):
    make_user("bob")
    before = len(audit_events())
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        await tui.start(pilot, Action.BLOCK)
        await tui.fill(pilot, "#f-reason", "never mind")
        await pilot.press("escape")
        await tui.wait_screen(pilot, UserDetailScreen)
        await tui.start(pilot, Action.DELETE)
        await pilot.click("#action-cancel")
        await tui.wait_screen(pilot, UserDetailScreen)
    assert not _user(ctx, admin).blocked
    assert len(audit_events()) == before


# -- refusals -------------------------------------------------------------------------------------------


async def test_helpdesk_without_identity_check_is_refused_and_nothing_changes(tui, ctx, helpdesk, make_user,
                                                                              audit_events):
    before = make_user("bob").user
    app, clip = tui.app(helpdesk)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.RESET_PASSWORD)
        assert dialog.query("#f-identity")  # asked for helpdesk only
        await tui.fill(pilot, "#f-reason", "caller forgot it")
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: "IDENTITY_CHECK_REQUIRED" in tui.text(dialog, "#action-error"))
        assert app.screen is dialog and not dialog.running
        assert clip.everything == []
        now = _user(ctx, helpdesk)
        assert (now.version, now.password_changed_at, now.must_change_password) == (
            before.version, before.password_changed_at, before.must_change_password)
        denied = audit_events()[-1]
        assert (denied.operator, denied.action, denied.outcome, denied.error_code) == (
            "helpdesk", "password.reset", "denied", "IDENTITY_CHECK_REQUIRED")
        # With it, the same dialog goes through.
        await tui.fill(pilot, "#f-identity", "called back on the number on file")
        await tui.confirm(pilot)
        reveal = await tui.wait_screen(pilot, RevealScreen)
        assert auth.authenticate(ctx, "bob", reveal.secret.reveal()).authenticated
        await pilot.press("escape")
    ok = [e for e in audit_events() if e.action == "password.reset"][-1]
    assert (ok.outcome, ok.identity_check) == ("ok", "called back on the number on file")


async def test_no_admin_dialog_field_asks_for_identity(tui, admin, make_user):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.RESET_PASSWORD)
        assert not dialog.query("#f-identity")


async def test_a_stale_record_is_reported_in_the_dialog(tui, ctx, admin, make_user, system_actor):
    make_user("bob")
    app, _ = tui.app(admin)
    async with app.run_test(size=tui.size) as pilot:
        await tui.open_user(pilot, "bob")
        dialog = await tui.start(pilot, Action.BLOCK)
        await tui.fill(pilot, "#f-reason", "suspicious")
        passwords.force_change(ctx, system_actor, "bob")  # someone else, meanwhile
        await tui.confirm(pilot)
        await tui.wait_for(pilot, lambda: "STALE_RECORD" in tui.text(dialog, "#action-error"))
        error = tui.text(dialog, "#action-error")
        assert "changed by someone else" in error and "Traceback" not in error
        assert app.is_running and app.screen is dialog
        assert not dialog.running and not dialog.query_one("#action-confirm").disabled
    assert not _user(ctx, admin).blocked
